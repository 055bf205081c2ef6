/* Helpers shared by the protocol unit tests (test_proto.c, test_fdpass.c):
 * a full tag list, header field patching, and a number finder for checking
 * that error reasons name the values they refuse. */
#ifndef STINT_TEST_PROTO_UTIL_H
#define STINT_TEST_PROTO_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stint/proto.h"

static const uint32_t all_tags[] = {
	STINT_FD_MNT,
	STINT_FD_PID,
	STINT_FD_NET,
	STINT_FD_IPC,
	STINT_FD_UTS,
	STINT_FD_USER,
	STINT_FD_CGROUP,
	STINT_FD_TIME,
	STINT_FD_PID_FOR_CHILDREN,
	STINT_FD_TIME_FOR_CHILDREN,
	STINT_FD_PIDFD,
	STINT_FD_ROOT,
	STINT_FD_READY,
};
#define NTAGS ((uint32_t)(sizeof(all_tags) / sizeof(all_tags[0])))

/* Does s contain n as a whole decimal number (not part of a longer one)? */
static inline int has_number(const char *s, unsigned long n)
{
	for (const char *p = s; *p; p++) {
		if (*p >= '0' && *p <= '9' && (p == s || p[-1] < '0' || p[-1] > '9')) {
			char *end;
			unsigned long v = strtoul(p, &end, 10);

			if (v == n)
				return 1;
			p = end - 1;
		}
	}
	return 0;
}

static inline void set_u32(uint8_t *buf, size_t off, uint32_t v)
{
	memcpy(buf + off, &v, sizeof(v));
}

static inline void set_u16(uint8_t *buf, size_t off, uint16_t v)
{
	memcpy(buf + off, &v, sizeof(v));
}

/* The payload length field: bytes 8-11 of the header. */
static inline void set_plen(uint8_t *buf, uint32_t plen)
{
	set_u32(buf, 8, plen);
}

static inline long make_hello(uint8_t *buf, size_t cap, const char *root)
{
	return stint_encode_hello(buf, cap, 4242, all_tags, NTAGS, root);
}

#endif
