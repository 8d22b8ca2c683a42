# Raw payload: @ll, @nh and @th bases, offsets and lengths in bits.
table netdev raw
chain ingress { type filter hook ingress device "fn0" priority 0; policy accept; }
@ll,0,48 0xffffffffffff
@ll,48,48 0x020000000001 ;; @ll,48,48 0x20000000001
@ll,96,16 0x0800 ;; @ll,96,16 0x800
@ll,96,16 != 0x86dd
@nh,0,8 0x45
@nh,0,4 4 ;; @nh,0,8 & 0xf0 == 0x40
@nh,4,4 5 ;; @nh,0,8 & 0xf == 0x5
@nh,72,8 6 ;; @nh,72,8 0x6
@nh,72,8 != 17 ;; @nh,72,8 != 0x11
@nh,96,32 0x0a000001 ;; @nh,96,32 0xa000001
@nh,128,32 0x0a000000-0x0a0000ff ;; @nh,128,32 0xa000000-0xa0000ff
@nh,64,8 < 5 ;; @nh,64,8 < 0x5
@nh,8,8 & 0xfc == 0x20
@nh,160,8 { 1, 2, 3 } ;; @nh,160,8 { 0x1, 0x2, 0x3 }
@nh,0,1 1 ;; @nh,0,8 & 0x80 == 0x80
@nh,15,1 1 ;; @nh,8,8 & 0x1 == 0x1
@nh,3,5 0x1f ;; @nh,0,8 & 0x1f == 0x1f
@nh,0,128 0x45000000000000000000000000000001
@th,16,16 22 ;; th dport 22
@th,0,16 1024-65535 ;; th sport 1024-65535
@th,16,16 { 22, 80 } ;; th dport { 22, 80 }
@th,104,8 & 0x12 == 0x2
meta l4proto tcp @th,16,16 0x0016 ;; tcp dport 22
table ip rawip
chain in { type filter hook input priority 0; policy accept; }
@nh,72,8 6 ;; ip protocol tcp
@nh,96,32 0x0a000001 ;; ip saddr 10.0.0.1
@th,16,16 53 ;; th dport 53
@th,0,8 8 ;; @th,0,8 0x8
meta l4proto udp @th,16,16 0x0035 ;; udp dport 53
