/* SPDX-License-Identifier: GPL-2.0-or-later */
/* revert.h - Snapshot.Revert: merge a shadow copy back into its volume, through its provider */
#pragma once

#include <dbus/dbus.h>

#include "common/macro.h"
#include "common/vss-error.h"

typedef struct Bus Bus;
typedef struct BusCaller BusCaller;
typedef struct Daemon Daemon;
typedef struct Snapshot Snapshot;

#define REVERT_POLL_USEC USEC_PER_SEC /* progress is read this often, only while a merge runs */

/* Starts reverting s's volume to s: checks (persistent context, created, volume unmounted and
 * unused, no other revert of the volume), state "merging" on disk, then the provider starts the
 * merge (dm-snapshot: the origin takes over the COW and s's own device goes). Returns when the
 * merge runs; a timer watches it until it ends. */
int revert_start(Snapshot *s, VssErr *err);
/* One look at s's merge: progress (PropertiesChanged), and its end. 0: still merging; 1: the
 * merge is over and s is deleted (freed); 2: the merge had never started (s is "created" again);
 * 3: not watched any more, nothing deleted (logged): dm reports the merge failed, or the COW of
 * a merge cut short cannot be read (s stays "merging"), or a merge cut short by a reboot could
 * not start again (s is back, intact, as "created"); 4: a merge cut short by a reboot started
 * again (s "merging", watched by a new timer). */
int revert_poll(Snapshot *s);
/* Stops watching s (snapshot_free() calls it). Idempotent. */
void revert_unwatch(Snapshot *s);
/* Start-up: every restored shadow copy in state "merging" is watched again (dm went on merging
 * without us), finished when its merge is over, or made "created" again when it never began. */
void revert_recover(Daemon *d);
