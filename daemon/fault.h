/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fault.h - named test-only fault points, enabled by VSSD_TEST_FAULT when vssd starts */
#pragma once

#include "common/macro.h"

/* VSSD_TEST_FAULT="name[=arg][,name[=arg]...]" turns on the named points; each point reads its
 * arg (an unsigned number, 0 when absent) as it documents. Read once at start-up, logged as a
 * warning, never changed afterwards (so any thread may read it). Unset: no point is on, and
 * every check is a NULL test. Points (add new ones to the table in fault.c):
 *   hang-after-suspend=MS  dmsnap commit: the loop sleeps MS ms (default 30000) after the last
 *                          origin is suspended, as a loop stuck in the hold window would
 *
 * Kill points (fault_point_kill(), no arg): vssd dies there by SIGKILL, as a crash or an OOM kill
 * would, with no cleanup at all; the next start's recovery has to put things right. Set creation
 * (snapset-create.c, the dm-snapshot provider's commit in dmsnap.c), in the order a creation
 * passes them:
 *   kill-after-prepare-snapshot  the writers answered PrepareForSnapshot; nothing made in dm
 *   kill-after-tables-loaded     provider prepare done: -real, the suspended snapshot devices,
 *                                loop devices and COW files exist, origin tables staged
 *   kill-after-writers-frozen    the writers acknowledged Freeze; file systems not frozen yet
 *   kill-after-fs-frozen         every mounted file system of the set is FIFREEZE'd
 *   kill-after-first-suspend     the first origin is suspended, the others are not
 *   kill-after-last-suspend      every origin is suspended (I/O held)
 *   kill-after-snapshots-resumed the snapshot devices are live, the origins still suspended
 *   kill-after-origins-resumed   the origins run their origin tables; file systems still frozen
 *   kill-after-commit            resumed and thawed; the writers are still frozen (no Thaw sent)
 *   kill-before-created-save     Thaw and PostSnapshot done; the state still says "creating"
 * The LVM providers' commit (provider-lvm-set.c):
 *   kill-lvm-after-first-lvcreate  the set's first `lvcreate -s` finished (its LV made and
 *                                  tagged), the provider's other members not made; with a
 *                                  freeze (Linux 6.6+) the file systems are still frozen
 * Deletion (snapshot.c, the dm-snapshot provider's deletion in dmsnap-volume.c, snapset.c):
 *   kill-delete-after-snapshot-removed  the snapshot device is gone, the origin still runs
 *                                       its origin table over -real; COW file still there
 *   kill-delete-before-state-save       everything deleted; the state file still lists it
 * Revert (revert.c, the dm-snapshot provider's merge in dmsnap-merge.c):
 *   kill-revert-after-merge-loaded  "merging" recorded, the merge table staged (inactive)
 *   kill-revert-mid-merge           the merge runs and has chunks left to copy (first poll)
 * Storage growth (monitor.c, the dm-snapshot provider's growth in dmsnap-volume.c):
 *   kill-grow-before-loop-refresh   the COW file grew; its loop device has the old size
 *   kill-grow-before-state-save     grown and refreshed; the state file has the old size */
#define FAULT_ENV "VSSD_TEST_FAULT"

typedef struct FaultPoints FaultPoints;

/* Parses spec (NULL or "": *ret = NULL, nothing on). -EINVAL for an unknown name or a bad arg,
 * with the offending part in *ret_bad (borrowed from spec, may be NULL). */
int fault_points_parse(const char *spec, FaultPoints **ret, char **ret_bad);
FaultPoints *fault_points_free(FaultPoints *f);
DEFINE_POINTER_CLEANUP(fault_points_freep, FaultPoints *, fault_points_free)

/* Whether point name is on (f may be NULL); its arg in *ret_arg (may be NULL) */
bool fault_point(const FaultPoints *f, const char *name, unsigned *ret_arg);
/* When point name is on, logs it and sleeps its arg in ms (default_ms when 0) on the calling
 * thread. Returns whether it slept. */
bool fault_point_hang(const FaultPoints *f, const char *name, unsigned default_ms);
/* When point name is on, writes one line naming it straight to stderr (past any log buffering)
 * and kills the process with SIGKILL. Returns only when it is off. */
void fault_point_kill(const FaultPoints *f, const char *name);
