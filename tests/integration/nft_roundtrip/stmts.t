# Statements: counter, limit (packets and bytes, burst, over), quota,
# log (prefix, level, flags), reject (icmp, icmpx, tcp reset), ct state,
# meta mark set, comments.
table inet st
chain in { type filter hook input priority 0; policy accept; }
counter ;; counter packets 0 bytes 0
counter packets 10 bytes 1000
counter accept ;; counter packets 0 bytes 0 accept
counter drop ;; counter packets 0 bytes 0 drop
limit rate 10/second
limit rate 10/minute
limit rate 100/hour
limit rate 1000/day
limit rate 1/week
limit rate 10/second burst 20 packets
limit rate over 10/second drop
limit rate over 100/minute burst 50 packets
limit rate 1 mbytes/second
limit rate 100 kbytes/second burst 1000 kbytes
limit rate over 1 mbytes/second drop
limit rate 10 bytes/second burst 100 bytes
limit rate over 5 kbytes/minute burst 10 kbytes
quota 100 bytes
quota 10 kbytes
quota 10 mbytes
quota 2000 mbytes
quota over 100 mbytes drop
quota 500 kbytes used 100 kbytes
log
log prefix "in: "
log prefix "dropped " drop
log level emerg
log level alert
log level crit
log level err
log level warn ;; log
log level notice
log level info
log level debug
log prefix "x" level info
log flags tcp sequence,options
log flags ip options
log flags skuid
log flags ether
log flags all
log prefix "a" level debug flags all
reject
reject with icmp port-unreachable
reject with icmp host-unreachable
reject with icmp net-unreachable
reject with icmp prot-unreachable
reject with icmp admin-prohibited
reject with icmp net-prohibited
reject with icmp host-prohibited
reject with icmp 3 ;; reject with icmp port-unreachable
reject with icmpx port-unreachable ;; reject
reject with icmpx admin-prohibited
reject with icmpx no-route
reject with icmpx host-unreachable
reject with icmpv6 port-unreachable
reject with icmpv6 admin-prohibited
reject with tcp reset ;; meta l4proto tcp reject with tcp reset
tcp dport 22 reject with tcp reset
meta nfproto ipv4 reject with icmp host-unreachable ;; reject with icmp host-unreachable
ct state new
ct state established
ct state related
ct state invalid
ct state untracked
ct state new,established ;; ct state established,new
ct state != established
ct state { new, established } accept ;; ct state { established, new } accept
ct state established,related counter accept ;; ct state established,related counter packets 0 bytes 0 accept
meta mark set 0x1 ;; meta mark set 0x00000001
meta mark set 0x1 accept ;; meta mark set 0x00000001 accept
meta mark set meta mark or 0x10 ;; meta mark set meta mark | 0x00000010
meta mark set meta mark and 0xff ;; meta mark set meta mark & 0x000000ff
meta mark set meta mark xor 0x1 ;; meta mark set meta mark ^ 0x00000001
tcp dport 80 counter limit rate 10/second log prefix "web " accept ;; tcp dport 80 counter packets 0 bytes 0 limit rate 10/second log prefix "web " accept
ip saddr 10.0.0.1 counter quota 1 mbytes drop ;; ip saddr 10.0.0.1 counter packets 0 bytes 0 quota 1 mbytes drop
counter comment "just a comment" ;; counter packets 0 bytes 0 comment "just a comment"
tcp dport 22 accept comment "with a verdict"
chain out { type filter hook output priority 0; policy accept; }
reject
tcp dport 25 reject with tcp reset
counter ;; counter packets 0 bytes 0
