#!/bin/bash
# test_bench_servers.sh - `bench/servers --quick` runs both servers on
# both configurations and writes its report: every (server, point,
# config) measured (rate > 0 in runs.csv), the ratio rows in report.md;
# and nothing of it is left behind (netns, veth, taps, topologies).
# Behaviour only: no figure is judged.
#
# Environment (meson): BUILD_DIR, the build to use.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
fn_need_root
: "${BUILD_DIR:?}"
fn_tmpdir bench-servers
for p in nginx wrk memcached memcaslap; do
	command -v "$p" >/dev/null || fn_skip "no $p (sudo scripts/setup)"
done

help=$("$FN_ROOT/bench/servers" --help) || fn_fail "--help failed"
[[ $help == *--quick* ]] || fn_fail "--help says nothing of --quick"
"$FN_ROOT/bench/servers" --servers apache 2>/dev/null && fn_fail "--servers apache accepted"

BUILD_DIR=$BUILD_DIR timeout 600 "$FN_ROOT/bench/servers" --quick --duration 2 \
	--out "$T/res" 2> "$T/log" ||
	{ tail -n 40 "$T/log" >&2; fn_fail "bench/servers --quick failed"; }
res=$T/res
[[ -s $res/report.md && -s $res/runs.csv ]] || fn_fail "no report.md or runs.csv"
python3 - "$res/runs.csv" <<'PY' || fn_fail "runs.csv incomplete"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
want = {(s, p, c) for s, p in (("nginx", "1k.bin"), ("nginx", "1m.bin"),
                               ("memcached", "mix"))
        for c in ("kernel-veth", "fragnet-1")}
got = {(r["server"], r["point"], r["config"]) for r in rows if float(r["rate"]) > 0}
if want - got:
    sys.exit("not measured: %s" % sorted(want - got))
PY
[[ $(grep -c '| fragnet-1 | .* | [0-9.]* |$' "$res/report.md") == 3 ]] ||
	fn_fail "report.md has not 3 ratio rows: $(cat "$res/report.md")"
ip netns list | grep -q '^fns-' && fn_fail "a netns fns-* is left"
ip -o link | grep -qE ' fns[0-9v]' && fn_fail "a link fns* is left"
echo "ok: $(($(grep -c . "$res/runs.csv") - 1)) runs"
