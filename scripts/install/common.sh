# shellcheck shell=bash
# Shared by the installers: the cache location, logging, and pinned `go install` with a
# version stamp (Go builds carry no version string we can read back).
CACHE="${SECDR_CACHE:-$HOME/.cache/secdr}"
BIN="$CACHE/bin"
mkdir -p "$BIN" "$CACHE/logs"

stamped() { # stamped NAME VERSION: true when NAME was built at VERSION
  [ -x "$BIN/$1" ] && [ "$(cat "$BIN/.$1-version" 2>/dev/null)" = "$2" ]
}

go_install_pinned() { # go_install_pinned NAME PACKAGE VERSION [CGO_ENABLED]
  local name=$1 pkg=$2 version=$3 cgo=${4:-0}
  stamped "$name" "$version" && { say "$name $version: present"; return; }
  local start=$SECONDS
  say "building $name $version (log: $CACHE/logs/$name.log)"
  GOBIN="$BIN" GOFLAGS=-mod=mod CGO_ENABLED=$cgo go install -trimpath -ldflags "-s -w" "$pkg@$version" \
    >>"$CACHE/logs/$name.log" 2>&1 || { tail -30 "$CACHE/logs/$name.log"; exit 1; }
  echo "$version" >"$BIN/.$name-version"
  say "$name: built in $((SECONDS - start)) s"
}

go_module_dir() { # go_module_dir MODULE@VERSION: downloads it, prints its directory
  GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}
