#!/bin/bash
# fragnet sockets, UDP: a native app (fn-test-udp-echo, fn_sock_*) echoes
# datagrams through its socket channel, its stack, a driver and the tap
# NIC, to the kernel's fn-udp-load.  One run per lwIP profile:
# test_sock_udp.sh full|udp.
#
#   netns fnt-sock-PID (kernel stack)      fragnet topology fnt-sockudp-PID
#
#                                         nic (net_tap, 2 queues,
#   [fnt-su<pid>] 10.238.N.1/24 ══ tap ══+     mac 02:00:0a:ee:N:02)
#                                         +- queue 0 - driver/0 ══link0══ stack/0 ══sockchan0══ app/0
#   fn-udp-load --sources 256             +- queue 1 - driver/1 ══link1══ stack/1 ══sockchan1══ app/1
#     -> 10.238.N.2:7777                          stacks 10.238.N.2/24, apps: fn-test-udp-echo 7777
#
#   1. 20,000 datagrams from 256 kernel source ports (hashed over both
#      queues, so both apps serve): every reply back, checked byte for
#      byte (fn-udp-load); nothing lost, bad or duplicated; both apps
#      echoed, and the apps' counters account for every datagram
#   2. kill -9 app/0: the supervisor restarts it; its stack follows the
#      socket channel's reset (the dead app's socket freed); the new app
#      binds again, and a second load is answered in full
#   3. fragnet down: everything exits; nothing is left (lib.sh topology_down)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PROFILE=${1:?usage: test_sock_udp.sh full|udp}
: "${FN_STACK:?}" "${FN_TEST_UDP_ECHO:?}"
[[ $PROFILE == full || $PROFILE == udp ]] || { echo "bad profile $PROFILE" >&2; exit 2; }
COUNT=${FN_SOCK_UDP_COUNT:-20000}
PORT=7777

sock_init "sockudp-$PROFILE" "fnt-su$$" "$FN_TEST_UDP_ECHO"
sock_topology pipelines=2 restart.backoff_ms=100 restart.backoff_max_ms=1000 \
	stack.addressing=shared

# udp_load OUT COUNT: fn-udp-load from the kernel; every datagram answered.
udp_load() {
	local rc=0
	kx timeout 150 "$LOAD" --dst "$STACK_IP" --port "$PORT" --bind "$KERNEL_IP" \
		--sources 256 --count "$2" --window 128 --size 200 \
		--timeout-ms 2000 --drain-ms 2000 --time-limit 120 --json \
		> "$1" || rc=$?
	fn_log "load: $(cat "$1")"
	[[ $rc == 0 ]] || fail_stats "fn-udp-load exited $rc"
	python3 - "$1" "$2" <<'PY' || fail_stats "not every datagram was echoed"
import json, sys
r, count = json.load(open(sys.argv[1])), int(sys.argv[2])
bad = {k: r[k] for k in ("lost", "bad", "duplicates", "stale", "send_errors")
       if r[k]}
if r["sent"] != count or r["received"] != count or bad:
    sys.exit("sent %d received %d of %d, %s" % (r["sent"], r["received"],
             count, bad))
if r["sources_with_replies"] != r["sources"]:
    sys.exit("only %d of %d sources got replies" % (r["sources_with_replies"],
             r["sources"]))
PY
}

sock_up

# 1.
stats_json "$T/before.json"
udp_load "$T/load1.json" "$COUNT"
stats_json "$T/after.json"
stats_py "$T" "$COUNT" <<'PY' || fail_stats "the apps' counters do not add up"
t, count = sys.argv[1], int(sys.argv[2])
b, a = counters(t + "/before.json"), counters(t + "/after.json")
def d(l, n):
    return a[l].get(n, 0) - b[l].get(n, 0)
rx = [d("app/%d" % q, "udp_echo.rx") for q in (0, 1)]
tx = [d("app/%d" % q, "udp_echo.tx") for q in (0, 1)]
print("# app rx %s tx %s" % (rx, tx), file=sys.stderr)
if min(rx) == 0:
    sys.exit("one app served nothing: rx %s" % rx)
if sum(rx) != count or sum(tx) != count:
    sys.exit("apps rx %d tx %d, want %d" % (sum(rx), sum(tx), count))
for q in (0, 1):
    if a["app/%d" % q].get("udp_echo.errors", 0):
        sys.exit("app/%d: send errors" % q)
PY

# 2. kill -9 app/0: restarted, its stack resets the channel, load served.
app=$(status_field app 0 3)
kill -KILL "$app"
wait_for 20 restarted app 0 "$app" || fn_fail "app/0 was not restarted"
wait_for 20 all_in_state running || fn_fail "not all running after the restart"
wait_for 10 app_serving 0 || fn_fail "the new app/0 is not bound"
# The stack followed the channel's reset and aborted the dead app's socket.
wait_for 10 sock_freed stack/0 1 || fail_stats "stack/0 did not free the dead app's socket"
[[ $(counter stack/1 sock.resets) == 0 ]] ||
	fail_stats "stack/1 reset its channel, but its app lives"
udp_load "$T/load2.json" "$COUNT"
[[ $(counter app/0 udp_echo.rx) -gt 0 ]] ||
	fail_stats "the restarted app/0 served nothing"
for q in 0 1; do
	for c in violations cutoffs udp_drop_noslot udp_drop_too_big; do
		[[ $(counter stack/$q "sock.$c") == 0 ]] ||
			fail_stats "stack/$q: sock.$c = $(counter stack/$q "sock.$c")"
	done
done

# 3.
topology_down
echo "ok: sockets, UDP echo, $PROFILE profile"
