/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of RecordBatch v2.
 *
 * crc32c(0, buf, len) is the standard CRC-32C of buf (init and final xor are
 * applied inside), so crc32c(0, "123456789", 9) == 0xE3069283, and a CRC can
 * be continued: crc32c(crc32c(0, a, n), b, m) == CRC of a||b.
 * Thread-safe; uses the SSE4.2 crc32 instruction when the CPU has it.
 */
#ifndef WEIR_CRC32C_H
#define WEIR_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* The portable slicing-by-8 path alone (tests compare it with the fast one). */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif
