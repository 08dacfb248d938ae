#!/usr/bin/env bash
# Soak test for the TUI tests: proves that the pilot, snapshot and tmux tests in tests/tui wait
# on real conditions and never race. It runs `pytest tests/tui -x` ITERATIONS times in a row
# (default 20) with HOGS busy loops (`yes > /dev/null`, default 1) competing for the CPU, stops
# at the first failure, and prints each iteration's outcome, wall time and load average. A
# test that waits on a condition which can already be true before the action took effect, or
# reads the screen before a mount settled, fails here within a few iterations.
#
#   benchmarks/tui_soak.sh [ITERATIONS] [HOGS]
#
# Not part of the test suite (it takes ~20 × the time of tests/tui). A failed iteration's
# output is kept in the printed log file. The hogs are stopped on exit, however it ends.
set -u
cd "$(dirname "$0")/.."

iterations=${1:-20}
hogs=${2:-1}
log=$(mktemp -t tui-soak.XXXXXX.log)
hog_pids=()

stop_hogs() {
    for pid in "${hog_pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM

for _ in $(seq "$hogs"); do
    yes > /dev/null &
    hog_pids+=("$!")
done

passed=0
total_start=$(date +%s.%N)
for i in $(seq "$iterations"); do
    start=$(date +%s.%N)
    if .venv/bin/pytest -q -p no:cacheprovider tests/tui -x > "$log" 2>&1; then
        outcome="pass"
        passed=$((passed + 1))
    else
        outcome="FAIL"
    fi
    wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    summary=$(grep -E "^[0-9]+ (passed|failed)|^FAILED" "$log" | tr '\n' ' ')
    printf "iteration %2d/%d: %s in %6.1f s (load %s) %s\n" "$i" "$iterations" "$outcome" "$wall" "$(cut -d' ' -f1 /proc/loadavg)" "$summary"
    if [ "$outcome" = "FAIL" ]; then
        echo "the failing run's output: $log"
        break
    fi
done
total=$(awk -v a="$total_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
echo "$passed of $iterations iterations passed with $hogs CPU hog(s), in $total s"
[ "$passed" -eq "$iterations" ] && rm -f "$log"
[ "$passed" -eq "$iterations" ]
