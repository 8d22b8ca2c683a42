# Base chains on every hook of the ip family, priorities (numbers and
# names, with offsets) and policies; regular chains; jump, goto, return;
# verdicts.
table ip chains
chain sub
chain sub2
chain leaf
chain pre { type filter hook prerouting priority -300; policy accept; }
chain raw { type filter hook prerouting priority raw; policy accept; }
chain mangle { type filter hook prerouting priority mangle - 5; policy accept; }
chain in { type filter hook input priority 0; policy drop; }
chain in2 { type filter hook input priority filter + 10; policy accept; }
chain in3 { type filter hook input priority -2147483648; policy accept; }
chain out { type filter hook output priority 100; policy accept; }
chain out2 { type filter hook output priority security; policy drop; }
chain post { type filter hook postrouting priority 300; policy accept; }
chain post2 { type filter hook postrouting priority 2147483647; policy accept; }
chain fwdc { type filter hook forward priority 0; policy drop; }
chain commented { comment "a chain comment"; }

chain in
accept
drop
continue
jump sub
goto sub2
jump leaf
ip saddr 10.0.0.1 jump sub
ip saddr 10.0.0.2 goto sub2
ip daddr 10.0.0.3 counter jump leaf ;; ip daddr 10.0.0.3 counter packets 0 bytes 0 jump leaf
tcp dport 22 accept comment "ssh"
counter comment "counted" ;; counter packets 0 bytes 0 comment "counted"
ct state established,related accept
ct state invalid drop
ip protocol icmp accept

chain sub
return
ip saddr 10.0.0.4 return
udp dport 53 accept
jump leaf

chain sub2
tcp dport 80 jump leaf
continue

chain leaf
counter ;; counter packets 0 bytes 0
counter drop ;; counter packets 0 bytes 0 drop

chain pre
ip saddr 10.1.0.0/16 drop
chain raw
ip ttl 1 drop
chain mangle
meta mark set 0x10 ;; meta mark set 0x00000010
chain in2
accept
chain in3
counter ;; counter packets 0 bytes 0
chain out
ip daddr 10.0.0.9 drop
oifname "fn0" accept
chain out2
accept
chain post
- ip daddr 10.9.0.0/16 reject
chain post2
counter ;; counter packets 0 bytes 0
chain fwdc
drop
# Other listings (single GETs, filters, output flags).
$ nft list chain ip chains in
$ nft -a list chain ip chains sub
$ nft list chains
$ nft list chains ip
$ nft list tables
$ nft list table ip chains
$ nft -a list table ip chains
$ nft -y list chain ip chains in2
$ nft -s list ruleset
$ nft -nn list ruleset
$ nft -j list ruleset
$ nft -j list chains
$ nft list ruleset ip
$ nft list ruleset inet
$ nft list ruleset netdev
$ nft list chain ip chains nosuchchain
$ nft list table inet nosuchtable
$ nft list flowtables
$ nft list counters
$ nft list quotas
