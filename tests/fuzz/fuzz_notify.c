/* Fuzz target "notify": notify_parse() (src/peer/notify.c), the parser of
 * the sd_notify datagrams any process of the guest may send to the peer.
 * Invariants: the status is NUL-terminated inside its buffer and holds no
 * control character (it goes into the state file and the logs), and the
 * result agrees with a second, deliberately different reading of the
 * datagram: READY=1 / STOPPING=1 are whole lines, the last STATUS= line
 * wins, cut to the buffer. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../src/peer/notify.h"
#include "fuzz.h"

/* The datagram framed by newlines, so that "a whole line" is a search
 * for "\nLINE\n". */
static char framed[NOTIFY_MAX + 2];

static bool has_line(size_t n, const char *line)
{
	char needle[32];
	size_t len = (size_t)snprintf(needle, sizeof(needle), "\n%s\n", line);

	return memmem(framed, n, needle, len) != NULL;
}

/* The value of the last line starting with STATUS=, or NULL. */
static const char *last_status(size_t n, size_t *len)
{
	const char *found = NULL;

	for (const char *p = framed; (p = memmem(p, n - (size_t)(p - framed), "\nSTATUS=", 8)); p++)
		found = p + 8;
	if (found)
		*len = (size_t)((const char *)memchr(found, '\n', n - (size_t)(found - framed)) - found);
	return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct notify_msg m;
	const char *status;
	size_t n = size + 2, slen = 0;

	if (size > NOTIFY_MAX) /* notify_recv() ignores longer datagrams */
		return 0;
	memset(&m, 0x55, sizeof(m)); /* notify_parse must set every field */
	notify_parse((const char *)data, size, &m);

	FUZZ_CHECK(fuzz_terminated(m.status, sizeof(m.status)), "status is not NUL-terminated");
	FUZZ_CHECK(!fuzz_has_control(m.status, strlen(m.status)), "status '%s' holds a control character", m.status);

	framed[0] = '\n';
	memcpy(framed + 1, data, size);
	framed[size + 1] = '\n';
	FUZZ_CHECK(m.ready == has_line(n, "READY=1"), "ready=%d disagrees", m.ready);
	FUZZ_CHECK(m.stopping == has_line(n, "STOPPING=1"), "stopping=%d disagrees", m.stopping);
	status = last_status(n, &slen);
	FUZZ_CHECK(m.has_status == (status != NULL), "has_status=%d disagrees", m.has_status);
	if (status) {
		size_t want = slen < sizeof(m.status) - 1 ? slen : sizeof(m.status) - 1;

		FUZZ_CHECK(strlen(m.status) == want, "status of %zu bytes, want %zu", strlen(m.status), want);
		for (size_t i = 0; i < want; i++) {
			unsigned char c = (unsigned char)status[i];
			char w = c < 0x20 || c == 0x7f ? '?' : (char)c; /* NUL too */

			FUZZ_CHECK(m.status[i] == w, "status byte %zu is %#x, want %#x", i, m.status[i], w);
		}
	} else {
		FUZZ_CHECK(m.status[0] == '\0', "status '%s' without a STATUS= line", m.status);
	}
	return 0;
}
