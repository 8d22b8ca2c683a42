/* lwIP profile "full": IPv4, ARP, ICMP, TCP, UDP (Redis over TCP). */
#ifndef FRAGNET_LWIPOPTS_H
#define FRAGNET_LWIPOPTS_H

#include "../common.h"

#define LWIP_UDP			1
#define LWIP_TCP			1
#define TCP_MSS				1460
#define TCP_WND				(32 * TCP_MSS)
#define TCP_SND_BUF			(32 * TCP_MSS)
#define TCP_SND_QUEUELEN		(4 * TCP_SND_BUF / TCP_MSS)
#define TCP_QUEUE_OOSEQ			1
/* Out-of-order data held per PCB: one window.  Pools are malloc()ed, so
 * without these a peer could make a PCB hold any amount (default: no
 * limit). */
#define TCP_OOSEQ_MAX_BYTES		TCP_WND
#define TCP_OOSEQ_MAX_PBUFS		(TCP_WND / TCP_MSS)
#define LWIP_TCP_KEEPALIVE		1
#define LWIP_WND_SCALE			1
#define TCP_RCV_SCALE			2
#define TCP_LISTEN_BACKLOG		1
#define MEMP_NUM_TCP_PCB		10240
/* tcp_input() finds a segment's PCB in a hash of the 4-tuples of the
 * active and TIME-WAIT PCBs (subprojects/packagefiles/
 * lwip-tcp-pcb-hash.patch) instead of walking both lists, which at 1,000
 * connections was 42% of the stack's cpu (docs/stack.md).  One chain per
 * connection of [stack] max_tcp's default (10,000), rounded up to a power
 * of two: 128 KiB of chain heads. */
#define TCP_PCB_HASH_SIZE		16384
#define MEMP_NUM_TCP_SEG		65536
#define MEMP_NUM_UDP_PCB		64

#endif
