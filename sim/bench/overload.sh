#!/usr/bin/env bash
# npm run bench:overload — installs nginx and wrk from Debian packages when missing, then runs
# sim/bench/overload.ts.
set -euo pipefail
cd "$(dirname "$0")/../.."
need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
exec node --import tsx sim/bench/overload.ts "$@"
