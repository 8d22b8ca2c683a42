# lib.sh - shared helpers of the supervisor integration tests.  Sourced by
# each test_*.sh after `set -euo pipefail`.
#
# Environment (set by meson, see meson.build):
#   FRAGNET        the built fragnet binary
#   FN_TEST_ECHO   the built fn-test-echo
#   FN_TEST_CRASH  the built fn-test-crash
#
# Each test gets a private directory with its own copies of the test
# components, so that "no process of this test is left" can be checked by
# exact path while other tests run in parallel, and a unique topology name
# (fnt-<test>-<pid>), so that run directories and logs never collide.
# fn_init installs a trap that tears everything down on any exit.

FN_BOUND=${FN_BOUND:-30}	# seconds any one fragnet call may take

fn_log() { printf '# %s\n' "$*" >&2; }

fn_fail() {
	printf 'FAIL: %s\n' "$*" >&2
	FN_FAILED=1
	exit 1
}

# fn_init TESTNAME: skip unless root, make the private dir, set the trap.
fn_init() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "SKIP: needs root" >&2
		exit 77
	fi
	: "${FRAGNET:?}" "${FN_TEST_ECHO:?}" "${FN_TEST_CRASH:?}"
	NAME="fnt-$1-$$"
	RUN_DIR="/run/fragnet/$NAME"
	LOG="/var/log/fragnet/$NAME.log"
	T=$(mktemp -d "${TMPDIR:-/tmp}/fnt-$1.XXXXXX")
	# An app may run as an unprivileged user: it must reach its binary.
	chmod 755 "$T"
	mkdir "$T/bin"
	cp "$FN_TEST_ECHO" "$T/bin/fn-test-echo"
	cp "$FN_TEST_CRASH" "$T/bin/fn-test-crash"
	ECHO="$T/bin/fn-test-echo"
	CRASH="$T/bin/fn-test-crash"
	CONF="$T/$NAME.conf"
	FN_FAILED=0
	trap fn_teardown EXIT
}

# Kill whatever this test left: the supervisor (its components die with
# it: PR_SET_PDEATHSIG), then any stray component by exact path.
fn_teardown() {
	local rc=$? pid
	set +e
	if [[ $rc -ne 0 || $FN_FAILED -ne 0 ]] && [[ -f $LOG ]]; then
		echo "--- $LOG ---" >&2
		tail -n 60 "$LOG" >&2
	fi
	pid=$(cat "$RUN_DIR/supervisor.pid" 2>/dev/null)
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	[[ -n ${FG_PID:-} ]] && kill -KILL "$FG_PID" 2>/dev/null
	for pid in $(test_procs); do kill -KILL "$pid"; done
	rm -rf "$RUN_DIR" "$T"
	rm -f "$LOG"
	exit "$rc"
}

# fn_conf < body: write $CONF, a topology named $NAME, with body after its
# [topology] name line (so the body may continue [topology]).
fn_conf() {
	{
		printf '[topology]\nname = %s\n' "$NAME"
		cat
	} > "$CONF"
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

# status_field ROLE PIPELINE COLUMN (1 component, 2 pipeline, 3 pid,
# 4 cpu, 5 state, 6 restarts, 7 uptime).
status_field() {
	fn status "$NAME" | awk -v r="$1" -v p="$2" -v c="$3" \
		'$1 == r && $2 == p { print $c }'
}

# fn_netns NS: a network namespace of the test's own (for the kernel's
# nf_tables as a reference), deleted by the EXIT trap before
# fn_teardown; SKIP (77) when none can be made.  After fn_init.
fn_netns() {
	FN_NETNS=$1
	trap 'rc=$?; ip netns del "$FN_NETNS" 2>/dev/null; set +e; (exit $rc); fn_teardown' EXIT
	ip netns add "$FN_NETNS" ||
		{ echo "SKIP: cannot create a network namespace" >&2; exit 77; }
}

# fn_nft_stack_up N: up, a topology of one fragnet-stack (a copy of
# $FN_STACK, 10.241.N.2/24, no NIC: fn-test-echo is its driver, an idle
# app as nobody), once `fragnet nft` reaches it.  Sets CTL, its control
# socket.  After fn_init.
fn_nft_stack_up() {
	local stack
	stack="$T/bin/$(basename "$FN_STACK")"
	cp "$FN_STACK" "$stack"
	fn_conf <<EOF
pipelines = 1
poll = adaptive
log_level = info
[link]
slots = 256
slot_size = 2048
[driver]
exec = $ECHO
[stack]
exec = $stack
address = 10.241.$1.2/24
[app]
exec = /bin/sleep
args = 600
user = nobody
preload = no
EOF
	fn up "$CONF" -d >/dev/null || fn_fail "fragnet up"
	CTL="$RUN_DIR/stack0.ctl"
	ctl_ready() { [[ -S $CTL ]] && fn nft -T "$NAME" 0 list ruleset >/dev/null 2>&1; }
	wait_for 20 ctl_ready || fn_fail "stack 0 control socket not ready"
}

# Every component row of `status` is in state $1 with a numeric pid.
all_in_state() {
	fn status "$NAME" | awk -v s="$1" '
		NR > 3 && NF >= 7 { n++; if ($5 != s || $3 !~ /^[0-9]+$/) bad++ }
		END { exit !(n > 0 && bad == 0) }'
}

# The pids of the components in `status`.
status_pids() {
	fn status "$NAME" | awk 'NR > 3 && $3 ~ /^[0-9]+$/ { print $3 }'
}

# Cpus_allowed_list of a process.
cpus_of() {
	awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$1/status"
}

# "0-2,5" -> "0 1 2 5"
expand_cpus() {
	local part out=() a b i
	IFS=, read -ra parts <<< "$1"
	for part in "${parts[@]}"; do
		a=${part%-*}
		b=${part#*-}
		for ((i = a; i <= b; i++)); do out+=("$i"); done
	done
	echo "${out[@]}"
}

# Pids of the live processes running this test's component binaries (by
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
