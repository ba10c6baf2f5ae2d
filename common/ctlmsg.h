/*
 * ctlmsg.h - controller<->broker messages in Kafka's wire format
 * (non-flexible versions): LeaderAndIsr v3 (key 4), UpdateMetadata v5
 * (key 6), StopReplica v1 (key 5), ControlledShutdown v2 (key 7); and the
 * flexible AlterPartition v1 (key 56).
 *
 * Encoders append the request/response *body* (no header) to a kwr_t.
 * Decoders read the body from a krd_t, allocate the result and return 0, or
 * -1 on any truncated, negative or oversized field (then nothing is left
 * allocated and the output is zeroed).  Bytes after the last field are
 * ignored, as Kafka's own parsers do.
 */
#ifndef WEIR_CTLMSG_H
#define WEIR_CTLMSG_H

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

#define CTL_LAIR_VERSION 3
#define CTL_UM_VERSION 5
#define CTL_STOP_VERSION 1
#define CTL_CS_VERSION 2

typedef struct ctl_part {
    char *topic;
    int32_t partition;
    int32_t controller_epoch, leader, leader_epoch;
    int32_t *isr;
    int nisr;
    int32_t zk_version; /* PartitionEpoch (LeaderAndIsr) / ZkVersion (UpdateMetadata) */
    int32_t *replicas;
    int nreplicas;
    int32_t *offline; /* UpdateMetadata only (OfflineReplicas) */
    int noffline;
    bool is_new; /* LeaderAndIsr only (IsNew) */
} ctl_part_t;

typedef struct ctl_node {
    int32_t id;
    char *host;
    int32_t port;
    char *rack; /* UpdateMetadata only; NULL = null */
} ctl_node_t;

typedef struct ctl_state {
    int32_t controller_id, controller_epoch;
    int64_t broker_epoch;
    ctl_part_t *parts;
    int nparts;
    ctl_node_t *nodes; /* LiveLeaders (LeaderAndIsr) / LiveBrokers (UpdateMetadata) */
    int nnodes;
} ctl_state_t;

/*
 * LeaderAndIsr v3: parts are grouped by topic on the wire (the encoder
 * groups them with topics in name order, keeping the order of parts within a
 * topic; the decoder returns them in wire order).  AddingReplicas
 * and RemovingReplicas are written empty and skipped when read.
 */
void ctl_lair_encode(kwr_t *wr, const ctl_state_t *s);
int ctl_lair_decode(krd_t *rd, ctl_state_t *s);
/*
 * UpdateMetadata v5: each node is written with one endpoint
 * {Port, Host, Listener "PLAINTEXT", SecurityProtocol 0} and its rack.  The
 * decoder takes the endpoint whose listener is "PLAINTEXT", else the first;
 * a broker with no endpoint gets host "" and port -1.
 */
void ctl_um_encode(kwr_t *wr, const ctl_state_t *s);
int ctl_um_decode(krd_t *rd, ctl_state_t *s);
void ctl_state_free(ctl_state_t *s);

/* Responses: LeaderAndIsr v3 {ErrorCode, PartitionErrors[{TopicName, PartitionIndex, ErrorCode}]};
 * UpdateMetadata v5 is just {ErrorCode} (write it with kwr_i16). */
typedef struct ctl_perr {
    char *topic;
    int32_t partition;
    int16_t error;
} ctl_perr_t;
void ctl_lair_resp_encode(kwr_t *wr, int16_t error, const ctl_perr_t *pe, int n);
int ctl_lair_resp_decode(krd_t *rd, int16_t *error, ctl_perr_t **pe, int *n);

/* StopReplica v1: flat list of (topics[i], partitions[i]); grouped by topic on the wire as above. */
typedef struct ctl_stop {
    int32_t controller_id, controller_epoch;
    int64_t broker_epoch;
    bool delete_partitions;
    char **topics;
    int32_t *partitions;
    int n;
} ctl_stop_t;
void ctl_stop_encode(kwr_t *wr, const ctl_stop_t *s);
int ctl_stop_decode(krd_t *rd, ctl_stop_t *s);
void ctl_stop_free(ctl_stop_t *s);
void ctl_stop_resp_encode(kwr_t *wr, int16_t error, const ctl_perr_t *pe, int n);
int ctl_stop_resp_decode(krd_t *rd, int16_t *error, ctl_perr_t **pe, int *n);
void ctl_perr_free(ctl_perr_t *pe, int n);

/*
 * ControlledShutdown v2 (broker -> controller): request {BrokerId, BrokerEpoch};
 * response {ErrorCode, RemainingPartitions[{TopicName, PartitionIndex}]}
 * (the .error of each ctl_perr_t is unused and decoded as 0).
 */
void ctl_cs_encode(kwr_t *wr, int32_t broker_id, int64_t broker_epoch);
int ctl_cs_decode(krd_t *rd, int32_t *broker_id, int64_t *broker_epoch);
void ctl_cs_resp_encode(kwr_t *wr, int16_t error, const ctl_perr_t *remaining, int n);
int ctl_cs_resp_decode(krd_t *rd, int16_t *error, ctl_perr_t **remaining, int *n);

/*
 * AlterPartition v1 (key 56, broker -> controller, flexible): compact
 * arrays and strings, an empty tag section after every struct.
 * Request: BrokerId, BrokerEpoch, Topics[TopicName, Partitions[
 * PartitionIndex, LeaderEpoch, NewIsr, LeaderRecoveryState=0, PartitionEpoch]].
 * Response: ThrottleTimeMs 0, ErrorCode, Topics[TopicName, Partitions[
 * PartitionIndex, ErrorCode, LeaderId, LeaderEpoch, Isr, LeaderRecoveryState 0,
 * PartitionEpoch]].  parts are grouped by topic on the wire (topics in name
 * order, like LeaderAndIsr); decoders return them in wire order.  A request
 * decodes error = 0 and leader = -1; a response decodes broker_id = -1 and
 * broker_epoch = -1.
 */
#define CTL_AP_VERSION 1
typedef struct ctl_ap_part { char *topic; int32_t partition; int32_t leader_epoch; int32_t *isr; int nisr; int32_t partition_epoch; int16_t error; int32_t leader; } ctl_ap_part_t;
typedef struct ctl_ap { int32_t broker_id; int64_t broker_epoch; int16_t error; ctl_ap_part_t *parts; int n; } ctl_ap_t;
void ctl_ap_encode(kwr_t *wr, const ctl_ap_t *r);
int ctl_ap_decode(krd_t *rd, ctl_ap_t *r);
void ctl_ap_resp_encode(kwr_t *wr, const ctl_ap_t *r);
int ctl_ap_resp_decode(krd_t *rd, ctl_ap_t *r);
void ctl_ap_free(ctl_ap_t *r);

#endif
