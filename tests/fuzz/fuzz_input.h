/*
 * fuzz_input.h - reading a fuzz input as a stream of little-endian
 * numbers, for the fuzz targets that decode their input as operations
 * (fuzz_stream.c, fuzz_vswitch.c).  Past the end every read gives 0, so
 * a target never needs to check the length of what it takes.
 */
#ifndef FRAGNET_FUZZ_INPUT_H
#define FRAGNET_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct input {
	const uint8_t *p;
	size_t left;
};

/* The next `bytes` (at most 4) bytes as a little-endian number. */
static inline uint32_t take(struct input *in, unsigned bytes)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < bytes && in->left; i++, in->left--)
		v |= (uint32_t)*in->p++ << (8 * i);
	return v;
}

#endif /* FRAGNET_FUZZ_INPUT_H */
