#!/bin/bash
# redirect inside the stack (issue 16): `tcp dport 7000 redirect to :7001`
# in a nat prerouting chain sends the kernel's connections to port 7000
# to the app listening on 7001, and the stack's answers leave from 7000.
#
#   netns fnt-sock-PID (kernel stack)      fragnet topology fnt-nftredir-PID
#
#   [fnt-rd<pid>] 10.238.N.1/24 ══ tap ══ nic ── driver/0 ══link0══ stack/0 ══ app/0
#   sock_tcp_load.py                                10.238.N.2/24      fn-test-tcp-echo 7001
#     -> 10.238.N.2:7000                            ruleset: fragnet nft
#
#   1. without a ruleset 7000 is refused (nobody listens there)
#   2. with the redirect: 20 connections to 7000 carry 64 KiB each, echoed
#      and checked byte for byte, EOF after exactly their bytes, and 5
#      more see the app's abort as ECONNRESET (the stack's RST, rewritten
#      too).  The kernel's TCP takes a SYN-ACK from 7000 only: one from
#      7001 would be answered with a reset, and no connection would open
#   3. the counters agree: the nat rule saw each connection's first
#      packet once; input saw 7001 only, a postrouting chain after the
#      NAT hook (priority 200) the stack's packets from 7000 only
#   4. straight to 7001 still works, and is not rewritten
#   5. flush ruleset: 7000 is refused again
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${FN_STACK:?}" "${FN_TEST_TCP_ECHO:?}"
command -v /usr/sbin/nft >/dev/null || fn_skip "no nft"
CONNS=20 RSTS=5 BYTES=65536
PORT=7001

sock_init "nftredir" "fnt-rd$$" "$FN_TEST_TCP_ECHO"
sock_topology
sock_up

# connect_to PORT: one connection attempt from the kernel side; prints
# refused, timeout or "connected PEERPORT".
connect_to() {
	kx timeout 10 python3 - "$STACK_IP" "$1" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(3)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    s.sendall(b"ping")
    got = b""
    while len(got) < 4:
        b = s.recv(4 - len(got))
        if not b:
            break
        got += b
    print("connected", s.getpeername()[1], got.decode(errors="replace"))
except ConnectionRefusedError:
    print("refused")
except (socket.timeout, TimeoutError):
    print("timeout")
PY
}

# ctr TEXT: the packets of the counter on the last rule whose line has
# TEXT (the nat table is listed first: "dport 7000" is input's rule).
ctr() {
	nft0 list ruleset | awk -v t="$1" 'index($0, t) {
		for (i = 1; i < NF; i++) if ($i == "packets") n = $(i + 1) }
		END { print n + 0 }'
}

# 1.
[[ $(connect_to 7000) == refused ]] || fn_fail "7000 answered without a ruleset"
fn_log "1. no ruleset: 7000 refused"

# 2.
cat > "$T/redir.nft" <<'EOF'
table ip nat {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport 7000 counter redirect to :7001
	}
}
table ip f {
	chain in {
		type filter hook input priority filter; policy accept;
		tcp dport 7001 counter
		tcp dport 7000 counter
	}
	chain post {
		type filter hook postrouting priority 200; policy accept;
		tcp sport 7000 counter
		tcp sport 7001 counter
	}
}
EOF
nft0 -f "$T/redir.nft"
PORT=7000 tcp_load "$T/load.json" 120 --conns "$CONNS" --bytes "$BYTES" \
	--rst "$RSTS" --time-limit 100 || fail_stats "the load through the redirect failed"
fn_log "2. $CONNS + $RSTS connections to 7000 served by the app on 7001"

# 3.
nat=$(ctr "redirect to :7001") in1=$(ctr "dport 7001") in0=$(ctr "dport 7000")
out0=$(ctr "sport 7000") out1=$(ctr "sport 7001")
fn_log "nat $nat, input 7001 $in1 7000 $in0, postrouting 7000 $out0 7001 $out1"
(( nat == CONNS + RSTS )) || fn_fail "the nat rule counted $nat first packets"
(( in1 > 0 && in0 == 0 )) || fn_fail "input saw 7000 ($in0) or no 7001 ($in1)"
(( out0 > 0 && out1 == 0 )) || fn_fail "postrouting saw 7001 ($out1) or no 7000 ($out0)"
fn_log "3. counters: every packet rewritten, both ways"

# 4.
r=$(connect_to 7001)
[[ $r == "connected 7001 ping" ]] || fn_fail "straight to 7001: $r"
(( $(ctr "sport 7001") > 0 )) || fn_fail "the straight flow's replies were not from 7001"
r=$(connect_to 7000)
[[ $r == "connected 7000 ping" ]] || fn_fail "through the redirect: $r"
fn_log "4. straight to 7001 and redirected from 7000 side by side"

# 5.
nft0 flush ruleset
[[ $(connect_to 7000) == refused ]] || fn_fail "7000 answered after flush ruleset"
fn_log "5. flush ruleset: 7000 refused again"
