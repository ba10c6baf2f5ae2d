/*
 * group.c - Kafka's consumer-group state machine (GroupCoordinator /
 * GroupMetadata): JoinGroup, SyncGroup, Heartbeat, LeaveGroup, the
 * validation of offset commits, member expiry and the group metadata
 * record.
 *
 *   Empty -> PreparingRebalance -> CompletingRebalance -> Stable
 *              ^------------- any membership change ---------'
 *   any -> Dead (deleted, expired, unloaded)
 *
 * PreparingRebalance holds every JoinGroup until each known member has
 * rejoined (and no MEMBER_ID_REQUIRED id is outstanding) or the rebalance
 * timeout passes; a group leaving Empty first waits
 * group.initial.rebalance.delay.ms, again while new members keep coming,
 * within the rebalance timeout.  Completion drops dynamic members that did
 * not rejoin, keeps or re-elects the leader, bumps the generation, picks the
 * protocol by vote and answers every held join (the member list to the
 * leader only).  CompletingRebalance holds SyncGroups until the leader's
 * assignment is written; then everyone gets its bytes and the group is
 * Stable.  Members that do not sync within the rebalance timeout, or stop
 * heartbeating for their session timeout, are removed.  A static member
 * (group.instance.id) that rejoins with a new member id takes over the old
 * one, which is fenced; in Stable with an unchanged protocol it gets its
 * assignment back without a rebalance.
 *
 * Invariants (gstore_validate): Empty and Dead groups have no members; the
 * leader is one of the members (NULL only when there are none); held syncs
 * exist only in CompletingRebalance; held joins only in PreparingRebalance,
 * or in Stable while a static member's takeover is being written.
 * Thread: the network loop.
 */
#define GROUP_INTERNAL
#include "group/group.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "proto.h"
#include "util.h"
#include "wlog.h"

/* Kafka's GroupCoordinator.NewMemberJoinTimeoutMs: a new member whose
 * JoinGroup is held this long is dropped (it retries if still alive). */
#define NEW_MEMBER_JOIN_TIMEOUT_MS 300000

static const char *const STATE_NAMES[] = {"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"};

const char *gstate_name(enum gstate st)
{
    return (size_t)st < ARRAY_LEN(STATE_NAMES) ? STATE_NAMES[st] : "Unknown";
}

/* ---- transitions ---- */

static bool valid_previous(enum gstate from, enum gstate to)
{
    switch (to) {
    case GS_DEAD:
        return true;
    case GS_EMPTY:
        return from == GS_PREPARING_REBALANCE;
    case GS_PREPARING_REBALANCE:
        return from == GS_STABLE || from == GS_COMPLETING_REBALANCE || from == GS_EMPTY;
    case GS_COMPLETING_REBALANCE:
        return from == GS_PREPARING_REBALANCE;
    case GS_STABLE:
        return from == GS_COMPLETING_REBALANCE;
    }
    return false;
}

void group_transition(group_t *g, enum gstate to, const char *reason)
{
    if (!valid_previous(g->state, to))
        wlog_error("group %s: invalid transition %s -> %s (%s)", g->id, gstate_name(g->state), gstate_name(to),
                   reason);
    else
        wlog_info("group %s: %s -> %s in generation %d (%s)", g->id, gstate_name(g->state), gstate_name(to),
                  g->generation, reason);
    g->state = to;
    g->state_ts = gs_now(g->s);
}

/* ---- members ---- */

static gmember_t *member_find(const group_t *g, const char *id)
{
    for (gmember_t *m = g->members; m; m = m->next)
        if (strcmp(m->member_id, id) == 0)
            return m;
    return NULL;
}

static gmember_t *member_by_instance(const group_t *g, const char *instance_id)
{
    for (gmember_t *m = g->members; m; m = m->next)
        if (m->instance_id && strcmp(m->instance_id, instance_id) == 0)
            return m;
    return NULL;
}

static bool is_leader(const group_t *g, const gmember_t *m)
{
    return g->leader && strcmp(g->leader, m->member_id) == 0;
}

static void set_leader(group_t *g, const char *id)
{
    char *l = id ? gs_strdup(id) : NULL;
    free(g->leader);
    g->leader = l;
}

static void protos_free(gproto_t *p, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].metadata);
    }
    free(p);
}

static gproto_t *protos_copy(const gproto_t *src, int32_t n)
{
    gproto_t *p = gs_alloc(sizeof *p * (size_t)(n > 0 ? n : 1));
    for (int32_t i = 0; i < n; i++) {
        p[i].name = gs_strdup(src[i].name);
        p[i].metadata_len = src[i].metadata_len > 0 ? src[i].metadata_len : 0;
        p[i].metadata = gs_alloc((size_t)p[i].metadata_len + 1);
        if (p[i].metadata_len)
            memcpy(p[i].metadata, src[i].metadata, (size_t)p[i].metadata_len);
    }
    return p;
}

const gproto_t *gmember_proto(const gmember_t *m, const char *name)
{
    for (int32_t i = 0; name && i < m->nprotos; i++)
        if (strcmp(m->protos[i].name, name) == 0)
            return &m->protos[i];
    return NULL;
}

/* Same protocols, same metadata, same order (Kafka's MemberMetadata.matches). */
static bool protos_match(const gmember_t *m, const gproto_t *p, int32_t n)
{
    if (m->nprotos != n)
        return false;
    for (int32_t i = 0; i < n; i++) {
        int32_t len = p[i].metadata_len > 0 ? p[i].metadata_len : 0;
        if (strcmp(m->protos[i].name, p[i].name) != 0 || m->protos[i].metadata_len != len ||
            (len && memcmp(m->protos[i].metadata, p[i].metadata, (size_t)len) != 0))
            return false;
    }
    return true;
}

void group_free_member(gmember_t *m)
{
    free(m->member_id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    protos_free(m->protos, m->nprotos);
    free(m->assignment);
    free(m);
}

static void set_assignment(gmember_t *m, const uint8_t *p, int32_t len)
{
    uint8_t *a = NULL;
    if (len > 0) {
        a = gs_alloc((size_t)len);
        memcpy(a, p, (size_t)len);
    }
    free(m->assignment);
    m->assignment = a;
    m->assignment_len = len > 0 ? len : 0;
}

static void schedule_session(group_t *g, gmember_t *m) { m->deadline = gs_now(g->s) + m->session_timeout; }

/* Kafka's MemberMetadata.hasSatisfiedHeartbeat: a member waiting in a held
 * join or sync is alive by definition, unless it is new. */
static bool heartbeat_satisfied(const gmember_t *m) { return !m->is_new && (m->join_cb || m->sync_cb); }

static int32_t rebalance_timeout(const group_t *g)
{
    int32_t t = 0;
    for (const gmember_t *m = g->members; m; m = m->next)
        if (m->rebalance_timeout > t)
            t = m->rebalance_timeout;
    return t;
}

/* ---- held answers ---- */

static void join_reply(gjoin_cb cb, void *arg, int16_t err, const char *member_id)
{
    gjoin_result_t r = {err, -1, "", "", member_id ? member_id : "", NULL, 0};
    cb(arg, &r);
}

static void answer_join(gmember_t *m, const gjoin_result_t *r)
{
    gjoin_cb cb = m->join_cb;
    m->join_cb = NULL;
    if (cb)
        cb(m->join_arg, r);
}

static void answer_join_err(gmember_t *m, int16_t err, const char *member_id)
{
    gjoin_cb cb = m->join_cb;
    m->join_cb = NULL;
    if (cb)
        join_reply(cb, m->join_arg, err, member_id);
}

static void answer_sync(gmember_t *m, int16_t err, const uint8_t *a, int32_t len)
{
    gsync_cb cb = m->sync_cb;
    m->sync_cb = NULL;
    if (cb)
        cb(m->sync_arg, err, err ? NULL : a, err ? 0 : len);
}

void group_answer_held(group_t *g, int16_t err)
{
    for (gmember_t *m = g->members; m; m = m->next) {
        answer_join_err(m, err, m->member_id);
        answer_sync(m, err, NULL, 0);
    }
}

/* A JoinGroup that answers the member's earlier one, still held, gets
 * REBALANCE_IN_PROGRESS for the old one (its client has moved on). */
static void hold_join(gmember_t *m, gjoin_cb cb, void *arg)
{
    answer_join_err(m, KERR_REBALANCE_IN_PROGRESS, m->member_id);
    m->join_cb = cb;
    m->join_arg = arg;
}

/* ---- protocols ---- */

static bool supported_by_all(const group_t *g, const char *name)
{
    for (const gmember_t *m = g->members; m; m = m->next)
        if (!gmember_proto(m, name))
            return false;
    return true;
}

/* Kafka's GroupMetadata.supportsProtocols. */
static bool supports_protocols(const group_t *g, const char *type, const gproto_t *p, int32_t n)
{
    if (g->state == GS_EMPTY)
        return type[0] && n > 0;
    if (!g->protocol_type || strcmp(g->protocol_type, type) != 0)
        return false;
    for (int32_t i = 0; i < n; i++)
        if (supported_by_all(g, p[i].name))
            return true;
    return false;
}

/* A member's vote: its first protocol that every member supports. */
static const char *vote(const group_t *g, const gmember_t *m)
{
    for (int32_t i = 0; i < m->nprotos; i++)
        if (supported_by_all(g, m->protos[i].name))
            return m->protos[i].name;
    return NULL;
}

/* Most votes wins; a tie goes to the earliest member's vote. */
static const char *select_protocol(const group_t *g)
{
    const char *best = NULL;
    int32_t best_votes = 0;
    for (const gmember_t *m = g->members; m; m = m->next) {
        const char *v = vote(g, m);
        int32_t votes = 0;
        for (const gmember_t *o = g->members; o && v; o = o->next) {
            const char *ov = vote(g, o);
            votes += ov && strcmp(ov, v) == 0;
        }
        if (v && votes > best_votes) {
            best = v;
            best_votes = votes;
        }
    }
    return best;
}

/* ---- membership ---- */

static void member_unlink(group_t *g, gmember_t *m)
{
    for (gmember_t **pp = &g->members; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            g->nmembers--;
            return;
        }
}

/* Kafka's GroupMetadata.remove, answering what the member still holds. */
static void remove_member(group_t *g, gmember_t *m)
{
    member_unlink(g, m);
    if (is_leader(g, m))
        set_leader(g, g->members ? g->members->member_id : NULL);
    answer_join_err(m, KERR_UNKNOWN_MEMBER_ID, "");
    answer_sync(m, KERR_UNKNOWN_MEMBER_ID, NULL, 0);
    group_free_member(m);
}

static bool pending_remove(group_t *g, const char *id)
{
    for (gpending_t **pp = &g->pending; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->member_id, id) == 0) {
            gpending_t *p = *pp;
            *pp = p->next;
            free(p->member_id);
            free(p);
            g->npending--;
            return true;
        }
    return false;
}

static bool pending_has(const group_t *g, const char *id)
{
    for (const gpending_t *p = g->pending; p; p = p->next)
        if (strcmp(p->member_id, id) == 0)
            return true;
    return false;
}

static void pending_add(group_t *g, const char *id, int64_t deadline)
{
    gpending_t *p = gs_alloc(sizeof *p);
    p->member_id = gs_strdup(id);
    p->deadline = deadline;
    p->next = g->pending;
    g->pending = p;
    g->npending++;
}

static int32_t awaiting_join(const group_t *g)
{
    int32_t n = 0;
    for (const gmember_t *m = g->members; m; m = m->next)
        n += m->join_cb != NULL;
    return n;
}

static bool all_joined(const group_t *g) { return g->npending == 0 && awaiting_join(g) == g->nmembers; }

/* Kafka's validateCurrentMember. */
static int16_t validate_member(const group_t *g, const char *member_id, const char *instance_id)
{
    if (instance_id) {
        const gmember_t *m = member_by_instance(g, instance_id);
        if (!m)
            return KERR_UNKNOWN_MEMBER_ID;
        return strcmp(m->member_id, member_id) == 0 ? KERR_NONE : KERR_FENCED_INSTANCE_ID;
    }
    return member_find(g, member_id) ? KERR_NONE : KERR_UNKNOWN_MEMBER_ID;
}

/* ---- rebalance ---- */

static void complete_join(group_t *g);

/* Kafka's resetAndPropagateAssignmentError: a member answered starts a
 * fresh session (its held sync kept it alive until now). */
static void reset_assignments(group_t *g, int16_t err)
{
    for (gmember_t *m = g->members; m; m = m->next) {
        set_assignment(m, NULL, 0);
        if (m->sync_cb) {
            answer_sync(m, err, NULL, 0);
            schedule_session(g, m);
        }
    }
}

static void try_complete_join(group_t *g)
{
    if (g->state == GS_PREPARING_REBALANCE && !g->initial_delay && all_joined(g))
        complete_join(g);
}

static void prepare_rebalance(group_t *g, const char *reason)
{
    if (g->state == GS_COMPLETING_REBALANCE)
        reset_assignments(g, KERR_REBALANCE_IN_PROGRESS);
    g->sync_deadline = -1;
    int64_t now = gs_now(g->s);
    g->initial_delay = g->state == GS_EMPTY;
    if (g->initial_delay) {
        int64_t delay = g->s->conf.initial_delay;
        g->new_member_added = false;
        g->delay_ms = delay;
        g->delay_remaining = rebalance_timeout(g) - delay > 0 ? rebalance_timeout(g) - delay : 0;
        g->join_deadline = now + delay;
    } else {
        g->join_deadline = now + rebalance_timeout(g);
    }
    group_transition(g, GS_PREPARING_REBALANCE, reason);
    try_complete_join(g);
}

static void maybe_prepare_rebalance(group_t *g, const char *reason)
{
    if (g->state == GS_STABLE || g->state == GS_COMPLETING_REBALANCE || g->state == GS_EMPTY)
        prepare_rebalance(g, reason);
}

static void remove_member_and_update(group_t *g, gmember_t *m, const char *reason)
{
    remove_member(g, m);
    if (g->state == GS_STABLE || g->state == GS_COMPLETING_REBALANCE)
        maybe_prepare_rebalance(g, reason);
    else if (g->state == GS_PREPARING_REBALANCE)
        try_complete_join(g);
}

/* Keep the leader if it rejoined, else the first member that did. */
static bool elect_joined_leader(group_t *g)
{
    if (!g->leader)
        return false;
    const gmember_t *l = member_find(g, g->leader);
    if (l && l->join_cb)
        return true;
    for (const gmember_t *m = g->members; m; m = m->next)
        if (m->join_cb) {
            set_leader(g, m->member_id);
            return true;
        }
    return false;
}

static void init_next_generation(group_t *g)
{
    g->generation++;
    free(g->protocol);
    const char *chosen = g->nmembers > 0 ? select_protocol(g) : NULL;
    g->protocol = chosen ? gs_strdup(chosen) : NULL;
    group_compute_subscribed(g);
    for (gmember_t *m = g->members; m; m = m->next)
        m->pending_sync = false;
    if (g->nmembers > 0)
        group_transition(g, GS_COMPLETING_REBALANCE, "join completed");
    else
        group_transition(g, GS_EMPTY, "no members left");
}

static void answer_joins(group_t *g)
{
    gjoin_member_t *list = gs_alloc(sizeof *list * (size_t)(g->nmembers + 1));
    int32_t n = 0;
    for (const gmember_t *m = g->members; m; m = m->next, n++) {
        const gproto_t *p = gmember_proto(m, g->protocol);
        list[n] = (gjoin_member_t){m->member_id, m->instance_id, p ? p->metadata : NULL, p ? p->metadata_len : 0};
    }
    for (gmember_t *m = g->members; m; m = m->next) {
        bool leader = is_leader(g, m);
        gjoin_result_t r = {KERR_NONE,        g->generation, g->protocol,        g->leader,
                            m->member_id, leader ? list : NULL, leader ? n : 0};
        answer_join(m, &r);
        schedule_session(g, m);
        m->is_new = false;
        m->pending_sync = true;
    }
    free(list);
}

/* Kafka's onCompleteJoin. */
static void complete_join(group_t *g)
{
    g->initial_delay = false;
    for (gmember_t *m = g->members, *next; m; m = next) {
        next = m->next;
        if (!m->join_cb && !m->instance_id) {
            wlog_info("group %s: removing member %s, which did not rejoin", g->id, m->member_id);
            remove_member(g, m);
        }
    }
    if (g->nmembers > 0 && !elect_joined_leader(g)) {
        wlog_warn("group %s: cannot complete the rebalance: no member rejoined", g->id);
        g->join_deadline = gs_now(g->s) + rebalance_timeout(g);
        return;
    }
    init_next_generation(g);
    if (g->state == GS_EMPTY) {
        group_store(g, gop_new(g, GOP_LOG));
        return;
    }
    answer_joins(g);
    g->sync_deadline = gs_now(g->s) + rebalance_timeout(g);
}

/* ---- deadlines ---- */

static void on_join_deadline(group_t *g, int64_t now)
{
    if (g->initial_delay && g->new_member_added && g->delay_remaining != 0) {
        int64_t delay = g->s->conf.initial_delay < g->delay_remaining ? g->s->conf.initial_delay : g->delay_remaining;
        g->new_member_added = false;
        g->delay_remaining = g->delay_remaining - g->delay_ms > 0 ? g->delay_remaining - g->delay_ms : 0;
        g->delay_ms = delay;
        g->join_deadline = now + delay;
        return;
    }
    complete_join(g);
}

/* Kafka's onExpirePendingSync: members that got their join answer but
 * did not sync within the rebalance timeout leave. */
static void on_sync_deadline(group_t *g)
{
    g->sync_deadline = -1;
    if (g->state != GS_COMPLETING_REBALANCE && g->state != GS_STABLE)
        return;
    bool removed = false;
    for (gmember_t *m = g->members, *next; m; m = next) {
        next = m->next;
        if (m->pending_sync) {
            wlog_info("group %s: removing member %s, which did not sync in time", g->id, m->member_id);
            remove_member(g, m);
            removed = true;
        }
    }
    if (removed)
        prepare_rebalance(g, "members did not send SyncGroup in time");
}

static void expire_pending(group_t *g, int64_t now)
{
    gpending_t *p = g->pending;
    while (p) {
        if (now < p->deadline) {
            p = p->next;
            continue;
        }
        pending_remove(g, p->member_id);
        try_complete_join(g);
        p = g->pending;
    }
}

/* One expiry at a time: a removal may complete a join, which may remove
 * other members. */
static void expire_members(group_t *g, int64_t now)
{
    for (;;) {
        gmember_t *m = g->members;
        while (m && (now < m->deadline || heartbeat_satisfied(m)))
            m = m->next;
        if (!m)
            return;
        wlog_info("group %s: member %s expired (session timeout %d ms)", g->id, m->member_id, m->session_timeout);
        remove_member_and_update(g, m, "member session expired");
    }
}

void group_tick(group_t *g, int64_t now)
{
    if (g->loading || g->state == GS_DEAD)
        return;
    if (g->state == GS_PREPARING_REBALANCE && now >= g->join_deadline)
        on_join_deadline(g, now);
    if (g->sync_deadline >= 0 && now >= g->sync_deadline)
        on_sync_deadline(g);
    expire_pending(g, now);
    expire_members(g, now);
}

/* ---- JoinGroup ---- */

/* clientId (or group.instance.id) + "-" + a random UUID, as Kafka names members. */
static char *new_member_id(const char *prefix)
{
    uint8_t u[16];
    if (getrandom(u, sizeof u, 0) != (ssize_t)sizeof u)
        for (size_t i = 0; i < sizeof u; i++)
            u[i] = (uint8_t)rand();
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    size_t n = strlen(prefix) + 38;
    char *id = gs_alloc(n);
    snprintf(id, n, "%s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", prefix, u[0], u[1],
             u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
    return id;
}

static void update_member(gmember_t *m, const gjoin_t *req, gjoin_cb cb, void *arg)
{
    protos_free(m->protos, m->nprotos);
    m->protos = protos_copy(req->protos, req->nprotos);
    m->nprotos = req->nprotos;
    m->session_timeout = req->session_timeout;
    m->rebalance_timeout = req->rebalance_timeout;
    hold_join(m, cb, arg);
}

static void add_member_and_rebalance(group_t *g, const char *id, const gjoin_t *req, gjoin_cb cb, void *arg)
{
    gmember_t *m = gs_alloc(sizeof *m);
    memset(m, 0, sizeof *m);
    m->member_id = gs_strdup(id);
    m->instance_id = req->instance_id ? gs_strdup(req->instance_id) : NULL;
    m->client_id = gs_strdup(req->client_id);
    m->client_host = gs_strdup(req->client_host);
    m->is_new = true;
    update_member(m, req, cb, arg);
    if (g->state == GS_PREPARING_REBALANCE && g->generation == 0)
        g->new_member_added = true;
    if (g->nmembers == 0) {
        free(g->protocol_type);
        g->protocol_type = gs_strdup(req->protocol_type);
    }
    gmember_t **tail = &g->members;
    while (*tail)
        tail = &(*tail)->next;
    *tail = m;
    g->nmembers++;
    if (!g->leader)
        set_leader(g, id);
    pending_remove(g, id);
    m->deadline = gs_now(g->s) + NEW_MEMBER_JOIN_TIMEOUT_MS;
    maybe_prepare_rebalance(g, "adding a new member");
}

static void update_member_and_rebalance(group_t *g, gmember_t *m, const gjoin_t *req, gjoin_cb cb, void *arg)
{
    update_member(m, req, cb, arg);
    maybe_prepare_rebalance(g, "member rejoined");
}

/* Answer with the current generation without a rebalance. */
static void reply_current(group_t *g, const gmember_t *m, bool with_members, gjoin_cb cb, void *arg)
{
    gjoin_member_t *list = gs_alloc(sizeof *list * (size_t)(g->nmembers + 1));
    int32_t n = 0;
    for (const gmember_t *o = g->members; with_members && o; o = o->next, n++) {
        const gproto_t *p = gmember_proto(o, g->protocol);
        list[n] = (gjoin_member_t){o->member_id, o->instance_id, p ? p->metadata : NULL, p ? p->metadata_len : 0};
    }
    gjoin_result_t r = {KERR_NONE, g->generation, g->protocol ? g->protocol : "", g->leader ? g->leader : "",
                        m->member_id, n ? list : NULL, n};
    cb(arg, &r);
    free(list);
}

/* The new member id takes over the static member; the old id is fenced. */
static void replace_instance(group_t *g, gmember_t *m, const char *new_id)
{
    answer_join_err(m, KERR_FENCED_INSTANCE_ID, m->member_id);
    answer_sync(m, KERR_FENCED_INSTANCE_ID, NULL, 0);
    if (is_leader(g, m))
        set_leader(g, new_id);
    free(m->member_id);
    m->member_id = gs_strdup(new_id);
}

/* Kafka's updateStaticMemberAndRebalance. */
static void update_static_member(group_t *g, gmember_t *m, const char *new_id, const gjoin_t *req, gjoin_cb cb,
                                 void *arg)
{
    gop_t *op = gop_new(g, GOP_STATIC);
    op->old_member_id = gs_strdup(m->member_id);
    op->new_member_id = gs_strdup(new_id);
    op->old_leader = g->leader ? gs_strdup(g->leader) : NULL;
    op->old_protos = protos_copy(m->protos, m->nprotos);
    op->old_nprotos = m->nprotos;
    op->old_session = m->session_timeout;
    op->old_rebalance = m->rebalance_timeout;
    wlog_info("group %s: static member %s rejoined as %s", g->id, m->instance_id, new_id);
    replace_instance(g, m, new_id);
    schedule_session(g, m);
    update_member(m, req, cb, arg);
    const char *next = select_protocol(g);
    if (g->state == GS_STABLE && g->protocol && next && strcmp(g->protocol, next) == 0) {
        group_store(g, op); /* answers the join once written */
        return;
    }
    gop_free(op);
    if (g->state == GS_STABLE)
        prepare_rebalance(g, "static member rejoined with other protocols");
    else if (g->state == GS_COMPLETING_REBALANCE)
        prepare_rebalance(g, "static member rejoined during CompletingRebalance");
}

/* The takeover's group record is written (or failed: undo it). */
static void static_done(gop_t *op, int16_t err)
{
    group_t *g = op->g;
    gmember_t *m = g ? member_find(g, op->new_member_id) : NULL;
    if (!m)
        return;
    if (err == KERR_NONE) {
        if (g->state == GS_STABLE) {
            gjoin_result_t r = {KERR_NONE, g->generation, g->protocol ? g->protocol : "",
                                op->old_leader ? op->old_leader : "", m->member_id, NULL, 0};
            answer_join(m, &r);
        }
        return;
    }
    wlog_warn("group %s: writing the takeover of static member %s failed (%s); undone", g->id, m->instance_id,
              kerr_name(err));
    gjoin_cb cb = m->join_cb;
    void *arg = m->join_arg;
    m->join_cb = NULL;
    protos_free(m->protos, m->nprotos);
    m->protos = op->old_protos;
    m->nprotos = op->old_nprotos;
    op->old_protos = NULL;
    op->old_nprotos = 0;
    m->session_timeout = op->old_session;
    m->rebalance_timeout = op->old_rebalance;
    replace_instance(g, m, op->old_member_id);
    schedule_session(g, m);
    if (cb) {
        gjoin_result_t r = {gs_map_group_err(err), g->generation, g->protocol ? g->protocol : "",
                            op->old_leader ? op->old_leader : "", "", NULL, 0};
        cb(arg, &r);
    }
}

/* An error to answer with, or KERR_NONE once the join is answered or held. */
static int16_t join_unknown(group_t *g, const gjoin_t *req, gjoin_cb cb, void *arg)
{
    if (g->state == GS_DEAD)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    if (!supports_protocols(g, req->protocol_type, req->protos, req->nprotos))
        return KERR_INCONSISTENT_GROUP_PROTOCOL;
    char *id = new_member_id(req->instance_id ? req->instance_id : req->client_id);
    gmember_t *old = req->instance_id ? member_by_instance(g, req->instance_id) : NULL;
    if (old) {
        update_static_member(g, old, id, req, cb, arg);
    } else if (req->require_known_id && !req->instance_id) {
        pending_add(g, id, gs_now(g->s) + req->session_timeout);
        join_reply(cb, arg, KERR_MEMBER_ID_REQUIRED, id);
    } else {
        add_member_and_rebalance(g, id, req, cb, arg);
    }
    free(id);
    return KERR_NONE;
}

/* As join_unknown, for a member id the client already has. */
static int16_t join_known(group_t *g, const gjoin_t *req, gjoin_cb cb, void *arg)
{
    const char *id = req->member_id;
    if (g->state == GS_DEAD)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    if (!supports_protocols(g, req->protocol_type, req->protos, req->nprotos))
        return KERR_INCONSISTENT_GROUP_PROTOCOL;
    if (pending_has(g, id)) {
        if (req->instance_id) /* pending ids are never static */
            return KERR_UNKNOWN_MEMBER_ID;
        add_member_and_rebalance(g, id, req, cb, arg);
        return KERR_NONE;
    }
    int16_t err = validate_member(g, id, req->instance_id);
    if (err)
        return err;
    gmember_t *m = member_find(g, id);
    bool same = protos_match(m, req->protos, req->nprotos);
    if (g->state == GS_COMPLETING_REBALANCE && same) /* it lost the join answer: give it again */
        reply_current(g, m, is_leader(g, m), cb, arg);
    else if (g->state == GS_STABLE && same && !is_leader(g, m))
        reply_current(g, m, false, cb, arg);
    else if (g->state == GS_PREPARING_REBALANCE || g->state == GS_COMPLETING_REBALANCE || g->state == GS_STABLE)
        update_member_and_rebalance(g, m, req, cb, arg); /* a leader's join in Stable forces a rebalance */
    else
        return KERR_UNKNOWN_MEMBER_ID;
    return KERR_NONE;
}

/* Kafka's acceptJoiningMember (group.max.size). */
static bool accept_joining(const group_t *g, const char *id, int32_t max_size)
{
    const gmember_t *m = member_find(g, id);
    switch (g->state) {
    case GS_EMPTY:
    case GS_DEAD:
        return true;
    case GS_PREPARING_REBALANCE:
        return (m && m->join_cb) || awaiting_join(g) < max_size;
    default:
        return m || g->nmembers < max_size;
    }
}

void gstore_join(gstore_t *s, const gjoin_t *req, gjoin_cb cb, void *arg)
{
    bool unknown = !req->member_id[0];
    group_t *g = req->group[0] ? group_find(s, req->group) : NULL;
    int16_t err = KERR_NONE;
    if (!req->group[0])
        err = KERR_INVALID_GROUP_ID;
    else if (req->session_timeout < s->conf.min_session || req->session_timeout > s->conf.max_session)
        err = KERR_INVALID_SESSION_TIMEOUT;
    else if (!g && !unknown)
        err = KERR_UNKNOWN_MEMBER_ID;
    if (err) {
        join_reply(cb, arg, err, req->member_id);
        return;
    }
    if (!g)
        g = group_create(s, req->group);
    if (!accept_joining(g, req->member_id, s->conf.max_size)) {
        gmember_t *m = member_find(g, req->member_id);
        if (m)
            remove_member(g, m);
        join_reply(cb, arg, KERR_GROUP_MAX_SIZE_REACHED, "");
    } else if ((err = unknown ? join_unknown(g, req, cb, arg) : join_known(g, req, cb, arg)) != KERR_NONE) {
        join_reply(cb, arg, err, req->member_id);
    }
    try_complete_join(g);
    group_tick(g, gs_now(s));
}

/* ---- SyncGroup ---- */

static int16_t sync_validate(const group_t *g, const gsync_t *req)
{
    if (g->state == GS_DEAD)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    int16_t err = validate_member(g, req->member_id, req->instance_id);
    if (err)
        return err;
    if (req->generation != g->generation)
        return KERR_ILLEGAL_GENERATION;
    if (g->state == GS_EMPTY)
        return KERR_UNKNOWN_MEMBER_ID;
    if (g->state == GS_PREPARING_REBALANCE)
        return KERR_REBALANCE_IN_PROGRESS;
    return KERR_NONE;
}

/* The leader's assignment for every member (empty for those it left out;
 * the last entry wins for a member listed twice). */
static void leader_assignment(const group_t *g, gop_t *op, const gsync_t *req)
{
    op->assign = gs_alloc(sizeof *op->assign * (size_t)(g->nmembers + 1));
    for (const gmember_t *m = g->members; m; m = m->next) {
        gassign_t *a = &op->assign[op->nassign++];
        *a = (gassign_t){gs_strdup(m->member_id), NULL, 0};
        for (int32_t i = req->nassign - 1; i >= 0; i--)
            if (strcmp(req->assign[i].member_id, m->member_id) == 0) {
                int32_t len = req->assign[i].len > 0 ? req->assign[i].len : 0;
                uint8_t *p = gs_alloc((size_t)len + 1);
                if (len)
                    memcpy(p, req->assign[i].assignment, (size_t)len);
                a->assignment = p;
                a->len = len;
                break;
            }
    }
}

static const gassign_t *assign_for(const gop_t *op, const char *member_id)
{
    for (int32_t i = 0; i < op->nassign; i++)
        if (strcmp(op->assign[i].member_id, member_id) == 0)
            return &op->assign[i];
    return NULL;
}

/* The leader's assignment is written: everyone gets its part. */
static void sync_done(gop_t *op, int16_t err)
{
    group_t *g = op->g;
    if (!g || g->state != GS_COMPLETING_REBALANCE || op->generation != g->generation)
        return;
    if (err) {
        wlog_warn("group %s: writing the assignment of generation %d failed (%s)", g->id, g->generation,
                  kerr_name(err));
        reset_assignments(g, gs_map_group_err(err));
        maybe_prepare_rebalance(g, "writing the assignment failed");
        return;
    }
    for (gmember_t *m = g->members; m; m = m->next) {
        const gassign_t *a = assign_for(op, m->member_id);
        set_assignment(m, a ? a->assignment : NULL, a ? a->len : 0);
        if (m->sync_cb) {
            answer_sync(m, KERR_NONE, m->assignment, m->assignment_len);
            schedule_session(g, m);
        }
    }
    group_transition(g, GS_STABLE, "assignment written");
}

void gstore_sync(gstore_t *s, const gsync_t *req, gsync_cb cb, void *arg)
{
    group_t *g = req->group[0] ? group_find(s, req->group) : NULL;
    int16_t err = !req->group[0] ? KERR_INVALID_GROUP_ID : !g ? KERR_UNKNOWN_MEMBER_ID : sync_validate(g, req);
    if (err) {
        cb(arg, err, NULL, 0);
        return;
    }
    gmember_t *m = member_find(g, req->member_id);
    m->pending_sync = false;
    if (g->state == GS_STABLE) {
        cb(arg, KERR_NONE, m->assignment, m->assignment_len);
        schedule_session(g, m);
    } else {
        answer_sync(m, KERR_REBALANCE_IN_PROGRESS, NULL, 0); /* an earlier sync still held */
        m->sync_cb = cb;
        m->sync_arg = arg;
        if (is_leader(g, m)) {
            gop_t *op = gop_new(g, GOP_SYNC);
            leader_assignment(g, op, req);
            group_store(g, op);
        }
    }
    group_tick(g, gs_now(s));
}

/* ---- Heartbeat, LeaveGroup, commit validation ---- */

int16_t gstore_heartbeat(gstore_t *s, const char *group, int32_t generation, const char *member_id,
                         const char *instance_id)
{
    if (!group[0])
        return KERR_INVALID_GROUP_ID;
    group_t *g = group_find(s, group);
    if (!g)
        return KERR_UNKNOWN_MEMBER_ID;
    if (g->state == GS_DEAD)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    int16_t err = validate_member(g, member_id, instance_id);
    if (!err && generation != g->generation)
        err = KERR_ILLEGAL_GENERATION;
    if (!err && g->state == GS_EMPTY)
        err = KERR_UNKNOWN_MEMBER_ID;
    if (!err) {
        schedule_session(g, member_find(g, member_id));
        if (g->state == GS_PREPARING_REBALANCE)
            err = KERR_REBALANCE_IN_PROGRESS;
    }
    group_tick(g, gs_now(s));
    return err;
}

int16_t gstore_leave(gstore_t *s, const char *group, const char *member_id)
{
    if (!group[0])
        return KERR_INVALID_GROUP_ID;
    group_t *g = group_find(s, group);
    if (!g)
        return KERR_UNKNOWN_MEMBER_ID;
    if (g->state == GS_DEAD)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    if (pending_remove(g, member_id)) {
        try_complete_join(g);
        return KERR_NONE;
    }
    gmember_t *m = member_find(g, member_id);
    if (!m)
        return KERR_UNKNOWN_MEMBER_ID;
    wlog_info("group %s: member %s left", g->id, member_id);
    remove_member_and_update(g, m, "member left");
    group_tick(g, gs_now(s));
    return KERR_NONE;
}

/* Kafka's validateOffsetCommit plus the state check of doCommitOffsets;
 * a live member's commit also counts as a heartbeat. */
int16_t group_validate_commit(group_t *g, const gcommit_t *req)
{
    if (g->state == GS_DEAD)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    bool member = req->generation >= 0 || req->member_id[0] || req->instance_id;
    if (member) {
        int16_t err = validate_member(g, req->member_id, req->instance_id);
        if (err)
            return err;
        if (req->generation != g->generation)
            return KERR_ILLEGAL_GENERATION;
    } else if (g->state != GS_EMPTY) {
        return KERR_UNKNOWN_MEMBER_ID; /* only members commit to an active group */
    }
    if (g->state == GS_COMPLETING_REBALANCE)
        return KERR_REBALANCE_IN_PROGRESS;
    gmember_t *m = member ? member_find(g, req->member_id) : NULL;
    if (m)
        schedule_session(g, m);
    return KERR_NONE;
}

/* ---- loading ---- */

void group_loaded(group_t *g)
{
    g->loading = false;
    g->state = g->nmembers > 0 ? GS_STABLE : GS_EMPTY;
    group_compute_subscribed(g);
    for (gmember_t *m = g->members; m; m = m->next) {
        schedule_session(g, m);
        m->is_new = false;
        m->pending_sync = false;
    }
    if (g->nmembers > 0 && (!g->leader || !member_find(g, g->leader)))
        set_leader(g, g->members->member_id);
    wlog_info("group %s: loaded in state %s, generation %d, %d members, %zu offsets", g->id, gstate_name(g->state),
              g->generation, g->nmembers, g->noffsets);
    if (g->nmembers > g->s->conf.max_size)
        prepare_rebalance(g, "loaded group is over group.max.size");
}

/* ---- the group metadata record ---- */

void group_store(group_t *g, gop_t *op)
{
    offrec_member_t *mem = gs_alloc(sizeof *mem * (size_t)(g->nmembers + 1));
    int32_t n = 0;
    for (const gmember_t *m = g->members; m; m = m->next, n++) {
        const gproto_t *p = gmember_proto(m, g->protocol);
        const gassign_t *a = op->kind == GOP_SYNC ? assign_for(op, m->member_id) : NULL;
        mem[n] = (offrec_member_t){
            .member_id = m->member_id,
            .instance_id = m->instance_id,
            .client_id = m->client_id,
            .client_host = m->client_host,
            .rebalance_timeout = m->rebalance_timeout,
            .session_timeout = m->session_timeout,
            .subscription = p ? p->metadata : NULL,
            .subscription_len = p ? p->metadata_len : 0,
            .assignment = op->kind == GOP_SYNC ? (a ? (uint8_t *)a->assignment : NULL) : m->assignment,
            .assignment_len = op->kind == GOP_SYNC ? (a ? a->len : 0) : m->assignment_len,
        };
    }
    static char none[] = "";
    offrec_group_t rec = {g->protocol_type ? g->protocol_type : none, g->generation, g->protocol, g->leader,
                          g->state_ts, mem, n};
    kwr_t key, val;
    kwr_init(&key, 64);
    kwr_init(&val, 256);
    offrec_encode_group_key(&key, g->id);
    offrec_encode_group(&val, &rec);
    coord_rec_t r = {key.buf, (int32_t)key.len, val.buf, (int32_t)val.len};
    gop_append(op, &r, 1);
    kwr_free(&key);
    kwr_free(&val);
    free(mem);
}

/* ---- writes in flight ---- */

gop_t *gop_new(group_t *g, enum gop_kind kind)
{
    gop_t *op = gs_alloc(sizeof *op);
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->g = g;
    op->group_id = gs_strdup(g->id);
    op->generation = g->generation;
    return op;
}

void gop_free(gop_t *op)
{
    free(op->group_id);
    free(op->errs);
    for (int32_t i = 0; i < op->noffs; i++) {
        free(op->offs[i].topic);
        free(op->offs[i].v.metadata);
    }
    free(op->offs);
    free(op->idx);
    for (int32_t i = 0; i < op->nassign; i++) {
        free((char *)op->assign[i].member_id);
        free((uint8_t *)op->assign[i].assignment);
    }
    free(op->assign);
    free(op->old_member_id);
    free(op->new_member_id);
    free(op->old_leader);
    protos_free(op->old_protos, op->old_nprotos);
    free(op);
}

static void gop_done(void *arg, int16_t err)
{
    gop_t *op = arg;
    group_t *g = op->g;
    if (g) {
        if (op->prev)
            op->prev->next = op->next;
        else
            g->ops = op->next;
        if (op->next)
            op->next->prev = op->prev;
    }
    switch (op->kind) {
    case GOP_COMMIT:
        gs_commit_done(op, err);
        break;
    case GOP_SYNC:
        sync_done(op, err);
        break;
    case GOP_STATIC:
        static_done(op, err);
        break;
    case GOP_LOG:
        if (err)
            wlog_warn("group %s: writing to %s failed (%s)", op->group_id, COORD_TOPIC, kerr_name(err));
        break;
    }
    gop_free(op);
}

/* Link op to its group, then write; the answer may come at once. */
void gop_append(gop_t *op, const coord_rec_t *recs, int n)
{
    group_t *g = op->g;
    gstore_t *s = g->s;
    op->prev = NULL;
    op->next = g->ops;
    if (g->ops)
        g->ops->prev = op;
    g->ops = op;
    s->env.append(s->env.ctx, op->group_id, recs, n, gop_done, op);
}

/* ---- checks ---- */

static bool group_valid(const group_t *g)
{
    int32_t n = 0, held_joins = 0, held_syncs = 0;
    for (const gmember_t *m = g->members; m; m = m->next) {
        n++;
        held_joins += m->join_cb != NULL;
        held_syncs += m->sync_cb != NULL;
    }
    int32_t np = 0;
    for (const gpending_t *p = g->pending; p; p = p->next)
        np++;
    if (n != g->nmembers || np != g->npending)
        return false;
    if ((g->state == GS_EMPTY || g->state == GS_DEAD) && n > 0)
        return false;
    if (n > 0 && (!g->leader || !member_find(g, g->leader)))
        return false;
    if (n == 0 && g->leader)
        return false;
    if (held_syncs && g->state != GS_COMPLETING_REBALANCE)
        return false;
    return !held_joins || g->state == GS_PREPARING_REBALANCE || g->state == GS_STABLE;
}

bool group_check(const group_t *g)
{
    if (!group_valid(g)) {
        wlog_error("group %s: invariant broken in state %s", g->id, gstate_name(g->state));
        return false;
    }
    return true;
}
