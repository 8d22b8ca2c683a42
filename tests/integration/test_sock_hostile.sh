#!/bin/bash
# fragnet sockets, a hostile app: pipeline 0 runs fn-test-hostile-app,
# which writes random requests and scribbles over its socket channel's
# rings, while pipeline 1 serves a checked TCP echo load.
#
#   netns fnt-sock-PID (kernel stack)      fragnet topology fnt-sockhost-PID
#
#                                         nic (net_tap, 2 queues)
#   [fnt-sh<pid>] 10.238.N.1/24 ══ tap ══+- queue 0 - driver/0 ══ stack/0 ══sockchan══ app/0: fn-test-hostile-app
#                                         |                                              3 rounds, then fn-test-tcp-echo
#   sock_tcp_load.py --retry-refused      +- queue 1 - driver/1 ══ stack/1 ══sockchan══ app/1: fn-test-tcp-echo 7000
#     -> 10.238.N.2:7000                           stacks 10.238.N.2/24
#
# The hostile app's LIFECYCLE: each start attacks for 2.5 s and exits 1
# (the supervisor resets the channel and restarts it); its 4th start execs
# fn-test-tcp-echo (fn-test-hostile-app --rounds, a state file).  The
# crash loop limit is far above 3, so the supervisor never gives up on it.
#
#   1. during the attack, loads run against the topology one after the
#      other: flows that RSS puts on queue 0 find no listener there (RST)
#      and are retried from a new port, so every connection that carries
#      data is pipeline 1's; each load must pass in full (every byte echoed
#      and checked, EOF, RST), app/1 counts no error
#   2. stack/0 survived (same pid) and counted the attack: sock.violations,
#      sock.cutoffs and sock.resets rose; stack/1 counted nothing of it
#   3. after the attack, app/0 serves (a load without retries passes, and
#      app/0 accepted connections of it)
#   4. fragnet down: nothing is left (lib.sh topology_down)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${FN_STACK:?}" "${FN_TEST_TCP_ECHO:?}" "${FN_TEST_HOSTILE_APP:?}"
PORT=7000
ROUNDS=3

sock_init "sockhost" "fnt-sh$$" "$FN_TEST_TCP_ECHO"
fn_bin HOSTILE "$FN_TEST_HOSTILE_APP" fn-test-hostile-app
STATE="$T/hostile.rounds"
# app.user=root: the hostile app keeps its round count in $STATE, in T.
sock_topology pipelines=2 stack.addressing=shared app.user=root \
	restart.backoff_ms=100 restart.backoff_max_ms=400 \
	restart.crash_loop_limit=100 "pipeline 0.app_exec=$HOSTILE" \
	"pipeline 0.app_args=--ms 2500 --rounds $ROUNDS --state $STATE -- $APP $PORT"

# The attack is over: every round ran and app/0 is the echo server.
attack_over() {
	local p
	[[ $(cat "$STATE" 2>/dev/null) == "$ROUNDS" ]] || return 1
	p=$(status_field app 0 3)
	[[ $p =~ ^[0-9]+$ && $(readlink "/proc/$p/exe" 2>/dev/null) == "$APP" ]] &&
		app_serving 0
}

running() {
	[[ $(status_field stack 0 5) == running && $(status_field stack 1 5) == running &&
	   $(status_field app 1 5) == running ]] && app_serving 1
}

fn_up
wait_tap_up
sock_netns
wait_for 30 running || fn_fail "the stacks and app/1 are not running: $(fn status "$NAME")"
stack_ping || fail_stats "the stacks do not answer ping"
stack0=$(status_field stack 0 3)
stack1=$(status_field stack 1 3)

# 1.
loads=0
deadline=$((SECONDS + 120))	# the attack: about 9 s
while ! attack_over; do
	(( SECONDS < deadline )) || fail_stats "the attack did not end: $(fn status "$NAME")"
	tcp_load "$T/load$loads.json" 150 --time-limit 120 --conns 40 \
		--bytes 262144 --rst 2 --retry-refused ||
		fail_stats "pipeline 1 missed replies during the attack"
	loads=$((loads + 1))
done
fn_log "$loads loads passed during the attack"
(( loads >= 1 )) || fn_fail "no load ran during the attack"
[[ $(counter app/1 tcp_echo.errors) == 0 ]] ||
	fail_stats "app/1 counted $(counter app/1 tcp_echo.errors) errors"

# 2.
[[ $(status_field stack 0 3) == "$stack0" ]] || fail_stats "stack/0 died under the attack"
[[ $(status_field stack 1 3) == "$stack1" ]] || fail_stats "stack/1 was restarted"
for c in violations cutoffs; do
	v=$(counter stack/0 "sock.$c")
	(( v >= 1 )) || fail_stats "stack/0: sock.$c = $v, want >= 1"
	[[ $(counter stack/1 "sock.$c") == 0 ]] ||
		fail_stats "stack/1: sock.$c = $(counter stack/1 "sock.$c")"
done
(( $(counter stack/0 sock.resets) >= ROUNDS )) ||
	fail_stats "stack/0: sock.resets = $(counter stack/0 sock.resets), want >= $ROUNDS"
fn_log "stack/0: violations $(counter stack/0 sock.violations)," \
	"cutoffs $(counter stack/0 sock.cutoffs), resets $(counter stack/0 sock.resets)"

# 3.
tcp_load "$T/after.json" 150 --time-limit 120 --conns 100 --bytes 262144 \
	--rst 4 ||
	fail_stats "the load after the attack failed"
(( $(counter app/0 tcp_echo.accepted) > 0 )) ||
	fail_stats "app/0 served nothing after the attack"
[[ $(status_field stack 0 3) == "$stack0" ]] || fail_stats "stack/0 was restarted"

# 4.
topology_down
echo "ok: sockets, a hostile app on pipeline 0, pipeline 1 served $loads loads"
