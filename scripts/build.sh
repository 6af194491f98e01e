#!/usr/bin/env bash
# Compiles the TypeScript the CLI and the worker run into dist/ (tsconfig.build.json), only
# when a source is newer than the last build, so a second run costs a `find`.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=dist/.build-stamp
if [ -f "$stamp" ] && [ -z "$(find workflows procedures activities workers scripts lib dev-stack bench tsconfig.json tsconfig.build.json package-lock.json \
  -newer "$stamp" \( -name '*.ts' -o -name '*.json' \) -print -quit)" ]; then
  exit 0
fi
start=$SECONDS
echo "[build] compiling TypeScript into dist/ (tsc -p tsconfig.build.json)"
# The stamp is taken before compiling, so a source saved during the build triggers the next one.
mkdir -p dist
touch "$stamp.next"
npx tsc -p tsconfig.build.json
chmod +x dist/scripts/secdr.js
mv "$stamp.next" "$stamp"
echo "[build] done in $((SECONDS - start)) s"
