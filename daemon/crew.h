/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crew.h - parked worker threads that run one job per index at once (the hold window's ioctls) */
#pragma once

#include <stddef.h>

#include "common/macro.h"

typedef struct Crew Crew;

typedef void (*CrewJob)(void *userdata, size_t i);

/* Starts n - 1 worker threads (small stacks), parked until crew_run(); n >= 1. Start it before
 * mlockall(): the workers' stacks are locked with the rest then. */
int crew_new(size_t n, Crew **ret);
/* Runs job(userdata, i) for every i < n at once, i = 0 on the calling thread and each other i
 * on a worker of its own; returns when every job returned. Jobs must not call crew_run(). */
void crew_run(Crew *c, CrewJob job, void *userdata);
/* Stops and joins the workers. */
Crew *crew_free(Crew *c);
DEFINE_POINTER_CLEANUP(crew_freep, Crew *, crew_free)
