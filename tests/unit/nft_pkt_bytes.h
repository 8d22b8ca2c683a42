/*
 * tests/unit/nft_pkt_bytes.h - big-endian stores and the Internet checksum
 * (RFC 1071), for the tests that craft IPv4 packets for the nf_tables
 * evaluator: the unit tests (nft_eval_util.c) and the differential test
 * against the kernel (tests/integration/nft_eval_diff.c).
 */
#ifndef FRAGNET_TEST_NFT_PKT_BYTES_H
#define FRAGNET_TEST_NFT_PKT_BYTES_H

#include <stdint.h>

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

/* The one's complement of the one's complement sum of p, started at sum
 * (a pseudo-header's sum, or 0). */
static inline uint16_t csum(const uint8_t *p, uint32_t len, uint32_t sum)
{
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#endif
