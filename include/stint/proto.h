/* The stint handoff protocol, version 1. docs/protocol.md is the normative
 * description; this header and src/proto.c implement it for both sides.
 *
 * Transport: a SOCK_SEQPACKET unix socket served by the init. One datagram
 * is one message. Every message starts with a 12-byte header:
 *
 *   bytes 0-3   magic "STNT"
 *   bytes 4-5   u16 protocol version (1)
 *   bytes 6-7   u16 message type (enum stint_msg_type)
 *   bytes 8-11  u32 payload length in bytes (the datagram is 12 + length)
 *
 * Integers are in the host's native byte order: both ends share a kernel. */
#ifndef STINT_PROTO_H
#define STINT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define STINT_PROTO_MAGIC "STNT"
#define STINT_PROTO_VERSION 1
#define STINT_HDR_SIZE 12
#define STINT_MSG_MAX 8192 /* largest datagram either side sends */
#define STINT_MAX_FDS 16 /* most fds a HELLO carries */
#define STINT_PATH_MAX 4095 /* longest path in HELLO or READY */
#define STINT_TEXT_MAX 1024 /* longest ABORT/ERROR reason */

enum stint_msg_type {
	STINT_MSG_HELLO = 1, /* init -> peer, carries the fds */
	STINT_MSG_READY = 2, /* peer -> init: the root is prepared */
	STINT_MSG_ABORT = 3, /* peer -> init: preparation failed */
	STINT_MSG_ACK = 4, /* init -> peer: READY accepted, switching now */
	STINT_MSG_ERROR = 5, /* init -> peer: message refused, with reason */
};

/* What each fd in a HELLO is. Values are part of the wire format. */
enum stint_fd_tag {
	STINT_FD_MNT = 1,
	STINT_FD_PID = 2,
	STINT_FD_NET = 3,
	STINT_FD_IPC = 4,
	STINT_FD_UTS = 5,
	STINT_FD_USER = 6,
	STINT_FD_CGROUP = 7,
	STINT_FD_TIME = 8,
	STINT_FD_PID_FOR_CHILDREN = 9,
	STINT_FD_TIME_FOR_CHILDREN = 10,
	STINT_FD_NS_LAST = 10, /* tags 1-10: namespaces, named as in /proc/PID/ns/ */
	STINT_FD_PIDFD = 11, /* pidfd_open() of the init itself */
	STINT_FD_ROOT = 12, /* O_PATH fd of the init's "/" */
	STINT_FD_READY = 13, /* eventfd: write a non-zero u64 to signal ready */
	STINT_FD_TAG_MAX = 13,
};

enum stint_ready_mode {
	STINT_READY_CHROOT = 1, /* init chroots into the given path */
	STINT_READY_PIVOTED = 2, /* peer pivot_root'ed the init's mount ns */
};

struct stint_hello {
	uint32_t pid; /* the init's pid in its own pid namespace */
	uint32_t nfds;
	uint32_t tags[STINT_MAX_FDS];
	char root[STINT_PATH_MAX + 1]; /* the init's default root to enter */
};

struct stint_ready {
	uint32_t mode; /* enum stint_ready_mode */
	char path[STINT_PATH_MAX + 1]; /* CHROOT: root to enter; "" = default */
};

struct stint_msg {
	uint16_t version;
	uint16_t type;
	union {
		struct stint_hello hello;
		struct stint_ready ready;
		char text[STINT_TEXT_MAX + 1]; /* ABORT and ERROR */
	};
};

/* Encoders write one datagram into buf and return its length, or -1 with
 * errno EINVAL (bad argument) or EMSGSIZE (does not fit in cap). */
long stint_encode_hello(uint8_t *buf, size_t cap, uint32_t pid, const uint32_t *tags, uint32_t nfds, const char *root);
long stint_encode_ready(uint8_t *buf, size_t cap, uint32_t mode, const char *path);
long stint_encode_text(uint8_t *buf, size_t cap, uint16_t type, const char *text);
long stint_encode_ack(uint8_t *buf, size_t cap);

/* Decode and validate one datagram of `len` bytes. On failure returns -1
 * and writes a one-line reason into err (an unknown version is named with
 * ours, so the caller can send it back as an ERROR). Control characters in
 * ABORT/ERROR texts become '?'. */
int stint_decode(const uint8_t *buf, size_t len, struct stint_msg *out, char *err, size_t errlen);

/* Names for logs and environment variables: "mnt", "pid_for_children",
 * "pidfd", ... and "MNT", "PID_FOR_CHILDREN", ...; NULL for unknown tags. */
const char *stint_fd_tag_name(uint32_t tag);
const char *stint_fd_tag_env(uint32_t tag);
const char *stint_msg_type_name(uint32_t type);

#endif
