/*
 * log_int.h - internals shared by the broker/log sources: the segment, the batch
 * header view, checkpoint files.  Not for use outside broker/log/.
 */
#ifndef WEIR_BROKER_LOG_INT_H
#define WEIR_BROKER_LOG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/log/log.h"

#define LOG_BATCH_HDR 61   /* RecordBatch v2 header size */
#define LOG_BATCH_MIN_LEN (LOG_BATCH_HDR - 12)
#define LOG_MAX_SEG_POS INT32_MAX /* index positions are INT32 */

/* Fields of a batch header that the log uses (wire names). */
typedef struct lbatch {
    int64_t BaseOffset;
    int32_t Length;
    int8_t Magic;
    uint32_t Crc;
    int32_t LastOffsetDelta;
    int64_t MaxTimestamp;
    int32_t RecordsCount;
} lbatch_t;

/* Parse 61 header bytes; no validation. */
void lbatch_parse(const uint8_t *h, lbatch_t *b);
static inline int64_t lbatch_size(const lbatch_t *b) { return (int64_t)b->Length + 12; }
static inline int64_t lbatch_last(const lbatch_t *b) { return b->BaseOffset + b->LastOffsetDelta; }

typedef struct lidx_ent { int32_t rel; int32_t pos; } lidx_ent_t;     /* .index */
typedef struct tidx_ent { int64_t ts; int32_t rel; } tidx_ent_t;      /* .timeindex */

/*
 * One segment.  Invariants: [0, size) of the .log file is a chain of whole
 * batches with increasing offsets, all in [base, next_offset); idx/tidx are
 * exactly the entries the Kafka rule produces for that chain (plus a final
 * time entry when the segment was closed); the index files hold the same
 * entries when the segment is not dirty.
 */
typedef struct lseg {
    int64_t base;          /* from the file name */
    int64_t next_offset;   /* last offset + 1, base when empty */
    int64_t size;          /* bytes of valid batches */
    int fd;                /* .log, O_RDWR */
    int idx_fd, tidx_fd;   /* open while written (active, or dirty until flushed), else -1 */
    char *path;            /* "<dir>/<20-digit base>" without extension */
    lidx_ent_t *idx;
    size_t nidx, idx_cap;
    tidx_ent_t *tidx;
    size_t ntidx, tidx_cap;
    int64_t max_ts, max_ts_off; /* largest MaxTimestamp seen and the last offset of its batch; -1 none */
    int64_t last_idx_pos;  /* position of the last indexed batch (0 initially) */
    int64_t roll_ms;       /* time the segment got its first batch; -1 while empty */
    bool dirty;            /* written since last fsync */
    bool defer_idx_io;     /* rebuilding: arrays only, files rewritten at the end */
} lseg_t;

/* segment.c */
int lseg_create(lseg_t *s, const char *dir, int64_t base);
/* Load an existing segment (.log present).  With trust_index the index files
 * are read and only the tail after the last index entry is scanned; anything
 * inconsistent falls back to a full recovery.  Full recovery checks every
 * batch (CRC included), truncates at the first bad one and rewrites indexes.
 * *truncated is set when bytes were cut off.  limit: offsets must stay below it
 * (next segment's base; INT64_MAX for the last). */
int lseg_load(lseg_t *s, const char *dir, int64_t base, bool trust_index, int32_t interval,
              int64_t limit, bool *truncated);
/* Append bytes of one batch already carrying its final offsets. */
int lseg_append(lseg_t *s, const uint8_t *batch, size_t len, const lbatch_t *b, int32_t interval, int64_t now_ms);
/* Position of the first batch whose last offset >= offset (size if none), its header in *b. */
int lseg_find(const lseg_t *s, int64_t offset, int64_t *pos, lbatch_t *b);
int lseg_read_hdr(const lseg_t *s, int64_t pos, lbatch_t *b);
/* Cut the segment at a batch boundary and rebuild its indexes from a scan. */
int lseg_truncate(lseg_t *s, int64_t pos, int32_t interval);
/* Add the final time index entry (Kafka does on roll and close). */
void lseg_seal_time(lseg_t *s);
int lseg_flush(lseg_t *s, bool keep_index_open);
bool lseg_index_full(const lseg_t *s, int32_t segment_index_bytes);
void lseg_close(lseg_t *s);
void lseg_delete_files(lseg_t *s); /* closes and unlinks */
int lseg_validate(const lseg_t *s, char *err, size_t errlen);

/* plog.c, used by logmgr.c */
plog_t *plog_open(const char *dir, const char *topic, int32_t partition, const plog_config_t *cfg,
                  bool clean, int64_t recovery_point, int64_t log_start, char *err, size_t errlen);
plog_t *plog_new_empty(const char *dir, const char *topic, int32_t partition, const plog_config_t *cfg,
                       char *err, size_t errlen);
void plog_close(plog_t *l);
/* Add the active segment's final time index entry (before a clean close). */
void plog_seal(plog_t *l);
const char *plog_dir(const plog_t *l);
int64_t plog_recovery_point(const plog_t *l);

/* epoch.c (per-partition leader epoch cache) */
typedef struct lepoch { int32_t epoch; int64_t start; } lepoch_t;
typedef struct lepochs {
    lepoch_t *e;
    size_t n, cap;
} lepochs_t;
int lepochs_load(lepochs_t *c, const char *dir);
int lepochs_write(const lepochs_t *c, const char *dir);
/* Returns 1 if changed. */
int lepochs_assign(lepochs_t *c, int32_t epoch, int64_t start);
int lepochs_truncate_end(lepochs_t *c, int64_t end);     /* drop entries with start >= end */
int lepochs_truncate_start(lepochs_t *c, int64_t start); /* clamp entries below start */
int64_t lepochs_end_offset(const lepochs_t *c, int32_t epoch, int64_t leo, int32_t *found);
void lepochs_free(lepochs_t *c);

/* ckpt.c: Kafka checkpoint files and small file helpers */
typedef struct lckpt_ent {
    char *topic;
    int32_t partition;
    int64_t offset;
} lckpt_ent_t;
/* Write "0\n<n>\n<topic> <p> <offset>\n..." atomically (tmp, fsync, rename, fsync dir). */
int lckpt_write(const char *path, const lckpt_ent_t *e, size_t n);
/* Read; a missing file is 0 entries.  -EINVAL for a malformed file. */
int lckpt_read(const char *path, lckpt_ent_t **e, size_t *n);
void lckpt_free(lckpt_ent_t *e, size_t n);
int64_t lckpt_find(const lckpt_ent_t *e, size_t n, const char *topic, int32_t partition);
/* Write a whole file atomically. */
int lfile_write_atomic(const char *path, const char *data, size_t len);
/* Read a small text file into a NUL-terminated heap buffer (max bytes). */
int lfile_read_small(const char *path, char **out, size_t max);
int lfile_fsync_dir(const char *dir);
int lfile_rm_rf(const char *path);
int lfile_pwrite_all(int fd, const void *buf, size_t len, int64_t pos);
int lfile_pread_all(int fd, void *buf, size_t len, int64_t pos);

#endif
