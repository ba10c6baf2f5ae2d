#!/bin/sh
# Run libFuzzer harnesses: test/fuzz/run.sh MODE BIN...
#   MODE smoke: ~10 s per harness (part of `make test`); long: 300 s each.
# Each harness keeps its corpus in build-fuzz/corpus/<name>/ (created if
# missing) and its crash artifacts in build-fuzz/artifacts/<name>/.
# WEIR_FUZZ_SEEDS names the corpus dir; a harness may write seed inputs there.
# Prints "fuzz: N passed, M failed" last; exits non-zero if any harness failed.
set -u

mode=${1:-}
case "$mode" in
smoke) secs=10 ;;
long) secs=300 ;;
*) echo "usage: $0 smoke|long BIN..." >&2; exit 2 ;;
esac
shift
[ $# -gt 0 ] || { echo "usage: $0 smoke|long BIN..." >&2; exit 2; }

root=$(cd "$(dirname "$0")/../.." && pwd)
pass=0; fail=0; failed=""
for bin in "$@"; do
    name=$(basename "$bin")
    corpus="$root/build-fuzz/corpus/$name"
    art="$root/build-fuzz/artifacts/$name"
    log="$root/build-fuzz/$name.log"
    mkdir -p "$corpus" "$art"
    echo "fuzz: $name for ${secs}s"
    if WEIR_FUZZ_SEEDS="$corpus" "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
        -artifact_prefix="$art/" "$corpus" >"$log" 2>&1; then
        pass=$((pass + 1))
        grep -E '^(stat::number_of_executed_units|Done)' "$log" | tail -2
    else
        fail=$((fail + 1)); failed="$failed $name"
        tail -n 40 "$log"
        echo "fuzz: $name FAILED (full log: $log, reproducer in $art/)"
    fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { echo "failed:$failed"; exit 1; }
