/*
 * log.h - partition log storage with Kafka's on-disk layout.
 *
 *   <log.dir>/<topic>-<partition>/<20-digit base offset>.log        record batches v2, as produced
 *                                 <base>.index                       sparse lastOffset -> position
 *                                 <base>.timeindex                   sparse maxTimestamp -> offset
 *                                 leader-epoch-checkpoint
 *   <log.dir>/meta.properties, recovery-point-offset-checkpoint, log-start-offset-checkpoint,
 *             replication-offset-checkpoint, .kafka_cleanshutdown, .weir_unclean_shutdown
 *
 * A plog_t is one partition's log; a logmgr_t holds every log dir of a broker.
 * Neither is thread-safe: both belong to the broker's network loop thread.
 * Errors: negative errno-style values for I/O, Kafka error codes where stated.
 */
#ifndef WEIR_BROKER_LOG_H
#define WEIR_BROKER_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct plog_config {
    int64_t segment_bytes;        /* segment.bytes, default 1073741824 */
    int64_t segment_ms;           /* segment.ms, default 604800000 */
    int64_t retention_ms;         /* retention.ms, -1 = unlimited, default 604800000 */
    int64_t retention_bytes;      /* retention.bytes, -1 = unlimited */
    int32_t index_interval_bytes; /* index.interval.bytes, default 4096 */
    int32_t segment_index_bytes;  /* segment.index.bytes, default 10485760 (max index file size; roll when full) */
} plog_config_t;
void plog_config_defaults(plog_config_t *c);

typedef struct plog plog_t; /* one partition's log; not thread-safe: owned by the broker's network loop thread */

/* A file range of whole batches to send with sendfile.  fd is owned by the log:
 * the caller must dup() it if it keeps it beyond the next call into the log. */
typedef struct plog_slice {
    int fd;
    int64_t pos;
    int64_t len;
    int64_t first_offset;
} plog_slice_t;

int64_t plog_start_offset(const plog_t *l); /* log start offset */
int64_t plog_end_offset(const plog_t *l);   /* LEO: next offset to assign */
const char *plog_topic(const plog_t *l);
int32_t plog_partition(const plog_t *l);
void plog_set_config(plog_t *l, const plog_config_t *c);

/* Append one batch (the caller has already validated its header and CRC).
 * Rewrites BaseOffset := LEO and PartitionLeaderEpoch := leader_epoch in place
 * in `batch` (CRC unaffected), rolls the segment first if needed (size, time,
 * index full), writes, updates indexes, advances LEO by LastOffsetDelta+1.
 * Returns 0 and *base_offset, or a negative errno-style value on I/O error. */
int plog_append(plog_t *l, uint8_t *batch, size_t len, int32_t leader_epoch, int64_t now_ms, int64_t *base_offset);

/* Read for fetch: the whole batches starting with the batch that contains
 * `offset`, stopping before any batch whose last offset >= max_offset (the
 * high watermark) and (after the first batch) before exceeding max_bytes; the
 * first batch is always included whole (KIP-74) if it is below max_offset.
 * Ranges never span segments.  Returns KERR_NONE (0) with out->len possibly 0
 * (nothing available yet), or KERR_OFFSET_OUT_OF_RANGE (1) if offset < log
 * start or offset > LEO; KERR_KAFKA_STORAGE_ERROR (56) on an I/O error.
 * The result can be put on the wire as the partition's ErrorCode as is. */
int plog_read(plog_t *l, int64_t offset, int64_t max_offset, int64_t max_bytes, plog_slice_t *out);

/* Copy-read of the same range into memory.  Caller frees *buf (NULL when *len
 * is 0).  Same return values, plus KERR_UNKNOWN_SERVER_ERROR (-1) when out of memory. */
int plog_read_copy(plog_t *l, int64_t offset, int64_t max_offset, int64_t max_bytes, uint8_t **buf, size_t *len);

/* ListOffsets by timestamp: the first batch (in offset order, at or after the
 * log start) whose MaxTimestamp >= ts; returns 0 and its base offset / max
 * timestamp, 1 if none, or a negative errno-style value on I/O error. */
int plog_find_time(plog_t *l, int64_t ts, int64_t *batch_base, int64_t *batch_max_ts);

/* Truncate the log so that LEO = offset (drops whole batches at and after it;
 * if offset falls inside a batch, truncates to that batch's base).  Below the
 * first segment the log is emptied and restarts at `offset`. */
int plog_truncate_to(plog_t *l, int64_t offset);
/* Drop everything and start an empty log at `offset` (a follower behind its
 * leader's log start: Kafka's truncateFullyAndStartAt). */
int plog_restart_at(plog_t *l, int64_t offset);
/* Move the log start offset forward (DeleteRecords / retention): deletes
 * whole segments entirely below it.  -EINVAL if offset > LEO. */
int plog_advance_start(plog_t *l, int64_t offset);
/* Retention over closed segments by retention.ms and retention.bytes, oldest
 * first.  Returns the number of segments deleted (or a negative errno). */
int plog_retention(plog_t *l, int64_t now_ms);
/* fsync every segment written since the last flush; returns the recovery point
 * (LEO at the time), or a negative errno-style value. */
int64_t plog_flush(plog_t *l);
/* Leader epoch cache, persisted to leader-epoch-checkpoint. */
int plog_epoch_assign(plog_t *l, int32_t epoch, int64_t start_offset);
int32_t plog_latest_epoch(const plog_t *l); /* -1 if none */
/* OffsetForLeaderEpoch: end offset of `epoch` (start of the next higher epoch,
 * or LEO for the latest); -1 (and *found_epoch -1) if unknown. */
int64_t plog_epoch_end_offset(const plog_t *l, int32_t epoch, int32_t *found_epoch);
/* Invariant checker (tests): 0, or -1 with a message. */
int plog_validate(plog_t *l, char *err, size_t errlen);

typedef struct logmgr logmgr_t; /* all log dirs of a broker */

int logmgr_open(const char *const *dirs, int ndirs, int32_t broker_id, const char *cluster_id,
                const plog_config_t *defaults, logmgr_t **out, char *err, size_t errlen);
plog_t *logmgr_get(logmgr_t *m, const char *topic, int32_t partition);
/* Create (or return existing) partition log, in the dir with the fewest partitions.  NULL on error. */
plog_t *logmgr_create(logmgr_t *m, const char *topic, int32_t partition, const plog_config_t *cfg);
/* Close and delete a partition's files.  -ENOENT if unknown. */
int logmgr_delete(logmgr_t *m, const char *topic, int32_t partition);
void logmgr_foreach(logmgr_t *m, void (*fn)(plog_t *l, void *arg), void *arg);
/* Retention over every partition; returns total segments deleted. */
int logmgr_retention(logmgr_t *m, int64_t now_ms);
/* Flush every log, then write recovery-point and log-start-offset checkpoints. */
int logmgr_checkpoint(logmgr_t *m);
/* Write replication-offset-checkpoint with hw_of(l) per partition (skipped when it returns < 0). */
int logmgr_write_hw_checkpoint(logmgr_t *m, int64_t (*hw_of)(plog_t *l, void *arg), void *arg);
int64_t logmgr_read_hw(logmgr_t *m, const plog_t *l); /* from replication-offset-checkpoint at open; -1 if absent */
/* Unclean-shutdown awareness (R22).  True when some log dir holding
 * partitions lacked the clean-shutdown marker at open, or an earlier unclean
 * start was never acknowledged (.weir_unclean_shutdown, kept across clean
 * restarts): the broker must register as restarted after an unclean
 * shutdown.  A dir created fresh, or holding no partitions, counts as clean. */
bool logmgr_unclean_start(const logmgr_t *m);
/* A controller has seen the unclean registration (it records what it must
 * not elect in ZooKeeper): remove the files; logmgr_unclean_start() is false
 * from now on, also for re-registrations of this process. */
void logmgr_unclean_acknowledged(logmgr_t *m);
/* Close all: flush, checkpoint, and if clean, write the clean-shutdown marker. */
void logmgr_close(logmgr_t *m, bool clean);

#endif
