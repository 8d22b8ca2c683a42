# Things the evaluator does not implement (docs/nft-eval.md): the stack
# must refuse them with EOPNOTSUPP and must not list them.
table ip uns
chain in { type filter hook input priority 0; policy accept; }
chain natpre { type nat hook prerouting priority dstnat; policy accept; }
chain routeout { type route hook output priority mangle; policy accept; }
set timed { type ipv4_addr; timeout 1m; }
set dyn { type ipv4_addr; flags dynamic; }
chain in
fib daddr type local accept
fib saddr . iif oif missing drop
numgen random mod 2 0
numgen inc mod 4 offset 1 1
meta secpath exists ;; meta ipsec exists
meta ipsec exists
synproxy mss 1460 wscale 7
ct status dnat accept
ct mark 0x1 ;; ct mark 0x00000001
ct direction original
ct helper "ftp"
ct count 10
ct mark set 0x1 ;; ct mark set 0x00000001
meta cpu 1
meta skuid 0
meta random 1
meta nftrace set 1
meta priority set 1 ;; meta priority set 0:1
meta iifgroup 0 ;; iifgroup "default"
ip ttl set 1
tcp option maxseg size 1460
osf name "Linux"
socket transparent 1
dup to 10.0.0.1
notrack
meta time > "1970-01-01 00:00:01"
ip saddr @timed
update @dyn { ip saddr }
chain natpre
counter ;; counter packets 0 bytes 0
# A table that goes with its netlink socket: gone on the kernel as soon
# as nft exits; the stack does not implement ownership and refuses it.
table ip owned { flags owner; }
