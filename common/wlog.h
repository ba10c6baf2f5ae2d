/*
 * wlog.h - logging to stderr in Kafka's shape:
 *   [2026-11-22 05:40:01,123] INFO [Broker id=1] message (weir.broker)
 * Thread-safe (one fprintf per line).  The component tag is set once at start.
 */
#ifndef WEIR_WLOG_H
#define WEIR_WLOG_H

enum wlog_level { WLOG_DEBUG, WLOG_INFO, WLOG_WARN, WLOG_ERROR };

void wlog_setup(const char *component, enum wlog_level min);
void wlog(enum wlog_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define wlog_debug(...) wlog(WLOG_DEBUG, __VA_ARGS__)
#define wlog_info(...) wlog(WLOG_INFO, __VA_ARGS__)
#define wlog_warn(...) wlog(WLOG_WARN, __VA_ARGS__)
#define wlog_error(...) wlog(WLOG_ERROR, __VA_ARGS__)

#endif
