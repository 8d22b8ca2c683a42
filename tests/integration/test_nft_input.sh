#!/bin/bash
# fragnet nft takes its input every way nft does: standard input (-f -,
# -f /dev/stdin), interactive (-i), --echo (-e) and JSON (-j), each compared
# with the same nft against the kernel's nf_tables in a network namespace.
#
#   fragnet topology fnt-nft-input-PID (no nic: the drivers are fn-test-echo)
#
#     driver/0 ══link0══ stack/0 (fragnet-stack) ── app/0 (sleep, user nobody)
#     driver/1 ══link1══ stack/1 (fragnet-stack) ── app/1 (sleep, user nobody)
#                           ▲ RUN_DIR/stack<i>.ctl
#     fragnet nft 0|1|all ──┘   nft + LD_PRELOAD=libfragnet-netlink.so
#
#     network namespace fnt-nfti-PID: the kernel's nf_tables, same input
#
#   1. -f - and -f /dev/stdin: the ruleset from a pipe is loaded (before,
#      nft read /dev/null, returned 0 and loaded nothing); `list ruleset`
#      equals the kernel's
#   2. all -f -: one piped input reaches every stack, both listings equal
#   3. all -i from a terminal is refused (it would ask once per stack)
#   4. -i: commands piped to interactive nft, output equals the kernel's
#   5. -e (--echo) of an added rule and set element: equal to the kernel's
#   6. -j: JSON output of list ruleset equal to the kernel's; -j -f - loads
#      a JSON ruleset from standard input, listing equal to the kernel's
#   7. a ruleset with an error on stdin: nft's non-zero exit comes back
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${FN_STACK:?}" "${FN_NETLINK_SHIM:?}"
NFT=/usr/sbin/nft
command -v "$NFT" >/dev/null || fn_skip "no $NFT"

fn_init nft-input
NS=fnti-$$
fn_net 10.241		# nothing is routed, but be tidy
fn_netns "$NS" || fn_skip "cannot create a network namespace"
kernel() { ip netns exec "$NS" "$NFT" "$@"; }
nft1() { fn nft -T "$NAME" 1 "$@"; }
nft_all() { fn nft -T "$NAME" all "$@"; }
# Both sides empty, for the next step.
flush_both() {
	nft_all flush ruleset
	kernel flush ruleset
}
# Generation ids and nft's pid differ by history, not by meaning.
nogen() { sed -E 's/^# new generation [0-9]+ by process [0-9]+ \(nft\)$/# new generation G/'; }
same() {	# what, stack's output, kernel's output
	[[ $2 == "$3" ]] && return 0
	diff <(echo "$3") <(echo "$2") >&2 || true
	fn_fail "$1: the stack's output differs from the kernel's (- kernel, + stack)"
}

cat > "$T/rules.nft" <<EOF
table inet filt {
	set allowed {
		type ipv4_addr
		elements = { 10.241.$NET.1, 10.241.$NET.7 }
	}

	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr @allowed counter accept
		tcp dport 6379 ip saddr != 10.241.$NET.1 counter drop
	}
}
EOF

fn_nft_stack_up pipelines=2

# 1. -f - and -f /dev/stdin
nft0 -f - < "$T/rules.nft" || fn_fail "nft -f - failed"
kernel -f - < "$T/rules.nft"
out=$(nft0 list ruleset)
[[ $out == *"tcp dport 6379"* ]] || fn_fail "-f - loaded nothing: $out"
same "-f -" "$out" "$(kernel list ruleset)"
flush_both
nft0 -f /dev/stdin < "$T/rules.nft" || fn_fail "nft -f /dev/stdin failed"
kernel -f /dev/stdin < "$T/rules.nft"
same "-f /dev/stdin" "$(nft0 list ruleset)" "$(kernel list ruleset)"
fn_log "1. -f - and -f /dev/stdin load the ruleset as on the kernel"

# 2. all -f -: every stack gets the whole input
flush_both
cat "$T/rules.nft" | nft_all -f - || fn_fail "all -f - failed"
kernel -f - < "$T/rules.nft"	# the same history: handles stay equal
want=$(nft0 list ruleset)
[[ $want == *"tcp dport 6379"* ]] || fn_fail "all -f -: stack 0 loaded nothing"
same "all -f - (stack 1)" "$(nft1 list ruleset)" "$want"
fn_log "2. all -f -: one piped input reached both stacks"

# 3. all with input from a terminal is refused (script(1) gives a tty)
if command -v script >/dev/null; then
	if script -qec "timeout 10 $FRAGNET nft -T $NAME all -i" /dev/null \
		< /dev/null > "$T/tty.out" 2>&1; then
		fn_fail "all -i on a terminal was not refused"
	fi
	grep -q "name one pipeline" "$T/tty.out" ||
		fn_fail "all -i: no reason given: $(cat "$T/tty.out")"
	fn_log "3. all -i on a terminal: refused with a reason"
fi

# 4. -i: interactive nft reading commands from standard input
flush_both
cmds=$(printf 'add table ip t\nadd chain ip t c { type filter hook input priority 0; }\nadd rule ip t c ip saddr 10.241.%s.9 drop\nlist ruleset\n' "$NET")
same "-i" "$(nft0 -i <<< "$cmds")" "$(kernel -i <<< "$cmds")"
fn_log "4. -i: the same output as the kernel's"

# 5. --echo of a rule and an element (handles included)
flush_both
nft0 -f - < "$T/rules.nft"
kernel -f - < "$T/rules.nft"
same "-e add rule" \
	"$(nft0 -e -a add rule inet filt input udp dport 53 counter accept | nogen)" \
	"$(kernel -e -a add rule inet filt input udp dport 53 counter accept | nogen)"
same "-e add element" \
	"$(nft0 -e add element inet filt allowed "{ 10.241.$NET.8 }" | nogen)" \
	"$(kernel -e add element inet filt allowed "{ 10.241.$NET.8 }" | nogen)"
fn_log "5. --echo: the same as the kernel's"

# 6. JSON out, and JSON in from standard input
json=$(kernel -j list ruleset)
same "-j list ruleset" "$(nft0 -j list ruleset)" "$json"
flush_both
nft0 -j -f - <<< "$json" || fn_fail "nft -j -f - failed"
kernel -j -f - <<< "$json"
same "-j -f -" "$(nft0 list ruleset)" "$(kernel list ruleset)"
[[ $(nft0 list ruleset) == *"udp dport 53"* ]] || fn_fail "-j -f - loaded nothing"
fn_log "6. -j: JSON listing and JSON input as on the kernel"

# 7. an error in piped input: nft's exit status, not 0
if printf 'add table ip x\nadd rule ip x nochain drop\n' | nft0 -f - 2>/dev/null; then
	fn_fail "a bad ruleset on stdin returned 0"
fi
fn_log "7. a bad ruleset on stdin fails as nft does"

topology_down
echo "ok: nft input modes match the kernel's"
