#ifndef RSTORE_CFAISS_H
#define RSTORE_CFAISS_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The few FAISS calls stage 1 uses, behind a C interface: no C++ exception crosses it. Every
/// call that can fail returns 0 on success and -1 on failure with a message in `err` (always
/// NUL-terminated, truncated to `errlen`). Vectors are float32 rows of the index's dimension;
/// the metric is the inner product (stage 1 stores unit vectors, so scores are cosines).
typedef struct rs_faiss_index rs_faiss_index;

/// A new, untrained index from a FAISS factory string ("IVF1024,PQ32", "IVF64,SQ8", ...).
rs_faiss_index *rs_faiss_create(int dim, const char *factory, char *err, size_t errlen);
void rs_faiss_free(rs_faiss_index *index);

int rs_faiss_dim(const rs_faiss_index *index);
int64_t rs_faiss_ntotal(const rs_faiss_index *index);
int rs_faiss_is_trained(const rs_faiss_index *index);
/// Bytes of one stored code (ids are 8 more per vector).
size_t rs_faiss_code_size(const rs_faiss_index *index);
/// Inverted lists of an IVF index (0 for another kind).
size_t rs_faiss_nlist(const rs_faiss_index *index);

int rs_faiss_train(rs_faiss_index *index, int64_t n, const float *x, char *err, size_t errlen);
int rs_faiss_add_with_ids(rs_faiss_index *index, int64_t n, const float *x, const int64_t *ids, char *err, size_t errlen);
/// Removes every vector whose id shifted right by `shift` bits is one of `groups` (all the
/// I-features of the given videos when ids are video << shift | ordinal), in one pass.
/// `removed` receives how many went.
int rs_faiss_remove_groups(rs_faiss_index *index, const int64_t *groups, size_t count, int shift,
                           int64_t *removed, char *err, size_t errlen);
/// The `k` best rows for each of `n` queries (highest inner product first), probing `nprobe`
/// inverted lists. Missing results have label -1.
int rs_faiss_search(const rs_faiss_index *index, int64_t n, const float *queries, int64_t k, size_t nprobe,
                    float *scores, int64_t *labels, char *err, size_t errlen);

/// The index in FAISS's own serialised form, in a buffer from malloc (free it with
/// `rs_faiss_buffer_free`).
int rs_faiss_serialize(const rs_faiss_index *index, uint8_t **out, size_t *size, char *err, size_t errlen);
void rs_faiss_buffer_free(uint8_t *buffer);
/// An index read back from `rs_faiss_serialize`'s bytes; NULL (and `err`) when they do not
/// parse. The bytes are hostile: callers check a checksum first, FAISS checks the structure.
rs_faiss_index *rs_faiss_deserialize(const uint8_t *bytes, size_t size, char *err, size_t errlen);

/// Threads FAISS (OpenMP) may use; 0 leaves the default.
void rs_faiss_set_threads(int threads);

#ifdef __cplusplus
}
#endif
#endif
