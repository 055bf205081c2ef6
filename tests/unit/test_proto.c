/* Unit tests of the handoff protocol's encoding and validation
 * (src/proto.c): round trips of every message type, refusals by the
 * encoders, and every kind of malformed datagram the decoder must refuse
 * with a reason (bad header, truncation at every offset, trailing bytes,
 * bad fields, control characters), plus random corruption. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto_util.h"
#include "stint/proto.h"
#include "tap.h"

static int decode(const uint8_t *buf, size_t len, struct stint_msg *m, char *err, size_t errlen)
{
	err[0] = '\0';
	return stint_decode(buf, len, m, err, errlen);
}

/* decode must fail and give a reason; returns that reason for more checks. */
static int refused(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	static struct stint_msg m;

	return decode(buf, len, &m, err, errlen) == -1 && err[0] != '\0';
}

/* ---- encode/decode round trips ---- */

static void test_roundtrip_hello(void)
{
	uint8_t buf[STINT_MSG_MAX];
	struct stint_msg m;
	char err[256] = "";
	long n = make_hello(buf, sizeof(buf), "/.stint/root");
	int same = 1;

	is_int(n, STINT_HDR_SIZE + 12 + 4 * NTAGS + strlen("/.stint/root"), "HELLO encodes to header + fields");
	ok(memcmp(buf, "STNT", 4) == 0, "HELLO starts with the magic");
	is_int(decode(buf, (size_t)n, &m, err, sizeof(err)), 0, "HELLO decodes: %s", err);
	is_int(m.version, STINT_PROTO_VERSION, "HELLO version");
	is_int(m.type, STINT_MSG_HELLO, "HELLO type");
	is_int(m.hello.pid, 4242, "HELLO pid");
	is_int(m.hello.nfds, NTAGS, "HELLO fd count");
	for (uint32_t i = 0; i < NTAGS; i++)
		same &= m.hello.tags[i] == all_tags[i];
	ok(same, "HELLO tags survive in order");
	is_str(m.hello.root, "/.stint/root", "HELLO root");

	uint32_t one = STINT_FD_READY;
	n = stint_encode_hello(buf, sizeof(buf), 1, &one, 1, "/");
	ok(n > 0 && decode(buf, (size_t)n, &m, err, sizeof(err)) == 0 && m.hello.nfds == 1 &&
		   m.hello.tags[0] == STINT_FD_READY && strcmp(m.hello.root, "/") == 0,
	   "HELLO with one fd and root / round-trips");

	uint32_t sixteen[STINT_MAX_FDS];
	for (int i = 0; i < STINT_MAX_FDS; i++)
		sixteen[i] = (uint32_t)(i % STINT_FD_TAG_MAX) + 1;
	n = stint_encode_hello(buf, sizeof(buf), 1, sixteen, STINT_MAX_FDS, "/r");
	ok(n > 0 && decode(buf, (size_t)n, &m, err, sizeof(err)) == 0 && m.hello.nfds == STINT_MAX_FDS &&
		   m.hello.tags[15] == sixteen[15],
	   "HELLO with %d fds (the maximum) round-trips", STINT_MAX_FDS);
}

static void test_roundtrip_ready(void)
{
	uint8_t buf[STINT_MSG_MAX];
	struct stint_msg m;
	char err[256] = "", longpath[STINT_PATH_MAX + 1];
	long n;

	n = stint_encode_ready(buf, sizeof(buf), STINT_READY_CHROOT, "/mnt/new root");
	is_int(n, STINT_HDR_SIZE + 8 + strlen("/mnt/new root"), "READY chroot encodes to header + fields");
	ok(n > 0 && decode(buf, (size_t)n, &m, err, sizeof(err)) == 0, "READY chroot decodes: %s", err);
	is_int(m.type, STINT_MSG_READY, "READY type");
	is_int(m.ready.mode, STINT_READY_CHROOT, "READY mode chroot");
	is_str(m.ready.path, "/mnt/new root", "READY path (with a space)");

	n = stint_encode_ready(buf, sizeof(buf), STINT_READY_CHROOT, "");
	ok(n == STINT_HDR_SIZE + 8 && decode(buf, (size_t)n, &m, err, sizeof(err)) == 0 &&
		   m.ready.mode == STINT_READY_CHROOT && m.ready.path[0] == '\0',
	   "READY chroot with empty path (= default root) round-trips");
	n = stint_encode_ready(buf, sizeof(buf), STINT_READY_CHROOT, NULL);
	ok(n == STINT_HDR_SIZE + 8, "READY chroot with NULL path encodes as empty");

	n = stint_encode_ready(buf, sizeof(buf), STINT_READY_PIVOTED, "");
	ok(n > 0 && decode(buf, (size_t)n, &m, err, sizeof(err)) == 0 && m.ready.mode == STINT_READY_PIVOTED &&
		   m.ready.path[0] == '\0',
	   "READY pivoted round-trips");

	memset(longpath, 'a', STINT_PATH_MAX);
	longpath[0] = '/';
	longpath[STINT_PATH_MAX] = '\0';
	n = stint_encode_ready(buf, sizeof(buf), STINT_READY_CHROOT, longpath);
	ok(n > 0 && decode(buf, (size_t)n, &m, err, sizeof(err)) == 0 && strcmp(m.ready.path, longpath) == 0,
	   "READY with a path of %d bytes (the maximum) round-trips", STINT_PATH_MAX);
}

static void test_roundtrip_text_ack(void)
{
	uint8_t buf[STINT_MSG_MAX];
	struct stint_msg m;
	char err[256] = "", big[STINT_TEXT_MAX + 100];
	long n;

	n = stint_encode_text(buf, sizeof(buf), STINT_MSG_ABORT, "overlay mount failed: ENOSPC");
	ok(n > 0 && decode(buf, (size_t)n, &m, err, sizeof(err)) == 0 && m.type == STINT_MSG_ABORT, "ABORT decodes: %s",
	   err);
	is_str(m.text, "overlay mount failed: ENOSPC", "ABORT text");

	n = stint_encode_text(buf, sizeof(buf), STINT_MSG_ERROR, "unsupported protocol version 2");
	ok(n > 0 && decode(buf, (size_t)n, &m, err, sizeof(err)) == 0 && m.type == STINT_MSG_ERROR, "ERROR decodes: %s",
	   err);
	is_str(m.text, "unsupported protocol version 2", "ERROR text");

	n = stint_encode_text(buf, sizeof(buf), STINT_MSG_ABORT, "caf\xc3\xa9 \xe2\x9c\x93");
	ok(n > 0 && decode(buf, (size_t)n, &m, err, sizeof(err)) == 0 &&
		   strcmp(m.text, "caf\xc3\xa9 \xe2\x9c\x93") == 0,
	   "UTF-8 in a reason is kept");

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = stint_encode_text(buf, sizeof(buf), STINT_MSG_ABORT, big);
	is_int(n, STINT_HDR_SIZE + STINT_TEXT_MAX, "a reason over %d bytes is cut, not refused", STINT_TEXT_MAX);
	ok(n > 0 && decode(buf, (size_t)n, &m, err, sizeof(err)) == 0 && strlen(m.text) == STINT_TEXT_MAX,
	   "the cut reason decodes to %d bytes", STINT_TEXT_MAX);

	n = stint_encode_ack(buf, sizeof(buf));
	is_int(n, STINT_HDR_SIZE, "ACK is a bare header");
	ok(decode(buf, (size_t)n, &m, err, sizeof(err)) == 0 && m.type == STINT_MSG_ACK, "ACK decodes: %s", err);
}

static void test_encode_refusals(void)
{
	uint8_t buf[STINT_MSG_MAX];
	uint32_t tags[STINT_MAX_FDS + 1] = { 0 };
	char longpath[STINT_PATH_MAX + 2];

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';

	for (int i = 0; i <= STINT_MAX_FDS; i++)
		tags[i] = STINT_FD_MNT;
	errno = 0;
	ok(stint_encode_hello(buf, sizeof(buf), 1, tags, 0, "/") == -1 && errno == EINVAL,
	   "encode HELLO with 0 fds: EINVAL");
	errno = 0;
	ok(stint_encode_hello(buf, sizeof(buf), 1, tags, STINT_MAX_FDS + 1, "/") == -1 && errno == EINVAL,
	   "encode HELLO with %d fds: EINVAL", STINT_MAX_FDS + 1);
	errno = 0;
	ok(stint_encode_hello(buf, sizeof(buf), 1, tags, 1, "relative") == -1 && errno == EINVAL,
	   "encode HELLO with a relative root: EINVAL");
	errno = 0;
	ok(stint_encode_hello(buf, sizeof(buf), 1, tags, 1, "") == -1 && errno == EINVAL,
	   "encode HELLO with an empty root: EINVAL");
	errno = 0;
	ok(stint_encode_hello(buf, sizeof(buf), 1, tags, 1, longpath) == -1 && errno == EINVAL,
	   "encode HELLO with a root of %d bytes: EINVAL", STINT_PATH_MAX + 1);
	errno = 0;
	ok(stint_encode_hello(buf, 30, 1, tags, 5, "/x") == -1 && errno == EMSGSIZE,
	   "encode HELLO into a too small buffer: EMSGSIZE");

	errno = 0;
	ok(stint_encode_ready(buf, sizeof(buf), 0, "/x") == -1 && errno == EINVAL, "encode READY mode 0: EINVAL");
	errno = 0;
	ok(stint_encode_ready(buf, sizeof(buf), 3, "/x") == -1 && errno == EINVAL, "encode READY mode 3: EINVAL");
	errno = 0;
	ok(stint_encode_ready(buf, sizeof(buf), STINT_READY_PIVOTED, "/x") == -1 && errno == EINVAL,
	   "encode READY pivoted with a path: EINVAL");
	errno = 0;
	ok(stint_encode_ready(buf, sizeof(buf), STINT_READY_CHROOT, "x/y") == -1 && errno == EINVAL,
	   "encode READY with a relative path: EINVAL");
	errno = 0;
	ok(stint_encode_ready(buf, sizeof(buf), STINT_READY_CHROOT, longpath) == -1 && errno == EINVAL,
	   "encode READY with a path of %d bytes: EINVAL", STINT_PATH_MAX + 1);
	errno = 0;
	ok(stint_encode_ready(buf, 19, STINT_READY_CHROOT, "/abc") == -1 && errno == EMSGSIZE,
	   "encode READY into a too small buffer: EMSGSIZE");

	errno = 0;
	ok(stint_encode_text(buf, sizeof(buf), STINT_MSG_ABORT, "") == -1 && errno == EINVAL,
	   "encode an empty ABORT: EINVAL");
	errno = 0;
	ok(stint_encode_text(buf, sizeof(buf), STINT_MSG_READY, "x") == -1 && errno == EINVAL,
	   "encode text as type READY: EINVAL");
	errno = 0;
	ok(stint_encode_ack(buf, STINT_HDR_SIZE - 1) == -1 && errno == EMSGSIZE, "encode ACK into %d bytes: EMSGSIZE",
	   STINT_HDR_SIZE - 1);
}

static void test_names(void)
{
	int named = 1;

	for (uint32_t t = 1; t <= STINT_FD_TAG_MAX; t++)
		named &= stint_fd_tag_name(t) != NULL && stint_fd_tag_env(t) != NULL;
	ok(named, "every fd tag 1..%d has a name and an env name", STINT_FD_TAG_MAX);
	ok(!stint_fd_tag_name(0) && !stint_fd_tag_name(STINT_FD_TAG_MAX + 1) && !stint_fd_tag_env(0) &&
		   !stint_fd_tag_env(0xffffffffu),
	   "tags 0, %d and 2^32-1 have no name", STINT_FD_TAG_MAX + 1);
	is_str(stint_fd_tag_name(STINT_FD_PID_FOR_CHILDREN), "pid_for_children", "tag name pid_for_children");
	is_str(stint_fd_tag_env(STINT_FD_TIME_FOR_CHILDREN), "TIME_FOR_CHILDREN", "tag env TIME_FOR_CHILDREN");
	is_str(stint_fd_tag_env(STINT_FD_READY), "READY", "tag env READY");
	is_str(stint_msg_type_name(STINT_MSG_ERROR), "ERROR", "message type name ERROR");
	ok(!stint_msg_type_name(0) && !stint_msg_type_name(6), "message types 0 and 6 have no name");
}

/* ---- malformed datagrams ---- */

static void test_bad_header(void)
{
	uint8_t buf[STINT_MSG_MAX];
	char err[256] = "";
	long n = stint_encode_ack(buf, sizeof(buf));

	buf[0] = 'X';
	ok(refused(buf, (size_t)n, err, sizeof(err)) && strstr(err, "magic"), "bad magic refused: %s", err);

	n = stint_encode_ack(buf, sizeof(buf));
	set_u16(buf, 4, 2);
	ok(refused(buf, (size_t)n, err, sizeof(err)), "version 2 refused: %s", err);
	ok(has_number(err, 2) && has_number(err, STINT_PROTO_VERSION), "the reason names version 2 and ours (%d)",
	   STINT_PROTO_VERSION);
	set_u16(buf, 4, 0);
	ok(refused(buf, (size_t)n, err, sizeof(err)) && has_number(err, 0) && has_number(err, 1),
	   "version 0 refused naming both: %s", err);
	set_u16(buf, 4, 0xffff);
	ok(refused(buf, (size_t)n, err, sizeof(err)) && has_number(err, 65535), "version 65535 refused: %s", err);

	static const uint16_t bad_types[] = { 0, 6, 77, 0xffff };
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		n = stint_encode_ack(buf, sizeof(buf));
		set_u16(buf, 6, bad_types[i]);
		ok(refused(buf, (size_t)n, err, sizeof(err)) && has_number(err, bad_types[i]),
		   "unknown type %u refused naming it: %s", bad_types[i], err);
	}

	ok(refused(buf, 0, err, sizeof(err)), "empty datagram refused: %s", err);
	ok(refused(buf, STINT_HDR_SIZE - 1, err, sizeof(err)), "11-byte datagram refused: %s", err);
}

static void test_length_mismatch(void)
{
	uint8_t buf[STINT_MSG_MAX];
	char err[256] = "";
	long n = make_hello(buf, sizeof(buf), "/root");
	uint32_t plen = (uint32_t)n - STINT_HDR_SIZE;

	set_plen(buf, plen + 1);
	ok(refused(buf, (size_t)n, err, sizeof(err)), "length field one too big refused: %s", err);
	set_plen(buf, plen - 1);
	ok(refused(buf, (size_t)n, err, sizeof(err)), "length field one too small refused: %s", err);
	set_plen(buf, 0xffffffffu);
	ok(refused(buf, (size_t)n, err, sizeof(err)), "length field 2^32-1 refused: %s", err);
	set_plen(buf, plen);
	ok(!refused(buf, (size_t)n, err, sizeof(err)), "restored length field accepted again");

	n = stint_encode_ack(buf, sizeof(buf));
	set_plen(buf, 4);
	ok(refused(buf, (size_t)n, err, sizeof(err)), "ACK claiming a payload it lacks refused: %s", err);
}

/* Cut a valid message at every length short of its end: each must be
 * refused, both as is (header length now wrong) and with the header's
 * length patched to match (so only the inner fields can notice). */
static void truncate_everywhere(const char *what, const uint8_t *good, size_t len)
{
	uint8_t buf[STINT_MSG_MAX];
	char err[256] = "";
	size_t bad_plain = 0, bad_patched = 0;

	for (size_t cut = 0; cut < len; cut++) {
		memcpy(buf, good, cut);
		if (!refused(buf, cut, err, sizeof(err)))
			bad_plain++;
		if (cut >= STINT_HDR_SIZE) {
			set_plen(buf, (uint32_t)(cut - STINT_HDR_SIZE));
			if (!refused(buf, cut, err, sizeof(err)))
				bad_patched++;
		}
	}
	ok(bad_plain == 0, "%s truncated at each of its %zu byte offsets is refused", what, len);
	ok(bad_patched == 0, "%s truncated with a matching length field is refused at every offset", what);
}

static void test_truncated(void)
{
	uint8_t buf[STINT_MSG_MAX];
	long n;

	n = make_hello(buf, sizeof(buf), "/.stint/root");
	truncate_everywhere("HELLO", buf, (size_t)n);
	n = stint_encode_ready(buf, sizeof(buf), STINT_READY_CHROOT, "/new/root");
	truncate_everywhere("READY chroot", buf, (size_t)n);
	n = stint_encode_ready(buf, sizeof(buf), STINT_READY_PIVOTED, "");
	truncate_everywhere("READY pivoted", buf, (size_t)n);
}

/* Append extra bytes and grow the length field so only the type's own
 * decoder can tell. */
static void test_trailing(void)
{
	uint8_t buf[STINT_MSG_MAX];
	char err[256] = "";
	long n;

	n = make_hello(buf, sizeof(buf), "/r");
	buf[n] = 'x';
	set_plen(buf, (uint32_t)(n + 1 - STINT_HDR_SIZE));
	/* The root field's length says 2, so "x" is trailing, not part of the root. */
	ok(refused(buf, (size_t)n + 1, err, sizeof(err)) && strstr(err, "trailing"), "HELLO + 1 byte refused: %s", err);

	n = stint_encode_ready(buf, sizeof(buf), STINT_READY_CHROOT, "/r");
	memset(buf + n, 0, 4);
	set_plen(buf, (uint32_t)(n + 4 - STINT_HDR_SIZE));
	ok(refused(buf, (size_t)n + 4, err, sizeof(err)) && strstr(err, "trailing"), "READY + 4 bytes refused: %s",
	   err);

	n = stint_encode_ack(buf, sizeof(buf));
	buf[n] = 0;
	set_plen(buf, 1);
	ok(refused(buf, (size_t)n + 1, err, sizeof(err)), "ACK with a 1-byte payload refused: %s", err);
}

static void test_bad_fields(void)
{
	uint8_t buf[STINT_MSG_MAX];
	struct stint_msg m;
	char err[256] = "";
	long n;

	/* READY path "/a\0b": write the NUL after encoding "/a_b". */
	n = stint_encode_ready(buf, sizeof(buf), STINT_READY_CHROOT, "/a_b");
	buf[STINT_HDR_SIZE + 8 + 2] = '\0';
	ok(refused(buf, (size_t)n, err, sizeof(err)), "NUL inside a READY path refused: %s", err);

	n = make_hello(buf, sizeof(buf), "/a_b");
	buf[n - 2] = '\0';
	ok(refused(buf, (size_t)n, err, sizeof(err)), "NUL inside a HELLO root refused: %s", err);

	n = stint_encode_text(buf, sizeof(buf), STINT_MSG_ABORT, "bad_reason");
	buf[STINT_HDR_SIZE + 3] = '\0';
	ok(refused(buf, (size_t)n, err, sizeof(err)), "NUL inside an ABORT reason refused: %s", err);
	n = stint_encode_text(buf, sizeof(buf), STINT_MSG_ERROR, "x");
	buf[STINT_HDR_SIZE] = '\0';
	ok(refused(buf, (size_t)n, err, sizeof(err)), "ERROR reason that is one NUL refused: %s", err);

	/* Relative paths: encode an absolute one, then replace the '/'. */
	n = stint_encode_ready(buf, sizeof(buf), STINT_READY_CHROOT, "/rel");
	buf[STINT_HDR_SIZE + 8] = 'x';
	ok(refused(buf, (size_t)n, err, sizeof(err)), "relative READY path refused: %s", err);
	n = make_hello(buf, sizeof(buf), "/rel");
	buf[n - 4] = 'x';
	ok(refused(buf, (size_t)n, err, sizeof(err)), "relative HELLO root refused: %s", err);

	/* Mode pivoted with a path: encode chroot, flip the mode. */
	n = stint_encode_ready(buf, sizeof(buf), STINT_READY_CHROOT, "/p");
	set_u32(buf, STINT_HDR_SIZE, STINT_READY_PIVOTED);
	ok(refused(buf, (size_t)n, err, sizeof(err)) && strstr(err, "pivot"), "pivoted with a path refused: %s", err);
	set_u32(buf, STINT_HDR_SIZE, 0);
	ok(refused(buf, (size_t)n, err, sizeof(err)) && has_number(err, 0), "READY mode 0 refused: %s", err);
	set_u32(buf, STINT_HDR_SIZE, 3);
	ok(refused(buf, (size_t)n, err, sizeof(err)) && has_number(err, 3), "READY mode 3 refused: %s", err);
	set_u32(buf, STINT_HDR_SIZE, STINT_READY_CHROOT);
	ok(decode(buf, (size_t)n, &m, err, sizeof(err)) == 0, "the same READY with mode chroot accepted: %s", err);

	/* READY path length field bigger than the path. */
	n = stint_encode_ready(buf, sizeof(buf), STINT_READY_CHROOT, "/p");
	set_u32(buf, STINT_HDR_SIZE + 4, 3);
	ok(refused(buf, (size_t)n, err, sizeof(err)), "READY path length past the end refused: %s", err);
	set_u32(buf, STINT_HDR_SIZE + 4, STINT_PATH_MAX + 1);
	ok(refused(buf, (size_t)n, err, sizeof(err)), "READY path length %d refused: %s", STINT_PATH_MAX + 1, err);

	/* HELLO fd counts 0 and 17 (the payload layout is otherwise valid). */
	uint32_t tags[STINT_MAX_FDS + 1];
	size_t off;
	for (int i = 0; i <= STINT_MAX_FDS; i++)
		tags[i] = STINT_FD_MNT;
	n = stint_encode_hello(buf, sizeof(buf), 7, tags, 1, "/");
	set_u32(buf, STINT_HDR_SIZE + 4, 0);
	memmove(buf + STINT_HDR_SIZE + 12, buf + STINT_HDR_SIZE + 16, 1); /* drop the one tag */
	set_plen(buf, (uint32_t)(n - 4 - STINT_HDR_SIZE));
	ok(refused(buf, (size_t)n - 4, err, sizeof(err)) && has_number(err, 0), "HELLO with nfds 0 refused: %s", err);

	n = stint_encode_hello(buf, sizeof(buf), 7, tags, STINT_MAX_FDS, "/");
	/* Insert a 17th tag before the root byte. */
	off = STINT_HDR_SIZE + 12 + 4 * STINT_MAX_FDS;
	memmove(buf + off + 4, buf + off, 1);
	set_u32(buf, off, STINT_FD_MNT);
	set_u32(buf, STINT_HDR_SIZE + 4, STINT_MAX_FDS + 1);
	set_plen(buf, (uint32_t)(n + 4 - STINT_HDR_SIZE));
	ok(refused(buf, (size_t)n + 4, err, sizeof(err)) && has_number(err, STINT_MAX_FDS + 1),
	   "HELLO with nfds %d refused: %s", STINT_MAX_FDS + 1, err);

	n = make_hello(buf, sizeof(buf), "/r");
	set_u32(buf, STINT_HDR_SIZE + 8, 0);
	set_plen(buf, (uint32_t)(n - 2 - STINT_HDR_SIZE));
	ok(refused(buf, (size_t)n - 2, err, sizeof(err)), "HELLO with an empty root refused: %s", err);

	/* A root of STINT_PATH_MAX + 1 bytes fits in a datagram but not in the protocol. */
	memset(buf, 0, sizeof(buf));
	n = make_hello(buf, sizeof(buf), "/");
	memset(buf + n - 1, 'a', STINT_PATH_MAX + 1);
	buf[n - 1] = '/';
	set_u32(buf, STINT_HDR_SIZE + 8, STINT_PATH_MAX + 1);
	set_plen(buf, (uint32_t)(n - 1 + STINT_PATH_MAX + 1 - STINT_HDR_SIZE));
	ok(refused(buf, (size_t)n - 1 + STINT_PATH_MAX + 1, err, sizeof(err)) && has_number(err, STINT_PATH_MAX + 1),
	   "HELLO root of %d bytes refused: %s", STINT_PATH_MAX + 1, err);

	/* Reasons: empty and one byte too long. */
	n = stint_encode_ack(buf, sizeof(buf));
	set_u16(buf, 6, STINT_MSG_ABORT);
	ok(refused(buf, (size_t)n, err, sizeof(err)), "empty ABORT refused: %s", err);
	memset(buf + STINT_HDR_SIZE, 'r', STINT_TEXT_MAX + 1);
	set_plen(buf, STINT_TEXT_MAX + 1);
	ok(refused(buf, STINT_HDR_SIZE + STINT_TEXT_MAX + 1, err, sizeof(err)), "ABORT of %d bytes refused: %s",
	   STINT_TEXT_MAX + 1, err);
}

static void test_control_chars(void)
{
	uint8_t buf[STINT_MSG_MAX];
	struct stint_msg m;
	char err[256] = "", all[40];
	long n;

	n = stint_encode_text(buf, sizeof(buf), STINT_MSG_ABORT, "line1\nstint: [+0 ms] forged\r\x1b[31mred\x7f");
	ok(n > 0 && decode(buf, (size_t)n, &m, err, sizeof(err)) == 0, "ABORT with control characters accepted");
	is_str(m.text, "line1?stint: [+0 ms] forged??[31mred?", "control characters in ABORT become '?'");

	/* A refused READY path is quoted in the reason, printable: found by
	 * fuzzing (tests/fuzz/corpus/proto/ready-relative-path-with-newline). */
	n = stint_encode_ready(buf, sizeof(buf), STINT_READY_CHROOT, "/x\nstint: forged\x1b");
	buf[STINT_HDR_SIZE + 8] = 'x';
	ok(refused(buf, (size_t)n, err, sizeof(err)) &&
		   strcmp(err, "READY: path 'xx?stint: forged?' is not absolute") == 0,
	   "control characters of a refused READY path become '?' in the reason: %s", err);

	/* Every control byte 1..31 and DEL. */
	for (int i = 0; i < 31; i++)
		all[i] = (char)(i + 1);
	all[31] = 0x7f;
	all[32] = '\0';
	n = stint_encode_text(buf, sizeof(buf), STINT_MSG_ERROR, all);
	ok(n > 0 && decode(buf, (size_t)n, &m, err, sizeof(err)) == 0 && strspn(m.text, "?") == 32 &&
		   strlen(m.text) == 32,
	   "each of bytes 1-31 and 127 in ERROR becomes '?'");
}

/* The error buffer is filled with snprintf: a small one is cut, never overrun. */
static void test_small_errbuf(void)
{
	uint8_t buf[STINT_MSG_MAX];
	struct stint_msg m;
	char err[8 + 8];
	long n = stint_encode_ack(buf, sizeof(buf));

	memset(err, 'Z', sizeof(err));
	set_u16(buf, 4, 9);
	ok(stint_decode(buf, (size_t)n, &m, err, 8) == -1 && strlen(err) == 7 && err[8] == 'Z',
	   "an 8-byte error buffer is cut and NUL-terminated, nothing written past it");
}

/* Random corruption of valid messages: the decoder must never crash or
 * overrun (meaningful under ASan), and whatever it accepts must be sane. */
static void test_fuzz(void)
{
	uint8_t good[4][STINT_MSG_MAX], buf[STINT_MSG_MAX + 16];
	long len[4];
	struct stint_msg m;
	char err[256] = "";
	unsigned seed = 12345, accepted = 0, insane = 0;
	const int rounds = 200000;

	len[0] = make_hello(good[0], STINT_MSG_MAX, "/.stint/root");
	len[1] = stint_encode_ready(good[1], STINT_MSG_MAX, STINT_READY_CHROOT, "/x/y");
	len[2] = stint_encode_text(good[2], STINT_MSG_MAX, STINT_MSG_ABORT, "reason");
	len[3] = stint_encode_ack(good[3], STINT_MSG_MAX);
	memset(buf, 0, sizeof(buf));
	for (int r = 0; r < rounds; r++) {
		int k = r % 4, flips = 1 + (int)(rand_r(&seed) % 4);
		size_t n = (size_t)len[k];

		memcpy(buf, good[k], n);
		for (int f = 0; f < flips; f++)
			buf[rand_r(&seed) % n] = (uint8_t)rand_r(&seed);
		if (rand_r(&seed) % 8 == 0)
			n = rand_r(&seed) % (n + 8);
		if (decode(buf, n, &m, err, sizeof(err)) == 0) {
			accepted++;
			if (m.type == STINT_MSG_HELLO)
				insane += m.hello.nfds < 1 || m.hello.nfds > STINT_MAX_FDS || m.hello.root[0] != '/';
			else if (m.type == STINT_MSG_READY)
				insane += strlen(m.ready.path) > STINT_PATH_MAX ||
					  (m.ready.path[0] && m.ready.path[0] != '/');
			else if (m.type == STINT_MSG_ABORT || m.type == STINT_MSG_ERROR)
				insane += strlen(m.text) == 0 || strlen(m.text) > STINT_TEXT_MAX;
		} else if (err[0] == '\0') {
			insane++;
		}
	}
	diag("fuzz: %d mutations, %u accepted", rounds, accepted);
	is_int(insane, 0, "%d random corruptions: no crash, every refusal has a reason, every acceptance is valid",
	       rounds);
}

int main(void)
{
	tap_init();
	test_roundtrip_hello();
	test_roundtrip_ready();
	test_roundtrip_text_ack();
	test_encode_refusals();
	test_names();
	test_bad_header();
	test_length_mismatch();
	test_truncated();
	test_trailing();
	test_bad_fields();
	test_control_chars();
	test_small_errbuf();
	test_fuzz();
	return tap_done();
}
