#!/bin/bash
# Internal networks, restarts: kill -9 of the switch in the middle of a
# transfer loses no byte and no connection; kill -9 of a stack resets its
# port, and the network serves it again.
#
#   app/0 fn-test-tcp-echo :7000            app/1 sock_tcp_load.py (python3,
#   stack/0 vn 10.236.N.1                     preload), 16 x 32 MiB
#      ╲                                    stack/1 vn 10.236.N.2
#       port 0 ── vswitch/vn (killed) ── port 1
#
#   1. the load runs: kill -9 the switch once 64 MiB have crossed it, and
#      again once 64 MiB have crossed the new one; the supervisor restarts
#      it each time (the same table, every port link reset, the stacks'
#      bells rung); every connection ends with all its bytes, checked byte
#      for byte, and a clean EOF; each stack counts 2 resets of its netif
#      vn, the switch 2 restarts
#   2. kill -9 stack/0 (the server's): the switch sees its port 0 reset
#      and forgets its MAC; stack/0 and app/0 come back; a new load from
#      pipeline 1 (app/1 killed, so restarted, loads again) passes
#   3. fragnet down: nothing is left
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BYTES=$((32 << 20))
CONNS=16
CROSSED=$((64 << 20))	# bytes through the switch before each kill

vsw_init vsw-kill
mapfile -t load < <(vsw_load 1 "$T/load.json" --conns $CONNS --bytes $BYTES \
	--rst 0 --time-limit 110 --stall 30)
vsw_topology "${load[@]}"
FN_SHOW_ON_FAIL+=("$T/load.json.err")
fn_up
wait_running

# crossed BYTES: the switch that runs now forwarded BYTES from port 1.
crossed() {
	local b
	b=$(counter "$VSW_LABEL" port1.rx_bytes)
	(( b >= $1 ))
}

# kill_switch: kill -9 the switch once CROSSED bytes went through it, and
# wait for the new one.
kill_switch() {
	local pid
	wait_for 60 crossed $CROSSED ||
		fail_stats "the load does not cross the switch"
	vsw_load_done "$T/load.json" &&
		fn_fail "the load ended before the kill: make it longer"
	pid=$(vswitch_field "$VSW_NET" 3)
	fn_log "kill -9 the switch, pid $pid"
	kill -KILL "$pid"
	back() {
		local p
		p=$(vswitch_field "$VSW_NET" 3)
		[[ $p =~ ^[0-9]+$ && $p != "$pid" ]]
	}
	wait_for 10 back || fail_stats "the switch was not restarted"
}

# 1.
kill_switch
kill_switch
wait_for 120 vsw_load_done "$T/load.json" || fail_stats "the load did not end"
vsw_load_check "$T/load.json" $BYTES || fail_stats "the load lost bytes or connections"
stats_json "$T/s1.json"
for p in 0 1; do
	r=$(counter_of "$T/s1.json" stack/$p "if.$VSW_NET.link_resets")
	[[ $r == 2 ]] || fail_stats "stack/$p counted $r resets of $VSW_NET, want 2"
done
[[ $(vswitch_field "$VSW_NET" 6) == 2 ]] || fail_stats "the switch restarts != 2"
grep -q "$VSW_LABEL pid .* killed by signal SIGKILL" "$LOG" ||
	fn_fail "the log does not tell of the kill"

# 2.
pid=$(status_field stack 0 3)
kill -KILL "$pid"
wait_for 10 restarted stack 0 "$pid" || fail_stats "stack/0 was not restarted"
port_reset() {
	[[ $(counter "$VSW_LABEL" port0.link_resets) -ge 1 &&
	   $(counter "$VSW_LABEL" vsw.fdb_flushed) -ge 1 ]]
}
wait_for 10 port_reset || fail_stats "the switch did not see port 0 reset"
wait_running
rm -f "$T/load.json"
pid=$(status_field app 1 3)
kill -KILL "$pid"	# its sleep: restarted, it loads again
wait_for 10 restarted app 1 "$pid" || fail_stats "app/1 was not restarted"
wait_for 120 vsw_load_done "$T/load.json" || fail_stats "the second load did not end"
vsw_load_check "$T/load.json" $BYTES || fail_stats "the load after stack/0's restart failed"

# 3.
topology_down
echo "ok: two kills of the switch and one of a stack under load"
