#!/bin/bash
# Test 6: SIGTERM to a foreground supervisor cleans up exactly as `down`
# does, and a component that ignores SIGTERM is SIGKILLed after
# stop_timeout_ms.
#
#                  supervisor (fragnet up, foreground, in the background
#                  of this script; stop_timeout_ms = 1000)
#   pipeline 0:    driver/0 ══link0══ stack/0    app/0 (--ignore-term)
#
#   kill -TERM supervisor -> exit 0, app/0 SIGKILLed, everything gone
set -euo pipefail
. "$(dirname "$0")/lib.sh"

fn_init sigterm
echo_topology driver.args=--generate app.args=--ignore-term \
	restart.stop_timeout_ms=1000

# Foreground: logs go to our stderr; keep them for the checks.
timeout "$FN_BOUND" "$FRAGNET" up "$CONF" 2> "$T/up.log" &
FG_PID=$!
up() { all_in_state running 2>/dev/null; }
wait_for 10 up || fn_fail "topology did not come up: $(cat "$T/up.log")"
sup=$(cat "$RUN_DIR/supervisor.pid")
mapfile -t pids < <(status_pids)
[[ ${#pids[@]} == 3 ]] || fn_fail "want 3 components"

start=$SECONDS
kill -TERM "$sup"
set +e
wait "$FG_PID"; rc=$?
set -e
FG_PID=
cat "$T/up.log" >&2
[[ $rc == 0 ]] || fn_fail "supervisor exit status $rc after SIGTERM, want 0"
((SECONDS - start <= 5)) || fn_fail "stop took $((SECONDS - start)) s"
for p in "${pids[@]}"; do
	kill -0 "$p" 2>/dev/null && fn_fail "component $p alive after SIGTERM"
done
assert_all_gone "$sup"
grep -q "app/0 pid [0-9]* did not stop in time: SIGKILL" "$T/up.log" ||
	fn_fail "app/0 was not SIGKILLed"
grep -q "app/0 pid [0-9]* killed by signal SIGKILL" "$T/up.log" ||
	fn_fail "app/0 exit not logged"
grep -q "stack/0 pid [0-9]* exited with exit status 0" "$T/up.log" ||
	fn_fail "stack/0 did not stop on SIGTERM"
echo "ok: sigterm"
