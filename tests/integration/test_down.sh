#!/bin/bash
# Test 4: `fragnet down` returns only when the topology is gone: no
# component process, no supervisor, no run directory or socket, no memfd.
#
#                  supervisor (fragnet up -d)
#                  nic
#   pipeline 0:    driver/0 ══link0══ stack/0 (+stack0.ctl)   app/0
#   pipeline 1:    driver/1 ══link1══ stack/1 (+stack1.ctl)   app/1
#
#   fragnet down CONFIG   (the topology named by its config path)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

fn_init down
echo_topology pipelines=2 nic.exec="$ECHO" driver.args=--generate

fn_up
all_in_state running || fn_fail "not all running"
sup=$(cat "$RUN_DIR/supervisor.pid")
mapfile -t pids < <(status_pids)
[[ ${#pids[@]} == 7 ]] || fn_fail "want 7 components, status shows ${#pids[@]}"
[[ -S $RUN_DIR/stack0.ctl && -S $RUN_DIR/stack1.ctl ]] ||
	fn_fail "stack control sockets missing"
[[ -n $(test_procs) ]] || fn_fail "pgrep does not see the components"

out=$(fn down "$CONF") || fn_fail "down failed: $out"
fn_log "$out"
# No waiting here: down has already waited.
for p in "${pids[@]}"; do
	kill -0 "$p" 2>/dev/null && fn_fail "component $p alive after down"
done
[[ ! -e $RUN_DIR ]] || fn_fail "run dir left right after down"
assert_all_gone "$sup"
grep -q "app/1 pid [0-9]* exited with exit status 0" "$LOG" ||
	fn_fail "app/1 did not exit cleanly on SIGTERM"
grep -q "topology $NAME stopped" "$LOG" || fn_fail "log lacks 'stopped'"
# Stop order: apps, stacks, drivers, nic.
order=$(grep -oE "(app|stack|driver|nic)(/[0-9])? pid [0-9]+ exited" "$LOG" |
	cut -d' ' -f1 | sed 's|/.*||' | uniq | tr '\n' ,)
[[ $order == "app,stack,driver,nic," ]] || fn_fail "stop order was $order"

# Nothing is running now.
set +e
fn down "$NAME" 2> "$T/err"; rc=$?
set -e
[[ $rc == 1 ]] || fn_fail "second down: exit $rc, want 1"
grep -q "is not running" "$T/err" || fn_fail "second down: $(cat "$T/err")"
set +e
fn status "$NAME" 2> /dev/null; rc=$?
set -e
[[ $rc == 1 ]] || fn_fail "status of a stopped topology: exit $rc, want 1"
echo "ok: down"
