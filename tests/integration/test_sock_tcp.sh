#!/bin/bash
# fragnet sockets, TCP: a native app (fn-test-tcp-echo, fn_sock_*) echoes
# many concurrent kernel TCP connections through its socket channel, its
# stack (full profile), a driver and the tap NIC.  The kernel's TCP is the
# reference: the client is sock_tcp_load.py.
#
#   netns fnt-sock-PID (kernel stack)      fragnet topology fnt-socktcp-PID
#
#                                         nic (net_tap, 2 queues,
#   [fnt-st<pid>] 10.238.N.1/24 ══ tap ══+     mac 02:00:0a:ee:N:02)
#                                         +- queue 0 - driver/0 ══link0══ stack/0 ══sockchan0══ app/0
#   sock_tcp_load.py                      +- queue 1 - driver/1 ══link1══ stack/1 ══sockchan1══ app/1
#     -> 10.238.N.2:7000                          stacks 10.238.N.2/24, apps: fn-test-tcp-echo 7000
#
#   1. CONNS connections at once (FN_SOCK_TCP_CONNS, default 1,000; all
#      established before any sends, see sock_tcp_load.py), each
#      BYTES bytes (FN_SOCK_TCP_BYTES, default 1 MiB: 1 GiB in all) of a
#      per-connection pattern, echoed and compared byte for byte (a
#      stronger check than a checksum); each then shuts down its
#      write side and must read EOF after exactly its bytes (the app echoes
#      the rest, then shutdown(SHUT_WR) and close); 20 more connections
#      make the app close with unread data and must see ECONNRESET
#   2. the apps' counters agree: accepted, eof, rst_closes, no errors
#   3. kill -9 app/0 under load: the supervisor restarts it; the stack
#      aborts every socket of the dead app (the kernel's connections to
#      it are reset, none is left established); a new full load passes
#   4. fragnet down: everything exits; nothing is left (lib.sh topology_down)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${FN_STACK:?}" "${FN_TEST_TCP_ECHO:?}"
CONNS=${FN_SOCK_TCP_CONNS:-1000}
BYTES=${FN_SOCK_TCP_BYTES:-1048576}
RSTS=20
PORT=7000
CLIENT="$FN_HERE/sock_tcp_load.py"

sock_init "socktcp" "fnt-st$$" "$FN_TEST_TCP_ECHO"
sock_topology pipelines=2 restart.backoff_ms=100 restart.backoff_max_ms=1000 \
	stack.addressing=shared

sock_up

# 1.
tcp_load "$T/load1.json" 330 --conns "$CONNS" --bytes "$BYTES" --rst "$RSTS" \
	--time-limit 300 || fail_stats "the TCP load failed"

# 2.
sleep 0.5
stats_json "$T/after1.json"
stats_py "$T/after1.json" "$CONNS" "$RSTS" <<'PY' || fail_stats "the apps' counters do not add up"
f, conns, rsts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
a = counters(f)
def tot(n):
    return sum(a["app/%d" % q].get("tcp_echo." + n, 0) for q in (0, 1))
print("# apps: accepted %d eof %d rst_closes %d errors %d active %d "
      "bytes in %d out %d" % (tot("accepted"), tot("eof"), tot("rst_closes"),
      tot("errors"), tot("active"), tot("bytes_in"), tot("bytes_out")),
      file=sys.stderr)
bad = []
if tot("accepted") != conns + rsts:
    bad.append("accepted %d, want %d" % (tot("accepted"), conns + rsts))
if tot("eof") != conns:
    bad.append("eof %d, want %d" % (tot("eof"), conns))
if tot("rst_closes") != rsts:
    bad.append("rst_closes %d, want %d" % (tot("rst_closes"), rsts))
if tot("errors") or tot("active"):
    bad.append("errors %d, active %d" % (tot("errors"), tot("active")))
if min(a["app/%d" % q].get("tcp_echo.accepted", 0) for q in (0, 1)) == 0:
    bad.append("one app accepted nothing")
if bad:
    sys.exit("; ".join(bad))
PY

# 3. kill -9 app/0 while connections are open on both apps.
"${KX[@]}" python3 "$CLIENT" --dst "$STACK_IP" --port "$PORT" --bind "$KERNEL_IP" \
	--conns 40 --bytes $((256 << 20)) --rst 0 --time-limit 30 --stall 10 \
	> "$T/load_kill.json" &
LOAD_PIDS+=($!)
open_both() { (( $(established "$PORT") >= 40 )); }
wait_for 15 open_both || fail_stats "the load did not open its 40 connections"
app=$(status_field app 0 3)
kill -KILL "$app"
wait_for 20 restarted app 0 "$app" || fn_fail "app/0 was not restarted"
wait_for 20 all_in_state running || fn_fail "not all running after the restart"
sleep 1
kill -TERM "${LOAD_PIDS[@]}" 2>/dev/null || true	# it reports, then exits
wait "${LOAD_PIDS[@]}" 2>/dev/null || true
LOAD_PIDS=()
fn_log "load during the kill: $(cat "$T/load_kill.json")"
python3 - "$T/load_kill.json" <<'PY' || fail_stats "the dead app's connections were not reset"
import json, sys
r = json.load(open(sys.argv[1]))
if not any("reset" in f.lower() or "ECONNRESET" in f for f in r["failures"]):
    sys.exit("no connection saw a reset: %s" % r["failures"])
PY
wait_for 10 none_established "$PORT" ||
	fail_stats "$(established "$PORT") kernel connections still established"
# stack/0 reset the channel and aborted the dead app's sockets: its
# listener and every connection it held (the kernel saw them reset).
wait_for 10 sock_freed stack/0 2 || fail_stats "stack/0 did not free the dead app's sockets"
fn_log "stack/0 after the kill: sock.resets $(counter stack/0 sock.resets)," \
	"sock.aborted $(counter stack/0 sock.aborted)"
[[ $(counter stack/1 sock.resets) == 0 ]] ||
	fail_stats "stack/1 reset its channel, but its app lives"
wait_for 10 app_serving 0 || fail_stats "the new app/0 does not listen"
tcp_load "$T/load2.json" 330 --conns 100 --bytes $((BYTES / 4)) --rst 4 \
	--time-limit 120 || fail_stats "the TCP load after the restart failed"
[[ $(counter app/0 tcp_echo.eof) -gt 0 ]] ||
	fail_stats "the restarted app/0 served nothing"

sock_clean stack/0 stack/1

# 4.
topology_down
echo "ok: sockets, TCP echo, $CONNS connections of $BYTES bytes"
