#!/bin/sh
# `serve` (the default) runs the HTTP server; anything else is a `kiroku` command (migrate run, backup list, check…).
set -eu
if [ "$#" -eq 0 ] || [ "$1" = "serve" ]; then
  exec node /opt/kiroku/dist/src/main.js
fi
exec node /opt/kiroku/bin/kiroku.js "$@"
