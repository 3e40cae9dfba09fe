#!/bin/bash
# Runs each libFuzzer target for a few seconds over a copy of its seed
# corpus (new inputs stay in the copy, not in git).
set -u
dir=$1; secs=${2:-15}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fail=0
for bin in "$dir"/fuzz_*; do
    name=$(basename "$bin"); part=${name#fuzz_}
    mkdir -p "$work/$part"
    [ -d "tests/fuzz/corpus/$part" ] && cp -r "tests/fuzz/corpus/$part/." "$work/$part/"
    echo "== fuzz $part (${secs}s)"
    if ! "$bin" -max_total_time="$secs" -print_final_stats=0 "$work/$part" >"$work/$part.log" 2>&1; then
        tail -40 "$work/$part.log"; fail=1
    else
        grep -E '^Done [0-9]+ runs' "$work/$part.log" | tail -1
    fi
done
exit $fail
