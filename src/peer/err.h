/* The peer's failure reason: the step that fails records one line here
 * (operation, path, strerror), and the top of prepare sends it to the init
 * as ABORT and prints it as the one-line error. */
#ifndef STINT_PEER_ERR_H
#define STINT_PEER_ERR_H

/* Record the reason; return -1 so callers can `return fail(...)`. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, appending ": strerror(errno)" with errno as it was on entry. */
int fail_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *fail_reason(void);
void fail_clear(void);

#endif
