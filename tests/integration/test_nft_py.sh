#!/bin/bash
# nftables' own tests (tests/py of Debian's nftables 1.0.6 source package)
# against a stack: every ip/, inet/ and any/ file through
# `nft-test.py -H -N FILE`, with libfragnet-netlink.so preloaded into
# python3 itself (nft-test.py drives libnftables through the python
# `nftables` module), run under `unshare -n`.
#
#   fragnet topology fnt-nftpy-PID (no nic: the driver is fn-test-echo)
#     driver/0 ══link0══ stack/0 (fragnet-stack 10.241.N.2/24) ── app/0 (sleep)
#                           ▲ RUN_DIR/stack0.ctl
#     unshare -n env LD_PRELOAD=libfragnet-netlink.so
#         FRAGNET_NFT_CONTROL=RUN_DIR/stack0.ctl
#         /usr/bin/python3 nft-test.py -H -N ip/tcp.t
#
#   -H: use the installed libnftables.so.1 (Debian's 1.0.6), not a build tree
#   -N: no network namespace of its own (nft-test.py would re-exec itself
#       under `unshare -n`); we make that namespace ourselves, so that the
#       netfilter socket could never reach the host's nf_tables even if
#       the shim failed to load
#
# The corpus is not in the repository. It is copied at run time into the
# test's private directory, so that nft-test.py's *.got files land there,
# from the first of:
#   NFT_PY_SRC=DIR   an nftables 1.0.6 source tree (DIR/tests/py);
#   ../shared/third-party/nftables-1.0.6 beside the repository, or
#                    beside the one it was cloned from (remote origin, a
#                    local path): the project's read-only copy of
#                    upstream's tests/py at v1.0.6, because Debian's
#                    registry does not serve the orig tarball;
#   NFT_PY_CACHE     Debian's source package (default subprojects/
#                    packagecache), unpacked and sha256-checked.
# None: SKIP (77), after checking that python3's libnftables reaches the
# stack through the shim.
#
# The kernel is the reference: every file also runs, first, against the
# kernel's own nf_tables in a network namespace of its own (`unshare -n`,
# no shim), and a line on which the stack fails with the very complaint the
# kernel has is "kernel too", not a failure (the corpus predates some
# kernel checks: any/limit.t's huge byte rates now get EOVERFLOW).
#
# Tables of the families a stack does not have (ip6, arp, bridge) are
# commented out of the private copy: nft-test.py stops a file at the first
# table it cannot create.
#
# Per file and test line, tests/integration/nft_py_summary.py says pass,
# fail or unsupported (the stack's evaluator refused it with EOPNOTSUPP).
# The test fails when any test fails: every rule the stack accepts must
# come back from its listing as nft-test.py expects (the listing round
# trip), and every rule the kernel refuses must be refused.
#
# NFT_PY_FILES="ip/tcp.t inet/ct.t" runs only those files.
# Note: nft-test.py's log is the fixed path /tmp/nftables-test.log; it is
# copied after each file (do not run two of these tests at once).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${FN_STACK:?}" "${FN_NETLINK_SHIM:?}"
CACHE=${NFT_PY_CACHE:-$FN_ROOT/subprojects/packagecache}
DSC=nftables_1.0.6-2+deb12u2.dsc
PY=/usr/bin/python3
NFTLOG=/tmp/nftables-test.log

"$PY" -c 'import nftables' 2>/dev/null || fn_skip "no python3-nftables for $PY"
command -v unshare >/dev/null || fn_skip "no unshare"

fn_init nftpy
fn_net 10.241 191
fn_nft_stack_up

# nft-test.py, against the stack only.
nftpy() {
	timeout 300 unshare -n env LD_PRELOAD="$FN_NETLINK_SHIM" FRAGNET_NFT_CONTROL="$CTL" \
		"$PY" "$TPY/nft-test.py" -H -N "$@"
}

# The preload reaches the stack: a table made through python shows up in
# `fragnet nft`, and not in this namespace's (empty) nf_tables.
timeout 30 unshare -n env LD_PRELOAD="$FN_NETLINK_SHIM" FRAGNET_NFT_CONTROL="$CTL" \
	"$PY" -c 'import nftables, sys
n = nftables.Nftables(sofile="libnftables.so.1")
rc, out, err = n.cmd("add table ip fnpy")
sys.exit(rc)' || fn_fail "python3 nftables through the shim"
grep -q 'table ip fnpy' <<< "$(nft0 list ruleset)" ||
	fn_fail "table made through python3 not in the stack"
nft0 delete table ip fnpy
fn_log "python3-nftables reaches the stack through the shim"

# The source: NFT_PY_SRC (an unpacked nftables source tree, copied), else
# the source package of the cache, checked against the .dsc's sums by
# dpkg-source.
# The shared copy: beside this repository, or beside the repository this
# one was cloned from (a clone in a scratch directory, as CI makes).
shared_copy() {
	local d origin
	origin=$(git -C "$FN_ROOT" config --get remote.origin.url 2>/dev/null || true)
	for d in "$FN_ROOT/.." ${origin:+"${origin#file://}/.."}; do
		d=$d/shared/third-party/nftables-1.0.6
		[[ -f $d/tests/py/nft-test.py ]] && { echo "$d"; return 0; }
	done
	return 1
}
[[ -n ${NFT_PY_SRC:-} ]] || NFT_PY_SRC=$(shared_copy) || NFT_PY_SRC=
[[ -z $NFT_PY_SRC ]] || fn_log "tests/py from $NFT_PY_SRC"
if [[ -n ${NFT_PY_SRC:-} ]]; then
	[[ -f $NFT_PY_SRC/tests/py/nft-test.py ]] || fn_fail "NFT_PY_SRC=$NFT_PY_SRC: no tests/py/nft-test.py"
	mkdir -p "$T/src/tests"
	cp -r "$NFT_PY_SRC/tests/py" "$T/src/tests/py"
else
	[[ -f $CACHE/$DSC && -f $CACHE/nftables_1.0.6.orig.tar.xz ]] ||
		fn_skip "no nftables 1.0.6 source package in $CACHE (scripts/setup fetches it)"
	command -v dpkg-source >/dev/null || fn_skip "no dpkg-source"
	dpkg-source -x "$CACHE/$DSC" "$T/src" >"$T/dpkg-source.log" 2>&1 ||
		fn_fail "dpkg-source -x $DSC: $(tail -3 "$T/dpkg-source.log")"
fi
TPY="$T/src/tests/py"
[[ -f $TPY/nft-test.py ]] || fn_fail "no tests/py/nft-test.py in the source"

if [[ -n ${NFT_PY_FILES:-} ]]; then
	read -ra FILES <<< "$NFT_PY_FILES"
else
	mapfile -t FILES < <(cd "$TPY" && ls ip/*.t inet/*.t any/*.t | sort)
fi
[[ ${#FILES[@]} -gt 0 ]] || fn_fail "no test files"

# A stack has the families ip, inet and netdev, and no egress hook. In our
# private copy (same line numbers), a file's tables of other families (ip6,
# arp, bridge) become comments, and egress chains leave the tables' chain
# lists: nft-test.py gives up on a whole file at the first table it cannot
# create, and adds every rule to every chain of every table, so one chain
# the stack refuses (EOPNOTSUPP) would hide the round trips of the others.
for f in "${FILES[@]}"; do
	sed -i -E -e 's/^\*(ip6|arp|bridge);/# fragnet, no such family in a stack: \1;/' \
		-e '/^\*/ { s/,egress(,|$)/\1/; s/;egress,/;/; s/^\*(.*;)egress$/# fragnet, no egress hook in a stack: \1egress/ }' \
		"$TPY/$f"
done

# The reference: the kernel, in a namespace of its own.
K="$T/kernel"
mkdir "$K"
for f in "${FILES[@]}"; do
	b="$K/${f//\//_}"
	timeout 300 unshare -n "$PY" "$TPY/nft-test.py" -H -N "$f" >"$b.stdout" 2>"$b.stderr" || :
done
fn_log "kernel reference: ${#FILES[@]} files"

R="$T/results"
mkdir "$R"
for f in "${FILES[@]}"; do
	b="$R/${f//\//_}"
	rc=0
	nftpy "$f" >"$b.stdout" 2>"$b.stderr" || rc=$?
	cp "$NFTLOG" "$b.log" 2>/dev/null || : >"$b.log"
	# A crash or a hang of nft-test.py is a failure of its own.
	[[ $rc -eq 0 ]] || echo "$f: ERROR: line 0: nft-test.py exit $rc" >>"$b.stderr"
	# Whatever the file left behind (a failed cleanup) must not spill over.
	nft0 flush ruleset
	fn_log "$f: $(tail -1 "$b.stdout")"
done

rc=0
"$PY" "$FN_HERE/nft_py_summary.py" --kernel "$K" "$TPY" "$R" "${FILES[@]}" || rc=$?
[[ $rc -eq 0 ]] || fn_fail "tests/py: some rules failed (see FAIL lines above)"
fn_log "tests/py: no failures"
