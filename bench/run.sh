#!/usr/bin/env bash
# Side-by-side benchmark: Taube and Prosody 0.12, same machine, same load
# generator, same certificate. See bench/README.md for what is measured and
# how. Usage: bench/run.sh BUILD_DIR   (what `make bench` runs)
#
# Tunables (environment): BENCH_USERS (500), BENCH_CONCURRENCY (100),
# BENCH_CONNS (1000,10000), BENCH_SECONDS (10), BENCH_PAIRS (250),
# BENCH_WINDOW (8), BENCH_OFFLINE (1000), BENCH_ROUNDS (3), BENCH_SENDERS
# (100), BENCH_BATCH (10), BENCH_TAUBE_PORT (17222), BENCH_PROSODY_PORT
# (17322), BENCH_ONLY (taube|prosody: run one server), BENCH_SCENARIOS (idle
# churn msgs roster offline flood: a subset, in this order), BENCH_KEEP=1
# (keep the work dir).
set -euo pipefail

BUILD=${1:?usage: bench/run.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
LOADGEN=$BUILD/bench/loadgen
USERS=${BENCH_USERS:-500}
CONC=${BENCH_CONCURRENCY:-100}
CONNS=${BENCH_CONNS:-1000,10000}
SECS=${BENCH_SECONDS:-10}
PAIRS=${BENCH_PAIRS:-250}
WINDOW=${BENCH_WINDOW:-8}
OFFLINE=${BENCH_OFFLINE:-1000}
ROUNDS=${BENCH_ROUNDS:-3}
SENDERS=${BENCH_SENDERS:-100}
BATCH=${BENCH_BATCH:-10}
SCENARIOS=" ${BENCH_SCENARIOS:-idle churn msgs roster offline flood} "
TAUBE_PORT=${BENCH_TAUBE_PORT:-17222}
PROSODY_PORT=${BENCH_PROSODY_PORT:-17322}
ONLY=${BENCH_ONLY:-}
PASSWORD=bench-pass-1
HERE=$(cd "$(dirname "$0")" && pwd)

WORK=$(mktemp -d /tmp/taube-bench.XXXXXX)
chmod 755 "$WORK" # Prosody runs as its own user and must reach its dir
SERVER_PID=
cleanup() {
    stop_server
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" >&2; }

# ---- machine set-up ----

# 10,000 connections need more descriptors than the usual 1024, in the load
# generator and in each server (they inherit this shell's limit).
raise_fd_limit() {
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    local n
    n=$(ulimit -n)
    local max=${CONNS##*,}
    if [ "$n" != unlimited ] && [ "$n" -lt $((max + 200)) ]; then
        log "open-file limit is $n: too low for $max connections"
        exit 1
    fi
    log "open-file limit $n"
}

# Server on CPU 0, load generator on CPU 1, when there are two: each gets one
# core, and the figures read as "on one core".
SERVER_CPU=() LOADGEN_CPU=()
pin_cpus() {
    if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
        SERVER_CPU=(taskset -c 0)
        LOADGEN_CPU=(taskset -c 1)
        log "server pinned to CPU 0, load generator to CPU 1"
    else
        log "fewer than 2 CPUs or no taskset: server and load generator share the CPUs"
    fi
}

# The same certificate for both: ECDSA P-256, self-signed, for localhost.
make_cert() {
    mkdir -p "$WORK/cert"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost \
        -keyout "$WORK/cert/localhost.key" -out "$WORK/cert/localhost.crt" 2>/dev/null
}

wait_port() { # PORT PID: until something accepts on 127.0.0.1:PORT (15 s)
    for _ in $(seq 150); do
        kill -0 "$2" 2>/dev/null || return 1
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# Until the server has used at most ~2% of a CPU for half a second (60 s at
# most): closing 10,000 connections keeps a server busy for a while, and the
# next scenario must not pay for it.
wait_quiet() { # PID
    local hz last now
    hz=$(getconf CLK_TCK)
    last=$(awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null) || return 0
    for _ in $(seq 120); do
        sleep 0.5
        now=$(awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null) || return 0
        [ $(((now - last) * 100 / hz)) -lt 2 ] && return 0
        last=$now
    done
    log "the server stayed busy"
}

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

# ---- the measurements, the same for each server ----

wanted() { [[ "$SCENARIOS" == *" $1 "* ]]; }

# NAME PORT: runs the scenarios against the server SERVER_PID, writes
# "RESULT ..." lines to $WORK/NAME.results. A failed scenario leaves its
# figures out (shown as n/a) and the next one still runs.
measure() {
    local name=$1 port=$2 out=$WORK/$1.results
    local common=(--port "$port" --users "$USERS" --password "$PASSWORD" --concurrency "$CONC"
        --server-pid "$SERVER_PID")
    : >"$out"
    if wanted idle; then
        log "$name: idle connections ($CONNS) and RSS"
        "${LOADGEN_CPU[@]}" "$LOADGEN" idle "${common[@]}" --conns "$CONNS" >>"$out" ||
            log "$name: idle scenario failed"
        wait_quiet "$SERVER_PID"
    fi
    if wanted churn; then
        log "$name: login churn ($CONC in flight, ${SECS}s)"
        "${LOADGEN_CPU[@]}" "$LOADGEN" churn "${common[@]}" --seconds "$SECS" >>"$out" ||
            log "$name: churn scenario failed"
        wait_quiet "$SERVER_PID"
    fi
    if wanted msgs; then
        log "$name: messages ($PAIRS pairs, window $WINDOW, ${SECS}s)"
        "${LOADGEN_CPU[@]}" "$LOADGEN" msgs "${common[@]}" --pairs "$PAIRS" --window "$WINDOW" \
            --seconds "$SECS" >>"$out" || log "$name: msgs scenario failed"
        wait_quiet "$SERVER_PID"
    fi
    if wanted roster; then
        # Set-up through XMPP: each pair subscribes both ways (RFC 6121 §3),
        # then the same message run with logins that fetch the roster first.
        log "$name: presence subscriptions ($PAIRS pairs, both ways)"
        if "${LOADGEN_CPU[@]}" "$LOADGEN" subscribe "${common[@]}" --pairs "$PAIRS" >>"$out"; then
            wait_quiet "$SERVER_PID"
            log "$name: messages between subscribed contacts (roster get, ${SECS}s)"
            "${LOADGEN_CPU[@]}" "$LOADGEN" msgs "${common[@]}" --pairs "$PAIRS" \
                --window "$WINDOW" --seconds "$SECS" --roster |
                sed 's/^RESULT msgs_/RESULT rmsgs_/' >>"$out" ||
                log "$name: msgs --roster scenario failed"
        else
            log "$name: subscriptions not set up: no roster figures"
        fi
        wait_quiet "$SERVER_PID"
    fi
    if wanted offline; then
        log "$name: $OFFLINE offline messages delivered at login ($ROUNDS rounds)"
        "${LOADGEN_CPU[@]}" "$LOADGEN" offline "${common[@]}" --messages "$OFFLINE" \
            --rounds "$ROUNDS" >>"$out" || log "$name: offline scenario failed"
        [ "$name" = taube ] && taube_offline_check
        wait_quiet "$SERVER_PID"
    fi
    if wanted flood; then
        # Last: it leaves many stored messages behind for accounts 101...
        log "$name: write flood ($SENDERS senders storing offline messages, batches of $BATCH, ${SECS}s) and a pinging client"
        "${LOADGEN_CPU[@]}" "$LOADGEN" flood "${common[@]}" --senders "$SENDERS" \
            --window "$BATCH" --seconds "$SECS" >>"$out" || log "$name: flood scenario failed"
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || log "$name: the server died during the run"
}

# ---- Taube ----

# Sets KEY under top-level SECTION in a YAML file written by taubectl init.
yaml_set() { # FILE SECTION KEY VALUE
    awk -v sec="$2" -v key="$3" -v val="$4" '
        /^[A-Za-z0-9_]+:/ { cur = substr($1, 1, length($1) - 1) }
        cur == sec && $0 ~ "^  " key ":" { print "  " key ": " val; found = 1; next }
        { print }
        END { if (!found) exit 3 }' "$1" >"$1.new" && mv "$1.new" "$1"
}

# A check, not the mechanism: after the offline scenario user1 has nothing
# left in Taube's offline store (every stored message was delivered).
taube_offline_check() {
    local db=$WORK/taube/data/taube.db n
    command -v sqlite3 >/dev/null && [ -f "$db" ] || return 0
    n=$(sqlite3 "$db" "SELECT count(*) FROM offline_messages o JOIN accounts a ON a.id = o.account_id WHERE a.username = 'user1'" 2>/dev/null) || return 0
    [ "$n" = 0 ] || log "taube: $n offline messages of user1 are still stored"
}

run_taube() {
    local dir=$WORK/taube cfg
    cfg=$dir/taube.yaml
    if [ ! -x "$BUILD/taube" ] || [ ! -x "$BUILD/taubectl" ]; then
        log "taube: $BUILD/taube or taubectl missing"
        return 1
    fi
    # (set -e does not apply in a function called with ||: check each step)
    "$BUILD/taubectl" init --dir "$dir" --domain localhost --c2s-port "$TAUBE_PORT" >/dev/null ||
        { log "taube: taubectl init failed"; return 1; }
    # Only the STARTTLS c2s listener; limits raised like Prosody's (see README).
    # All logins come from 127.0.0.1, up to --concurrency of them at once.
    local sec key val
    while read -r sec key val; do
        yaml_set "$cfg" "$sec" "$key" "$val" ||
            { log "taube: cannot set $sec.$key in $cfg"; return 1; }
    done <<'EOF'
network listen ["127.0.0.1"]
c2s tls_port 0
s2s port 0
http port 0
limits max_connections 20000
limits read_rate 1GiB
limits read_burst 1GiB
limits max_unauthenticated_per_address 1000000
offline max_messages 100000
EOF
    # The idle scenario spreads its connections over the accounts
    # round-robin: allow that many resources per account (default 10).
    local max=${CONNS##*,}
    yaml_set "$cfg" limits max_sessions_per_account $(((max + USERS - 1) / USERS)) ||
        { log "taube: cannot set limits.max_sessions_per_account in $cfg"; return 1; }
    cp "$WORK/cert/localhost.crt" "$WORK/cert/localhost.key" "$dir/certs/" || return 1
    log "taube: creating $USERS accounts"
    seq 0 $((USERS - 1)) | xargs -P 2 -I{} "$BUILD/taubectl" -c "$cfg" user add \
        "user{}@localhost" --password "$PASSWORD" >/dev/null ||
        { log "taube: creating accounts failed"; return 1; }
    "${SERVER_CPU[@]}" "$BUILD/taube" -c "$cfg" >"$dir/taube.log" 2>&1 &
    SERVER_PID=$!
    if ! wait_port "$TAUBE_PORT" "$SERVER_PID"; then
        log "taube did not start; its log:"
        tail -5 "$dir/taube.log" >&2
        stop_server
        return 1
    fi
    measure taube "$TAUBE_PORT"
    stop_server
}

# ---- Prosody ----

install_prosody() {
    command -v prosody >/dev/null && return 0
    log "installing Debian's prosody package (services blocked)"
    local made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prosody >/dev/null ||
        { apt-get update >/dev/null &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prosody \
                >/dev/null; }
    [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    command -v prosody >/dev/null
}

run_prosody() {
    local dir=$WORK/prosody cfg
    cfg=$dir/prosody.cfg.lua
    install_prosody || { log "prosody: could not install"; return 1; }
    mkdir -p "$dir/data/localhost/accounts" "$dir/certs"
    cp "$WORK/cert/localhost.crt" "$WORK/cert/localhost.key" "$dir/" || return 1
    sed -e "s|@DIR@|$dir|g; s|@PORT@|$PROSODY_PORT|g" \
        -e "s|@CERT@|$dir/localhost.crt|g; s|@KEY@|$dir/localhost.key|g" \
        "$HERE/prosody.cfg.lua.in" >"$cfg" || return 1
    chown -R prosody:prosody "$dir" || return 1
    log "prosody: creating $USERS accounts"
    seq 0 $((USERS - 1)) | xargs -P 2 -I{} setpriv --reuid=prosody --regid=prosody \
        --init-groups prosodyctl --config "$cfg" register "user{}" localhost "$PASSWORD" \
        >/dev/null 2>&1 || { log "prosody: creating accounts failed"; return 1; }
    # Prosody refuses to run as root: it runs as the package's prosody user.
    "${SERVER_CPU[@]}" setpriv --reuid=prosody --regid=prosody --init-groups \
        prosody --config "$cfg" -F >"$dir/stdout.log" 2>&1 &
    SERVER_PID=$!
    if ! wait_port "$PROSODY_PORT" "$SERVER_PID"; then
        log "prosody did not start; its log:"
        tail -5 "$dir/prosody.log" >&2 || true
        stop_server
        return 1
    fi
    measure prosody "$PROSODY_PORT"
    stop_server
}

# ---- the table ----

# get NAME KEY [FIELD]: a figure from NAME.results, or empty.
get() {
    [ -f "$WORK/$1.results" ] || return 0
    awk -v k="$2" -v f="${3:-3}" '$1 == "RESULT" && $2 == k { v = $f } END { if (v != "") print v }' \
        "$WORK/$1.results"
}

# per-connection KiB at the connection count N
per_conn() { awk -v n="$2" '$1 == "RESULT" && $2 == "idle_kib_per_conn" && $3 == n { print $4 }' \
    "$WORK/$1.results" 2>/dev/null || true; }

rest() { # NAME KEY: every value of the line, joined by '/'
    [ -f "$WORK/$1.results" ] || return 0
    awk -v k="$2" '$1 == "RESULT" && $2 == k { v = $3; for (i = 4; i <= NF; i++) v = v "/" $i }
        END { if (v != "") print v }' "$WORK/$1.results"
}

of_n() { # NAME KEY: "count/total" from a "RESULT KEY count total" line
    local a b
    a=$(get "$1" "$2")
    b=$(get "$1" "$2" 4)
    [ -n "$a" ] && echo "$a/$b"
}

off_counts() { # NAME: "delivered/delayed" of the worst round
    local d s
    d=$(get "$1" offline_delivered_min)
    s=$(get "$1" offline_delayed_min)
    [ -n "$d$s" ] && echo "${d:-?}/${s:-?}"
}

cpu_pair() { # NAME SCENARIO: "server/loadgen" CPU percentages
    local s l
    s=$(get "$1" "$2_server_cpu_pct")
    l=$(get "$1" "$2_loadgen_cpu_pct")
    [ -n "$s$l" ] && echo "${s:-?}/${l:-?}"
}

row() { # METRIC TAUBE PROSODY BETTER
    awk -v m="$1" -v t="$2" -v p="$3" -v b="$4" 'BEGIN {
        num = "^[0-9.]+$"
        r = (t ~ num && p ~ num && p + 0 != 0) ? sprintf("%.2f", t / p) : "n/a"
        printf "| %-44s | %12s | %12s | %7s | %-6s |\n", m, (t == "" ? "n/a" : t), (p == "" ? "n/a" : p), r, b }'
}

report() {
    local n
    echo
    echo "Taube vs Prosody $(dpkg-query -W -f '${Version}' prosody 2>/dev/null || true)" \
        "- $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "load average before the run: $LOAD_BEFORE (other work skews the figures)"
    echo "ratio = Taube / Prosody; better = which direction is better"
    echo
    printf "| %-44s | %12s | %12s | %7s | %-6s |\n" metric Taube Prosody ratio better
    echo "|----------------------------------------------|--------------|--------------|---------|--------|"
    row "logins/s, churn ($CONC in flight)" "$(get taube churn_logins_per_s)" \
        "$(get prosody churn_logins_per_s)" higher
    row "  logins per server CPU-second (churn)" "$(get taube churn_per_server_cpu_s)" \
        "$(get prosody churn_per_server_cpu_s)" higher
    row "  server / loadgen CPU %, churn" "$(cpu_pair taube churn)" "$(cpu_pair prosody churn)" ""
    row "login time p50, ms (churn)" "$(get taube churn_login_ms_p50)" \
        "$(get prosody churn_login_ms_p50)" lower
    row "login time p99, ms (churn)" "$(get taube churn_login_ms_p99)" \
        "$(get prosody churn_login_ms_p99)" lower
    for n in ${CONNS//,/ }; do
        row "RSS KiB per idle TLS login, $n conns" "$(per_conn taube "$n")" \
            "$(per_conn prosody "$n")" lower
    done
    row "logins/s while ramping to ${CONNS##*,} conns" \
        "$(awk '$2 == "idle_ramp_logins_per_s" { v = $4 } END { print v }' "$WORK/taube.results" 2>/dev/null)" \
        "$(awk '$2 == "idle_ramp_logins_per_s" { v = $4 } END { print v }' "$WORK/prosody.results" 2>/dev/null)" higher
    row "messages/s, $PAIRS pairs (window $WINDOW)" "$(get taube msgs_per_s)" \
        "$(get prosody msgs_per_s)" higher
    row "  messages per server CPU-second" "$(get taube msgs_per_server_cpu_s)" \
        "$(get prosody msgs_per_server_cpu_s)" higher
    row "  server / loadgen CPU %, messages" "$(cpu_pair taube msgs)" "$(cpu_pair prosody msgs)" ""
    row "message latency p50, ms" "$(get taube msgs_latency_ms_p50)" \
        "$(get prosody msgs_latency_ms_p50)" lower
    row "message latency p99, ms" "$(get taube msgs_latency_ms_p99)" \
        "$(get prosody msgs_latency_ms_p99)" lower
    row "subscribing $PAIRS pairs both ways (set-up), s" "$(get taube subscribe_seconds)" \
        "$(get prosody subscribe_seconds)" lower
    row "messages/s, subscribed contacts (window $WINDOW)" "$(get taube rmsgs_per_s)" \
        "$(get prosody rmsgs_per_s)" higher
    row "  messages per server CPU-second" "$(get taube rmsgs_per_server_cpu_s)" \
        "$(get prosody rmsgs_per_server_cpu_s)" higher
    row "  server / loadgen CPU %, subscribed" "$(cpu_pair taube rmsgs)" "$(cpu_pair prosody rmsgs)" ""
    row "  logins seeing their contact as 'both'" "$(of_n taube rmsgs_roster_both)" \
        "$(of_n prosody rmsgs_roster_both)" ""
    row "message latency p50, ms, subscribed" "$(get taube rmsgs_latency_ms_p50)" \
        "$(get prosody rmsgs_latency_ms_p50)" lower
    row "message latency p99, ms, subscribed" "$(get taube rmsgs_latency_ms_p99)" \
        "$(get prosody rmsgs_latency_ms_p99)" lower
    row "$OFFLINE offline msgs: presence to last, ms" "$(get taube offline_deliver_ms)" \
        "$(get prosody offline_deliver_ms)" lower
    row "  presence to first message, ms" "$(get taube offline_first_ms)" \
        "$(get prosody offline_first_ms)" lower
    row "  each round, ms" "$(rest taube offline_deliver_ms_rounds)" \
        "$(rest prosody offline_deliver_ms_rounds)" ""
    row "  storing them (send + ping answer), ms" "$(get taube offline_store_ms)" \
        "$(get prosody offline_store_ms)" lower
    row "  delivered / with delay stamp (min)" "$(off_counts taube)" "$(off_counts prosody)" ""
    row "offline writes/s, flood ($SENDERS senders)" "$(get taube flood_writes_per_s)" \
        "$(get prosody flood_writes_per_s)" higher
    row "  ping p50 of another client, ms" "$(get taube flood_ping_ms_p50)" \
        "$(get prosody flood_ping_ms_p50)" lower
    row "  ping p99 of another client, ms" "$(get taube flood_ping_ms_p99)" \
        "$(get prosody flood_ping_ms_p99)" lower
    row "  server / loadgen CPU %, flood" "$(cpu_pair taube flood)" "$(cpu_pair prosody flood)" ""
    row "  bounced (offline store refused)" "$(get taube flood_bounced)" \
        "$(get prosody flood_bounced)" lower
    echo
    echo "CPU % is of one core over the measured interval. A load generator near 100 % means the"
    echo "measured rate is the client's limit; \"per server CPU-second\" is the server's capacity."
    echo "Taube: SQLite store (data/taube.db), SCRAM-SHA-256, limits.read_rate/read_burst 1GiB,"
    echo "       max_connections 20000. Prosody: storage \"internal\" (flat files),"
    echo "       internal_hashed (SCRAM-SHA-1), mod_limits not loaded, epoll backend."
    targets
}

targets() {
    local kib logins lcap msgs mcap writes p99
    kib=$(per_conn taube "${CONNS##*,}")
    writes=$(get taube flood_writes_per_s)
    p99=$(get taube flood_ping_ms_p99)
    logins=$(get taube churn_logins_per_s)
    lcap=$(get taube churn_per_server_cpu_s)
    msgs=$(get taube msgs_per_s)
    mcap=$(get taube msgs_per_server_cpu_s)
    echo
    echo "Taube targets (one core): measured rate; in brackets, per server CPU-second"
    awk -v k="$kib" -v l="$logins" -v lc="$lcap" -v m="$msgs" -v mc="$mcap" -v w="$writes" \
        -v p="$p99" '
        function v(x, ok) { return x == "" ? "n/a" : (ok ? "met" : "MISSED") }
        BEGIN {
        printf "  < 32 KiB per idle authenticated TLS connection: %-6s %s\n", v(k, k + 0 < 32), k
        printf "  > 2,000 logins/s:                              %-6s %s (%s)\n", v(l, l + 0 > 2000), l, lc
        printf "  > 100,000 messages/s:                          %-6s %s (%s)\n", v(m, m + 0 > 100000), m, mc
        printf "  >= 20,000 offline writes/s in a flood:        %-6s %s\n", v(w, w + 0 >= 20000), w
        printf "  ping p99 <= 5 ms during that flood:           %-6s %s\n", v(p, p != "" && p + 0 <= 5), p
    }'
}

main() {
    [ -x "$LOADGEN" ] || { log "$LOADGEN missing: run make -C bench BUILD=$BUILD"; exit 1; }
    raise_fd_limit
    pin_cpus
    LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v l="$LOAD_BEFORE" 'BEGIN { exit !(l > 0.5) }'; then
        log "load average is $LOAD_BEFORE: other work on this machine will skew the figures"
    fi
    make_cert
    local status=0
    if [ "$ONLY" != prosody ]; then run_taube || { status=1; log "taube: no figures"; }; fi
    if [ "$ONLY" != taube ]; then run_prosody || { status=1; log "prosody: no figures"; }; fi
    report
    if [ "$ONLY" != prosody ] && [ -z "$(get taube churn_logins_per_s)" ]; then status=1; fi
    return $status
}

main
