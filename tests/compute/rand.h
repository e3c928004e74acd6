/* rand.h - the kernel tests' input generator: xorshift64, uniform in [-1, 1),
 * the same sequence on every machine. Each test keeps its own state. */
#ifndef OCR2_TEST_RAND_H
#define OCR2_TEST_RAND_H

#include <stdint.h>

static float test_frand(uint64_t *state)
{
	uint64_t s = *state;
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	*state = s;
	return (float)((s >> 11) * (1.0 / 9007199254740992.0)) * 2.f - 1.f;
}

#endif
