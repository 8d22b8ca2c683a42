# The inet family: base chains on every hook (ingress on a device too),
# IPv4 and IPv6 header matches, transport matches, meta nfproto.
table inet dual
chain sub
chain ingress { type filter hook ingress device "fn0" priority 0; policy accept; }
chain pre { type filter hook prerouting priority -150; policy accept; }
chain in { type filter hook input priority 0; policy drop; }
chain out { type filter hook output priority 0; policy accept; }
chain post { type filter hook postrouting priority 0; policy accept; }
chain ingress
ip saddr 10.0.0.1 drop
ip6 saddr ::1 drop
meta nfproto ipv6 counter ;; meta nfproto ipv6 counter packets 0 bytes 0
meta protocol ip6 accept
ether saddr 02:00:00:00:00:01 drop
chain pre
meta nfproto ipv4 accept
ip ttl 1 drop
chain in
ct state established,related accept
ct state invalid drop
iifname "lo" accept
meta nfproto ipv4
meta nfproto ipv6
meta nfproto { ipv4, ipv6 }
meta nfproto != ipv4 drop
ip saddr 10.0.0.1
ip daddr 10.0.0.0/8 accept
ip protocol tcp
ip ttl 64
ip length > 1000
ip dscp cs1
ip6 saddr ::1
ip6 daddr fe80::/64
ip6 saddr 2001:db8::/32 drop
ip6 daddr != 2001:db8::1
ip6 saddr { 2001:db8::1, 2001:db8::2 }
ip6 daddr 2001:db8::1-2001:db8::ff
ip6 nexthdr tcp
ip6 nexthdr { tcp, udp }
ip6 hoplimit 1
ip6 hoplimit 255
ip6 length 40
ip6 flowlabel 0
ip6 version 6
ip6 dscp cs1
ip6 ecn ce
tcp dport 22 accept
tcp dport { 80, 443 } accept
tcp flags syn tcp dport 8080 drop
udp dport 53 accept
udp sport 67 udp dport 68 accept
icmp type echo-request accept
icmpv6 type echo-request accept
icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept ;; icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept
icmpv6 code 0 ;; icmpv6 code no-route
meta l4proto tcp
meta l4proto ipv6-icmp accept
meta l4proto { tcp, udp } th dport 53
jump sub
chain sub
ip saddr 10.0.0.5 return
ip6 saddr ::5 return
counter ;; counter packets 0 bytes 0
chain out
ip daddr 10.0.0.9 drop
ip6 daddr ::9 drop
meta mark set 0x3 ;; meta mark set 0x00000003
chain post
ip daddr 10.9.0.0/16 drop
counter ;; counter packets 0 bytes 0
