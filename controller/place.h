/*
 * place.h - replica placement for new topics and partitions, Kafka's
 * AdminUtils.assignReplicasToBrokers, and validation of explicit assignments.
 * Pure functions: no I/O, no globals (randomness only when asked for).
 */
#ifndef WEIR_CTL_PLACE_H
#define WEIR_CTL_PLACE_H

#include <stddef.h>
#include <stdint.h>

typedef struct place_broker {
    int32_t id;
    const char *rack; /* NULL or "" = no rack */
} place_broker_t;

/*
 * Assign `nparts` partitions with `rf` replicas each, numbering them from
 * `first_part` (0 for a new topic, the current count when adding).  Brokers
 * may come in any order (sorted by id here, as Kafka does).  `start_index`
 * and `shift` < 0 mean random.  Racks are used only when every broker has
 * one; some but not all → error.  out[p * rf + j] receives replica j of
 * partition first_part + p.  Returns 0, or a Kafka error code
 * (INVALID_REPLICATION_FACTOR, INVALID_PARTITIONS, INVALID_REPLICA_ASSIGNMENT)
 * with a message in err.
 */
int place_assign(const place_broker_t *brokers, int nbrokers, int32_t nparts, int32_t rf,
                 int32_t first_part, int32_t start_index, int32_t shift, int32_t *out, char *err,
                 size_t errlen);

/*
 * Validate an explicit assignment: every list non-empty, no duplicate broker
 * within a list, all lists the same length, every broker in `live` (or any
 * broker id >= 0 when live is NULL).  Returns 0 or INVALID_REPLICA_ASSIGNMENT
 * with a message.
 */
int place_validate(int32_t nparts, const int32_t *const *replicas, const int32_t *nreplicas,
                   const int32_t *live, int nlive, char *err, size_t errlen);

#endif
