/* BLAKE2b (RFC 7693), unkeyed, any digest length up to 64 bytes: the hash of
 * the image records. Chosen because it is fast in portable C (no SHA
 * instructions needed in a static binary FROM scratch) and checkable with a
 * standard tool: a manifest's content hashes are `b2sum -l 128 FILE`. */
#ifndef STINT_PEER_BLAKE2B_H
#define STINT_PEER_BLAKE2B_H

#include <stddef.h>
#include <stdint.h>

struct blake2b {
	uint64_t h[8], t[2];
	unsigned char buf[128];
	size_t n; /* bytes in buf */
	size_t outlen;
};

/* outlen: 1 to 64 bytes. */
void blake2b_init(struct blake2b *s, size_t outlen);
void blake2b_update(struct blake2b *s, const void *data, size_t len);
void blake2b_final(struct blake2b *s, void *out);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);

#endif
