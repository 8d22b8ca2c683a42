#!/bin/bash
# NIC test: drivers that sleep with no timer wake for every frame, from
# every source (docs/driver.md, "Poll modes").  Poll mode event (the
# default), so that a driver sleeps after every idle turn, or the one the
# first argument names: `adaptive`, with each driver on a cpu apart from
# its stack's (with one cpu the test runs them on the same), where a
# driver polls on while its stack is awake and for up to 100 µs while its
# cpu has nothing else to run, yielding the cpu, and then sleeps (so that
# frames often find it awake: in adaptive mode the stress asks only that
# it slept and was woken by the NIC; spin_turns shows the polling).
# Behaviour only: every bound below is seconds wide and never measures
# speed.
#
#   root namespace                        fragnet topology fnt-drvwake-PID
#
#   ping, udp_bursts (python)             nic (net_tap, 2 queues)
#     16 sockets, 10.233.6.1:*              +- queue 0 - driver/0 ══link0══ stack/0 = reflector
#        |                                  |   (epoll: rx fd, bell, doorbell, nic pidfd)
#   [fnt-w<pid>] 10.233.6.1/24 ══ tap ═════+- queue 1 - driver/1 ══link1══ stack/1 = reflector
#                                                                           10.233.6.2
#
#   1. idle: each driver says it sleeps with no timer, and an idle second
#      costs it (almost) no wake-ups: a timer would give hundreds; no
#      sleep ever ended by a timeout (wake_timer)
#   2. after the idle spell, a ping is answered (the NIC wakes the
#      driver, the reflector's reply wakes it again by its doorbell)
#   3. the kernel's ARP request, a broadcast, lands on one queue: the
#      other driver, asleep, is woken by its broadcast bell and its
#      reflector answers too
#   4. stress: 3,000 bursts of 1..8 datagrams from 16 sockets, with gaps
#      of 0..3 ms so that the drivers fall asleep between bursts; every
#      datagram must come back, intact, within 5 s (a lost wake-up would
#      hold one for good: nothing else would wake its driver); both
#      drivers slept and were woken by the NIC and by their stack
#   5. kill -9 stack/0 while driver/0 sleeps: the driver is not restarted,
#      it counts the link reset, and after the restart both queues answer
#      again (ping and bursts)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nic_lib.sh"

POLL=${1:-event}
[[ $POLL == event || $POLL == adaptive ]] || fn_fail "poll mode: event or adaptive, not '$POLL'"
nic_init drvwake "fnt-w$$"
# adaptive: driver q and stack q on different cpus, crosswise
read -ra CPUS <<< "$(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)))')"
APART=
if [[ $POLL == adaptive && ${#CPUS[@]} -ge 2 ]]; then
	APART="[pipeline 0]
driver_cpu = ${CPUS[0]}
stack_cpu = ${CPUS[1]}
[pipeline 1]
driver_cpu = ${CPUS[1]}
stack_cpu = ${CPUS[0]}"
fi
STACK_IP=10.233.6.2
KERNEL_IP=10.233.6.1
MAC=02:00:0a:e9:06:02
fn_conf <<EOF
pipelines = 2
poll = $POLL
placement = compact
[restart]
backoff_ms = 100
backoff_max_ms = 1000
[nic]
exec = $NIC
ifname = $TAP
mac = $MAC
address = $KERNEL_IP/24
mbufs = 8192
[driver]
exec = $DRIVER
[stack]
exec = $REFLECTOR
address = $STACK_IP/24
addressing = shared
$APART
EOF

# udp_bursts BURSTS: the stress of step 4 (also used after the restart).
# Prints "queues-hit" lines as it goes; fails on a missing or damaged reply.
udp_bursts() {
	timeout 300 python3 - "$STACK_IP" "$KERNEL_IP" "$1" <<'PY'
import os, random, select, socket, sys, time
dst, src, bursts = sys.argv[1], sys.argv[2], int(sys.argv[3])
rnd = random.Random(1313)
socks = []
for _ in range(16):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.setblocking(False)
    socks.append(s)
sent = got = 0
worst = 0.0
for b in range(bursts):
    want = {}
    for i in range(rnd.randint(1, 8)):
        s = rnd.choice(socks)
        data = b"wake %d %d " % (b, i) + os.urandom(rnd.randint(0, 48))
        s.sendto(data, (dst, 7777))
        want.setdefault(s, []).append(data)
        sent += 1
    start = time.time()
    while want:
        left = start + 5 - time.time()
        r = select.select(list(want), [], [], max(left, 0))[0] if left > 0 else []
        if not r:
            sys.exit("burst %d: %d datagram(s) without a reply after 5 s "
                     "(a lost wake-up?)" % (b, sum(map(len, want.values()))))
        for s in r:
            data, addr = s.recvfrom(2048)
            if addr != (dst, 7777) or data not in want[s]:
                sys.exit("burst %d: unexpected reply %r from %r" % (b, data, addr))
            want[s].remove(data)
            got += 1
            if not want[s]:
                del want[s]
    worst = max(worst, time.time() - start)
    time.sleep(rnd.choice((0, 0, 0.0002, 0.001, 0.003)))
print("# %d bursts, %d datagrams sent, %d replies; slowest burst %.1f ms"
      % (bursts, sent, got, worst * 1000), file=sys.stderr)
PY
}

delta() {	# delta LABEL COUNTER: its growth since the snapshot in $T/snap.json
	echo $(( $(counter "$1" "$2") - $(counter_of "$T/snap.json" "$1" "$2") ))
}

fn up "$CONF" -d >&2 || fn_fail "up -d failed"
wait_for 30 tap_up "$KERNEL_IP" || fn_fail "tap $TAP did not come up with $KERNEL_IP"
wait_for 30 all_in_state running || fn_fail "not all running: $(fn status "$NAME")"
for q in 0 1; do
	wait_for 30 grep -q "fragnet-driver/$q.*sleeping on: .*: no timer" "$LOG" ||
		fn_fail "driver/$q does not sleep on all its sources: $(grep "sleeping on" "$LOG")"
done
icmp_ping "$STACK_IP" 1 || fn_fail "ping $STACK_IP failed at start"
if [[ -n $APART ]]; then	# the supervisor left them adaptive
	for q in 0 1; do
		grep -q "fragnet-driver/$q.*running: .*poll adaptive" "$LOG" ||
			fn_fail "driver/$q, apart from its stack, does not run adaptive"
	done
fi

# 1. Idle: the drivers sleep.  Let the start-up chatter (IPv6 and ARP from
# the kernel) pass, then count wake-ups over a second; anything that still
# wakes them is a frame (a timer would give ~1,000 a second).
sleep 2
stats_json "$T/snap.json"
sleep 1
for q in 0 1; do
	naps=$(delta driver/$q idle_naps)
	fn_log "driver/$q: $naps sleeps in an idle second"
	((naps <= 50)) || fn_fail "driver/$q woke $naps times in an idle second"
	[[ $(counter driver/$q wake_timer) == 0 ]] ||
		fn_fail "driver/$q: a sleep ended by a timeout"
done

# 2. After the idle spell, ping.
icmp_ping "$STACK_IP" 3 || fn_fail "ping $STACK_IP failed after the idle spell"

# 3. A broadcast for both stacks: forget the neighbour, ping again.
stats_json "$T/snap.json"
ip neigh flush dev "$TAP"
icmp_ping "$STACK_IP" 1 || fn_fail "ping failed after the neighbour flush"
arp_both() {
	[[ $(delta stack/0 refl.arp_replies) -ge 1 && $(delta stack/1 refl.arp_replies) -ge 1 ]]
}
wait_for 5 arp_both || fn_fail "an ARP request did not reach both reflectors: " \
	"stack/0 +$(delta stack/0 refl.arp_replies), stack/1 +$(delta stack/1 refl.arp_replies)"
bcast=$(( $(delta driver/0 wake_bcast) + $(delta driver/1 wake_bcast) ))
fn_log "broadcast wake-ups: $bcast"
((bcast >= 1)) || fn_fail "no driver was woken by a broadcast bell"

# 4. Stress.
stats_json "$T/snap.json"
udp_bursts 3000 || fn_fail "the burst stress lost a reply"
for q in 0 1; do
	fn_log "driver/$q: sleeps +$(delta driver/$q idle_naps), woken by the nic" \
		"+$(delta driver/$q wake_nic), by its stack +$(delta driver/$q wake_link)," \
		"spin turns +$(delta driver/$q spin_turns);" \
		"stack/$q reflected +$(delta stack/$q refl.udp_reflected)"
	(( $(delta stack/$q refl.udp_reflected) > 0 )) ||
		fn_fail "queue $q carried none of the stress"
	(( $(delta driver/$q idle_naps) > 0 && $(delta driver/$q wake_nic) > 0 )) ||
		fn_fail "driver/$q did not sleep and wake by the NIC in the stress"
	[[ $POLL != event ]] || (( $(delta driver/$q wake_link) > 0 )) ||
		fn_fail "driver/$q was never woken by its stack in the stress"
	[[ $(counter driver/$q wake_timer) == 0 ]] ||
		fn_fail "driver/$q: a sleep ended by a timeout"
done

# 5. kill -9 the stack under a sleeping driver.
sleep 0.5
drv0=$(status_field driver 0 3)
stk0=$(status_field stack 0 3)
resets=$(counter driver/0 link_resets)
kill -KILL "$stk0"
new_stack() { local p; p=$(status_field stack 0 3); [[ $p =~ ^[0-9]+$ && $p != "$stk0" ]]; }
wait_for 15 new_stack || fn_fail "stack/0 was not restarted"
wait_for 30 all_in_state running || fn_fail "not all running after the stack restart"
[[ $(status_field driver 0 3) == "$drv0" ]] || fn_fail "driver/0 was restarted too"
reset_seen() { (( $(counter driver/0 link_resets) > resets )); }
wait_for 5 reset_seen || fn_fail "driver/0 did not see the link reset"
icmp_ping "$STACK_IP" 3 || fn_fail "ping failed after the stack restart"
stats_json "$T/snap.json"
udp_bursts 500 || fn_fail "bursts lost a reply after the stack restart"
for q in 0 1; do
	(( $(delta stack/$q refl.udp_reflected) > 0 )) ||
		fn_fail "queue $q carries nothing after the stack restart"
done
for s in stack/0 stack/1; do
	[[ $(counter "$s" refl.link_broken) == 0 ]] || fn_fail "$s: a driver broke the link"
done
fn down "$NAME" >&2 || fn_fail "down failed"
wait_for 10 tap_gone || fn_fail "tap $TAP still there after down"
echo "ok: driver wake ($POLL)"
