#!/bin/bash
# The listing round trip of a stack's nf_tables against the kernel's: every
# line of the corpus (tests/integration/nft_roundtrip/*.t: tables, chains,
# sets, maps, elements, rules) is added with the real nft to the kernel in
# a network namespace of our own and to a stack through `fragnet nft`, and
# the two `nft -a list ruleset` must be identical, object by object and
# rule by rule; what the stack refuses with EOPNOTSUPP is "unsupported"
# and must not be listed. Stands in for nftables' tests/py (nft-py) while
# Debian's orig tarball cannot be fetched.
#
#   fragnet topology fnt-nftrt-PID (no nic: the driver is fn-test-echo)
#
#     driver/0 ══link0══ stack/0 (fragnet-stack 10.241.N.2/24) ── app/0 (sleep)
#                           ▲ RUN_DIR/stack0.ctl
#     $(nft0_script) ARGS = fragnet nft -T NAME 0 ARGS
#
#     network namespace fnt-nftrt-PID: the kernel's nf_tables
#       fn0 (a veth, peer fn0p): the device of the ingress chains, named
#       as the stack's interface; lo: what `meta iif "lo"` resolves to
#       (index 1, as in the namespace `fragnet nft` runs nft in)
#     $T/knft ARGS = ip netns exec NS nft ARGS
#
# Per corpus file, tests/integration/nft_roundtrip.py loads one batch into
# each side (the stack's again without what it refused, until it takes the
# rest), lists both, runs the lines both must refuse and the queries both
# must answer alike (`nft get element`, `list set`, `-e`, `-j`, errors),
# and prints a markdown table: pass / fail / unsupported / known. The
# test fails on any fail.
#
# NFT_RT_FILES="ip.t sets.t" runs only those files.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${FN_STACK:?}" "${FN_NETLINK_SHIM:?}"
NFT=/usr/sbin/nft
CORPUS=$FN_HERE/nft_roundtrip
command -v "$NFT" >/dev/null || fn_skip "no $NFT"
command -v python3 >/dev/null || fn_skip "no python3"

fn_init nftrt
NS=fnt-nftrt-$$
fn_netns "$NS" || fn_skip "cannot create a network namespace"
ip -n "$NS" link add fn0 type veth peer name fn0p ||
	fn_fail "veth fn0 in $NS"
fn_net 10.241
fn_nft_stack_up

cat > "$T/knft" <<EOF
#!/bin/sh
exec ip netns exec $NS $NFT "\$@"
EOF
chmod 755 "$T/knft"
mkdir "$T/work"

if [[ -n ${NFT_RT_FILES:-} ]]; then
	read -ra FILES <<< "$NFT_RT_FILES"
	FILES=("${FILES[@]/#/$CORPUS/}")
else
	FILES=("$CORPUS"/*.t)
fi

rc=0
python3 "$FN_HERE/nft_roundtrip.py" "$T/knft" "$(nft0_script)" "$T/work" "${FILES[@]}" || rc=$?
[[ $rc -eq 0 ]] || fn_fail "listing round trip: some lines failed (see FAIL lines above)"
fn_log "listing round trip: no failures"
