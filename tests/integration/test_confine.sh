#!/bin/bash
# Every component holds what docs/security.md says, and no more: its uid,
# capabilities, NoNewPrivs, seccomp mode and namespaces, read from
# /proc/PID/status and /proc/PID/ns of a running topology.
#
#   root namespace                       fragnet topology fnt-confine-PID
#
#   [fntcPID] 10.N.M.1/24 ══ tap ══ nic ─┬ queue 0 ─ driver/0 ══ stack/0 ══ app/0
#                                        └ queue 1 ─ driver/1 ══ stack/1 ══ app/1
#                                                     both stacks on network vn:
#                                        stack/0 ══ port 0 ─ vswitch/vn ─ port 1 ══ stack/1
#
#   1. every component runs; the tap answers ping through a stack
#   2. each component's Uid (all four), CapEff, CapBnd, NoNewPrivs, Seccomp
#      and its network and mount namespaces (host: the supervisor's; own:
#      another, and no two confined components share one) match the table
#      below, which is docs/security.md's; for the nic and the drivers
#      every thread's Uid, CapEff, CapBnd, NoNewPrivs and Seccomp too
#      (EAL's threads), and their supplementary groups (the nic: fragnet-driver's
#      only; a driver: none)
#   3. after a kill -9 of stack/0, of driver/0, then of the nic (which
#      restarts every driver), every successor is confined the same way
#      and the tap answers ping again
#   5. (run before 4) the nic's hugepage files and runtime dir are
#      root:fragnet-driver 0660 and 0750; kill -9 driver/0 until its
#      leaks make the nic add a page (each EAL init allocates from the
#      shared heap, and a killed one never frees): driver/1, a user by
#      then, maps it (never restarted), the new file is shared too, ping
#   4. with [stack] confine = no (measuring only) a stack runs as root in
#      the host's namespaces: the switch is real, and it is what the
#      benchmark compares with
set -euo pipefail
. "$(dirname "$0")/lib.sh"

nic_init confine "fntc$$"
vsw_setup
fn_net 10.234
STACK_UID=$(id -u fragnet-stack 2>/dev/null) ||
	fn_skip "no user fragnet-stack (sudo scripts/setup)"
DRIVER_UID=$(id -u fragnet-driver 2>/dev/null) ||
	fn_skip "no user fragnet-driver (sudo scripts/setup)"
DRIVER_GID=$(id -g fragnet-driver)
APP_UID=$(id -u nobody)
FULL_BND=$(awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)

confine_topology() {
	tap_topology pipelines=2 restart.backoff_ms=100 \
		restart.backoff_max_ms=1000 stack.exec="$STACK" \
		stack.gateway="$KERNEL_IP" vswitch.exec="$VSW" \
		"network $VSW_NET.subnet=$VSW_SUBNET.0/24" \
		stack.networks="$VSW_NET" app.exec="$TCP_ECHO" \
		app.args="$VSW_PORT" app.user=nobody "$@"
}

# expect ROLE: "UID CAPEFF CAPBND NONEWPRIVS SECCOMP NETNS MNTNS", the
# table of docs/security.md (CapBnd "full": the host's bounding set).
expect() {
	case $1 in
	nic) echo "0 0000000000001000 0000000000001000 1 0 host host" ;;	# CAP_NET_ADMIN
	driver) echo "$DRIVER_UID 0000000000000000 0000000000000000 1 2 own host" ;;
	stack | vswitch)
		echo "$STACK_UID 0000000000000000 0000000000000000 1 2 own own" ;;
	app) echo "$APP_UID 0000000000000000 $FULL_BND 0 0 own host" ;;
	*) echo "? unknown role $1" ;;
	esac
}

# threads PID: Uid CapEff CapBnd NoNewPrivs Seccomp of each of its
# threads, one line each (a DPDK process has EAL's threads; capabilities
# are per thread).
threads() {
	local t
	for t in /proc/"$1"/task/*/status; do
		awk '$1 == "Uid:" { u = $2 } $1 == "CapEff:" { e = $2 }
			$1 == "CapBnd:" { b = $2 }
			$1 == "NoNewPrivs:" { n = $2 } $1 == "Seccomp:" { s = $2 }
			END { print u, e, b, n, s }' "$t"
	done
}

# check_threads ROLE PID WANT: every thread as the table's row.
check_threads() {
	local want bad
	want=$(awk '{ print $1, $2, $3, $4, $5 }' <<< "$3")
	bad=$(threads "$2" | grep -vxF "$want" || true)
	[[ -z $bad ]] || fn_fail "$1 pid $2: a thread is not '$want': $bad"
	fn_log "$1 pid $2: $(threads "$2" | wc -l) threads, each '$want'"
}

# check_groups ROLE PID GIDS: its supplementary groups (the nic keeps the
# drivers' group, for the files it adds; a driver has none).
check_groups() {
	local got
	got=$(awk '$1 == "Groups:" { $1 = ""; print substr($0, 2) }' \
		"/proc/$2/status" | sed 's/ *$//')
	[[ $got == "$3" ]] || fn_fail "$1 pid $2: groups '$got', want '$3'"
}

# check_all: step 2 for every row of status.
check_all() {
	local role pl pid want got owns=() n=0
	while read -r role pl pid _; do
		want=$(expect "$role")
		got=$(proc_confinement "$pid")
		fn_log "$role/$pl pid $pid: $got"
		[[ $(sed -E 's/own:[^ ]+/own/g' <<< "$got") == "$want" ]] ||
			fn_fail "$role/$pl: want '$want', got '$got'"
		if [[ $role == nic || $role == driver ]]; then
			check_threads "$role/$pl" "$pid" "$want"
			check_groups "$role/$pl" "$pid" \
				"$([[ $role == nic ]] && echo "$DRIVER_GID")"
		fi
		if [[ $role == stack || $role == vswitch ]]; then
			owns+=("$(awk '{ print $6 }' <<< "$got")")
		fi
		n=$((n + 1))
	done < <(status_rows)
	((n == 8)) || fn_fail "$n components in status, want 8: $(fn status "$NAME")"
	[[ $(printf '%s\n' "${owns[@]}" | sort -u | wc -l) == "${#owns[@]}" ]] ||
		fn_fail "confined components share a network namespace: ${owns[*]}"
}

ping_stack() {
	timeout 30 ping -n -c 3 -i 0.2 -W 2 -I "$TAP" "$STACK_IP" >/dev/null
}

# 1.
confine_topology
fn_up
wait_running 60
wait_tap_up
wait_for 20 ping_stack || fail_stats "no ping reply from $STACK_IP"

# 2.
check_all

# 3.
for victim in "stack 0" "driver 0" "nic -"; do
	old=$(status_field $victim 3)
	drivers=$(status_field driver 0 3)
	kill -9 "$old"
	wait_for 30 restarted $victim "$old" || fn_fail "$victim did not come back"
	if [[ $victim == nic* ]]; then
		wait_for 30 restarted driver 0 "$drivers" ||
			fn_fail "driver/0 did not come back after the nic"
	fi
	wait_running 60
	# A nic drops its capabilities after its ready file, the drivers
	# theirs after they joined: a ping means both are done.
	wait_for 30 ping_stack ||
		fail_stats "no ping reply after a kill -9 of $victim"
	check_all
done

# 5. (before 4, which needs another topology)
pages() { ls /dev/hugepages | grep -c "^fragnet-${NAME}map_" || true; }
shared_ok() {
	local bad
	bad=$(find /dev/hugepages -maxdepth 1 -name "fragnet-${NAME}map_*" \
		! \( -user root -group fragnet-driver -perm 0660 \) | head -3)
	[[ -z $bad ]] || fn_fail "hugepage files not root:fragnet-driver 0660: $bad"
	[[ $(stat -c '%U:%G %a' "/var/run/dpdk/fragnet-$NAME") == \
		"root:fragnet-driver 750" ]] ||
		fn_fail "runtime dir: $(stat -c '%U:%G %a' "/var/run/dpdk/fragnet-$NAME")"
}
shared_ok
before=$(pages)
bystander=$(status_field driver 1 3)
for ((i = 0; i < 80 && $(pages) == before; i++)); do
	old=$(status_field driver 0 3)
	kill -9 "$old"
	wait_for 30 restarted driver 0 "$old" || fn_fail "driver/0 did not come back"
	wait_running 60
done
(($(pages) > before)) || fn_fail "$i kill -9s of driver/0 never grew the nic's memory ($before pages)"
[[ $(status_field driver 1 3) == "$bystander" ]] ||
	fn_fail "driver/1 restarted while the memory grew: $(fn status "$NAME")"
shared_ok
wait_for 30 ping_stack || fail_stats "no ping reply after the memory grew"
check_all
fn_log "memory grew from $before to $(pages) pages after $i kill -9s; driver/1 mapped them as fragnet-driver"

# 4.
topology_down
confine_topology stack.confine=no
fn_up
wait_running 60
wait_tap_up
pid=$(status_field stack 0 3)
got=$(proc_confinement "$pid")
[[ $got == "0 $FULL_BND $FULL_BND 0 0 host host" ]] ||
	fn_fail "confine = no: stack/0 is '$got', want root in the host's namespaces"
wait_for 20 ping_stack || fail_stats "confine = no: no ping reply"
fn_log "ok: every component as documented"
