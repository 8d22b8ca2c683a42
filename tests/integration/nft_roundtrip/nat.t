# NAT (docs/nft.md, "NAT"): nat chains on the four local hooks, redirect,
# dnat, snat, masquerade with ports, ranges, flags and maps, taken and
# listed as the kernel's (which adds addr_max/proto_max and the range
# flags); what the kernel refuses, refused alike.
table ip nat
chain pre { type nat hook prerouting priority dstnat; policy accept; }
chain out { type nat hook output priority -100; policy accept; }
chain post { type nat hook postrouting priority srcnat; policy accept; }
chain in { type nat hook input priority 100; policy accept; }
chain sub
chain filt { type filter hook input priority 0; policy accept; }
chain pre
tcp dport 80 redirect
tcp dport 80 redirect to :8080
udp dport 53 redirect to :5353 random,persistent
tcp dport 1000-2000 redirect to :3000-4000
tcp dport 81 dnat to 10.0.0.2
tcp dport 82 dnat to 10.0.0.2:8080
tcp dport 83 dnat to 10.0.0.2-10.0.0.4:8080-8999 persistent
ip saddr 10.1.0.0/16 counter dnat to 10.0.0.5 ;; ip saddr 10.1.0.0/16 counter packets 0 bytes 0 dnat to 10.0.0.5
dnat to tcp dport map { 22 : 10.0.0.22, 80 : 10.0.0.80 } ;; dnat to tcp dport map { 22 : 10.0.0.22, 80 : 10.0.0.80 }
jump sub
chain out
tcp dport 25 redirect to :2525
udp dport 53 dnat to 127.0.0.1:5353
chain post
masquerade
ip daddr 10.9.0.0/16 meta l4proto tcp masquerade to :1024-2048 fully-random
oifname "fn0" snat to 10.241.0.2
snat to 10.241.0.2-10.241.0.9 random
chain in
tcp dport 22 snat to 10.0.0.1
chain sub
tcp dport 8000 redirect to :80
- snat to 10.0.0.1
- masquerade
chain post
- redirect
- dnat to 10.0.0.1
chain filt
- redirect
- dnat to 10.0.0.1
$ nft add chain ip nat fwd { type nat hook forward priority 0 \; }
$ nft add chain ip nat early { type nat hook prerouting priority -200 \; }
$ nft list chain ip nat pre
