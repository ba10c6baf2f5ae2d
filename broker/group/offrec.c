/*
 * offrec.c - the key and value formats of __consumer_offsets records
 * (reference/kafka-protocol.md section 7.4; OffsetCommitKey/Value,
 * GroupMetadataKey/Value schemas), and the group -> partition hash.
 *
 * Every record part is an INT16 version followed by the struct of that
 * version.  Decoders accept every version Kafka 3.4.1 reads: keys v0/v1
 * (offset) and v2 (group); values v0-v4, v4 being the flexible encoding
 * (compact lengths, tagged-field sections) that newer brokers write and
 * 3.4.1 reads back after a downgrade.  Encoders write what 3.4 writes.
 *
 * Strings become NUL-terminated heap copies, so a string holding a NUL byte
 * is refused rather than silently cut short.  Non-nullable strings and
 * bytes that arrive null are refused, as Kafka's generated readers do.
 * Thread: none (pure functions of their arguments).
 */
#include "offrec.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Highest value versions we read; 4 is the first flexible one. */
#define OFFSET_VALUE_MAX_VERSION 4
#define GROUP_VALUE_MAX_VERSION 4
#define FLEXIBLE_VERSION 4

/* One decode in progress: the reader, the encoding, the first error. */
typedef struct dec {
    krd_t rd;
    bool flex;
    bool failed;
    char *err;
    size_t errlen;
} dec_t;

static void dec_init(dec_t *d, const uint8_t *p, size_t n, char *err, size_t errlen)
{
    krd_init(&d->rd, p, n);
    d->flex = false;
    d->failed = false;
    d->err = err;
    d->errlen = errlen;
    if (err && errlen)
        err[0] = '\0';
}

/* Record the first failure only: later ones are consequences of it. */
__attribute__((format(printf, 2, 3))) static void dec_fail(dec_t *d, const char *fmt, ...)
{
    if (d->failed)
        return;
    d->failed = true;
    if (d->err && d->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->err, d->errlen, fmt, ap);
        va_end(ap);
    }
}

/* True (with the error recorded) once the reader has run out or failed. */
static bool dec_bad(dec_t *d, const char *field)
{
    if (d->rd.err)
        dec_fail(d, "%s: truncated or invalid length", field);
    return d->failed;
}

static int16_t get_i16(dec_t *d, const char *field)
{
    int16_t v = krd_i16(&d->rd);
    (void)dec_bad(d, field);
    return v;
}

static int32_t get_i32(dec_t *d, const char *field)
{
    int32_t v = krd_i32(&d->rd);
    (void)dec_bad(d, field);
    return v;
}

static int64_t get_i64(dec_t *d, const char *field)
{
    int64_t v = krd_i64(&d->rd);
    (void)dec_bad(d, field);
    return v;
}

/* A STRING as a heap copy; NULL when null (if allowed) or on failure. */
static char *get_str(dec_t *d, bool nullable, const char *field)
{
    kstr_t s = krd_str(&d->rd, d->flex, true);
    if (dec_bad(d, field))
        return NULL;
    if (s.len < 0) {
        if (!nullable)
            dec_fail(d, "%s: null where the schema forbids it", field);
        return NULL;
    }
    if (s.len > 0 && memchr(s.ptr, 0, (size_t)s.len)) {
        dec_fail(d, "%s: contains a NUL byte", field);
        return NULL;
    }
    char *c = kstr_dup(s);
    if (!c)
        dec_fail(d, "%s: out of memory", field);
    return c;
}

/* Non-nullable BYTES as a heap copy; NULL when empty or on failure. */
static uint8_t *get_bytes(dec_t *d, int32_t *len, const char *field)
{
    kstr_t s = krd_bytes(&d->rd, d->flex, true);
    *len = 0;
    if (dec_bad(d, field))
        return NULL;
    if (s.len < 0) {
        dec_fail(d, "%s: null where the schema forbids it", field);
        return NULL;
    }
    if (s.len == 0)
        return NULL;
    uint8_t *b = malloc((size_t)s.len);
    if (!b) {
        dec_fail(d, "%s: out of memory", field);
        return NULL;
    }
    memcpy(b, s.ptr, (size_t)s.len);
    *len = s.len;
    return b;
}

/* The tagged-field section closing a flexible struct (unknown tags skipped). */
static void get_tags(dec_t *d, const char *where)
{
    if (!d->flex || d->failed)
        return;
    krd_tags(&d->rd);
    (void)dec_bad(d, where);
}

static void dec_end(dec_t *d)
{
    if (!d->failed && krd_remain(&d->rd) > 0)
        dec_fail(d, "%zu trailing bytes", krd_remain(&d->rd));
}

/* ---- keys ---- */

int offrec_decode_key(const uint8_t *p, size_t n, offrec_key_t *out, char *err, size_t errlen)
{
    dec_t d;
    dec_init(&d, p, n, err, errlen);
    memset(out, 0, sizeof *out);
    out->partition = -1;
    int16_t version = get_i16(&d, "key version");
    if (d.failed)
        return -1;
    if (version == 0 || version == 1) {
        /* OffsetCommitKey: v0 and v1 share one layout. */
        out->kind = OFFREC_OFFSET;
        out->group = get_str(&d, false, "group");
        out->topic = get_str(&d, false, "topic");
        out->partition = get_i32(&d, "partition");
    } else if (version == 2) {
        out->kind = OFFREC_GROUP;
        out->group = get_str(&d, false, "group");
    } else {
        dec_fail(&d, "unknown key version %d", version);
    }
    dec_end(&d);
    if (d.failed) {
        offrec_key_free(out);
        return -1;
    }
    return 0;
}

void offrec_encode_offset_key(kwr_t *wr, const char *group, const char *topic, int32_t partition)
{
    kwr_i16(wr, 1);
    kwr_str(wr, false, group ? group : "");
    kwr_str(wr, false, topic ? topic : "");
    kwr_i32(wr, partition);
}

void offrec_encode_group_key(kwr_t *wr, const char *group)
{
    kwr_i16(wr, 2);
    kwr_str(wr, false, group ? group : "");
}

void offrec_key_free(offrec_key_t *k)
{
    free(k->group);
    free(k->topic);
    memset(k, 0, sizeof *k);
    k->partition = -1;
}

/* ---- OffsetCommitValue ---- */

int offrec_decode_offset(const uint8_t *p, size_t n, offrec_offset_t *out, char *err, size_t errlen)
{
    dec_t d;
    dec_init(&d, p, n, err, errlen);
    memset(out, 0, sizeof *out);
    out->leader_epoch = -1;
    out->expire_ts = -1;
    int16_t version = get_i16(&d, "offset value version");
    if (d.failed)
        return -1;
    if (version < 0 || version > OFFSET_VALUE_MAX_VERSION) {
        dec_fail(&d, "unknown offset value version %d", version);
        return -1;
    }
    d.flex = version >= FLEXIBLE_VERSION;
    out->offset = get_i64(&d, "offset");
    if (version >= 3)
        out->leader_epoch = get_i32(&d, "leaderEpoch");
    out->metadata = get_str(&d, false, "metadata");
    out->commit_ts = get_i64(&d, "commitTimestamp");
    if (version == 1) {
        /* Kafka writes v1 only with an explicit (non-negative) expiry; any
         * negative value means none here, keeping expire_ts's -1 invariant. */
        int64_t e = get_i64(&d, "expireTimestamp");
        out->expire_ts = e < 0 ? -1 : e;
    }
    get_tags(&d, "offset value tagged fields");
    dec_end(&d);
    if (d.failed) {
        offrec_offset_free(out);
        return -1;
    }
    return 0;
}

void offrec_encode_offset(kwr_t *wr, const offrec_offset_t *v)
{
    const char *md = v->metadata ? v->metadata : "";
    if (v->expire_ts >= 0) {
        kwr_i16(wr, 1);
        kwr_i64(wr, v->offset);
        kwr_str(wr, false, md);
        kwr_i64(wr, v->commit_ts);
        kwr_i64(wr, v->expire_ts);
        return;
    }
    kwr_i16(wr, 3);
    kwr_i64(wr, v->offset);
    kwr_i32(wr, v->leader_epoch);
    kwr_str(wr, false, md);
    kwr_i64(wr, v->commit_ts);
}

void offrec_offset_free(offrec_offset_t *v)
{
    free(v->metadata);
    memset(v, 0, sizeof *v);
    v->leader_epoch = -1;
    v->expire_ts = -1;
}

/* ---- GroupMetadataValue ---- */

/* Fewest bytes one MemberMetadata can take, so a hostile count is refused
 * before the members array is allocated. */
static size_t member_min_size(int16_t version)
{
    if (version >= FLEXIBLE_VERSION)
        return 4 * 1 + 2 * 4 + 2 * 1 + 1; /* 4 strings, 2 ints, 2 bytes, tags */
    size_t n = 3 * 2 + 4 + 2 * 4;             /* 3 strings, sessionTimeout, 2 bytes */
    if (version >= 1)
        n += 4; /* rebalanceTimeout */
    if (version >= 3)
        n += 2; /* groupInstanceId */
    return n;
}

static void get_member(dec_t *d, int16_t version, offrec_member_t *m)
{
    m->member_id = get_str(d, false, "memberId");
    if (version >= 3)
        m->instance_id = get_str(d, true, "groupInstanceId");
    m->client_id = get_str(d, false, "clientId");
    m->client_host = get_str(d, false, "clientHost");
    if (version >= 1)
        m->rebalance_timeout = get_i32(d, "rebalanceTimeout");
    m->session_timeout = get_i32(d, "sessionTimeout");
    if (version == 0)
        m->rebalance_timeout = m->session_timeout;
    m->subscription = get_bytes(d, &m->subscription_len, "subscription");
    m->assignment = get_bytes(d, &m->assignment_len, "assignment");
    get_tags(d, "member tagged fields");
}

int offrec_decode_group(const uint8_t *p, size_t n, offrec_group_t *out, char *err, size_t errlen)
{
    dec_t d;
    dec_init(&d, p, n, err, errlen);
    memset(out, 0, sizeof *out);
    out->state_ts = -1;
    int16_t version = get_i16(&d, "group value version");
    if (d.failed)
        return -1;
    if (version < 0 || version > GROUP_VALUE_MAX_VERSION) {
        dec_fail(&d, "unknown group value version %d", version);
        return -1;
    }
    d.flex = version >= FLEXIBLE_VERSION;
    out->protocol_type = get_str(&d, false, "protocolType");
    out->generation = get_i32(&d, "generation");
    out->protocol = get_str(&d, true, "protocol");
    out->leader = get_str(&d, true, "leader");
    if (version >= 2)
        out->state_ts = get_i64(&d, "currentStateTimestamp");
    int32_t count = krd_array(&d.rd, d.flex, false, member_min_size(version));
    if (!dec_bad(&d, "members") && count > 0) {
        out->members = calloc((size_t)count, sizeof *out->members);
        if (!out->members)
            dec_fail(&d, "members: out of memory");
    }
    for (int32_t i = 0; i < count && !d.failed; i++) {
        out->nmembers = i + 1; /* so a failure part-way frees what was read */
        get_member(&d, version, &out->members[i]);
    }
    get_tags(&d, "group value tagged fields");
    dec_end(&d);
    if (d.failed) {
        offrec_group_free(out);
        return -1;
    }
    return 0;
}

static void put_member(kwr_t *wr, const offrec_member_t *m)
{
    kwr_str(wr, false, m->member_id ? m->member_id : "");
    kwr_str(wr, false, m->instance_id);
    kwr_str(wr, false, m->client_id ? m->client_id : "");
    kwr_str(wr, false, m->client_host ? m->client_host : "");
    kwr_i32(wr, m->rebalance_timeout);
    kwr_i32(wr, m->session_timeout);
    kwr_bytes(wr, false, m->subscription, m->subscription ? m->subscription_len : 0);
    kwr_bytes(wr, false, m->assignment, m->assignment ? m->assignment_len : 0);
}

void offrec_encode_group(kwr_t *wr, const offrec_group_t *g)
{
    kwr_i16(wr, 3);
    kwr_str(wr, false, g->protocol_type ? g->protocol_type : "");
    kwr_i32(wr, g->generation);
    kwr_str(wr, false, g->protocol);
    kwr_str(wr, false, g->leader);
    kwr_i64(wr, g->state_ts);
    kwr_array(wr, false, g->nmembers > 0 ? g->nmembers : 0);
    for (int32_t i = 0; i < g->nmembers; i++)
        put_member(wr, &g->members[i]);
}

void offrec_group_free(offrec_group_t *g)
{
    for (int32_t i = 0; i < g->nmembers; i++) {
        offrec_member_t *m = &g->members[i];
        free(m->member_id);
        free(m->instance_id);
        free(m->client_id);
        free(m->client_host);
        free(m->subscription);
        free(m->assignment);
    }
    free(g->members);
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader);
    memset(g, 0, sizeof *g);
    g->state_ts = -1;
}

/* ---- partition of a group ---- */

/*
 * Length of the well-formed UTF-8 prefix starting at p[0] (1..4), and
 * whether it is a whole character.  The second byte's range depends on the
 * lead (E0: A0-BF, F0: 90-BF, F4: 80-8F, else 80-BF), which rules out
 * overlong forms and code points past U+10FFFF as early as possible.
 * ED A0-BF (UTF-16 surrogates) counts as a valid prefix: Java decodes the
 * whole three bytes and then replaces the surrogate with one U+FFFD.
 */
static size_t utf8_prefix(const uint8_t *p, size_t n, size_t *need)
{
    uint8_t b = p[0];
    uint8_t lo = 0x80, hi = 0xbf;
    if (b < 0x80) {
        *need = 1;
        return 1;
    }
    if (b >= 0xc2 && b <= 0xdf) {
        *need = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
        *need = 3;
        if (b == 0xe0)
            lo = 0xa0;
    } else if (b >= 0xf0 && b <= 0xf4) {
        *need = 4;
        if (b == 0xf0)
            lo = 0x90;
        else if (b == 0xf4)
            hi = 0x8f;
    } else {
        *need = 0; /* stray continuation byte, C0/C1, F5-FF */
        return 1;
    }
    size_t k = 1;
    if (k < n && p[k] >= lo && p[k] <= hi) {
        k++;
        while (k < *need && k < n && (p[k] & 0xc0) == 0x80)
            k++;
    }
    return k;
}

/*
 * Java's String.hashCode of the name as Kafka sees it: the UTF-8 bytes
 * decoded to UTF-16 (supplementary characters as surrogate pairs), and each
 * ill-formed sequence replaced by one U+FFFD.  A sequence is "ill-formed"
 * at its longest well-formed prefix (at least one byte), which is how both
 * Java's decoder and the Unicode standard's recommended practice substitute.
 */
static uint32_t java_hash(const uint8_t *p, size_t len)
{
    uint32_t h = 0;
    size_t i = 0;
    while (i < len) {
        size_t need;
        size_t k = utf8_prefix(p + i, len - i, &need);
        uint32_t cp = 0xfffd;
        if (k == need) {
            switch (need) {
            case 1: cp = p[i]; break;
            case 2: cp = (uint32_t)(p[i] & 0x1f) << 6 | (p[i + 1] & 0x3f); break;
            case 3:
                cp = (uint32_t)(p[i] & 0x0f) << 12 | (uint32_t)(p[i + 1] & 0x3f) << 6 | (p[i + 2] & 0x3f);
                if (cp >= 0xd800 && cp <= 0xdfff)
                    cp = 0xfffd;
                break;
            default:
                cp = (uint32_t)(p[i] & 0x07) << 18 | (uint32_t)(p[i + 1] & 0x3f) << 12 |
                     (uint32_t)(p[i + 2] & 0x3f) << 6 | (p[i + 3] & 0x3f);
                break;
            }
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = 31 * h + (0xd800 | (cp >> 10));
            h = 31 * h + (0xdc00 | (cp & 0x3ff));
        } else {
            h = 31 * h + cp;
        }
        i += k;
    }
    return h;
}

int32_t offrec_partition_for(const char *group, size_t len, int32_t n)
{
    if (n <= 0)
        return 0;
    int32_t h = (int32_t)java_hash((const uint8_t *)group, group ? len : 0);
    /* Kafka's Utils.abs: abs(Integer.MIN_VALUE) is 0, not MIN_VALUE. */
    int32_t a = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
    return a % n;
}
