/*
 * epoch.c - the leader epoch cache of one partition: (epoch, start offset)
 * pairs in increasing order of both, persisted to <partition dir>/
 * leader-epoch-checkpoint ("0", count, then "<epoch> <startOffset>" lines).
 *
 * Kafka's LeaderEpochFileCache semantics: assign appends a newer epoch,
 * truncation from the end follows log truncation, truncation from the start
 * follows the log start offset, and end_offset answers OffsetForLeaderEpoch.
 * Thread: the owning partition log's thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/log/log_int.h"

#define EPOCH_FILE "leader-epoch-checkpoint"

void lepochs_free(lepochs_t *c)
{
    free(c->e);
    c->e = NULL;
    c->n = c->cap = 0;
}

static int ep_push(lepochs_t *c, int32_t epoch, int64_t start)
{
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        lepoch_t *p = realloc(c->e, nc * sizeof(*p));
        if (!p)
            return -ENOMEM;
        c->e = p;
        c->cap = nc;
    }
    c->e[c->n++] = (lepoch_t){epoch, start};
    return 0;
}

int lepochs_load(lepochs_t *c, const char *dir)
{
    char path[4096], *buf;
    lepochs_free(c);
    snprintf(path, sizeof(path), "%s/" EPOCH_FILE, dir);
    int rc = lfile_read_small(path, &buf, 16u << 20);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    char *save = NULL, *line = strtok_r(buf, "\n", &save);
    char *cnt = line ? strtok_r(NULL, "\n", &save) : NULL;
    char *end = NULL;
    long long n = cnt ? strtoll(cnt, &end, 10) : -1;
    rc = (!line || strcmp(line, "0") != 0 || !cnt || *end != '\0' || n < 0) ? -EINVAL : 0;
    while (rc == 0 && (line = strtok_r(NULL, "\n", &save)) != NULL) {
        long long ep = strtoll(line, &end, 10), so;
        char *o = end;
        if (end == line || *end != ' ' || ep < 0 || ep > INT32_MAX)
            rc = -EINVAL;
        else if ((so = strtoll(o + 1, &end, 10)) < 0 || end == o + 1 || *end != '\0')
            rc = -EINVAL;
        else if (c->n && (ep <= c->e[c->n - 1].epoch || so < c->e[c->n - 1].start))
            rc = -EINVAL; /* the cache must be increasing in both */
        else
            rc = ep_push(c, (int32_t)ep, so);
    }
    if (rc == 0 && c->n != (size_t)n)
        rc = -EINVAL;
    free(buf);
    if (rc < 0)
        lepochs_free(c);
    return rc;
}

int lepochs_write(const lepochs_t *c, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/" EPOCH_FILE, dir);
    size_t cap = 32 + c->n * 40, len;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    len = (size_t)snprintf(buf, cap, "0\n%zu\n", c->n);
    for (size_t i = 0; i < c->n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%" PRId32 " %" PRId64 "\n", c->e[i].epoch, c->e[i].start);
    int rc = lfile_write_atomic(path, buf, len);
    free(buf);
    return rc;
}

int lepochs_assign(lepochs_t *c, int32_t epoch, int64_t start)
{
    if (epoch < 0 || start < 0 || (c->n && c->e[c->n - 1].epoch >= epoch))
        return 0;
    /* a newer epoch that starts earlier supersedes entries it overlaps */
    while (c->n && c->e[c->n - 1].start >= start)
        c->n--;
    return ep_push(c, epoch, start) < 0 ? -ENOMEM : 1;
}

int lepochs_truncate_end(lepochs_t *c, int64_t end)
{
    size_t n0 = c->n;
    while (c->n && c->e[c->n - 1].start >= end)
        c->n--;
    return c->n != n0;
}

int lepochs_truncate_start(lepochs_t *c, int64_t start)
{
    size_t k = 0; /* entries [0, k) start at or below `start` */
    while (k < c->n && c->e[k].start <= start)
        k++;
    if (k == 0 || (k == 1 && c->e[0].start == start))
        return 0;
    /* keep the last of them, moved up to the new start */
    memmove(c->e, c->e + (k - 1), (c->n - (k - 1)) * sizeof(*c->e));
    c->n -= k - 1;
    c->e[0].start = start;
    return 1;
}

int64_t lepochs_end_offset(const lepochs_t *c, int32_t epoch, int64_t leo, int32_t *found)
{
    *found = -1;
    if (epoch < 0 || c->n == 0)
        return -1;
    if (c->e[c->n - 1].epoch == epoch) {
        *found = epoch;
        return leo;
    }
    size_t hi = 0; /* first entry with a higher epoch */
    while (hi < c->n && c->e[hi].epoch <= epoch)
        hi++;
    if (hi == c->n)
        return -1;
    *found = hi == 0 ? epoch : c->e[hi - 1].epoch;
    return c->e[hi].start;
}
