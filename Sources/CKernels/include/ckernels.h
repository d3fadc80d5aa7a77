#ifndef RSTORE_CKERNELS_H
#define RSTORE_CKERNELS_H
#include <stddef.h>
#include <stdint.h>

/// out[r] = (sum_j codes[r*dim + j] * q[j]) * scales[r] * qscale for r in [0, rows).
/// int8 rows x int16 query with int32 accumulation: the stage-1 search scan. Written in C so
/// the compiler emits pmaddwd (and an AVX2 clone picked at load time where the CPU has it).
void rs_int8_scores(const int8_t *codes, const float *scales, const int16_t *q, float qscale,
                    size_t rows, size_t dim, float *out);

/// out[i] = clamp(round(v[i] * inv), -127, 127), rounding half away from zero: one row of the
/// stage-1 int8 matrix (every candidate video's rows are quantised on a cold read). NaN -> 0.
void rs_quantize_int8(const float *v, size_t n, float inv, int8_t *out);

/// A 64-bit checksum of `size` bytes (xxHash64-style lanes; not cryptographic): what the stage-1
/// ANN index file is checked with on load.
uint64_t rs_hash64(const void *data, size_t size, uint64_t seed);

/// Whether this CPU and OS run AVX512-BF16 (cpuid and xgetbv; the bf16 GEMM below needs it).
int rs_bf16_supported(void);

/// uint16 values `rs_bf16_pack_weights` writes for a weight W[n][k].
size_t rs_bf16_packed_count(size_t n, size_t k);

/// Rounds W[n][k] (row-major, PyTorch's [out, in]) to bf16 panels of 32 output columns.
void rs_bf16_pack_weights(const float *w, size_t n, size_t k, uint16_t *packed);

/// Rounds rows of A (row stride lda) to bf16 rows of (k+1)/2*2 values (needs rs_bf16_supported).
void rs_bf16_convert_rows(const float *a, size_t lda, size_t rows, size_t k, uint16_t *out);

/// C[m, cols of panels begin..<end] (+)= A W^T from converted A and packed W, fp32 sums
/// (needs rs_bf16_supported). `accumulate` adds to C instead of overwriting it.
void rs_bf16_gemm_nt(size_t m, size_t n, size_t k, const uint16_t *a16, const uint16_t *packed,
                     float *c, size_t ldc, int accumulate, size_t panel_begin, size_t panel_end);

/// CRC-32 (IEEE 802.3, zlib's) of `size` bytes continuing from `crc` (0 to start): stored blobs'
/// and tier frames are checked with it before they are decoded. Slice-by-8, ~1-2 GB/s.
uint32_t rs_crc32(uint32_t crc, const void *data, size_t size);

/// IEEE half (native byte order; `in` may be unaligned) -> float for `n` values: F16C where the CPU has it, else `rs_f16_to_f32_portable`
/// (the same value for every half; a NaN stays a NaN).
void rs_f16_to_f32(const uint16_t *in, float *out, size_t n);
void rs_f16_to_f32_portable(const uint16_t *in, float *out, size_t n);
/// Whether `rs_f16_to_f32` takes the F16C path here.
int rs_f16c_supported(void);

#endif
