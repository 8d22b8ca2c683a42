# Commands that change what is there: insert, positions (by handle: a
# fresh table numbers its chains and rules 1, 2, 3... in both), replace,
# delete, flush; table flags and comments; deleting sets and chains.
table ip cmds
chain c { type filter hook input priority 0; policy accept; }
tcp dport 1 accept
tcp dport 2 accept
tcp dport 3 accept
commit
> insert rule ip cmds c tcp dport 0 accept
> add rule ip cmds c position 3 tcp dport 11 accept
> insert rule ip cmds c position 4 tcp dport 22 accept
> replace rule ip cmds c handle 2 tcp dport 10 drop
> delete rule ip cmds c handle 4
> add rule ip cmds c index 0 tcp dport 100 accept
> insert rule ip cmds c index 2 tcp dport 101 accept
chain d
counter
> flush chain ip cmds d
udp dport 53 accept
chain gone
> delete chain ip cmds gone
set s { type ipv4_addr; elements = { 10.0.0.1 }; }
> flush set ip cmds s
set s2 { type ipv4_addr; }
> delete set ip cmds s2
set s3 { type ipv4_addr; elements = { 10.0.0.1, 10.0.0.2, 10.0.0.3 }; }
> delete element ip cmds s3 { 10.0.0.2 }
> add element ip cmds s3 { 10.0.0.4 }
table ip dormant { flags dormant; }
chain c { type filter hook input priority 0; policy accept; }
counter ;; counter packets 0 bytes 0
table ip commented { comment "a table comment"; }
chain c
accept
table inet gonetable
chain c
> delete table inet gonetable
table ip flushed
chain c { type filter hook output priority 0; policy accept; }
counter
> flush table ip flushed
table netdev twochains
chain a { type filter hook ingress device "fn0" priority 10; policy accept; }
counter ;; counter packets 0 bytes 0
chain b { type filter hook ingress device "fn0" priority -10; policy drop; }
counter
> add chain netdev twochains a { type filter hook ingress device "fn0" priority 10; policy drop; }
