# netdev: chains on a list of devices (one device: the evaluator takes
# one per chain), an ingress chain of every priority name, the inet
# family's ingress.
table netdev nd2
chain one { type filter hook ingress devices = { fn0 } priority 0; policy accept; }
counter ;; counter packets 0 bytes 0
chain two { type filter hook ingress devices = { fn0, lo } priority 0; policy accept; }
counter ;; counter packets 0 bytes 0
chain prio { type filter hook ingress device "fn0" priority filter - 100; policy drop; }
ether type arp accept
table inet ing
chain i { type filter hook ingress device "fn0" priority -500; policy accept; }
meta protocol ip6 drop
ip6 nexthdr ipv6-icmp accept
