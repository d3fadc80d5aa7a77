#ifndef RSTORE_CKERNELS_H
#define RSTORE_CKERNELS_H
#include <stddef.h>
#include <stdint.h>

/// out[r] = (sum_j codes[r*dim + j] * q[j]) * scales[r] * qscale for r in [0, rows).
/// int8 rows x int16 query with int32 accumulation: the stage-1 search scan. Written in C so
/// the compiler emits pmaddwd (and an AVX2 clone picked at load time where the CPU has it).
void rs_int8_scores(const int8_t *codes, const float *scales, const int16_t *q, float qscale,
                    size_t rows, size_t dim, float *out);

/// A 64-bit checksum of `size` bytes (xxHash64-style lanes; not cryptographic): what the stage-1
/// ANN index file is checked with on load.
uint64_t rs_hash64(const void *data, size_t size, uint64_t seed);

#endif
