#!/bin/bash
# test_bench_kvs_udp.sh - `bench/kvs-udp --quick` runs the whole UDP
# comparison and produces its report: every config measured (commands/s
# > 0 in runs.csv, open-loop rows for the rule sweep), the paper's table,
# the rule sweep and the code size in report.md, `--report DIR` makes the
# same report again; and nothing of it is left behind (netns, veth, taps,
# topologies, sockets). Behaviour only: no figure is judged.
#
# Environment (meson): BUILD_DIR, the build to use.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
fn_need_root
: "${BUILD_DIR:?}"
fn_tmpdir bench-kvs-udp
B=$FN_ROOT/bench/kvs-udp

[[ -f $BUILD_DIR/src/apps/redis-udp/redis-udp.so ]] ||
	fn_skip "redis-udp.so is not built (scripts/setup fetches redis' source)"
help=$("$B" --help) || fn_fail "--help failed"
[[ $help == *--quick* && $help == *--report* ]] || fn_fail "--help says nothing of --quick or --report"
"$B" --rounds x 2>/dev/null && fn_fail "--rounds x accepted"

BUILD_DIR=$BUILD_DIR timeout 600 "$B" --quick --pipelines 1,2 --out "$T/res" \
	2> "$T/log" || { tail -n 40 "$T/log" >&2; fn_fail "bench/kvs-udp --quick failed"; }

res=$T/res
[[ -s $res/report.md && -s $res/runs.csv ]] || fn_fail "no report.md or runs.csv"
python3 - "$res/runs.csv" <<'PY' || fn_fail "runs.csv incomplete"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
want = {"kernel-1", "kernel-2", "fragnet-1", "fragnet-2", "fragnet-1-rules-100"}
got = {r["config"] for r in rows if r["mode"] == "closed" and float(r["ops_per_s"]) > 0}
if want - got:
    sys.exit("configs without a measurement: %s" % sorted(want - got))
opened = {r["config"] for r in rows if r["mode"] == "open"}
if {"fragnet-1", "fragnet-1-rules-100"} - opened:
    sys.exit("no open-loop run for the rule sweep: %s" % sorted(opened))
PY
for h in "Throughput" "Rule sweep" "rules-100" "Code size" "lwIP objects" "78034"; do
	grep -q "$h" "$res/report.md" || fn_fail "report.md has no '$h'"
done
cp "$res/report.md" "$T/first.md"
"$B" --report "$res" > /dev/null || fn_fail "--report failed"
cmp -s "$res/report.md" "$T/first.md" || fn_fail "--report made a different report"
# Nothing left: the script's netns, veth and taps carry its pid.
ip netns list | grep -q '^fnu-' && fn_fail "a netns fnu-* is left"
ip -o link | grep -qE ' fnu[0-9v]' && fn_fail "a link fnu* is left"
ls /var/lib/fragnet-app/fnu-* >/dev/null 2>&1 && fn_fail "a socket fnu-* is left"
echo "ok: $(grep -c . "$res/runs.csv") rows"
