#!/bin/bash
# The drill: a stack that acts as if an attacker had taken it over gets
# nothing from it.  fragnet-stack-drill (a test-only build of the stack,
# src/stack/drill.c) tries, after it has confined itself, to open a file,
# to write another pipeline's memfd through /proc, to make an AF_INET
# socket, to ptrace and to kill its sibling stack, to execve a shell and
# to map executable memory.
#
#   host port fnhPID 10.236.N.254
#        │
#   vswitch/vn 10.236.N.0/24 ── port 0 ══ stack/0 10.236.N.1 fragnet-stack-drill
#                            │            ══ app/0 fn-test-tcp-echo
#                            └─ port 1 ══ stack/1 10.236.N.2 fragnet-stack
#                                         ══ app/1 fn-test-tcp-echo
#
#   1. every attempt is tried ("drill: NAME: trying" in the log) and fails:
#      with an errno ("drill: NAME: failed: ...") or by the filter's SIGSYS
#      (the supervisor: "stack/0 pid P killed by signal SIGSYS"), which
#      restarts the drill; the next life goes on with the next attempt;
#      no "SUCCEEDED"
#   2. stack/1, its app and the switch were never restarted (app/0 restarts
#      with its stack), and stack/1
#      answers ping from the host all along and after; the drill's stack,
#      its attempts over, answers too
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ATTEMPTS=("open /etc/shadow" "open /" "write a sibling's memfd"
	"socket(AF_INET)" "ptrace(PTRACE_ATTACH) a sibling" "kill a sibling"
	"execve /bin/sh" "mmap PROT_EXEC")

vsw_init compromise
: "${FN_STACK_DRILL:?}"
id fragnet-stack >/dev/null 2>&1 || fn_skip "no user fragnet-stack (sudo scripts/setup)"
fn_bin DRILL "$FN_STACK_DRILL" fragnet-stack-drill
mapfile -t host < <(vsw_host)
vsw_topology "${host[@]}" restart.crash_loop_limit=30 \
	"pipeline 0.stack_exec=$DRILL" \
	"pipeline 0.stack_args=--drill $T/drill.rec"
fn_up
wait_running
wait_for 10 vsw_host_ok || fail_stats "the host port $HOST_IF is not up"
pids_before=$(for r in "stack 1" "app 1"; do status_field $r 3; done)
sw_before=$(vswitch_field "$VSW_NET" 3)

drill_done() { grep -q 'drill: done' "$LOG"; }
while ! drill_done; do
	vsw_ping "$(vsw_ip 1)" 1 >/dev/null ||
		fail_stats "stack/1 stopped answering during the drill"
	wait_for 1 drill_done || true
	(( SECONDS < 120 )) || fail_stats "the drill did not end"
done
wait_running

# 1.
sigsys=$(grep -c 'stack/0 pid [0-9]* killed by signal SIGSYS' "$LOG" || true)
failed=0
for a in "${ATTEMPTS[@]}"; do
	grep -qF "drill: $a: trying" "$LOG" || fn_fail "never tried: $a"
	if grep -qF "drill: $a: failed:" "$LOG"; then
		fn_log "$(grep -F "drill: $a: failed:" "$LOG" | sed 's/.*drill: //')"
		failed=$((failed + 1))
	else
		fn_log "$a: killed (SIGSYS)"
	fi
done
! grep -q 'drill: .*SUCCEEDED' "$LOG" ||
	fn_fail "an attempt succeeded: $(grep 'SUCCEEDED' "$LOG")"
((failed + sigsys == ${#ATTEMPTS[@]})) ||
	fn_fail "$failed attempt(s) failed with an errno and $sigsys SIGSYS deaths, want ${#ATTEMPTS[@]} in all"
((sigsys > 0)) || fn_fail "the filter killed nothing"

# 2.
pids_after=$(for r in "stack 1" "app 1"; do status_field $r 3; done)
[[ $pids_after == "$pids_before" && $(vswitch_field "$VSW_NET" 3) == "$sw_before" ]] ||
	fn_fail "another component restarted: $(fn status "$NAME")"
vsw_ping "$(vsw_ip 1)" 3 || fail_stats "stack/1 does not answer after the drill"
vsw_ping "$(vsw_ip 0)" 3 || fail_stats "the drill's stack does not answer after it"
fn_log "ok: ${#ATTEMPTS[@]} attempts, $failed refused with an errno, $sigsys killed"
