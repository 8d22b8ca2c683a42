/*
 * Options shared by every fragnet lwIP profile (included by each
 * profile's lwipopts.h).  lwIP runs in the stack process's single loop:
 * NO_SYS, raw API only, timers called from the loop.
 */
#ifndef FRAGNET_LWIP_COMMON_H
#define FRAGNET_LWIP_COMMON_H

#define NO_SYS				1
#define SYS_LIGHTWEIGHT_PROT		0
#define LWIP_NETCONN			0
#define LWIP_SOCKET			0
#define LWIP_IPV4			1
#define LWIP_IPV6			0
#define LWIP_ARP			1
#define LWIP_ETHERNET			1
#define LWIP_ICMP			1
#define LWIP_RAW			0
#define LWIP_DHCP			0
#define LWIP_AUTOIP			0
#define LWIP_IGMP			0
#define LWIP_DNS			0
#define IP_FORWARD			0
#define IP_REASSEMBLY			1
#define IP_FRAG				1
#define LWIP_NETIF_STATUS_CALLBACK	0
#define LWIP_SINGLE_NETIF		0
#define LWIP_STATS			0	/* fragnet counts on its stats page */
#define LWIP_DEBUG_TIMERNAMES		0

/* Heap-backed pools: every memp element and PBUF_POOL pbuf is malloc()ed
 * (memp.c: do_memp_malloc_pool), so no MEMP_NUM_* or PBUF_POOL_SIZE below
 * is enforced; they only satisfy init.c's sanity checks.  Limits come from
 * the topology at run time ([stack] max_tcp ...) and are kept by the stack
 * (src/stack/main.c, POOLS); bounded lwIP-side queues (IP_REASS_MAX_PBUFS,
 * TCP_OOSEQ_MAX_*) keep their own counts and still hold. */
#define MEM_LIBC_MALLOC			1
#define MEMP_MEM_MALLOC			1
#define MEM_ALIGNMENT			8

#define ETHARP_TABLE_MATCH_NETIF	0
#define ARP_TABLE_SIZE			64
#define ARP_QUEUEING			1
/* Packets held per unresolved peer until its ARP reply (lwIP's default 3
 * drops the 4th echo of `ping -i 0.05` if the reply takes 150 ms, e.g. on
 * a loaded 2-cpu machine, or when the first request was lost and the
 * 1-second ARP timer asks again). */
#define ARP_QUEUE_LEN			16
#define ETH_PAD_SIZE			0
#define PBUF_POOL_SIZE			4096
#define PBUF_POOL_BUFSIZE		1536

/* SO_REUSEADDR as programs expect: a restarted server binds its port
 * again while connections of its predecessor sit in TIME_WAIT (accepted
 * pcbs inherit the listener's SOF_REUSEADDR, tcp_listen_input). */
#define SO_REUSE			1

/* Reassembly (filter.c runs ip4_reass where the kernel defragments, see
 * docs/nft.md), with the kernel's behaviour: a datagram waits 30 s
 * (ipfrag_time), then the ICMP time exceeded if its first fragment came;
 * when full, a new fragment is dropped (the kernel past
 * ipfrag_high_thresh), never an older datagram evicted with an ICMP
 * error.  512 pbufs: at most 768 KiB held. */
#define IP_REASS_MAXAGE			30
#define IP_REASS_MAX_PBUFS		512
#define IP_REASS_FREE_OLDEST		0

#define CHECKSUM_GEN_IP			1
#define CHECKSUM_CHECK_IP		1
/* Per netif, so that a frame whose IPv4 header sum and TCP sum the
 * filter has already checked (fn_nft_pkt.sums) skips lwIP's second
 * check of the same bytes (linkif.c frame_deliver). */
#define LWIP_CHECKSUM_CTRL_PER_NETIF	1

#endif
