/*
 * logmgr.c - every log dir of a broker: meta.properties (cluster and broker
 * identity), the per-dir checkpoint files, the clean-shutdown marker, and the
 * table of partition logs found in or created under the dirs.
 *
 * Invariants: a (topic, partition) lives in exactly one dir; a dir whose
 * meta.properties names another cluster or broker is never opened; the
 * clean-shutdown marker exists only while the broker is stopped after a
 * clean close (it is removed as soon as the dirs are opened).
 *
 * Unclean-shutdown awareness (R22): a dir that holds partitions but lacked
 * the marker at open gets UNCLEAN_FILE, which stays across later clean
 * restarts until logmgr_unclean_acknowledged() removes it, i.e. until a
 * controller has seen this broker register as unclean (the controller then
 * records the partitions it must not lead in their state znodes, where the
 * block outlives any later registration).  Without the file an operator
 * could hide the crash by restarting the broker cleanly before any
 * controller noticed.
 * Thread: the broker's network loop thread (open/close at start and stop).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/log/log_int.h"
#include "common/wlog.h"

#define CLEAN_MARKER ".kafka_cleanshutdown"
#define UNCLEAN_FILE ".weir_unclean_shutdown"
#define RP_FILE "recovery-point-offset-checkpoint"
#define LSO_FILE "log-start-offset-checkpoint"
#define HW_FILE "replication-offset-checkpoint"

typedef struct lm_part {
    plog_t *l;
    int dir;
    int64_t hw_at_open;
    struct lm_part *next;
} lm_part_t;

struct logmgr {
    int ndirs;
    char **dirs;
    int *dir_parts; /* partitions per dir, for placement */
    int32_t broker_id;
    char *cluster_id;
    plog_config_t defaults;
    lm_part_t **buckets;
    size_t nbuckets, nparts;
    bool unclean; /* some dir was unclean at open, or still holds UNCLEAN_FILE */
};

static size_t part_hash(const char *topic, int32_t partition)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)topic; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    h = (h ^ (uint32_t)partition) * 1099511628211ull;
    return (size_t)h;
}

static lm_part_t **part_slot(const logmgr_t *m, const char *topic, int32_t partition)
{
    lm_part_t **pp = &m->buckets[part_hash(topic, partition) & (m->nbuckets - 1)];
    while (*pp && (plog_partition((*pp)->l) != partition || strcmp(plog_topic((*pp)->l), topic) != 0))
        pp = &(*pp)->next;
    return pp;
}

static void part_rehash(logmgr_t *m)
{
    size_t nb = m->nbuckets * 2;
    lm_part_t **b = calloc(nb, sizeof(*b));
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < m->nbuckets; i++) {
        for (lm_part_t *p = m->buckets[i], *nx; p; p = nx) {
            nx = p->next;
            size_t h = part_hash(plog_topic(p->l), plog_partition(p->l)) & (nb - 1);
            p->next = b[h];
            b[h] = p;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

static int part_add(logmgr_t *m, plog_t *l, int dir, int64_t hw)
{
    lm_part_t *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    *p = (lm_part_t){l, dir, hw, NULL};
    lm_part_t **slot = part_slot(m, plog_topic(l), plog_partition(l));
    *slot = p;
    m->nparts++;
    m->dir_parts[dir]++;
    if (m->nparts > m->nbuckets)
        part_rehash(m);
    return 0;
}

/* Kafka's topic name rule: [a-zA-Z0-9._-]{1,249}, not "." or "..". */
static bool topic_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 249 || strcmp(t, ".") == 0 || strcmp(t, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

/* "<topic>-<partition>": split at the last '-'; topic is written to buf. */
static bool parse_part_dir(const char *name, char *buf, size_t n, int32_t *partition)
{
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name || (size_t)(dash - name) >= n || !dash[1])
        return false;
    int64_t v = 0;
    for (const char *p = dash + 1; *p; p++) {
        if (*p < '0' || *p > '9' || v > INT32_MAX / 10)
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v > INT32_MAX)
        return false;
    memcpy(buf, name, (size_t)(dash - name));
    buf[dash - name] = '\0';
    *partition = (int32_t)v;
    return topic_ok(buf);
}

static int mkdir_p(const char *dir)
{
    char p[4096];
    if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
        return -ENAMETOOLONG;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    return mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/* Value of `key` in a properties text (NULL if absent); copied into out. */
static bool prop_get(const char *text, const char *key, char *out, size_t n)
{
    size_t kl = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (line[0] == '#' || strncmp(line, key, kl) != 0 || line[kl] != '=')
            continue;
        const char *v = line + kl + 1, *e = strchr(v, '\n');
        size_t vl = e ? (size_t)(e - v) : strlen(v);
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
            vl--;
        if (vl >= n)
            vl = n - 1;
        memcpy(out, v, vl);
        out[vl] = '\0';
        return true;
    }
    return false;
}

/* Check or create <dir>/meta.properties. */
static int check_meta(const logmgr_t *m, const char *dir, char *err, size_t errlen)
{
    char path[4096], *text, cid[256], bid[64];
    snprintf(path, sizeof(path), "%s/meta.properties", dir);
    int rc = lfile_read_small(path, &text, 1 << 16);
    if (rc == -ENOENT) {
        char buf[1024];
        time_t t = time(NULL);
        char ts[64];
        strftime(ts, sizeof(ts), "%a %b %d %H:%M:%S UTC %Y", gmtime(&t));
        int n = snprintf(buf, sizeof(buf), "#\n#%s\ncluster.id=%s\nversion=0\nbroker.id=%" PRId32 "\n", ts,
                         m->cluster_id, m->broker_id);
        rc = lfile_write_atomic(path, buf, (size_t)n);
        if (rc < 0)
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
        return rc;
    }
    if (rc < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
        return rc;
    }
    rc = 0;
    if (prop_get(text, "cluster.id", cid, sizeof(cid)) && strcmp(cid, m->cluster_id) != 0) {
        snprintf(err, errlen, "log dir %s belongs to cluster %s, but ZooKeeper cluster id is %s", dir, cid,
                 m->cluster_id);
        rc = -EINVAL;
    } else if (prop_get(text, "broker.id", bid, sizeof(bid)) && strtoll(bid, NULL, 10) != m->broker_id) {
        snprintf(err, errlen, "log dir %s belongs to broker %s, but broker.id is %" PRId32, dir, bid, m->broker_id);
        rc = -EINVAL;
    }
    free(text);
    return rc;
}

typedef struct dir_ckpts {
    lckpt_ent_t *rp, *lso, *hw;
    size_t nrp, nlso, nhw;
} dir_ckpts_t;

static void read_ckpts(const char *dir, dir_ckpts_t *c)
{
    static const char *const names[] = {RP_FILE, LSO_FILE, HW_FILE};
    lckpt_ent_t **e[] = {&c->rp, &c->lso, &c->hw};
    size_t *n[] = {&c->nrp, &c->nlso, &c->nhw};
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < 3; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        int rc = lckpt_read(path, e[i], n[i]);
        if (rc < 0) {
            /* Kafka refuses a corrupt checkpoint; recovering everything from 0 is the safe equivalent */
            wlog_warn("ignoring unreadable checkpoint %s: %s", path, strerror(-rc));
        }
    }
}

static void free_ckpts(dir_ckpts_t *c)
{
    lckpt_free(c->rp, c->nrp);
    lckpt_free(c->lso, c->nlso);
    lckpt_free(c->hw, c->nhw);
}

static int load_part(logmgr_t *m, int di, const char *name, bool clean, const dir_ckpts_t *c, char *err,
                     size_t errlen)
{
    char topic[256], path[4096];
    int32_t partition;
    if (!parse_part_dir(name, topic, sizeof(topic), &partition))
        return 0;
    snprintf(path, sizeof(path), "%s/%s", m->dirs[di], name);
    if (*part_slot(m, topic, partition)) {
        snprintf(err, errlen, "duplicate log for %s-%" PRId32 " in %s", topic, partition, m->dirs[di]);
        return -EEXIST;
    }
    /* no recovery point recorded means nothing is known durable: recover all of it */
    int64_t rp = lckpt_find(c->rp, c->nrp, topic, partition);
    int64_t lso = lckpt_find(c->lso, c->nlso, topic, partition);
    plog_t *l = plog_open(path, topic, partition, &m->defaults, clean, rp < 0 ? 0 : rp, lso < 0 ? 0 : lso, err,
                          errlen);
    if (!l)
        return -EIO;
    int rc = part_add(m, l, di, lckpt_find(c->hw, c->nhw, topic, partition));
    if (rc < 0)
        plog_close(l);
    return rc;
}

/* R22: a dir without the marker counts as unclean even when it holds no
 * partitions: a wiped or replaced dir of a broker that was the last in-sync
 * replica looks exactly like a new broker's, and electing it would lose
 * everything.  For a new broker this costs nothing (it is in no ISR, and the
 * first controller request clears it).  The file is written before the
 * broker registers, so a crash right after cannot lose it. */
static int note_unclean(logmgr_t *m, int di, bool clean)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof(path), "%s/" UNCLEAN_FILE, m->dirs[di]);
    bool pending = stat(path, &st) == 0;
    if (!clean && !pending) {
        int rc = lfile_write_atomic(path, "", 0);
        if (rc < 0) {
            wlog_error("cannot write %s: %s", path, strerror(-rc));
            return rc;
        }
        pending = true;
    }
    if (pending && m->dir_parts[di] == 0)
        wlog_info("log dir %s is new or empty: this broker registers as restarted after an unclean shutdown "
                  "until a controller has seen it (so a wiped dir is never elected as the last in-sync replica)",
                  m->dirs[di]);
    else if (pending)
        wlog_warn("log dir %s: records acknowledged before the last unclean shutdown may be missing; this broker "
                  "registers as restarted after an unclean shutdown until a controller has seen it",
                  m->dirs[di]);
    m->unclean |= pending;
    return 0;
}

static int open_dir(logmgr_t *m, int di, char *err, size_t errlen)
{
    const char *dir = m->dirs[di];
    char path[4096];
    int rc = mkdir_p(dir);
    if (rc < 0) {
        snprintf(err, errlen, "cannot create log dir %s: %s", dir, strerror(-rc));
        return rc;
    }
    if ((rc = check_meta(m, dir, err, errlen)) < 0)
        return rc;
    snprintf(path, sizeof(path), "%s/" CLEAN_MARKER, dir);
    struct stat st;
    bool clean = stat(path, &st) == 0;
    dir_ckpts_t c;
    read_ckpts(dir, &c);
    DIR *d = opendir(dir);
    if (!d) {
        rc = -errno;
        snprintf(err, errlen, "cannot read log dir %s: %s", dir, strerror(errno));
    }
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (de->d_name[0] == '.')
            continue;
        size_t nl = strlen(de->d_name);
        if (nl > 4 && strcmp(de->d_name + nl - 4, ".tmp") == 0) {
            unlink(p);
        } else if (nl > 7 && strcmp(de->d_name + nl - 7, "-delete") == 0) {
            wlog_info("removing deleted log %s", p);
            lfile_rm_rf(p);
        } else if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = load_part(m, di, de->d_name, clean, &c, err, errlen);
        }
    }
    if (d)
        closedir(d);
    free_ckpts(&c);
    if (rc == 0 && clean) {
        snprintf(path, sizeof(path), "%s/" CLEAN_MARKER, dir);
        if (unlink(path) < 0 || lfile_fsync_dir(dir) < 0)
            wlog_warn("cannot remove %s: %s", path, strerror(errno));
    }
    if (rc == 0)
        rc = note_unclean(m, di, clean);
    if (rc == 0)
        wlog_info("loaded log dir %s (%s shutdown), %d partitions", dir, clean ? "clean" : "unclean",
                  m->dir_parts[di]);
    return rc;
}

static void logmgr_free(logmgr_t *m)
{
    for (size_t i = 0; m->buckets && i < m->nbuckets; i++) {
        for (lm_part_t *p = m->buckets[i], *nx; p; p = nx) {
            nx = p->next;
            plog_close(p->l);
            free(p);
        }
    }
    for (int i = 0; m->dirs && i < m->ndirs; i++)
        free(m->dirs[i]);
    free(m->dirs);
    free(m->dir_parts);
    free(m->buckets);
    free(m->cluster_id);
    free(m);
}

int logmgr_open(const char *const *dirs, int ndirs, int32_t broker_id, const char *cluster_id,
                const plog_config_t *defaults, logmgr_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (ndirs <= 0 || !cluster_id) {
        snprintf(err, errlen, "no log dirs configured");
        return -1;
    }
    logmgr_t *m = calloc(1, sizeof(*m));
    if (!m || !(m->dirs = calloc((size_t)ndirs, sizeof(char *))) || !(m->dir_parts = calloc((size_t)ndirs, sizeof(int))) ||
        !(m->buckets = calloc(256, sizeof(lm_part_t *))) || !(m->cluster_id = strdup(cluster_id))) {
        snprintf(err, errlen, "out of memory");
        if (m)
            logmgr_free(m);
        return -1;
    }
    m->nbuckets = 256;
    m->ndirs = ndirs;
    m->broker_id = broker_id;
    m->defaults = *defaults;
    for (int i = 0; i < ndirs; i++) {
        if (!(m->dirs[i] = strdup(dirs[i]))) {
            snprintf(err, errlen, "out of memory");
            logmgr_free(m);
            return -1;
        }
    }
    for (int i = 0; i < ndirs; i++) {
        if (open_dir(m, i, err, errlen) < 0) {
            logmgr_free(m);
            return -1;
        }
    }
    *out = m;
    return 0;
}

plog_t *logmgr_get(logmgr_t *m, const char *topic, int32_t partition)
{
    lm_part_t *p = *part_slot(m, topic, partition);
    return p ? p->l : NULL;
}

plog_t *logmgr_create(logmgr_t *m, const char *topic, int32_t partition, const plog_config_t *cfg)
{
    plog_t *l = logmgr_get(m, topic, partition);
    if (l || !topic_ok(topic) || partition < 0)
        return l;
    int di = 0;
    for (int i = 1; i < m->ndirs; i++)
        if (m->dir_parts[i] < m->dir_parts[di])
            di = i;
    char path[4096], err[512] = "out of memory";
    snprintf(path, sizeof(path), "%s/%s-%" PRId32, m->dirs[di], topic, partition);
    l = plog_new_empty(path, topic, partition, cfg ? cfg : &m->defaults, err, sizeof(err));
    if (l && lfile_fsync_dir(m->dirs[di]) < 0)
        wlog_warn("cannot fsync %s: %s", m->dirs[di], strerror(errno));
    if (l && part_add(m, l, di, -1) < 0) {
        plog_close(l);
        l = NULL;
    }
    if (!l)
        wlog_error("cannot create log for %s-%" PRId32 ": %s", topic, partition, err);
    else
        wlog_info("created log for %s-%" PRId32 " in %s", topic, partition, m->dirs[di]);
    return l;
}

int logmgr_delete(logmgr_t *m, const char *topic, int32_t partition)
{
    lm_part_t **slot = part_slot(m, topic, partition), *p = *slot;
    if (!p)
        return -ENOENT;
    *slot = p->next;
    m->nparts--;
    m->dir_parts[p->dir]--;
    char from[4096], to[4096];
    snprintf(from, sizeof(from), "%s", plog_dir(p->l));
    plog_close(p->l);
    static unsigned seq;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(to, sizeof(to), "%s/%s-%" PRId32 ".%08lx%08lx%04x-delete", m->dirs[p->dir], topic, partition,
             (unsigned long)ts.tv_sec, (unsigned long)ts.tv_nsec, ++seq & 0xffff);
    int rc = 0;
    if (rename(from, to) < 0) {
        rc = -errno;
        wlog_error("cannot rename %s for deletion: %s", from, strerror(errno));
    } else {
        /* a crash from here on leaves a "-delete" dir that the next open removes */
        lfile_fsync_dir(m->dirs[p->dir]);
        rc = lfile_rm_rf(to);
    }
    free(p);
    return rc;
}

void logmgr_foreach(logmgr_t *m, void (*fn)(plog_t *l, void *arg), void *arg)
{
    for (size_t i = 0; i < m->nbuckets; i++)
        for (lm_part_t *p = m->buckets[i], *nx; p; p = nx) {
            nx = p->next;
            fn(p->l, arg);
        }
}

int logmgr_retention(logmgr_t *m, int64_t now_ms)
{
    int total = 0;
    for (size_t i = 0; i < m->nbuckets; i++)
        for (lm_part_t *p = m->buckets[i]; p; p = p->next) {
            int n = plog_retention(p->l, now_ms);
            if (n > 0)
                total += n;
        }
    return total;
}

/* Entries of dir di: value(l) per partition, skipping negatives. */
static int dir_entries(logmgr_t *m, int di, int64_t (*value)(plog_t *l, void *arg), void *arg, lckpt_ent_t **out,
                       size_t *n)
{
    lckpt_ent_t *e = calloc((size_t)m->dir_parts[di] + 1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < m->nbuckets; i++)
        for (lm_part_t *p = m->buckets[i]; p; p = p->next) {
            if (p->dir != di || k >= (size_t)m->dir_parts[di])
                continue;
            int64_t v = value(p->l, arg);
            if (v >= 0)
                e[k++] = (lckpt_ent_t){(char *)plog_topic(p->l), plog_partition(p->l), v};
        }
    *out = e;
    *n = k;
    return 0;
}

static int64_t val_flush(plog_t *l, void *arg)
{
    int *rc = arg;
    int64_t rp = plog_flush(l);
    if (rp < 0 && *rc == 0)
        *rc = (int)rp;
    return rp < 0 ? plog_recovery_point(l) : rp;
}

static int64_t val_start(plog_t *l, void *arg)
{
    (void)arg;
    return plog_start_offset(l);
}

static int write_dir_file(logmgr_t *m, int di, const char *name, int64_t (*value)(plog_t *, void *), void *arg)
{
    lckpt_ent_t *e;
    size_t n;
    char path[4096];
    int rc = dir_entries(m, di, value, arg, &e, &n);
    if (rc < 0)
        return rc;
    snprintf(path, sizeof(path), "%s/%s", m->dirs[di], name);
    rc = lckpt_write(path, e, n);
    free(e); /* topics are borrowed from the logs */
    if (rc < 0)
        wlog_error("cannot write %s: %s", path, strerror(-rc));
    return rc;
}

static int checkpoint_dir(logmgr_t *m, int di)
{
    int frc = 0;
    int rc = write_dir_file(m, di, RP_FILE, val_flush, &frc);
    int rc2 = write_dir_file(m, di, LSO_FILE, val_start, NULL);
    return frc < 0 ? frc : rc < 0 ? rc : rc2;
}

int logmgr_checkpoint(logmgr_t *m)
{
    int rc = 0;
    for (int di = 0; di < m->ndirs; di++) {
        int r = checkpoint_dir(m, di);
        if (r < 0 && rc == 0)
            rc = r;
    }
    return rc;
}

int logmgr_write_hw_checkpoint(logmgr_t *m, int64_t (*hw_of)(plog_t *l, void *arg), void *arg)
{
    int rc = 0;
    for (int di = 0; di < m->ndirs; di++) {
        int r = write_dir_file(m, di, HW_FILE, hw_of, arg);
        if (r < 0 && rc == 0)
            rc = r;
    }
    return rc;
}

int64_t logmgr_read_hw(logmgr_t *m, const plog_t *l)
{
    lm_part_t *p = *part_slot(m, plog_topic(l), plog_partition(l));
    return p ? p->hw_at_open : -1;
}

bool logmgr_unclean_start(const logmgr_t *m) { return m->unclean; }

void logmgr_unclean_acknowledged(logmgr_t *m)
{
    if (!m->unclean)
        return;
    for (int di = 0; di < m->ndirs; di++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/" UNCLEAN_FILE, m->dirs[di]);
        if (unlink(path) < 0 && errno != ENOENT) {
            wlog_error("cannot remove %s: %s", path, strerror(errno));
            return; /* still unclean: the next start registers so again */
        }
        if (lfile_fsync_dir(m->dirs[di]) < 0)
            wlog_warn("cannot fsync %s: %s", m->dirs[di], strerror(errno));
    }
    m->unclean = false;
}

void logmgr_close(logmgr_t *m, bool clean)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nbuckets; i++)
        for (lm_part_t *p = m->buckets[i]; p; p = p->next)
            plog_seal(p->l);
    for (int di = 0; di < m->ndirs; di++) {
        /* the marker promises that every file of the dir is whole and indexed */
        if (checkpoint_dir(m, di) == 0 && clean) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/" CLEAN_MARKER, m->dirs[di]);
            int rc = lfile_write_atomic(path, "", 0);
            if (rc < 0)
                wlog_error("cannot write %s: %s", path, strerror(-rc));
        }
    }
    logmgr_free(m);
}
