/* SPDX-License-Identifier: GPL-2.0-or-later */
/* watchdog.c - the hold watchdog: a thread that resumes and thaws a set when the loop is stuck */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "common/log.h"
#include "daemon/dmdev.h"
#include "daemon/freeze.h"
#include "daemon/watchdog.h"

struct Watchdog {
	Dmdev *dm;
	char **devices;
	FreezeGroup *freeze;
	char label[64];
	pthread_t thread;
	pthread_mutex_t lock; /* armed, deadline, timeout, stop; held while firing */
	pthread_cond_t cond;
	bool started;
	bool armed;
	bool stop;
	struct timespec deadline; /* CLOCK_MONOTONIC */
	usec_t timeout;
	atomic_bool fired;
};

static struct timespec monotonic_after(usec_t usec)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(usec / USEC_PER_SEC);
	ts.tv_nsec += (long)(usec % USEC_PER_SEC) * 1000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static bool passed(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* Under the lock. Resumes first (that is what releases applications' I/O), then thaws, then
 * logs: stderr may lead to a file system that was held until now. */
static void fire(Watchdog *w)
{
	unsigned resumed = 0, failed = 0, thawed = 0;
	int first_error = 0;

	atomic_store(&w->fired, true);
	for (char **n = w->devices; *n; n++) {
		int r = dmdev_emergency_resume(w->dm, *n);

		if (r > 0)
			resumed++;
		else if (r < 0) {
			failed++;
			if (first_error == 0)
				first_error = r;
		}
	}
	if (w->freeze) {
		thawed = freeze_group_count_frozen(w->freeze);
		if (freeze_group_thaw(w->freeze) < 0)
			failed++;
	}
	log_direct(LOG_ERR,
	           "set=%s: hold watchdog: the event loop did not end the hold within %" PRIu64
	           " ms; resumed %u suspended devices, thawed %u file systems%s%s",
	           w->label, w->timeout / USEC_PER_MSEC, resumed, thawed,
	           failed ? "; some failed: " : "", failed ? strerror(-first_error) : "");
}

static void *watchdog_run(void *p)
{
	Watchdog *w = p;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		if (!w->armed) {
			pthread_cond_wait(&w->cond, &w->lock);
			continue;
		}
		(void)pthread_cond_timedwait(&w->cond, &w->lock, &w->deadline);
		if (!w->stop && w->armed && passed(&w->deadline)) {
			w->armed = false;
			fire(w);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int watchdog_new(Dmdev *dm, char *const *devices, FreezeGroup *freeze, const char *label,
                 Watchdog **ret)
{
	_cleanup_(watchdog_freep) Watchdog *w = NULL;
	pthread_condattr_t ca;
	pthread_attr_t attr;
	int r;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->dm = dm;
	w->freeze = freeze;
	snprintf(w->label, sizeof(w->label), "%s", strempty(label));
	atomic_init(&w->fired, false);
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	w->devices = calloc(1, sizeof(char *));
	if (!w->devices)
		return -ENOMEM;
	for (char *const *n = devices; n && *n; n++) {
		r = strv_extend(&w->devices, *n);
		if (r < 0)
			return r;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	r = -pthread_create(&w->thread, &attr, watchdog_run, w);
	pthread_attr_destroy(&attr);
	if (r < 0)
		return r;
	w->started = true;
	*ret = TAKE_PTR(w);
	return 0;
}

void watchdog_arm(Watchdog *w, usec_t timeout)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->deadline = monotonic_after(timeout);
	w->timeout = timeout;
	w->armed = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

bool watchdog_disarm(Watchdog *w)
{
	if (!w)
		return false;
	pthread_mutex_lock(&w->lock); /* waits for a fire under way */
	w->armed = false;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return atomic_load(&w->fired);
}

bool watchdog_fired(Watchdog *w)
{
	return w && atomic_load(&w->fired);
}

Watchdog *watchdog_free(Watchdog *w)
{
	if (!w)
		return NULL;
	if (w->started) {
		pthread_mutex_lock(&w->lock);
		w->stop = true;
		w->armed = false;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
	}
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	strv_free(w->devices);
	free(w);
	return NULL;
}
