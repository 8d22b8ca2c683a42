#!/bin/bash
# test_bench_vswitch.sh - `bench/vswitch --quick` measures every config
# (fragnet-vswitch in each poll mode, the bridge with Linux's defaults
# and with threaded NAPI) at both frame sizes, and app to app
# (redis-benchmark across the switch, app-fragnet, and across a bridge,
# app-bridge) for SET and GET, and writes its report; and leaves nothing
# behind (netns, the topology, the switch, the load tool, redis).
# Behaviour only: no rate, latency or CPU figure is judged; a bad frame
# fails.
#
# Environment (meson): BUILD_DIR, the build to use.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
fn_need_root
: "${BUILD_DIR:?}"
fn_tmpdir bench-vswitch
for p in redis-server redis-benchmark redis-cli; do
	command -v "$p" >/dev/null || fn_skip "no $p (app to app)"
done

help=$("$FN_ROOT/bench/vswitch" --help) || fn_fail "--help failed"
[[ $help == *--quick* && $help == *--rounds* ]] || fn_fail "--help says nothing of --quick, --rounds"
"$FN_ROOT/bench/vswitch" --rounds x 2>/dev/null && fn_fail "--rounds x accepted"
"$FN_ROOT/bench/vswitch" --configs nope 2>/dev/null && fn_fail "--configs nope accepted"

BUILD_DIR=$BUILD_DIR timeout 600 "$FN_ROOT/bench/vswitch" --quick --out "$T/res" \
	> "$T/out" 2> "$T/log" || { tail -n 40 "$T/log" >&2; fn_fail "bench/vswitch --quick failed"; }
grep -q '^bench/vswitch: \[1/' "$T/log" || fn_fail "no progress lines"

res=$T/res
[[ -s $res/report.md && -s $res/runs.csv && -s $res/meta.txt ]] ||
	fn_fail "no report.md, runs.csv or meta.txt"
python3 - "$res/runs.csv" <<'PY' || fn_fail "runs.csv incomplete"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
want = {(c, s) for c in ("fragnet-event", "fragnet-adaptive", "fragnet-busy",
                         "bridge", "bridge-napi") for s in ("64", "1500")}
got = {(r["config"], r["size"]) for r in rows
       if float(r["fps"]) > 0 and int(r["received"]) > 0}
if want - got:
    sys.exit("not measured: %s" % sorted(want - got))
if any(int(r["bad"]) for r in rows):
    sys.exit("bad frames")
for r in rows:
    if r["config"] != "bridge" and float(r["fwd_cpu_s"]) <= 0:
        sys.exit("%s %s: no forwarder CPU" % (r["config"], r["size"]))
PY
python3 - "$res/app.csv" <<'PY' || fn_fail "app.csv incomplete"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
want = {(c, t) for c in ("app-fragnet", "app-bridge") for t in ("SET", "GET")}
got = {(r["config"], r["test"]) for r in rows
       if float(r["rps"]) > 0 and float(r["p99_ms"]) > 0}
if want - got:
    sys.exit("not measured: %s" % sorted(want - got))
PY
for h in "64-byte frames" "1500-byte frames" "Target: fragnet" \
	 "How each figure is computed" "App to app" "Target: app to app" \
	 "How the app-to-app figures are computed"; do
	grep -q "$h" "$res/report.md" || fn_fail "report.md has no '$h'"
done
grep -q '| fragnet-event | ' "$T/out" || fn_fail "no table on stdout"
grep -q '| app-fragnet | SET | ' "$T/out" || fn_fail "no app table on stdout"
# Nothing left: the netns and the topology carry the script's pid, the
# programs our build, the redis-servers the bench's addresses.
ip netns list | grep -q '^fnv[dna][ASB]-' && fn_fail "a netns fnv* is left"
for d in /run/fragnet/fnva-*; do
	if [[ -e $d ]]; then fn_fail "a topology $(basename "$d") is left"; fi
done
for pid in $(pgrep -x fragnet-vswitch) $(pgrep -x fn-bench-vswitc) \
	   $(pgrep -x fragnet-stack) $(pgrep -x fragnet); do
	[[ $(readlink "/proc/$pid/exe") == "$BUILD_DIR"/* ]] &&
		fn_fail "process $pid of this build is left"
done
pgrep -f 'redis-server 10\.24[67]\.0\.1:' && fn_fail "a redis-server of the bench is left"
echo "ok: $(($(wc -l < "$res/runs.csv") - 1)) frame runs, $(($(wc -l < "$res/app.csv") - 1)) app rows"
