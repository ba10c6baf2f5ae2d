/*
 * config.c - the table-driven configuration engine shared by both daemons.
 *
 * Owns: reading Java .properties files, applying --override key=value,
 * validating every value against its cfg_def_t (type and range), filling in
 * defaults, and the daemon command line (CONFIG_FILE [--override k=v]...).
 *
 * Invariants: after cfg_load returns 0 every field named by the table holds
 * a valid value (or its CFG_UNSET_* marker); after it returns -1 no string
 * is left allocated.  Every error message names the key and the value, so an
 * operator can fix the file without reading code.
 *
 * Thread: called from main() at start-up (and on reload, into a fresh
 * struct) before other threads touch the result; no global state.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

/* A growable text buffer for assembling one logical line. */
typedef struct {
    char *p;
    size_t len, cap;
} sbuf_t;

static int sbuf_add(sbuf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static void errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Append " (in ...)" to an error already in err, if there is room. */
static void err_where(char *err, size_t errlen, const char *file, int line)
{
    if (!err || errlen == 0)
        return;
    size_t n = strlen(err);
    if (file)
        snprintf(err + n, errlen - n, " (in %s line %d)", file, line);
    else
        snprintf(err + n, errlen - n, " (in --override)");
}

static void *field(void *out, const cfg_def_t *def) { return (char *)out + def->offset; }
static const void *cfield(const void *out, const cfg_def_t *def)
{
    return (const char *)out + def->offset;
}

/* Type's own bounds: a table range wider than the field could not be stored. */
static void type_bounds(cfg_type_t t, int64_t *lo, int64_t *hi)
{
    switch (t) {
    case CFG_SHORT: *lo = INT16_MIN; *hi = INT16_MAX; break;
    case CFG_INT: *lo = INT32_MIN; *hi = INT32_MAX; break;
    default: *lo = INT64_MIN; *hi = INT64_MAX; break;
    }
}

static int set_number(const cfg_def_t *def, void *out, const char *value, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (end == value || *end != '\0' || isspace((unsigned char)value[0])) {
        errf(err, errlen, "Invalid value '%s' for configuration '%s': not a number", value, def->name);
        return -1;
    }
    int64_t lo, hi;
    type_bounds(def->type, &lo, &hi);
    if (def->min > lo)
        lo = def->min;
    if (def->max < hi)
        hi = def->max;
    if (errno == ERANGE || v < lo || v > hi) {
        errf(err, errlen, "Invalid value '%s' for configuration '%s': out of range [%" PRId64 ",%" PRId64 "]",
             value, def->name, lo, hi);
        return -1;
    }
    void *f = field(out, def);
    if (def->type == CFG_SHORT)
        *(int16_t *)f = (int16_t)v;
    else if (def->type == CFG_INT)
        *(int32_t *)f = (int32_t)v;
    else
        *(int64_t *)f = (int64_t)v;
    return 0;
}

int cfg_set(const cfg_def_t *def, void *out, const char *value, char *err, size_t errlen)
{
    void *f = field(out, def);
    switch (def->type) {
    case CFG_INT:
    case CFG_LONG:
    case CFG_SHORT:
        return set_number(def, out, value, err, errlen);
    case CFG_BOOL:
        /* Kafka accepts exactly true/false, in any case. */
        if (strcasecmp(value, "true") == 0)
            *(bool *)f = true;
        else if (strcasecmp(value, "false") == 0)
            *(bool *)f = false;
        else {
            errf(err, errlen, "Invalid value '%s' for configuration '%s': not a boolean", value, def->name);
            return -1;
        }
        return 0;
    case CFG_STRING: {
        char *copy = strdup(value);
        if (!copy) {
            errf(err, errlen, "Out of memory storing configuration '%s'", def->name);
            return -1;
        }
        free(*(char **)f);
        *(char **)f = copy;
        return 0;
    }
    }
    errf(err, errlen, "Configuration '%s' has an unknown type", def->name);
    return -1;
}

static void set_unset(const cfg_def_t *def, void *out)
{
    void *f = field(out, def);
    switch (def->type) {
    case CFG_INT: *(int32_t *)f = CFG_UNSET_INT; break;
    case CFG_LONG: *(int64_t *)f = CFG_UNSET_LONG; break;
    case CFG_SHORT: *(int16_t *)f = CFG_UNSET_SHORT; break;
    case CFG_BOOL: *(bool *)f = false; break;
    case CFG_STRING: free(*(char **)f); *(char **)f = NULL; break;
    }
}

const cfg_def_t *cfg_find(const cfg_def_t *defs, size_t ndefs, const char *name)
{
    for (size_t i = 0; i < ndefs; i++)
        if (strcmp(defs[i].name, name) == 0)
            return &defs[i];
    return NULL;
}

/* Look up and set one key; `seen` records which keys the user gave. */
static int apply(const cfg_def_t *defs, size_t ndefs, void *out, bool *seen, const char *key,
                 const char *value, const char *file, int line, char *err, size_t errlen)
{
    const cfg_def_t *def = cfg_find(defs, ndefs, key);
    if (!def) {
        errf(err, errlen, "Unknown configuration '%s'", key);
        err_where(err, errlen, file, line);
        return -1;
    }
    if (cfg_set(def, out, value, err, errlen) < 0) {
        err_where(err, errlen, file, line);
        return -1;
    }
    seen[def - defs] = true;
    return 0;
}

/* Append the UTF-8 encoding of a \uXXXX escape (BMP only, as Java's loader). */
static int add_utf8(sbuf_t *b, unsigned cp)
{
    char u[3];
    if (cp < 0x80) {
        u[0] = (char)cp;
        return sbuf_add(b, u, 1);
    }
    if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        return sbuf_add(b, u, 2);
    }
    u[0] = (char)(0xE0 | (cp >> 12));
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F));
    return sbuf_add(b, u, 3);
}

/*
 * Unescape s[0..n) into b.  Sets *kept to the length of b after the last
 * escaped character, so trailing-whitespace trimming spares "\ ".
 * Stops at the first unescaped char in `stop` (if stop != NULL); returns the
 * number of input bytes consumed, or (size_t)-1 on memory failure.
 */
static size_t unescape(const char *s, size_t n, const char *stop, sbuf_t *b, size_t *kept)
{
    size_t i = 0;
    *kept = 0;
    while (i < n) {
        char c = s[i];
        if (stop && strchr(stop, c))
            break;
        if (c != '\\') {
            if (sbuf_add(b, &c, 1) < 0)
                return (size_t)-1;
            i++;
            continue;
        }
        if (++i >= n)
            break; /* a dangling backslash is dropped, as Java does */
        c = s[i++];
        int rc;
        if (c == 'u' && i + 4 <= n && isxdigit((unsigned char)s[i]) && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2]) && isxdigit((unsigned char)s[i + 3])) {
            char hex[5] = {s[i], s[i + 1], s[i + 2], s[i + 3], 0};
            rc = add_utf8(b, (unsigned)strtoul(hex, NULL, 16));
            i += 4;
        } else {
            char e = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 'f' ? '\f' : c;
            rc = sbuf_add(b, &e, 1);
        }
        if (rc < 0)
            return (size_t)-1;
        *kept = b->len;
    }
    return i;
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\f'; }

/* Split one logical line into key and value (Java rules) and apply it. */
static int parse_logical(const char *s, size_t n, const cfg_def_t *defs, size_t ndefs, void *out, bool *seen,
                         const char *file, int line, char *err, size_t errlen)
{
    sbuf_t key = {0}, val = {0};
    size_t kept, i;
    int rc = -1;
    i = unescape(s, n, "=: \t\f", &key, &kept);
    if (i == (size_t)-1 || sbuf_add(&key, "", 0) < 0)
        goto oom;
    while (i < n && is_ws(s[i]))
        i++;
    if (i < n && (s[i] == '=' || s[i] == ':'))
        i++;
    while (i < n && is_ws(s[i]))
        i++;
    if (unescape(s + i, n - i, NULL, &val, &kept) == (size_t)-1 || sbuf_add(&val, "", 0) < 0)
        goto oom;
    while (val.len > kept && isspace((unsigned char)val.p[val.len - 1]))
        val.p[--val.len] = '\0';
    rc = apply(defs, ndefs, out, seen, key.p, val.p, file, line, err, errlen);
    goto done;
oom:
    errf(err, errlen, "Out of memory reading %s line %d", file, line);
done:
    free(key.p);
    free(val.p);
    return rc;
}

/* True if the line ends in an odd number of backslashes (a continuation). */
static bool continues(const char *s, size_t n)
{
    size_t k = 0;
    while (k < n && s[n - 1 - k] == '\\')
        k++;
    return k % 2 == 1;
}

static int load_file(const cfg_def_t *defs, size_t ndefs, void *out, bool *seen, const char *file, char *err,
                     size_t errlen)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        errf(err, errlen, "Cannot read configuration file '%s': %s", file, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    sbuf_t logical = {0};
    bool cont = false;
    int lineno = 0, start = 0, rc = 0;
    while (rc == 0 && (got = getline(&line, &cap, f)) != -1) {
        lineno++;
        size_t n = (size_t)got;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        const char *p = line;
        while (n > 0 && is_ws(*p))
            p++, n--;
        if (!cont) {
            if (n == 0 || *p == '#' || *p == '!')
                continue; /* comments never continue onto the next line */
            start = lineno;
            logical.len = 0;
        }
        cont = continues(p, n);
        if (sbuf_add(&logical, p, cont ? n - 1 : n) < 0) {
            errf(err, errlen, "Out of memory reading %s line %d", file, lineno);
            rc = -1;
        } else if (!cont)
            rc = parse_logical(logical.p, logical.len, defs, ndefs, out, seen, file, start, err, errlen);
    }
    if (rc == 0 && cont) /* a continuation at end of file ends the entry */
        rc = parse_logical(logical.p, logical.len, defs, ndefs, out, seen, file, start, err, errlen);
    free(line);
    free(logical.p);
    fclose(f);
    return rc;
}

static int apply_overrides(const cfg_def_t *defs, size_t ndefs, void *out, bool *seen, char *const *ov, int nov,
                           char *err, size_t errlen)
{
    for (int i = 0; i < nov; i++) {
        const char *eq = strchr(ov[i], '=');
        if (!eq || eq == ov[i]) {
            errf(err, errlen, "Invalid override '%s': expected key=value", ov[i]);
            return -1;
        }
        size_t klen = (size_t)(eq - ov[i]);
        char *key = strndup(ov[i], klen);
        if (!key) {
            errf(err, errlen, "Out of memory");
            return -1;
        }
        int rc = apply(defs, ndefs, out, seen, key, eq + 1, NULL, 0, err, errlen);
        free(key);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int apply_defaults(const cfg_def_t *defs, size_t ndefs, void *out, const bool *seen, char *err,
                          size_t errlen)
{
    for (size_t i = 0; i < ndefs; i++) {
        if (seen[i])
            continue;
        if (defs[i].dflt) {
            if (cfg_set(&defs[i], out, defs[i].dflt, err, errlen) < 0)
                return -1; /* a table bug; the message still names the key */
        } else if (defs[i].required) {
            errf(err, errlen, "Missing required configuration '%s' which has no default value", defs[i].name);
            return -1;
        } else
            set_unset(&defs[i], out);
    }
    return 0;
}

int cfg_load(const cfg_def_t *defs, size_t ndefs, void *out, const char *file, char *const *overrides,
             int noverrides, char *err, size_t errlen)
{
    /* Start from NULL strings so that cfg_set can free what it replaces and
     * the error path can free everything. */
    for (size_t i = 0; i < ndefs; i++)
        if (defs[i].type == CFG_STRING)
            *(char **)field(out, &defs[i]) = NULL;
    bool *seen = calloc(ndefs ? ndefs : 1, sizeof *seen);
    if (!seen) {
        errf(err, errlen, "Out of memory");
        return -1;
    }
    int rc = 0;
    if (file)
        rc = load_file(defs, ndefs, out, seen, file, err, errlen);
    if (rc == 0)
        rc = apply_overrides(defs, ndefs, out, seen, overrides, noverrides, err, errlen);
    if (rc == 0)
        rc = apply_defaults(defs, ndefs, out, seen, err, errlen);
    free(seen);
    if (rc < 0)
        cfg_free(defs, ndefs, out);
    return rc;
}

void cfg_free(const cfg_def_t *defs, size_t ndefs, void *out)
{
    for (size_t i = 0; i < ndefs; i++) {
        if (defs[i].type != CFG_STRING)
            continue;
        char **s = field(out, &defs[i]);
        free(*s);
        *s = NULL;
    }
}

int cfg_format(const cfg_def_t *def, const void *out, char *buf, size_t buflen)
{
    const void *f = cfield(out, def);
    switch (def->type) {
    case CFG_INT: {
        int32_t v = *(const int32_t *)f;
        return v == CFG_UNSET_INT ? snprintf(buf, buflen, "%s", "") : snprintf(buf, buflen, "%" PRId32, v);
    }
    case CFG_LONG: {
        int64_t v = *(const int64_t *)f;
        return v == CFG_UNSET_LONG ? snprintf(buf, buflen, "%s", "") : snprintf(buf, buflen, "%" PRId64, v);
    }
    case CFG_SHORT: {
        int16_t v = *(const int16_t *)f;
        return v == CFG_UNSET_SHORT ? snprintf(buf, buflen, "%s", "") : snprintf(buf, buflen, "%d", (int)v);
    }
    case CFG_BOOL:
        return snprintf(buf, buflen, "%s", *(const bool *)f ? "true" : "false");
    case CFG_STRING: {
        const char *s = *(char *const *)f;
        return snprintf(buf, buflen, "%s", s ? s : "");
    }
    }
    return snprintf(buf, buflen, "%s", "");
}

static const char *type_name(cfg_type_t t)
{
    switch (t) {
    case CFG_INT: return "int";
    case CFG_LONG: return "long";
    case CFG_SHORT: return "short";
    case CFG_BOOL: return "boolean";
    case CFG_STRING: return "string";
    }
    return "?";
}

void cfg_print_help(const cfg_def_t *defs, size_t ndefs, FILE *out)
{
    for (size_t i = 0; i < ndefs; i++) {
        const cfg_def_t *d = &defs[i];
        fprintf(out, "# %s (%s", d->doc, type_name(d->type));
        if (d->type == CFG_INT || d->type == CFG_LONG || d->type == CFG_SHORT) {
            int64_t lo, hi;
            type_bounds(d->type, &lo, &hi);
            fprintf(out, ", %" PRId64 "..", d->min > lo ? d->min : lo);
            if (d->max < hi)
                fprintf(out, "%" PRId64, d->max);
            else
                fprintf(out, "max");
        }
        if (!d->dflt)
            fprintf(out, d->required ? ", required" : ", no default");
        fprintf(out, ")\n");
        if (d->dflt)
            fprintf(out, "%s=%s\n\n", d->name, d->dflt);
        else
            fprintf(out, "#%s=\n\n", d->name);
    }
}

static void usage(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s CONFIG_FILE [--override key=value]... [--help]\n", prog);
}

static void cmdline_help(const char *prog, const cfg_def_t *defs, size_t ndefs)
{
    usage(stdout, prog);
    printf("\nStarts %s with the properties in CONFIG_FILE; each --override replaces one\n"
           "property (later ones win).  Properties, their defaults and ranges:\n\n",
           prog);
    cfg_print_help(defs, ndefs, stdout);
}

static int cmdline_usage_error(const char *prog, const char *msg, const char *arg)
{
    fprintf(stderr, "%s: %s%s%s%s\n", prog, msg, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
    usage(stderr, prog);
    return EX_USAGE;
}

/* Split argv into the config file and overrides.  Returns -1 to go on, or
 * the exit status (0 after --help). */
static int cmdline_parse(const char *prog, int argc, char **argv, const cfg_def_t *defs, size_t ndefs,
                         const char **file, char **ov, int *nov)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cmdline_help(prog, defs, ndefs);
            return 0;
        } else if (strcmp(a, "--override") == 0) {
            if (i + 1 >= argc)
                return cmdline_usage_error(prog, "option requires key=value:", a);
            ov[(*nov)++] = argv[++i];
        } else if (strncmp(a, "--override=", 11) == 0)
            ov[(*nov)++] = argv[i] + 11;
        else if (a[0] == '-' && a[1] != '\0')
            return cmdline_usage_error(prog, "unknown option", a);
        else if (*file)
            return cmdline_usage_error(prog, "unexpected argument", a);
        else
            *file = a;
    }
    if (!*file)
        return cmdline_usage_error(prog, "missing CONFIG_FILE", NULL);
    return -1;
}

void cfg_cmdline(const char *prog, int argc, char **argv, const cfg_def_t *defs, size_t ndefs, void *out)
{
    const char *file = NULL;
    char **ov = calloc(argc > 0 ? (size_t)argc : 1, sizeof *ov);
    int nov = 0;
    if (!ov) {
        fprintf(stderr, "%s: out of memory\n", prog);
        exit(EX_OSERR);
    }
    int status = cmdline_parse(prog, argc, argv, defs, ndefs, &file, ov, &nov);
    if (status >= 0) {
        free(ov);
        exit(status);
    }
    char err[512];
    int rc = cfg_load(defs, ndefs, out, file, ov, nov, err, sizeof err);
    free(ov);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        exit(EX_CONFIG);
    }
}

/* Parse "host:port" or "[v6]:port" of length n into host/port. */
static int parse_hostport(const char *s, size_t n, char *host, size_t hostlen, int *port)
{
    const char *h = s, *colon;
    size_t hl;
    if (n > 0 && s[0] == '[') {
        const char *rb = memchr(s, ']', n);
        if (!rb || rb + 1 >= s + n || rb[1] != ':')
            return -1;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = NULL;
        for (size_t i = 0; i < n; i++)
            if (s[i] == ':')
                colon = s + i;
        if (!colon)
            return -1;
        hl = (size_t)(colon - s);
        if (memchr(s, '[', hl) || memchr(s, ']', hl))
            return -1;
    }
    const char *p = colon + 1, *end = s + n;
    if (p == end || end - p > 5)
        return -1;
    int v = 0;
    for (; p < end; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v > 65535)
        return -1;
    if (hl == 0) {
        h = "0.0.0.0";
        hl = 7;
    }
    if (hl + 1 > hostlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = v;
    return 0;
}

int cfg_parse_listener(const char *listeners, char *host, size_t hostlen, int *port)
{
    if (!listeners || !host || hostlen == 0 || !port)
        return -1;
    const char *s = listeners;
    while (isspace((unsigned char)*s))
        s++;
    const char *comma = strchr(s, ',');
    size_t n = comma ? (size_t)(comma - s) : strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    const char *sep = NULL;
    for (size_t i = 0; i + 3 <= n; i++)
        if (memcmp(s + i, "://", 3) == 0) {
            sep = s + i;
            break;
        }
    if (!sep || sep == s)
        return -1;
    for (const char *p = s; p < sep; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            return -1; /* listener names are identifiers, e.g. PLAINTEXT, INTERNAL */
    const char *hp = sep + 3;
    return parse_hostport(hp, (size_t)(s + n - hp), host, hostlen, port);
}

int cfg_check_listeners(const char *key, const char *v, char *err, size_t errlen)
{
    const char *s = v;
    do {
        char host[256];
        int port;
        if (cfg_parse_listener(s, host, sizeof host, &port) < 0) {
            errf(err, errlen, "Invalid value '%s' for configuration '%s': expected NAME://host:port[,NAME://host:port]",
                 v, key);
            return -1;
        }
        s = strchr(s, ',');
    } while (s && *++s);
    if (s) { /* a trailing comma */
        errf(err, errlen, "Invalid value '%s' for configuration '%s': empty listener", v, key);
        return -1;
    }
    return 0;
}

int cfg_check_zk_connect(const char *key, const char *v, char *err, size_t errlen)
{
    const char *slash = strchr(v, '/');
    size_t hosts_len = slash ? (size_t)(slash - v) : strlen(v);
    const char *why = NULL;
    if (hosts_len == 0)
        why = "no host:port";
    for (const char *h = v; !why && h < v + hosts_len;) {
        const char *c = memchr(h, ',', (size_t)(v + hosts_len - h));
        size_t n = c ? (size_t)(c - h) : (size_t)(v + hosts_len - h);
        char host[256];
        int port;
        if (parse_hostport(h, n, host, sizeof host, &port) < 0 || port == 0 || n == 0 || h[0] == ':')
            why = "expected host:port[,host:port...][/chroot]";
        h += n + 1;
        if (c && h >= v + hosts_len)
            why = "empty host:port after ','";
    }
    if (!why && slash && (strstr(slash, "//") || (strlen(slash) > 1 && slash[strlen(slash) - 1] == '/')))
        why = "the chroot must be an absolute path without '//' or a trailing '/'";
    if (why) {
        errf(err, errlen, "Invalid value '%s' for configuration '%s': %s", v, key, why);
        return -1;
    }
    return 0;
}
