#!/usr/bin/env bash
# The Go-built servers the drills test against, pinned, into the cache: two VictoriaLogs
# backends and the vlagent shipper (log-failover drill) and cfssl (the second CA type of
# the CA-outage drill). Idempotent through version stamps.
set -euo pipefail
# shellcheck source=scripts/install/common.sh
source "$(dirname "$0")/common.sh"
say() { printf '[install-go-tools] %s\n' "$*"; }

VICTORIALOGS_VERSION="v1.52.1"
CFSSL_VERSION="v1.6.5"

go_install_pinned victoria-logs "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs" "$VICTORIALOGS_VERSION"
go_install_pinned vlagent "github.com/VictoriaMetrics/VictoriaLogs/app/vlagent" "$VICTORIALOGS_VERSION"
go_install_pinned cfssl "github.com/cloudflare/cfssl/cmd/cfssl" "$CFSSL_VERSION"
