#!/bin/bash
# Internal networks, layer 2: ARP across the switch, learning, aging, the
# host port, and port security against a spoofing stack.
#
#   host: tap fnhPID 10.236.N.254 ── port 3 (host port)
#   stack/0 vn 10.236.N.1 ─────────── port 0 ┐
#   stack/1 vn 10.236.N.2 ─────────── port 1 ├ vswitch/vn, age_ms 1500
#   stack/2 fn-test-hostile-port spoof ─ port 2 ┘
#          (10.236.N.3): 3 s of frames from another MAC, another
#          address, ARP with another sender, and good ones
#
#   1. the host pings stack/0 then stack/1: ARP requests are flooded
#      (broadcast), the replies and echoes are not: stack/1 sees no echo
#      meant for stack/0; the switch learnt every MAC
#   2. every spoofed frame the hostile port sent was dropped and counted
#      on its port, by cause; its good frames were forwarded
#   3. aging: 1.5 s without a frame and the switch forgets the MACs
#      (vsw.fdb_aged); a new ping learns them again
#   4. fragnet down: nothing is left, the host tap is gone
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vsw_init vsw-l2
mapfile -t host < <(vsw_host)
vsw_topology pipelines=3 "${host[@]}" "network $VSW_NET.age_ms=1500" \
	"pipeline 2.stack_exec=$HOSTILE" "pipeline 2.stack_args=spoof --ms 3000" \
	"pipeline 2.app_exec=none"
fn_up
wait_running
wait_for 10 vsw_host_ok || fail_stats "the host port $HOST_IF is not up"

# 1.
vsw_ping "$(vsw_ip 0)" 3 || fail_stats "stack/0 does not answer across the switch"
stats_json "$T/s1.json"
stats_py "$T/s1.json" "$VSW_LABEL" <<'PY' || fail_stats "ARP or learning went wrong"
c = counters(sys.argv[1])
sw, s0, s1 = c[sys.argv[2]], c["stack/0"], c["stack/1"]
bad = []
if s0["stack.arp_requests_rx"] < 1 or s0["stack.arp_replies_tx"] < 1:
    bad.append("stack/0 did not answer ARP")
if s0["stack.icmp_echo_replies_tx"] < 3:
    bad.append("stack/0 answered %d echoes" % s0["stack.icmp_echo_replies_tx"])
if s1["stack.icmp_echo_rx"] != 0:
    bad.append("stack/1 got %d echoes meant for stack/0: flooded"
               % s1["stack.icmp_echo_rx"])
if s1["stack.arp_requests_rx"] < 1:
    bad.append("stack/1 did not see the ARP broadcast")
if sw["port3.flooded"] < 1 or sw["port3.rx_pkts"] < 4:
    bad.append("the host port flooded %d, sent %d"
               % (sw["port3.flooded"], sw["port3.rx_pkts"]))
if sw["vsw.fdb_learned"] < 2:
    bad.append("fdb_learned %d" % sw["vsw.fdb_learned"])
if bad:
    sys.exit("; ".join(bad))
PY
vsw_ping "$(vsw_ip 1)" 3 || fail_stats "stack/1 does not answer across the switch"
[[ $(counter "$VSW_LABEL" vsw.fdb_learned) -ge 3 ]] ||
	fail_stats "the switch did not learn the host and both stacks"

# 2. The hostile port has stopped after 3 s.
spoof_over() { [[ $(counter stack/2 hostile.good) -gt 100 ]]; }
wait_for 10 spoof_over || fail_stats "the hostile port did not send"
sleep 3.5
stats_json "$T/s2.json"
stats_py "$T/s2.json" "$VSW_LABEL" <<'PY' || fail_stats "spoofed frames were not all dropped"
c = counters(sys.argv[1])
sw, h = c[sys.argv[2]], c["stack/2"]
want = {"port2.drop_src_mac": h["hostile.spoof_mac"],
        "port2.drop_src_ip": h["hostile.spoof_ip"],
        "port2.drop_arp_spoof": h["hostile.spoof_arp_mac"] +
                                h["hostile.spoof_arp_ip"]}
sent = sum(h["hostile." + k] for k in ("spoof_mac", "spoof_ip",
           "spoof_arp_mac", "spoof_arp_ip", "good"))
print("# hostile sent %d: %s; switch %s" % (sent, h, {k: sw[k] for k in want}),
      file=sys.stderr)
bad = ["%s %d, sent %d" % (k, sw[k], v) for k, v in want.items()
       if sw[k] != v or v == 0]
if sw["port2.rx_pkts"] != sent:
    bad.append("port2.rx_pkts %d, sent %d" % (sw["port2.rx_pkts"], sent))
if sw["port2.flooded"] != h["hostile.good"]:
    bad.append("port2.flooded %d, good %d" % (sw["port2.flooded"], h["hostile.good"]))
for k in ("port0", "port1", "port3"):
    if sw[k + ".drop_src_mac"] or sw[k + ".drop_src_ip"] or sw[k + ".drop_arp_spoof"]:
        bad.append(k + " dropped a frame of its own")
if bad:
    sys.exit("; ".join(bad))
PY

# 3. Nothing has been sent for 3.5 s: every entry aged out.
[[ $(counter "$VSW_LABEL" vsw.fdb_aged) -ge 3 ]] ||
	fail_stats "the switch did not forget idle MACs"
learned=$(counter "$VSW_LABEL" vsw.fdb_learned)
vsw_ping "$(vsw_ip 1)" 2 || fail_stats "stack/1 does not answer after aging"
[[ $(counter "$VSW_LABEL" vsw.fdb_learned) -ge $((learned + 2)) ]] ||
	fail_stats "the switch did not learn again after aging"

# 4.
topology_down
wait_for 10 eval '! ip link show dev "$HOST_IF" >/dev/null 2>&1' ||
	fn_fail "the host tap $HOST_IF is left"
echo "ok: ARP, learning, aging, host port, spoofing"
