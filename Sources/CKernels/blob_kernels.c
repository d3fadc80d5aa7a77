// Kernels of reading stored blobs: their CRC-32 and their f16 vectors. Written in C because the
// generic Swift loops (a byte iterator over Data, a libgcc call per half) took ~3/4 of reading
// one video's I-features (`rstore-bench scale`: 37 ms a video-hour), and every first query of
// a large library reads its candidate videos that way.

#include "ckernels.h"

#include <immintrin.h>
#include <string.h>

// Slice-by-8 tables of the reflected polynomial 0xEDB88320 (zlib's CRC-32), built once.
static uint32_t crc_table[8][256];
static int crc_ready;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++) crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xFF];
    __atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

uint32_t rs_crc32(uint32_t crc, const void *data, size_t size) {
    // Racing first callers build identical tables: harmless.
    if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE)) crc_init();
    const unsigned char *p = (const unsigned char *)data;
    uint32_t c = ~crc;
    for (; size >= 8; size -= 8, p += 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
        lo = __builtin_bswap32(lo);
        hi = __builtin_bswap32(hi);
#endif
        lo ^= c;
        c = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^ crc_table[5][(lo >> 16) & 0xFF] ^
            crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xFF] ^ crc_table[2][(hi >> 8) & 0xFF] ^
            crc_table[1][(hi >> 16) & 0xFF] ^ crc_table[0][hi >> 24];
    }
    for (; size > 0; size--, p++) c = crc_table[0][(c ^ *p) & 0xFF] ^ (c >> 8);
    return ~c;
}

void rs_f16_to_f32_portable(const uint16_t *in, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint16_t half;
        memcpy(&half, in + i, 2);   // `in` may be unaligned (a blob's bytes)
        uint32_t h = half, sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, u;
        if (exp == 0x1F) {
            u = sign | 0x7F800000u | (man << 13);   // inf, NaN (payload kept)
        } else if (exp != 0) {
            u = sign | ((exp + 112) << 23) | (man << 13);
        } else if (man == 0) {
            u = sign;
        } else {   // subnormal: normalise
            int e = -1;
            do { man <<= 1; e++; } while (!(man & 0x400));
            u = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3FF) << 13);
        }
        memcpy(out + i, &u, 4);
    }
}

__attribute__((target("avx,f16c"))) static void f16_to_f32_f16c(const uint16_t *in, float *out, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(in + i))));
    if (i < n) rs_f16_to_f32_portable(in + i, out + i, n - i);
}

int rs_f16c_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
}

void rs_f16_to_f32(const uint16_t *in, float *out, size_t n) {
    static int mode = -1;   // -1 unknown, 0 portable, 1 F16C
    int m = __atomic_load_n(&mode, __ATOMIC_RELAXED);
    if (m < 0) {
        m = rs_f16c_supported();
        __atomic_store_n(&mode, m, __ATOMIC_RELAXED);
    }
    if (m) f16_to_f32_f16c(in, out, n); else rs_f16_to_f32_portable(in, out, n);
}
