// The C face of the FAISS calls stage 1 uses. Every entry point catches everything: a C++
// exception must never unwind into Swift.
#include "cfaiss.h"

#include <faiss/Index.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
// OpenMP (libgomp) without its header: gcc's omp.h is not on clang's path.
extern "C" void omp_set_num_threads(int);

#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <unordered_set>
#include <vector>

struct rs_faiss_index {
    std::unique_ptr<faiss::Index> index;
};

namespace {

void set_error(char *err, size_t errlen, const char *message) {
    if (err == nullptr || errlen == 0) return;
    std::strncpy(err, message, errlen - 1);
    err[errlen - 1] = '\0';
}

template <typename F>
int guarded(char *err, size_t errlen, F &&body) {
    try {
        body();
        return 0;
    } catch (const faiss::FaissException &e) {
        set_error(err, errlen, e.what());
    } catch (const std::bad_alloc &) {
        set_error(err, errlen, "out of memory");
    } catch (const std::exception &e) {
        set_error(err, errlen, e.what());
    } catch (...) {
        set_error(err, errlen, "unknown C++ exception");
    }
    return -1;
}

/// Members: ids whose high bits (id >> shift) are one of the groups.
struct GroupSelector : faiss::IDSelector {
    std::unordered_set<int64_t> groups;
    int shift;
    GroupSelector(const int64_t *g, size_t n, int s) : groups(g, g + n), shift(s) {}
    bool is_member(idx_t id) const override { return groups.count(id >> shift) != 0; }
};

/// Reads from caller-owned bytes without copying them first; never past the end.
struct SpanReader : faiss::IOReader {
    const uint8_t *bytes;
    size_t size, at = 0;
    SpanReader(const uint8_t *b, size_t n) : bytes(b), size(n) {}
    size_t operator()(void *ptr, size_t unit, size_t nitems) override {
        if (unit == 0 || at >= size) return 0;
        size_t n = std::min(nitems, (size - at) / unit);
        std::memcpy(ptr, bytes + at, n * unit);
        at += n * unit;
        return n;
    }
};

}  // namespace

extern "C" {

rs_faiss_index *rs_faiss_create(int dim, const char *factory, char *err, size_t errlen) {
    rs_faiss_index *out = nullptr;
    guarded(err, errlen, [&] {
        if (dim <= 0) throw std::invalid_argument("dimension must be positive");
        std::unique_ptr<faiss::Index> idx(faiss::index_factory(dim, factory, faiss::METRIC_INNER_PRODUCT));
        // The factory turns on polysemous training for IVF-PQ: a simulated annealing of the
        // codebook order for Hamming filtering, which stage 1 never uses and which took
        // minutes of a 2-core machine (measured: 700 s of a 745 s build at 60 h).
        // Its product quantisers' k-means runs on 16-d sub-vectors, where BLAS is inefficient:
        // 64 points per centroid (16,384) and 10 iterations instead of 256 and 25 cut the
        // training ~10x (above FAISS's own floor of 39 points per centroid).
        if (auto pq = dynamic_cast<faiss::IndexIVFPQ *>(idx.get())) {
            pq->do_polysemous_training = false;
            pq->pq.cp.max_points_per_centroid = 64;
            pq->pq.cp.niter = 10;
        }
        out = new rs_faiss_index{std::move(idx)};
    });
    return out;
}

void rs_faiss_free(rs_faiss_index *index) { delete index; }

int rs_faiss_dim(const rs_faiss_index *index) { return index->index->d; }
int64_t rs_faiss_ntotal(const rs_faiss_index *index) { return index->index->ntotal; }
int rs_faiss_is_trained(const rs_faiss_index *index) { return index->index->is_trained ? 1 : 0; }

size_t rs_faiss_code_size(const rs_faiss_index *index) {
    if (auto ivf = dynamic_cast<const faiss::IndexIVF *>(index->index.get())) return ivf->code_size;
    return index->index->sa_code_size();
}

size_t rs_faiss_nlist(const rs_faiss_index *index) {
    auto ivf = dynamic_cast<const faiss::IndexIVF *>(index->index.get());
    return ivf ? ivf->nlist : 0;
}

int rs_faiss_train(rs_faiss_index *index, int64_t n, const float *x, char *err, size_t errlen) {
    return guarded(err, errlen, [&] { index->index->train(n, x); });
}

int rs_faiss_add_with_ids(rs_faiss_index *index, int64_t n, const float *x, const int64_t *ids, char *err, size_t errlen) {
    return guarded(err, errlen, [&] {
        if (!index->index->is_trained) throw std::runtime_error("index is not trained");
        index->index->add_with_ids(n, x, ids);
    });
}

int rs_faiss_remove_groups(rs_faiss_index *index, const int64_t *groups, size_t count, int shift,
                           int64_t *removed, char *err, size_t errlen) {
    return guarded(err, errlen, [&] {
        GroupSelector sel(groups, count, shift);
        *removed = count == 0 ? 0 : int64_t(index->index->remove_ids(sel));
    });
}

int rs_faiss_search(const rs_faiss_index *index, int64_t n, const float *queries, int64_t k, size_t nprobe,
                    float *scores, int64_t *labels, char *err, size_t errlen) {
    return guarded(err, errlen, [&] {
        if (k <= 0) throw std::invalid_argument("k must be positive");
        if (auto ivf = dynamic_cast<const faiss::IndexIVF *>(index->index.get())) {
            faiss::SearchParametersIVF params;
            params.nprobe = std::max<size_t>(1, std::min(nprobe, ivf->nlist));
            ivf->search(n, queries, k, scores, labels, &params);
        } else {
            index->index->search(n, queries, k, scores, labels);
        }
    });
}

int rs_faiss_serialize(const rs_faiss_index *index, uint8_t **out, size_t *size, char *err, size_t errlen) {
    *out = nullptr;
    *size = 0;
    return guarded(err, errlen, [&] {
        faiss::VectorIOWriter w;
        faiss::write_index(index->index.get(), &w);
        auto *buf = static_cast<uint8_t *>(std::malloc(std::max<size_t>(1, w.data.size())));
        if (buf == nullptr) throw std::bad_alloc();
        std::memcpy(buf, w.data.data(), w.data.size());
        *out = buf;
        *size = w.data.size();
    });
}

void rs_faiss_buffer_free(uint8_t *buffer) { std::free(buffer); }

rs_faiss_index *rs_faiss_deserialize(const uint8_t *bytes, size_t size, char *err, size_t errlen) {
    rs_faiss_index *out = nullptr;
    guarded(err, errlen, [&] {
        SpanReader r(bytes, size);
        std::unique_ptr<faiss::Index> idx(faiss::read_index(&r));
        if (r.at != size) throw std::runtime_error("trailing bytes after the index");
        out = new rs_faiss_index{std::move(idx)};
    });
    return out;
}

void rs_faiss_set_threads(int threads) {
    if (threads > 0) omp_set_num_threads(threads);
}

}  // extern "C"
