# TCP, UDP and ICMP header matches (and the l4 dependency nft adds).
table ip l4
chain in { type filter hook input priority 0; policy accept; }
tcp dport 22
tcp dport != 22
tcp dport 1-1023
tcp dport != 1-1023
tcp dport < 1024
tcp dport > 1023
tcp dport <= 1024
tcp dport >= 1024
tcp dport { 22, 80, 443 }
tcp dport != { 22, 80, 443 }
tcp dport { 1-1023, 8080 }
tcp dport ssh ;; tcp dport 22
tcp dport http accept ;; tcp dport 80 accept
tcp sport 1024-65535
tcp sport 0
tcp sport 80 tcp dport 1024-65535
tcp sequence 0
tcp sequence != 1
tcp ackseq 1-100
tcp doff 5
tcp doff > 5
tcp window 0
tcp window > 1000
tcp checksum 0
tcp urgptr 0
tcp urgptr != 0
tcp flags syn
tcp flags != syn
tcp flags & syn == syn
tcp flags & (syn | ack) == syn ;; tcp flags syn / syn,ack
tcp flags & (syn | ack) == syn | ack ;; tcp flags syn,ack / syn,ack
tcp flags & (fin | syn | rst | ack) != syn ;; tcp flags != syn / fin,syn,rst,ack
tcp flags & (syn | rst) == 0 ;; tcp flags ! syn,rst
tcp flags == 0x0
tcp flags { syn, ack, syn | ack } ;; tcp flags { syn | ack, syn, ack }
tcp flags fin,syn,rst,psh,ack,urg,ecn,cwr ;; tcp flags != 0x0
tcp flags syn,ack
tcp flags rst drop
tcp flags syn tcp dport 22 ct state new counter accept ;; tcp flags syn tcp dport 22 ct state new counter packets 0 bytes 0 accept
udp dport 53
udp dport != 53
udp dport { 53, 67, 68, 123 }
udp sport 1024-65535
udp dport 0-1023
udp length 8
udp length > 512
udp checksum 0
udp checksum != 0
udp sport 53 udp dport 1024-65535 accept
icmp type echo-request
icmp type echo-reply
icmp type != echo-request
icmp type { echo-request, echo-reply } ;; icmp type { echo-reply, echo-request }
icmp type { echo-reply, destination-unreachable, source-quench, redirect, echo-request, time-exceeded, parameter-problem, timestamp-request, timestamp-reply, info-request, info-reply, address-mask-request, address-mask-reply }
icmp type 8 ;; icmp type echo-request
icmp type router-advertisement
icmp type router-solicitation
icmp code 0 ;; icmp code net-unreachable
icmp code net-unreachable
icmp code port-unreachable
icmp code { 0, 1, 3 } ;; icmp code { net-unreachable, host-unreachable, port-unreachable }
icmp code 3-13
icmp type destination-unreachable icmp code port-unreachable
icmp type echo-request icmp id 1
icmp type echo-request icmp sequence 1-100
icmp checksum 0
icmp type time-exceeded drop
icmp type echo-request limit rate 10/second accept
th dport 53
th sport 1-1023
meta l4proto tcp th dport 22 ;; tcp dport 22
meta l4proto udp th dport { 53, 123 } ;; udp dport { 53, 123 }
