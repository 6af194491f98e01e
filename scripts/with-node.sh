#!/usr/bin/env bash
# Runs a command on a supported Node.js (>= 22): the machine's own `node` when it is new
# enough, otherwise the pinned Node 24 that scripts/install/node.sh puts in the cache, first
# on PATH so that npm, mocha and tsx children run on it too.
#   bash scripts/with-node.sh npm run test:suite
set -euo pipefail
CACHE="${SECDR_CACHE:-$HOME/.cache/secdr}"
MIN_MAJOR=22
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt "$MIN_MAJOR" ]; then
  [ -x "$CACHE/node24/bin/node" ] || bash "$(dirname "$0")/install/node.sh" >&2
  export PATH="$CACHE/node24/bin:$PATH"
fi
exec "$@"
