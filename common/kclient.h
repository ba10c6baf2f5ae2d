/*
 * kclient.h - a blocking Kafka-protocol client: one TCP connection, one
 * request in flight.  Used by the controller's per-broker channel threads
 * and by brokers calling the controller.
 *
 * A failed call (timeout, short read, oversized or mismatched response)
 * leaves the connection unusable: every later call fails at once; close it
 * and connect again.
 */
#ifndef WEIR_KCLIENT_H
#define WEIR_KCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest response frame accepted (checked before allocating). */
#define KCLIENT_MAX_RESPONSE (100u * 1024 * 1024)

typedef struct kclient kclient_t;

kclient_t *kclient_connect(const char *host, int port, int timeout_ms, char *err, size_t errlen);
/* Send one request (header v1: api key, version, next correlation id, client
 * id) with `body`, wait up to timeout_ms for the response, check the
 * correlation id, return the response body (after the v0 response header) in
 * *resp (malloc; caller frees; non-NULL even when empty).  0 or -1.
 * timeout_ms <= 0 waits without limit (also in kclient_connect). */
int kclient_call(kclient_t *c, int16_t api_key, int16_t api_version, const char *client_id, const uint8_t *body,
                 size_t body_len, int timeout_ms, uint8_t **resp, size_t *resp_len);
/* The same for flexible versions (e.g. AlterPartition, all versions):
 * request header v2 (empty tagged fields after the client id) and response
 * header v1 (tagged fields after the correlation id, skipped). */
int kclient_call_flex(kclient_t *c, int16_t api_key, int16_t api_version, const char *client_id,
                      const uint8_t *body, size_t body_len, int timeout_ms, uint8_t **resp, size_t *resp_len);
/* Text of the last failure ("" if none), for logs. */
const char *kclient_error(const kclient_t *c);
void kclient_close(kclient_t *c);

#endif
