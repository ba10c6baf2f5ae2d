/*
 * admin_int.h - shared by the controller's admin request handlers
 * (admin.c, create.c, partitions.c): waiting requests and common checks.
 * Thread: the controller's event loop only.
 */
#ifndef WEIR_CTL_ADMIN_INT_H
#define WEIR_CTL_ADMIN_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "controller/ctl.h"
#include "controller/place.h"

typedef struct pend_topic {
    char *name;
    int16_t err;
    char *msg;        /* ErrorMessage (NULL = null) */
    uint64_t *tags;   /* LeaderAndIsr acknowledgements still awaited (0 = done) */
    int ntags;
    bool wait_gone;   /* DeleteTopics: until the topic has left the model */
} pend_topic_t;

typedef struct pend {
    struct pend *next;
    ctl_t *c;
    kreq_t *req;
    int16_t api, ver;
    pend_topic_t *t; /* one per topic of the request, in request order */
    int n;
    struct event *timer;
} pend_t;

/* A request's results; answer with pend_arm (now, or later when linked into c->pending). */
pend_t *pend_new(ctl_t *c, kreq_t *req, int n);
void pend_set(pend_topic_t *t, int16_t err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Keep the non-zero tags (one per live broker from ps_propagate). */
void pend_add_tags(pend_topic_t *t, const uint64_t *tags, int n);
/* Answer now if nothing is awaited or timeout_ms <= 0, else at the timeout. */
void pend_arm(pend_t *pd, int32_t timeout_ms);
void admin_mark_duplicates(pend_t *pd, const char *what);
int32_t *admin_live_ids(const ctl_t *c);          /* malloc'd, c->m.nbrokers entries */
place_broker_t *admin_live_place(const ctl_t *c); /* malloc'd; racks point into the model */

void admin_create_topics(kreq_t *req, void *ctx);
void admin_create_partitions(kreq_t *req, void *ctx);
/* Validation of CreateTopics input (create.c); 0 or a Kafka error with msg. */
int admin_check_topic_name(const char *name, char *msg, size_t len);
int admin_check_config(const char *key, const char *value, char *msg, size_t len);

#endif
