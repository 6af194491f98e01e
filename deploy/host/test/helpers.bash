# shellcheck shell=bash
# PORT and LAST_PID are read by the tests; status and output are set by bats' `run`.
# shellcheck disable=SC2034,SC2154
# Shared setup for the degraded-mode check's bats tests.
#
# Every test gets its own directory ($T) holding the config, the files the check watches, its state
# and its alert file, so the check runs unprivileged and touches nothing of the real host.
# Listeners and HTTP endpoints run in a private network namespace (unshare) that the check also runs
# in: the listener check then sees exactly what the test started, not whatever else this machine is
# running. Every process a test starts is recorded in $T/pids and killed in teardown.

HOST_DIR="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
CHECK="$HOST_DIR/secdr-degraded-check.sh"
FAKE_ENDPOINTS="$BATS_TEST_DIRNAME/fake_endpoints.py"

common_setup() {
  T="$BATS_TEST_TMPDIR"
  : >"$T/pids"
  mkdir -p "$T/etc/cron.d" "$T/etc/sudoers.d" "$T/home/alice/.ssh" "$T/sbin" "$T/bodies" "$T/bin"
  printf '17 * * * * root cd / && run-parts --report /etc/cron.hourly\n' >"$T/etc/crontab"
  printf '0 3 * * * root /usr/local/bin/backup\n' >"$T/etc/cron.d/backup"
  printf 'root ALL=(ALL:ALL) ALL\n' >"$T/etc/sudoers"
  printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBaseLineKeyAlice alice@laptop\n' >"$T/home/alice/.ssh/authorized_keys"
  cp /bin/true "$T/sbin/known-helper"
  chmod 4755 "$T/sbin/known-helper"
  : >"$T/listeners.allow"
  start_netns
}

common_teardown() {
  local pid
  [[ -f ${T:-}/pids ]] || return 0
  while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$T/pids"
  while read -r pid; do wait "$pid" 2>/dev/null || true; done <"$T/pids"
}

# write_config [LINE...]: the base config, then LINEs (later assignments win).
write_config() {
  cat >"$T/secdr.conf" <<EOF
CHECKS="processes listeners files"
STATE_DIR="$T/state"
ALERT_FILE="$T/alerts.log"
HOST_LABEL=test-host
LISTENER_ALLOWLIST_FILE="$T/listeners.allow"
CRON_PATHS=("$T/etc/crontab" "$T/etc/cron.d")
AUTHORIZED_KEYS_GLOBS=("$T/home/*/.ssh/authorized_keys")
SUDOERS_PATHS=("$T/etc/sudoers" "$T/etc/sudoers.d")
SETUID_DIRS=("$T/sbin")
HTTP_MAX_TIME=3
EOF
  if (($#)); then printf '%s\n' "$@" >>"$T/secdr.conf"; fi
  chmod 0644 "$T/secdr.conf"
}

# ---- network namespace -----------------------------------------------------------------------
NETNS_PID=""

start_netns() {
  NETNS_PID=""
  # Without user namespaces the tests still run, in the host's network namespace.
  unshare --user --map-root-user --net true 2>/dev/null || return 0
  unshare --user --map-root-user --net sleep 3600 >/dev/null 2>&1 3>&- &
  NETNS_PID=$!
  echo "$NETNS_PID" >>"$T/pids"
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(readlink "/proc/$NETNS_PID/ns/net" 2>/dev/null) != "$(readlink /proc/self/ns/net)" ]] && break
    sleep 0.05
  done
  inns ip link set lo up
}

inns() { # run a command in the test's network namespace
  if [[ -n $NETNS_PID ]]; then
    nsenter --target "$NETNS_PID" --user --net --preserve-credentials -- "$@"
  else
    "$@"
  fi
}

# ---- processes ---------------------------------------------------------------------------------
# start_bg NAME CMD...: starts CMD in the namespace, logs to $T/NAME.log, records its pid in LAST_PID.
# Not through the inns function: `func &` forks a subshell, and killing that would leave the
# real process running. nsenter execs the command, so $! is the process itself.
start_bg() {
  local name=$1
  shift
  if [[ -n $NETNS_PID ]]; then
    nsenter --target "$NETNS_PID" --user --net --preserve-credentials -- "$@" >"$T/$name.log" 2>&1 3>&- &
  else
    "$@" >"$T/$name.log" 2>&1 3>&- &
  fi
  LAST_PID=$!
  echo "$LAST_PID" >>"$T/pids"
}

wait_for_file() { # FILE [TRIES of 0.05 s]
  local i
  for ((i = 0; i < ${2:-200}; i++)); do
    [[ -s $1 ]] && return 0
    sleep 0.05
  done
  echo "timed out waiting for $1" >&2
  return 1
}

# start_endpoints NAME [fake_endpoints.py options]: prints nothing, sets PORT.
start_endpoints() {
  local name=$1
  shift
  start_bg "$name" python3 "$FAKE_ENDPOINTS" --port-file "$T/$name.port" "$@"
  wait_for_file "$T/$name.port" || { cat "$T/$name.log" >&2; return 1; }
  PORT=$(<"$T/$name.port")
}

# free_port: a port nothing listens on in the test's namespace.
free_port() {
  inns python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for_listener PROTO PORT: until ss shows it in the test's namespace.
wait_for_listener() {
  local flag=-Htln i
  [[ $1 == udp ]] && flag=-Huln
  for ((i = 0; i < 200; i++)); do
    inns ss "$flag" "sport = :$2" | grep -q . && return 0
    sleep 0.05
  done
  echo "timed out waiting for a $1 listener on port $2" >&2
  return 1
}

# allow_host_listeners: only without a private namespace, allow what the host already runs.
allow_host_listeners() {
  [[ -z $NETNS_PID ]] || return 0
  local l
  while read -r _ _ _ l _; do echo "tcp/${l##*:}"; done < <(ss -Htln) >>"$T/listeners.allow"
  while read -r _ _ _ l _; do echo "udp/${l##*:}"; done < <(ss -Huln) >>"$T/listeners.allow"
}

# ---- TLS material for the fake Vault ------------------------------------------------------------
make_tls() { # DIR: ca.pem, server.pem/key (IP 127.0.0.1) signed by it, and an unrelated other-ca.pem
  local d=$1
  [[ -f $d/server.pem ]] && return 0
  command -v openssl >/dev/null || {
    echo "openssl not found: apt-get install openssl" >&2
    return 1
  }
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=secdr test CA" \
    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=someone else's CA" \
    -keyout "$d/other-ca.key" -out "$d/other-ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
    -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null
}

# ---- assertions that show the check's output when they fail ---------------------------------------
assert_status() {
  if [[ $status -ne $1 ]]; then
    printf 'expected exit status %s, got %s; output:\n%s\n' "$1" "$status" "$output"
    return 1
  fi
}

assert_output_contains() {
  if [[ $output != *"$1"* ]]; then
    printf 'expected output to contain: %s\noutput:\n%s\n' "$1" "$output"
    return 1
  fi
}

assert_file_lines() { # FILE N
  local n=0
  [[ -f $1 ]] && n=$(wc -l <"$1")
  if ((n != $2)); then
    printf 'expected %s line(s) in %s, found %s:\n' "$2" "$1" "$n"
    [[ -f $1 ]] && cat "$1"
    return 1
  fi
}

assert_file_contains() { # FILE TEXT
  if ! grep -qF -- "$2" "$1" 2>/dev/null; then
    printf 'expected %s to contain: %s\n' "$1" "$2"
    [[ -f $1 ]] && cat "$1"
    return 1
  fi
}

run_check() { # run the check in the test's namespace with the test's config
  run inns bash "$CHECK" --config "$T/secdr.conf" "$@"
}
