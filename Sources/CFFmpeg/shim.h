#ifndef RSTORE_CFFMPEG_SHIM_H
#define RSTORE_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/display.h>
#include <libavutil/motion_vector.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
#include <libavutil/mathematics.h>

/* Macros Swift cannot import. */
static inline int rstore_averror_eof(void) { return AVERROR_EOF; }
static inline int rstore_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int64_t rstore_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline int rstore_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int rstore_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
static inline int rstore_averror_stream_not_found(void) { return AVERROR_STREAM_NOT_FOUND; }
static inline int rstore_averror_enomem(void) { return AVERROR(ENOMEM); }
static inline int rstore_averror_enoent(void) { return AVERROR(ENOENT); }

/* AVFrame.key_frame is deprecated from FFmpeg 6.1 on (AV_FRAME_FLAG_KEY replaces it). */
static inline int rstore_frame_is_key(const AVFrame *f) {
#ifdef AV_FRAME_FLAG_KEY
    return (f->flags & AV_FRAME_FLAG_KEY) != 0;
#else
    return f->key_frame != 0;
#endif
}

/* Display matrix side data of a stream (NULL if none). FFmpeg 6.1 moved it to codecpar. */
static inline const int32_t *rstore_stream_display_matrix(const AVStream *st) {
#if LIBAVFORMAT_VERSION_MAJOR >= 61
    const AVPacketSideData *sd = av_packet_side_data_get(st->codecpar->coded_side_data,
                                                          st->codecpar->nb_coded_side_data,
                                                          AV_PKT_DATA_DISPLAYMATRIX);
    if (!sd || sd->size < 9 * sizeof(int32_t)) return NULL;
    return (const int32_t *)sd->data;
#else
    size_t size = 0;
    const uint8_t *d = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
    if (!d || size < 9 * sizeof(int32_t)) return NULL;
    return (const int32_t *)d;
#endif
}

/* Motion vectors: ask the decoder to export them (before avcodec_open2), and read a frame's
   (NULL and 0 when the frame has none: intra pictures, codecs that do not export them). */
static inline void rstore_export_motion_vectors(AVCodecContext *c) { c->flags2 |= AV_CODEC_FLAG2_EXPORT_MVS; }
static inline const AVMotionVector *rstore_frame_motion_vectors(const AVFrame *f, int *count) {
    const AVFrameSideData *sd = av_frame_get_side_data(f, AV_FRAME_DATA_MOTION_VECTORS);
    if (!sd || !sd->data) { *count = 0; return NULL; }
    *count = (int)(sd->size / sizeof(AVMotionVector));
    return (const AVMotionVector *)sd->data;
}

/* Which demuxer a file would get, found the way avformat_open_input finds it (the same probe
   functions, the same file name, the default probe size) but reading only through the file
   protocol and without running the demuxer, so the choice can be checked before any demuxer
   opens further files (playlists, concat lists). Returns >= 0 and sets *fmt, or an AVERROR. */
static inline int rstore_probe_container(const char *url, const AVInputFormat **fmt) {
    *fmt = NULL;
    AVProbeData byName = { url, NULL, 0, NULL };
    int score = AVPROBE_SCORE_RETRY;
    const AVInputFormat *named = av_probe_input_format2(&byName, 0, &score);
    if (named) { *fmt = named; return score; }
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    AVIOContext *pb = NULL;
    int r = avio_open2(&pb, url, AVIO_FLAG_READ, NULL, &opts);
    av_dict_free(&opts);
    if (r < 0) return r;
    r = av_probe_input_buffer2(pb, fmt, url, NULL, 0, 0);
    avio_closep(&pb);
    return r;
}

/* Opens `url` with the demuxer already chosen and checked, reading only local files and
   allowing no other demuxer to take over (defence in depth behind the allow-list). */
static inline int rstore_open_input(AVFormatContext **ctx, const char *url, const AVInputFormat *fmt,
                                    const char *formatWhitelist) {
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    av_dict_set(&opts, "format_whitelist", formatWhitelist, 0);
    av_dict_set(&opts, "pattern_type", "none", 0);   /* image2: the name is one file, never a sequence */
    int r = avformat_open_input(ctx, url, fmt, &opts);
    av_dict_free(&opts);
    return r;
}

/* Silence libav's own logging below the given level (AV_LOG_* values). */
static inline void rstore_set_log_level(int level) { av_log_set_level(level); }

/* Index entry i of the stream: its timestamp in *ts, and whether it is a keyframe (AVIndexEntry's
   flags are a bitfield, out of Swift's reach). Returns -1 past the end. */
static inline int rstore_index_entry(AVStream *st, int i, int64_t *ts) {
    const AVIndexEntry *e = avformat_index_get_entry(st, i);
    if (!e) return -1;
    *ts = e->timestamp;
    return (e->flags & AVINDEX_KEYFRAME) ? 1 : 0;
}
#endif
