#!/bin/bash
# fragnet sockets, TCP limits: one stack holds 10,000 connections and
# refuses the next ones ([stack] max_tcp), and an app that stops reading
# stalls its peer without growing memory.
#
#   netns fnt-sock-PID (kernel stack)      fragnet topology fnt-socklim-PID
#
#   [fnt-sl<pid>] 10.238.N.1/24 ══ tap ══ nic (net_tap, 1 queue)
#                                           +- driver/0 ══link══ stack/0 ══sockchan══ app/0
#   sock_tcp_load.py, python                   10.238.N.2/24      max_tcp 10000   fn-test-tcp-echo 7000
#     -> 10.238.N.2:7000
#
#   1. IDLE: 10,000 connections (FN_SOCK_IDLE_CONNS) established and held
#      idle for 20 s: the kernel sees them all established, the app holds
#      them all; then each carries 64 bytes, echoed and checked, and ends
#      with FIN/EOF.
#   2. MAX_TCP: while the 10,000 are held, 20 more connections are each
#      reset by the stack (sock.accept_refused counts them): max_tcp holds.
#   3. STOP READING: 20 connections tell the app "STOP" (it never reads
#      them again) and the kernel sends into them until nothing moves for
#      3 s: each stalls with data queued in the kernel's send buffer (its
#      window closed), each took a bounded number of bytes, and the
#      stack's RSS stays bounded and stops growing; closing them (RST)
#      and a new load show the stack serves on.
#   4. fragnet down: nothing is left (lib.sh topology_down).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${FN_STACK:?}" "${FN_TEST_TCP_ECHO:?}"
IDLE=${FN_SOCK_IDLE_CONNS:-10000}
EXTRA=20
STOPS=20
PORT=7000
CLIENT="$FN_HERE/sock_tcp_load.py"

sock_init "socklim" "fnt-sl$$" "$FN_TEST_TCP_ECHO"
sock_topology stack.max_tcp="$IDLE"

sock_up
stack_pid=$(status_field stack 0 3)

# 1. and 2.
"${KX[@]}" python3 "$CLIENT" --dst "$STACK_IP" --port "$PORT" \
	--bind "$KERNEL_IP" --conns "$IDLE" --bytes 64 --rst 0 --hold 20 \
	--time-limit 300 --stall 60 > "$T/idle.json" 2> "$T/idle.err" &
LOAD_PIDS+=($!)
holding() { grep -q "holding" "$T/idle.err"; }
wait_for 240 holding || fail_stats "the $IDLE connections were not all established: $(established "$PORT") are; $(cat "$T/idle.err")"
n=$(established "$PORT")
(( n == IDLE )) || fail_stats "$n connections established, want $IDLE"
# The kernel's connect completes with lwIP's handshake; the app's accept
# follows through an event slot and its loop: it may lag a little (seen:
# the first look said less, the message after it 10000).
app_holds_all() { [[ $(counter app/0 tcp_echo.active) == "$IDLE" ]]; }
wait_for 30 app_holds_all ||
	fail_stats "the app holds $(counter app/0 tcp_echo.active) connections, want $IDLE"
fn_log "$IDLE idle connections: stack/0 RSS $(rss_kb "$stack_pid") KiB"
refused0=$(counter stack/0 sock.accept_refused)
kx timeout 60 python3 - "$STACK_IP" "$PORT" "$KERNEL_IP" "$EXTRA" <<'PY' ||
import socket, sys
dst, port, src, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
bad = 0
for i in range(n):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(10)
    try:
        s.connect((dst, port))
        s.sendall(b"hello?")
        d = s.recv(16)
        if d:
            bad += 1
            print("# extra connection %d was served: %r" % (i, d), file=sys.stderr)
    except (ConnectionResetError, ConnectionRefusedError, BrokenPipeError):
        pass
    except socket.timeout:
        bad += 1
        print("# extra connection %d: no answer" % i, file=sys.stderr)
    s.close()
sys.exit(1 if bad else 0)
PY
	fail_stats "a connection beyond max_tcp = $IDLE was not refused"
refused=$(( $(counter stack/0 sock.accept_refused) - refused0 ))
(( refused >= EXTRA )) || fail_stats "sock.accept_refused rose by $refused, want >= $EXTRA"
rc=0
wait "${LOAD_PIDS[@]}" || rc=$?
LOAD_PIDS=()
fn_log "idle load: $(cut -c1-300 "$T/idle.json")"
(( rc == 0 )) || fail_stats "the $IDLE held connections did not all echo and close"

# 3.
rss0=$(rss_kb "$stack_pid")
# The client stalls, reports, writes $T/stalled and holds the stall 8 s
# more (the stack's RSS is read then), then resets its connections.
"${KX[@]}" python3 - "$STACK_IP" "$PORT" "$KERNEL_IP" "$STOPS" "$T/stalled" \
	> "$T/stop.json" <<'PY' &
import fcntl, json, os, socket, struct, sys, termios, time
dst, port, src, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
conns = []
for i in range(n):
    s = socket.socket()
    s.bind((src, 0))
    s.connect((dst, port))
    s.sendall(b"STOP")
    s.setblocking(False)
    conns.append(s)
time.sleep(0.5)		# the app reads STOP before the flood
chunk = bytes(65536)
sent = [0] * n
last = time.time()
while time.time() - last < 3:
    moved = False
    for i, s in enumerate(conns):
        try:
            k = s.send(chunk)
            sent[i] += k
            moved = moved or k > 0
        except BlockingIOError:
            pass
    if moved:
        last = time.time()
    time.sleep(0.01)
outq = [struct.unpack("i", fcntl.ioctl(s, termios.TIOCOUTQ, b"\0" * 4))[0]
        for s in conns]
r = {"sent": sent, "outq": outq}
print(json.dumps(r), flush=True)
open(sys.argv[5], "w").write("stalled\n")
time.sleep(8)
for s in conns:		# unread data on our side too: close = RST
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
bad = [i for i in range(n) if outq[i] <= 0 or sent[i] > 8 << 20]
sys.exit(1 if bad else 0)
PY
LOAD_PIDS+=($!)
stalled() { [[ -e $T/stalled ]]; }
wait_for 100 stalled || fail_stats "the client did not stall"
rss1=$(rss_kb "$stack_pid")
sleep 5
rss2=$(rss_kb "$stack_pid")
rc=0
wait "${LOAD_PIDS[@]}" || rc=$?
LOAD_PIDS=()
fn_log "stop reading: $(cat "$T/stop.json")"
fn_log "stack/0 RSS: $rss0 KiB before, $rss1 KiB stalled, $rss2 KiB 5 s later"
[[ $(counter app/0 tcp_echo.stopped) == "$STOPS" ]] ||
	fail_stats "the app stopped $(counter app/0 tcp_echo.stopped) connections, want $STOPS"
(( rss1 - rss0 < 32768 )) || fail_stats "stack/0 grew by $((rss1 - rss0)) KiB under stalled peers"
(( rss2 - rss1 < 1024 )) || fail_stats "stack/0 kept growing while stalled: $rss1 -> $rss2 KiB"
(( rc == 0 )) || fail_stats "a peer of the stopped app did not stall (no data queued, or too much taken)"
none_active() { [[ $(counter app/0 tcp_echo.active) == 0 ]]; }
wait_for 30 none_active || fail_stats "the app still holds the reset connections"
tcp_load "$T/after.json" 200 --conns 50 --bytes 262144 --rst 2 \
	--time-limit 120 || fail_stats "the stack did not serve after the stall: $(cat "$T/after.json")"
[[ $(status_field stack 0 3) == "$stack_pid" ]] || fn_fail "stack/0 was restarted"
sock_clean stack/0

# 4.
topology_down
echo "ok: sockets, $IDLE idle connections, max_tcp, a stalled app"
