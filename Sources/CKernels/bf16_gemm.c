// bf16 GEMM for linear layers on CPUs with AVX512-BF16: C[m,n] (+)= A[m,k] W[n,k]^T with A and W
// rounded to bf16 (round to nearest even) and every product summed in fp32 (vdpbf16ps).
//
// Layouts (explicit shapes, whisper.cpp style):
//   W packed once into panels of 32 output columns: panel p, pair q, column j, half t ->
//     packed[(p * kp + q) * 64 + j * 2 + t] = bf16(W[32p + j][2q + t])   (zeros past n and k)
//   A converted per call into rows of kp pairs: a16[r * 2kp + 2q + t] = bf16(A[r][2q + t]).
// The microkernel keeps an R x 32 block of C in 2R zmm accumulators; per pair q it loads two
// vectors of W and broadcasts one A pair per row.

#include "ckernels.h"

#include <cpuid.h>
#include <immintrin.h>
#include <string.h>

#define RS_COLS 32
#define RS_ROWS 8

int rs_bf16_supported(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;   // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xE6) != 0xE6) return 0;   // the OS saves SSE, AVX and all AVX-512 state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const unsigned need = (1u << 16) | (1u << 30) | (1u << 31);   // AVX512F, BW, VL
    if ((b & need) != need) return 0;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a & (1u << 5)) != 0;   // AVX512_BF16
}

/// fp32 -> bf16, round to nearest even; NaN stays a (quiet) NaN.
static inline uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

size_t rs_bf16_packed_count(size_t n, size_t k) {
    size_t panels = (n + RS_COLS - 1) / RS_COLS, kp = (k + 1) / 2;
    return panels * kp * RS_COLS * 2;
}

void rs_bf16_pack_weights(const float *w, size_t n, size_t k, uint16_t *packed) {
    size_t panels = (n + RS_COLS - 1) / RS_COLS, kp = (k + 1) / 2;
    for (size_t p = 0; p < panels; p++)
        for (size_t q = 0; q < kp; q++) {
            uint16_t *dst = packed + (p * kp + q) * RS_COLS * 2;
            for (size_t j = 0; j < RS_COLS; j++) {
                size_t col = p * RS_COLS + j;
                for (size_t t = 0; t < 2; t++) {
                    size_t kk = 2 * q + t;
                    dst[j * 2 + t] = (col < n && kk < k) ? to_bf16(w[col * k + kk]) : 0;
                }
            }
        }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
void rs_bf16_convert_rows(const float *a, size_t lda, size_t rows, size_t k, uint16_t *out) {
    size_t kp2 = (k + 1) / 2 * 2;
    for (size_t r = 0; r < rows; r++) {
        const float *src = a + r * lda;
        uint16_t *dst = out + r * kp2;
        size_t j = 0;
        for (; j + 16 <= k; j += 16) {
            __m256bh v = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + j));
            _mm256_storeu_si256((__m256i *)(dst + j), (__m256i)v);
        }
        for (; j < k; j++) dst[j] = to_bf16(src[j]);
        if (kp2 > k) dst[k] = 0;
    }
}

// One R x 32 block over all kp pairs. R is a constant at every call site, so the accumulators
// live in registers.
__attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512bf16")))
static inline void block(int R, const uint16_t *a, size_t kp, const uint16_t *panel,
                         float *c, size_t ldc, __mmask16 m0, __mmask16 m1, int accumulate) {
    __m512 acc[RS_ROWS][2];
    for (int r = 0; r < R; r++) {
        acc[r][0] = accumulate ? _mm512_maskz_loadu_ps(m0, c + r * ldc) : _mm512_setzero_ps();
        acc[r][1] = accumulate ? _mm512_maskz_loadu_ps(m1, c + r * ldc + 16) : _mm512_setzero_ps();
    }
    const size_t lda = 2 * kp;
    for (size_t q = 0; q < kp; q++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(panel + q * 64);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(panel + q * 64 + 32);
        for (int r = 0; r < R; r++) {
            int32_t pair;
            memcpy(&pair, a + r * lda + 2 * q, 4);
            __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
    }
    for (int r = 0; r < R; r++) {
        _mm512_mask_storeu_ps(c + r * ldc, m0, acc[r][0]);
        _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc[r][1]);
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
void rs_bf16_gemm_nt(size_t m, size_t n, size_t k, const uint16_t *a16, const uint16_t *packed,
                     float *c, size_t ldc, int accumulate, size_t panel_begin, size_t panel_end) {
    size_t kp = (k + 1) / 2;
    for (size_t p = panel_begin; p < panel_end; p++) {
        size_t col = p * RS_COLS;
        if (col >= n) break;
        size_t cols = n - col < RS_COLS ? n - col : RS_COLS;
        __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
        __mmask16 m1 = cols <= 16 ? 0 : cols == 32 ? 0xFFFF : (__mmask16)((1u << (cols - 16)) - 1);
        const uint16_t *panel = packed + p * kp * RS_COLS * 2;
        size_t r = 0;
        for (; r + RS_ROWS <= m; r += RS_ROWS)
            block(RS_ROWS, a16 + r * 2 * kp, kp, panel, c + r * ldc + col, ldc, m0, m1, accumulate);
        const uint16_t *ar = a16 + r * 2 * kp;
        float *cr = c + r * ldc + col;
        switch (m - r) {
        case 7: block(7, ar, kp, panel, cr, ldc, m0, m1, accumulate); break;
        case 6: block(6, ar, kp, panel, cr, ldc, m0, m1, accumulate); break;
        case 5: block(5, ar, kp, panel, cr, ldc, m0, m1, accumulate); break;
        case 4: block(4, ar, kp, panel, cr, ldc, m0, m1, accumulate); break;
        case 3: block(3, ar, kp, panel, cr, ldc, m0, m1, accumulate); break;
        case 2: block(2, ar, kp, panel, cr, ldc, m0, m1, accumulate); break;
        case 1: block(1, ar, kp, panel, cr, ldc, m0, m1, accumulate); break;
        default: break;
        }
    }
}
