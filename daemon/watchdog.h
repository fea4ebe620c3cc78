/* SPDX-License-Identifier: GPL-2.0-or-later */
/* watchdog.h - the hold watchdog: a thread that resumes and thaws a set when the loop is stuck */
#pragma once

#include "common/macro.h"

typedef struct Dmdev Dmdev;
typedef struct FreezeGroup FreezeGroup;
typedef struct Watchdog Watchdog;

/* Threads. The watchdog's thread touches only what it was given: the device names (its own
 * copy), dm's emergency_resume() (the one dm op any thread may call: raw ioctls, no libdm),
 * the freeze group through freeze_group_thaw() (locked per file system), and log_direct().
 * The loop's thread owns everything else, calls every function below, and frees the freeze
 * group only after watchdog_disarm() or watchdog_free().
 *
 * Deadlines are CLOCK_MONOTONIC, real time: the watchdog exists for a loop that cannot look
 * at its own timers. When an armed deadline passes, the thread resumes every device of the
 * list that is suspended (dropping a staged table, so nothing half-made goes live), thaws every
 * file system the group froze, and logs it; the loop learns of it from watchdog_fired() and
 * watchdog_disarm() and rolls the set back. */

/* Starts the thread, disarmed. devices: dm names (copied); freeze may be NULL. label names
 * the set in the log ("set=<label>: ..."). */
int watchdog_new(Dmdev *dm, char *const *devices, FreezeGroup *freeze, const char *label,
                 Watchdog **ret);
/* Arms it timeout µs from now, or moves an armed deadline there. Accepts NULL. */
void watchdog_arm(Watchdog *w, usec_t timeout);
/* Disarms it. true when it fired; its work is then complete, since this waits for it. After
 * this the loop may free the freeze group. Accepts NULL (false). */
bool watchdog_disarm(Watchdog *w);
/* Whether it fired (or is firing): a lock-free look for the loop between two steps of the
 * hold. Accepts NULL (false). */
bool watchdog_fired(Watchdog *w);
/* Disarms, stops and joins the thread. */
Watchdog *watchdog_free(Watchdog *w);
DEFINE_POINTER_CLEANUP(watchdog_freep, Watchdog *, watchdog_free)
