#!/bin/bash
# Runs each cmocka test binary in its own process with a time-out and
# prints one closing line: "unit: N passed, N failed".
set -u
passed=0; failed=0; broken=()
for t in "$@"; do
    out=$(timeout 120 "$t" 2>&1); rc=$?
    echo "$out" | grep -E '^\[  (FAILED|ERROR|PASSED)|^\[ +FAILED' | sed "s|^|$(basename "$t"): |"
    p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ] && [ "${f:-0}" = 0 ]; then
        failed=$((failed + 1)); broken+=("$(basename "$t") (exit $rc)")
        echo "$out" | tail -20
    elif [ "${f:-0}" != 0 ]; then
        echo "$out" | grep -B2 -A8 -E '^\[  (FAILED|ERROR)' | head -60
    fi
done
[ ${#broken[@]} -eq 0 ] || echo "unit: crashed or timed out: ${broken[*]}"
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
