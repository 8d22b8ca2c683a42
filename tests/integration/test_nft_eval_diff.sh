#!/bin/bash
# test_nft_eval_diff.sh - the evaluator (src/nft/eval) against the kernel's
# nf_tables: the same ruleset, loaded with the same nft, judges the same
# frames; every rule counter must agree (fn-nft-eval-diff does the work).
#
#   netns fnev-a-PID                         netns fnev-b-PID
#   fneva-PID 10.241.77.1/24  ═══ veth ═══   fnevb-PID 10.241.77.2/24
#   (AF_PACKET: crafted frames)              ruleset nft_diff/*.nft
#
# ARP and IPv6 are off on both ends and A drops all it receives, so that
# only our frames reach B.  Some packets B sends itself (--tx: a raw
# socket), judged on output and postrouting.  B runs conntrack liberal
# about TCP windows (nf_conntrack_tcp_be_liberal, _ignore_invalid_rst):
# the evaluator does not track sequence windows.  B's own replies (RST,
# ICMP errors) leave with TTL 200 (ip_default_ttl), which our packets
# never use, and a table kernel_notrack keeps them out of conntrack (the
# evaluator never sees them).  The ct ruleset is run without fragments:
# with conntrack loaded the kernel reassembles before prerouting.
#
# Environment: FN_NFT_EVAL_DIFF (the built fn-nft-eval-diff), NFT_DIFF_DIR
# (the rulesets), NFT_DIFF_SEEDS (default "1 2 3"), NFT_DIFF_COUNT (2000),
# NFT_DIFF_ONLY (a ruleset's file name), NFT_DIFF_ARGS (more options for
# fn-nft-eval-diff, e.g. --stepwise to stop at the first frame that differs).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

fn_need_root
command -v nft >/dev/null || fn_skip "no nft"
: "${FN_NFT_EVAL_DIFF:?}" "${NFT_DIFF_DIR:?}"
seeds=${NFT_DIFF_SEEDS:-1 2 3}
count=${NFT_DIFF_COUNT:-2000}

NA=fnev-a-$$ NB=fnev-b-$$ DA=fneva$$ DB=fnevb$$
IPA=10.241.77.1 IPB=10.241.77.2
fn_tmpdir nfteval

setup() {
	ip netns del "$NA" 2>/dev/null || true
	ip netns del "$NB" 2>/dev/null || true
	fn_netns "$NA"
	fn_netns "$NB"
	ip link add "$DA" type veth peer name "$DB"
	ip link set "$DA" netns "$NA"
	ip link set "$DB" netns "$NB"
	for ns in "$NA" "$NB"; do
		netns_bare "$ns"
	done
	ip -n "$NA" link set "$DA" arp off up
	ip -n "$NB" link set "$DB" arp off up
	ip -n "$NA" addr add "$IPA/24" dev "$DA"
	ip -n "$NB" addr add "$IPB/24" dev "$DB"
	ip netns exec "$NB" sysctl -qw "net.ipv4.conf.$DB.rp_filter=0" \
		net.ipv4.ip_default_ttl=200
	ip netns exec "$NA" nft -f - <<-NFT
	table ip kernel_silent {
		chain in {
			type filter hook input priority 0; policy drop;
		}
	}
	NFT
}

run_one() {	# ruleset seed
	local rs=$1 seed=$2 extra=(--tx) mac
	setup
	sed -e "s/@DEV@/$DB/g" -e "s/@IPB@/$IPB/g" "$rs" > "$T/rules.nft"
	ip netns exec "$NB" nft -f "$T/rules.nft" || return 1
	if grep -q "ct state" "$rs"; then
		ip netns exec "$NB" nft -f - <<-NFT
		table ip kernel_notrack {
			chain out {
				type filter hook output priority -300; policy accept;
				ip ttl 200 notrack
			}
		}
		NFT
		[[ $? -eq 0 ]] || return 1
		ip netns exec "$NB" sysctl -qw \
			net.netfilter.nf_conntrack_tcp_be_liberal=1 \
			net.netfilter.nf_conntrack_tcp_ignore_invalid_rst=1 ||
			return 1
	fi
	grep -q "tcp option" "$rs" && extra+=(--tcp-options)
	mac=$(ip netns exec "$NB" cat "/sys/class/net/$DB/address")
	timeout 120 "$FN_NFT_EVAL_DIFF" --netns-a "/run/netns/$NA" \
		--netns-b "/run/netns/$NB" --dev-a "$DA" --dev-b "$DB" \
		--mac-b "$mac" --ip-a "$IPA" --ip-b "$IPB" --seed "$seed" \
		--count "$count" "${extra[@]}" ${NFT_DIFF_ARGS:-}
}

fails=0
for rs in "$NFT_DIFF_DIR"/${NFT_DIFF_ONLY:-*.nft}; do
	for seed in $seeds; do
		echo "# $(basename "$rs") seed $seed"
		if ! run_one "$rs" "$seed"; then
			echo "FAIL: $(basename "$rs") seed $seed" >&2
			fails=$((fails + 1))
		fi
	done
done
[[ $fails -eq 0 ]] || fn_fail "$fails runs disagree with the kernel"
echo "PASS"
