#!/bin/bash
# test_bench_kvs.sh - `bench/kvs --quick` runs the whole comparison and
# produces its report: every config measured (req/s > 0 in runs.csv), each
# role's CPU and wake-ups per request (client, server, components), the
# paper's table, the rule sweep, the per-hop trace table, the Redis Cluster
# rows, the code size and
# the plots in report.md; and nothing of it is left behind (netns, veth,
# taps, topologies).  Behaviour only: no figure is judged.
#
# Environment (meson): BUILD_DIR, the build to use.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
fn_need_root
: "${BUILD_DIR:?}"
fn_tmpdir bench-kvs

help=$("$FN_ROOT/bench/kvs" --help) || fn_fail "--help failed"
[[ $help == *--quick* ]] || fn_fail "--help says nothing of --quick"
"$FN_ROOT/bench/kvs" --rounds x 2>/dev/null && fn_fail "--rounds x accepted"

BUILD_DIR=$BUILD_DIR timeout 900 "$FN_ROOT/bench/kvs" --quick --out "$T/res" \
	2> "$T/log" || { tail -n 40 "$T/log" >&2; fn_fail "bench/kvs --quick failed"; }
grep -q '^bench/kvs: \[1/' "$T/log" || fn_fail "no progress lines"

res=$T/res
[[ -s $res/report.md && -s $res/runs.csv ]] || fn_fail "no report.md or runs.csv"
python3 - "$res/runs.csv" <<'PY' || fn_fail "runs.csv incomplete"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
want = {"kernel-lo", "kernel-veth", "kernel-veth-2", "kernel-veth-4",
        "fragnet-1", "fragnet-2", "fragnet-4", "fragnet-1-spread",
        "fragnet-1-busy", "fragnet-1-rules-100", "fragnet-1-set-10000",
        "fragnet-1-trace", "kernel-cluster-2", "fragnet-cluster-2",
        "kernel-cluster-4", "fragnet-cluster-4"}
got = {r["config"] for r in rows if float(r["rps"]) > 0}
if want - got:
    sys.exit("configs without a measurement: %s" % sorted(want - got))
bad = [r for r in rows if r["test"] in ("SET", "GET") and not r["p999_ms"]]
if bad:
    sys.exit("no p99.9 for %d runs" % len(bad))
if not any(r["stack_cpu_pct"] for r in rows if r["config"] == "fragnet-1"):
    sys.exit("no component CPU for fragnet-1")
# per role, per request: the client's, a kernel server's, each component's
for c, role in (("fragnet-1", "client"), ("fragnet-1", "driver"),
                ("fragnet-1", "stack"), ("fragnet-1", "app"),
                ("kernel-veth", "server"), ("kernel-veth", "client")):
    if not any(r["%s_us_per_req" % role] and r["%s_wake_per_req" % role]
               for r in rows if r["config"] == c):
        sys.exit("no %s CPU or wake-ups per request for %s" % (role, c))
if not any(r["phase"] == "default" and r["test"] == "LPUSH" for r in rows):
    sys.exit("the default test set did not run")
PY
for h in "The paper's table beside ours" "All configurations at the base point" \
	 "Rule sweep" "Per-hop latency" "tcp + hand-off" "Code size" \
	 "default test set" "Sweep: clients" "Redis Cluster" \
	 "Where the cycles go"; do
	grep -q "$h" "$res/report.md" || fn_fail "report.md has no '$h'"
done
n=0
for png in "$res"/*.png; do
	[[ $(head -c 4 "$png" | od -An -tx1 | tr -d ' ') == 89504e47 ]] ||
		fn_fail "$png is not a PNG"
	grep -q "($(basename "$png"))" "$res/report.md" || fn_fail "$png not in report.md"
	n=$((n + 1))
done
((n >= 6)) || fn_fail "only $n plots"
# Nothing left: the script's netns, veth and taps carry its pid.
ip netns list | grep -q '^fnk-' && fn_fail "a netns fnk-* is left"
ip -o link | grep -q ' fnk' && fn_fail "a link fnk* is left"
echo "ok: $(grep -c . "$res/runs.csv") rows, $n plots"
