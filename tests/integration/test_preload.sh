#!/bin/bash
# libfragnet-preload.so: unmodified programs on their pipeline's stack.
# preload-check (preload_check.c, an ordinary C program that links nothing
# of fragnet) runs as the app, as an unprivileged user, under the preload
# library that the supervisor sets; it checks the socket calls against the
# kernel-side peers of preload_peer.py, then execs the Debian
# redis-server in the same process, which redis-cli then talks to.
#
#   root namespace (kernel stack)            fragnet topology fnt-preload-PID
#
#   [fnt-pl<pid>] 10.239.N.1/24 ══ tap ══ nic ─ queue 0 ─ driver/0 ══ stack/0
#   preload_peer.py:                                     10.239.N.2 ══ app/0:
#     TCP echo :7101, UDP echo :7102,                        preload-check,
#     client -> 10.239.N.2:7201                              then redis-server
#   redis-cli -> 10.239.N.2:6379                             (user redis/nobody)
#
#   1. every check of preload-check passes (results file: "ok NAME" lines,
#      then "DONE fails=0"); it waits for the peer's echo server first.
#      Among them: the app runs in a network namespace of its own ([app]
#      netns = own, the default), where a raw connect() to the peer, past
#      the library, is ENETUNREACH and lo is the only device
#   2. redis-server (bind * -::*: its IPv6 socket gets EAFNOSUPPORT and it
#      goes on with IPv4) answers PING, SET and GET from the kernel side,
#      and a short redis-benchmark (50 clients), with no channel violation
#      (the exec handed the channel over cleanly), as the unprivileged
#      user, with the library mapped
#   3. kill -9 of the stack: after its restart the same redis-server
#      process serves new clients with its data (the library makes its
#      listener again: docs/preload.md "Stack restarts")
#   4. no socket-channel violations at the stack; fragnet down leaves
#      nothing behind
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${FN_STACK:?}" "${FN_PRELOAD_CHECK:?}"
REDIS=/usr/bin/redis-server
RCLI_BOUND=10

nic_init "preload" "fnt-pl$$"
[[ -x $REDIS ]] || fn_skip "no $REDIS (apt-get install redis-server)"
command -v redis-cli >/dev/null || fn_skip "no redis-cli"
fn_net 10.239
APP_USER=redis
id "$APP_USER" >/dev/null 2>&1 || APP_USER=nobody
fn_bin STACK "$FN_STACK"
fn_bin APP "$FN_PRELOAD_CHECK" preload-check
mkdir -m 1777 "$T/out"
RESULTS="$T/out/results"
FN_SHOW_ON_FAIL+=("$RESULTS")
tap_topology stack.profile=full stack.gateway="$KERNEL_IP" \
	app.exec="$APP" app.user="$APP_USER" \
	app.args="$KERNEL_IP $RESULTS -- $REDIS --port $REDIS_PORT --save \"\" --appendonly no
	--protected-mode no --dir $T/out --loglevel verbose"

fn_up
wait_tap_up
preload_peer "$KERNEL_IP" "$STACK_IP"
wait_running

# 1.
done_line() { [[ -f $RESULTS ]] && grep -q '^DONE' "$RESULTS"; }
wait_for 150 done_line || fail_stats "preload-check did not finish"
passed=$(grep -c '^ok' "$RESULTS" || true)
fn_log "preload-check: $passed checks passed"
if grep -q '^FAIL' "$RESULTS" || ! grep -q '^DONE fails=0$' "$RESULTS"; then
	fail_stats "preload-check failed: $(grep '^FAIL' "$RESULTS" | tr '\n' ';')"
fi
((passed >= 50)) || fail_stats "too few checks ran: $passed"
grep -q '^ok netns-raw-connect' "$RESULTS" && grep -q '^ok netns-only-lo' "$RESULTS" ||
	fail_stats "the app's own network namespace was not checked"

# 2.
wait_for 30 redis_pings || fail_stats "redis-server does not answer PING on $STACK_IP"
[[ $(rcli SET fragnet:key preload-works) == OK ]] || fail_stats "SET failed"
[[ $(rcli GET fragnet:key) == preload-works ]] || fail_stats "GET failed"
# 50 clients at once; a channel that the exec did not hand over cleanly
# would be cut off here (sock.violations)
timeout 120 redis-benchmark -h "$STACK_IP" -q -n 5000 -c 50 -t set,get \
	> "$T/bench.out" 2>&1 || fail_stats "redis-benchmark failed"
tr '\r' '\n' < "$T/bench.out" | grep -v 'rps=' | grep -c 'requests per second' |
	grep -qx 2 || fail_stats "redis-benchmark: $(tr '\r' '\n' < "$T/bench.out" | tail -3)"
for c in violations cutoffs aborted; do
	[[ $(counter stack/0 "sock.$c") == 0 ]] ||
		fail_stats "stack/0 under redis-benchmark: sock.$c = $(counter stack/0 "sock.$c")"
done
app=$(status_field app 0 3)
[[ $(stat -c %U "/proc/$app") == "$APP_USER" ]] ||
	fail_stats "the app does not run as $APP_USER"
grep -q "libfragnet-preload.so" "/proc/$app/maps" ||
	fail_stats "redis-server runs without the preload library"
[[ $(readlink -f "/proc/$app/exe") == $(readlink -f "$REDIS") ]] ||
	fail_stats "the app is not redis-server: $(readlink "/proc/$app/exe")"
[[ $(status_field app 0 6) == 0 ]] || fail_stats "the app restarted"

# 3. kill -9 of the stack: the channel is reset, redis-server's listener
# is made again by the library under the same fd, and new clients are
# served by the same process with its data.
stk=$(status_field stack 0 3)
kill -KILL "$stk"
wait_for 20 restarted stack 0 "$stk" || fail_stats "stack/0 was not restarted"
wait_for 30 redis_pings || fail_stats "redis-server does not answer after the stack restart"
[[ $(rcli GET fragnet:key) == preload-works ]] ||
	fail_stats "GET after the stack restart"
[[ $(status_field app 0 3) == "$app" ]] || fail_stats "the app was restarted"
if grep -q "accept: Connection reset" "$LOG"; then
	fail_stats "redis-server saw its listener reset"
fi

# 4.
kill -TERM "${LOAD_PIDS[@]}" 2>/dev/null || true
wait "${LOAD_PIDS[@]}" 2>/dev/null || true
LOAD_PIDS=()
fn_log "peer: $(cat "$T/peer.out")"
for c in violations cutoffs; do
	[[ $(counter stack/0 "sock.$c") == 0 ]] ||
		fail_stats "stack/0: sock.$c = $(counter stack/0 "sock.$c")"
done
topology_down
echo "ok: preload, $passed checks, then redis-server PING/SET/GET, and after a stack restart"
