#!/bin/bash
# NIC test 1: UDP from many kernel sockets through a 2-queue tap NIC, its
# two drivers and two reflectors, and back.  Every datagram must come back,
# or the counters along the path must account for every one that did not;
# every queue must carry traffic.
#
#   root namespace (kernel stack)         fragnet topology fnt-nicudp-clean-PID
#
#   fn-udp-load                           nic (net_tap vdev, 2 queues,
#     64 UDP sockets                           mac 02:00:0a:e9:N:02)
#     10.233.N.1:*                          |
#        |                                  +- queue 0 - driver/0 ══link0══ stack/0 = reflector
#   [fnt-uc<pid>] 10.233.N.1/24 ═ tap ════+                                  10.233.N.2
#        ^  kernel side of the tap          +- queue 1 - driver/1 ══link1══ stack/1 = reflector
#        |  (flows hashed over queues)                                        10.233.N.2
#   ping 10.233.N.2
#
#   (10.233.N.0/24: a free subnet, lib.sh fn_net)
#   1. ping 10.233.N.2: ARP and ICMP echo through the reflectors; the
#      ARP request (a broadcast) reaches both reflectors
#   2. fn-udp-load: 200,000 datagrams from 64 source ports to
#      10.233.N.2:7777, window 256; each reply checked byte for byte
#   3. sent == received + lost; lost <= the drops counted on the path:
#      drivers' drop_*, reflectors' drops that can hit a UDP datagram, the
#      nic's imissed/ierrors/oerrors/rx_nombuf, the tap's kernel drop and
#      error counts and Udp InErrors/RcvbufErrors (deltas over the run);
#      no bad, duplicate or stale reply
#   4. each driver's rx_pkts > 0 and each reflector's udp_reflected > 0
#
#   test_nic_udp.sh lossy: the same (tap fnt-ul<pid>)
#   through links of 8 slots with 2048 datagrams in flight, so that drivers
#   and reflectors must drop: it passes only if datagrams were lost AND the
#   counters account for them
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# lossy: tiny links (8 slots) under a window of 2048, so that the drivers
# and reflectors must drop: checks that the accounting sees real losses.
MODE=${1:-clean}
COUNT=${FN_UDP_COUNT:-200000}
SLOTS=1024
WINDOW=256
if [[ $MODE == lossy ]]; then
	SLOTS=8
	WINDOW=2048
fi
nic_init "nicudp-$MODE" "fnt-u${MODE:0:1}$$"
fn_net 10.233
tap_topology pipelines=2 stack.addressing=shared \
	restart.backoff_ms=100 restart.backoff_max_ms=1000 \
	link.slots=$SLOTS nic.mbufs=8192 stack.exec="$REFLECTOR"

fn_up
wait_tap_up
wait_running

# 1. ARP and ping.
icmp_ping "$STACK_IP" 3 || fn_fail "ping $STACK_IP failed"
fn_log "neighbour: $(ip neigh show "$STACK_IP" dev "$TAP")"
ip neigh show "$STACK_IP" dev "$TAP" | grep -q "$MAC" ||
	fn_fail "ARP did not resolve $STACK_IP to the nic's MAC"
# The kernel's ARP request came in on one queue; its driver hands
# broadcasts to every queue (dpdk.h, SHARED MAC AND IP): every stack saw it.
for q in 0 1; do
	[[ $(counter stack/$q refl.arp_replies) -ge 1 ]] ||
		fn_fail "stack/$q never saw the ARP request (no broadcast fan-out?)"
done

# 2. The load, between two snapshots of every counter on the path.
stats_json "$T/before.json"
kernel_drops > "$T/kernel.before"
nic_pid=$(status_field nic - 3)
nic_t0=$(awk '{ print $14 + $15 }' "/proc/$nic_pid/stat")
rc=0
timeout 150 "$LOAD" --dst "$STACK_IP" --port 7777 --bind "$KERNEL_IP" \
	--sources 64 --count "$COUNT" --window "$WINDOW" --timeout-ms 2000 \
	--drain-ms 2000 --time-limit 120 --json > "$T/load.json" || rc=$?
[[ $rc == 0 ]] || fn_fail "fn-udp-load exited $rc: $(cat "$T/load.json")"
sleep 1.2	# the nic refreshes its stats page every 500 ms
stats_json "$T/after.json"
kernel_drops > "$T/kernel.after"
fn_log "load: $(cat "$T/load.json")"
# The nic does no packet I/O; report what it cost anyway (DPDK's tap PMD
# signals the nic for every frame the kernel queues, see bench/README.md).
nic_t1=$(awk '{ print $14 + $15 }' "/proc/$nic_pid/stat")
fn_log "nic cpu during the load: $(( (nic_t1 - nic_t0) * 1000 / $(getconf CLK_TCK) )) ms"

# 3. and 4.
stats_py "$T" "$COUNT" "$MODE" <<'EOF' || fn_fail "the accounting does not add up (above)"
t, count, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
load = json.load(open(t + "/load.json"))
before = counters(t + "/before.json")
after = counters(t + "/after.json")
kb = dict(l.split() for l in open(t + "/kernel.before"))
ka = dict(l.split() for l in open(t + "/kernel.after"))
def delta(label, name):
    return after[label].get(name, 0) - before.get(label, {}).get(name, 0)
# Reflector drops that a UDP datagram to us can land in (not IPv6, ARP...).
refl_udp = ["drop_short", "drop_not_our_mac", "drop_ip_header",
            "drop_ip_checksum", "drop_ip_fragment", "drop_not_our_ip",
            "drop_udp_header", "drop_udp_checksum", "drop_no_slot"]
nic = ["imissed", "ierrors", "oerrors", "rx_nombuf"]
acc, errs = {}, []
for q in (0, 1):
    d, s = "driver/%d" % q, "stack/%d" % q
    for n in after[d]:
        if n.startswith("drop_"):
            acc[d + "." + n] = delta(d, n)
    for n in refl_udp:
        acc[s + ".refl." + n] = delta(s, "refl." + n)
for n in nic:
    acc["nic." + n] = delta("nic", n)
for k in ka:
    acc["kernel." + k] = int(ka[k]) - int(kb[k])
accounted = sum(acc.values())
print("# sent %d received %d lost %d; drops counted on the path: %d" %
      (load["sent"], load["received"], load["lost"], accounted), file=sys.stderr)
for k, v in sorted(acc.items()):
    if v:
        print("#   %s = %d" % (k, v), file=sys.stderr)
for q in (0, 1):
    d, s = "driver/%d" % q, "stack/%d" % q
    print("# queue %d: driver rx_pkts %d tx_pkts %d, reflector udp_reflected %d "
          "(nic queue%d.rx %s)" % (q, delta(d, "rx_pkts"), delta(d, "tx_pkts"),
          delta(s, "refl.udp_reflected"), q, after["nic"].get("queue%d.rx" % q)),
          file=sys.stderr)
    if delta(d, "rx_pkts") <= 0:
        errs.append("driver/%d received nothing from its queue" % q)
    if delta(s, "refl.udp_reflected") <= 0:
        errs.append("reflector %d reflected no UDP" % q)
if load["sent"] != count:
    errs.append("sent %d of %d" % (load["sent"], count))
if load["sent"] != load["received"] + load["lost"]:
    errs.append("sent != received + lost")
if load["lost"] > accounted:
    errs.append("%d datagrams lost, only %d drops counted on the path" %
                (load["lost"], accounted))
for k in ("bad", "duplicates", "stale", "send_errors"):
    if load[k]:
        errs.append("%s = %d" % (k, load[k]))
if mode == "lossy" and (load["lost"] == 0 or accounted == 0):
    errs.append("lossy mode lost nothing: the test cannot check the accounting")
if load["sources_with_replies"] != load["sources"]:
    errs.append("only %d of %d source ports got replies" %
                (load["sources_with_replies"], load["sources"]))
for e in errs:
    print("FAIL: " + e, file=sys.stderr)
sys.exit(1 if errs else 0)
EOF

[[ $(counter stack/0 refl.link_broken) == 0 && $(counter stack/1 refl.link_broken) == 0 ]] ||
	fn_fail "a driver broke the link protocol"
fn down "$NAME" >&2 || fn_fail "down failed"
wait_for 10 tap_gone ||
	fn_fail "tap $TAP still there after down"
echo "ok: nic udp"
