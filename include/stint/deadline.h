/* Every wait in both programs is bounded by a deadline on one clock
 * (CLOCK_MONOTONIC, in milliseconds): a deadline is an absolute time, so a
 * loop that polls several times never waits longer in total than it was
 * given, and poll() never receives a timeout that overflows an int. */
#ifndef STINT_DEADLINE_H
#define STINT_DEADLINE_H

#include <stdbool.h>

typedef long long msec_t;

#define DEADLINE_NONE (-1LL) /* wait without end */

/* Milliseconds on the monotonic clock. */
msec_t clock_ms(void);

/* The deadline `ms` from now; DEADLINE_NONE when ms < 0. */
msec_t deadline_in(long long ms);

/* The earlier of two deadlines (DEADLINE_NONE is the latest). */
msec_t deadline_min(msec_t a, msec_t b);

/* poll(2)'s timeout until d: -1 for none, 0 once passed, at most INT_MAX. */
int deadline_poll_ms(msec_t d);

bool deadline_passed(msec_t d);

#endif
