#!/usr/bin/env bash
# Builds the real Kubernetes control plane the Kubernetes tests run against, pinned,
# into the cache (default ~/.cache/secdr; SECDR_CACHE overrides). Idempotent: a stamp
# per binary records the version built, so a warm run takes a second.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces the k8s.io/* staging
# modules with local paths. A wrapper module requires it and replaces each staging
# module with the published k8s.io/<name> v0.<minor>.<patch> instead (the same code).
# Cold: ~20 min and ~2.4 GB peak on 2 cores, mostly kube-apiserver.
set -euo pipefail

# shellcheck source=scripts/install/common.sh
source "$(dirname "$0")/common.sh"
K8S_VERSION="v1.37.2"
KINE_VERSION="v0.17.5"
KWOK_VERSION="v0.8.0"
CERT_MANAGER_VERSION="v1.21.2"
say() { printf '[install-kubernetes] %s\n' "$*"; }

build_control_plane() {
  local missing=() c
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    stamped "$c" "$K8S_VERSION" || missing+=("$c")
  done
  [ ${#missing[@]} -eq 0 ] && { say "kubernetes $K8S_VERSION control plane: present"; return; }

  local wrapper="$CACHE/build/k8s-$K8S_VERSION" staging_version="v0.${K8S_VERSION#v1.}"
  mkdir -p "$wrapper"
  GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >"$wrapper/download.json"
  local upstream_mod
  upstream_mod=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' "$wrapper/download.json")
  {
    echo "module secdr.local/k8s-build"
    echo
    grep -E '^(go|godebug) ' "$upstream_mod"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    # Every `k8s.io/x => ./staging/src/k8s.io/x` becomes `k8s.io/x => k8s.io/x v0.N.P`.
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*$#\t\1 => \1 '"$staging_version"'#p' "$upstream_mod"
    echo ")"
  } >"$wrapper/go.mod"
  cat >"$wrapper/tools.go" <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
EOF
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  for c in "${missing[@]}"; do
    local start=$SECONDS
    say "building $c $K8S_VERSION (log: $CACHE/logs/kubernetes.log)"
    (cd "$wrapper" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" \
      -o "$BIN/$c" "k8s.io/kubernetes/cmd/$c") >>"$CACHE/logs/kubernetes.log" 2>&1 \
      || { tail -30 "$CACHE/logs/kubernetes.log"; exit 1; }
    echo "$K8S_VERSION" >"$BIN/.$c-version"
    say "$c: built in $((SECONDS - start)) s"
  done
}

# kwok's stage files (fake node and pod lifecycle) and cert-manager's CRDs come from the
# same module downloads; they are data, copied into the cache beside the binaries.
copy_module_data() {
  local dest="$CACHE/kubernetes-data"
  if [ -f "$dest/.stamp" ] && [ "$(cat "$dest/.stamp")" = "$KWOK_VERSION $CERT_MANAGER_VERSION" ]; then
    say "kwok stages and cert-manager CRDs: present"; return
  fi
  mkdir -p "$dest/kwok-stages" "$dest/cert-manager-crds"
  local kwok_dir cm_dir
  kwok_dir=$(go_module_dir "sigs.k8s.io/kwok@$KWOK_VERSION")
  cm_dir=$(go_module_dir "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION")
  # Every stage directory has its own kustomization.yaml: copy the stages, not those.
  find "$kwok_dir"/kustomize/stage/node/fast "$kwok_dir"/kustomize/stage/node/heartbeat-with-lease \
    "$kwok_dir"/kustomize/stage/pod/fast -maxdepth 1 -name '*.yaml' ! -name kustomization.yaml \
    -exec cp {} "$dest/kwok-stages/" \;
  find "$cm_dir"/deploy/crds -maxdepth 1 -name '*.yaml' ! -name kustomization.yaml -exec cp {} "$dest/cert-manager-crds/" \;
  chmod -R u+w "$dest"
  echo "$KWOK_VERSION $CERT_MANAGER_VERSION" >"$dest/.stamp"
}

total=$SECONDS
go_install_pinned kine "github.com/k3s-io/kine" "$KINE_VERSION" 1
go_install_pinned kwok "sigs.k8s.io/kwok/cmd/kwok" "$KWOK_VERSION"
copy_module_data
build_control_plane
say "kubernetes ready in $((SECONDS - total)) s"
