#!/usr/bin/env bash
# Same seed, same faults, on real processes: runs `gossamer sim fuzz` twice with one seed and
# compares the faults the two runs applied (op, target, planned time, how late each began).
# Too long for the test suite (two clusters, ~2 × (boot + duration)); run it by hand (seed 22
# plans 8 steps in 45 s: pause, isolate-db, db-down, partition and their repairs):
#   bash sim/same-seed.sh [SEED=22] [DURATION=45] [OUT=.gossamer/sim/same-seed-SEED]
# Exit status: that of `gossamer sim compare` (0 same faults at the same times, 1 they differ);
# the invariant verdicts of each run are printed but do not decide it.
set -uo pipefail
cd "$(dirname "$0")/.."
seed=${1:-22}
duration=${2:-45}
out=${3:-.gossamer/sim/same-seed-$seed}
for run in a b; do
  echo "== run $run: sim fuzz --seed $seed --duration $duration --out $out/$run"
  node bin/gossamer.js sim fuzz --seed "$seed" --duration "$duration" --out "$out/$run" --quiet
  echo "== run $run exit status $?"
done
echo "== comparing the faults the two runs applied"
node bin/gossamer.js sim compare "$out/a/report.json" "$out/b/report.json"
