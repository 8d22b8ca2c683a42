#!/bin/bash
# One app, several programs one after another, each on the pipeline's
# stack: the socket channel passes from a program that ended to the next
# one (docs/preload.md, "One process after another").
#
#   pipeline 0: app/0 fn-test-tcp-echo :7000 (preload), stack/0
#   pipeline 1: app/1 /bin/sh running, in turn, each under the preload:
#     A  sock_tcp_load.py: 16 connections x 64 KiB, echoed and checked
#     B  hold.py exit: 8 connections, echoed, left open, then libc exit()
#     C  hold.py kill: 8 connections, echoed, left open, then SIGKILL
#     D  sock_tcp_load.py again, as A
#   both stacks on network vn, through the switch; nothing else.
#
#   1. A and D pass, byte for byte, each connection ending in a clean EOF;
#      B and C each held their 8 connections
#   2. B's exit closed its connections in order: the echo server counted
#      8 more EOFs, and stack/1 aborted none of them
#   3. D's take of the channel aborted C's 8 connections (sock.aborted 8,
#      RSTs: the echo server's errors 8), and only those; stack/1 counted
#      a reset for each take (B, C, D) and no violation, and the app's
#      shell never restarted
#   4. fragnet down: nothing is left
set -euo pipefail
. "$(dirname "$0")/lib.sh"

CONNS=16
BYTES=65536
HELD=8

vsw_init preload-seq
cat > "$T/hold.py" <<'PY'
# hold.py DST PORT N exit|kill OUT: N echoed connections, left open; then
# libc's exit() (atexit and destructors run, Python closes nothing) or
# SIGKILL (nothing runs).
import ctypes, os, signal, socket, sys
dst, port, n, how, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    sys.argv[4], sys.argv[5]
conns = []
for i in range(n):
    s = socket.create_connection((dst, port), timeout=10)
    s.sendall(b"%04d" % i * 250)
    got = b""
    while len(got) < 1000:
        d = s.recv(1000 - len(got))
        if not d:
            sys.exit("connection %d: EOF before its echo" % i)
        got += d
    if got != b"%04d" % i * 250:
        sys.exit("connection %d: the echo differs" % i)
    conns.append(s)
with open(out, "w") as f:
    f.write("held %d\n" % len(conns))
if how == "exit":
    ctypes.CDLL(None).exit(0)
os.kill(os.getpid(), signal.SIGKILL)
PY
load() {	# load NAME: the sock_tcp_load.py line for the script
	printf 'python3 %s --dst %s --port %s --retry-refused --conns %s --bytes %s --rst 0 --time-limit 60 --stall 20 > %s 2> %s\n' \
		"$FN_HERE/sock_tcp_load.py" "$(vsw_ip 0)" "$VSW_PORT" $CONNS $BYTES \
		"$T/$1.json" "$T/$1.err"
}
hold() {	# hold NAME HOW
	printf 'python3 %s %s %s %s %s %s 2> %s; echo $? > %s\n' "$T/hold.py" \
		"$(vsw_ip 0)" "$VSW_PORT" $HELD "$2" "$T/$1.txt" "$T/$1.err" "$T/$1.rc"
}
{
	echo '#!/bin/sh'
	load a
	hold b exit
	hold c kill
	load d
	echo "touch $T/done"
	echo 'exec sleep 3600'
} > "$T/seq.sh"
vsw_topology "pipeline 1.app_exec=/bin/sh" "pipeline 1.app_args=$T/seq.sh"
FN_SHOW_ON_FAIL+=("$T/a.err" "$T/b.err" "$T/c.err" "$T/d.err" "$T/seq.sh")
fn_up
wait_running

# 1.
wait_for 150 test -e "$T/done" || fail_stats "the programs did not all run"
vsw_load_check "$T/a.json" $BYTES || fail_stats "A, the first load, failed"
[[ $(cat "$T/b.rc") == 0 && $(cat "$T/b.txt") == "held $HELD" ]] ||
	fail_stats "B: rc $(cat "$T/b.rc"), $(cat "$T/b.txt" 2>/dev/null)"
[[ $(cat "$T/c.rc") == 137 && $(cat "$T/c.txt") == "held $HELD" ]] ||
	fail_stats "C: rc $(cat "$T/c.rc"), $(cat "$T/c.txt" 2>/dev/null)"
vsw_load_check "$T/d.json" $BYTES ||
	fail_stats "D, the load after a program was killed, failed"

# 2. and 3.: the echo server has seen every close once the counters settle
settled() {
	stats_json "$T/s.json"
	[[ $(counter_of "$T/s.json" app/0 tcp_echo.eof) -ge $((2 * CONNS + HELD)) &&
	   $(counter_of "$T/s.json" app/0 tcp_echo.errors) -ge $HELD ]]
}
wait_for 20 settled || true
stats_json "$T/s.json"
for want in "app/0 tcp_echo.eof $((2 * CONNS + HELD))" \
	"app/0 tcp_echo.errors $HELD" "stack/1 sock.aborted $HELD" \
	"stack/1 sock.resets 3" "stack/1 sock.violations 0" \
	"stack/1 sock.cutoffs 0"; do
	set -- $want
	got=$(counter_of "$T/s.json" "$1" "$2")
	fn_log "$1 $2 = $got"
	[[ $got == "$3" ]] || fail_stats "$1 $2 = $got, want $3"
done
[[ $(status_field app 1 6) == 0 ]] || fail_stats "app/1 restarted"

# 4.
topology_down
echo "ok: four programs in turn on one channel: two loads of $CONNS connections, $HELD closed at exit(), $HELD aborted after a kill"
