/*
 * ckpt.c - Kafka's offset checkpoint files and the small file helpers the log
 * uses (atomic replace, whole reads, recursive delete, full pread/pwrite).
 *
 * Checkpoint format: line 1 version "0", line 2 entry count, then one
 * "<topic> <partition> <offset>" line per entry.  Writes are atomic: a
 * "<file>.tmp" is written and fsynced, renamed over the file, and the
 * directory is fsynced, so a crash leaves the old or the new file whole.
 * Thread: callers' (the log's owner).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/log/log_int.h"

int lfile_pwrite_all(int fd, const void *buf, size_t len, int64_t pos)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
        pos += n;
    }
    return 0;
}

int lfile_pread_all(int fd, void *buf, size_t len, int64_t pos)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO; /* a short file is an I/O error for callers */
        p += n;
        len -= (size_t)n;
        pos += n;
    }
    return 0;
}

int lfile_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int lfile_write_atomic(const char *path, const char *data, size_t len)
{
    char tmp[4096], dir[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int rc = lfile_pwrite_all(fd, data, len, 0);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0) {
        unlink(tmp);
        return rc;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    return lfile_fsync_dir(dirname(dir));
}

int lfile_read_small(const char *path, char **out, size_t max)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = -errno;
    else if ((uint64_t)st.st_size > max)
        rc = -EFBIG;
    char *buf = rc == 0 ? malloc((size_t)st.st_size + 1) : NULL;
    if (rc == 0 && !buf)
        rc = -ENOMEM;
    if (rc == 0 && st.st_size > 0)
        rc = lfile_pread_all(fd, buf, (size_t)st.st_size, 0);
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[st.st_size] = '\0';
    *out = buf;
    return 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p) < 0 ? -1 : 0;
}

int lfile_rm_rf(const char *path)
{
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
        return errno == ENOENT ? 0 : -errno;
    return 0;
}

int lckpt_write(const char *path, const lckpt_ent_t *e, size_t n)
{
    size_t cap = 32 + n * 64, len = 0;
    for (size_t i = 0; i < n; i++)
        cap += strlen(e[i].topic);
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    len += (size_t)snprintf(buf, cap, "0\n%zu\n", n);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s %" PRId32 " %" PRId64 "\n", e[i].topic, e[i].partition,
                                e[i].offset);
    int rc = lfile_write_atomic(path, buf, len);
    free(buf);
    return rc;
}

void lckpt_free(lckpt_ent_t *e, size_t n)
{
    for (size_t i = 0; e && i < n; i++)
        free(e[i].topic);
    free(e);
}

/* Parse "<topic> <partition> <offset>"; the topic is NUL-terminated in place. */
static bool ckpt_line(char *line, lckpt_ent_t *e)
{
    char *sp1 = strchr(line, ' ');
    if (!sp1 || sp1 == line)
        return false;
    *sp1 = '\0';
    char *end;
    errno = 0;
    long long p = strtoll(sp1 + 1, &end, 10);
    if (errno || end == sp1 + 1 || *end != ' ' || p < 0 || p > INT32_MAX)
        return false;
    char *o = end + 1;
    long long off = strtoll(o, &end, 10);
    if (errno || end == o || *end != '\0')
        return false;
    e->topic = strdup(line);
    e->partition = (int32_t)p;
    e->offset = off;
    return e->topic != NULL;
}

static int ckpt_cmp(const void *a, const void *b)
{
    const lckpt_ent_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

int lckpt_read(const char *path, lckpt_ent_t **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    char *buf;
    int rc = lfile_read_small(path, &buf, 64u << 20);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    char *save = NULL, *line = strtok_r(buf, "\n", &save);
    char *cnt = line ? strtok_r(NULL, "\n", &save) : NULL;
    char *end = NULL;
    long long n = cnt ? strtoll(cnt, &end, 10) : -1;
    rc = (!line || strcmp(line, "0") != 0 || !cnt || *end != '\0' || n < 0 || n > 10000000) ? -EINVAL : 0;
    lckpt_ent_t *e = rc == 0 ? calloc((size_t)n + 1, sizeof(*e)) : NULL;
    if (rc == 0 && !e)
        rc = -ENOMEM;
    size_t got = 0;
    while (rc == 0 && (line = strtok_r(NULL, "\n", &save)) != NULL) {
        if (got == (size_t)n || !ckpt_line(line, &e[got]))
            rc = -EINVAL;
        else
            got++;
    }
    if (rc == 0 && got != (size_t)n)
        rc = -EINVAL;
    free(buf);
    if (rc < 0) {
        lckpt_free(e, got);
        return rc;
    }
    if (got)
        qsort(e, got, sizeof(*e), ckpt_cmp);
    *out = e;
    *nout = got;
    return 0;
}

/* Entries are sorted by lckpt_read, so a broker with many partitions opens in n log n. */
int64_t lckpt_find(const lckpt_ent_t *e, size_t n, const char *topic, int32_t partition)
{
    lckpt_ent_t key = {(char *)topic, partition, 0};
    const lckpt_ent_t *f = n ? bsearch(&key, e, n, sizeof(*e), ckpt_cmp) : NULL;
    return f ? f->offset : -1;
}
