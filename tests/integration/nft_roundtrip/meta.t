# meta keys the evaluator implements (lo exists in both namespaces:
# nft resolves iif/oif names there, index 1 either way).
table ip mt
chain in { type filter hook input priority 0; policy accept; }
meta length 100
meta length != 100
meta length > 1000
meta length 40-1500
meta length { 40, 1500 }
meta protocol ip
meta protocol != ip
meta protocol { ip, arp, ip6 }
meta protocol vlan ;; meta protocol 8021q
meta l4proto tcp
meta l4proto != tcp
meta l4proto { tcp, udp, icmp } ;; meta l4proto { icmp, tcp, udp }
meta l4proto 47 ;; meta l4proto gre
meta iif "lo" ;; iif "lo"
meta iif != "lo" ;; iif != "lo"
meta iif { "lo" } ;; iif "lo"
iif "lo" accept
meta iifname "fn0" ;; iifname "fn0"
meta iifname != "fn0" ;; iifname != "fn0"
meta iifname "fn*" ;; iifname "fn*"
meta iifname { "fn0", "lo" } ;; iifname { "lo", "fn0" }
iifname "eth0" drop
iifname != "lo" counter ;; iifname != "lo" counter packets 0 bytes 0
meta iiftype ether
meta iiftype loopback
meta iiftype != ether
meta mark 0x1 ;; meta mark 0x00000001
meta mark != 0x1 ;; meta mark != 0x00000001
meta mark 0x10-0x20 ;; meta mark 0x00000010-0x00000020
meta mark & 0xff == 0x1 ;; meta mark & 0x000000ff == 0x00000001
meta mark & 0xffff0000 != 0 ;; meta mark != 0x00000000/16
meta mark { 0x1, 0x2 } ;; meta mark { 0x00000001, 0x00000002 }
mark 0x5 accept ;; meta mark 0x00000005 accept
meta pkttype host
meta pkttype broadcast
meta pkttype multicast
meta pkttype other
meta pkttype != host
meta pkttype { broadcast, multicast } drop
chain out { type filter hook output priority 0; policy accept; }
meta oif "lo" ;; oif "lo"
meta oif != "lo" ;; oif != "lo"
oif "lo" accept
meta oifname "fn0" ;; oifname "fn0"
meta oifname != "fn0" ;; oifname != "fn0"
meta oifname "fn*" ;; oifname "fn*"
oifname { "fn0", "lo" } accept ;; oifname { "lo", "fn0" } accept
meta oiftype ether
meta mark set 0x1 ;; meta mark set 0x00000001
meta mark set 0xffffffff
meta mark set 0x0 accept ;; meta mark set 0x00000000 accept
mark set 0x2 ;; meta mark set 0x00000002
meta length 100 meta mark 0x1 meta l4proto udp counter ;; meta length 100 meta mark 0x00000001 meta l4proto udp counter packets 0 bytes 0
