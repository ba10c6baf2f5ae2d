/*
 * znode.h - JSON of every znode Weir reads or writes, in Kafka's formats
 * (reference/control-plane.md section 1), so ZooKeeper tools and Kafka
 * operators' habits carry over.
 *
 * Encoders return a malloc'd NUL-terminated string (caller frees) or NULL on
 * out-of-memory.  Decoders take a NUL-terminated string and return 0, or -1
 * on malformed JSON, missing fields, wrong types or out-of-range numbers; on
 * -1 the output holds nothing that needs freeing.
 */
#ifndef WEIR_ZNODE_H
#define WEIR_ZNODE_H

#include <stdbool.h>
#include <stdint.h>

/* /brokers/ids/<id> (v5).  Endpoints are "LISTENER://host:port". */
typedef struct zn_endpoint {
    char listener[32];
    char host[256];
    int32_t port;
} zn_endpoint_t;

typedef struct zn_broker {
    int32_t id;
    zn_endpoint_t ep[4];
    int nep;
    char rack[64]; /* "" = no rack (JSON null) */
    int64_t timestamp;
    /* Weir's field (R22): this broker process started without the
     * clean-shutdown marker in some log dir holding partitions, so records
     * it acknowledged before the crash may be missing from its logs. */
    bool unclean_shutdown;
} zn_broker_t;

/* {"version":5,"host","port","jmx_port":-1,"timestamp":"ms","endpoints":[...],
 *  "listener_security_protocol_map":{...},"rack":...|null,"features":{}
 *  [,"unclean_shutdown":true]} - the last only when set; Kafka's parser
 * ignores fields it does not know.  The decoder accepts it absent, true or
 * false, and refuses any other type. */
char *zn_broker_encode(const zn_broker_t *b);
/* id comes from the znode's name; also accepts v1-v4 (host/port only). */
int zn_broker_decode(const char *json, int32_t id, zn_broker_t *b);

/* /controller: Kafka's v2 plus the controller's own listener. */
typedef struct zn_controller {
    int32_t id;
    int64_t timestamp;
    char host[256]; /* "" and port -1 when absent (a znode written by Kafka) */
    int32_t port;
} zn_controller_t;
/* {"version":2,"brokerid","timestamp":"ms","kraftControllerEpoch":-1,"host","port"}; host/port omitted when host is "". */
char *zn_controller_encode(const zn_controller_t *c);
int zn_controller_decode(const char *json, zn_controller_t *c);

/* /brokers/topics/<t>: replicas[p][0..nreplicas[p]-1], head = preferred leader. */
typedef struct zn_assignment {
    int32_t nparts;
    int32_t *nreplicas;
    int32_t **replicas;
    char topic_id[23]; /* "" when absent (v1/v2 znodes) */
    /* A reassignment in progress (Kafka's adding_replicas/removing_replicas,
     * KIP-455): NULL when no partition has any; otherwise nparts entries,
     * nadding[p] == 0 (adding[p] NULL) for a partition with none. */
    int32_t *nadding, **adding;
    int32_t *nremoving, **removing;
} zn_assignment_t;
char *zn_assignment_encode(const zn_assignment_t *a);
/* Partition keys must be exactly "0".."n-1"; each list non-empty, ids >= 0, no duplicates. */
int zn_assignment_decode(const char *json, zn_assignment_t *a);
void zn_assignment_free(zn_assignment_t *a);
/* Set partition p's adding (which = 0) or removing (which = 1) list,
 * allocating the per-partition arrays on first use; the list is copied.
 * 0, or -1 when out of memory. */
int zn_assignment_set_moving(zn_assignment_t *a, int which, int32_t p, const int32_t *ids, int32_t n);

/* /admin/reassign_partitions and /admin/preferred_replica_election:
 * {"version":1,"partitions":[{"topic":"t","partition":0[,"replicas":[1,2]]},...]} */
typedef struct zn_tpr {
    char *topic;
    int32_t partition;
    int32_t *replicas; /* reassignment only */
    int32_t nreplicas;
} zn_tpr_t;
/* with_replicas: every entry must carry a non-empty, duplicate-free list of
 * ids >= 0.  A (topic, partition) listed twice is malformed (Kafka refuses it too). */
int zn_tplist_decode(const char *json, int with_replicas, zn_tpr_t **out, int *n);
char *zn_tplist_encode(const zn_tpr_t *l, int n, int with_replicas);
void zn_tplist_free(zn_tpr_t *l, int n);

/* /brokers/topics/<t>/partitions/<p>/state */
#define ZN_MAX_ISR 64
typedef struct zn_pstate {
    int32_t controller_epoch, leader, leader_epoch;
    int32_t isr[ZN_MAX_ISR];
    int nisr;
    /* Weir's field (R22), "unclean_shutdown_blocked":true only when set: the
     * partition has no leader and its only ISR member restarted after an
     * unclean shutdown; the controller will not elect it until an operator
     * asks for an unclean election.  Absent, true or false when decoding;
     * any other type is refused. */
    bool unclean_blocked;
} zn_pstate_t;
char *zn_pstate_encode(const zn_pstate_t *s);
int zn_pstate_decode(const char *json, zn_pstate_t *s);

/* /config/topics/<t>, /config/brokers/<id>: {"version":1,"config":{"k":"v",...}} */
typedef struct zn_kv {
    char *key;
    char *value;
} zn_kv_t;
char *zn_config_encode(const zn_kv_t *kv, int n);
/* Values must be JSON strings.  *kv is malloc'd (NULL when n == 0). */
int zn_config_decode(const char *json, zn_kv_t **kv, int *n);
void zn_kv_free(zn_kv_t *kv, int n);

/* /cluster/id: {"version":"1","id":"<22-char base64url>"} (version is a string). */
char *zn_cluster_id_encode(const char *id);
int zn_cluster_id_decode(const char *json, char id[23]);

#endif
