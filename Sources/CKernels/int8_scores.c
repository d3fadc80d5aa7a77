#include "ckernels.h"

__attribute__((target_clones("avx2", "default")))
void rs_int8_scores(const int8_t *codes, const float *scales, const int16_t *q, float qscale,
                    size_t rows, size_t dim, float *out) {
    for (size_t r = 0; r < rows; r++) {
        const int8_t *c = codes + r * dim;
        int32_t acc = 0;
        for (size_t j = 0; j < dim; j++) acc += (int32_t)c[j] * (int32_t)q[j];
        out[r] = (float)acc * scales[r] * qscale;
    }
}

void rs_quantize_int8(const float *v, size_t n, float inv, int8_t *out) {
    for (size_t i = 0; i < n; i++) {
        // roundf (half away from zero), clamped to +-127: what Swift's `.rounded()` then
        // `max(-127, min(127, _))` gave, written so the loop vectorises.
        float x = v[i] * inv;
        float t = __builtin_truncf(x);
        float d = x - t;
        t += (d >= 0.5f) ? 1.0f : ((d <= -0.5f) ? -1.0f : 0.0f);
        t = t < -127.0f ? -127.0f : (t > 127.0f ? 127.0f : t);
        out[i] = (t == t) ? (int8_t)t : 0;
    }
}
