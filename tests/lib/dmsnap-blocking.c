/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dmsnap-blocking.c - blocking forms of the dm-snapshot set's sync and freeze (tests only) */
#include <inttypes.h>
#include <poll.h>
#include <time.h>

#include "daemon/freeze.h"
#include "tests/lib/dmsnap-blocking.h"

/* Waits until fd is readable or the deadline passes: 0, or -ETIME */
static int wait_fd(int fd, usec_t deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	usec_t now = now_usec(CLOCK_MONOTONIC);
	int r;

	if (now >= deadline)
		return -ETIME;
	r = poll(&p, 1, (int)MIN((deadline - now + 999) / 1000, (usec_t)1000));
	if (r < 0 && errno != EINTR)
		return -errno;
	return 0;
}

int dmsnap_set_sync(DmsnapSet *s, usec_t timeout)
{
	_cleanup_(freeze_group_freep) FreezeGroup *g = NULL;
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + timeout;
	int r;

	r = dmsnap_set_sync_start(s, &g);
	if (r < 0 || !g)
		return r;
	for (;;) {
		r = freeze_group_process(g, NULL);
		if (r != 0)
			return r < 0 ? r : 0;
		r = wait_fd(freeze_group_fd(g), deadline);
		if (r < 0)
			return r;
	}
}

int dmsnap_set_freeze(DmsnapSet *s, usec_t timeout, VssErr *err)
{
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + timeout;
	int r;

	r = dmsnap_set_freeze_start(s, err);
	if (r < 0)
		return r;
	for (;;) {
		r = dmsnap_set_freeze_process(s, err);
		if (r != 0)
			return r < 0 ? r : 0;
		r = wait_fd(dmsnap_set_freeze_fd(s), deadline);
		if (r < 0) {
			dmsnap_set_abort(s);
			return vss_err_set(err, VSS_ERROR_FLUSH_WRITES_TIMEOUT, r,
			                   "file systems of the set did not flush within %" PRIu64
			                   " ms",
			                   timeout / USEC_PER_MSEC);
		}
	}
}
