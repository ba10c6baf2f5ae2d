# shellcheck shell=bash
# lib.sh - helpers shared by the operator scripts (sourced, not run).
#
# Sets REPO (the checkout holding this file), BIN (binaries: $WEIR_BIN or
# $REPO/bin) and PROG (the calling script's name, for messages).  Daemons are
# tracked by pid files only: stop never searches the process table by name,
# so it cannot kill another instance or a process that reused a stale pid.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${WEIR_BIN:-$REPO/bin}
PROG=$(basename "$0")
ZK_CLASSPATH=${ZK_CLASSPATH:-/usr/share/java/zookeeper.jar}

die() { echo "$PROG: $*" >&2; exit 1; }
# Usage errors exit 2 (LSB "invalid or excess arguments").
usage_error() { echo "$PROG: $*" >&2; echo "Try '$PROG --help'." >&2; exit 2; }

# need_arg FLAG NARGS: a flag that takes a value must have one.
need_arg() { [ "$2" -ge 2 ] || usage_error "option '$1' requires a value"; }

# prop_get FILE KEY [OVERRIDE...]: the value of KEY, the last key=value among
# the overrides winning over the file's last line for KEY.  Handles key=value,
# key: value and key value; not continuation lines (not used for these keys).
prop_get() {
    local file=$1 key=$2 val="" kv
    shift 2
    if [ -r "$file" ]; then
        val=$(awk -v k="$key" '
            /^[ \t]*[#!]/ { next }
            {
                line = $0; sub(/^[ \t]+/, "", line)
                if (index(line, k) != 1) next
                rest = substr(line, length(k) + 1)
                if (rest !~ /^[ \t]*[=:]/ && rest !~ /^[ \t]+/ && rest != "") next
                sub(/^[ \t]*[=:]?[ \t]*/, "", rest); sub(/[ \t\r]+$/, "", rest)
                v = rest; found = 1
            }
            END { if (found) print v }' "$file")
    fi
    for kv in "$@"; do
        [ "${kv%%=*}" = "$key" ] && val=${kv#*=}
    done
    printf '%s\n' "$val"
}

# pid_alive PID: true if PID names a running process (a zombie, dead but not
# yet reaped by its new parent, counts as dead).
pid_alive() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# pid_is PID PATTERN: true if PID's command line contains PATTERN (so a pid
# file left behind after a reboot never makes us signal an unrelated process).
pid_is() {
    pid_alive "$1" || return 1
    tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"
}

# read_pid FILE: the pid stored in FILE, or nothing.
read_pid() { if [ -r "$1" ]; then tr -dc '0-9' < "$1"; fi; }

# stop_pid NAME PIDFILE PATTERN TIMEOUT: SIGTERM, wait up to TIMEOUT s, then
# SIGKILL.  Returns 1 (after removing a stale pid file) if nothing was running.
stop_pid() {
    local name=$1 pidfile=$2 pattern=$3 timeout=$4 pid i
    pid=$(read_pid "$pidfile")
    if [ -z "$pid" ]; then
        echo "No $name to stop (no pid file $pidfile)" >&2
        return 1
    fi
    if ! pid_is "$pid" "$pattern"; then
        echo "No $name to stop (pid $pid from $pidfile is not running; removed the stale pid file)" >&2
        rm -f "$pidfile"
        return 1
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        pid_alive "$pid" || break
        sleep 0.1
    done
    if pid_alive "$pid"; then
        echo "$name (pid $pid) did not stop within ${timeout}s; sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            pid_alive "$pid" || break
            sleep 0.1
        done
    fi
    rm -f "$pidfile"
    echo "Stopped $name (pid $pid)"
}

# spawn_daemon NAME PIDFILE LOGFILE CMD...: start CMD in the background with
# nohup, record its pid in PIDFILE and SPAWNED_PID, and check it survives its
# first half second (a bad config exits at once; show why).
spawn_daemon() {
    local name=$1 pidfile=$2 logfile=$3 pid old
    shift 3
    old=$(read_pid "$pidfile")
    if [ -n "$old" ] && pid_alive "$old"; then
        die "$name already running (pid $old, pid file $pidfile)"
    fi
    mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
    # Remember where this run's output starts, to show only it on failure.
    local start
    start=$(($(stat -c %s "$logfile" 2>/dev/null || echo 0) + 1))
    nohup "$@" >> "$logfile" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$pidfile"
    sleep 0.5
    if ! pid_alive "$pid"; then
        rm -f "$pidfile"
        echo "$PROG: $name exited at start-up; its output (in $logfile):" >&2
        tail -c +"$start" "$logfile" | tail -n 20 >&2
        exit 1
    fi
    SPAWNED_PID=$pid
}

# free_ports N: N distinct free TCP ports on 127.0.0.1, one per line.  All
# sockets are held open together so the kernel cannot hand out one twice.
free_ports() {
    /usr/bin/python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
EOF
}

# zk_ruok HOST PORT: true if ZooKeeper answers "imok".
zk_ruok() {
    local reply=""
    reply=$( { exec 3<>"/dev/tcp/$1/$2" && printf ruok >&3 && timeout 2 cat <&3; } 2>/dev/null) || true
    [ "$reply" = "imok" ]
}

# zk_cli HOST:PORT CMD...: run one zkCli command; prints only its result.
zk_cli() {
    local server=$1
    shift
    java -Xmx64m -cp "$ZK_CLASSPATH:/usr/share/java/slf4j-nop.jar" \
        org.apache.zookeeper.ZooKeeperMain -server "$server" "$@" 2>&1 |
        grep -v -e '^Connecting to ' -e '^WATCHER::' -e '^WatchedEvent ' -e '^$' || true
}

# --- weir-broker / weir-controller start and stop (KIND = broker|controller) ---

# Where a daemon's pid file and log go by default:
#   broker:     <first log.dir>/weir-broker.pid, <first log.dir>/../broker-<id>.log
#   controller: $WEIR_RUN_DIR (default /tmp/weir)/controller-<id>.pid and .log
# Sets PIDFILE and LOGFILE from CONFIG and the overrides.
daemon_paths() {
    local kind=$1 config=$2 id dir
    shift 2
    if [ "$kind" = broker ]; then
        id=$(prop_get "$config" broker.id "$@")
        dir=$(prop_get "$config" log.dirs "$@")
        dir=${dir%%,*}
        [ -n "$dir" ] || dir=/tmp/weir-logs
        PIDFILE=${PIDFILE:-$dir/weir-broker.pid}
        LOGFILE=${LOGFILE:-$(dirname "$dir")/broker-${id:-0}.log}
    else
        id=$(prop_get "$config" controller.id "$@")
        dir=${WEIR_RUN_DIR:-/tmp/weir}
        PIDFILE=${PIDFILE:-$dir/controller-${id:-0}.pid}
        LOGFILE=${LOGFILE:-$dir/controller-${id:-0}.log}
    fi
}

weir_start_usage() {
    cat <<EOT
Usage: $PROG CONFIG [--override key=value]... [--daemon] [--log FILE] [--pid-file FILE]

Start weir-$1 with the properties in CONFIG; each --override replaces one
property (later ones win).  'weir-$1 --help' lists every property.

  --override key=value   override one property of CONFIG
  --daemon               run in the background (nohup); print its pid
  --log FILE             daemon log file (default: $2)
  --pid-file FILE        pid file (default: $3)
  -h, --help             show this help

Without --daemon the script execs weir-$1, so its pid is the daemon's
(for systemd and containers).  Binaries come from \$WEIR_BIN (default: <repo>/bin).
EOT
}

weir_start() {
    local kind=$1 config="" daemon=0 overrides=() pid
    shift
    PIDFILE="" LOGFILE=""
    while [ $# -gt 0 ]; do
        case $1 in
        -h | --help)
            if [ "$kind" = broker ]; then
                weir_start_usage broker "<first log.dir>/../broker-<id>.log" "<first log.dir>/weir-broker.pid"
            else
                weir_start_usage controller "\$WEIR_RUN_DIR/controller-<id>.log" "\$WEIR_RUN_DIR/controller-<id>.pid (WEIR_RUN_DIR default /tmp/weir)"
            fi
            exit 0 ;;
        --override) need_arg "$1" $#; case $2 in *=*) ;; *) usage_error "--override needs key=value, got '$2'" ;; esac
            overrides+=("$2"); shift 2 ;;
        --override=*) overrides+=("${1#--override=}"); shift ;;
        --daemon | -daemon) daemon=1; shift ;;
        --log) need_arg "$1" $#; LOGFILE=$2; shift 2 ;;
        --pid-file) need_arg "$1" $#; PIDFILE=$2; shift 2 ;;
        -*) usage_error "unknown option '$1'" ;;
        *) [ -z "$config" ] || usage_error "unexpected argument '$1' (CONFIG is already '$config')"
            config=$1; shift ;;
        esac
    done
    [ -n "$config" ] || usage_error "missing CONFIG (e.g. $REPO/conf/$kind.properties)"
    [ -r "$config" ] || die "cannot read CONFIG '$config'"
    [ -x "$BIN/weir-$kind" ] || die "no executable $BIN/weir-$kind (run 'make', or set WEIR_BIN)"
    local args=("$config")
    for kv in ${overrides[@]+"${overrides[@]}"}; do args+=(--override "$kv"); done
    if [ $daemon -eq 0 ]; then
        exec "$BIN/weir-$kind" "${args[@]}"
    fi
    daemon_paths "$kind" "$config" ${overrides[@]+"${overrides[@]}"}
    spawn_daemon "weir-$kind" "$PIDFILE" "$LOGFILE" "$BIN/weir-$kind" "${args[@]}"
    echo "Started weir-$kind (pid $SPAWNED_PID); log $LOGFILE, pid file $PIDFILE" >&2
    echo "$SPAWNED_PID"
}

weir_stop_usage() {
    cat <<EOT
Usage: $PROG [CONFIG [--override key=value]... | --pid-file FILE | --all] [--timeout SECONDS]

Stop weir-$1 with SIGTERM (a controlled shutdown), wait up to --timeout
seconds (default 30), then SIGKILL.  The process is found through its pid
file: the one broker-/controller-start.sh --daemon wrote for CONFIG (default
$REPO/conf/$1.properties), or FILE.  --all signals every weir-$1 process
of this user instead.  Exits 1 if there was nothing to stop.
EOT
}

weir_stop() {
    local kind=$1 config="" all=0 timeout=30 overrides=() pids p rc=0
    shift
    PIDFILE="" LOGFILE=""
    while [ $# -gt 0 ]; do
        case $1 in
        -h | --help) weir_stop_usage "$kind"; exit 0 ;;
        --pid-file) need_arg "$1" $#; PIDFILE=$2; shift 2 ;;
        --all) all=1; shift ;;
        --timeout) need_arg "$1" $#
            case $2 in '' | *[!0-9]*) usage_error "--timeout needs a number of seconds, got '$2'" ;; esac
            timeout=$2; shift 2 ;;
        --override) need_arg "$1" $#; overrides+=("$2"); shift 2 ;;
        -*) usage_error "unknown option '$1'" ;;
        *) [ -z "$config" ] || usage_error "unexpected argument '$1'"; config=$1; shift ;;
        esac
    done
    if [ $all -eq 1 ]; then
        pids=$(pgrep -x -u "$(id -u)" "weir-$kind" || true)
        [ -n "$pids" ] || { echo "No weir-$kind to stop" >&2; exit 1; }
        local tmp
        tmp=$(mktemp)
        for p in $pids; do
            echo "$p" > "$tmp"
            stop_pid "weir-$kind" "$tmp" "weir-$kind" "$timeout" || rc=1
        done
        rm -f "$tmp"
        exit $rc
    fi
    if [ -z "$PIDFILE" ]; then
        config=${config:-$REPO/conf/$kind.properties}
        [ -r "$config" ] || die "cannot read CONFIG '$config'"
        daemon_paths "$kind" "$config" ${overrides[@]+"${overrides[@]}"}
    fi
    stop_pid "weir-$kind" "$PIDFILE" "weir-$kind" "$timeout"
}

# --- client scripts (topics, console producer/consumer) -> the weir CLI ---

# client_props_file FILE: each key=value line of a client properties file
# (Kafka's --command-config / --producer.config) as "-X key=value" words in
# the WEIR_X array.
client_props_file() {
    local line
    [ -r "$1" ] || usage_error "cannot read config file '$1'"
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line#"${line%%[![:space:]]*}"}
        case $line in '' | '#'* | '!'*) continue ;; *=*) ;; *) usage_error "line '$line' of '$1' is not key=value" ;; esac
        WEIR_X+=(-X "$line")
    done < "$1"
}

# check_client_flag FLAG: Kafka's --bootstrap-server spelling; the deprecated
# --broker-list (with a hint); --zookeeper is gone, as in Kafka 3.
check_client_flag() {
    case $1 in
    --broker-list) echo "$PROG: --broker-list is deprecated; use --bootstrap-server" >&2 ;;
    --zookeeper) usage_error "option '--zookeeper' is not supported: clients talk to brokers; use --bootstrap-server HOST:PORT" ;;
    esac
}

# run_weir ARGS...: exec the weir CLI with -b and -X options first.
run_weir() {
    [ -x "$BIN/weir" ] || die "no executable $BIN/weir (run 'make', or set WEIR_BIN)"
    exec "$BIN/weir" -b "$BOOTSTRAP_SERVER" ${WEIR_X[@]+"${WEIR_X[@]}"} "$@"
}
