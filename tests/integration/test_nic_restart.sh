#!/bin/bash
# NIC test 2: kill -9 under UDP load.  A dead driver is restarted alone and
# its queue carries traffic again; a dead nic brings the nic and then both
# drivers back, the tap returns with its address, and replies come back
# again.  The reflectors (stacks) survive both, through link resets.
#
#   root namespace                        fragnet topology fnt-nicrst-PID
#
#   fn-udp-load --duration               nic (net_tap, 2 queues) <- kill -9 (2)
#     32 sockets, 10.233.N.1:*              +- queue 0 - driver/0 <- kill -9 (1)
#        |                                  |            ══link0══ stack/0 = reflector
#   [fnt-r<pid>] 10.233.N.1/24 ══ tap ═════+- queue 1 - driver/1
#                                                        ══link1══ stack/1 = reflector
#                                                                  10.233.N.2
#
#   (10.233.N.0/24: a free subnet, lib.sh fn_net)
#   The load runs through the whole test.  Datagrams lost while a
#   component is down time out after 300 ms (--timeout-ms), so the window
#   never stalls; the progress file shows replies as they come.
#   1. kill -9 driver/0 -> new pid, restarts 1, driver/1 and the nic
#      untouched; stack/0 counts a link reset; stack/0 reflects again and
#      the load's replies grow after the restart
#   2. kill -9 the nic -> nic restarts 1, then driver/0 and driver/1 (new
#      pids), the tap is back with 10.233.N.1, replies grow again, and
#      both queues carry traffic
#   3. the load ends cleanly: no bad, duplicate or stale reply
set -euo pipefail
. "$(dirname "$0")/lib.sh"

nic_init nicrst "fnt-r$$"
fn_net 10.233
PROGRESS="$T/progress.json"
tap_topology pipelines=2 stack.addressing=shared \
	restart.backoff_ms=100 restart.backoff_max_ms=1000 \
	nic.mbufs=8192 stack.exec="$REFLECTOR"

fn_up
wait_tap_up
wait_running
icmp_ping "$STACK_IP" 2 ||
	fn_fail "ping $STACK_IP failed before any kill"

"$LOAD" --dst "$STACK_IP" --port 7777 --bind "$KERNEL_IP" --sources 32 \
	--duration 90 --window 128 --timeout-ms 300 --drain-ms 1000 \
	--progress "$PROGRESS" --json > "$T/load.json" &
LOAD_PIDS+=($!)

received() { load_field "$PROGRESS" received; }
# replies_grow N: the load gets N more replies than it had when called.
replies_grow() {
	local base
	base=$(received)
	grows() { [[ $(received) -ge $((base + $1)) ]]; }
	wait_for 30 grows "$1"
}
# reflected_grow LABEL N: that reflector reflects N more datagrams.
reflected_grow() {
	local base
	base=$(counter "$1" refl.udp_reflected)
	more() { [[ $(counter "$1" refl.udp_reflected) -ge $((base + $2)) ]]; }
	wait_for 30 more "$1" "$2"
}

replies_grow 5000 || fn_fail "no load got through before any kill"
reflected_grow stack/0 100 || fn_fail "queue 0 carries no traffic"
reflected_grow stack/1 100 || fn_fail "queue 1 carries no traffic"

# 1. kill -9 driver/0.
drv0=$(status_field driver 0 3)
drv1=$(status_field driver 1 3)
nic=$(status_field nic - 3)
kill -KILL "$drv0"
wait_for 15 restarted driver 0 "$drv0" || fn_fail "driver/0 was not restarted"
wait_for 30 all_in_state running || fn_fail "not all running after the driver restart"
[[ $(status_field driver 0 6) == 1 ]] || fn_fail "driver/0 restarts != 1"
[[ $(status_field driver 1 3) == "$drv1" ]] || fn_fail "driver/1 was restarted too"
[[ $(status_field nic - 3) == "$nic" ]] || fn_fail "the nic was restarted too"
grep -q "driver/0 pid $drv0 killed by signal SIGKILL" "$LOG" ||
	fn_fail "log does not say how driver/0 died"
[[ $(counter stack/0 refl.link_resets) -ge 1 ]] || fn_fail "stack/0 saw no link reset"
reflected_grow stack/0 1000 || fn_fail "queue 0 carries no traffic after the driver restart"
replies_grow 5000 || fn_fail "replies stopped after the driver restart"
fn_log "after the driver restart: $(cat "$PROGRESS")"

# 2. kill -9 the nic: nic, then both drivers, come back.
drv0=$(status_field driver 0 3)
kill -KILL "$nic"
wait_for 30 restarted nic - "$nic" driver 0 "$drv0" driver 1 "$drv1" ||
	fn_fail "the nic and both drivers were not restarted: $(fn status "$NAME")"
wait_for 30 all_in_state running || fn_fail "not all running after the nic restart"
[[ $(status_field nic - 6) == 1 ]] || fn_fail "nic restarts != 1"
kill -0 "$drv1" 2>/dev/null && fn_fail "old driver/1 $drv1 still alive"
wait_tap_up
order=$(grep -E "driver/[01] stopping: nic exited|nic started|driver/[01] started" \
	"$LOG" | tail -5 | sed -E 's/.*info: ([a-z/0-9]+ [a-z]+).*/\1/' | tr '\n' ,)
[[ $order == driver/?" stopping,driver/"?" stopping,nic started,driver/0 started,driver/1 started," ]] ||
	fn_fail "restart order was $order"
replies_grow 5000 || fn_fail "replies did not resume after the nic restart"
reflected_grow stack/0 500 || fn_fail "queue 0 carries no traffic after the nic restart"
reflected_grow stack/1 500 || fn_fail "queue 1 carries no traffic after the nic restart"
fn_log "after the nic restart: $(cat "$PROGRESS")"

# 3. End the load (SIGTERM: it stops sending, drains, reports).
kill -TERM "${LOAD_PIDS[0]}" 2>/dev/null || true	# (or it has just ended)
wait "${LOAD_PIDS[0]}" || fn_fail "fn-udp-load failed"
LOAD_PIDS=()
fn_log "load: $(cat "$T/load.json")"
python3 - "$T/load.json" <<'EOF' || fn_fail "the load saw damage"
import json, sys
d = json.load(open(sys.argv[1]))
bad = {k: d[k] for k in ("bad", "duplicates", "stale") if d[k]}
assert d["sent"] == d["received"] + d["lost"], d
assert not bad, bad
assert d["sources_with_replies"] == d["sources"], d
EOF
for s in stack/0 stack/1; do
	[[ $(counter "$s" refl.link_broken) == 0 ]] || fn_fail "$s: a driver broke the link"
done
fn down "$NAME" >&2 || fn_fail "down failed"
echo "ok: nic restart"
