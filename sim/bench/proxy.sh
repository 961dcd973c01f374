#!/usr/bin/env bash
# npm run bench:proxy — installs nginx and wrk from Debian packages when missing, then runs
# sim/bench/proxy.ts (all six variants in one run, alternating). ~3-4 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing ${need[*]} (apt-get)"
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null \
    || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx wrk >/dev/null
fi
exec node --import tsx sim/bench/proxy.ts "$@"
