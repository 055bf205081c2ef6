/* Fuzz target "proto": stint_decode() (src/proto.c) on any datagram.
 * Both ends decode what the other side sent, so a hostile init or peer
 * controls every byte. Invariants beyond "no crash, no leak, no UB":
 * - a refused datagram gets a reason that is one printable line (it is
 *   logged, and sent back in an ERROR);
 * - the wire format is canonical: what decodes re-encodes with
 *   stint_encode_*() to the same bytes (ABORT/ERROR: with control
 *   characters turned into '?', as the decoder does), and that decodes to
 *   the same message. */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "stint/proto.h"

static long reencode(const struct stint_msg *m, uint8_t *buf, size_t cap)
{
	switch (m->type) {
	case STINT_MSG_HELLO:
		return stint_encode_hello(buf, cap, m->hello.pid, m->hello.tags, m->hello.nfds, m->hello.root);
	case STINT_MSG_READY:
		return stint_encode_ready(buf, cap, m->ready.mode, m->ready.path);
	case STINT_MSG_ABORT:
	case STINT_MSG_ERROR:
		return stint_encode_text(buf, cap, m->type, m->text);
	case STINT_MSG_ACK:
		return stint_encode_ack(buf, cap);
	}
	FUZZ_CHECK(0, "decoded an unknown type %u", m->type);
	return -1;
}

/* The input as the decoder should have seen it: for ABORT/ERROR every
 * control character of the text is '?'. */
static void expected_bytes(const uint8_t *data, size_t size, uint16_t type, uint8_t *want)
{
	memcpy(want, data, size);
	if (type != STINT_MSG_ABORT && type != STINT_MSG_ERROR)
		return;
	for (size_t i = STINT_HDR_SIZE; i < size; i++) {
		if (want[i] < 0x20 || want[i] == 0x7f)
			want[i] = '?';
	}
}

static void check_refusal(const char *err, size_t errlen)
{
	FUZZ_CHECK(fuzz_terminated(err, errlen), "the reason is not NUL-terminated");
	FUZZ_CHECK(err[0] != '\0', "a refusal without a reason");
	FUZZ_CHECK(!fuzz_has_control(err, strlen(err)), "the reason '%s' is not one printable line", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct stint_msg m, again;
	static uint8_t buf[STINT_MSG_MAX], want[STINT_MSG_MAX];
	char err[512], err2[512];
	long n;

	memset(err, 0x55, sizeof(err)); /* not NUL: an unterminated reason shows */
	if (stint_decode(data, size, &m, err, sizeof(err)) < 0) {
		check_refusal(err, sizeof(err));
		return 0;
	}
	FUZZ_CHECK(stint_msg_type_name(m.type) != NULL, "accepted type %u has no name", m.type);
	if (m.type == STINT_MSG_HELLO) {
		for (uint32_t i = 0; i < m.hello.nfds; i++)
			(void)stint_fd_tag_name(m.hello.tags[i]); /* what the logs call it */
	}
	FUZZ_CHECK(size <= sizeof(buf), "accepted %zu bytes, more than STINT_MSG_MAX", size);
	n = reencode(&m, buf, sizeof(buf));
	FUZZ_CHECK(n >= 0, "a decoded %s does not re-encode", stint_msg_type_name(m.type));
	FUZZ_CHECK((size_t)n == size, "%s re-encodes to %ld bytes, not %zu", stint_msg_type_name(m.type), n, size);
	expected_bytes(data, size, m.type, want);
	FUZZ_CHECK(memcmp(buf, want, size) == 0, "%s re-encodes to other bytes", stint_msg_type_name(m.type));
	FUZZ_CHECK(stint_decode(buf, (size_t)n, &again, err2, sizeof(err2)) == 0, "the re-encoded %s is refused: %s",
		   stint_msg_type_name(m.type), err2);
	FUZZ_CHECK(memcmp(&m, &again, sizeof(m)) == 0, "the re-encoded %s decodes to another message",
		   stint_msg_type_name(m.type));
	return 0;
}
