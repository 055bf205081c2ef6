#include <limits.h>
#include <time.h>

#include "stint/deadline.h"

msec_t clock_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid clock id. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (msec_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

msec_t deadline_in(long long ms)
{
	return ms < 0 ? DEADLINE_NONE : clock_ms() + ms;
}

msec_t deadline_min(msec_t a, msec_t b)
{
	if (a == DEADLINE_NONE)
		return b;
	if (b == DEADLINE_NONE)
		return a;
	return a < b ? a : b;
}

int deadline_poll_ms(msec_t d)
{
	msec_t left;

	if (d == DEADLINE_NONE)
		return -1;
	left = d - clock_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

bool deadline_passed(msec_t d)
{
	return d != DEADLINE_NONE && clock_ms() >= d;
}
