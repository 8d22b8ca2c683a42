# Named sets and maps (hash and interval, typed and by typeof), verdict
# maps, anonymous sets and maps, catch-all elements, add/delete element.
table ip sets
chain web
chain ssh
chain other
set a4 { type ipv4_addr; }
set full4 { type ipv4_addr; elements = { 10.0.0.1, 10.0.0.2, 192.168.1.1 }; }
set nets { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 }; }
set ranges { type ipv4_addr; flags interval; elements = { 10.1.0.1-10.1.0.100, 10.2.0.0/24 }; }
set ports { type inet_service; elements = { 22, 80, 443 }; }
set portr { type inet_service; flags interval; elements = { 1-1023, 8000-8100 }; }
set protos { type inet_proto; elements = { tcp, udp }; }
set macs { type ether_addr; elements = { 02:00:00:00:00:01, 02:00:00:00:00:02 }; }
set marks { type mark; elements = { 0x1, 0x2, 0xff }; }
set ifn { type ifname; elements = { "fn0", "lo" }; }
set typeof1 { typeof ip saddr; elements = { 10.0.0.7 }; }
set typeof2 { typeof tcp dport; flags interval; elements = { 100-200 }; }
set commented { type ipv4_addr; comment "a set comment"; }
set sized { type ipv4_addr; size 1024; }
set constset { type ipv4_addr; flags constant; elements = { 10.0.0.1 }; }
set pol { type ipv4_addr; policy memory; }
set autom { type ipv4_addr; flags interval; auto-merge; elements = { 10.0.0.0/24, 10.0.1.0/24 }; }
set counted { type ipv4_addr; counter; }
map m4 { type ipv4_addr : ipv4_addr; elements = { 10.0.0.1 : 192.168.0.1 }; }
map pm { type inet_service : mark; elements = { 22 : 0x1, 80 : 0x2 }; }
map vm { type inet_service : verdict; elements = { 22 : jump ssh, 80 : goto web, 443 : accept, 25 : drop }; }
map vmi { type ipv4_addr : verdict; flags interval; elements = { 10.0.0.0/8 : accept, 192.168.0.0/16 : drop }; }
map vmc { type inet_service : verdict; elements = { 53 : accept, * : drop }; }
map tm { typeof tcp dport : meta mark; elements = { 22 : 0x7 }; }
element add a4 { 10.1.1.1, 10.1.1.2, 10.1.1.3 }
element delete a4 { 10.1.1.2 }
element add ports { 8080 }
element delete ports { 80 }
element add nets { 100.64.0.0/10 }
element delete nets { 172.16.0.0/12 }
element add vm { 8443 : jump web }
element delete vm { 25 }
element add portr { 9000-9100 }
element add full4 { 10.0.0.3 }
chain in { type filter hook input priority 0; policy accept; }
ip saddr @a4 drop
ip saddr != @a4 accept
ip saddr @full4 counter ;; ip saddr @full4 counter packets 0 bytes 0
ip saddr @nets accept
ip daddr != @nets drop
ip saddr @ranges
tcp dport @ports accept
tcp dport @portr
udp dport != @ports
ip protocol @protos
meta mark @marks
iifname @ifn accept
ip saddr @typeof1
tcp dport @typeof2
ip saddr @commented
ip saddr @sized
ip saddr @constset
ip saddr @pol
ip saddr @autom
ip saddr @counted
tcp dport vmap @vm
ip saddr vmap @vmi
udp dport vmap @vmc
meta mark set tcp dport map @pm
meta mark set tcp dport map @tm
tcp dport vmap { 22 : accept, 23 : drop }
tcp dport vmap { 22 : jump ssh, 80 : goto web, * : drop }
ip saddr vmap { 10.0.0.0/8 : accept, 192.168.0.0/16 : jump other }
meta mark set tcp dport map { 22 : 0x1, 80 : 0x2 } ;; meta mark set tcp dport map { 22 : 0x00000001, 80 : 0x00000002 }
meta mark set ip saddr map { 10.0.0.0/8 : 0x1, 192.168.0.0/16 : 0x2 } ;; meta mark set ip saddr map { 10.0.0.0/8 : 0x00000001, 192.168.0.0/16 : 0x00000002 }
ip saddr { 10.0.0.1, 10.0.0.2 } accept
ip saddr != { 10.0.0.0/8, 192.168.0.0/16 } drop
tcp dport { 1-1023 } counter ;; tcp dport 1-1023 counter packets 0 bytes 0
meta l4proto { tcp, udp } accept
chain ssh
accept
chain web
counter accept ;; counter packets 0 bytes 0 accept
chain other
drop
table inet sets2
set concat { type ipv4_addr . inet_service; elements = { 10.0.0.1 . 22, 10.0.0.2 . 80 }; }
set concat3 { type ipv4_addr . inet_proto . inet_service; elements = { 10.0.0.1 . tcp . 22 }; }
set tconcat { typeof ip saddr . tcp dport; }
set withcomments { type ipv4_addr; elements = { 10.0.0.1 comment "one", 10.0.0.2 }; }
set intcomments { type ipv4_addr; flags interval; elements = { 10.0.0.0/8 comment "ten" }; }
set six { type ipv6_addr; flags interval; elements = { 2001:db8::/32, ::1 }; }
set catchall { type ipv4_addr; elements = { * }; }
map cmap { type ipv4_addr . inet_service : verdict; elements = { 10.0.0.1 . 22 : accept }; }
map cvm { type ipv4_addr : verdict; elements = { 10.0.0.1 : drop, * : accept }; }
element add concat { 10.0.0.3 . 443 }
element delete concat { 10.0.0.1 . 22 }
element add tconcat { 10.0.0.9 . 99 }
chain in { type filter hook input priority 0; policy accept; }
ip saddr . tcp dport @concat accept
ip saddr . meta l4proto . th dport @concat3
ip saddr . tcp dport @tconcat
ip saddr @withcomments
ip saddr @intcomments
ip6 saddr @six
ip saddr @catchall
ip saddr . tcp dport vmap @cmap
ip saddr vmap @cvm
ip saddr . tcp dport { 10.0.0.1 . 22, 10.0.0.2 . 80 } accept
ip saddr . ip daddr { 10.0.0.1 . 10.0.0.2 }
ip saddr . tcp dport vmap { 10.0.0.1 . 22 : accept, 10.0.0.2 . 80 : drop }
# Other listings and lookups (single GETs, filters, output flags).
$ nft list set ip sets nets
$ nft list set ip sets full4
$ nft list map ip sets vm
$ nft list map ip sets vmc
$ nft list sets
$ nft list sets ip
$ nft list maps
$ nft -t list ruleset
$ nft -a list set inet sets2 concat
$ nft list set inet sets2 withcomments
$ nft -j list set ip sets ports
$ nft -n list set ip sets protos
$ nft -j list ruleset
$ nft get element ip sets nets { 10.1.2.3 }
$ nft get element ip sets full4 { 10.0.0.2 }
$ nft get element ip sets portr { 9050 }
$ nft list set ip sets nosuchset
$ nft get element ip sets nets { 10.0.0.0 }
$ nft get element ip sets nets { 11.0.0.0 }
$ nft get element ip sets nets { 10.255.255.255 }
$ nft get element ip sets nets { 9.255.255.255 }
$ nft get element ip sets nets { 10.1.0.0-10.1.0.255 }
$ nft get element ip sets nets { 10.0.0.0/8 }
$ nft get element ip sets ranges { 10.1.0.50, 10.2.0.9 }
$ nft get element ip sets ranges { 10.1.0.101 }
$ nft get element ip sets full4 { 10.0.0.1, 10.0.0.3 }
$ nft get element ip sets full4 { 10.0.0.99 }
$ nft get element ip sets a4 { 10.1.1.2 }
$ nft get element ip sets ports { 443 }
$ nft get element ip sets portr { 1 }
$ nft get element ip sets portr { 1023 }
$ nft get element ip sets portr { 1024 }
$ nft get element ip sets vm { 22 }
$ nft get element ip sets vmi { 192.168.7.7 }
$ nft get element ip sets m4 { 10.0.0.1 }
$ nft get element ip sets ifn { "lo" }
$ nft get element ip sets macs { 02:00:00:00:00:02 }
$ nft get element inet sets2 concat { 10.0.0.3 . 443 }
$ nft get element inet sets2 concat { 10.0.0.1 . 22 }
$ nft get element inet sets2 withcomments { 10.0.0.1 }
$ nft get element inet sets2 six { 2001:db8::5 }
$ nft get element inet sets2 cvm { 10.0.0.1 }
$ nft get element ip sets nosuchset { 10.0.0.1 }
# No stateful objects (refused), so resetting them all resets nothing.
$ nft reset counters
$ nft reset quotas
$ nft reset counter ip sets nosuch
$ nft list counters
$ nft list hooks
