#!/bin/bash
# Internal networks, hostile ports: a stack that floods the switch and one
# that writes garbage descriptors neither crash the switch nor starve the
# other ports, whose load goes on, every byte checked.
#
#   app/0 fn-test-tcp-echo  stack/0 vn .1 ── port 0 ┐
#   app/1 sock_tcp_load.py  stack/1 vn .2 ── port 1 ├ vswitch/vn
#   fn-test-hostile-port flood    (.3)   ── port 2 │  (never restarts)
#   fn-test-hostile-port garbage  (.4)   ── port 3 ┘
#
#   1. while the load runs (16 x 16 MiB, echoed and checked byte for byte),
#      port 2 floods broadcast frames as fast as its link takes them, for
#      20 s, and port 3 writes garbage into its submit ring and exits, 3
#      times (restarted by the supervisor; then it idles)
#   2. the load passes; the switch never restarted; it cut port 3 off
#      three times (link_broken, the link's bad_* counters) and took it
#      back after each reset; port 2's frames were forwarded, at most
#      FN_VSW_BURST a turn like any port's
#   3. fragnet down: nothing is left
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BYTES=$((16 << 20))
CONNS=16

vsw_init vsw-hostile
mapfile -t load < <(vsw_load 1 "$T/load.json" --conns $CONNS --bytes $BYTES \
	--rst 0 --time-limit 100 --stall 30)
vsw_topology pipelines=4 "${load[@]}" \
	"pipeline 2.stack_exec=$HOSTILE" "pipeline 2.stack_args=flood --ms 20000" \
	"pipeline 2.app_exec=none" \
	"pipeline 3.stack_exec=$HOSTILE" \
	"pipeline 3.stack_args=garbage --rounds 3 --state $T/garbage.state" \
	"pipeline 3.app_exec=none" restart.crash_loop_limit=10
FN_SHOW_ON_FAIL+=("$T/load.json.err")
fn up "$CONF" -d >&2 || fn_fail "up -d failed"
sw=$(vswitch_field "$VSW_NET" 3)

# 1.
garbage_done() { [[ $(cat "$T/garbage.state" 2>/dev/null) == 3 ]]; }
wait_for 60 garbage_done || fail_stats "the garbage port did not attack 3 times"
wait_for 120 vsw_load_done "$T/load.json" || fail_stats "the load did not end"

# 2.
vsw_load_check "$T/load.json" $BYTES || fail_stats "the flood or the garbage broke the load"
[[ $(vswitch_field "$VSW_NET" 3) == "$sw" && $(vswitch_field "$VSW_NET" 6) == 0 ]] ||
	fail_stats "the switch died"
back() { [[ $(status_field stack 3 5) == running ]]; }
wait_for 10 back || fail_stats "the garbage port is not back"
# The flood runs 20 s, the load may end before it: wait until the switch
# has taken every frame the flood sent (both counters still, and equal).
flood_drained() {
	local now
	stats_json "$T/f.json"
	now=$(stats_py "$T/f.json" "$VSW_LABEL" <<'PY'
c = counters(sys.argv[1])
print(c["stack/2"]["hostile.good"], c[sys.argv[2]]["port2.rx_pkts"])
PY
)
	[[ $now == "${FLOOD_LAST:-}" && ${now% *} == "${now#* }" ]] && return 0
	FLOOD_LAST=$now
	sleep 0.5
	return 1
}
wait_for 40 flood_drained || fn_log "the switch has not taken the whole flood yet"
stats_json "$T/s.json"
stats_py "$T/s.json" "$VSW_LABEL" <<'PY' || fail_stats "the switch did not count the attacks"
c = counters(sys.argv[1])
sw = c[sys.argv[2]]
bad = []
if sw["port3.link_broken"] != 3:
    bad.append("port3.link_broken %d, want 3" % sw["port3.link_broken"])
if sw["port3.link_resets"] < 3:
    bad.append("port3.link_resets %d" % sw["port3.link_resets"])
if not sum(sw.get("port3.link.rx." + k, 0)
           for k in ("bad_ring", "bad_off", "bad_len", "bad_owner")):
    bad.append("no bad descriptor counted on port 3")
flood = c["stack/2"]["hostile.good"]
if flood < 10000 or sw["port2.rx_pkts"] != flood:
    bad.append("flood: sent %d, the switch took %d" % (flood, sw["port2.rx_pkts"]))
for p in (0, 1):
    if sw["port%d.link_broken" % p] or sw["port%d.link_resets" % p]:
        bad.append("port%d was cut off or reset" % p)
print("# flood %d frames; port0 drop_no_slot %d, port1 drop_no_slot %d; "
      "turns %d" % (flood, sw["port0.drop_no_slot"], sw["port1.drop_no_slot"],
                    sw["vsw.turns"]), file=sys.stderr)
if bad:
    sys.exit("; ".join(bad))
PY

# 3.
topology_down
echo "ok: a flood and garbage descriptors beside a load"
