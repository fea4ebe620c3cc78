/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pathres.c - the devices that paths lie on, looked up as their owner and off the event loop */
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "common/log.h"
#include "daemon/pathres.h"

#define NOGROUP_GID 65534

struct PathJob {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned refs; /* the loop's and the thread's */
	bool done;
	int error; /* the owner's identity could not be taken: nothing was looked up */
	uid_t uid;
	gid_t *gids;
	size_t n_gids;
	char **paths;
	dev_t *devs;
	size_t n;
};

static void job_free(PathJob *j)
{
	for (size_t i = 0; i < j->n; i++)
		free(j->paths[i]);
	free(j->paths);
	free(j->devs);
	free(j->gids);
	pthread_cond_destroy(&j->cond);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

PathJob *path_job_unref(PathJob *j)
{
	bool last;

	if (!j)
		return NULL;
	pthread_mutex_lock(&j->lock);
	last = --j->refs == 0;
	pthread_mutex_unlock(&j->lock);
	if (last)
		job_free(j);
	return NULL;
}

/* This thread's file-system identity becomes the owner's; the others keep root's. */
static int become(const PathJob *j)
{
	gid_t gid = j->n_gids > 0 ? j->gids[0] : NOGROUP_GID;

	if (j->uid == 0)
		return 0;
	if (syscall(SYS_setgroups, j->n_gids, j->gids) < 0)
		return -errno;
	(void)syscall(SYS_setfsgid, gid);
	if ((gid_t)syscall(SYS_setfsgid, -1) != gid)
		return -EPERM;
	(void)syscall(SYS_setfsuid, j->uid);
	if ((uid_t)syscall(SYS_setfsuid, -1) != j->uid)
		return -EPERM;
	return 0;
}

static void *job_thread(void *arg)
{
	PathJob *j = arg;
	int r = become(j);

	for (size_t i = 0; r >= 0 && i < j->n; i++) {
		struct stat st;

		if (stat(j->paths[i], &st) < 0)
			continue; /* 0: not there, or not the owner's to see */
		j->devs[i] = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
	}
	if (r < 0)
		log_error_errno(r,
		                "cannot take a writer's identity (uid %u) to look up its paths "
		                "(CAP_SETUID, CAP_SETGID?): %m",
		                (unsigned)j->uid);
	pthread_mutex_lock(&j->lock);
	j->error = r < 0 ? r : 0;
	j->done = true;
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->lock);
	(void)path_job_unref(j);
	return NULL;
}

int path_job_start(uid_t uid, const gid_t *gids, size_t n_gids, char *const *paths, PathJob **ret)
{
	PathJob *j = calloc(1, sizeof(*j));
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	size_t n = 0;
	int r;

	if (!j)
		return -ENOMEM;
	pthread_condattr_t ca;

	pthread_mutex_init(&j->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines are CLOCK_MONOTONIC */
	pthread_cond_init(&j->cond, &ca);
	pthread_condattr_destroy(&ca);
	j->refs = 1;
	j->uid = uid;
	while (paths && paths[n])
		n++;
	j->paths = calloc(n ? n : 1, sizeof(char *));
	j->devs = calloc(n ? n : 1, sizeof(dev_t));
	j->gids = calloc(n_gids ? n_gids : 1, sizeof(gid_t));
	if (!j->paths || !j->devs || !j->gids) {
		job_free(j);
		return -ENOMEM;
	}
	if (n_gids)
		memcpy(j->gids, gids, n_gids * sizeof(gid_t));
	j->n_gids = n_gids;
	for (; j->n < n; j->n++)
		if (!(j->paths[j->n] = strdup(paths[j->n]))) {
			job_free(j);
			return -ENOMEM;
		}
	if (n == 0) {
		j->done = true;
		*ret = j;
		return 0;
	}
	j->refs = 2;
	r = -pthread_attr_init(&attr);
	if (r < 0) {
		job_free(j);
		return r;
	}
	(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	(void)pthread_attr_setstacksize(&attr, 64 * 1024);
	/* the thread takes no signal of the daemon's */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&t, &attr, job_thread, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r < 0) {
		job_free(j);
		return r;
	}
	*ret = j;
	return 0;
}

int path_job_result(PathJob *j, usec_t deadline, const dev_t **ret_devs, size_t *ret_n)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline / USEC_PER_SEC),
		               .tv_nsec = (long)(deadline % USEC_PER_SEC) * 1000 };
	bool done;

	pthread_mutex_lock(&j->lock);
	while (!j->done && deadline > 0 &&
	       pthread_cond_timedwait(&j->cond, &j->lock, &ts) != ETIMEDOUT)
		;
	done = j->done;
	pthread_mutex_unlock(&j->lock);
	if (!done)
		return -EINPROGRESS;
	if (j->error < 0)
		return j->error;
	*ret_devs = j->devs;
	*ret_n = j->n;
	return 0;
}
