/* SPDX-License-Identifier: GPL-2.0-or-later */
/* monitor.h - shadow storage fill level: delete the oldest over the maximum, mark invalid */
#pragma once

#include "common/macro.h"

typedef struct Daemon Daemon;
typedef struct Monitor Monitor;

/* Watches dm events (DM_DEV_ARM_POLL on /dev/mapper/control: invalidations, merges), the COW
 * files (inotify IN_MODIFY: every chunk dm copies is a write to the loop's backing file, where
 * the kernel's loop driver reports it: 6.1 yes, 6.12 no) and, while any shadow copy is valid, a
 * timer that backs off from 250 ms to 10 s while nothing is written. Nothing wakes it while no
 * shadow copy is valid. */
int monitor_new(Daemon *d, Monitor **ret);
Monitor *monitor_free(Monitor *m);
DEFINE_POINTER_CLEANUP(monitor_freep, Monitor *, monitor_free)
/* Watches the COW files of every created snapshot and starts the timer (after a creation or a
 * restore). */
void monitor_sync(Monitor *m);
/* One pass over every snapshot now: invalid ones, growth of an older, smaller COW file, the
 * oldest deleted while a volume's total is over its maximum, warnings. While Daemon.io_held it
 * is put off (growing a COW file may write to a frozen file system). */
void monitor_check(Monitor *m);
/* The hold is over: the pass put off, if any, now. Accepts NULL. */
void monitor_resume(Monitor *m);
