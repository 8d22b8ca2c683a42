#!/bin/bash
# `fragnet capture`: a stack's frames to pcapng, read back with tcpdump and
# with pcapng_read.py (which checks the blocks and prints each packet's
# comment: tcpdump prints none).
#
#   root namespace (kernel stack)        fragnet topology fnt-cap-PID
#
#   [fnt-c<pid>] 10.237.N.1/24 ══ tap ══ nic ── driver/0 ══link0══ stack/0
#   ping, TCP to port 9 (closed)                           10.237.N.2/24
#                                                         capture region
#                                  fragnet capture 0 ◄──────── (memfd)
#
#   1. a capture of every point while the kernel pings the stack and
#      connects to a closed port: tcpdump -r shows the echo request and
#      reply and the SYN and the stack's RST; every packet is commented
#      with its point
#   2. -w - -c 4 streams into `tcpdump -r -`, and stops after 4 packets
#   3. a second capture of the same stack is refused while one runs; the
#      supervisor switches off a capture killed with -9, and the stack can
#      be captured again
#   4. with `tcp dport 9 drop` on input and `icmp type echo-reply drop` on
#      output, -p filter-drop records both drops, each with its hook and
#      the handle nft -a gives its rule
#   5. a ping flood with a ring of 2 slots: every echo answered, the
#      capture counts the copies it dropped (the stack never waits)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${FN_STACK:?}"
command -v tcpdump >/dev/null || fn_skip "no tcpdump (scripts/setup installs it)"
command -v /usr/sbin/nft >/dev/null || fn_skip "no nft"
nic_init cap "fnt-c$$"
fn_net 10.237
fn_bin STACK "$FN_STACK"
tap_topology
fn_up
wait_tap_up
icmp_ping "$STACK_IP" 1 || fail_stats "the stack does not answer pings"

READ=$FN_HERE/pcapng_read.py

# 1. every point
capture_bg all 0 -w "$T/all.pcapng" --timeout 30
icmp_ping "$STACK_IP" 3 || fail_stats "pings under capture"
[[ $(connect9) == refused ]] || fn_fail "port 9 not refused"
capture_end
cat "$T/all.err" >&2
tcpdump -n -r "$T/all.pcapng" > "$T/all.txt" 2> "$T/tcpdump.err" ||
	{ cat "$T/tcpdump.err" >&2; fn_fail "tcpdump cannot read the capture"; }
head -12 "$T/all.txt" >&2
grep -q "$KERNEL_IP > $STACK_IP: ICMP echo request" "$T/all.txt" || fn_fail "no echo request"
grep -q "$STACK_IP > $KERNEL_IP: ICMP echo reply" "$T/all.txt" || fn_fail "no echo reply"
grep -q "> $STACK_IP.9: Flags \[S\]" "$T/all.txt" || fn_fail "no SYN to port 9"
grep -q "$STACK_IP.9 > .*Flags \[R.\]" "$T/all.txt" || fn_fail "no RST from port 9"
python3 "$READ" "$T/all.pcapng" > "$T/all.pkts" || fn_fail "pcapng_read refused the file"
grep -q '^stack0:fn0 .* rx$' "$T/all.pkts" || fn_fail "no rx comment"
grep -q '^stack0:fn0 .* tx$' "$T/all.pkts" || fn_fail "no tx comment"
(( $(wc -l < "$T/all.pkts") == $(wc -l < "$T/all.txt") )) ||
	fn_fail "pcapng_read and tcpdump count different packets"
fn_log "1. ping and TCP to a closed port captured: $(wc -l < "$T/all.txt") packets"

# 2. a pipe into tcpdump, -c 4
icmp_ping "$STACK_IP" 20 --every 0.1 >/dev/null 2>&1 &
LOAD_PIDS+=($!)
timeout 30 "$FRAGNET" capture -T "$NAME" 0 -w - -c 4 -p rx 2> "$T/pipe.err" |
	timeout 30 tcpdump -n -r - > "$T/pipe.txt" 2>/dev/null ||
	{ cat "$T/pipe.err" >&2; fn_fail "capture | tcpdump -r - failed"; }
(( $(wc -l < "$T/pipe.txt") == 4 )) || { cat "$T/pipe.txt" >&2; fn_fail "-c 4 gave not 4 packets"; }
fn_log "2. -w - | tcpdump -r -: 4 packets"

# 3. one capture per stack
capture_exclusive 0 0
capture_bg after 0 -w /dev/null --timeout 5
capture_end
fn_log "3. a second capture refused; a killed one's stack captured again"

# 4. filter drops with their rules' handles
nft0 add table ip f
nft0 add chain ip f in '{ type filter hook input priority 0; policy accept; }'
nft0 add chain ip f out '{ type filter hook output priority 0; policy accept; }'
nft0 add rule ip f in tcp dport 9 drop
nft0 add rule ip f out icmp type echo-reply drop
h_in=$(nft0 -a list chain ip f in | awk '/dport 9 drop/ { print $NF }')
h_out=$(nft0 -a list chain ip f out | awk '/echo-reply drop/ { print $NF }')
[[ $h_in =~ ^[0-9]+$ && $h_out =~ ^[0-9]+$ ]] || fn_fail "no rule handles: '$h_in' '$h_out'"
capture_bg drop 0 -w "$T/drop.pcapng" -p filter-drop --timeout 30
[[ $(connect9) == timeout ]] || fn_fail "port 9 answered through a drop rule"
icmp_ping "$STACK_IP" 1 --every 0.1 >/dev/null 2>&1 && fn_fail "an echo reply got out"
capture_end
python3 "$READ" "$T/drop.pcapng" > "$T/drop.pkts" || fn_fail "pcapng_read refused the drops"
cat "$T/drop.pkts" >&2
grep -q " filter-drop hook input rule handle $h_in$" "$T/drop.pkts" ||
	fn_fail "the SYN's drop lacks rule handle $h_in"
grep -q " filter-drop hook output rule handle $h_out$" "$T/drop.pkts" ||
	fn_fail "the echo reply's drop lacks rule handle $h_out"
grep -v ' filter-drop hook ' "$T/drop.pkts" && fn_fail "-p filter-drop captured another point"
tcpdump -n -r "$T/drop.pcapng" 2>/dev/null | tee "$T/drop.txt" >&2
grep -q "> $STACK_IP.9: Flags \[S\]" "$T/drop.txt" || fn_fail "the dropped SYN is not in the capture"
grep -q "$STACK_IP > $KERNEL_IP: ICMP echo reply" "$T/drop.txt" ||
	fn_fail "the dropped echo reply is not in the capture"
nft0 flush ruleset
fn_log "4. filter drops: input rule $h_in, output rule $h_out"

# 5. a flood through a ring of 2 slots
capture_bg flood 0 -w "$T/flood.pcapng" --ring 2 --timeout 60
icmp_ping "$STACK_IP" 2000 --every 0.0005 > "$T/flood.ping" 2>&1 ||
	{ cat "$T/flood.ping" >&2; fail_stats "the flood was not answered under capture"; }
capture_end
cat "$T/flood.err" >&2
dropped=$(awk '/packets dropped by/ { print $1 }' "$T/flood.err")
captured=$(awk '/packets captured/ { print $1 }' "$T/flood.err")
(( dropped > 0 && captured > 0 )) || fn_fail "flood: captured '$captured', dropped '$dropped'"
python3 "$READ" "$T/flood.pcapng" > /dev/null || fn_fail "pcapng_read refused the flood"
fn_log "5. flood, ring of 2: 2000 echoes answered; $captured captured, $dropped dropped"

topology_down
