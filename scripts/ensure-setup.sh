#!/usr/bin/env bash
# What `npm test` and `npm run demo` need before anything else: node modules
# matching the lockfile, and the pinned local servers.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[ensure-setup] installing node modules (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
bash scripts/install-servers.sh
