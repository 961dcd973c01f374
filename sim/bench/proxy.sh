#!/usr/bin/env bash
# npm run bench:proxy — installs nginx and wrk from Debian packages when missing, then runs
# sim/bench/proxy.ts (all seven variants in one run, alternating). ~3-4 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
source sim/bench/need-nginx-wrk.sh
exec node --import tsx sim/bench/proxy.ts "$@"
