/*
 * kserver.h - the Kafka-protocol network server both daemons use:
 * a libevent listener, size-capped framing, request-header parsing,
 * dispatch through one API table, and responses that leave each connection
 * in request order even when handlers answer out of order (long-poll fetch,
 * acks=all produce, forwarded admin requests).
 *
 * All callbacks run on the owning event_base's thread.
 */
#ifndef WEIR_KSERVER_H
#define WEIR_KSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct event_base;
struct evbuffer;
struct kconn;

typedef struct kreq {
    struct kconn *conn;
    struct kreq *next;           /* connection's in-order queue */
    int16_t api_key, api_version;
    int32_t correlation_id;
    kstr_t client_id;
    bool flexible;               /* request header v2 / response header v1 */
    krd_t rd;                    /* positioned at the start of the body */
    const uint8_t *frame;        /* header+body, valid until responded */
    size_t frame_len;
    char peer[64];
    int64_t received_ms;         /* monotonic arrival time */
    /* private */
    struct evbuffer *resp;
    bool done;
    bool no_response;
} kreq_t;

typedef struct kapi_def {
    int16_t key;
    int16_t min, max;
    int16_t flex_min;            /* first flexible version; INT16_MAX = never */
    void (*handler)(kreq_t *req, void *ctx);
    const char *name;
    bool internal;               /* controller<->broker API: not advertised to clients */
} kapi_def_t;

/* Respond with a body built in `body` (copied; the caller keeps the writer). */
void kreq_respond(kreq_t *req, const kwr_t *body);
/* Respond with an evbuffer body (moved out of `body`; may hold file segments). */
void kreq_respond_evb(kreq_t *req, struct evbuffer *body);
/* No response at all (acks=0 produce). */
void kreq_respond_none(kreq_t *req);
/* Log "closing connection from PEER: why" and close the connection. */
void kreq_close(kreq_t *req, const char *why);
/* True if the client has gone away (a waiting handler may answer early). */
bool kreq_conn_closed(const kreq_t *req);

typedef struct kserver kserver_t;
kserver_t *kserver_new(struct event_base *base, const char *host, int port, size_t max_frame,
                       const kapi_def_t *apis, size_t napis, void *ctx, char *err, size_t errlen);
/* The port actually bound (useful with port 0). */
int kserver_port(const kserver_t *s);
/* Stop accepting and close every connection. */
void kserver_free(kserver_t *s);
/* Look up an API definition in a table (NULL if absent). */
const kapi_def_t *kapi_find(const kapi_def_t *apis, size_t napis, int16_t key);
/* Encode the ApiVersions response body for `version` from the table. */
void kapi_versions_body(kwr_t *wr, const kapi_def_t *apis, size_t napis, int16_t version, int16_t error);

#endif
