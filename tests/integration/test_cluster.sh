#!/bin/bash
# Redis Cluster across pipelines: the stock redis-server in cluster mode as
# the app of every pipeline, each pipeline at an address of its own
# ([stack] addressing = per-pipeline), made one cluster by the supervisor
# ([cluster] enabled, `fragnet cluster create`); the Debian redis-cli and
# cluster_check.py (RESP on the stdlib, slot-routed) on the kernel's side.
#
#   root namespace (kernel stack)        fragnet topology fnt-redis-cl-CASE-PID
#
#   redis-cli -c, cluster_check.py       nic (tap, P queues)
#   [fnrPID] 10.240.N.1/24 ══ tap ═══════+- queue 0 ─ driver/0 ══ stack/0 .2 ══ app/0 redis :6379
#     sniffer: no frame of the           +- queue 1 ─ driver/1 ══ stack/1 .3 ══ app/1 redis :6379
#     cluster bus (:16379) here          +- ...
#                                           driver i ◄═ hairpin ═► driver j: the cluster bus
#
# One case per run (test_cluster.sh CASE), each with its own topology:
#   keys      2 pipelines, 2 masters: CLUSTER INFO says cluster_state:ok,
#             16384 slots assigned, 2 nodes on each node and `status` says
#             cluster ok; 1,000 keys through `redis-cli -c` (redirections
#             followed) and 100,000 slot-routed, all read back over new
#             connections; the drivers counted hairpinned frames and the
#             tap's kernel side saw no cluster bus frame; app/1 killed -9
#             comes back with its nodes file, the same node, cluster ok;
#             `down` and `up` again: the supervisor finds the cluster
#             formed and changes nothing
#   failover  4 pipelines (a tap serves at most 4), masters = 3 and one
#             replica, of pipeline 0 (Redis fails a master over only with
#             the votes of a majority of masters: 2 masters could not):
#             20,000 keys each acknowledged by WAIT 1, kill -9 of master
#             app/0, its replica (pipeline 3) becomes master within the
#             node timeout (the supervisor asks it to take over; measured
#             from the kill to role:master), every surviving node sees
#             the cluster ok and gives the same slot map, writes resume,
#             every acknowledged key is there, and app/0, restarted after
#             the takeover, comes back as a replica of pipeline 3
set -euo pipefail
. "$(dirname "$0")/lib.sh"

CASE=${1:?usage: test_cluster.sh CASE}
# ms, --cluster-node-timeout of every app: Redis's default, except where
# a failover is awaited (a loaded machine must not fail a healthy node)
NODE_TIMEOUT=15000
CHECK="$FN_HERE/cluster_check.py"

# The redis-server arguments, the same for every pipeline ({address} and
# {pipeline} expand per pipeline): cluster mode, the nodes file and data
# in a dir the app user owns, persistence off.
cluster_app_args() {
	echo "--port $REDIS_PORT --bind {address} --protected-mode no"
	echo "  --save \"\" --appendonly no --dir $T/data --dbfilename dump-{pipeline}.rdb"
	echo "  --cluster-enabled yes --cluster-config-file nodes-{pipeline}.conf"
	echo "  --cluster-announce-ip {address} --cluster-node-timeout $NODE_TIMEOUT"
	echo "  --maxclients 4000 --daemonize no --logfile \"\""
}

# cluster_up PIPELINES [KEY=VALUE...]: the topology, up (`up -d` returns
# once the cluster is made), every component running.
cluster_up() {
	local pipes=$1
	shift
	CL_PIPES=$pipes
	install -d -o "$APP_USER" -m 0700 "$T/data"
	tap_topology pipelines="$pipes" nic.mac="${MAC%:02}:01" \
		restart.backoff_ms=100 restart.backoff_max_ms=1000 \
		stack.profile=full stack.addressing=per-pipeline \
		app.exec="$REDIS" app.user="$APP_USER" app.preload=yes \
		app.args="$(cluster_app_args)" cluster.enabled=yes \
		cluster.port="$REDIS_PORT" cluster.timeout_ms=60000 "$@"
	fn up "$CONF" -d >&2 || fn_fail "up -d failed (cluster not created?)"
	wait_tap_up
	wait_running
}

# Pipeline P's address.
addr() { echo "10.240.$NET.$(($1 + 2))"; }

# ccli P ARGS...: redis-cli against pipeline P's node, bounded.
ccli() {
	local p=$1
	shift
	timeout "$RCLI_BOUND" redis-cli -h "$(addr "$p")" -p "$REDIS_PORT" "$@"
}

# cinfo P FIELD: one field of CLUSTER INFO on pipeline P's node.
cinfo() {
	ccli "$1" CLUSTER INFO | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'
}

# role P: master or slave, from INFO replication.
role() {
	ccli "$1" INFO replication | tr -d '\r' | awk -F: '$1 == "role" { print $2 }'
}

# cluster_ok P NODES: P's node sees the whole cluster ok.
cluster_ok() {
	[[ $(cinfo "$1" cluster_state) == ok &&
	   $(cinfo "$1" cluster_slots_assigned) == 16384 &&
	   $(cinfo "$1" cluster_known_nodes) == "$2" ]]
}

# ccheck P CHECK ARGS...: cluster_check.py, starting at pipeline P's node.
ccheck() {
	local p=$1
	shift
	timeout 200 python3 "$CHECK" --host "$(addr "$p")" --port "$REDIS_PORT" "$@"
}

# cluster_views: what each node says, one line a node: its CLUSTER INFO
# state and counts, then every node it knows (address, flags, config
# epoch, link, slots), for a failure message.
cluster_views() {
	local p out
	for ((p = 0; p < CL_PIPES; p++)); do
		out=$(RCLI_BOUND=5 ccli "$p" CLUSTER INFO 2>&1 | tr -d '\r' | awk -F: '
			$1 ~ /^cluster_(state|slots_(ok|pfail|fail)|known_nodes|current_epoch)$/ {
				sub("cluster_", "", $1); printf "%s=%s ", $1, $2; n++ }
			END { if (!n) print "unreachable" }') || true
		if [[ $out != unreachable* ]]; then
			out+=$(RCLI_BOUND=5 ccli "$p" CLUSTER NODES 2>&1 | tr -d '\r' |
				awk '{ s = ""; for (i = 9; i <= NF; i++) s = s "," $i
					printf "| %s %s e%s %s %s ", $2, $3, $7, $8, substr(s, 2) }') || true
		fi
		echo "node $p $(addr "$p"): $out"
	done
}

# ccheck_ok WHAT P CHECK ARGS...: ccheck, its stderr shown; on failure,
# fail WHAT with the client's last lines (node, slot, reply) and what
# each node says: the meson log keeps only a test's last 100 lines.
ccheck_ok() {
	local what=$1 err="$T/ccheck.err" rc=0
	shift
	ccheck "$@" 2> "$err" || rc=$?
	cat "$err" >&2
	((rc == 0)) && return 0
	fail_stats "$what (cluster_check.py ${*:2}: exit $rc)
$(tail -n 5 "$err")
$(cluster_views)"
}

status_title() { fn status "$NAME" | head -n 1; }

# The sum of every driver's counters whose name says hairpin and not drop.
hairpin_frames() {
	stats_json "$T/hp.json"
	stats_py "$T/hp.json" <<'PY'
n = 0
for label, c in counters(sys.argv[1]).items():
    if label.startswith("driver/"):
        n += sum(v for k, v in c.items() if "hairpin" in k and "drop" not in k)
print(n)
PY
}

# ---- keys -----------------------------------------------------------------

case_keys() {
	local p id1 n sniff="$T/sniff.out"
	cluster_up 2
	[[ $(status_title) == *", cluster ok"* ]] ||
		fail_stats "status does not say cluster ok: $(status_title)"
	# The cluster bus on the tap's kernel side, while everything below runs.
	timeout 120 python3 "$CHECK" sniff "$TAP" 25 $((REDIS_PORT + 10000)) \
		> "$sniff" &
	LOAD_PIDS+=($!)
	for p in 0 1; do
		cluster_ok "$p" 2 || fail_stats "node $(addr "$p"): $(ccli "$p" CLUSTER INFO | head -n 7)"
	done
	# redis-cli -c follows each MOVED to the node of the key's slot.
	n=$(seq 0 999 | awk '{ print "SET c:" $1 " v:" $1 }' |
		timeout 120 redis-cli -c -h "$(addr 0)" -p "$REDIS_PORT" | grep -c '^OK$')
	[[ $n == 1000 ]] || fail_stats "redis-cli -c: $n of 1000 SETs OK"
	[[ $(ccli 1 -c GET c:7) == v:7 && $(ccli 0 -c GET c:999) == v:999 ]] ||
		fail_stats "redis-cli -c GET"
	ccheck_ok "the keys redis-cli -c wrote" 0 verify c 1000
	ccheck_ok "writing 100,000 keys" 0 write k 100000
	ccheck_ok "reading 100,000 keys back" 1 verify k 100000
	[[ $(( $(ccli 0 DBSIZE) + $(ccli 1 DBSIZE) )) == 101000 ]] ||
		fail_stats "DBSIZE: $(ccli 0 DBSIZE) + $(ccli 1 DBSIZE), want 101000"
	# The bus went driver to driver.
	n=$(hairpin_frames)
	((n > 0)) || fail_stats "no driver counted a hairpinned frame"
	fn_log "hairpinned frames: $n"
	wait "${LOAD_PIDS[-1]}" || fail_stats "the sniffer failed"
	[[ $(cat "$sniff") == 0 ]] ||
		fail_stats "$(cat "$sniff") cluster bus frames crossed the tap's kernel side"
	# An app killed -9 comes back as the same node, from its nodes file.
	id1=$(ccli 1 CLUSTER MYID)
	p=$(status_field app 1 3)
	kill -9 "$p"
	wait_for 30 restarted app 1 "$p" || fail_stats "app/1 was not restarted"
	wait_for 60 cluster_ok 1 2 || fail_stats "node $(addr 1) did not rejoin"
	wait_for 30 cluster_ok 0 2 || fail_stats "node $(addr 0) lost the cluster"
	[[ $(ccli 1 CLUSTER MYID) == "$id1" ]] || fail_stats "app/1 came back as another node"
	# A second up finds the cluster formed (the nodes files are kept).
	topology_down
	: > "$LOG"
	fn up "$CONF" -d >&2 || fn_fail "second up -d failed"
	wait_running
	grep -q "already form a cluster" "$LOG" ||
		fail_stats "the second up did not find the cluster formed"
	[[ $(status_title) == *", cluster ok"* ]] || fail_stats "second up: $(status_title)"
	wait_for 30 cluster_ok 0 2 || fail_stats "second up: cluster not ok"
}

# ---- failover ---------------------------------------------------------------

# takeover_ms P: kill -9 app/P, a master, and print the ms from the kill
# until its replica (pipeline 3, the first replica, of the first master)
# says role:master.
takeover_ms() {
	timeout 60 python3 "$CHECK" --host "$(addr 3)" --port "$REDIS_PORT" \
		takeover "$(status_field app "$1" 3)" $((NODE_TIMEOUT / 1000 + 20))
}

# old_master_rejoins P OLDPID: the supervisor restarted app/P once its
# replica took over (not after restart_delay_ms), and Redis made it a
# replica of the new master, pipeline 3 (its slots have a newer epoch).
old_master_rejoins() {
	local host
	grep -q "app/$1 died: its replica took over" "$LOG" ||
		fail_stats "the supervisor did not log the takeover"
	grep -E "app/$1 died|cluster: ask" "$LOG" | while read -r l; do fn_log "$l"; done
	wait_for 30 restarted app "$1" "$2" || fail_stats "app/$1 was not restarted"
	wait_for 30 eval "[[ \$(role $1) == slave ]]" ||
		fail_stats "app/$1 came back as $(role "$1"), not as a replica"
	host=$(ccli "$1" INFO replication | tr -d '\r' | awk -F: '$1 == "master_host" { print $2 }')
	[[ $host == "$(addr 3)" ]] || fail_stats "app/$1 replicates '$host', not $(addr 3)"
	[[ $(status_title) == *"(last: app/$1 taken over in "* ]] ||
		fail_stats "status: $(status_title)"
}

case_failover() {
	local p took
	NODE_TIMEOUT=5000
	cluster_up 4 cluster.masters=3 cluster.restart_delay_ms=120000
	for p in 0 1 2; do [[ $(role "$p") == master ]] || fail_stats "pipeline $p is no master"; done
	[[ $(role 3) == slave ]] || fail_stats "pipeline 3 is no replica"
	ccheck_ok "WAIT 1 did not acknowledge every write" 0 write-wait w 20000 "$T/acked"
	p=$(status_field app 0 3)
	took=$(takeover_ms 0) || fail_stats "the replica of app/0 was not promoted"
	fn_log "the replica took over after ${took} ms (node timeout $NODE_TIMEOUT ms)"
	((took < NODE_TIMEOUT)) ||
		fail_stats "the takeover took ${took} ms, not within the node timeout"
	# Every surviving node, not node 1 alone, must see the cluster ok
	# under the new master: each learns of it from the new master's own
	# messages, in its own time, and answers CLUSTERDOWN until then.
	ccheck_ok "the cluster did not recover" 1 settle 4 30 "$(addr 2)" "$(addr 3)"
	ccheck_ok "writes did not resume" 1 write r 1000
	ccheck_ok "acknowledged keys lost" 1 verify-list w "$T/acked"
	old_master_rejoins 0 "$p"
	ccheck_ok "keys lost when app/0 rejoined" 1 verify-list w "$T/acked"
}

redis_init "cl-$CASE" 10.240 16
case "$CASE" in
keys) case_keys ;;
failover) case_failover ;;
*) echo "unknown case $CASE" >&2; exit 2 ;;
esac
echo "PASS: cluster $CASE"
