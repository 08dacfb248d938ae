#!/usr/bin/env bash
# Wall time of the whole test suite (the README's test command), quiet and under load.
#
# Usage: benchmarks/suite_time.sh [CHECKOUT ...]   (default: this checkout)
# Each CHECKOUT needs its own .venv (the README's install command). For every checkout it runs
# the suite once on a quiet machine and once beside a CPU hog (one `yes` per core), and prints
# one line per run: checkout, load, wall seconds, and pytest's closing line. Runs are sequential,
# so two checkouts measured in one call see the same machine. Timing is reported, never asserted.
set -u
cores=$(nproc)
[ $# -gt 0 ] || set -- "$(cd "$(dirname "$0")/.." && pwd)"
for checkout in "$@"; do
  for load in quiet loaded; do
    hogs=()
    if [ "$load" = loaded ]; then
      for _ in $(seq "$cores"); do yes >/dev/null & hogs+=($!); done
    fi
    start=$(date +%s.%N)
    summary=$(cd "$checkout" && .venv/bin/pytest -q -n 2 -p no:cacheprovider 2>&1 | tail -n 1)
    end=$(date +%s.%N)
    [ ${#hogs[@]} -gt 0 ] && kill "${hogs[@]}" 2>/dev/null
    printf '%s\t%s\t%.1f s\t%s\n' "$checkout" "$load" "$(echo "$end - $start" | bc)" "$summary"
  done
done
