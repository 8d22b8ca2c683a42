# lib.sh - the one library of the integration tests.  Every test_*.sh
# sources it, and only it, after `set -euo pipefail`; it sources the topic
# libraries, which build on it:
#
#   lib.sh          start and teardown, topology files, `fragnet status` and
#                   `fragnet stats --json` (the one reader of each), subnets,
#                   `fragnet nft`, the end of a topology
#   nic_lib.sh      the tap NIC: nic_init, tap_topology, ICMP ping, ...
#   sock_lib.sh     native socket apps behind the NIC, kernel side in a netns
#   redis_lib.sh    redis-server behind the preload (or the kernel's TCP)
#   vsw_lib.sh      internal networks: stacks joined by a fragnet-vswitch
#
# One definition per helper: before writing a second copy in a test, look
# here (`grep -n '^[a-z_0-9]*()' tests/integration/*.sh`).
#
# Environment (set by meson, see meson.build), for fn_init:
#   FRAGNET        the built fragnet binary
#   FN_TEST_ECHO   the built fn-test-echo
#   FN_TEST_CRASH  the built fn-test-crash
# and for fn_net: FN_TEST_NET_MIN / FN_TEST_NET_MAX, the third octets this
# run may use (workers sharing a machine each keep to their own).
#
# Each test gets a private directory T, removed on exit, with its own copies
# of the programs it runs (fn_bin), so that "no process of this test is
# left" can be checked by exact path while other tests run in parallel, and
# a unique topology name (fnt-<test>-<pid>), so that run directories and
# logs never collide.  fn_init (or fn_tmpdir) installs a trap that tears
# everything down on any exit: load generators, supervisor, components,
# then what the test deferred (fn_defer: namespaces, taps, ...).

# Every `timeout` of a test stays in the test's process group
# (--foreground), so that meson, which kills that group when a test
# overruns, kills the commands under timeout too: without it each timeout
# makes a group of its own and its command outlives the test.
timeout() { command timeout --foreground "$@"; }

FN_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FN_ROOT=$(cd "$FN_HERE/../.." && pwd)
FN_BOUND=${FN_BOUND:-30}	# seconds any one fragnet call may take
LOAD_PIDS=()		# background clients, killed -9 first at teardown
FN_DEFERRED=()		# fn_defer: commands run at teardown, last first
FN_SHOW_ON_FAIL=()	# files whose tail a failed test shows (besides $LOG)
KX=()			# the prefix that runs a command on the tap's kernel
			# side: empty, or ip netns exec NS (sock_netns)

# ---- start and end -----------------------------------------------------

fn_log() { printf '# %s\n' "$*" >&2; }

fn_fail() {
	printf 'FAIL: %s\n' "$*" >&2
	FN_FAILED=1
	exit 1
}

fn_skip() {
	echo "SKIP: $*" >&2
	exit 77
}

fn_need_root() {
	[[ $(id -u) -eq 0 ]] || fn_skip "needs root"
}

# fn_tmpdir TESTNAME: the private dir T, and the trap that tears down.
fn_tmpdir() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/fnt-$1.XXXXXX")
	FN_FAILED=0
	trap fn_teardown EXIT
}

# fn_bin VAR PATH [NAME]: copy PATH into $T/bin (as NAME, else under its
# own name) and set VAR to the copy.
fn_bin() {
	local dst="$T/bin/${3:-$(basename "$2")}"
	cp "$2" "$dst"
	printf -v "$1" '%s' "$dst"
}

# fn_init TESTNAME: skip unless root; NAME, RUN_DIR, LOG and CONF of the
# topology; T with copies of the test components (ECHO, CRASH).
fn_init() {
	fn_need_root
	: "${FRAGNET:?}" "${FN_TEST_ECHO:?}" "${FN_TEST_CRASH:?}"
	NAME="fnt-$1-$$"
	RUN_DIR="/run/fragnet/$NAME"
	LOG="/var/log/fragnet/$NAME.log"
	fn_tmpdir "$1"
	# An app may run as an unprivileged user: it must reach its binary.
	chmod 755 "$T"
	mkdir "$T/bin"
	fn_bin ECHO "$FN_TEST_ECHO" fn-test-echo
	fn_bin CRASH "$FN_TEST_CRASH" fn-test-crash
	CONF="$T/$NAME.conf"
}

# fn_defer CMD [ARG...]: run CMD at teardown, once every process of the
# test is gone (last deferred, first run; stderr discarded; the same
# command deferred twice runs once).
fn_defer() {
	local cmd c
	cmd=$(printf '%q ' "$@")
	for c in "${FN_DEFERRED[@]}"; do
		[[ $c == "$cmd" ]] && return 0
	done
	FN_DEFERRED=("$cmd" "${FN_DEFERRED[@]}")
}

# The EXIT trap: show the logs of a failure, kill the load generators, stop
# the supervisor (its components die with it: PR_SET_PDEATHSIG), kill any
# stray process of ours by exact path, run what was deferred, remove the
# run dir, the log and T (kept with FN_KEEP_T=1).
fn_teardown() {
	local rc=$? pid f
	set +e
	# Load generators first, each with its process group: `timeout CMD`
	# makes a group of its own, so killing timeout alone would leave CMD
	# sending to an address whose tap is about to go (and then out by the
	# default route).  A plain background job leads no group: the first
	# kill finds none.
	for pid in "${LOAD_PIDS[@]}"; do
		kill -KILL -- "-$pid" 2>/dev/null
		kill -KILL "$pid" 2>/dev/null
	done
	if [[ $rc -ne 0 || ${FN_FAILED:-0} -ne 0 ]]; then
		if [[ -f ${LOG:-} ]]; then
			echo "--- $LOG ---" >&2
			tail -n 60 "$LOG" >&2
		fi
		for f in "${FN_SHOW_ON_FAIL[@]}"; do
			[[ -f $f ]] || continue
			echo "--- $f ---" >&2
			tail -n 200 "$f" >&2
		done
	fi
	pid=$(cat "${RUN_DIR:-/nonexistent}/supervisor.pid" 2>/dev/null)
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	[[ -n ${FG_PID:-} ]] && kill -KILL "$FG_PID" 2>/dev/null
	for pid in $(test_procs); do kill -KILL "$pid"; done
	for _ in $(seq 50); do
		[[ -z $(test_procs) ]] && break
		sleep 0.1
	done
	for f in "${FN_DEFERRED[@]}"; do eval "$f" 2>/dev/null; done
	[[ -n ${RUN_DIR:-} ]] && rm -rf "$RUN_DIR"
	[[ -n ${LOG:-} ]] && rm -f "$LOG"
	if [[ -n ${FN_KEEP_T:-} ]]; then
		echo "# kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}

# fn_netns NS: a network namespace of the test's own, deleted at teardown.
# Returns non-zero when none can be made (the caller skips or fails).
fn_netns() {
	ip netns add "$1" || return 1
	fn_defer ip netns del "$1"
}

# netns_bare NS: IPv6 and reverse-path filtering off, lo up (the kernel
# references of the nft tests see only the frames they are sent).
netns_bare() {
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 \
		net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0
	ip -n "$1" link set lo up
}

fn() { timeout "$FN_BOUND" "$FRAGNET" "$@"; }

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# ---- topology files ------------------------------------------------------

# fn_conf < body: write $CONF, a topology named $NAME, with body after its
# [topology] name line (so the body may continue [topology]).
fn_conf() {
	{
		printf '[topology]\nname = %s\n' "$NAME"
		cat
	} > "$CONF"
}

# conf_write [SECTION.]KEY=VALUE...: write $CONF (fn_conf) from keys.  A
# plain KEY goes into [topology], SECTION.KEY into [SECTION] ("pipeline
# 0.stack_cpu=1" too).  Sections come in the order topology, restart,
# link, nic, driver, stack, app, then [pipeline N] as first named; keys in
# the order first named.  A later KEY=VALUE replaces the value of an
# earlier one, an empty VALUE drops the key, and a section without keys is
# not written.  A VALUE with newlines continues on the next lines (indent
# them).
conf_write() {
	local -A val=() seen=()
	local -a knames=() secs=(topology restart link nic driver stack app)
	local kv k s body
	for s in "${secs[@]}"; do seen[$s]=1; done
	for kv in "$@"; do
		k=${kv%%=*}
		[[ $k == *.* ]] || k=topology.$k
		[[ -n ${val[$k]+set} ]] || knames+=("$k")
		val[$k]=${kv#*=}
		s=${k%%.*}
		[[ -n ${seen[$s]+set} ]] || { seen[$s]=1; secs+=("$s"); }
	done
	for s in "${secs[@]}"; do
		body=
		for k in "${knames[@]}"; do
			[[ ${k%%.*} == "$s" && -n ${val[$k]} ]] || continue
			body+="${k#*.} = ${val[$k]}"$'\n'
		done
		[[ -n $body ]] || continue
		[[ $s == topology ]] || printf '[%s]\n' "$s"
		printf '%s' "$body"
	done | fn_conf
}

# echo_topology [KEY=VALUE...]: the echo topology (conf_write): fn-test-echo
# as driver, stack (10.77.0.2/24) and app of each of 1 pipeline, event
# polling, no nic and no preload.  KEY=VALUEs add and override:
# "nic.exec=$ECHO" adds a nic, "driver.args=--generate" makes the drivers
# generate, "stack.exec=$CRASH" replaces the stacks, "app.exec=" drops the
# apps, "pipeline 0.stack_cpu=1" adds a section.
echo_topology() {
	conf_write pipelines=1 poll=event driver.exec="$ECHO" \
		stack.exec="$ECHO" stack.address=10.77.0.2/24 \
		app.exec="$ECHO" app.preload=no "$@"
}

# ---- fragnet up, status ------------------------------------------------

# fn_up: fragnet up -d of $CONF.
fn_up() {
	fn up "$CONF" -d >&2 || fn_fail "up -d failed"
}

# status_rows: the component rows of `fragnet status`, one a line:
# COMPONENT PIPELINE PID CPU STATE RESTARTS UPTIME NETWORKS ADDRESS MAC,
# "-" for what a component has not (the only reader of that format: a
# title line, a blank line and a header come first).
status_rows() {
	fn status "$NAME" | awk 'NR > 3 && NF >= 7'
}

# status_field ROLE PIPELINE COLUMN (1 component, 2 pipeline, 3 pid,
# 4 cpu, 5 state, 6 restarts, 7 uptime, 8 networks, 9 a stack's uplink
# address, 10 its MAC).  A vswitch's
# PIPELINE is "-": status_field vswitch - 3 (one network), or
# vswitch_field NETWORK COLUMN.
status_field() {
	status_rows | awk -v r="$1" -v p="$2" -v c="$3" \
		'$1 == r && $2 == p { print $c }'
}

# vswitch_field NETWORK COLUMN: status_field of the switch of NETWORK.
vswitch_field() {
	status_rows | awk -v n="$1" -v c="$2" \
		'$1 == "vswitch" && $8 == n { print $c }'
}

# Every component row of `status` is in state $1 with a numeric pid.
all_in_state() {
	status_rows | awk -v s="$1" '
		{ n++; if ($5 != s || $3 !~ /^[0-9]+$/) bad++ }
		END { exit !(n > 0 && bad == 0) }'
}

# wait_running [SECONDS]: every component is running (30 s at most).
wait_running() {
	wait_for "${1:-30}" all_in_state running ||
		fn_fail "not all running: $(fn status "$NAME")"
}

# The pids of the components in `status`.
status_pids() {
	status_rows | awk '$3 ~ /^[0-9]+$/ { print $3 }'
}

# restarted ROLE PIPELINE OLDPID...: each named component runs again, under
# a pid other than OLDPID (after a kill -9: wait_for N restarted ...).
restarted() {
	local p
	while (($# >= 3)); do
		p=$(status_field "$1" "$2" 3)
		[[ $p =~ ^[0-9]+$ && $p != "$3" ]] || return 1
		shift 3
	done
}

# ---- fragnet stats -------------------------------------------------------

# stats_json FILE: the supervisor's JSON stats into FILE.
stats_json() {
	fn stats --json "$NAME" > "$1"
}

# stats_py [ARG...] < PYTHON: run PYTHON with sys.argv[1:] = ARGs and the
# readers of `fragnet stats --json` files (stats_json) below, the only
# parser of that format: stats(FILE), the whole document;
# components(FILE), label -> component; counters(FILE), label -> counters.
stats_py() {
	python3 -c 'import json, sys
def stats(path):
    with open(path) as f:
        return json.load(f)
def components(path):
    return {c["label"]: c for c in stats(path)["components"]}
def counters(path):
    return {l: c["counters"] for l, c in components(path).items()}
exec(compile(sys.stdin.read(), "<stdin>", "exec"))' "$@"
}

# counter_of FILE LABEL NAME: one counter of one component from a stats
# file; -1 when the component or the counter is missing.
counter_of() {
	stats_py "$@" <<'PY'
c = counters(sys.argv[1]).get(sys.argv[2])
print(c.get(sys.argv[3], -1) if c is not None else -1)
PY
}

# stats_flat FILE: every counter of a stats file, one "LABEL NAME VALUE"
# line each (for many look-ups in one snapshot).
stats_flat() {
	stats_py "$1" <<'PY'
for l, c in counters(sys.argv[1]).items():
    for k, v in c.items():
        print(l, k, v)
PY
}

# counter LABEL NAME: the live value.
counter() {
	local f="$T/stats.now.json"
	stats_json "$f" && counter_of "$f" "$1" "$2"
}

# fail_stats MSG: fail, after every non-zero counter (text stats) of a
# topology that still runs.
fail_stats() {
	if [[ -S ${RUN_DIR:-/nonexistent}/supervisor.sock ]]; then
		fn stats "$NAME" 2>/dev/null | awk 'NF < 2 || $NF != "0"' >&2 || true
	fi
	fn_fail "$*"
}

# ---- subnets, the kernel side ------------------------------------------

# fn_pick_net A.B [LOW]: a third octet N (LOW, default 16, to 250) such
# that no interface address or route uses A.B.N.0/24 yet (another subnet
# with the same numbers would take the kernel's traffic); starts from the
# pid, so that parallel tests spread out.  FN_TEST_NET_MIN / _MAX narrow
# the range.
fn_pick_net() {
	local n esc=${1//./\\.} lo=${2:-16} hi=${FN_TEST_NET_MAX:-250}
	(( lo >= ${FN_TEST_NET_MIN:-0} )) || lo=$FN_TEST_NET_MIN
	# A LOW above a configured range: the range wins (it is the caller's
	# share of the subnets on a shared machine).
	(( hi >= lo )) || [[ -z ${FN_TEST_NET_MIN:-} ]] || lo=$FN_TEST_NET_MIN
	(( hi >= lo )) || return 1
	for n in $(seq $((lo + $$ % (hi + 1 - lo))) "$hi") $(seq "$lo" "$hi"); do
		ip -4 -o addr show | grep -q " $esc\.$n\." && continue
		[[ -z $(ip -4 route show "$1.$n.0/24") ]] || continue
		echo "$n"
		return 0
	done
	return 1
}

# fn_net A.B [LOW]: a free A.B.N.0/24 (fn_pick_net; SKIP without one):
# sets NET (that N), STACK_IP (.2, the stacks), KERNEL_IP (.1, the
# kernel's side) and MAC (02:00:A:B:N:02 in hex: unicast, locally
# administered).
fn_net() {
	local try
	# A guard route: while no tap owns the subnet (before it is up, after
	# it went, or when a leftover client outlives the test) the host
	# refuses to send there instead of using its default route.  The
	# tap's own route (metric 0) wins while it is up.  Adding it also
	# claims the subnet: a test that picked the same one at the same time
	# fails to add it and picks again.
	for try in 1 2 3 4 5; do
		NET=$(fn_pick_net "$@") || fn_skip "no free $1.N.0/24 subnet"
		ip route add unreachable "$1.$NET.0/24" metric 4000 2>/dev/null &&
			break
		NET=
	done
	[[ -n $NET ]] || fn_fail "could not claim a $1.N.0/24 subnet"
	fn_defer ip route del unreachable "$1.$NET.0/24" metric 4000
	STACK_IP=$1.$NET.2
	KERNEL_IP=$1.$NET.1
	MAC=02:00:$(printf '%02x:%02x:%02x' ${1//./ } "$NET"):02
}

# kx CMD...: run CMD on the tap's kernel side ("${KX[@]}": in the
# namespace of sock_netns, else here).  In the background use
# "${KX[@]}" CMD... & instead, so that $! is CMD's own pid.
kx() { "${KX[@]}" "$@"; }

# established PORT: kernel TCP connections from the kernel side
# established to $STACK_IP:PORT.
established() {
	kx ss -Htn state established "dst $STACK_IP:$1" 2>/dev/null | wc -l
}

# none_established PORT: ... and none is left.
none_established() { (( $(established "$1") == 0 )); }

# preload_peer KERNEL_IP STACK_IP: preload_peer.py, the kernel-side peers
# of preload-check, in the background (stdout $T/peer.out, stderr
# $T/peer.err), once it says it is ready (10 s at most).
preload_peer() {
	python3 "$FN_HERE/preload_peer.py" --kernel "$1" --stack "$2" \
		> "$T/peer.out" 2> "$T/peer.err" &
	LOAD_PIDS+=($!)
	peer_ready() {
		grep -q '^ready' "$T/peer.err" && return 0
		kill -0 "${LOAD_PIDS[-1]}" 2>/dev/null ||
			fn_fail "the peer did not start: $(cat "$T/peer.err")"
		return 1
	}
	wait_for 10 peer_ready ||
		fn_fail "the peer is not ready: $(cat "$T/peer.err")"
}

# ---- fragnet nft ---------------------------------------------------------

nft0() { fn nft -T "$NAME" 0 "$@"; }

# nft0_script: the path of an executable that runs nft0 with its
# arguments, for programs that take a command rather than a function.
nft0_script() {
	if [[ ! -x $T/snft ]]; then
		printf '#!/bin/sh\nexec timeout %s %s nft -T %s 0 "$@"\n' \
			"$FN_BOUND" "$FRAGNET" "$NAME" > "$T/snft"
		chmod 755 "$T/snft"
	fi
	echo "$T/snft"
}

# fn_nft_stack_up [KEY=VALUE...]: up, the nft topology (echo_topology with
# one fragnet-stack, a copy of $FN_STACK at $STACK_IP/24, no NIC:
# fn-test-echo is its driver; an idle app as nobody), once `fragnet nft`
# reaches it.  KEY=VALUEs add and override.  Sets CTL, its control
# socket.  After fn_init and fn_net.
fn_nft_stack_up() {
	local stack
	fn_bin stack "$FN_STACK"
	echo_topology poll=adaptive log_level=info link.slots=256 \
		link.slot_size=2048 stack.exec="$stack" \
		stack.address="$STACK_IP/24" app.exec=/bin/sleep app.args=600 \
		app.user=nobody "$@"
	fn up "$CONF" -d >/dev/null || fn_fail "fragnet up"
	CTL="$RUN_DIR/stack0.ctl"
	ctl_ready() { [[ -S $CTL ]] && nft0 list ruleset >/dev/null 2>&1; }
	wait_for 20 ctl_ready || fn_fail "stack 0 control socket not ready"
}

# ---- processes, cpus -------------------------------------------------------

# Cpus_allowed_list of a process.
cpus_of() {
	awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$1/status"
}

# "0-2,5" -> "0 1 2 5"
expand_cpus() {
	local part cpus=() a b i
	IFS=, read -ra parts <<< "$1"
	for part in "${parts[@]}"; do
		a=${part%-*}
		b=${part#*-}
		for ((i = a; i <= b; i++)); do cpus+=("$i"); done
	done
	echo "${cpus[@]}"
}

# Pids of the live processes running this test's copies of programs (by
# /proc/PID/exe: a component's argv[0] is only the basename).
test_procs() {
	local e x
	for e in /proc/[0-9]*/exe; do
		x=$(readlink "$e" 2>/dev/null) || continue
		[[ $x == "$T/bin/"* ]] || continue
		e=${e#/proc/}
		echo "${e%/exe}"
	done
}

# proc_confinement PID: what process PID holds besides its fds, as the
# kernel shows it: "UID CAPEFF CAPBND NONEWPRIVS SECCOMP NET MNT", UID
# the one of all four ("mixed:REAL" when they differ), NET and MNT "host"
# for the namespaces of this script (the host's) or "own:ns:[N]".
proc_confinement() {
	local uid eff bnd nnp sc net mnt
	read -r uid eff bnd nnp sc < <(awk '
		$1 == "Uid:" { u = ($2 == $3 && $3 == $4 && $4 == $5) ? $2 : "mixed:" $2 }
		$1 == "CapEff:" { e = $2 } $1 == "CapBnd:" { b = $2 }
		$1 == "NoNewPrivs:" { n = $2 } $1 == "Seccomp:" { s = $2 }
		END { print u, e, b, n, s }' "/proc/$1/status")
	net=$(readlink "/proc/$1/ns/net")
	mnt=$(readlink "/proc/$1/ns/mnt")
	[[ $net == "$(readlink /proc/$$/ns/net)" ]] && net=host || net="own:$net"
	[[ $mnt == "$(readlink /proc/$$/ns/mnt)" ]] && mnt=host || mnt="own:$mnt"
	echo "$uid $eff $bnd $nnp $sc $net $mnt"
}

# app_is_preloaded P PORT: the app of pipeline P runs as $APP_USER with
# libfragnet-preload.so mapped, and holds no kernel listener on PORT.
app_is_preloaded() {
	local pid
	pid=$(status_field app "$1" 3)
	[[ $(stat -c %U "/proc/$pid") == "$APP_USER" ]] ||
		fail_stats "app/$1 runs as $(stat -c %U "/proc/$pid"), not $APP_USER"
	grep -q 'libfragnet-preload\.so' "/proc/$pid/maps" ||
		fail_stats "app/$1 has no libfragnet-preload.so mapped"
	[[ -z $(ss -Htlnp "sport = :$2" | grep "pid=$pid,") ]] ||
		fail_stats "app/$1 listens on a kernel socket"
}

# free_port: a TCP port on which nothing listens, from 20000..29999
# (below the ephemeral range, so that no outgoing connection takes it
# meanwhile), starting from the pid so that parallel tests spread out.
free_port() {
	local p i
	for ((i = 0; i < 10000; i++)); do
		p=$((20000 + ($$ + i) % 10000))
		[[ -z $(ss -Htan "sport = :$p") ]] && { echo "$p"; return 0; }
	done
	return 1
}

# ---- the end of a topology -------------------------------------------------

# Everything of the topology is gone: supervisor pid $1, run dir, socket,
# log says stopped, no component process, no memfd holder of ours.
assert_all_gone() {
	local sup=$1 p exe
	gone() { ! kill -0 "$sup" 2>/dev/null; }
	wait_for 10 gone || fn_fail "supervisor $sup still alive"
	[[ -z $(test_procs) ]] || fn_fail "components left: $(test_procs)"
	[[ ! -e $RUN_DIR ]] || fn_fail "run dir $RUN_DIR left: $(ls -la "$RUN_DIR")"
	[[ ! -S $RUN_DIR/supervisor.sock ]] || fn_fail "socket left"
	# Whoever still holds a fragnet memfd must not be one of ours.
	for p in $(grep -l 'memfd:fragnet-' /proc/[0-9]*/maps 2>/dev/null |
		   cut -d/ -f3) $(find /proc/[0-9]*/fd -lname '/memfd:fragnet-*' \
		   2>/dev/null | cut -d/ -f3 | sort -u); do
		[[ $p == "$sup" ]] && fn_fail "supervisor $sup holds a memfd"
		exe=$(readlink "/proc/$p/exe" 2>/dev/null || true)
		[[ $exe == "$T/bin/"* ]] && fn_fail "pid $p ($exe) holds a memfd"
	done
	return 0
}

# topology_down: fragnet down; then the tap (if the test has one, where
# tap_gone looks), every process, the run dir and every memfd are gone.
topology_down() {
	local sup
	sup=$(cat "$RUN_DIR/supervisor.pid")
	fn down "$NAME" >&2 || fn_fail "down failed"
	if [[ -n ${TAP:-} ]]; then
		wait_for 10 tap_gone || fn_fail "tap $TAP still there after down"
	fi
	assert_all_gone "$sup"
}

# ---- fragnet capture -----------------------------------------------------

# capture_bg NAME TARGET ARGS...: `fragnet capture TARGET ARGS` (a
# pipeline, or vswitch/NET) in the background, stderr in $T/NAME.err;
# returns once it listens.  Its pid in CAP_PID.
capture_bg() {
	local name=$1 target=$2
	shift 2
	"$FRAGNET" capture -T "$NAME" "$target" "$@" 2> "$T/$name.err" &
	CAP_PID=$!
	LOAD_PIDS+=("$CAP_PID")
	wait_for 10 grep -q listening "$T/$name.err" ||
		{ cat "$T/$name.err" >&2; fn_fail "capture $name did not start"; }
}

# capture_end: SIGINT to CAP_PID; its exit status must be 0.
capture_end() {
	kill -INT "$CAP_PID"
	wait "$CAP_PID" || fn_fail "capture exited $?"
}

# capture_exclusive TARGET LABEL: while one capture of TARGET runs, a
# second is refused with the first one's pid; the first, killed with -9,
# is switched off by the supervisor ("capture LABEL: client PID is gone").
capture_exclusive() {
	local target=$1 label=$2 rc=0
	capture_bg first "$target" -w /dev/null
	timeout 10 "$FRAGNET" capture -T "$NAME" "$target" -w /dev/null 2> "$T/second.err" || rc=$?
	[[ $rc == 1 ]] && grep -q "captured already, by pid $CAP_PID" "$T/second.err" ||
		{ cat "$T/second.err" >&2; fn_fail "a second capture was not refused (exit $rc)"; }
	kill -KILL "$CAP_PID"
	wait "$CAP_PID" 2>/dev/null || true
	wait_for 5 grep -q "capture $label: client $CAP_PID is gone; capture off" "$LOG" ||
		fn_fail "the supervisor did not switch off the killed capture"
}

# nothing_left WHAT: a start that failed left nothing: no run dir, log or
# process of this test; with a tap, no tap, hugepage file or EAL runtime
# dir of its file prefix either.
nothing_left() {
	[[ ! -e $RUN_DIR ]] || fn_fail "run dir created: $1"
	[[ ! -e $LOG ]] || fn_fail "log created: $1"
	[[ -z $(test_procs) ]] || fn_fail "processes left: $1"
	[[ -n ${TAP:-} ]] || return 0
	tap_gone || fn_fail "tap $TAP left behind: $1"
	compgen -G "/dev/hugepages/fragnet-${NAME}map_*" >/dev/null &&
		fn_fail "hugepage files of fragnet-$NAME left behind: $1"
	[[ ! -e /var/run/dpdk/fragnet-$NAME ]] ||
		fn_fail "EAL runtime dir left behind: $1"
	return 0
}

# The topic libraries.
. "$FN_HERE/nic_lib.sh"
. "$FN_HERE/sock_lib.sh"
. "$FN_HERE/redis_lib.sh"
. "$FN_HERE/vsw_lib.sh"
