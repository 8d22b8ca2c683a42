#!/bin/bash
# Per-pipeline addresses ([stack] addressing = per-pipeline, the default):
# each pipeline's stack has its own address and MAC on the tap's subnet,
# and the drivers steer every frame to the pipeline whose MAC it is for;
# two stacks reach each other through their drivers (the hairpin), never
# through the kernel (docs/driver.md, "Steering and hairpin").
#
#   root namespace (kernel stack)        fragnet topology fnt-redis-steer-PID
#
#   steer_check.py, redis-cli           nic (net_tap, 2 queues; the tun flow
#   [fnrPID] 10.240.N.1/24 ══ tap ══════+ hash picks a queue, not the MAC)
#                                       +- queue 0 ─ driver/0 ══ stack/0 10.240.N.2
#                                       |             ▲ steer    02:00:0a:f0:NN:02
#                                       |             ▼ rings    ══ app/0 redis-server
#                                       +- queue 1 ─ driver/1 ══ stack/1 10.240.N.3
#                                                                02:00:0a:f0:NN:03
#                                                                ══ app/1 redis-server
#   Each redis-server binds {address}: its own stack's address only.
#
#   1. status shows each stack's address and MAC; ARP: a who-has for each
#      address is answered once, by its owner's MAC
#   2. 1,000 connections to each address, all open at once, land on that
#      address's redis-server (INFO clients: 1,000 + the asker), each
#      server a different one (run_id)
#   3. read after write at each address: SET on one connection, GET on
#      another, 400 times each
#   4. the drivers' counters add up: sum steered_out = sum steered_in +
#      drop_steer_full (the test logs how many frames the tun hash sent
#      to the wrong queue)
#   5. the hairpin: a second topology whose app/0 is a python client
#      (steer_check.py hairpin, preloaded) writing to and reading from
#      app/1's redis-server at pipeline 1's address: every round trip
#      succeeds, driver/0's hairpin counter grows, driver/1 took them as
#      hairpin_in, and the kernel saw none of those TCP frames on the tap
#      (it did see the stacks' ARP broadcasts, which go to the NIC too)
#   6. fragnet down: nothing is left
set -euo pipefail
. "$(dirname "$0")/lib.sh"

redis_init steer
redis_need_fragnet "per-pipeline addressing"
CHECK="$FN_HERE/steer_check.py"
P0=$STACK_IP
P1=${STACK_IP%.*}.$(( ${STACK_IP##*.} + 1 ))
mac_of() { printf '02:00:%02x:%02x:%02x:%02x' ${1//./ }; }

# up_steer APP0_EXEC APP0_ARGS: the two pipelines, app/1 a redis-server
# on {address}; app/0 as given.
up_steer() {
	local args1
	args1=$(redis_args 1 | sed -e "s/--bind $STACK_IP/--bind {address}/" \
		-e '2,$s/^/  /')
	tap_topology pipelines=2 restart.backoff_ms=100 \
		restart.backoff_max_ms=1000 stack.exec="$STACK" \
		stack.profile=full app.user="$APP_USER" app.preload=yes \
		"pipeline 0.app_exec=$1" "pipeline 0.app_args=$2" \
		"pipeline 1.app_exec=$REDIS" "pipeline 1.app_args=$args1"
	fn_up
	wait_tap_up
	wait_running
}

rcli_at() { timeout "$RCLI_BOUND" redis-cli -h "$1" -p "$REDIS_PORT" "${@:2}" | tr -d '\r'; }
pings_at() { [[ $(rcli_at "$1" PING 2>/dev/null) == PONG ]]; }
info_at() { rcli_at "$1" INFO "$2" | awk -F: -v f="$3" '$1 == f { print $2 }'; }

# ---- 1-4: two redis-servers, one per address ------------------------------

up_steer "$REDIS" "$(redis_args 0 | sed -e "s/--bind $STACK_IP/--bind {address}/" \
	-e '2,$s/^/  /')"
for a in "$P0" "$P1"; do
	wait_for 30 pings_at "$a" || fail_stats "$a does not answer PING"
done

# 1.
for p in 0 1; do
	a=$([[ $p == 0 ]] && echo "$P0" || echo "$P1")
	[[ $(status_field stack "$p" 9) == "$a/24" &&
	   $(status_field stack "$p" 10) == "$(mac_of "$a")" ]] ||
		fail_stats "status: stack/$p at $(status_field stack "$p" 9)" \
			"$(status_field stack "$p" 10), want $a/24 $(mac_of "$a")"
	got=$(timeout 10 python3 "$CHECK" arp "$TAP" "$KERNEL_IP" "$a")
	[[ $got == "$(mac_of "$a")" ]] ||
		fail_stats "ARP for $a: replies from '$got', want one from $(mac_of "$a")"
done
fn_log "ARP: $P0 and $P1 each answered once, by its own MAC"

# 2.
exec {hold_in}> >(timeout 300 python3 "$CHECK" hold --bind "$KERNEL_IP" 1000 \
	"$P0" "$P1" > "$T/hold.out" 2> "$T/hold.err")
fn_defer eval "exec $hold_in>&-"
wait_for 120 grep -q ready "$T/hold.out" ||
	fail_stats "2,000 connections did not open: $(cat "$T/hold.err")"
ids=()
for a in "$P0" "$P1"; do
	n=$(info_at "$a" clients connected_clients)
	[[ $n == 1001 ]] || fail_stats "$a: connected_clients $n, want 1001"
	ids+=("$(info_at "$a" server run_id)")
done
[[ ${ids[0]} != "${ids[1]}" ]] || fail_stats "both addresses reached one redis-server"
exec {hold_in}>&-
fn_log "1,000 connections to each address, each on its own redis-server"

# 3.
timeout 200 python3 "$CHECK" raw --bind "$KERNEL_IP" 200 "$P0" "$P1" ||
	fail_stats "read after write"

# 4.  Frames may still be on a ring when the stats are read: look again.
# sums_add_up OUT IN DROP: in a fresh stats snapshot, the sum over the
# drivers of counter OUT equals that of IN plus DROP; logs them.
sums_add_up() {
	stats_json "$T/stats.json"
	stats_py "$T/stats.json" "$@" <<'PY'
c = counters(sys.argv[1])
out, inn, drop = sys.argv[2:5]
d = [c["driver/%d" % q] for q in (0, 1)]
s = lambda k: sum(x[k] for x in d)
print("# %s %s, %s %s, %s %s, rx_pkts %s"
      % (out, [x[out] for x in d], inn, [x[inn] for x in d], drop,
         [x[drop] for x in d], [x["rx_pkts"] for x in d]), file=sys.stderr)
sys.exit(s(out) != s(inn) + s(drop))
PY
}
wait_for 10 sums_add_up steered_out steered_in drop_steer_full ||
	fail_stats "steered_out != steered_in + drop_steer_full"
n=$(stats_py "$T/stats.json" <<'PY'
c = counters(sys.argv[1])
print(sum(c["driver/%d" % q]["steered_out"] for q in (0, 1)))
PY
)
fn_log "the tun flow hash sent $n frames to the other pipeline's queue;" \
	"the drivers steered them"
topology_down

# ---- 5: the hairpin, app/0 a client of app/1 -------------------------------

chmod 777 "$T"		# the client runs as $APP_USER: its report
up_steer /usr/bin/python3 \
	"$CHECK hairpin --host $P1 --go $T/go --out $T/hairpin.json 500"
# app/1 listens before app/0 connects (its one connect does not retry);
# the sniffer below starts after, and counts no kernel<->app/1 frame.
wait_for 30 pings_at "$P1" || fail_stats "app/1 does not answer at $P1"
exec {sniff_in}> >(timeout 120 python3 "$CHECK" sniff "$TAP" 100 "$P0" "$P1" \
	> "$T/sniff.out" 2> "$T/sniff.err")
fn_defer eval "exec $sniff_in>&-"
wait_for 20 grep -q ready "$T/sniff.out" ||
	fail_stats "the sniffer did not start: $(cat "$T/sniff.err")"
touch "$T/go"
wait_for 60 test -s "$T/hairpin.json" || fail_stats "the client wrote no report"
python3 - "$T/hairpin.json" <<'PY' || fail_stats "app/0 did not reach app/1"
import json, sys
r = json.load(open(sys.argv[1]))
print("# app/0 -> %s: %s" % ("app/1", r), file=sys.stderr)
if r["ok"] != 500 or r["errors"]:
    sys.exit("hairpin round trips: %s" % r)
PY
wait_for 10 sums_add_up hairpin hairpin_in drop_hairpin_full ||
	fail_stats "hairpin != hairpin_in + drop_hairpin_full"
hp=$(counter_of "$T/stats.json" driver/0 hairpin)
back=$(counter_of "$T/stats.json" driver/1 hairpin)
fn_log "hairpin: driver/0 $hp frames to pipeline 1, driver/1 $back back"
(( hp >= 1000 && back >= 1000 )) ||
	fail_stats "the frames between the stacks did not take the hairpin"
exec {sniff_in}>&-
wait_for 10 eval '[[ $(wc -l < "$T/sniff.out") == 2 ]]' ||
	fn_fail "the sniffer did not report: $(cat "$T/sniff.err")"
read -r seen total < <(tail -n 1 "$T/sniff.out")
fn_log "the tap's kernel side saw $total frames, $seen of them TCP between the stacks"
(( total > 0 )) || fn_fail "the sniffer saw nothing at all (not even ARP)"
[[ $seen == 0 ]] || fn_fail "the kernel saw $seen TCP frames between $P0 and $P1"
topology_down
echo "ok: an address per pipeline, steering counted, the hairpin kept off the kernel"
