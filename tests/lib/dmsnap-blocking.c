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

/* The mount points of the set's volumes (an empty list when none is mounted) */
static int mountpoints(DmsnapSet *s, char ***ret)
{
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < dmsnap_set_count(s); i++) {
		const char *mp = dmsnap_set_volume(s, i)->mountpoint;

		if (mp && strv_extend(&l, mp) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

int dmsnap_set_sync(DmsnapSet *s, const DmsnapEnv *env, usec_t timeout)
{
	_cleanup_(freeze_group_freep) FreezeGroup *g = NULL;
	_cleanup_strv_free_ char **mps = NULL;
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + timeout;
	int r;

	r = mountpoints(s, &mps);
	if (r < 0 || !mps[0])
		return r;
	r = freeze_group_new(env->host, FREEZE_KIND_SYNC, mps, &g);
	if (r >= 0)
		r = freeze_group_start(g);
	if (r < 0)
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

int dmsnap_set_freeze(DmsnapSet *s, const DmsnapEnv *env, bool fifreeze, const char *ledger,
                      FreezeGroup **ret_group, VssErr *err)
{
	_cleanup_(freeze_group_freep) FreezeGroup *g = NULL;
	_cleanup_strv_free_ char **mps = NULL;
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + env->flush_timeout;
	const char *failed = NULL;
	int r;

	*ret_group = NULL;
	if (!fifreeze)
		return 0; /* the commit's suspends keep lockfs for what is mounted */
	r = mountpoints(s, &mps);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_NONE, r, "out of memory");
	if (!mps[0])
		return 0; /* the commit's suspends keep lockfs for what is mounted */
	r = freeze_ledger_write(ledger, mps);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot write the freeze ledger: %s", strerror(-r));
	r = freeze_group_new(env->host, FREEZE_KIND_FREEZE, mps, &g);
	if (r >= 0)
		r = dmsnap_set_guard(s, g, env->flush_timeout + env->hold_timeout, err);
	if (r >= 0)
		r = freeze_group_start(g);
	for (; r >= 0;) {
		r = freeze_group_process(g, &failed);
		if (r > 0) {
			*ret_group = TAKE_PTR(g);
			return 0;
		}
		if (r == 0)
			r = wait_fd(freeze_group_fd(g), deadline);
	}
	dmsnap_set_abort(s); /* thaws what froze, before the group goes */
	freeze_ledger_clear(ledger);
	if (r == -ETIME)
		return vss_err_set(err, VSS_ERROR_FLUSH_WRITES_TIMEOUT, r,
		                   "file systems of the set did not flush within %" PRIu64 " ms",
		                   env->flush_timeout / USEC_PER_MSEC);
	if (err && !vss_err_is_set(err))
		vss_err_set(err, VSS_ERROR_PROVIDER_VETO, r, "cannot freeze %s: %s",
		            strempty(failed), strerror(-r));
	return r;
}
