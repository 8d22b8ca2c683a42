#!/bin/bash
# Test 7: a second `up` of a running topology is refused and leaves the
# first alone; after the supervisor is SIGKILLed its components die with it
# (PR_SET_PDEATHSIG) and the next `up` cleans the stale run directory.
#
#                  supervisor A (fragnet up -d)
#   pipeline 0:    driver/0 ══link0══ stack/0    app/0
#
#   up -d again, up (foreground) again -> exit 1, "already running"
#   kill -9 A -> components gone; up -d -> B runs in the same run dir
set -euo pipefail
. "$(dirname "$0")/lib.sh"

fn_init second
echo_topology

fn up "$CONF" -d >&2 || fn_fail "first up failed"
sup=$(cat "$RUN_DIR/supervisor.pid")
mapfile -t pids < <(status_pids)

for mode in -d --log-level=debug; do
	set +e
	fn up "$CONF" "$mode" > /dev/null 2> "$T/err"; rc=$?
	set -e
	[[ $rc == 1 ]] || fn_fail "second up $mode: exit $rc, want 1"
	grep -q "topology $NAME is already running (supervisor pid $sup)" \
		"$T/err" || fn_fail "second up $mode said: $(cat "$T/err")"
done
[[ $(cat "$RUN_DIR/supervisor.pid") == "$sup" ]] || fn_fail "pid file changed"
[[ $(status_pids | tr '\n' ' ') == "${pids[*]} " ]] ||
	fn_fail "components changed"
all_in_state running || fn_fail "first topology disturbed"

# A SIGKILLed supervisor takes its components with it.
kill -KILL "$sup"
no_procs() { [[ -z $(test_procs) ]]; }
wait_for 10 no_procs || fn_fail "components outlived their supervisor"
[[ -d $RUN_DIR ]] || fn_fail "stale run dir vanished by itself?"
set +e
fn status "$NAME" 2> "$T/err"; rc=$?
set -e
[[ $rc == 1 ]] || fn_fail "status of a dead supervisor: exit $rc, want 1"

fn up "$CONF" -d >&2 || fn_fail "up over a stale run dir failed"
[[ $(cat "$RUN_DIR/supervisor.pid") != "$sup" ]] || fn_fail "same pid?"
all_in_state running || fn_fail "not all running after the stale up"
topology_down
echo "ok: second up"
