#!/usr/bin/env bash
# secdr-degraded-check: host-level security checks for when central monitoring is blind.
#
# Runs from a systemd timer on every host and depends on nothing central: not Prometheus, not the
# log pipeline, not Vault, not Temporal. It needs bash, coreutils, find, ss (iproute2) and curl.
# Findings are appended once to a local alert file (which the log agent ships when it can); when
# the central log endpoint is unreachable, new findings also go to an emergency webhook as JSON.
#
# See --help for options and exit codes, secdr-degraded.conf for every setting, and
# docs/monitoring.md#host-level-degraded-mode-detector for installation.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# Byte-wise, ASCII character classes and sorting, whatever the host's locale.
export LC_ALL=C
umask 027

PROG=${0##*/}

usage() {
  cat <<EOF
Usage: $PROG [--config FILE] [--baseline] [--dry-run] [--help]

Checks this host for signs of compromise without relying on any central service:
  processes   command names or command lines matching PROCESS_PATTERN (read from /proc)
  listeners   TCP/UDP listening sockets (ss) not in LISTENER_ALLOWLIST_FILE
  files       cron, authorized_keys, sudoers and setuid/setgid files added, removed or
              changed since the hashed baseline (sha256 per file)
  vault       Vault health endpoint over TLS verified against VAULT_CACERT
  logging     central log endpoint readiness; when it is down, new findings are also
              sent to the emergency webhook

Each finding is appended to ALERT_FILE once. A finding still present on the next run is
not appended again; one that disappears and comes back is reported again.

Options:
  --config FILE  settings file to source (default: $DEFAULT_CONFIG; built-in
                 defaults are used when the default file does not exist)
  --baseline     record the current cron/authorized_keys/sudoers/setuid files as the
                 trusted baseline (creates or overwrites it), then exit
  --dry-run      run the checks and print what would be appended or sent; write and
                 send nothing
  -h, --help     show this help

Exit status:
  0  healthy: no findings (or --baseline succeeded)
  1  findings present (new ones were appended and, if logging is down, sent)
  2  usage or configuration error (bad option or setting, unwritable STATE_DIR or
     ALERT_FILE), or another run holds the lock
EOF
}

DEFAULT_CONFIG=/etc/secdr/secdr-degraded.conf

# ---- defaults (every one can be overridden in the config file) -----------------------------
set_defaults() {
  CHECKS="processes listeners files vault logging"
  STATE_DIR=/var/lib/secdr-degraded
  ALERT_FILE=/var/log/security/alerts.log
  PROC_ROOT=/proc
  HOST_LABEL=""
  PROCESS_PATTERN='xmrig|cryptonight|minerd|stratum'
  LISTENER_ALLOWLIST_FILE=/etc/secdr/listeners.allow
  # Lists get their defaults after the config is read (list_defaults): assigning a string to an
  # existing array would only replace its first element.
  unset CRON_PATHS AUTHORIZED_KEYS_GLOBS SUDOERS_PATHS SETUID_DIRS
  VAULT_HEALTH_URL=""
  VAULT_CACERT=""
  LOG_READY_URL=""
  LOG_CACERT=""
  EMERGENCY_WEBHOOK_URL=""
  EMERGENCY_WEBHOOK_URL_FILE=""
  EMERGENCY_WEBHOOK_CACERT=""
  HTTP_MAX_TIME=5
  MESSAGE_MAX=300
}

list_defaults() {
  [[ -v CRON_PATHS ]] || CRON_PATHS=(/etc/crontab /etc/cron.d /etc/cron.hourly /etc/cron.daily /etc/cron.weekly
    /etc/cron.monthly /var/spool/cron)
  [[ -v AUTHORIZED_KEYS_GLOBS ]] || AUTHORIZED_KEYS_GLOBS=(/root/.ssh/authorized_keys /root/.ssh/authorized_keys2
    '/home/*/.ssh/authorized_keys' '/home/*/.ssh/authorized_keys2')
  [[ -v SUDOERS_PATHS ]] || SUDOERS_PATHS=(/etc/sudoers /etc/sudoers.d)
  [[ -v SETUID_DIRS ]] || SETUID_DIRS=(/bin /sbin /usr /opt /tmp /var/tmp /dev/shm /home /root)
  return 0
}

die_config() { # usage/config error: exit 2
  printf '%s: %s\n' "$PROG" "$*" >&2
  exit 2
}

warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }

# ---- small pure-bash helpers ----------------------------------------------------------------

# sanitize TEXT [MAX]: printable ASCII only, at most MAX (default MESSAGE_MAX) characters, in
# REPLY. Command lines and file names are attacker controlled: a newline in them must not forge an
# extra alert line, and odd bytes must not break the JSON or the log parser downstream.
sanitize() {
  local s=${1//[^[:print:]]/?} max=${2:-$MESSAGE_MAX}
  if ((${#s} > max)); then s="${s:0:max}..."; fi
  REPLY=$s
}

# json_string TEXT: TEXT as a JSON string literal (with quotes) in REPLY. Handles backslash, quote
# and every control character; bytes outside ASCII become '?' (they are not guaranteed UTF-8).
json_string() {
  local s=$1 out="" c i
  s=${s//[^[:print:][:cntrl:]]/?}
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  s=${s//$'\b'/\\b}
  s=${s//$'\f'/\\f}
  if [[ $s == *[[:cntrl:]]* ]]; then
    for ((i = 0; i < ${#s}; i++)); do
      c=${s:i:1}
      if [[ $c == [[:cntrl:]] && $c != $'\x7f' ]]; then
        printf -v c '\\u%04x' "'$c"
      fi
      out+=$c
    done
    s=$out
  fi
  REPLY="\"$s\""
}

now_utc() { TZ=UTC printf -v REPLY '%(%Y-%m-%dT%H:%M:%SZ)T' -1; }

# to_array NAME: lets the config give a list either as a bash array or as a space-separated string.
to_array() {
  local name=$1 decl
  decl=$(declare -p "$name" 2>/dev/null) || die_config "$name is not set"
  # A string is split on whitespace (an empty one is an empty list).
  if [[ $decl != "declare -a"* ]]; then
    # shellcheck disable=SC2229 # reads into the array named by $name, on purpose
    read -r -a "$name" <<<"${!name}"
  fi
}

has_check() { [[ " $CHECKS " == *" $1 "* ]]; }

# ---- findings -------------------------------------------------------------------------------
F_KEYS=()
F_SEVS=()
F_MSGS=()

# add_finding SEVERITY CHECK KEY MESSAGE. KEY identifies the finding across runs.
add_finding() {
  sanitize "$3" 4096
  F_KEYS+=("$2:$REPLY")
  F_SEVS+=("$1")
  sanitize "$4"
  F_MSGS+=("$2: $REPLY")
}

# ---- check: processes -----------------------------------------------------------------------
check_processes() {
  local d pid comm cmd exe
  local -a argv
  for d in "$PROC_ROOT"/[0-9]*; do
    pid=${d##*/}
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    # The process may exit while we look: skip it rather than fail the run.
    read -r comm 2>/dev/null <"$d/comm" || continue
    argv=()
    mapfile -d '' -t argv 2>/dev/null <"$d/cmdline" || continue
    cmd="${argv[*]}"
    if [[ $comm =~ $PROCESS_PATTERN || $cmd =~ $PROCESS_PATTERN ]]; then
      exe=$(readlink "$d/exe" 2>/dev/null) || exe="?"
      sanitize "$cmd"
      cmd=$REPLY
      add_finding CRITICAL process "$pid:$comm:$cmd" \
        "suspicious process (matches PROCESS_PATTERN): pid=$pid comm=$comm exe=$exe cmdline=\"$cmd\""
    fi
  done
  return 0
}

# ---- check: listeners -----------------------------------------------------------------------
declare -A ALLOW=()

# Allowlist lines: PORT | ADDR:PORT | [IPV6]:PORT | *:PORT, optionally prefixed tcp/ or udp/.
load_allowlist() {
  local line n=0 proto addr port
  [[ -f $LISTENER_ALLOWLIST_FILE && -r $LISTENER_ALLOWLIST_FILE ]] ||
    die_config "LISTENER_ALLOWLIST_FILE $LISTENER_ALLOWLIST_FILE does not exist or is not readable (an empty file allows nothing)"
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    line=${line%%#*}
    line=${line//[[:space:]]/}
    [[ -z $line ]] && continue
    proto="*"
    if [[ $line =~ ^(tcp|udp)/(.*)$ ]]; then
      proto=${BASH_REMATCH[1]}
      line=${BASH_REMATCH[2]}
    fi
    if [[ $line =~ ^[0-9]+$ ]]; then
      addr="*" port=$line
    elif [[ $line =~ ^\[([0-9A-Fa-f:.]+)\]:([0-9]+)$ || $line =~ ^([^:]+):([0-9]+)$ ]]; then
      addr=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}
    else
      die_config "$LISTENER_ALLOWLIST_FILE line $n: '$line' is not PORT, ADDR:PORT or [IPV6]:PORT"
    fi
    ((port <= 65535)) || die_config "$LISTENER_ALLOWLIST_FILE line $n: port $port is out of range"
    ALLOW["$proto/$addr:$port"]=1
  done <"$LISTENER_ALLOWLIST_FILE"
  return 0
}

listener_allowed() { # PROTO ADDR PORT
  [[ -n ${ALLOW["$1/$2:$3"]:-} || -n ${ALLOW["*/$2:$3"]:-} || -n ${ALLOW["$1/*:$3"]:-} || -n ${ALLOW["*/*:$3"]:-} ]]
}

check_listeners() {
  local proto flag out rc local_addr users addr port
  for proto in tcp udp; do
    [[ $proto == tcp ]] && flag=-Htlnp || flag=-Hulnp
    rc=0
    out=$(ss "$flag" 2>&1) || rc=$?
    if ((rc != 0)); then
      add_finding WARNING listeners "ss-failed:$proto" "cannot list $proto listeners: ss $flag exited $rc: $out"
      continue
    fi
    # State Recv-Q Send-Q Local-Address:Port Peer-Address:Port Process
    while read -r _ _ _ local_addr _ users; do
      [[ -z ${local_addr:-} ]] && continue
      port=${local_addr##*:}
      addr=${local_addr%:*}
      addr=${addr#[}
      addr=${addr%]}
      addr=${addr%%%*}
      [[ $addr == "*" ]] && addr=0.0.0.0
      listener_allowed "$proto" "$addr" "$port" && continue
      add_finding WARNING listeners "$proto:$addr:$port" \
        "unexpected $proto listener on $local_addr ${users:-(process unknown)}"
    done <<<"$out"
  done
  return 0
}

# ---- check: files (cron, authorized_keys, sudoers, setuid) against the hashed baseline ----------
declare -A INV=() # path -> "category<TAB>sha256"

inventory_add() { # CATEGORY PATH
  local h
  if [[ -L $2 ]]; then
    h=$(readlink -- "$2" 2>/dev/null | sha256sum) || h="unreadable"
    h="link:${h%% *}"
  else
    h=$(sha256sum -- "$2" 2>/dev/null) || h="unreadable"
    h=${h%% *}
    h=${h#\\}
  fi
  sanitize "$2"
  INV["$REPLY"]="$1"$'\t'"$h"
}

inventory_path() { # CATEGORY PATH: a file, or every file and symlink below a directory
  local f
  if [[ -d $2 && ! -L $2 ]]; then
    while IFS= read -r -d '' f; do inventory_add "$1" "$f"; done \
      < <(find "$2" -xdev \( -type f -o -type l \) -print0 2>/dev/null)
  elif [[ -e $2 || -L $2 ]]; then
    inventory_add "$1" "$2"
  fi
  return 0
}

build_inventory() {
  local p f
  INV=()
  for p in "${CRON_PATHS[@]}"; do inventory_path cron "$p"; done
  for p in "${SUDOERS_PATHS[@]}"; do inventory_path sudoers "$p"; done
  for p in "${AUTHORIZED_KEYS_GLOBS[@]}"; do
    while IFS= read -r f; do [[ -n $f ]] && inventory_path authorized_keys "$f"; done < <(compgen -G "$p" || true)
  done
  for p in "${SETUID_DIRS[@]}"; do
    [[ -d $p && ! -L $p ]] || continue
    while IFS= read -r -d '' f; do inventory_add setuid "$f"; done \
      < <(find "$p" -xdev -type f \( -perm -4000 -o -perm -2000 \) -print0 2>/dev/null)
  done
  return 0
}

BASELINE_FILE_NAME=baseline.tsv

write_baseline() {
  local path out
  build_inventory
  now_utc
  out="# secdr-degraded baseline: category<TAB>sha256<TAB>path; created $REPLY on $HOST_LABEL"$'\n'
  while IFS= read -r path; do
    [[ -n $path ]] && out+="${INV[$path]}"$'\t'"$path"$'\n'
  done < <(printf '%s\n' "${!INV[@]}" | sort)
  if ((DRY_RUN)); then
    printf '%s' "$out"
    printf '%s: dry run: baseline of %d files not written\n' "$PROG" "${#INV[@]}"
    return
  fi
  atomic_write "$STATE_DIR/$BASELINE_FILE_NAME" "$out"
  printf '%s: baseline of %d files written to %s\n' "$PROG" "${#INV[@]}" "$STATE_DIR/$BASELINE_FILE_NAME"
}

severity_for() { # CATEGORY
  case $1 in
    cron) REPLY=WARNING ;;
    *) REPLY=CRITICAL ;; # authorized_keys, sudoers, setuid: direct paths to persistence or root
  esac
}

check_files() {
  local baseline=$STATE_DIR/$BASELINE_FILE_NAME path cat hash bcat bhash line
  local -A base=()
  if [[ ! -f $baseline ]]; then
    add_finding WARNING files "baseline-missing:$baseline" \
      "no baseline at $baseline: cron, authorized_keys, sudoers and setuid files are not checked; run $PROG --baseline"
    return
  fi
  while IFS= read -r line; do
    [[ -z $line || $line == "#"* ]] && continue
    IFS=$'\t' read -r cat hash path <<<"$line"
    base["$path"]="$cat"$'\t'"$hash"
  done <"$baseline"
  build_inventory
  for path in "${!INV[@]}"; do
    IFS=$'\t' read -r cat hash <<<"${INV[$path]}"
    if [[ -z ${base[$path]:-} ]]; then
      severity_for "$cat"
      add_finding "$REPLY" files "added:$path:$hash" "$cat file added: $path (sha256 $hash)"
    else
      IFS=$'\t' read -r bcat bhash <<<"${base[$path]}"
      if [[ $bhash != "$hash" ]]; then
        severity_for "$cat"
        add_finding "$REPLY" files "changed:$path:$hash" "$cat file changed: $path (sha256 $bhash -> $hash)"
      fi
    fi
  done
  for path in "${!base[@]}"; do
    if [[ -z ${INV[$path]:-} ]]; then
      IFS=$'\t' read -r bcat bhash <<<"${base[$path]}"
      severity_for "$bcat"
      add_finding "$REPLY" files "removed:$path" "$bcat file removed: $path (was sha256 $bhash)"
    fi
  done
  return 0
}

# ---- HTTP checks (curl -q: a ~/.curlrc must not be able to switch off verification) ----------
curl_base() { # fills CURL_ARGS for a request to a URL with an optional CA file
  CURL_ARGS=(-q -sS --max-time "$HTTP_MAX_TIME" --proto "=https,http")
  [[ -n $1 ]] && CURL_ARGS+=(--cacert "$1")
  return 0
}

check_vault() {
  local out code err rc=0
  [[ -n $VAULT_HEALTH_URL ]] || return 0
  curl_base "$VAULT_CACERT"
  # stderr first, then the status code written by -w as the last line
  out=$(curl "${CURL_ARGS[@]}" -o /dev/null -w '\n%{http_code}' "$VAULT_HEALTH_URL" 2>&1) || rc=$?
  code=${out##*$'\n'}
  err=${out%$'\n'*}
  if ((rc != 0)); then
    case $rc in
      35 | 51 | 53 | 54 | 58 | 59 | 60 | 64 | 66 | 77 | 80 | 82 | 83 | 90 | 91)
        add_finding CRITICAL vault "tls:$VAULT_HEALTH_URL:$rc" \
          "Vault TLS verification failed for $VAULT_HEALTH_URL (curl exit $rc: $err); possible interception or wrong CA"
        ;;
      *)
        add_finding CRITICAL vault "unreachable:$VAULT_HEALTH_URL:$rc" \
          "Vault health check failed for $VAULT_HEALTH_URL (curl exit $rc: $err)"
        ;;
    esac
    return 0
  fi
  case $code in
    200 | 429 | 472 | 473) ;; # active, standby, DR secondary, performance standby
    503) add_finding CRITICAL vault "sealed:$VAULT_HEALTH_URL" "Vault is sealed ($VAULT_HEALTH_URL answered 503)" ;;
    501) add_finding CRITICAL vault "uninitialized:$VAULT_HEALTH_URL" "Vault is not initialized ($VAULT_HEALTH_URL answered 501)" ;;
    *) add_finding CRITICAL vault "http-$code:$VAULT_HEALTH_URL" "Vault health check $VAULT_HEALTH_URL answered HTTP $code" ;;
  esac
  return 0
}

LOG_DOWN=0
check_logging() {
  local rc=0 err
  [[ -n $LOG_READY_URL ]] || return 0
  curl_base "$LOG_CACERT"
  err=$(curl "${CURL_ARGS[@]}" -f -o /dev/null "$LOG_READY_URL" 2>&1) || rc=$?
  if ((rc != 0)); then
    LOG_DOWN=1
    add_finding WARNING logging "unreachable:$LOG_READY_URL" \
      "central log endpoint $LOG_READY_URL is not ready (curl exit $rc: $err); alerts go to the emergency webhook"
  fi
  return 0
}

# ---- state: which findings were already reported; alerts not yet delivered -----------------
atomic_write() { # FILE CONTENT
  local tmp
  tmp=$(mktemp "$1.XXXXXX")
  printf '%s' "$2" >"$tmp"
  mv -f -- "$tmp" "$1"
}

webhook_url() {
  REPLY=$EMERGENCY_WEBHOOK_URL
  if [[ -n $EMERGENCY_WEBHOOK_URL_FILE ]]; then
    IFS= read -r REPLY <"$EMERGENCY_WEBHOOK_URL_FILE" || true
    REPLY=${REPLY%$'\r'}
  fi
  return 0
}

# build_payload LINE...: {"text": ..., "host": ..., "alerts": [...]} in REPLY
build_payload() {
  local text alerts="" l host
  text="DEGRADED MODE ALERT from $HOST_LABEL: $# alert(s) while central logging is unreachable"
  for l in "$@"; do
    text+=$'\n'"$l"
    json_string "$l"
    alerts+="${alerts:+,}$REPLY"
  done
  json_string "$HOST_LABEL"
  host=$REPLY
  json_string "$text"
  REPLY="{\"text\":$REPLY,\"host\":$host,\"alerts\":[$alerts]}"
}

# send_emergency LINE...: returns non-zero when delivery failed. The URL is handed to curl on
# stdin (--config -), not argv: webhook URLs often embed a token and argv is world-readable.
send_emergency() {
  local url payload_file rc=0 err
  webhook_url
  url=$REPLY
  build_payload "$@"
  if ((DRY_RUN)); then
    printf 'would POST to the emergency webhook: %s\n' "$REPLY"
    return 0
  fi
  if [[ -z $url ]]; then
    warn "central logging is down and no emergency webhook is configured: alerts stay in $ALERT_FILE only"
    return 1
  fi
  payload_file=$(mktemp "$STATE_DIR/payload.XXXXXX")
  printf '%s' "$REPLY" >"$payload_file"
  curl_base "$EMERGENCY_WEBHOOK_CACERT"
  url=${url//\\/\\\\}
  url=${url//\"/\\\"}
  err=$(curl "${CURL_ARGS[@]}" -f -o /dev/null -H 'Content-Type: application/json' \
    --data-binary "@$payload_file" --config - 2>&1 <<<"url = \"$url\"") || rc=$?
  rm -f -- "$payload_file"
  if ((rc != 0)); then
    warn "emergency webhook delivery failed (curl exit $rc: $err); will retry on the next run"
    return 1
  fi
}

# ---- main -----------------------------------------------------------------------------------
main() {
  local config="" config_given=0 baseline=0
  DRY_RUN=0
  while (($#)); do
    case $1 in
      --config)
        (($# >= 2)) || die_config "--config needs a file argument"
        config=$2 config_given=1
        shift 2
        ;;
      --config=*) config=${1#--config=} config_given=1 && shift ;;
      --baseline) baseline=1 && shift ;;
      --dry-run) DRY_RUN=1 && shift ;;
      -h | --help) usage && exit 0 ;;
      *) die_config "unknown argument: $1 (see --help)" ;;
    esac
  done

  set_defaults
  [[ -n $config ]] || config=$DEFAULT_CONFIG
  if [[ -e $config ]]; then
    load_config "$config"
  elif ((config_given)); then
    die_config "config file $config does not exist"
  fi
  list_defaults
  validate_config

  if ((!DRY_RUN)); then
    mkdir -p -- "$STATE_DIR" || die_config "cannot create STATE_DIR $STATE_DIR"
    [[ -w $STATE_DIR ]] || die_config "STATE_DIR $STATE_DIR is not writable"
    take_lock
  fi

  if ((baseline)); then
    write_baseline
    exit 0
  fi

  has_check processes && check_processes
  has_check listeners && check_listeners
  has_check files && check_files
  has_check vault && check_vault
  has_check logging && check_logging
  report
}

load_config() {
  local f=$1 perms owner
  [[ -f $f && -r $f ]] || die_config "config file $f is not a readable file"
  # The file is sourced as code, by root in production: it must not be writable by anyone else.
  perms=$(stat -c '%a' -- "$f") owner=$(stat -c '%u' -- "$f")
  if [[ $owner != 0 && $owner != "$EUID" ]]; then
    die_config "config file $f is owned by uid $owner; it must be owned by root or uid $EUID"
  fi
  if (((8#$perms & 8#022) != 0)); then
    die_config "config file $f is writable by group or others (mode $perms); chmod go-w it"
  fi
  # shellcheck source=secdr-degraded.conf
  if ! source "$f"; then die_config "config file $f failed to load"; fi
}

validate_config() {
  local v c
  for v in CRON_PATHS AUTHORIZED_KEYS_GLOBS SUDOERS_PATHS SETUID_DIRS; do to_array "$v"; done
  for c in $CHECKS; do
    case $c in processes | listeners | files | vault | logging) ;; *) die_config "CHECKS: unknown check '$c'" ;; esac
  done
  for v in STATE_DIR ALERT_FILE PROC_ROOT; do
    [[ ${!v} == /* ]] || die_config "$v must be an absolute path (got '${!v}')"
  done
  [[ $HTTP_MAX_TIME =~ ^[1-9][0-9]*$ ]] || die_config "HTTP_MAX_TIME must be a positive number of seconds"
  [[ $MESSAGE_MAX =~ ^[1-9][0-9]*$ ]] || die_config "MESSAGE_MAX must be a positive number"
  [[ -n $PROCESS_PATTERN ]] || die_config "PROCESS_PATTERN must not be empty"
  local rc=0
  # shellcheck disable=SC2319 # the status of [[ =~ ]] itself: 2 means an invalid regex
  [[ "" =~ $PROCESS_PATTERN ]] || rc=$?
  ((rc != 2)) || die_config "PROCESS_PATTERN '$PROCESS_PATTERN' is not a valid extended regular expression"
  ((rc != 0)) || die_config "PROCESS_PATTERN '$PROCESS_PATTERN' matches the empty string (every process)"
  if [[ -n $VAULT_HEALTH_URL && $VAULT_HEALTH_URL != https://* ]]; then
    die_config "VAULT_HEALTH_URL must be an https:// URL so the server is verified (got '$VAULT_HEALTH_URL')"
  fi
  for v in VAULT_CACERT LOG_CACERT EMERGENCY_WEBHOOK_CACERT EMERGENCY_WEBHOOK_URL_FILE; do
    [[ -z ${!v} || -r ${!v} ]] || die_config "$v ${!v} does not exist or is not readable"
  done
  [[ -n $HOST_LABEL ]] || HOST_LABEL=$(uname -n)
  sanitize "$HOST_LABEL"
  HOST_LABEL=$REPLY
  if has_check processes && [[ ! -d $PROC_ROOT ]]; then die_config "PROC_ROOT $PROC_ROOT is not a directory"; fi
  local tool
  for tool in sha256sum find stat mktemp; do
    command -v "$tool" >/dev/null || die_config "required tool '$tool' not found"
  done
  if has_check listeners; then
    command -v ss >/dev/null || die_config "'ss' not found (install iproute2) or remove 'listeners' from CHECKS"
    load_allowlist
  fi
  if has_check vault || has_check logging; then
    command -v curl >/dev/null || die_config "'curl' not found; install it or remove 'vault' and 'logging' from CHECKS"
  fi
  shopt -s nocasematch
}

take_lock() {
  # One run at a time (a manual run next to the timer's), so an alert is not appended twice.
  if command -v flock >/dev/null; then
    exec {LOCK_FD}>"$STATE_DIR/lock"
    flock -w 60 "$LOCK_FD" || die_config "another run holds $STATE_DIR/lock"
  fi
}

report() {
  local reported_file=$STATE_DIR/reported outbox_file=$STATE_DIR/outbox
  local -A seen=()
  local -a new_lines=() pending=()
  local i key line keys="" status
  if [[ -f $reported_file ]]; then
    while IFS= read -r key; do [[ -n $key ]] && seen["$key"]=1; done <"$reported_file"
  fi
  now_utc
  local ts=$REPLY
  for i in "${!F_KEYS[@]}"; do
    key=${F_KEYS[$i]}
    keys+="$key"$'\n'
    if [[ -n ${seen[$key]:-} ]]; then
      status=known
    else
      status=NEW
      seen["$key"]=1
      new_lines+=("$ts $HOST_LABEL ${F_SEVS[$i]} ${F_MSGS[$i]}")
    fi
    printf '%-5s %-8s %s\n' "$status" "${F_SEVS[$i]}" "${F_MSGS[$i]}"
  done

  if ((DRY_RUN)); then
    for line in "${new_lines[@]}"; do printf 'would append to %s: %s\n' "$ALERT_FILE" "$line"; done
  else
    if ((${#new_lines[@]})); then
      mkdir -p -- "$(dirname -- "$ALERT_FILE")" || die_config "cannot create the directory of ALERT_FILE $ALERT_FILE"
      printf '%s\n' "${new_lines[@]}" >>"$ALERT_FILE" ||
        die_config "cannot append to ALERT_FILE $ALERT_FILE"
    fi
    # Only now is a finding "reported": keys of findings that are gone drop out of the file, so
    # they are reported again if they come back.
    atomic_write "$reported_file" "$keys"
  fi

  if ((LOG_DOWN)); then
    if [[ -f $outbox_file ]]; then
      mapfile -t pending <"$outbox_file"
    fi
    pending+=("${new_lines[@]}")
    if ((${#pending[@]})); then
      if send_emergency "${pending[@]}"; then
        ((DRY_RUN)) || rm -f -- "$outbox_file"
      elif ((!DRY_RUN)); then
        # keep the newest 1000 undelivered alerts for the next run
        atomic_write "$outbox_file" "$(printf '%s\n' "${pending[@]}" | tail -n 1000)"$'\n'
      fi
    fi
  elif ((!DRY_RUN)) && [[ -f $outbox_file ]]; then
    # Logging is back and ships ALERT_FILE, which already holds these alerts.
    rm -f -- "$outbox_file"
  fi

  local note=""
  ((!DRY_RUN)) || note=" (dry run: nothing written or sent)"
  printf '%s: %d finding(s), %d new%s\n' "$PROG" "${#F_KEYS[@]}" "${#new_lines[@]}" "$note"
  ((${#F_KEYS[@]} == 0)) || exit 1
  exit 0
}

# Run unless sourced (the tests source the file to exercise json_string on its own).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
