#!/bin/bash
# test_bench_filter.sh - `bench/filter --rounds 1 --requests 4000` prints
# the evaluator's table and a Redis row for no ruleset and for each ruleset
# of bench/rules/, with a verdict on the 3% target for rules-100 and
# set-10000.  Behaviour only: no figure is judged.
#
# Environment (meson): BUILD_DIR, the build to use.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
fn_need_root
: "${BUILD_DIR:?}"
fn_tmpdir bench-filter

[[ $("$FN_ROOT/bench/filter" --help) == *--rounds* ]] || fn_fail "--help says nothing of --rounds"
"$FN_ROOT/bench/filter" --bogus x 2>/dev/null && fn_fail "--bogus accepted"

BUILD_DIR=$BUILD_DIR timeout 600 "$FN_ROOT/bench/filter" --rounds 1 \
	--requests 4000 --iters 20000 --out "$T/res" > "$T/out" 2> "$T/log" ||
	{ tail -n 40 "$T/log" >&2; fn_fail "bench/filter failed"; }
cat "$T/out"
for r in "no program" "empty chain" "100 rules" "1000 rules" "10k-element set"; do
	grep -q "^| $r | [0-9.]* |" "$T/out" || fn_fail "no evaluator row '$r'"
done
for r in none rules-10 rules-100 rules-1000 set-10000; do
	grep -Eq "^\| $r \| [1-9][0-9]* \| [1-9][0-9]* \|" "$T/out" ||
		fn_fail "no redis-benchmark row for '$r'"
done
[[ $(grep -Ec '\| (met|missed) \|$' "$T/out") == 2 ]] ||
	fn_fail "no verdict for rules-100 and set-10000"
echo "PASS: bench/filter"
