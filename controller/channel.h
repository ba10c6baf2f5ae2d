/*
 * channel.h - the controller's per-broker request channels.  Each live
 * broker gets a sender thread with a FIFO queue; it sends one request at a
 * time with kclient, reconnecting and retrying the same request every
 * 100 ms until it gets a response or the channel is stopped, so requests to
 * one broker arrive in order.  Responses come back to the event loop
 * through the hub (a mutex-protected list plus event_active).
 */
#ifndef WEIR_CTL_CHANNEL_H
#define WEIR_CTL_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef struct chan_resp {
    int32_t broker;
    uint64_t chan_id; /* which channel incarnation answered */
    uint64_t tag;
    int16_t api_key;
    uint8_t *body; /* response body (malloc; the hub frees it after the callback) */
    size_t len;
} chan_resp_t;

typedef struct chan_hub chan_hub_t;
typedef struct cchan cchan_t;

/* on_resp runs on the loop thread. */
chan_hub_t *chan_hub_new(struct event_base *base, void (*on_resp)(const chan_resp_t *r, void *arg), void *arg);
/* Start a sender thread for broker `id` at host:port. */
cchan_t *chan_start(chan_hub_t *hub, int32_t id, const char *host, int port, const char *client_id,
                    int timeout_ms);
uint64_t chan_id(const cchan_t *c);
int32_t chan_broker(const cchan_t *c);
/* Queue a request; `body` (malloc) is taken over. */
void chan_send(cchan_t *c, int16_t api_key, int16_t ver, uint8_t *body, size_t len, uint64_t tag);
/* Stop: queued requests are dropped, the thread exits at its next chance
 * (after an in-flight call returns) and frees the channel.  Responses it
 * posts afterwards carry a chan_id nobody knows any more. */
void chan_stop(cchan_t *c);

#endif
