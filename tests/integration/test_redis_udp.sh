#!/bin/bash
# The redis-udp module (src/apps/redis-udp, docs/kvs-udp.md) in the stock
# Debian redis-server: on fragnet's udp stack through the preload, on the
# kernel's UDP, and on a full stack beside Redis' own TCP clients.
#
#   root namespace (kernel)               fragnet topology fnt-redis-udp-CASE-PID
#
#   redis_udp_check.py, fragnet-kvload,   nic (tap, 1 queue) ── driver/0 ══ stack/0 ══ app/0
#   redis-benchmark (flood)               10.240.N.2/24 (udp, or full for     redis-server
#   [fnuPID] 10.240.N.1/24 ═══ tap ═══════   "flood")                         + redis-udp.so :6380
#
#   kernel case: the same redis-server and module in netns fnu-PID behind
#   veth fnuvPID, 10.240.N.2 on the kernel's UDP (redis_lib.sh's kernel
#   backend).
#
# One case per run (test_redis_udp.sh CASE):
#   udp     profile udp, --port 0: redis_udp_check.py commands (redis-
#           benchmark's set, exact replies), multi (several per datagram,
#           the max_cmds limit, too large replies), malformed (truncated,
#           huge lengths, garbage: dropped and counted, never a crash);
#           fragnet-kvload 3 s with no bad reply; redis-server kept its
#           pid, has the preload mapped and no kernel socket on the port
#   kernel  the same checks on the kernel's UDP (the reference)
#   flood   profile full, redis-server on TCP :6379 and UDP :6380: while
#           fragnet-kvload floods the UDP port open loop (and far past what
#           the server can take), redis-benchmark's TCP clients are served
#           to the end and PING answers within a second
set -euo pipefail
. "$(dirname "$0")/lib.sh"

CASE=${1:?usage: test_redis_udp.sh CASE}
UDP_PORT=6380
case "$CASE" in
kernel) FN_REDIS_BACKEND=kernel ;;
udp | flood) FN_REDIS_BACKEND=fragnet ;;
*) echo "test_redis_udp.sh: unknown case $CASE" >&2; exit 2 ;;
esac

: "${FN_REDIS_UDP:?}" "${FN_KVLOAD:?}" "${FN_STACK_UDP:?}"
redis_init "udp-$CASE"
[[ -f $FN_REDIS_UDP ]] || fn_skip "redis-udp.so is not built (scripts/setup fetches redis' source)"
fn_bin MODULE "$FN_REDIS_UDP" redis-udp.so
chmod 755 "$MODULE"
fn_bin KVLOAD "$FN_KVLOAD" fragnet-kvload
CHECK="$FN_HERE/redis_udp_check.py"

# The redis-server arguments: TCP port $1 (0: none), the module. Redis
# refuses to start with no listener at all ("Configured to not listen
# anywhere"), so with --port 0 it keeps a unix socket, in its data dir.
udp_args() {
	local dir="$T/data0"
	[[ -d $dir ]] || install -d -o "$APP_USER" -m 0700 "$dir"
	echo "--port $1 --bind $STACK_IP --protected-mode no"
	echo "--unixsocket $dir/redis.sock --unixsocketperm 700"
	echo "--save \"\" --appendonly no --dir $dir --dbfilename dump.rdb"
	echo "--daemonize no --logfile \"\""
	echo "--loadmodule $MODULE port $UDP_PORT bind $STACK_IP"
}

ucheck() {
	timeout 300 python3 "$CHECK" --host "$STACK_IP" --port "$UDP_PORT" \
		--bind "$KERNEL_IP" "$@"
}

udp_pings() { ucheck --timeout 0.3 stats >/dev/null 2>&1; }

# udp_up PROFILE TCPPORT: the server, until its UDP port answers.
udp_up() {
	if [[ $FN_REDIS_BACKEND == kernel ]]; then
		redis_up_kernel "$(udp_args "$2")"
	else
		local stack=${STACK:?}
		[[ $1 == udp ]] && fn_bin stack "$FN_STACK_UDP" fragnet-stack-udp
		tap_topology pipelines=1 stack.profile="$1" stack.exec="$stack" \
			app.exec="$REDIS" app.user="$APP_USER" app.preload=yes \
			"pipeline 0.app_args=$(udp_args "$2" | sed '2,$s/^/  /')"
		fn_up
		wait_tap_up
		wait_running
	fi
	wait_for 30 udp_pings || fail_stats "the module does not answer on udp $UDP_PORT"
}

server_pid() {
	if [[ $FN_REDIS_BACKEND == fragnet ]]; then
		status_field app 0 3
	else
		echo "$KPID"
	fi
}

kvload() {
	timeout 60 "$KVLOAD" --server "$STACK_IP:$UDP_PORT" "$@"
}

kv_field() {	# kv_field LINE KEY
	tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'
}

# ---- udp, kernel ---------------------------------------------------------

case_checks() {
	local pid out
	pid=$(server_pid)
	ucheck commands || fail_stats "commands"
	ucheck multi || fail_stats "several commands per datagram"
	ucheck malformed || fail_stats "malformed datagrams"
	out=$(kvload --flows 4 --window 4 --duration 3 --warmup 0.5 \
		--pipeline 4 --timeout-ms 500)
	fn_log "$out"
	[[ $(kv_field "$out" bad_replies) == 0 && $(kv_field "$out" errors) == 0 ]] ||
		fail_stats "fragnet-kvload saw bad replies or errors"
	(( $(kv_field "$out" ops) > 1000 )) || fail_stats "fragnet-kvload: too few replies"
	[[ $(server_pid) == "$pid" ]] || fail_stats "redis-server was restarted"
	kill -0 "$pid" || fail_stats "redis-server died"
	fn_log "$(ucheck stats)"
	if [[ $FN_REDIS_BACKEND == fragnet ]]; then
		grep -q 'libfragnet-preload\.so' "/proc/$pid/maps" ||
			fail_stats "the app has no libfragnet-preload.so mapped"
		! ss -Huanp "sport = :$UDP_PORT" | grep -q "pid=$pid," ||
			fail_stats "the app holds a kernel UDP socket on $UDP_PORT"
	fi
}

# ---- flood -----------------------------------------------------------------

flood_ping() {
	local t0=$SECONDS
	[[ $(timeout 5 redis-cli -h "$STACK_IP" -p 6379 PING 2>/dev/null) == PONG ]] &&
		((SECONDS - t0 <= 1))
}

case_flood() {
	local lp out csv="$T/bench.csv" rc=0
	# Open loop far past the server: 200,000 datagrams/s of 8 commands,
	# until the TCP checks are done (SIGTERM: kvload reports and exits).
	"$KVLOAD" --server "$STACK_IP:$UDP_PORT" --flows 8 --rate 200000 \
		--pipeline 8 --duration 600 --warmup 0 > "$T/flood.out" 2>&1 &
	lp=$!
	LOAD_PIDS+=("$lp")
	sleep 2
	flood_ping || fail_stats "PING over TCP during the flood"
	timeout 150 redis-benchmark -h "$STACK_IP" -p 6379 --csv \
		-t ping,set,get,incr,lpush -n 5000 -c 10 > "$csv" 2> "$T/bench.err" ||
		rc=$?
	[[ $rc -eq 0 ]] || fail_stats "redis-benchmark over TCP during the flood exited $rc: $(tail -n 3 "$T/bench.err")"
	kill -0 "$lp" 2>/dev/null || fail_stats "the flood ended before the TCP clients"
	check_csv "$csv" 6 || fail_stats "redis-benchmark results"
	flood_ping || fail_stats "PING over TCP during the flood"
	kill -TERM "$lp"
	wait "$lp" || fail_stats "fragnet-kvload (the flood) failed"
	out=$(cat "$T/flood.out")
	fn_log "$out"
	(( $(kv_field "$out" ops) > 0 )) || fail_stats "the flood got no replies at all"
	wait_for 10 udp_pings || fail_stats "udp after the flood"
}

case "$CASE" in
udp) udp_up udp 0; case_checks ;;
kernel) udp_up kernel 0; case_checks ;;
flood) udp_up full 6379; case_flood ;;
esac
echo "ok: redis-udp $CASE"
