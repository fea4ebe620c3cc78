/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssctl-schedule.h - schedule run NAME: a schedule's shadow copy set, then its retention */
#pragma once

#include <stdio.h>

#include "client/busutil.h"
#include "common/macro.h"

typedef struct Vssctl Vssctl;

#ifndef VSSCTL_SCHEDULE_DIR
#define VSSCTL_SCHEDULE_DIR "/etc/vssd/schedule.d"
#endif

/* /etc/vssd/schedule.d/NAME.conf (vssd-schedule(5)) */
typedef struct VssctlSchedule {
	char *name;
	char **volumes;    /* at least one, at most VSSD_VOLUMES_PER_SET_MAX */
	char *context;     /* a persistent context; default client-accessible-writers */
	char *description; /* NULL: "schedule NAME" */
	bool no_writers;
	unsigned keep;         /* 0: no count limit */
	uint64_t max_age_usec; /* 0: no age limit */
} VssctlSchedule;

void vssctl_schedule_done(VssctlSchedule *s);

/* Reads dir/name.conf into *ret. On a bad file, prints "FILE:LINE: what is wrong" with log_error
 * and returns -EINVAL; -ENOENT (printed) when there is no such schedule. */
int vssctl_schedule_load(const char *dir, const char *name, VssctlSchedule *ret);

/* "7d", "12h", "30min", "90s", "2w" or plain seconds, into µs: -EINVAL, -ERANGE */
int vssctl_parse_duration(const char *s, uint64_t *ret);

/* The sets of GetManagedObjects' objects that schedule s made (property Schedule == s->name) and
 * its retention deletes: beyond the newest s->keep, or created more than s->max_age_usec before
 * now_usec (µs since the epoch); never keep_id (the set just made). Oldest first, as a
 * NULL-terminated list of set ids. */
int vssctl_schedule_prune_plan(const VssctlSchedule *s, const BusValue *objects, uint64_t now_usec,
                               const char *keep_id, char ***ret);

/* The verb: load, create the set (tagged), prune. */
int vssctl_schedule_run(Vssctl *v, const char *dir);
