# Edges: intervals at the ends of their types (no end element after
# the last value), adjacent intervals, ct state vmaps, the longest
# comments, devices lists, reject by family in inet, nft --echo.
table inet edge
chain ssh
set all4 { type ipv4_addr; flags interval; elements = { 0.0.0.0/0 }; }
set top4 { type ipv4_addr; flags interval; elements = { 255.255.255.0/24, 0.0.0.0/8 }; }
set adj { type ipv4_addr; flags interval; elements = { 10.0.0.0/24, 10.0.1.0/24 }; }
set topports { type inet_service; flags interval; elements = { 0-1, 60000-65535 }; }
set single { type inet_service; flags interval; elements = { 65535 }; }
set six { type ipv6_addr; flags interval; elements = { ::/0 }; }
set sixtop { type ipv6_addr; flags interval; elements = { ffff::/16 }; }
set macr { type ether_addr; flags interval; elements = { 02:00:00:00:00:00-02:00:00:00:00:ff }; }
map tops { type inet_service : verdict; flags interval; elements = { 60000-65535 : drop, 0-1023 : accept }; }
element delete adj { 10.0.0.0/24 }
element add adj { 10.0.2.0/24 }
element add topports { 2-3 }
chain in { type filter hook input priority 0; policy accept; }
ip saddr @all4
ip saddr @top4 drop
ip saddr @adj
tcp dport @topports
udp dport @single
ip6 saddr @six
ip6 daddr @sixtop
ether saddr @macr
tcp dport vmap @tops
ct state vmap { established : accept, related : accept, invalid : drop, new : continue } ;; ct state vmap { invalid : drop, established : accept, related : accept, new : continue }
ct state vmap { established : accept, * : jump ssh }
tcp dport 65535
tcp dport 0
ip saddr 255.255.255.255
ip saddr 0.0.0.0
ip ttl 255
ip length 65535
meta mark 0xffffffff
meta l4proto 255
ip saddr 0.0.0.0-255.255.255.255
tcp dport 0-65535
ip saddr != 0.0.0.0-255.255.255.255
counter comment "a comment of the longest length nft takes: 128 characters......................................................................." ;; counter packets 0 bytes 0 comment "a comment of the longest length nft takes: 128 characters......................................................................."
meta nfproto ipv6 reject with icmpv6 port-unreachable ;; reject with icmpv6 port-unreachable
meta nfproto ipv6 reject with icmpv6 no-route ;; reject with icmpv6 no-route
meta nfproto ipv6 reject with icmpv6 admin-prohibited ;; reject with icmpv6 admin-prohibited
meta nfproto ipv6 reject with icmpv6 addr-unreachable ;; reject with icmpv6 addr-unreachable
meta nfproto ipv4 reject with icmp net-unreachable ;; reject with icmp net-unreachable
reject with icmpx no-route
reject with icmpx admin-prohibited
chain ssh
accept
$ nft get element inet edge all4 { 1.2.3.4 }
$ nft get element inet edge top4 { 255.255.255.255 }
$ nft get element inet edge top4 { 0.0.0.0 }
$ nft get element inet edge adj { 10.0.1.7 }
$ nft get element inet edge adj { 10.0.0.7 }
$ nft get element inet edge topports { 65535 }
$ nft get element inet edge topports { 0 }
$ nft get element inet edge single { 65535 }
$ nft get element inet edge six { 2001:db8::1 }
$ nft get element inet edge tops { 65000 }
$ nft -e -a add rule inet edge ssh tcp dport 22 counter accept
$ nft -e insert rule inet edge ssh udp dport 53 accept
$ nft -e add chain inet edge echoed
$ nft -e add set inet edge echoset { type ipv4_addr; }
$ nft -e add table inet echotable
$ nft -a list chain inet edge ssh
$ nft list ruleset
# nft --echo of elements: one notification an element, intervals joined
# again by nft.
$ nft -e add element inet edge adj { 10.0.7.0/24, 10.0.9.1 }
$ nft -e add element inet edge topports { 100-200, 300 }
$ nft -e add element inet edge tops { 5000 : drop, 6000-6100 : accept }
$ nft -e delete element inet edge adj { 10.0.9.1 }
$ nft -e 'add element inet edge adj { 10.0.11.0/24 }; add element inet edge single { 1 }'
$ nft list ruleset
