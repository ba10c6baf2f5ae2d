/*
 * zkc.h - ZooKeeper client wrapper over libzookeeper_mt's synchronous API,
 * plus the queue that carries watch events from ZooKeeper's thread to a
 * libevent loop.
 *
 * All zkc_* calls return ZooKeeper's codes (ZOK, ZNONODE, ZNODEEXISTS,
 * ZCONNECTIONLOSS, ...).  Paths are relative to the chroot given at open.
 * Session expiry is final for a handle: on ZOO_EXPIRED_SESSION_STATE the
 * owner closes it and opens a new one (passing the old zkc_session_id() as
 * prev_session when re-registering ephemerals).
 */
#ifndef WEIR_ZKC_H
#define WEIR_ZKC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
/* The synchronous API (zoo_get, zoo_multi, ...) is declared only for the
 * multi-threaded library; include this header before zookeeper.h. */
#ifndef THREADED
#define THREADED
#endif
#include <zookeeper/zookeeper.h>

struct event_base;

typedef struct zkc zkc_t;

/* Watcher callback: runs on libzookeeper's thread; must only enqueue (see zkc_evq).
 * type/state are ZOO_*_EVENT / ZOO_*_STATE; path relative to the chroot ("" for session events).
 * Session events come here too, starting with CONNECTED before zkc_open returns. */
typedef void (*zkc_watch_fn)(void *arg, int type, int state, const char *path);

/* connect = "host:port[,host:port...][/chroot]".  A missing chroot is created
 * (persistent, empty, recursively) through a first connection without it.
 * Waits up to session_timeout_ms for CONNECTED.  NULL + err on failure. */
zkc_t *zkc_open(const char *connect, int session_timeout_ms, zkc_watch_fn fn, void *arg, char *err, size_t errlen);
void zkc_close(zkc_t *z);
zhandle_t *zkc_handle(zkc_t *z);
int64_t zkc_session_id(zkc_t *z);
/* Persistent, like mkdir -p; ZOK if it exists. */
int zkc_mkdirs(zkc_t *z, const char *path);
/* Data as a NUL-terminated malloc copy in *data (NULL for empty/null data; data
 * itself may be NULL).  watch sets a data watch.  st may be NULL. */
int zkc_get(zkc_t *z, const char *path, bool watch, char **data, struct Stat *st);
/* Children names (malloc'd; free with zkc_free_names).  watch sets a child watch. */
int zkc_children(zkc_t *z, const char *path, bool watch, char ***names, int *count);
void zkc_free_names(char **names, int count);
/* watch sets an exists watch (fires on create too).  st may be NULL. */
int zkc_exists(zkc_t *z, const char *path, bool watch, struct Stat *st);
/* Get-or-create /cluster/id ({"version":"1","id":"<22-char base64url uuid>"}).
 * Losing a create race reads the winner's.  A malformed existing znode is ZMARSHALLINGERROR. */
int zkc_cluster_id(zkc_t *z, char id[23]);
/* Kafka's CheckedEphemeral: create ephemeral `path` with data; on NODEEXISTS
 * read ephemeralOwner: ours -> ZOK; prev_session (non-zero) -> delete and
 * recreate; otherwise ZNODEEXISTS ("in use").  *czxid (may be NULL) receives
 * the node's czxid (the broker epoch).  Retries connection loss within the
 * session timeout. */
int zkc_create_ephemeral(zkc_t *z, const char *path, const char *data, int64_t prev_session, int64_t *czxid);

/* 16 random bytes as unpadded base64url (22 chars + NUL), like Kafka's Uuid.  0 or -1. */
int zkc_random_uuid(char out[23]);

/*
 * Event queue from ZooKeeper's thread to a libevent loop.  push is
 * thread-safe and wakes the loop through an eventfd, so it works whether or
 * not libevent's threading support is enabled; on_event runs on the loop
 * thread, once per pushed event, in push order.  Free on the loop thread
 * after the zkc_t that pushes into it is closed.
 */
typedef struct zkc_evq zkc_evq_t;
typedef struct zkc_ev {
    int type;
    int state;
    char path[256];
} zkc_ev_t;
zkc_evq_t *zkc_evq_new(struct event_base *base, void (*on_event)(const zkc_ev_t *ev, void *arg), void *arg);
void zkc_evq_push(zkc_evq_t *q, int type, int state, const char *path);
void zkc_evq_free(zkc_evq_t *q);

#endif
