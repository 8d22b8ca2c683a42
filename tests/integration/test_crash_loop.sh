#!/bin/bash
# Test 3: a component that keeps crashing is given up on after
# crash_loop_limit restarts within the window; the rest keeps running.
#
#                  supervisor (fragnet up -d)
#   pipeline 0:    stack/0 = fn-test-crash (exit 1 after 500 ms)   app/0
#
#   backoff 50 ms doubling to 100 ms; crash_loop_limit 3 in 30 s:
#   3 restarts, then "stack/0 failed: crash loop, ..." and state failed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

fn_init crash
echo_topology driver.exec= stack.exec="$CRASH" stack.args=500 \
	restart.backoff_ms=50 restart.backoff_max_ms=100 \
	restart.crash_loop_limit=3 restart.crash_loop_window_s=30

fn up "$CONF" -d >&2 || fn_fail "up -d failed (the crash comes after 500 ms)"
failed() { [[ $(status_field stack 0 5) == failed ]]; }
wait_for 15 failed || fn_fail "stack/0 never reached state failed"
fn status "$NAME" >&2
msg="stack/0 failed: crash loop, 3 restarts in 30 s, last: exit status 1; not restarting"
grep -qF "$msg" "$LOG" || fn_fail "log lacks: $msg"
[[ $(status_field stack 0 6) == 3 ]] || fn_fail "stack/0 restarts != 3"
[[ $(status_field stack 0 3) == - ]] || fn_fail "failed stack/0 has a pid"
[[ $(status_field app 0 5) == running ]] || fn_fail "app/0 is not running"
# Given up means given up: no fourth start.
sleep 1
[[ $(grep -c "stack/0 started" "$LOG") == 4 ]] ||
	fn_fail "stack/0 started $(grep -c "stack/0 started" "$LOG") times, want 4"
stats_json "$T/stats.json"
stats_py "$T/stats.json" <<'EOF' || fn_fail "stats --json disagrees"
s = components(sys.argv[1])["stack/0"]
assert s["state"] == "failed" and s["exits"] == 4 and s["restarts"] == 3, s
EOF

fn down "$NAME" >&2 || fn_fail "down failed"
echo "ok: crash loop"
