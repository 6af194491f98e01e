#!/usr/bin/env bash
# What `npm test` and `npm run demo` need before anything else: a supported Node.js (a pinned
# Node 24 in the cache when the machine's is older), node modules matching the lockfile and
# installed by that Node's major, the compiled JavaScript in dist/, and the pinned local servers.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${SECDR_CACHE:-$HOME/.cache/secdr}"
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 22 ]; then
  bash scripts/install/node.sh
  export PATH="$CACHE/node24/bin:$PATH"
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[ensure-setup] installing node modules (npm ci, node $(node --version))"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$major" >node_modules/.secdr-node-major
elif [ "$(cat node_modules/.secdr-node-major 2>/dev/null)" != "$major" ]; then
  # Native add-ons (@temporalio/core-bridge, esbuild, swc) re-run their install step for this
  # Node; rebuild does that in place, without deleting node_modules under running processes.
  echo "[ensure-setup] node modules were installed by another Node major: npm rebuild (node $(node --version))"
  npm rebuild --loglevel=error
  echo "$major" >node_modules/.secdr-node-major
fi
bash scripts/build.sh
bash scripts/install-servers.sh
