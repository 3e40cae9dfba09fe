#!/bin/bash
# `make check`: builds and runs every test — unit, end to end, and both
# again under AddressSanitizer and UBSan — checks that the code is
# clang-format clean and the generated docs are current, then prints one
# closing line.
set -u
cd "$(dirname "$0")/.."
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
total_p=0; total_f=0; stages_failed=()

count() { # stage name, file with output
    local p f
    case "$1" in
    unit*) p=$(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$2" | tail -1)
           f=$(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$2" | tail -1) ;;
    bench*) p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$2" | tail -1)
           f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$2" | tail -1) ;;
    e2e*)  p=$(grep -Eo '[0-9]+ passed' "$2" | tail -1 | grep -Eo '[0-9]+')
           f=$(grep -Eo '[0-9]+ (failed|error)' "$2" | awk '{s+=$1} END {print s+0}') ;;
    esac
    total_p=$((total_p + ${p:-0})); total_f=$((total_f + ${f:-0}))
}

stage() { # name, make arguments...
    local name=$1; shift
    echo "== $name"
    make --no-print-directory "$@" 2>&1 | tee "$log/$name"
    local rc=${PIPESTATUS[0]}
    count "$name" "$log/$name"
    if [ "$rc" -ne 0 ]; then stages_failed+=("$name"); fi
}

stage layering layering
# COVERAGE=1 (CI): the plain build is the gcov one, and the line coverage
# of these tests is printed after them (one e2e run instead of two).
plain=(BUILD=build)
if [ "${COVERAGE:-0}" = 1 ]; then
    plain=(BUILD=build-cov COV=1 OPT="-O1 -g")
    find build-cov -name '*.gcda' -delete 2>/dev/null
fi
stage build "${plain[@]}" all
stage lint "${plain[@]}" format-check docs-check
stage unit "${plain[@]}" unit
stage bench-unit -C bench check BUILD="$PWD/${plain[0]#BUILD=}"
stage e2e "${plain[@]}" e2e
if [ "${COVERAGE:-0}" = 1 ]; then
    make --no-print-directory coverage-report
fi
stage unit-asan BUILD=build-asan SAN=1 OPT="-O1 -g" unit
stage e2e-asan BUILD=build-asan SAN=1 OPT="-O1 -g" e2e

if [ ${#stages_failed[@]} -ne 0 ]; then
    echo "check: failed stages: ${stages_failed[*]}"
    [ "$total_f" -gt 0 ] || total_f=${#stages_failed[@]}
fi
echo "check: $total_p passed, $total_f failed"
[ ${#stages_failed[@]} -eq 0 ]
