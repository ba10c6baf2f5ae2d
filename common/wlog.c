/* wlog.c - stderr logging with Kafka-style timestamps and levels. */
#include "wlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static char g_component[64] = "weir";
static enum wlog_level g_min = WLOG_INFO;

void wlog_setup(const char *component, enum wlog_level min)
{
    snprintf(g_component, sizeof g_component, "%s", component);
    g_min = min;
}

void wlog(enum wlog_level lvl, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (lvl < g_min)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[%s,%03d] %s [%s] %s\n", ts, (int)(tv.tv_usec / 1000), names[lvl], g_component, msg);
}
