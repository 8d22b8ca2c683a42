#!/bin/bash
# fragnet sockets, 10,000 busy connections on one stack: every one carries
# data at the same time, echoed and checked byte for byte (the load that
# lwIP's demultiplexing sees at 10,000 clients: docs/stack.md, the hashed
# PCB lookup).
#
#   netns fnt-sock-PID (kernel stack)      fragnet topology fnt-sock10k-PID
#
#   [fnt-sk<pid>] 10.238.N.1/24 ══ tap ══ nic (net_tap, 1 queue)
#                                           +- driver/0 ══link══ stack/0 ══sockchan══ app/0
#   sock_tcp_load.py, python                   10.238.N.2/24     max_tcp 10100    fn-test-tcp-echo 7000
#     -> 10.238.N.2:7000
#
#   1. 10,000 connections (FN_SOCK_10K_CONNS) are all established first
#      (--connect-first), then every one sends FN_SOCK_10K_BYTES (1,000:
#      one segment, a request's size) of a pattern unique to it at once,
#      reads the echo, compares every byte, shuts down its side and must
#      read EOF after exactly those bytes (sock_tcp_load.py): a segment
#      handed to the wrong connection, lost or repeated fails it.
#      (With 8 KiB each, 6 segments, some connections stall for more than
#      30 s: a DATA slot refused makes lwIP drop the connection's later
#      segments unacked until it is taken, and the kernel backs off; see
#      docs/stack.md, Starved sockets.  Measured: 759 of 10,000 stalled
#      past 30 s; main's stack, without the hashed PCB lookup, left 4,796
#      unfinished at 150 s.)
#   2. The app saw 10,000 accepts and closes and holds none; the stack
#      refused none (sock.accept_refused) and its channel is clean; the
#      stack is the one that started.
#   3. fragnet down: nothing is left (lib.sh topology_down).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${FN_STACK:?}" "${FN_TEST_TCP_ECHO:?}"
CONNS=${FN_SOCK_10K_CONNS:-10000}
BYTES=${FN_SOCK_10K_BYTES:-1000}
PORT=7000

sock_init "sock10k" "fnt-sk$$" "$FN_TEST_TCP_ECHO"
sock_topology stack.max_tcp=$((CONNS + 100))

sock_up
stack_pid=$(status_field stack 0 3)

# 1.
tcp_load "$T/load.json" 160 --conns "$CONNS" --bytes "$BYTES" --rst 0 \
	--concurrent-connects 128 --time-limit 150 --stall 60 ||
	fail_stats "the $CONNS connections did not all echo their data and close"

# 2.
app_done() { [[ $(counter app/0 tcp_echo.active) == 0 ]]; }
wait_for 30 app_done ||
	fail_stats "the app still holds $(counter app/0 tcp_echo.active) connections"
[[ $(counter app/0 tcp_echo.accepted) == "$CONNS" ]] ||
	fail_stats "the app accepted $(counter app/0 tcp_echo.accepted) connections, want $CONNS"
[[ $(counter app/0 tcp_echo.eof) == "$CONNS" ]] ||
	fail_stats "$(counter app/0 tcp_echo.eof) connections ended with EOF, want $CONNS"
[[ $(counter stack/0 sock.accept_refused) == 0 ]] ||
	fail_stats "the stack refused $(counter stack/0 sock.accept_refused) connections"
[[ $(status_field stack 0 3) == "$stack_pid" ]] || fn_fail "stack/0 was restarted"
sock_clean stack/0

# 3.
topology_down
echo "ok: $CONNS connections at once, $BYTES bytes each echoed and checked"
