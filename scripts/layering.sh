#!/bin/sh
# The include layering (docs/architecture.md, "Layers"): a file may include
# headers of its own layer and of the layers below it, never above.
#     core < xml < xmpp < store < account < modules < net, http < main, ctl
# Fails listing every include that goes the wrong way. Tests and benches
# may include anything.
set -eu
cd "$(dirname "$0")/.."

rank() {
    case "$1" in
    core) echo 0 ;; xml) echo 1 ;; xmpp) echo 2 ;; store) echo 3 ;;
    account) echo 4 ;; modules) echo 5 ;; net | http) echo 6 ;;
    main | ctl) echo 7 ;;
    *) echo "" ;;
    esac
}

bad=0
for f in $(find src -name '*.[ch]' | sort); do
    rel=${f#src/}
    case "$rel" in
    */*) from=${rel%%/*} ;;
    *) from=main ;;
    esac
    fr=$(rank "$from")
    if [ -z "$fr" ]; then
        echo "layering: $f is in no known layer (add its folder to scripts/layering.sh)"
        bad=1
        continue
    fi
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
        case "$inc" in
        */*) to=${inc%%/*} ;;
        *) continue ;; # a header next to the file
        esac
        tr=$(rank "$to")
        if [ -z "$tr" ]; then
            echo "layering: $f includes $inc, in no known layer"
            bad=1
        elif [ "$tr" -gt "$fr" ]; then
            echo "layering: $f ($from) includes $inc ($to, a higher layer)"
            bad=1
        fi
    done
done
[ "$bad" -eq 0 ] && echo "layering: ok"
exit "$bad"
