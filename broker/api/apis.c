/*
 * apis.c - the broker's one API table: it dispatches requests, answers
 * ApiVersions (client APIs only, exactly the ranges clients need: min 0 so
 * librdkafka enables compression and groups, max below each API's first
 * flexible version except ApiVersions v3) and names APIs in logs.
 */
#include <stdint.h>

#include "broker.h"
#include "group/group.h"
#include "proto.h"

const kapi_def_t bk_apis[] = {
    {KAPI_PRODUCE, 0, 7, 9, api_produce, "Produce", false},
    {KAPI_FETCH, 0, 11, 12, api_fetch, "Fetch", false},
    {KAPI_LIST_OFFSETS, 0, 2, 6, api_list_offsets, "ListOffsets", false},
    {KAPI_METADATA, 0, 4, 9, api_metadata, "Metadata", false},
    {KAPI_LEADER_AND_ISR, 3, 3, 4, api_leader_and_isr, "LeaderAndIsr", true},
    {KAPI_STOP_REPLICA, 1, 1, 2, api_stop_replica, "StopReplica", true},
    {KAPI_UPDATE_METADATA, 5, 5, 6, api_update_metadata, "UpdateMetadata", true},
    {KAPI_OFFSET_COMMIT, 0, 7, 8, api_offset_commit, "OffsetCommit", false},
    {KAPI_OFFSET_FETCH, 0, 5, 6, api_offset_fetch, "OffsetFetch", false},
    {KAPI_FIND_COORDINATOR, 0, 2, 3, api_find_coordinator, "FindCoordinator", false},
    {KAPI_JOIN_GROUP, 0, 5, 6, api_join_group, "JoinGroup", false},
    {KAPI_HEARTBEAT, 0, 3, 4, api_heartbeat, "Heartbeat", false},
    {KAPI_LEAVE_GROUP, 0, 1, 4, api_leave_group, "LeaveGroup", false},
    {KAPI_SYNC_GROUP, 0, 3, 4, api_sync_group, "SyncGroup", false},
    {KAPI_DESCRIBE_GROUPS, 0, 4, 5, api_describe_groups, "DescribeGroups", false},
    {KAPI_LIST_GROUPS, 0, 2, 3, api_list_groups, "ListGroups", false},
    {KAPI_API_VERSIONS, 0, 3, 3, NULL, "ApiVersions", false},
    {KAPI_CREATE_TOPICS, 0, 4, 5, api_create_topics, "CreateTopics", false},
    {KAPI_DELETE_TOPICS, 0, 3, 4, api_delete_topics, "DeleteTopics", false},
    {KAPI_OFFSET_FOR_LEADER_EPOCH, 3, 3, 4, api_offset_for_leader_epoch, "OffsetForLeaderEpoch", true},
    {KAPI_DESCRIBE_CONFIGS, 0, 2, 4, api_describe_configs, "DescribeConfigs", false},
    {KAPI_CREATE_PARTITIONS, 0, 1, 2, api_create_partitions, "CreatePartitions", false},
    {KAPI_DELETE_GROUPS, 0, 1, 2, api_delete_groups, "DeleteGroups", false},
    {KAPI_OFFSET_DELETE, 0, 0, INT16_MAX, api_offset_delete, "OffsetDelete", false},
};
const size_t bk_napis = sizeof bk_apis / sizeof bk_apis[0];
