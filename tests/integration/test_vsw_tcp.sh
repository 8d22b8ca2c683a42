#!/bin/bash
# Internal networks, TCP: an app on pipeline 1 streams 1 GiB to an app on
# pipeline 0 through the switch, and every byte comes back checked.
#
#   pipeline 0 (no driver)                  pipeline 1 (no driver)
#   app/0 fn-test-tcp-echo :7000            app/1 sock_tcp_load.py (python3,
#     ║ (preload)                             ║  preload): 64 connections of
#   stack/0 netif vn 10.236.N.1             stack/1 netif vn 10.236.N.2
#     ║ link                                  ║ link
#   port 0 ──── vswitch/vn 10.236.N.0/24 ──── port 1
#
#   1. status: the switch runs as "vswitch", PIPELINE -, NETWORKS vn; each
#      stack shows vn; the stacks have no uplink (no fn0 counters)
#   2. 64 connections x 16 MiB (1 GiB in all; FN_VSW_TCP_BYTES per
#      connection), echoed and compared byte for byte, then a clean EOF
#      each, and 4 more that must see a reset (sock_tcp_load.py)
#   3. the counters agree: the switch forwarded at least 1 GiB each way,
#      learnt both MACs, dropped nothing sent by a stack; the echo server
#      saw every byte
#   4. fragnet down: nothing is left
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BYTES=${FN_VSW_TCP_BYTES:-16777216}
CONNS=64
RSTS=4

vsw_init vsw-tcp
mapfile -t load < <(vsw_load 1 "$T/load.json" --conns $CONNS --bytes "$BYTES" \
	--rst $RSTS --time-limit 110 --stall 20)
vsw_topology "${load[@]}"
FN_SHOW_ON_FAIL+=("$T/load.json.err")
fn_up
wait_running

# 1.
[[ $(vswitch_field "$VSW_NET" 2) == - ]] || fn_fail "the switch has a pipeline"
[[ $(vswitch_field "$VSW_NET" 8) == "$VSW_NET" ]] ||
	fn_fail "no switch of $VSW_NET in status: $(fn status "$NAME")"
for p in 0 1; do
	[[ $(status_field stack $p 8) == "$VSW_NET" ]] ||
		fn_fail "stack/$p is not on $VSW_NET: $(fn status "$NAME")"
done
stats_json "$T/s0.json"
[[ $(counter_of "$T/s0.json" stack/0 if.fn0.rx_frames) == -1 &&
   $(counter_of "$T/s0.json" stack/0 "if.$VSW_NET.rx_frames") != -1 ]] ||
	fail_stats "stack/0 should have a netif $VSW_NET and no uplink"

# 2.
wait_for 120 vsw_load_done "$T/load.json" || fail_stats "the load did not end"
vsw_load_check "$T/load.json" "$BYTES" || fail_stats "the TCP load failed"

# 3.
stats_json "$T/s1.json"
stats_py "$T/s1.json" "$VSW_LABEL" $((CONNS * BYTES)) $CONNS <<'PY' ||
c = counters(sys.argv[1])
sw, least = c[sys.argv[2]], int(sys.argv[3])
def tot(pfx, names):
    return sum(sw.get(pfx + n, 0) for n in names)
drops = ["drop_runt", "drop_src_mac", "drop_src_ip", "drop_arp_spoof",
         "drop_malformed", "drop_vlan", "drop_ethertype"]
bad = []
for p in (0, 1):
    if sw["port%d.rx_bytes" % p] < least:
        bad.append("port%d.rx_bytes %d < %d" % (p, sw["port%d.rx_bytes" % p], least))
    if tot("port%d." % p, drops):
        bad.append("port%d dropped its stack's frames" % p)
    if sw["port%d.link_broken" % p]:
        bad.append("port%d cut off" % p)
if sw["vsw.fdb_learned"] < 2:
    bad.append("fdb_learned %d" % sw["vsw.fdb_learned"])
echo = c["app/0"]
if echo["tcp_echo.bytes_in"] < least or echo["tcp_echo.eof"] < int(sys.argv[4]):
    bad.append("the echo server saw %d bytes" % echo["tcp_echo.bytes_in"])
print("# switch: port0 rx %d tx %d, port1 rx %d tx %d, turns %d, sleeps %d"
      % (sw["port0.rx_bytes"], sw["port0.tx_bytes"], sw["port1.rx_bytes"],
         sw["port1.tx_bytes"], sw["vsw.turns"], sw["vsw.sleeps"]), file=sys.stderr)
if bad:
    sys.exit("; ".join(bad))
PY
	fail_stats "the counters do not add up"
[[ $(vswitch_field "$VSW_NET" 6) == 0 ]] || fail_stats "the switch restarted"

# 4.
topology_down
echo "ok: $CONNS connections of $BYTES bytes across the switch"
