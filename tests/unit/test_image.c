/* The image records' pure parts (src/peer/blake2b.c, obuf.c, walk.c's
 * order, manifest.c's unescaping and comparison): BLAKE2b against the RFC
 * 7693 vector and b2sum's, the walk's order, the line escaping round
 * trip, and JSON strings that stay valid for any bytes. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stint/path.h"
#include "tap.h"
#include "../../src/peer/blake2b.h"
#include "../../src/peer/manifest.h"
#include "../../src/peer/obuf.h"
#include "../../src/peer/walk.h"

static void hash_hex(const void *p, size_t n, size_t outlen, char *hex)
{
	unsigned char out[64];
	struct blake2b s;

	blake2b_init(&s, outlen);
	blake2b_update(&s, p, n);
	blake2b_final(&s, out);
	hex_encode(out, outlen, hex);
}

static void test_blake2b(void)
{
	char hex[129];
	unsigned char big[1000];
	struct blake2b s;
	unsigned char a[16], b[16];

	/* RFC 7693, Appendix A: BLAKE2b-512("abc"). */
	hash_hex("abc", 3, 64, hex);
	is_str(hex,
	       "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
	       "BLAKE2b-512(abc), RFC 7693");
	/* b2sum -l 128 of an empty file. */
	hash_hex("", 0, 16, hex);
	is_str(hex, "cae66941d9efbd404e4d88758ea67670", "BLAKE2b-128 of nothing = b2sum -l 128 /dev/null");
	/* Fed in pieces of every size across the 128-byte blocks: the same. */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7 + 3);
	blake2b_init(&s, 16);
	blake2b_update(&s, big, sizeof(big));
	blake2b_final(&s, a);
	{
		int same = 1;

		for (size_t step = 1; step < 300; step += 37) {
			blake2b_init(&s, 16);
			for (size_t off = 0; off < sizeof(big); off += step)
				blake2b_update(&s, big + off, off + step > sizeof(big) ? sizeof(big) - off : step);
			blake2b_final(&s, b);
			same &= memcmp(a, b, sizeof(a)) == 0;
		}
		ok(same, "the same hash whatever the pieces");
	}
}

static void test_order(void)
{
	/* Pre-order, names sorted: a directory's children before a sibling
	 * whose name extends the directory's. */
	static const char *const sorted[] = { "/", "/a", "/a/b", "/a/c", "/a b", "/a-c", "/ab", "/b" };
	int good = 1;

	for (size_t i = 0; i + 1 < sizeof(sorted) / sizeof(*sorted); i++)
		good &= path_cmp(sorted[i], strlen(sorted[i]), sorted[i + 1], strlen(sorted[i + 1])) < 0 &&
			path_cmp(sorted[i + 1], strlen(sorted[i + 1]), sorted[i], strlen(sorted[i])) > 0;
	ok(good, "path_cmp: pre-order with sorted names");
	is_int(path_cmp("/x", 2, "/x", 2), 0, "path_cmp: equal");
	ok(path_is_under("/etc/motd", "/etc") && path_is_under("/etc", "/etc") && !path_is_under("/etcx", "/etc") &&
		   path_is_under("/anything", "/"),
	   "path_is_under");
}

/* What obuf wrote to a pipe, NUL-terminated. */
static size_t capture(void (*fn)(struct obuf *, const char *, size_t), const char *in, size_t n, char *out, size_t cap)
{
	int p[2];
	struct obuf *o = malloc(sizeof(*o));
	ssize_t got;

	if (!o || pipe(p) < 0)
		return 0;
	obuf_init(o, p[1]);
	fn(o, in, n);
	obuf_flush(o);
	close(p[1]);
	got = read(p[0], out, cap - 1);
	close(p[0]);
	free(o);
	out[got > 0 ? got : 0] = '\0';
	return got > 0 ? (size_t)got : 0;
}

static void test_escaping(void)
{
	char all[255], out[4096], back[512];
	long n;
	int good = 1;

	for (int i = 0; i < 255; i++)
		all[i] = (char)(i + 1); /* every byte but NUL */
	capture(obuf_escaped, all, sizeof(all), out, sizeof(out));
	for (const char *c = out; *c; c++)
		good &= (unsigned char)*c > 0x20 && *c != 0x7f;
	ok(good, "escaped: no blank, newline or control byte left");
	n = mf_unescape(out, strlen(out), back, sizeof(back));
	ok(n == (long)sizeof(all) && memcmp(back, all, sizeof(all)) == 0, "unescape(escape(x)) = x for every byte");
	ok(mf_unescape("a\\00", 4, back, sizeof(back)) < 0 && mf_unescape("a\\000", 5, back, sizeof(back)) < 0 &&
		   mf_unescape("\\400", 4, back, sizeof(back)) < 0,
	   "unescape refuses a cut escape, NUL, and values over 0377");

	capture(obuf_json_str, "a\"b\\c\n\x01\xc3\xa9\xff\xe2\x82", 12, out, sizeof(out));
	is_str(out, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\\u00ff\\u00e2\\u0082\"",
	       "JSON: quotes, controls escaped; valid UTF-8 kept; bad bytes as \\u00XX");
}

static void test_changed(void)
{
	static struct mf_entry a, b;

	a.type = b.type = 'f';
	a.mode = b.mode = 0644;
	a.size = b.size = 3;
	strcpy(a.extra, "00112233445566778899aabbccddeeff");
	strcpy(b.extra, a.extra);
	a.mtime = 1;
	b.mtime = 2;
	ok(mf_changed(&a, &b) == NULL, "mtime alone is no change");
	b.mode = 0600;
	is_str(mf_changed(&a, &b), "mode", "mode");
	b.mode = 0644;
	b.extra[0] = 'f';
	is_str(mf_changed(&a, &b), "content", "content");
	b.type = 'l';
	is_str(mf_changed(&a, &b), "type", "type");
}

int main(void)
{
	tap_init();
	test_blake2b();
	test_order();
	test_escaping();
	test_changed();
	printf("1..%d\n", tap_count);
	return tap_failures ? 1 : 0;
}
