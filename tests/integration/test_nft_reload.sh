#!/bin/bash
# `fragnet nft` changes a stack's ruleset while the stock redis-server
# (libfragnet-preload.so) serves the kernel's redis-benchmark through the
# tap NIC (the topology of test_redis.sh, redis_lib.sh, on a free
# 10.241.N.0/24, N >= 231).
#
#   root namespace (kernel stack)         fragnet topology fnt-redis-nft-CASE-PID
#   redis-benchmark, redis-cli            nic - driver/0 ══ stack/0 ══ app/0
#   [fnrPID] 10.241.N.1/24 ═══ tap ═══         10.241.N.2/24    redis-server :6379
#
# One case per run (test_nft_reload.sh CASE):
#   swap   hot reload under load: SWAPS (1,000) `nft -f` batches alternate
#          the input base chain between `jump vA` and `jump vB` while
#          redis-benchmark runs, bounded runs back to back until the swaps
#          end.  Every run completes every request (exit 0, a row per
#          test, and the INCR key counts every INCR of every run).  Chains
#          vA and vB live for the whole run, each a single `counter
#          accept`, so their counters are never re-created (the server
#          carries a rule's counter across commits); each packet that
#          reaches input goes through exactly one of them.  Proof: vA + vB
#          == stack.filter_judged_rx (incremented once per packet judged
#          at input), both > 0.  A packet judged by a mix of versions, by
#          none, or twice breaks the equality.
#   block  a rule that blocks the Redis port takes effect for the very next
#          packet after nft returns: on a connected, idle client,
#          `tcp dport 6379 counter reject with tcp reset` makes the next
#          PING fail with a reset, and the rule counted exactly that one
#          packet; `counter drop` leaves the next PING unanswered (counted),
#          and once the rule is deleted its retransmission is answered on
#          the same connection.  Then `meta skuid` (input) and `meta
#          skgid` (output) of the app's user count its segments.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

CASE=${1:?usage: test_nft_reload.sh swap|block}
SWAPS=${FN_NFT_SWAPS:-1000}

command -v /usr/sbin/nft >/dev/null || fn_skip "no nft"
redis_need_fragnet "nft-reload"
# The nft worker's range (10.241.N, N >= 231), not the Redis tests' 10.240/16.
redis_init "nft-$CASE" 10.241 231

# rule_pkts CHAIN: the packets of the first counter in chain ip fnr CHAIN.
rule_pkts() {
	nft0 list chain ip fnr "$1" |
		awk '{ for (i = 1; i < NF; i++) if ($i == "packets") { print $(i + 1); exit } }'
}

# ---- swap ---------------------------------------------------------------

BENCH_N=20000	# requests per test per redis-benchmark run

bench_loop() {
	local i=0
	while [[ ! -e $T/swaps.done ]]; do
		i=$((i + 1))
		rbench "$T/bench.$i.csv" -n "$BENCH_N" -c 50 -t set,get,incr ||
			{ echo "run $i failed" > "$T/bench.failed"; return 1; }
		check_csv "$T/bench.$i.csv" 3 2>> "$T/bench.rows" ||
			{ echo "run $i: bad csv" > "$T/bench.failed"; return 1; }
		echo "$i" > "$T/bench.runs"
	done
}

case_swap() {
	local j0 j1 a b i t0 t1 runs incr

	redis_up 1
	cat > "$T/init.nft" <<EOF
flush ruleset
table ip fnr {
	chain vA { counter accept; }
	chain vB { counter accept; }
	chain in {
		type filter hook input priority 0; policy accept;
		jump vA
	}
}
EOF
	printf 'flush chain ip fnr in\nadd rule ip fnr in jump vA\n' > "$T/A.nft"
	printf 'flush chain ip fnr in\nadd rule ip fnr in jump vB\n' > "$T/B.nft"
	# Without a ruleset nothing is judged: j0 is where counting starts.
	j0=$(counter stack/0 stack.filter_judged_rx)
	nft0 -f "$T/init.nft" || fail_stats "loading init.nft"
	rcli SET fnr:warm 1 >/dev/null

	bench_loop &
	LOAD_PIDS+=($!)
	local bpid=$!
	wait_for 30 test -e "$T/bench.1.csv" || fail_stats "redis-benchmark did not start"
	t0=$(date +%s.%N)
	for ((i = 1; i <= SWAPS; i++)); do
		if (( i % 2 )); then
			nft0 -f "$T/B.nft" || fail_stats "swap $i to B"
		else
			nft0 -f "$T/A.nft" || fail_stats "swap $i to A"
		fi
		[[ -e $T/bench.failed ]] && fail_stats "redis-benchmark: $(cat "$T/bench.failed")"
	done
	t1=$(date +%s.%N)
	touch "$T/swaps.done"
	wait "$bpid" || fail_stats "redis-benchmark: $(cat "$T/bench.failed" 2>/dev/null)"
	runs=$(cat "$T/bench.runs")
	fn_log "$SWAPS swaps in $(echo "$t1 - $t0" | bc) s while $runs redis-benchmark runs (-n $BENCH_N -c 50 -t set,get,incr) completed"
	(( runs >= 1 )) || fail_stats "no redis-benchmark run completed"
	# Every INCR of every run arrived exactly once.
	incr=$(rcli GET counter:__rand_int__ | tr -d '\r')
	[[ $incr == $((runs * BENCH_N)) ]] ||
		fail_stats "INCR count $incr, want $((runs * BENCH_N)) ($runs runs)"

	# The last swap (SWAPS odd -> B) is in force.
	want=$(( SWAPS % 2 ? 1 : 0 ))
	grep -q "jump v$( ((want)) && echo B || echo A)" <<< "$(nft0 list chain ip fnr in)" ||
		fail_stats "last swap not in force: $(nft0 list chain ip fnr in)"
	# Quiet now: read until the stack's count and the rules' agree on a
	# stable value (a late retransmission or FIN may still arrive).
	for i in $(seq 20); do
		j1=$(counter stack/0 stack.filter_judged_rx)
		a=$(rule_pkts vA)
		b=$(rule_pkts vB)
		[[ $(counter stack/0 stack.filter_judged_rx) == "$j1" ]] && (( a + b == j1 - j0 )) && break
		sleep 0.5
	done
	fn_log "vA $a + vB $b = $((a + b)) packets; stack.filter_judged_rx $((j1 - j0))"
	(( a + b == j1 - j0 )) ||
		fail_stats "vA $a + vB $b != filter_judged_rx $((j1 - j0)): a packet judged twice, by none or by a mix"
	(( a > 0 && b > 0 )) || fail_stats "a version judged nothing: vA $a vB $b"
}

# ---- block --------------------------------------------------------------

# next_ping MODE BLOCK_CMD [UNBLOCK_CMD]: connect, PING, run BLOCK_CMD,
# PING at once; MODE reset: the PING must fail with a reset; MODE drop: no
# reply within 3 s, then UNBLOCK_CMD, then the same PING answered.
next_ping() {
	timeout 60 python3 - "$STACK_IP" "$KERNEL_IP" "$@" <<'PY'
import socket, subprocess, sys
ip, src, mode, block = sys.argv[1:5]
unblock = sys.argv[5] if len(sys.argv) > 5 else None
s = socket.create_connection((ip, 6379), timeout=10, source_address=(src, 0))
s.sendall(b"PING\r\n")
assert s.recv(64) == b"+PONG\r\n", "no PONG before the rule"
subprocess.run(block, shell=True, check=True)
s.sendall(b"PING\r\n")
if mode == "reset":
    s.settimeout(5)
    try:
        r = s.recv(64)
        sys.exit("after the reject rule: %r, not a reset" % r)
    except ConnectionResetError:
        print("reset")
    sys.exit(0)
s.settimeout(3)
try:
    r = s.recv(64)
    sys.exit("after the drop rule the PING was answered: %r" % r)
except socket.timeout:
    pass
subprocess.run(unblock, shell=True, check=True)
s.settimeout(20)	# the kernel retransmits the PING
r = s.recv(64)
assert r == b"+PONG\r\n", "after the rule was deleted: %r" % r
print("answered")
PY
}

case_block() {
	local nft h out
	nft=$(nft0_script)

	redis_up 1
	nft0 add table ip fnr
	nft0 add chain ip fnr in '{ type filter hook input priority 0; policy accept; }'
	# reject: the very next packet is refused and counted, once.
	out=$(next_ping reset "$nft add rule ip fnr in tcp dport $REDIS_PORT counter reject with tcp reset") ||
		fail_stats "reject: $out"
	[[ $out == reset ]] || fail_stats "reject: $out"
	[[ $(rule_pkts in) == 1 ]] ||
		fail_stats "reject rule counted $(rule_pkts in), want 1: $(nft0 list chain ip fnr in)"
	redis_pings && fail_stats "PING answered through the reject rule"
	fn_log "reject with tcp reset: the next PING was reset, 1 packet counted"

	# drop, then delete: the same connection flows again.
	nft0 flush chain ip fnr in
	redis_pings || fail_stats "no PING after flush chain"
	out=$(next_ping drop "$nft add rule ip fnr in tcp dport $REDIS_PORT counter drop" \
		"$nft -a list chain ip fnr in | awk '/counter/ { print \$NF }' | xargs -r -I{} $nft delete rule ip fnr in handle {}") ||
		fail_stats "drop: $out"
	[[ $out == answered ]] || fail_stats "drop: $out"
	[[ -z $(nft0 list chain ip fnr in | grep counter) ]] || fail_stats "drop rule not deleted"
	redis_pings || fail_stats "no PING after the drop rule was deleted"
	h=$(counter stack/0 stack.filter_drop_rx)
	(( h >= 2 )) || fail_stats "filter_drop_rx $h: the reset and the drop"
	fn_log "drop: the next PING unanswered; rule deleted: answered on the same connection"

	# meta skuid/skgid: the app's user owns the stack's sockets, on
	# input (a connected flow, as the kernel's early demux) and output.
	local uid gid
	uid=$(id -u "$APP_USER") gid=$(id -g "$APP_USER")
	nft0 add rule ip fnr in tcp dport "$REDIS_PORT" meta skuid "$uid" counter
	nft0 add chain ip fnr out '{ type filter hook output priority 0; policy accept; }'
	nft0 add rule ip fnr out tcp sport "$REDIS_PORT" meta skgid "$gid" counter
	redis_pings || fail_stats "no PING with the skuid rules"
	(( $(rule_pkts in) >= 1 && $(rule_pkts out) >= 1 )) ||
		fail_stats "meta skuid $uid / skgid $gid: $(nft0 list table ip fnr)"
	fn_log "meta skuid $uid on input, skgid $gid on output: the app's segments counted"
}

case "$CASE" in
swap) case_swap ;;
block) case_block ;;
*) echo "unknown case $CASE" >&2; exit 2 ;;
esac
fn down "$NAME" >/dev/null
echo "PASS: nft-reload $CASE"
