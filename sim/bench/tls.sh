#!/usr/bin/env bash
# npm run bench:tls — installs nginx, wrk and h2load (nghttp2-client) from Debian packages when
# missing, then runs sim/bench/tls.ts. About 6 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
source sim/bench/need-nginx-wrk.sh
if ! command -v h2load >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing nghttp2-client (apt-get)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nghttp2-client >/dev/null
fi
exec node --import tsx sim/bench/tls.ts "$@"
