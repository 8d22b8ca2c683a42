# The netdev family: an ingress chain on a device, link-layer matches,
# protocols above it.
table netdev nd
chain sub
chain ingress { type filter hook ingress device "fn0" priority -500; policy accept; }
ether saddr 02:00:00:00:00:01
ether saddr != 02:00:00:00:00:01
ether daddr ff:ff:ff:ff:ff:ff
ether daddr 01:00:5e:00:00:00-01:00:5e:7f:ff:ff
ether saddr { 02:00:00:00:00:01, 02:00:00:00:00:02 }
ether type ip
ether type != ip
ether type arp drop
ether type ip6
ether type vlan ;; ether type 8021q
ether type { ip, arp, ip6 }
ether saddr 02:00:00:00:00:01 ether type ip drop
meta protocol ip
meta protocol arp accept
meta iifname "fn0" ;; iifname "fn0"
meta iif "lo" ;; iif "lo"
meta length > 1500 drop
meta pkttype broadcast
meta mark set 0x1 ;; meta mark set 0x00000001
ip saddr 10.0.0.1 drop
ip daddr 10.0.0.0/8 counter ;; ip daddr 10.0.0.0/8 counter packets 0 bytes 0
ip protocol udp udp dport 53 accept
tcp dport 22 accept
ip6 saddr fe80::/10 accept
icmp type echo-request counter ;; icmp type echo-request counter packets 0 bytes 0
arp operation request
arp operation reply
arp htype 1
arp ptype ip
arp hlen 6
arp plen 4
ip saddr 10.0.0.2 jump sub
goto sub
chain sub
ether saddr 02:00:00:00:00:03 return
counter drop ;; counter packets 0 bytes 0 drop
