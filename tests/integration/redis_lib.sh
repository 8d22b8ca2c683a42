# redis_lib.sh - the Redis tests (test_redis.sh, test_nft_reload.sh): the
# stock redis-server behind libfragnet-preload.so (sourced by lib.sh;
# builds on it and nic_lib.sh).
#
# Environment (set by meson, see meson.build), besides theirs:
#   FN_STACK          the built fragnet-stack (full profile)
#   FN_PRELOAD        the built libfragnet-preload.so; without it the
#                     fragnet backend skips
#   FN_REDIS_BACKEND  fragnet (default): stock redis-server as the app of a
#                     tap topology, its sockets on fragnet-stack through the
#                     preload.  kernel: the same redis-server in a network
#                     namespace behind a veth pair, on the kernel's TCP; the
#                     checks that need fragnet skip.  The kernel backend is
#                     the reference the checks were written against, and
#                     tells a bug in a test from a bug in fragnet.
#
# Both backends put the server at $STACK_IP:6379 and the clients (the
# Debian redis-cli and redis-benchmark, redis_check.py) at $KERNEL_IP, a
# free 10.240.N.0/24 (lib.sh fn_net).  The server runs as the unprivileged
# user fragnet-app (scripts/setup creates it; nobody if it is missing) with
# a data directory of its own under the test's private dir, persistence
# off.

REDIS_PORT=6379
REDIS_CHECK="$FN_HERE/redis_check.py"
FN_REDIS_BACKEND=${FN_REDIS_BACKEND:-fragnet}
RCLI_BOUND=30	# seconds one redis-cli may take

# redis_init TESTNAME [A.B [LOW]]: nic_init (fragnet) or fn_init (kernel),
# a free A.B.N.0/24 (default 10.240, N >= LOW, fn_net), the binaries in the
# private bin dir, the app user.
redis_init() {
	local n
	case "$FN_REDIS_BACKEND" in
	fragnet)
		nic_init "redis-$1" "fnr$$"
		: "${FN_STACK:?}" "${FN_PRELOAD:?}"
		[[ -f $FN_PRELOAD ]] ||
			fn_skip "libfragnet-preload.so is not built ($FN_PRELOAD)"
		fn_bin STACK "$FN_STACK" fragnet-stack
		;;
	kernel)
		fn_init "redis-$1"
		NS=fnr-$$
		VETH=fnrv$$
		KPID=
		FN_SHOW_ON_FAIL+=("$T/redis-kernel.log")
		;;
	*)
		echo "FN_REDIS_BACKEND: fragnet or kernel, not '$FN_REDIS_BACKEND'" >&2
		exit 2 ;;
	esac
	for n in redis-server redis-cli redis-benchmark; do
		command -v "$n" >/dev/null || fn_skip "no $n (apt-get install redis-server redis-tools)"
	done
	# The stock binary, byte for byte; copied so that lib.sh finds every
	# process of this test by its exact path.
	cp "$(readlink -f "$(command -v redis-server)")" "$T/bin/redis-server"
	REDIS="$T/bin/redis-server"
	APP_USER=fragnet-app
	getent passwd "$APP_USER" >/dev/null || APP_USER=nobody
	fn_net "${2:-10.240}" "${3:-16}"
}

redis_need_fragnet() {
	[[ $FN_REDIS_BACKEND == fragnet ]] ||
		fn_skip "$* needs the fragnet backend"
}

# The redis-server arguments of pipeline P: persistence off, a data dir
# the app user owns, room for 4,000 clients, logs on stdout.
redis_args() {
	local dir="$T/data$1"

	[[ -d $dir ]] || install -d -o "$APP_USER" -m 0700 "$dir"
	echo "--port $REDIS_PORT --bind $STACK_IP --protected-mode no"
	echo "--save \"\" --appendonly no --dir $dir --dbfilename dump.rdb"
	echo "--maxclients 4000 --daemonize no --logfile \"\""
}

# redis_up PIPELINES [STACK_KEY=VALUE...]: bring the server up and wait
# until it answers PING.  Extra [stack] keys go into the topology.
redis_up() {
	local pipes=$1
	shift
	case "$FN_REDIS_BACKEND" in
	fragnet) redis_up_fragnet "$pipes" "$@" ;;
	kernel) redis_up_kernel ;;
	esac
	wait_for 30 redis_pings || fail_stats "the server does not answer PING"
}

# The tap topology (tap_topology), PIPELINES pipelines of redis-server.
redis_up_fragnet() {
	local pipes=$1 kv p kvs
	shift
	kvs=(pipelines="$pipes" restart.backoff_ms=100
	      restart.backoff_max_ms=1000 stack.profile=full
	      app.exec="$REDIS" app.user="$APP_USER" app.preload=yes)
	for kv in "$@"; do kvs+=("stack.$kv"); done
	for ((p = 0; p < pipes; p++)); do
		kvs+=("pipeline $p.app_args=$(redis_args "$p" | sed '2,$s/^/  /')")
	done
	tap_topology "${kvs[@]}"
	fn_up
	wait_tap_up
	wait_running
}

# The kernel backend: one redis-server in netns $NS behind veth $VETH.
# ARGS: its arguments, one or more a line (default: redis_args 0).
redis_up_kernel() {
	local args=${1:-$(redis_args 0)}
	fn_netns "$NS" || fn_fail "cannot create namespace $NS"
	ip link add "$VETH" type veth peer name "${VETH}p"
	fn_defer ip link del "$VETH"
	ip link set "${VETH}p" netns "$NS"
	ip addr add "$KERNEL_IP/24" dev "$VETH"
	ip link set "$VETH" up
	ip -n "$NS" addr add "$STACK_IP/24" dev "${VETH}p"
	ip -n "$NS" link set "${VETH}p" up
	ip -n "$NS" link set lo up
	args=$(tr '\n' ' ' <<<"$args")
	eval "set -- $args"
	ip netns exec "$NS" setpriv --reuid="$APP_USER" --regid="$APP_USER" \
		--init-groups "$REDIS" "$@" > "$T/redis-kernel.log" 2>&1 &
	disown
	KPID=$!
}

# rcli ARGS...: the Debian redis-cli against the server, bounded.
rcli() {
	timeout "$RCLI_BOUND" redis-cli -h "$STACK_IP" -p "$REDIS_PORT" "$@"
}

redis_pings() {
	[[ $(rcli PING 2>/dev/null) == PONG ]]
}

# rcheck CHECK ARGS...: redis_check.py against the server, bounded.
rcheck() {
	timeout 200 python3 "$REDIS_CHECK" --host "$STACK_IP" \
		--port "$REDIS_PORT" --bind "$KERNEL_IP" "$@"
}

# rcheck_exec CHECK ARGS...: the same in place of this shell, unbounded,
# for a coproc that the caller kills -9 (its pid is python's).
rcheck_exec() {
	exec python3 "$REDIS_CHECK" --host "$STACK_IP" --port "$REDIS_PORT" \
		--bind "$KERNEL_IP" "$@"
}

# hold_start CONNS: redis_check.py hold CONNS as the coproc HOLD, its pid
# in hold (a load generator: killed at teardown); hold_ready WHAT: it
# said "ready" (every connection answered PING), else fail with WHAT;
# hold_end: kill it -9, its connections closed by the kernel.
hold_start() {
	coproc HOLD { rcheck_exec hold "$1"; }
	hold=$HOLD_PID
	LOAD_PIDS+=("$hold")
}

hold_ready() {
	local line
	read -r -t 120 -u "${HOLD[0]}" line || fail_stats "$1: not ready"
	[[ $line == ready ]] || fail_stats "$1: '$line'"
}

hold_end() {
	kill -KILL "$hold"
	wait "$hold" 2>/dev/null || true
	LOAD_PIDS=()
}

# rbench OUT ARGS...: redis-benchmark with --csv into OUT; fails if the
# benchmark failed (any error reply or broken connection makes it exit 1)
# or did not finish in time.
rbench() {
	local out=$1 rc=0
	shift
	timeout 500 redis-benchmark -h "$STACK_IP" -p "$REDIS_PORT" --csv "$@" \
		> "$out" 2> "$out.err" || rc=$?
	[[ $rc -eq 0 ]] || fn_log "redis-benchmark $* exited $rc: $(tail -n 5 "$out.err")"
	return "$rc"
}

# check_csv OUT NTESTS: the --csv output of redis-benchmark has exactly
# NTESTS result rows, each with a positive rps and sane latencies.
check_csv() {
	python3 - "$1" "$2" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
want = int(sys.argv[2])
head = ["test", "rps", "avg_latency_ms", "min_latency_ms", "p50_latency_ms",
        "p95_latency_ms", "p99_latency_ms", "max_latency_ms"]
if not rows or rows[0] != head:
    sys.exit("no CSV header: %r" % rows[:1])
res = rows[1:]
for r in res:
    print("# %-36s %12s rps  p50 %s ms  p99 %s ms" % (r[0], r[1], r[4], r[6]),
          file=sys.stderr)
if len(res) != want:
    sys.exit("%d result rows, want %d" % (len(res), want))
for r in res:
    v = [float(x) for x in r[1:]]
    if v[0] <= 0 or min(v[1:]) < 0 or not v[3] <= v[5] <= v[6]:
        sys.exit("bad row %r" % r)
PY
}

# info_field SECTION FIELD: one field of INFO.
info_field() {
	rcli INFO "$1" | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'
}

# The pid of the redis-server: the app of pipeline P (fragnet), or the
# kernel backend's.
redis_pid() {
	if [[ $FN_REDIS_BACKEND == fragnet ]]; then
		status_field app "${1:-0}" 3
	else
		echo "$KPID"
	fi
}
