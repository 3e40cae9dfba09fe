#!/bin/bash
# `make run`: a development server for localhost in ./var, made once.
set -eu
build=${1:-build}
cd "$(dirname "$0")/.."
if [ ! -f var/taube.yaml ]; then
    "$build/taubectl" init --dir var --domain localhost
    # Development: listen on loopback only.
    sed -i 's/^\(  listen:\).*/\1 ["127.0.0.1", "::1"]/' var/taube.yaml
fi
cat <<EOT

Taube is starting for the domain localhost (config: var/taube.yaml).
Create your first account in another terminal:

    $build/taubectl -c var/taube.yaml user add you@localhost

then log in with any XMPP client at localhost, port 5222 (STARTTLS) or
5223 (direct TLS); the certificate is self-signed. To invite someone:

    $build/taubectl -c var/taube.yaml invite create --for "Ann <ann@example.org>"

prints an xmpp: link and the invite's web page (https://localhost:5443/invite/...),
where they agree to the policy (https://localhost:5443/policy) and register.
Ctrl-C stops Taube.

EOT
exec "$build/taube" -c var/taube.yaml
