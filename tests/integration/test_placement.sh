#!/bin/bash
# Test 1: `up -d` starts every component, pinned where the placement says,
# holding exactly its capabilities.  Run as `test_placement.sh compact` and
# `test_placement.sh spread`.
#
#                  supervisor (fragnet up -d)
#                  nic  (no explicit cpu: unpinned, all allowed cpus)
#   pipeline 0:    driver/0 ══link0══ stack/0 (+stack0.ctl)    app/0
#   pipeline 1:    driver/1 ══link1══ stack/1 (+stack1.ctl)    app/1
#                  (apps run as 'nobody')
#
#   compact: every component of pipeline i on cpus[i % n]
#   spread:  auto components round-robin over cpus in spawn order (drivers,
#            stacks, apps); [pipeline 0] stack_cpu = the last cpu is
#            explicit and takes no round-robin turn
# Every stack has slice_us = 100, app/1 300: each thread shows that slice
# (/proc/PID/sched, where the kernel has it), the others do not.
# cpus = this test's own affinity (the supervisor inherits it), n = its size.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MODE=${1:?compact or spread}
fn_init "place-$MODE"
ALLOWED=$(cpus_of $$)
read -ra CPUS <<< "$(expand_cpus "$ALLOWED")"
N=${#CPUS[@]}
P=2
LAST=${CPUS[N - 1]}

spread=()
[[ $MODE == spread ]] && spread=("pipeline 0.stack_cpu=$LAST")
echo_topology pipelines=$P placement="$MODE" nic.exec="$ECHO" \
	driver.args=--generate app.user=nobody "${spread[@]}" \
	"pipeline 1.stack_sched=normal" stack.slice_us=100 \
	"pipeline 1.app_slice_us=300"

# The expected cpu of every pipeline component, in spawn order.
declare -A EXP
k=0
for role in driver stack app; do
	for ((i = 0; i < P; i++)); do
		if [[ $MODE == spread && $role == stack && $i == 0 ]]; then
			EXP[$role/$i]=$LAST
		elif [[ $MODE == compact ]]; then
			EXP[$role/$i]=${CPUS[i % N]}
		else
			EXP[$role/$i]=${CPUS[k % N]}
			k=$((k + 1))
		fi
	done
done

out=$(fn up "$CONF" -d) || fn_fail "up -d failed: $out"
fn_log "$out"
[[ $out == *"$LOG"* ]] || fn_fail "up -d does not print its log path"
[[ -S $RUN_DIR/supervisor.sock ]] || fn_fail "no supervisor socket"
[[ $(stat -c %a "$RUN_DIR") == 700 ]] || fn_fail "run dir mode is not 0700"
[[ $(stat -c %a "$RUN_DIR/supervisor.sock") == 600 ]] || fn_fail "socket mode"
fn status "$NAME" >&2
all_in_state running || fn_fail "not every component is running"

env_of() { tr '\0' '\n' < "/proc/$1/environ" | sed -n "s/^$2=//p"; }
fds_of() { ls "/proc/$1/fd" | sort -n | tr '\n' ' '; }
# The scheduling policy of every thread of a process: one line, sorted.
policy_of() {
	local t
	for t in /proc/"$1"/task/*; do
		chrt -p "${t##*/}" | sed -n '1s/.*policy: //p'
	done | sort -u | tr '\n' ' '
}

# The fair slice (ns) of every thread of a process, one line, sorted;
# empty where the kernel shows none (/proc/PID/sched, Linux 6.12+).
slice_of() {
	local t
	for t in /proc/"$1"/task/*; do
		sed -n 's/^se\.slice *: *//p' "$t/sched" 2>/dev/null
	done | sort -u | tr '\n' ' '
}

check_comp() {	# role pipeline expected-cpu expected-fds
	local pid cpu
	pid=$(status_field "$1" "$2" 3)
	[[ $pid =~ ^[0-9]+$ ]] || fn_fail "$1/$2 has no pid"
	[[ $(readlink "/proc/$pid/exe") == "$ECHO" ]] || fn_fail "$1/$2 exe"
	cpu=$(cpus_of "$pid")
	[[ $cpu == "$3" ]] || fn_fail "$1/$2 pid $pid on cpus $cpu, want $3"
	[[ $(status_field "$1" "$2" 4) == "$3" ]] ||
		fn_fail "$1/$2: status shows cpu $(status_field "$1" "$2" 4)"
	[[ $(fds_of "$pid") == "$4" ]] ||
		fn_fail "$1/$2 fds '$(fds_of "$pid")', want '$4'"
	[[ $(env_of "$pid" FRAGNET_COMPONENT) == "$1" ]] || fn_fail "$1/$2 env"
	[[ $(env_of "$pid" FRAGNET_PIPELINE) == "$2" ]] || fn_fail "$1/$2 env"
	[[ $(env_of "$pid" FRAGNET_STATS_FD) == 3 ]] || fn_fail "$1/$2 env"
	echo "$pid"
}

nic=$(check_comp nic - "$ALLOWED" "0 1 2 3 ")
[[ $(policy_of "$nic") == "SCHED_OTHER " ]] || fn_fail "nic policy"
[[ $(env_of "$nic" FRAGNET_CPU) == - ]] || fn_fail "nic FRAGNET_CPU"
for ((i = 0; i < P; i++)); do
	d=$(check_comp driver "$i" "${EXP[driver/$i]}" "0 1 2 3 4 7 9 ")
	s=$(check_comp stack "$i" "${EXP[stack/$i]}" "0 1 2 3 4 5 6 7 8 9 11 ")
	a=$(check_comp app "$i" "${EXP[app/$i]}" "0 1 2 3 6 7 8 ")
	[[ $(env_of "$s" FRAGNET_CPU) == "${EXP[stack/$i]}" ]] ||
		fn_fail "stack/$i FRAGNET_CPU"
	# [driver] and [stack] sched default to batch, [app] to normal;
	# [pipeline 1] stack_sched = normal
	want=SCHED_BATCH
	((i == 1)) && want=SCHED_OTHER
	[[ $(policy_of "$d") == "SCHED_BATCH " ]] ||
		fn_fail "driver/$i policy $(policy_of "$d")"
	[[ $(policy_of "$s") == "$want " ]] ||
		fn_fail "stack/$i policy $(policy_of "$s"), want $want"
	[[ $(policy_of "$a") == "SCHED_OTHER " ]] ||
		fn_fail "app/$i policy $(policy_of "$a")"
	# [stack] slice_us = 100, [pipeline 1] app_slice_us = 300, the rest
	# the kernel's own slice
	if [[ -n $(slice_of "$s") ]]; then
		want=0
		((i == 1)) && want=300000
		[[ $(slice_of "$s") == "100000 " ]] ||
			fn_fail "stack/$i slice $(slice_of "$s"), want 100000"
		[[ $want == 0 || $(slice_of "$a") == "$want " ]] ||
			fn_fail "app/$i slice $(slice_of "$a"), want $want"
		for v in "$d" "$a"; do
			[[ $v == "$a" && $want != 0 ]] && continue
			[[ $(slice_of "$v") != "100000 " && $(slice_of "$v") != "300000 " ]] ||
				fn_fail "pid $v got a slice it was not given: $(slice_of "$v")"
		done
	else
		fn_log "no se.slice in /proc/PID/sched: slice_us not checked"
	fi
	[[ $(env_of "$d" FRAGNET_LINK_FD) == 4 ]] || fn_fail "driver link fd"
	[[ $(env_of "$s" FRAGNET_CONTROL_FD) == 5 ]] || fn_fail "stack ctl fd"
	[[ $(readlink "/proc/$d/fd/4") == "/memfd:fragnet-link$i (deleted)" ]] ||
		fn_fail "driver/$i fd 4 is $(readlink "/proc/$d/fd/4")"
	[[ $(readlink "/proc/$s/fd/4") == "$(readlink "/proc/$d/fd/4")" ]] ||
		fn_fail "stack/$i and driver/$i hold different links"
	[[ $(env_of "$s" FRAGNET_RUN_DIR) == "$RUN_DIR" ]] || fn_fail "run dir env"
	# The socket channel (stack side B, app side A) and the two doorbells:
	# the stack waits on 7, which its driver and app ring; the app on 8.
	for v in "$s" "$a"; do
		[[ $(env_of "$v" FRAGNET_SOCKCHAN_FD) == 6 ]] || fn_fail "sockchan env"
		[[ $(env_of "$v" FRAGNET_STACK_BELL_FD) == 7 ]] || fn_fail "bell env"
		[[ $(env_of "$v" FRAGNET_APP_BELL_FD) == 8 ]] || fn_fail "bell env"
		[[ $(readlink "/proc/$v/fd/7") == "anon_inode:[eventfd]" ]] ||
			fn_fail "fd 7 of $v is $(readlink "/proc/$v/fd/7")"
	done
	[[ $(readlink "/proc/$s/fd/6") == "/memfd:fragnet-sockchan$i (deleted)" ]] ||
		fn_fail "stack/$i fd 6 is $(readlink "/proc/$s/fd/6")"
	[[ $(readlink "/proc/$a/fd/6") == "$(readlink "/proc/$s/fd/6")" ]] ||
		fn_fail "stack/$i and app/$i hold different socket channels"
	[[ $(env_of "$d" FRAGNET_STACK_BELL_FD) == 7 ]] || fn_fail "driver bell env"
	[[ -z $(env_of "$d" FRAGNET_SOCKCHAN_FD)$(env_of "$d" FRAGNET_APP_BELL_FD) ]] ||
		fn_fail "driver/$i got the socket channel or the app bell"
	# One stack bell per pipeline, the same eventfd in all three.
	[[ $(stat -L -c %i "/proc/$d/fd/7") == $(stat -L -c %i "/proc/$s/fd/7") &&
	   $(stat -L -c %i "/proc/$a/fd/7") == $(stat -L -c %i "/proc/$s/fd/7") ]] ||
		fn_fail "pipeline $i: the stack bells differ"
	# The driver's bell: the driver waits on 9, its stack rings it; the
	# app has no business with it.
	[[ $(env_of "$d" FRAGNET_DRIVER_BELL_FD) == 9 &&
	   $(env_of "$s" FRAGNET_DRIVER_BELL_FD) == 9 ]] || fn_fail "driver bell env"
	[[ $(stat -L -c %i "/proc/$d/fd/9") == $(stat -L -c %i "/proc/$s/fd/9") ]] ||
		fn_fail "pipeline $i: the driver bells differ"
	[[ -z $(env_of "$a" FRAGNET_DRIVER_BELL_FD) ]] ||
		fn_fail "app/$i got the driver's bell"
	# Apps learn nothing about the topology and drop root.
	[[ -z $(env_of "$a" FRAGNET_CONFIG)$(env_of "$a" FRAGNET_RUN_DIR) ]] ||
		fn_fail "app/$i got FRAGNET_CONFIG or FRAGNET_RUN_DIR"
	[[ $(awk '/^Uid:/ { print $2 $3 }' "/proc/$a/status") == 6553465534 ]] ||
		fn_fail "app/$i does not run as nobody"
	[[ $(env_of "$a" HOME) == /nonexistent ]] || fn_fail "app/$i HOME"
done

topology_down
echo "ok: placement $MODE on cpus $ALLOWED"
