#!/bin/bash
# The differential fidelity suite (README.md): every scenario of
# fn-fidelity runs on the kernel's TCP/IP and on a fragnet stack through
# libfragnet-preload.so, against the same peer (peer.py); the transcripts
# must match, scenario by scenario, except the known differences
# (known-differences, each with its reason; docs/preload.md).
#
#  1. kernel: two namespaces joined by a veth pair
#
#     [fnt-fidp<pid>] peer.py  KERNEL_IP ══ veth ══ STACK_IP  [fnt-fida<pid>]
#                                                   fn-fidelity (the preload
#                                                   library in passthrough)
#
#  2. fragnet: the tap's kernel side moved into a namespace (sock_netns)
#
#     [fnt-sock-<pid>] peer.py KERNEL_IP ══ tap ══ nic ─ driver/0 ══ stack/0
#                                            STACK_IP ══ app/0: fn-fidelity
#
#  3. compare: per scenario, the lines of both transcripts; prints
#     "fidelity: N scenarios, M match, K known differences" and fails on
#     any other difference, or on a known difference that is gone (so that
#     the list stays true).
#
# FN_FIDELITY_ONLY="name..." runs those scenarios alone (debugging).
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"

: "${FN_STACK:?}" "${FN_FIDELITY:?}" "${FN_PRELOAD:?}"
HERE=$(cd "$(dirname "$0")" && pwd)
KNOWN=$HERE/known-differences

nic_init "fidelity" "fnt-fid$$"
fn_net 10.232
fn_bin STACK "$FN_STACK"
fn_bin APP "$FN_FIDELITY" fn-fidelity
mkdir -m 1777 "$T/out"
ONLY=(${FN_FIDELITY_ONLY:-})

# peer NS: peer.py in namespace NS, until the teardown (or peer_stop).
peer() {
	ip netns exec "$1" python3 "$HERE/peer.py" --peer "$KERNEL_IP" \
		--app "$STACK_IP" > "$T/peer-$1.out" 2> "$T/peer-$1.err" &
	PEER_PID=$!
	LOAD_PIDS+=("$PEER_PID")
	wait_for 10 grep -q '^ready' "$T/peer-$1.err" ||
		fn_fail "peer.py did not start: $(cat "$T/peer-$1.err")"
}
peer_stop() {
	kill -TERM "$PEER_PID" 2>/dev/null || true
	wait "$PEER_PID" 2>/dev/null || true
}

# 1. the kernel
NSP=fnt-fidp$$ NSA=fnt-fida$$
fn_netns "$NSP" && fn_netns "$NSA" || fn_fail "cannot create namespaces"
ip -n "$NSP" link add fidk$$ type veth peer name fida$$ netns "$NSA" &&
	ip -n "$NSP" link set lo up && ip -n "$NSA" link set lo up &&
	ip -n "$NSP" addr add "$KERNEL_IP/24" dev fidk$$ &&
	ip -n "$NSA" addr add "$STACK_IP/24" dev fida$$ &&
	ip -n "$NSP" link set fidk$$ up && ip -n "$NSA" link set fida$$ up ||
	fn_fail "cannot make the veth pair"
peer "$NSP"
FN_SHOW_ON_FAIL+=("$T/out/kernel")
rc=0
ip netns exec "$NSA" env FRAGNET_PRELOAD_PASSTHROUGH=1 LD_PRELOAD="$FN_PRELOAD" \
	timeout 600 "$APP" "$KERNEL_IP" "$T/out/kernel" "${ONLY[@]}" || rc=$?
[[ $rc == 0 ]] && grep -q '^DONE' "$T/out/kernel" ||
	fn_fail "the kernel run failed (exit $rc)"
peer_stop
ip netns del "$NSA"
ip netns del "$NSP"

# 2. fragnet
RESULTS=$T/out/fragnet
FN_SHOW_ON_FAIL+=("$RESULTS")
tap_topology stack.profile=full stack.gateway="$KERNEL_IP" \
	app.exec="$APP" app.args="--stay $KERNEL_IP $RESULTS ${ONLY[*]}"
fn_up
wait_tap_up
sock_netns
wait_running
peer "$NS"
done_line() { [[ -f $RESULTS ]] && grep -q '^DONE' "$RESULTS"; }
wait_for 600 done_line || fail_stats "fn-fidelity did not finish"
sock_clean stack/0
[[ $(status_field app 0 6) == 0 ]] || fail_stats "the app restarted"
peer_stop
topology_down

# 3.
python3 "$HERE/compare.py" "$T/out/kernel" "$RESULTS" "$KNOWN" ||
	fn_fail "the transcripts differ"
