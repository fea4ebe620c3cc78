/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crew.c - parked worker threads that run one job per index at once (the hold window's ioctls) */
#include <pthread.h>

#include "daemon/crew.h"

/* A worker runs syscalls and little else: 64 KiB is plenty, and mlockall() locks all of it. */
#define CREW_STACK_BYTES (64 * 1024)

typedef struct Worker {
	Crew *crew;
	size_t index; /* its job's i */
	pthread_t thread;
} Worker;

struct Crew {
	pthread_mutex_t lock; /* everything below */
	pthread_cond_t go;    /* a new round, or stop */
	pthread_cond_t done;  /* pending reached 0 */
	size_t n;
	Worker *workers; /* n - 1 */
	size_t started;
	unsigned round; /* bumped by crew_run() */
	size_t pending; /* workers still running this round's job */
	CrewJob job;
	void *userdata;
	bool stop;
};

static void *worker_main(void *p)
{
	Worker *w = p;
	Crew *c = w->crew;
	unsigned seen = 0;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		CrewJob job;
		void *ud;

		while (!c->stop && c->round == seen)
			pthread_cond_wait(&c->go, &c->lock);
		if (c->stop)
			break;
		seen = c->round;
		job = c->job;
		ud = c->userdata;
		pthread_mutex_unlock(&c->lock);
		job(ud, w->index);
		pthread_mutex_lock(&c->lock);
		if (--c->pending == 0)
			pthread_cond_signal(&c->done);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int crew_new(size_t n, Crew **ret)
{
	_cleanup_(crew_freep) Crew *c = NULL;
	pthread_attr_t attr;
	int r = 0;

	if (n == 0)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->go, NULL);
	pthread_cond_init(&c->done, NULL);
	c->n = n;
	c->workers = calloc(n, sizeof(Worker)); /* n - 1 used; never 0 bytes */
	if (!c->workers)
		return -ENOMEM;
	r = -pthread_attr_init(&attr);
	if (r < 0)
		return r;
	r = -pthread_attr_setstacksize(&attr, CREW_STACK_BYTES);
	for (size_t i = 1; r >= 0 && i < n; i++) {
		Worker *w = &c->workers[i - 1];

		*w = (Worker){ .crew = c, .index = i };
		r = -pthread_create(&w->thread, &attr, worker_main, w);
		if (r >= 0)
			c->started++;
	}
	pthread_attr_destroy(&attr);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

void crew_run(Crew *c, CrewJob job, void *userdata)
{
	pthread_mutex_lock(&c->lock);
	c->job = job;
	c->userdata = userdata;
	c->pending = c->started;
	c->round++;
	pthread_cond_broadcast(&c->go);
	pthread_mutex_unlock(&c->lock);

	job(userdata, 0);

	pthread_mutex_lock(&c->lock);
	while (c->pending > 0)
		pthread_cond_wait(&c->done, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

Crew *crew_free(Crew *c)
{
	if (!c)
		return NULL;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_broadcast(&c->go);
	pthread_mutex_unlock(&c->lock);
	for (size_t i = 0; i < c->started; i++)
		pthread_join(c->workers[i].thread, NULL);
	free(c->workers);
	pthread_cond_destroy(&c->done);
	pthread_cond_destroy(&c->go);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}
