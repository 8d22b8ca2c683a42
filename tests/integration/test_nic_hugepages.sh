#!/bin/bash
# NIC test 3: the hugepage pre-flight of fragnet-nic.  Without hugepages
# EAL fails with screens of memseg messages; the nic must instead stop
# before EAL with one message that names the fix, and exit 1.
#
#   fragnet-nic CONFIG  (run by hand, as an operator would)
#
#   1. private mount namespace with every hugetlbfs unmounted
#        -> "no hugetlbfs mounted; fix: ..."                     exit 1
#   2. [nic] mbufs = 16777216 (some 45 GiB of hugepages)
#        -> "need N free 2 MiB hugepages for 16777216 mbufs, F free;
#            fix: echo M > .../nr_hugepages ..., or lower [nic] mbufs"
#           with F the free pages of the machine and M = total + N - F
#                                                                exit 1
#   3. the same topology under `fragnet up -d`: up fails, naming the
#      nic's exit, and the supervisor's log carries the nic's message
#   Neither run leaves a tap, a hugepage file or an EAL runtime directory.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FN_HUGE_FREE_MIN=0	# this test needs none free
nic_init nichuge "fnt-h$$"
fn_net 10.233
HP=/sys/kernel/mm/hugepages/hugepages-2048kB
write_conf() {	# write_conf MBUFS
	tap_topology pipelines=2 poll= restart.backoff_ms=50 \
		restart.backoff_max_ms=100 nic.mbufs="$1" stack.exec="$REFLECTOR"
}

# 1. No hugetlbfs at all.
write_conf 8192
rc=0
timeout 30 unshare -m bash -c '
	for m in $(awk '\''$3 == "hugetlbfs" { print $2 }'\'' /proc/mounts); do
		umount -l "$m" || exit 99
	done
	exec "$0" "$1"' "$NIC" "$CONF" 2> "$T/nohuge.err" || rc=$?
fn_log "no hugetlbfs: exit $rc: $(cat "$T/nohuge.err")"
[[ $rc == 1 ]] || fn_fail "fragnet-nic without hugetlbfs exited $rc, not 1"
grep -qF "error: no hugetlbfs mounted; fix: sudo scripts/setup (or mount -t hugetlbfs nodev /dev/hugepages)" \
	"$T/nohuge.err" || fn_fail "not the no-hugetlbfs message"
[[ $(grep -c "error:" "$T/nohuge.err") == 1 ]] || fn_fail "more than one error line"
grep -q "EAL" "$T/nohuge.err" && fn_fail "EAL ran without hugepages"
grep -qw hugetlbfs /proc/mounts || fn_fail "the test unmounted the real hugetlbfs"
nothing_left "no hugetlbfs"

# 2. Far more mbufs than any machine has hugepages for.
write_conf 16777216
free=$(cat "$HP/free_hugepages")
total=$(cat "$HP/nr_hugepages")
rc=0
timeout 30 "$NIC" "$CONF" 2> "$T/few.err" || rc=$?
fn_log "16777216 mbufs: exit $rc: $(cat "$T/few.err")"
[[ $rc == 1 ]] || fn_fail "fragnet-nic with 16777216 mbufs exited $rc, not 1"
re='error: need ([0-9]+) free 2 MiB hugepages for 16777216 mbufs, ([0-9]+) free; fix: echo ([0-9]+) > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages \(scripts/setup reserves 512\), or lower \[nic\] mbufs$'
line=$(grep "error:" "$T/few.err" | head -1)
[[ ${line#*fragnet-nic* } =~ $re ]] || fn_fail "not the not-enough-hugepages message: $line"
need=${BASH_REMATCH[1]} have=${BASH_REMATCH[2]} echo_n=${BASH_REMATCH[3]}
# 16777216 mbufs of at least 2 KiB each: at least 16384 pages of 2 MiB.
((need >= 16384)) || fn_fail "need $need pages: far too few for 16777216 mbufs"
[[ $have == "$free" ]] || fn_fail "says $have pages free, sysfs says $free"
[[ $echo_n == $((total + need - have)) ]] ||
	fn_fail "the fix asks for $echo_n pages, not $total + $need - $have"
grep -q "EAL" "$T/few.err" && fn_fail "EAL ran although hugepages were short"
nothing_left "too few hugepages"

# 3. The same nic under the supervisor: `up` fails, says that the nic
# exited, and the supervisor's log carries the nic's message.
rc=0
fn up "$CONF" -d 2> "$T/up.err" || rc=$?
fn_log "up: exit $rc: $(cat "$T/up.err")"
[[ $rc != 0 ]] || fn_fail "up -d succeeded with a nic that cannot start"
grep -q "nic exited during startup with exit status 1" "$T/up.err" ||
	fn_fail "up does not say that the nic exited"
grep -q "fragnet-nic/.* error: need [0-9]* free 2 MiB hugepages for 16777216 mbufs" "$LOG" ||
	fn_fail "the supervisor's log lacks the nic's message"
stopped() { [[ ! -e $RUN_DIR/supervisor.pid ]] && [[ -z $(test_procs) ]]; }
wait_for 10 stopped || fn_fail "the failed topology left processes: $(test_procs)"
rm -f "$LOG"	# read above
nothing_left "up -d"
echo "ok: nic hugepages"
