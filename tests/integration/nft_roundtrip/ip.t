# IPv4 header matches in an ip table: every field, every cmp op, prefixes,
# ranges, masks, anonymous sets.
table ip iph
chain in { type filter hook input priority 0; policy accept; }
ip saddr 192.168.0.1
ip saddr != 192.168.0.1
ip saddr 192.168.0.0/24
ip saddr != 192.168.0.0/24
ip saddr 192.168.0.0/16 drop
ip saddr 10.0.0.0/8 accept
ip saddr 0.0.0.0/0 ;; ip saddr 0.0.0.0/0
ip saddr 192.168.1.0-192.168.1.200
ip saddr != 192.168.1.0-192.168.1.200
ip saddr { 10.0.0.1, 10.0.0.2 }
ip saddr != { 10.0.0.1, 10.0.0.2 }
ip saddr { 10.0.0.0/8, 192.168.0.0/16 }
ip saddr { 10.0.0.1-10.0.0.9, 172.16.0.1 }
ip saddr < 10.0.0.1
ip saddr > 10.0.0.1
ip saddr <= 10.0.0.1
ip saddr >= 10.0.0.1
ip daddr 10.241.0.2
ip daddr != 10.241.0.2 drop
ip daddr 224.0.0.0/4 drop
ip daddr 255.255.255.255
ip daddr & 255.255.0.0 == 10.241.0.0 ;; ip daddr 10.241.0.0/16
ip daddr & 0.0.0.255 != 0.0.0.1
ip saddr 10.0.0.1 ip daddr 10.0.0.2
ip protocol tcp
ip protocol udp
ip protocol icmp
ip protocol 47 ;; ip protocol gre
ip protocol != tcp
ip protocol { tcp, udp }
ip protocol { icmp, esp, ah, comp, udp, udplite, tcp, dccp, sctp } ;; ip protocol { icmp, tcp, udp, dccp, esp, ah, ipcomp, sctp, udplite }
ip ttl 64
ip ttl != 64
ip ttl < 2
ip ttl > 200
ip ttl <= 2
ip ttl >= 200
ip ttl 1-10
ip ttl { 1, 64, 128, 255 }
ip length 100
ip length != 1500
ip length < 40
ip length > 1400
ip length 60-1000
ip length { 20, 40, 576 }
ip id 1
ip id != 0
ip id 100-200
ip version 4
ip version != 4
ip hdrlength 5
ip hdrlength != 5
ip hdrlength > 5
ip hdrlength 6-15
ip dscp cs1
ip dscp != cs0
ip dscp ef
ip dscp af41
ip dscp 0x3f
ip dscp { cs0, cs1, cs2, cs3, cs4, cs5, cs6, cs7, ef } ;; ip dscp { cs0, cs1, cs2, cs3, cs4, cs5, ef, cs6, cs7 }
ip ecn not-ect
ip ecn ce
ip ecn != ect0
ip frag-off 0
ip frag-off != 0
ip frag-off & 0x1fff != 0 ;; ip frag-off & 8191 != 0
ip frag-off & 0x2000 == 0x2000 ;; ip frag-off & 8192 == 8192
ip frag-off & 0x4000 != 0 ;; ip frag-off & 16384 != 0
ip frag-off & 0x3fff != 0 drop ;; ip frag-off & 16383 != 0 drop
ip checksum 0
ip checksum != 0xffff ;; ip checksum != 65535
ip saddr 10.0.0.1 ip protocol tcp ip ttl 64 ip length 40 counter accept ;; ip saddr 10.0.0.1 ip ttl 64 ip protocol tcp ip length 40 counter packets 0 bytes 0 accept
