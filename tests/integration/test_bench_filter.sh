#!/bin/bash
# test_bench_filter.sh - `bench/filter --rounds 1 --requests 4000` prints
# the evaluator's table and a Redis row for no ruleset and for each ruleset
# of bench/rules/, each loss with its spread, with a verdict on issue 21's
# loss targets for rules-100, set-10000 and rules-1000 and on the path
# cost for every ruleset; a --base-build that is no build is refused.
# Behaviour only: no figure is judged.
#
# Environment (meson): BUILD_DIR, the build to use.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
fn_need_root
: "${BUILD_DIR:?}"
fn_tmpdir bench-filter

[[ $("$FN_ROOT/bench/filter" --help) == *--rounds* ]] || fn_fail "--help says nothing of --rounds"
"$FN_ROOT/bench/filter" --bogus x 2>/dev/null && fn_fail "--bogus accepted"
"$FN_ROOT/bench/filter" --base-build "$T" >/dev/null 2>&1 &&
	fn_fail "--base-build of a directory without a build accepted"

BUILD_DIR=$BUILD_DIR timeout 600 "$FN_ROOT/bench/filter" --rounds 1 \
	--requests 4000 --iters 20000 --out "$T/res" > "$T/out" 2> "$T/log" ||
	{ tail -n 40 "$T/log" >&2; fn_fail "bench/filter failed"; }
cat "$T/out"
for r in "no program" "empty chain" "100 rules" "1000 rules" "10k-element set"; do
	grep -q "^| $r | [0-9.]* |" "$T/out" || fn_fail "no evaluator row '$r'"
done
# a loss: median [Q1, Q3] (bootstrap interval)
L='-?[0-9.]+ \[-?[0-9.]+, -?[0-9.]+\] \(-?[0-9.]+\.\.-?[0-9.]+\)'
for r in none rules-10 rules-100 rules-1000 set-10000; do
	grep -Eq "^\| $r \| [1-9][0-9]* \| [1-9][0-9]* \| $L \| $L \|" "$T/out" ||
		fn_fail "no redis-benchmark row with spreads for '$r'"
done
V='(met|missed|unclear)'
[[ $(grep -Ec "loss <= [12]%: $V; path <= \+2%: $V \|\$" "$T/out") == 3 ]] ||
	fn_fail "no loss verdict for rules-100, rules-1000 and set-10000"
[[ $(grep -Ec "path <= \+2%: $V \|\$" "$T/out") == 4 ]] ||
	fn_fail "no path verdict for every ruleset"
[[ -s $T/res/filter.md ]] || fn_fail "no filter.md in the results"
echo "PASS: bench/filter"
