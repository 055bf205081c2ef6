/* Encoding and validation of the handoff protocol (see include/stint/proto.h
 * and docs/protocol.md). Pure functions: no I/O, no fds. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "stint/log.h"
#include "stint/proto.h"
#include "stint/util.h"

static const struct {
	const char *name;
	const char *env;
} fd_tags[] = {
	[STINT_FD_MNT] = { "mnt", "MNT" },
	[STINT_FD_PID] = { "pid", "PID" },
	[STINT_FD_NET] = { "net", "NET" },
	[STINT_FD_IPC] = { "ipc", "IPC" },
	[STINT_FD_UTS] = { "uts", "UTS" },
	[STINT_FD_USER] = { "user", "USER" },
	[STINT_FD_CGROUP] = { "cgroup", "CGROUP" },
	[STINT_FD_TIME] = { "time", "TIME" },
	[STINT_FD_PID_FOR_CHILDREN] = { "pid_for_children", "PID_FOR_CHILDREN" },
	[STINT_FD_TIME_FOR_CHILDREN] = { "time_for_children", "TIME_FOR_CHILDREN" },
	[STINT_FD_PIDFD] = { "pidfd", "PIDFD" },
	[STINT_FD_ROOT] = { "root", "ROOT" },
	[STINT_FD_READY] = { "ready", "READY" },
};

const char *stint_fd_tag_name(uint32_t tag)
{
	return tag >= 1 && tag < ARRAY_SIZE(fd_tags) ? fd_tags[tag].name : NULL;
}

const char *stint_fd_tag_env(uint32_t tag)
{
	return tag >= 1 && tag < ARRAY_SIZE(fd_tags) ? fd_tags[tag].env : NULL;
}

const char *stint_msg_type_name(uint32_t type)
{
	static const char *const names[] = { NULL, "HELLO", "READY", "ABORT", "ACK", "ERROR" };

	return type >= 1 && type < ARRAY_SIZE(names) ? names[type] : NULL;
}

/* A little cursor so that every read and write is bounds-checked in one place. */
struct cursor {
	uint8_t *p;
	size_t left;
	int overflow;
};

static void put(struct cursor *c, const void *src, size_t n)
{
	if (c->overflow || n > c->left) {
		c->overflow = 1;
		return;
	}
	if (n > 0) /* src may be NULL for an empty field: memcpy(p, NULL, 0) is UB */
		memcpy(c->p, src, n);
	c->p += n;
	c->left -= n;
}

static void put_u16(struct cursor *c, uint16_t v)
{
	put(c, &v, sizeof(v));
}

static void put_u32(struct cursor *c, uint32_t v)
{
	put(c, &v, sizeof(v));
}

static long put_header(uint8_t *buf, size_t cap, uint16_t type, size_t payload, struct cursor *c)
{
	if (payload > STINT_MSG_MAX - STINT_HDR_SIZE || STINT_HDR_SIZE + payload > cap) {
		errno = EMSGSIZE;
		return -1;
	}
	*c = (struct cursor){ .p = buf, .left = cap };
	put(c, STINT_PROTO_MAGIC, 4);
	put_u16(c, STINT_PROTO_VERSION);
	put_u16(c, type);
	put_u32(c, (uint32_t)payload);
	return (long)(STINT_HDR_SIZE + payload);
}

static int valid_path(const char *path, int allow_empty)
{
	size_t n = path ? strlen(path) : 0;

	if (n == 0)
		return allow_empty;
	return path[0] == '/' && n <= STINT_PATH_MAX;
}

long stint_encode_hello(uint8_t *buf, size_t cap, uint32_t pid, const uint32_t *tags, uint32_t nfds, const char *root)
{
	struct cursor c;
	size_t rlen;
	long total;

	if (nfds == 0 || nfds > STINT_MAX_FDS || !valid_path(root, 0)) {
		errno = EINVAL;
		return -1;
	}
	rlen = strlen(root);
	total = put_header(buf, cap, STINT_MSG_HELLO, 12 + 4 * (size_t)nfds + rlen, &c);
	if (total < 0)
		return -1;
	put_u32(&c, pid);
	put_u32(&c, nfds);
	put_u32(&c, (uint32_t)rlen);
	for (uint32_t i = 0; i < nfds; i++)
		put_u32(&c, tags[i]);
	put(&c, root, rlen);
	return total;
}

long stint_encode_ready(uint8_t *buf, size_t cap, uint32_t mode, const char *path)
{
	struct cursor c;
	size_t plen = path ? strlen(path) : 0;
	long total;

	if ((mode != STINT_READY_CHROOT && mode != STINT_READY_PIVOTED) || (mode == STINT_READY_PIVOTED && plen != 0) ||
	    !valid_path(path, 1)) {
		errno = EINVAL;
		return -1;
	}
	total = put_header(buf, cap, STINT_MSG_READY, 8 + plen, &c);
	if (total < 0)
		return -1;
	put_u32(&c, mode);
	put_u32(&c, (uint32_t)plen);
	put(&c, path, plen);
	return total;
}

long stint_encode_text(uint8_t *buf, size_t cap, uint16_t type, const char *text)
{
	struct cursor c;
	size_t n = strlen(text);
	long total;

	if ((type != STINT_MSG_ABORT && type != STINT_MSG_ERROR) || n == 0) {
		errno = EINVAL;
		return -1;
	}
	if (n > STINT_TEXT_MAX)
		n = STINT_TEXT_MAX; /* a reason is for humans: cut, don't fail */
	total = put_header(buf, cap, type, n, &c);
	if (total < 0)
		return -1;
	put(&c, text, n);
	return total;
}

long stint_encode_ack(uint8_t *buf, size_t cap)
{
	struct cursor c;

	return put_header(buf, cap, STINT_MSG_ACK, 0, &c);
}

/* ---- decoding ---- */

struct reader {
	const uint8_t *p;
	size_t left;
};

static int get(struct reader *r, void *dst, size_t n)
{
	if (n > r->left)
		return -1;
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
	return 0;
}

static int get_u32(struct reader *r, uint32_t *v)
{
	return get(r, v, sizeof(*v));
}

/* Copy a string field, refusing NUL bytes inside it. */
static int get_string(struct reader *r, char *dst, uint32_t n)
{
	if (n > r->left || memchr(r->p, '\0', n))
		return -1;
	memcpy(dst, r->p, n);
	dst[n] = '\0';
	r->p += n;
	r->left -= n;
	return 0;
}

static int decode_hello(struct reader *r, struct stint_hello *h, char *err, size_t errlen)
{
	uint32_t rlen;

	if (get_u32(r, &h->pid) || get_u32(r, &h->nfds) || get_u32(r, &rlen))
		return errorf(err, errlen, "HELLO: payload too short");
	if (h->nfds == 0 || h->nfds > STINT_MAX_FDS)
		return errorf(err, errlen, "HELLO: fd count %u outside 1..%d", h->nfds, STINT_MAX_FDS);
	for (uint32_t i = 0; i < h->nfds; i++) {
		if (get_u32(r, &h->tags[i]))
			return errorf(err, errlen, "HELLO: payload too short for %u fd tags", h->nfds);
	}
	if (rlen == 0 || rlen > STINT_PATH_MAX)
		return errorf(err, errlen, "HELLO: root path length %u outside 1..%d", rlen, STINT_PATH_MAX);
	if (get_string(r, h->root, rlen) || h->root[0] != '/')
		return errorf(err, errlen, "HELLO: root path is not an absolute path of %u bytes", rlen);
	return 0;
}

static int decode_ready(struct reader *r, struct stint_ready *m, char *err, size_t errlen)
{
	uint32_t plen;

	if (get_u32(r, &m->mode) || get_u32(r, &plen))
		return errorf(err, errlen, "READY: payload too short");
	if (m->mode != STINT_READY_CHROOT && m->mode != STINT_READY_PIVOTED)
		return errorf(err, errlen, "READY: unknown mode %u (1 = chroot, 2 = pivoted)", m->mode);
	if (plen > STINT_PATH_MAX)
		return errorf(err, errlen, "READY: path length %u over %d", plen, STINT_PATH_MAX);
	if (m->mode == STINT_READY_PIVOTED && plen != 0)
		return errorf(err, errlen, "READY: mode pivoted takes no path");
	if (get_string(r, m->path, plen))
		return errorf(err, errlen, "READY: path of %u bytes is truncated or holds a NUL byte", plen);
	if (plen > 0 && m->path[0] != '/')
		return errorf(err, errlen, "READY: path '%s' is not absolute", m->path);
	return 0;
}

static int decode_text(struct reader *r, const char *what, char *text, char *err, size_t errlen)
{
	uint32_t n = (uint32_t)r->left;

	if (n == 0 || n > STINT_TEXT_MAX)
		return errorf(err, errlen, "%s: reason length %u outside 1..%d", what, n, STINT_TEXT_MAX);
	if (get_string(r, text, n))
		return errorf(err, errlen, "%s: reason holds a NUL byte", what);
	for (char *p = text; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?'; /* keep a hostile reason from forging log lines */
	}
	return 0;
}

static int decode(const uint8_t *buf, size_t len, struct stint_msg *out, char *err, size_t errlen)
{
	struct reader r = { .p = buf, .left = len };
	char magic[4];
	uint32_t plen = 0; /* set by get_u32 below; gcc -fsanitize cannot see it */
	int rc;

	memset(out, 0, sizeof(*out));
	if (len < STINT_HDR_SIZE)
		return errorf(err, errlen, "message of %zu bytes is shorter than the %d-byte header", len,
			      STINT_HDR_SIZE);
	get(&r, magic, 4);
	get(&r, &out->version, 2);
	get(&r, &out->type, 2);
	get_u32(&r, &plen);
	if (memcmp(magic, STINT_PROTO_MAGIC, 4) != 0)
		return errorf(err, errlen, "bad magic: not a stint protocol message");
	if (out->version != STINT_PROTO_VERSION)
		return errorf(err, errlen, "unsupported protocol version %u (this side speaks %d)", out->version,
			      STINT_PROTO_VERSION);
	if (plen != r.left)
		return errorf(err, errlen, "length field says %u payload bytes but %zu arrived", plen, r.left);

	switch (out->type) {
	case STINT_MSG_HELLO:
		rc = decode_hello(&r, &out->hello, err, errlen);
		break;
	case STINT_MSG_READY:
		rc = decode_ready(&r, &out->ready, err, errlen);
		break;
	case STINT_MSG_ABORT:
		rc = decode_text(&r, "ABORT", out->text, err, errlen);
		break;
	case STINT_MSG_ERROR:
		rc = decode_text(&r, "ERROR", out->text, err, errlen);
		break;
	case STINT_MSG_ACK:
		rc = 0;
		break;
	default:
		return errorf(err, errlen, "unknown message type %u", out->type);
	}
	if (rc == 0 && r.left != 0)
		return errorf(err, errlen, "%s: %zu unexpected trailing bytes", stint_msg_type_name(out->type), r.left);
	return rc;
}

int stint_decode(const uint8_t *buf, size_t len, struct stint_msg *out, char *err, size_t errlen)
{
	int rc = decode(buf, len, out, err, errlen);

	/* A reason may quote the sender's bytes (a READY path): keep it one
	 * printable line, since it is logged and sent back in an ERROR. */
	for (char *p = err; rc < 0 && errlen > 0 && *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return rc;
}
