#!/bin/sh
# Installs the Debian packages Taube needs to build, run and test.
# Idempotent: prints nothing and installs nothing when everything is there.
set -eu

PKGS="build-essential pkg-config make gcc clang libclang-rt-14-dev
libuv1-dev libssl-dev openssl libexpat1-dev libsqlite3-dev sqlite3
libidn11-dev libidn2-dev libfyaml-dev
libwebsockets-dev libwebsockets-evlib-uv libqrencode-dev
libcmocka-dev python3 python3-pytest python3-slixmpp profanity tmux go-sendxmpp
clang-format-19 clang-tools gcovr
chromium zbar-tools"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "deps.sh: these packages are missing and I am not root (no sudo):$missing" >&2
        exit 1
    fi
fi
echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
