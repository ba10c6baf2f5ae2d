/*
 * config.h - one table of definitions drives parsing of .properties files,
 * --override key=value, validation, --help and the documented conf/ files.
 *
 * A table is an array of cfg_def_t; each entry names a Kafka property, its
 * type, its default as text, its numeric range and where it lives in the
 * caller's struct (offsetof).  Field widths by type:
 *   CFG_INT int32_t, CFG_LONG int64_t, CFG_SHORT int16_t, CFG_BOOL bool,
 *   CFG_STRING char * (malloc'd; released by cfg_free).
 * A non-required entry with dflt == NULL is "unset" when absent: numeric
 * fields then hold CFG_UNSET_{INT,LONG,SHORT}, strings NULL, bools false
 * (Kafka's nullable keys such as log.retention.ms use this).
 */
#ifndef WEIR_CONFIG_H
#define WEIR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { CFG_INT, CFG_LONG, CFG_BOOL, CFG_STRING, CFG_SHORT } cfg_type_t;

typedef struct cfg_def {
    const char *name; /* Kafka's property name, e.g. "log.segment.bytes" */
    cfg_type_t type;
    const char *dflt; /* default as text; NULL = no default (required if 'required') */
    int64_t min, max; /* range for numeric types */
    size_t offset;    /* offsetof(struct, field) */
    bool required;
    const char *doc; /* one line */
} cfg_def_t;

#define CFG_UNSET_INT INT32_MIN
#define CFG_UNSET_LONG INT64_MIN
#define CFG_UNSET_SHORT INT16_MIN

/*
 * Parse `file` (Java .properties: key=value or key: value or key value,
 * # and ! comments, trailing-backslash continuation, whitespace trimmed;
 * file may be NULL), then each "key=value" override (later wins), then
 * defaults for absent keys.
 * Errors (err gets one line, the function returns -1 and leaves no string
 * allocated in `out`):
 *   Unknown configuration 'k' (in FILE line N)        / (in --override)
 *   Invalid value 'v' for configuration 'k': not a number | out of range [min,max] | not a boolean
 *   Missing required configuration 'k' which has no default value
 *   Cannot read configuration file 'F': <strerror>
 *   Invalid override 'x': expected key=value
 * Strings are malloc'd into the struct (char *).  Returns 0 on success.
 */
int cfg_load(const cfg_def_t *defs, size_t ndefs, void *out, const char *file,
             char *const *overrides, int noverrides, char *err, size_t errlen);

/* Free every CFG_STRING field of `out` and set it to NULL (safe to repeat). */
void cfg_free(const cfg_def_t *defs, size_t ndefs, void *out);

/* Print every key with default and doc in .properties form (--help, conf/ files). */
void cfg_print_help(const cfg_def_t *defs, size_t ndefs, FILE *out);

/*
 * Parse a daemon command line: PROG CONFIG_FILE [--override key=value]... [--help].
 * On error prints "PROG: <message>" to stderr and exits EX_CONFIG (78), or
 * EX_USAGE (64) for bad usage; --help prints usage + cfg_print_help to
 * stdout and exits 0.
 */
void cfg_cmdline(const char *prog, int argc, char **argv, const cfg_def_t *defs,
                 size_t ndefs, void *out);

/*
 * Listener parsing: "PLAINTEXT://host:port[,NAME://host:port]" gives the
 * first listener's host and port (empty host = 0.0.0.0, "[::1]" = ::1).
 * Returns 0, or -1 if malformed or host does not fit hostlen.
 */
int cfg_parse_listener(const char *listeners, char *host, size_t hostlen, int *port);

/* --- helpers for reload, DescribeConfigs and the daemons' own checks --- */

/* The definition named `name`, or NULL. */
const cfg_def_t *cfg_find(const cfg_def_t *defs, size_t ndefs, const char *name);

/* Parse `value` for `def` and store it in `out` (replacing a previous string).
 * 0, or -1 with "Invalid value ..." in err. */
int cfg_set(const cfg_def_t *def, void *out, const char *value, char *err, size_t errlen);

/* The current value of `def` in `out` as text ("" for an unset value).
 * Returns the length snprintf would have written. */
int cfg_format(const cfg_def_t *def, const void *out, char *buf, size_t buflen);

/* zookeeper.connect syntax: "host:port[,host:port...][/chroot]" with every
 * host:port well formed and the chroot (if any) absolute, without "//" and
 * without a trailing '/'.  0, or -1 with
 * "Invalid value 'v' for configuration 'key': <reason>". */
int cfg_check_zk_connect(const char *key, const char *v, char *err, size_t errlen);

/* Every comma-separated listener parses as NAME://host:port.  Same error form. */
int cfg_check_listeners(const char *key, const char *v, char *err, size_t errlen);

#endif
