#!/usr/bin/env bash
# npm run bench:overload — installs nginx and wrk when missing, then runs sim/bench/overload.ts.
set -euo pipefail
cd "$(dirname "$0")/../.."
source sim/bench/need-nginx-wrk.sh
exec node --import tsx sim/bench/overload.ts "$@"
