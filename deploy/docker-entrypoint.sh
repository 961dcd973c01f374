#!/bin/sh
# Runs `gossamer ARGS...`. A leading `gossamer` is dropped, so compose files can say
# `command: gossamer migrations bootstrap` the way Kong's say `kong migrations bootstrap`.
set -e
if [ "$1" = "gossamer" ]; then
  shift
fi
exec node /app/bin/gossamer.js "$@"
