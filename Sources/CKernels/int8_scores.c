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
