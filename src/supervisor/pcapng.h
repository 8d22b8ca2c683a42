/*
 * pcapng.h - a minimal pcapng writer (draft-ietf-opsawg-pcapng): the
 * blocks `fragnet capture` writes, in the byte order of the host (the
 * section header's byte-order magic tells readers which).
 *
 *   pcapng_shb()  once, first: Section Header Block, section length
 *                 unknown (-1: a stream), shb_userappl.
 *   pcapng_idb()  one per interface before its first packet: Interface
 *                 Description Block, LINKTYPE_ETHERNET, if_name,
 *                 if_tsresol 9 (nanoseconds).  Interfaces are numbered
 *                 from 0 in the order their IDBs were written.
 *   pcapng_epb()  one per packet: Enhanced Packet Block, with an
 *                 opt_comment when comment is not NULL.
 *
 * Each writes one whole block with one fwrite: 0, or -EIO (the stream's
 * error; errno says more).  Used by capture.c; tested by
 * tests/unit/test_capture.c.
 */
#ifndef FRAGNET_PCAPNG_H
#define FRAGNET_PCAPNG_H

#include <stdint.h>
#include <stdio.h>

#define PCAPNG_BT_SHB		0x0A0D0D0Au
#define PCAPNG_BT_IDB		0x00000001u
#define PCAPNG_BT_EPB		0x00000006u
#define PCAPNG_BOM		0x1A2B3C4Du
#define PCAPNG_LINKTYPE_ETHERNET 1
#define PCAPNG_OPT_COMMENT	1
#define PCAPNG_OPT_IF_NAME	2
#define PCAPNG_OPT_IF_TSRESOL	9
#define PCAPNG_OPT_SHB_USERAPPL	4
#define PCAPNG_OPT_EPB_DROPCOUNT 4
#define PCAPNG_BLOCK_MAX	(1u << 17)	/* what pcapng_epb takes */

int pcapng_shb(FILE *f, const char *appl);
int pcapng_idb(FILE *f, const char *name, uint32_t snaplen);
int pcapng_epb(FILE *f, uint32_t ifid, uint64_t ts_ns, const void *data,
	       uint32_t caplen, uint32_t origlen, const char *comment);

#endif /* FRAGNET_PCAPNG_H */
