#!/bin/bash
# fragnet nft: the real nft (1.0.6) against a stack's nf_tables, through
# libfragnet-netlink.so and the stack's control socket; the kernel's
# nftables, in a network namespace of our own, as the reference.
#
#   fragnet topology fnt-nft-PID (no nic: the driver is fn-test-echo)
#
#     driver/0 ══link0══ stack/0 (fragnet-stack 10.241.N.2/24) ── app/0 (sleep, user nobody)
#                           ▲ RUN_DIR/stack0.ctl (0600 in a 0700 dir)
#     fragnet nft 0 ... ────┘   nft + LD_PRELOAD=libfragnet-netlink.so
#
#     network namespace fnt-nft-PID: the kernel's nf_tables, same files
#
#   1. the topology's initial ruleset ([stack] ruleset) is loaded at start
#   2. add/list/delete tables, chains, rules, sets, elements; flushes;
#      nft --echo shows the new rule's handle and the new generation
#   3. nft -f of a ruleset: `list ruleset` identical to the kernel's
#   4. nft -f of a multi-MB ruleset (20,000 rules, a 10,000-element set):
#      identical to the kernel's listing
#   5. the socket as nft needs it, and a 6 MB batch (nl_probe.py check)
#   6. a batch that fails in its last message: the listing and the genid
#      are unchanged
#   7. an expression the evaluator does not support: nft prints the error
#   8. kill -9 stack/0: the supervisor restarts it and loads the last
#      committed ruleset again
#   9. the app (user nobody) cannot reach the control socket: no fd, no
#      path, no environment; nft run as nobody fails; and with the
#      directory opened up, the stack still refuses a non-root peer
#  9b. the host's own nf_tables never saw any of it (fragnet nft runs nft
#      in a network namespace of its own)
#  10. fragnet down: nothing left
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${FN_STACK:?}" "${FN_NETLINK_SHIM:?}"
NFT=/usr/sbin/nft
command -v "$NFT" >/dev/null || fn_skip "no $NFT"

fn_init nft
NS=fnt-nft-$$
fn_net 10.241		# nothing is routed, but be tidy

fn_netns "$NS" || fn_skip "cannot create a network namespace"
kernel() { ip netns exec "$NS" "$NFT" "$@"; }

cat > "$T/initial.nft" <<EOF
table ip boot {
	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr 10.241.$NET.66 counter drop
	}
}
EOF
list0() { nft0 list ruleset; }

fn_nft_stack_up log_level=debug restart.backoff_ms=100 \
	restart.backoff_max_ms=1000 stack.ruleset=initial.nft

# 1. the initial ruleset
loaded() { grep -q "ip saddr 10.241.$NET.66 counter" <<< "$(list0 2>/dev/null)"; }
wait_for 20 loaded || fn_fail "initial ruleset not loaded: $(list0 2>&1)"
fn_log "1. initial ruleset loaded"

# 2. objects one by one
nft0 flush ruleset
nft0 add table inet t
nft0 add chain inet t in '{ type filter hook input priority 0; policy drop; }'
nft0 add chain inet t sub
nft0 add rule inet t in tcp dport 22 counter accept
nft0 add rule inet t in jump sub
nft0 insert rule inet t in iifname lo accept
nft0 add set inet t s '{ type ipv4_addr; flags interval; }'
nft0 add element inet t s '{ 10.241.1.0/24, 10.241.2.7 }'
nft0 add rule inet t sub ip saddr @s drop
echoed=$(nft0 -e -a add rule inet t sub counter)
grep -q '^add rule inet t sub counter packets 0 bytes 0 # handle [0-9]' <<< "$echoed" ||
	fn_fail "nft --echo: $echoed"
grep -q '^# new generation [0-9]* by process [0-9]* (nft)' <<< "$echoed" ||
	fn_fail "nft --echo, no new generation: $echoed"
got=$(list0)
grep -q 'iifname "lo" accept' <<< "$got" || fn_fail "insert: $got"
[[ $(grep -n 'iifname "lo"' <<< "$got" | cut -d: -f1) -lt \
   $(grep -n 'tcp dport 22' <<< "$got" | cut -d: -f1) ]] || fn_fail "insert is not first"
grep -q 'elements = { 10.241.1.0/24, 10.241.2.7 }' <<< "$got" || fn_fail "elements: $got"
nft0 delete element inet t s '{ 10.241.2.7 }'
grep -q 'elements = { 10.241.1.0/24 }' <<< "$(list0)" || fn_fail "delete element"
h=$(nft0 -a list chain inet t in | awk '/tcp dport 22/ { print $NF }')
nft0 delete rule inet t in handle "$h"
grep -q 'tcp dport 22' <<< "$(list0)" && fn_fail "delete rule"
nft0 delete chain inet t sub 2>/dev/null && fn_fail "deleted a chain that is jumped to"
nft0 flush chain inet t in
nft0 delete chain inet t sub
nft0 flush set inet t s
grep -q elements <<< "$(list0)" && fn_fail "flush set"
nft0 delete set inet t s
nft0 delete table inet t
[[ -z $(list0) ]] || fn_fail "not empty after deletes: $(list0)"
fn_log "2. add/list/delete of tables, chains, rules, sets, elements"

# 3. a ruleset against the kernel's
cat > "$T/r1.nft" <<EOF
flush ruleset
table inet filter {
	set blocked {
		type ipv4_addr
		flags interval
		elements = { 10.241.9.0/24, 10.241.10.1 }
	}
	set ports {
		type inet_service
		elements = { 22, 80, 443 }
	}
	map vm {
		type inet_service : verdict
		elements = { 8080 : jump web, 8443 : drop }
	}
	chain web {
		counter accept
	}
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iifname "lo" accept
		ip saddr @blocked drop
		tcp dport @ports counter accept comment "allowed ports"
		tcp dport { 1000, 2000-3000 } accept
		tcp dport vmap @vm
		udp dport 53 limit rate 10/second accept
		icmp type echo-request counter accept
		meta l4proto tcp reject with tcp reset
		reject with icmp type port-unreachable
	}
	chain output {
		type filter hook output priority 0; policy accept;
		ip daddr 10.241.0.0/16 counter
		quota 100 mbytes
	}
}
table ip raw {
	chain pre {
		type filter hook prerouting priority -300;
		ip protocol icmp counter
	}
}
EOF
nft0 -f "$T/r1.nft"
kernel -f "$T/r1.nft"
diff -u <(kernel list ruleset) <(list0) || fn_fail "listing differs from the kernel's"
# Table handles count every table since boot (ours saw others before);
# chain, rule and set handles count per table, from its creation.
no_table_handle() { sed -E 's/^(table .*) # handle [0-9]+$/\1/'; }
diff -u <(kernel -a list ruleset | no_table_handle) \
	<(nft0 -a list ruleset | no_table_handle) || fn_fail "handles differ from the kernel's"
fn_log "3. list ruleset (and per-table handles) identical to the kernel's"

# 4. multi-MB
python3 - "$T/big.nft" <<'EOF'
import sys
l = ["flush ruleset", "table ip big {", "\tset s {", "\t\ttype ipv4_addr",
     "\t\telements = { " + ", ".join("10.241.%d.%d" % (i // 250, i % 250 + 1)
                                     for i in range(10000)) + " }", "\t}",
     "\tchain c {", "\t\ttype filter hook input priority filter; policy accept;"]
for i in range(20000):
    l.append("\t\tip saddr 10.241.%d.%d tcp dport %d counter accept"
             % ((i // 250) % 250, i % 250 + 1, 1000 + i % 5000))
l += ["\t\tip saddr @s drop", "\t}", "}"]
open(sys.argv[1], "w").write("\n".join(l) + "\n")
EOF
FN_BOUND=120 nft0 -f "$T/big.nft"
kernel -f "$T/big.nft"
diff -q <(kernel list ruleset) <(FN_BOUND=120 list0) >/dev/null ||
	fn_fail "multi-MB listing differs from the kernel's"
fn_log "4. $(stat -c %s "$T/big.nft")-byte ruleset: listing identical to the kernel's"
nft0 -f "$T/r1.nft"

# 5. the socket, as nft needs it
probe() {
	LD_PRELOAD=$FN_NETLINK_SHIM FRAGNET_NFT_CONTROL=$CTL \
		timeout 60 python3 "$FN_HERE/nl_probe.py" "$@"
}
probe check || fn_fail "nl_probe check"
fn_log "5. socket semantics and a 6 MB batch"

# 6. a failing batch changes nothing
before=$(list0)
gen=$(probe genid)
cat > "$T/bad.nft" <<EOF
add table ip t3
add chain ip t3 c
add rule ip t3 c counter
create table inet filter
EOF
if nft0 -f "$T/bad.nft" 2> "$T/bad.err"; then
	fn_fail "a batch with create of an existing table succeeded"
fi
grep -q "File exists" "$T/bad.err" || fn_fail "no EEXIST from nft: $(cat "$T/bad.err")"
[[ $(list0) == "$before" ]] || fn_fail "a failed batch changed the ruleset"
[[ $(probe genid) == "$gen" ]] || fn_fail "a failed batch changed the genid"
nft0 add table ip t4
[[ $(probe genid) != "$gen" ]] || fn_fail "a commit left the genid"
nft0 delete table ip t4
fn_log "6. failing batch: ruleset and genid $gen unchanged"

# 7. unsupported expression
if nft0 add rule inet filter output osf name Linux counter 2> "$T/osf.err"; then
	fn_fail "osf was accepted"
fi
grep -q "Could not process rule: Operation not supported" "$T/osf.err" ||
	fn_fail "nft did not print the refusal: $(cat "$T/osf.err")"
fn_log "7. unsupported expression refused: $(head -1 "$T/osf.err")"

# 8. restart reloads the last committed ruleset
before=$(list0)
pid=$(status_field stack 0 3)
kill -KILL "$pid"
reloaded() {
	[[ $(status_field stack 0 6) -ge 1 && $(status_field stack 0 5) == running ]] &&
		[[ $(list0 2>/dev/null) == "$before" ]]
}
wait_for 20 reloaded || fn_fail "after the restart: $(list0 2>&1)"
fn_log "8. stack restarted; ruleset reloaded"

# 9. the app cannot reach the rules
app=$(status_field app 0 3)
[[ $(stat -c %U "/proc/$app") == nobody ]] || fn_fail "the app is not nobody"
if tr '\0' '\n' < "/proc/$app/environ" | grep -q "RUN_DIR\|NFT_CONTROL\|CONFIG"; then
	fn_fail "the app's environment names the run dir"
fi
ctl_ino=$(awk -v p="$RUN_DIR/stack0.ctl" '$8 == p { print $7 }' /proc/net/unix)
for fd in /proc/"$app"/fd/*; do
	[[ $(readlink "$fd") != "socket:[$ctl_ino]" ]] || fn_fail "the app holds the control socket"
done
if runuser -u nobody -- env LD_PRELOAD="$FN_NETLINK_SHIM" \
	FRAGNET_NFT_CONTROL="$RUN_DIR/stack0.ctl" "$NFT" list ruleset \
	> "$T/nobody.out" 2>&1; then
	fn_fail "nobody listed the rules: $(cat "$T/nobody.out")"
fi
refused() { counter stack/0 stack.control_refused; }
r0=$(refused)
chmod 711 "$RUN_DIR"
chmod 666 "$RUN_DIR/stack0.ctl"
if runuser -u nobody -- env LD_PRELOAD="$FN_NETLINK_SHIM" \
	FRAGNET_NFT_CONTROL="$RUN_DIR/stack0.ctl" timeout 10 "$NFT" add table ip evil \
	> "$T/nobody.out" 2>&1; then
	fn_fail "nobody changed the rules"
fi
chmod 700 "$RUN_DIR"
chmod 600 "$RUN_DIR/stack0.ctl"
[[ $(refused) -gt ${r0:-0} ]] || fn_fail "the stack did not count a refused peer"
grep -q evil <<< "$(list0)" && fn_fail "table evil exists"
fn_log "9. the app and non-root users cannot reach the rules"

# 9b. fragnet nft runs nft in a network namespace of its own, so nothing
# of ours ever reaches the host's nf_tables (not even if the shim failed
# to load); the host's tables named like ours would be a leak.
"$NFT" list tables 2>/dev/null | grep -qw boot &&
	fn_fail "a table 'boot' is in the host's nf_tables"
fn_log "9b. the host's nf_tables never saw the stack's ruleset"

# 10. down
topology_down
echo "PASS: fragnet nft"
