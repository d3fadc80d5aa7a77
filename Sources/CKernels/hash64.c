#include "ckernels.h"
#include <string.h>

// Four independent lanes of xxHash64's round, then folded: a few GB/s, enough to check a
// multi-gigabyte index file on load without making the check the slow part of a start.
static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static const uint64_t P1 = 0x9E3779B185EBCA87ULL, P2 = 0xC2B2AE3D27D4EB4FULL, P3 = 0x165667B19E3779F9ULL;
static inline uint64_t round64(uint64_t acc, uint64_t w) { return rotl(acc + w * P2, 31) * P1; }

uint64_t rs_hash64(const void *data, size_t size, uint64_t seed) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t a = seed + P1 + P2, b = seed + P2, c = seed, d = seed - P1;
    size_t i = 0;
    for (; i + 32 <= size; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, 32);
        a = round64(a, w[0]); b = round64(b, w[1]); c = round64(c, w[2]); d = round64(d, w[3]);
    }
    uint64_t h = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18) + (uint64_t)size;
    for (; i + 8 <= size; i += 8) { uint64_t w; memcpy(&w, p + i, 8); h = rotl(h ^ round64(0, w), 27) * P1 + P3; }
    for (; i < size; i++) h = rotl(h ^ (p[i] * P3), 11) * P1;
    h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32;
    return h;
}
