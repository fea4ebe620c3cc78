/* SPDX-License-Identifier: GPL-2.0-or-later */
/* freeze.c - syncfs/FIFREEZE of several file systems at once from worker threads, with guaranteed
 * thaw */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "common/log.h"
#include "daemon/freeze.h"
#include "daemon/hostops.h"

/* Shared between one worker and the main thread; the lock orders "frozen" against "cancelled"
 * so that exactly one side thaws a file system whose FIFREEZE returns late. */
typedef struct FreezeJob {
	atomic_int n_ref;
	pthread_mutex_t lock;
	const Host *host;
	FreezeKind kind;
	char *mountpoint;
	unsigned index;
	int wfd;
	bool started;
	bool done;      /* the worker finished its call */
	bool collected; /* the main thread read its record */
	bool frozen;
	bool cancelled;
	int result;
} FreezeJob;

struct FreezeGroup {
	const Host *host;
	FreezeKind kind;
	size_t n_jobs;
	FreezeJob **jobs;
	int rfd;
	int wfd;
	int first_error;
	const char *first_failed;
};

static void job_unref(FreezeJob *j)
{
	if (!j || atomic_fetch_sub(&j->n_ref, 1) != 1)
		return;
	if (j->wfd >= 0)
		close(j->wfd);
	pthread_mutex_destroy(&j->lock);
	free(j->mountpoint);
	free(j);
}

static void *job_run(void *p)
{
	FreezeJob *j = p;
	int r;

	if (j->kind == FREEZE_KIND_SYNC)
		r = j->host->ops->sync(j->host->userdata, j->mountpoint);
	else
		r = j->host->ops->freeze(j->host->userdata, j->mountpoint);

	pthread_mutex_lock(&j->lock);
	j->done = true;
	j->result = r;
	if (r >= 0 && j->kind == FREEZE_KIND_FREEZE) {
		if (j->cancelled)
			(void)j->host->ops->thaw(j->host->userdata, j->mountpoint);
		else
			j->frozen = true;
	}
	pthread_mutex_unlock(&j->lock);

	/* One record; the pipe is non-blocking and far larger than 64 indexes. */
	(void)!write(j->wfd, &j->index, sizeof(j->index));
	job_unref(j);
	return NULL;
}

int freeze_group_new(const Host *host, FreezeKind kind, char *const *mountpoints, FreezeGroup **ret)
{
	FreezeGroup *g;
	int fds[2];
	size_t n = strv_length(mountpoints);

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	*g = (FreezeGroup){ .host = host, .kind = kind, .rfd = -EBADF, .wfd = -EBADF };
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(g);
		return -errno;
	}
	g->rfd = fds[0];
	g->wfd = fds[1];
	g->jobs = calloc(n ? n : 1, sizeof(FreezeJob *));
	if (!g->jobs) {
		freeze_group_free(g);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		FreezeJob *j = calloc(1, sizeof(*j));

		if (!j) {
			freeze_group_free(g);
			return -ENOMEM;
		}
		*j = (FreezeJob){ .host = host, .kind = kind, .index = (unsigned)i, .wfd = -EBADF };
		atomic_init(&j->n_ref, 1);
		pthread_mutex_init(&j->lock, NULL);
		g->jobs[g->n_jobs++] = j;
		j->mountpoint = strdup(mountpoints[i]);
		if (!j->mountpoint) {
			freeze_group_free(g);
			return -ENOMEM;
		}
	}
	*ret = g;
	return 0;
}

int freeze_group_start(FreezeGroup *g)
{
	pthread_attr_t attr;
	int r = 0;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (size_t i = 0; i < g->n_jobs; i++) {
		FreezeJob *j = g->jobs[i];
		pthread_t t;

		j->wfd = fcntl(g->wfd, F_DUPFD_CLOEXEC, 3);
		if (j->wfd < 0) {
			r = -errno;
			break;
		}
		atomic_fetch_add(&j->n_ref, 1); /* the worker's */
		r = -pthread_create(&t, &attr, job_run, j);
		if (r < 0) {
			atomic_fetch_sub(&j->n_ref, 1);
			break;
		}
		j->started = true;
	}
	pthread_attr_destroy(&attr);
	return r;
}

int freeze_group_fd(FreezeGroup *g)
{
	return g->rfd;
}

static bool group_all_collected(FreezeGroup *g)
{
	for (size_t i = 0; i < g->n_jobs; i++)
		if (!g->jobs[i]->collected)
			return false;
	return true;
}

int freeze_group_process(FreezeGroup *g, const char **ret_failed)
{
	unsigned idx;

	for (;;) {
		ssize_t n = read(g->rfd, &idx, sizeof(idx));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n != (ssize_t)sizeof(idx))
			return n < 0 ? -errno : -EIO;
		if (idx >= g->n_jobs)
			return -EIO;
		FreezeJob *j = g->jobs[idx];
		pthread_mutex_lock(&j->lock);
		j->collected = true;
		if (j->result < 0 && g->first_error == 0) {
			g->first_error = j->result;
			g->first_failed = j->mountpoint;
		}
		pthread_mutex_unlock(&j->lock);
	}
	if (g->first_error < 0) {
		if (ret_failed)
			*ret_failed = g->first_failed;
		return g->first_error;
	}
	return group_all_collected(g) ? 1 : 0;
}

int freeze_group_thaw(FreezeGroup *g)
{
	int ret = 0;

	if (!g)
		return 0;
	for (size_t i = 0; i < g->n_jobs; i++) {
		FreezeJob *j = g->jobs[i];

		pthread_mutex_lock(&j->lock);
		if (j->frozen) {
			int r = g->host->ops->thaw(g->host->userdata, j->mountpoint);

			if (r < 0 && ret == 0)
				ret = r;
			j->frozen = false;
		} else if (!j->done)
			j->cancelled = true;
		pthread_mutex_unlock(&j->lock);
	}
	return ret;
}

unsigned freeze_group_count_frozen(FreezeGroup *g)
{
	unsigned n = 0;

	for (size_t i = 0; i < g->n_jobs; i++) {
		pthread_mutex_lock(&g->jobs[i]->lock);
		n += g->jobs[i]->frozen;
		pthread_mutex_unlock(&g->jobs[i]->lock);
	}
	return n;
}

FreezeGroup *freeze_group_free(FreezeGroup *g)
{
	if (!g)
		return NULL;
	(void)freeze_group_thaw(g);
	for (size_t i = 0; i < g->n_jobs; i++)
		job_unref(g->jobs[i]);
	free(g->jobs);
	if (g->rfd >= 0)
		close(g->rfd);
	if (g->wfd >= 0)
		close(g->wfd);
	free(g);
	return NULL;
}

/* ---- the freeze ledger: "boot id\n", then the mount points, each ended by a NUL ---------- */

void freeze_ledger_clear(const char *path)
{
	if (path && unlink(path) < 0 && errno != ENOENT)
		log_warning_errno(-errno, "cannot remove the freeze ledger %s: %m", path);
}

static int boot_id(char buf[static 64])
{
	_cleanup_fclose_ FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	if (!f || !fgets(buf, 64, f))
		return -errno ?: -EIO;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* Written before any FIFREEZE (on the loop, nothing is held yet); no fsync: it must survive
 * the daemon, not the machine, whose reboot thaws everything anyway. */
int freeze_ledger_write(const char *path, char *const *mps)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *tmp = NULL;
	char id[64];
	int r;

	if (!path)
		return 0;
	r = boot_id(id);
	if (r < 0)
		return r;
	if (asprintf(&tmp, "%s.new", path) < 0)
		return -ENOMEM;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", id);
	for (char *const *m = mps; *m; m++)
		fwrite(*m, 1, strlen(*m) + 1, f);
	if (fflush(f) != 0 || ferror(f))
		r = -EIO;
	else if (rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

/* Thaws what the ledger names, if it was written in this boot, then removes it. */
void freeze_ledger_thaw(const char *path, const Host *host)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t size = 0;
	char id[64], want[64];

	if (!path)
		return;
	f = fopen(path, "re");
	if (!f)
		return;
	if (boot_id(want) < 0 || !fgets(id, sizeof(id), f)) {
		freeze_ledger_clear(path);
		return;
	}
	id[strcspn(id, "\n")] = 0;
	if (!streq(id, want)) {
		log_notice("recovery: the freeze ledger is from another boot; nothing to thaw");
		freeze_ledger_clear(path);
		return;
	}
	while (getdelim(&line, &size, 0, f) > 0) {
		/* (the log escapes what a mount point may hold) */
		int r = host->ops->thaw(host->userdata, line);

		if (r >= 0)
			log_notice("recovery: thawed %s, frozen by an earlier run", line);
		else if (r != -EINVAL) /* -EINVAL: not frozen (any more) */
			log_warning_errno(r, "recovery: cannot thaw %s: %m", line);
	}
	freeze_ledger_clear(path);
}
