#!/bin/bash
# Internal networks, the example of config/internal.conf: a Redis primary
# on the tap NIC and the network, its replica on the network only, behind
# a ruleset that admits only the primary (config/internal-replica.nft),
# and a third app on the network that the ruleset keeps out.  The test's
# own names and subnets; the network gets a host port, which the ruleset
# admits as well, to read the replica.
#
#   kernel: tap fnvrPID 10.240.N.1 ── nic ── driver/0
#   stack/0 fn0 10.240.N.2, vn 10.236.M.1 ══ app/0 redis-server (primary)
#   stack/1             vn 10.236.M.2 ══ app/1 redis-server --replicaof .1
#                       ruleset: iifname "vn" ip saddr {.1, .254} accept
#   stack/2             vn 10.236.M.3 ══ app/2 vsw_prober.py (python3,
#                                          preload): INCR ticks on the
#                                          primary, knocks at the replica
#   host port: tap fnhPID 10.236.M.254
#
#   1. the primary answers from the kernel's side of the NIC; its INFO
#      shows one replica, online
#   2. replication goes on: the replica (read from the host port) reaches
#      the primary's ticks, twice, 3 s apart
#   3. meanwhile the replica's filter stops pipeline 2: none of its knocks
#      got through, stack/1's stack.filter_drop_rx grows, and the prober's
#      writes to the primary all succeeded
#   4. fragnet down: nothing is left
set -euo pipefail
. "$(dirname "$0")/lib.sh"

nic_init vsw-redis "fnvr$$"
vsw_setup
: "${FN_PRELOAD:?}"
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
	fn_skip "no redis-server or redis-cli"
fn_net 10.240
fn_bin REDIS "$(readlink -f "$(command -v redis-server)")" redis-server
APP_USER=fragnet-app
getent passwd "$APP_USER" >/dev/null || APP_USER=nobody
P0=$(vsw_ip 0)
P1=$(vsw_ip 1)

# The shipped ruleset, on the test's network and addresses, the host
# admitted too.
sed -e "s/\"internal\"/\"$VSW_NET\"/" \
    -e "s/ip saddr 10\.90\.0\.1 /ip saddr { $P0, $HOST_IP } /" \
    "$FN_ROOT/config/internal-replica.nft" > "$T/replica.nft"
grep -q "ip saddr { $P0, $HOST_IP } accept" "$T/replica.nft" ||
	fn_fail "config/internal-replica.nft no longer has the rule this test adapts"

# redis P [ARGS...]: pipeline P's redis-server arguments (one line).
redis() {
	local dir="$T/data$1"
	shift
	install -d -o "$APP_USER" -m 0700 "$dir"
	echo "--port 6379 --protected-mode no --save \"\" --appendonly no" \
	     "--dir $dir --daemonize no --logfile \"\" $*"
}

mapfile -t host < <(vsw_host)
tap_topology pipelines=3 restart.backoff_ms=100 restart.backoff_max_ms=1000 \
	driver.exec= "pipeline 0.driver_exec=$DRIVER" \
	vswitch.exec="$VSW" "network $VSW_NET.subnet=$VSW_SUBNET.0/24" \
	"${host[@]}" stack.exec="$STACK" stack.networks="$VSW_NET" \
	app.exec="$REDIS" app.user="$APP_USER" \
	"pipeline 0.app_args=$(redis 0 --repl-diskless-sync-delay 0)" \
	"pipeline 1.app_args=$(redis 1 --replicaof "$P0" 6379)" \
	"pipeline 1.stack_ruleset=$T/replica.nft" \
	"pipeline 2.app_exec=/usr/bin/python3" \
	"pipeline 2.app_args=$FN_HERE/vsw_prober.py --primary $P0 --replica $P1 --out $T/probe.json"
chmod 777 "$T"		# the prober runs as $APP_USER: its report
fn_up
wait_tap_up
wait_running
wait_for 10 vsw_host_ok || fail_stats "the host port $HOST_IF is not up"

# rcli_at IP ARGS...: redis-cli against IP, bounded; the network's
# addresses only while the host port is up.
rcli_at() {
	local ip=$1
	shift
	[[ $ip == "$STACK_IP" ]] || vsw_host_ok ||
		fn_fail "the host port is down: nothing sent to $ip"
	timeout 10 redis-cli -h "$ip" -p 6379 "$@" | tr -d '\r'
}

# 1.
wait_for 20 eval '[[ $(rcli_at "$STACK_IP" PING 2>/dev/null) == PONG ]]' ||
	fail_stats "the primary does not answer over the NIC"
online() {
	rcli_at "$STACK_IP" INFO replication 2>/dev/null |
		grep -q "^slave0:ip=$P1,.*state=online"
}
wait_for 30 online || fail_stats "no replica online: $(rcli_at "$STACK_IP" INFO replication)"

# 2.
caught_up() {
	local r
	r=$(rcli_at "$P1" GET ticks 2>/dev/null)
	[[ $r =~ ^[0-9]+$ ]] && (( r >= $1 ))
}
for round in 1 2; do
	t=$(rcli_at "$STACK_IP" GET ticks)
	[[ $t =~ ^[0-9]+$ ]] && (( t > 0 )) || fail_stats "no ticks on the primary: '$t'"
	wait_for 10 caught_up "$t" || fail_stats "the replica did not reach $t ticks"
	fn_log "round $round: the replica has the primary's $t ticks"
	drops[$round]=$(counter stack/1 stack.filter_drop_rx)
	[[ $round == 2 ]] || sleep 3
done

# 3.
python3 - "$T/probe.json" "${drops[1]}" "${drops[2]}" <<'PY' || fail_stats "the filter did not keep pipeline 2 out"
import json, sys
p = json.load(open(sys.argv[1]))
d1, d2 = int(sys.argv[2]), int(sys.argv[3])
print("# prober %s; stack/1 filter_drop_rx %d -> %d" % (p, d1, d2), file=sys.stderr)
bad = []
if p["replica_ok"]:
    bad.append("%d knocks reached the replica" % p["replica_ok"])
if p["replica_fail"] < 10:
    bad.append("only %d knocks" % p["replica_fail"])
if p["primary_errors"] or p["incr"] < 10:
    bad.append("the prober's writes failed: %s" % p)
if not d2 > d1 > 0:
    bad.append("filter_drop_rx did not grow: %d, %d" % (d1, d2))
if bad:
    sys.exit("; ".join(bad))
PY

# 4.
topology_down
echo "ok: replication over the switch, the replica's filter keeps pipeline 2 out"
