#!/bin/bash
# Test 2: a component killed with SIGKILL is restarted (new pid, restart
# counted); a dead nic takes its drivers down and brings them back after
# it; stats show every component's counters, as text and as JSON.
#
#                  supervisor (fragnet up -d, backoff 100 ms)
#                  nic ─ parent of every driver
#   pipeline 0:    driver/0 (--generate) ══link0══ stack/0 (reflects)   app/0
#
#   1. kill -9 stack/0  -> stack/0 new pid, restarts 1, others untouched;
#                          link0 reset: driver/0 sees it, is not cut off,
#                          and frames flow through the new stack/0
#   2. kill -9 nic      -> driver/0 stopped, nic restarted, then driver/0:
#                          nic restarts 1, driver/0 restarts 1; stack/0
#                          survives the reset and reflects again
set -euo pipefail
. "$(dirname "$0")/lib.sh"

fn_init restart
echo_topology nic.exec="$ECHO" driver.args=--generate \
	restart.backoff_ms=100 restart.backoff_max_ms=400

fn_up
all_in_state running || fn_fail "not all running after up -d"

# Frames flow: the driver generates, the stack reflects, the driver checks.
frames_back() { [[ $(counter driver/0 echo.rx_frames) -gt 0 ]]; }
wait_for 10 frames_back || fn_fail "no frame came back to driver/0"
[[ $(counter driver/0 echo.bad_pattern) == 0 ]] || fn_fail "bad frames"
[[ $(counter driver/0 link.tx.pkts) -gt 0 ]] || fn_fail "driver/0 link.tx.pkts"
[[ $(counter stack/0 link.rx.pkts) -gt 0 ]] || fn_fail "stack/0 link.rx.pkts"
[[ $(counter stack/0 echo.tx_frames) -gt 0 ]] || fn_fail "stack/0 echo.tx_frames"

# 1. kill -9 the stack.
old=$(status_field stack 0 3)
app=$(status_field app 0 3)
kill -KILL "$old"
wait_for 10 restarted stack 0 "$old" || fn_fail "stack/0 was not restarted"
wait_for 5 all_in_state running || fn_fail "not all running after restart"
[[ $(status_field stack 0 6) == 1 ]] || fn_fail "stack/0 restarts != 1"
[[ $(status_field app 0 3) == "$app" ]] || fn_fail "app/0 was restarted too"
[[ $(status_field app 0 6) == 0 ]] || fn_fail "app/0 restarts != 0"
grep -q "stack/0 pid $old killed by signal SIGKILL" "$LOG" ||
	fn_fail "log does not say how stack/0 died"
# The link was reset, not broken: the survivor saw the reset, and frames
# go round again through the restarted stack.
[[ $(counter driver/0 echo.resets) -ge 1 ]] || fn_fail "driver/0 saw no reset"
[[ $(counter driver/0 echo.broken) == 0 ]] || fn_fail "driver/0 cut the link off"
stack_reflects() { [[ $(counter stack/0 echo.tx_frames) -gt 0 ]]; }
wait_for 10 stack_reflects || fn_fail "the restarted stack/0 reflects nothing"
before=$(counter driver/0 echo.rx_frames)
more_back() { [[ $(counter driver/0 echo.rx_frames) -gt $((before + 8)) ]]; }
wait_for 10 more_back || fn_fail "frames stopped coming back after the reset"
[[ $(counter driver/0 echo.bad_pattern) == 0 ]] || fn_fail "bad frames after reset"

# 2. kill -9 the nic: its drivers go down and come back after it.
nic=$(status_field nic - 3)
drv=$(status_field driver 0 3)
kill -KILL "$nic"
wait_for 10 restarted nic - "$nic" driver 0 "$drv" || fn_fail "nic and driver/0 were not both restarted"
wait_for 5 all_in_state running || fn_fail "not all running after nic restart"
[[ $(status_field nic - 6) == 1 ]] || fn_fail "nic restarts != 1"
[[ $(status_field driver 0 6) == 1 ]] || fn_fail "driver/0 restarts != 1"
kill -0 "$drv" 2>/dev/null && fn_fail "old driver/0 $drv still alive"
# The stack survived the driver's restart: reset, not cut off, reflecting.
[[ $(counter stack/0 echo.resets) -ge 1 ]] || fn_fail "stack/0 saw no reset"
[[ $(counter stack/0 echo.broken) == 0 ]] || fn_fail "stack/0 cut the link off"
wait_for 10 frames_back || fn_fail "no frame came back to the new driver/0"
# The order: driver stopped, nic started, then driver started.
order=$(grep -E "driver/0 stopping: nic exited|nic started|driver/0 started" \
	"$LOG" | tail -3 | sed -E 's/.*info: ([a-z/0-9]+ [a-z]+).*/\1/' |
	tr '\n' ,)
[[ $order == "driver/0 stopping,nic started,driver/0 started," ]] ||
	fn_fail "restart order was $order"

# Stats: text has every component, JSON parses, supervisor counts restarts.
txt=$(fn stats "$NAME")
for l in nic driver/0 stack/0 app/0; do
	grep -q "^$l (pid" <<< "$txt" || fn_fail "stats lacks $l"
done
grep -q "echo.loops" <<< "$txt" || fn_fail "stats lacks echo counters"
stats_json "$T/stats.json"
stats_py "$T/stats.json" <<'EOF' || fn_fail "stats --json is wrong"
d = stats(sys.argv[1])
assert d["supervisor"]["restarts"] == 3, d["supervisor"]
labels = [c["label"] for c in d["components"]]
assert labels == ["nic", "driver/0", "stack/0", "app/0"], labels
for c in d["components"]:
    assert c["counters"]["echo.loops"] > 0, c
    assert c["state"] == "running", c
EOF

fn down "$NAME" >&2 || fn_fail "down failed"
echo "ok: restarts"
