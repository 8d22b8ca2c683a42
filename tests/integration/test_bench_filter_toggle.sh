#!/bin/bash
# test_bench_filter_toggle.sh - `bench/filter-toggle --perf` in its
# smallest form (one cycle of 1 s windows, GET only): the loss table with a
# row per ruleset and a verdict on issue 21's targets, the perf table with
# the filter's shares, the table of the stack's samples by function (the
# filter's functions add up to 100), windows.csv with the nine windows of
# the cycle and their perf samples, and nothing left behind: no topology,
# tap or guard route.  Bad options are refused.  Behaviour only: no
# figure is judged.
#
# Environment (meson): BUILD_DIR, the build to use.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
fn_need_root
: "${BUILD_DIR:?}"
command -v perf >/dev/null || fn_skip "no perf (sudo scripts/setup installs linux-perf)"
fn_tmpdir bench-filter-toggle

B=$FN_ROOT/bench/filter-toggle
[[ $("$B" --help) == *--perf* ]] || fn_fail "--help says nothing of --perf"
"$B" --bogus x 2>/dev/null && fn_fail "--bogus accepted"
"$B" --cycles 0 2>/dev/null && fn_fail "--cycles 0 accepted"
"$B" --tests put 2>/dev/null && fn_fail "--tests put accepted"

BUILD_DIR=$BUILD_DIR timeout 600 "$B" --perf --cycles 1 --window 1 \
	--settle 0.3 --tests get --out "$T/res" > "$T/out" 2> "$T/log" ||
	{ tail -n 40 "$T/log" >&2; fn_fail "bench/filter-toggle failed"; }
cat "$T/out"
V='(met|missed|unclear)'
for r in rules-10 rules-100 rules-1000 set-10000; do
	grep -Eq "^\| GET \| $r \| [0-9]+ \| .*path <= \+2%: $V \|\$" "$T/out" ||
		fn_fail "no loss row with a path verdict for '$r'"
done
grep -Eq "^Kept verdicts .*: of [1-9][0-9]* packets .*, [1-9][0-9]* \([0-9.]+%\) were accepted by their flow's kept verdict, and [1-9][0-9]* sent ones\.\$" "$T/out" ||
	fn_fail "no verdict kept (stack.filter_kept_rx, filter_kept_tx)"
grep -q "^### The filter's share of the cpu" "$T/out" || fn_fail "no perf table"
[[ $(sed -n "/^### The filter's share/,/^### Where/p" "$T/out" |
	grep -Ec "^\| GET \| (rules-[0-9]+|set-10000) \| [0-9]+ \| [0-9.]+ .*path <= \+2%: $V \|\$") == 4 ]] ||
	fn_fail "the perf table lacks a ruleset's row"
grep -q "^### Where the stack's samples go" "$T/out" || fn_fail "no table by function"
grep -Eq '^\| `(nfe_ct_track|lookup|nfe_run_chain|fn_nft_eval_in|eval_pair)` \| [0-9.]+ \| [0-9.]+ \|$' "$T/out" ||
	fn_fail "no evaluator function among the filter's samples"
grep -Eq '^\| all [0-9]+ \| 100 \| [0-9.]+ \|$' "$T/out" || fn_fail "no total of the filter's functions"
[[ $(head -n 1 "$T/res/windows.csv") == *samples_filter ]] || fn_fail "windows.csv: no perf columns"
[[ $(tail -n +2 "$T/res/windows.csv" | wc -l) == 9 ]] || fn_fail "windows.csv: not 9 windows"
[[ -s $T/res/toggle.md ]] || fn_fail "no toggle.md"
! ip link show 2>/dev/null | grep -q ' fnt-' || fn_fail "a tap of the bench is left"
! ip route show 2>/dev/null | grep -q 'unreachable .* metric 4000' || fn_fail "a guard route is left"
! pgrep -f 'fragnet up .*fn-filter-toggle' >/dev/null || fn_fail "a supervisor is left"
echo "PASS: bench/filter-toggle"
