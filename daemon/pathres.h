/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pathres.h - the devices that paths lie on, looked up as their owner and off the event loop */
#pragma once

#include <sys/types.h>

#include "common/macro.h"

/*
 * A writer names the paths it protects; vssd needs the device of each. Looking them up as root
 * on the event loop would let a writer make vssd stat() what it could not (and learn whether it
 * exists), and a path on a hung file system would stop the loop. So a worker thread does it with
 * the writer's file-system credentials (setfsuid, setfsgid and the supplementary groups are
 * per-thread attributes of the kernel; the raw system calls are used so that glibc does not
 * apply them to every thread), and the loop reads the answer when it needs it, waiting at most
 * until a deadline. A thread that never comes back (a hung NFS mount) is left behind; its job
 * then stays pending.
 */
typedef struct PathJob PathJob;

/* Starts looking up paths (a NULL-terminated list) as uid with groups gids (gids[0] becomes
 * the file-system gid; none: the nogroup gid 65534). uid 0 looks up as root. */
int path_job_start(uid_t uid, const gid_t *gids, size_t n_gids, char *const *paths, PathJob **ret);
/* Waits until the job is done or deadline (CLOCK_MONOTONIC µs; 0: do not wait) passes.
 * 0 with *ret_devs (one per path: the block device itself for a block device path, else the
 * device of its file system; 0 when the path cannot be looked up by its owner) and *ret_n,
 * which stay valid as long as the job; -EINPROGRESS when it is still running; -EPERM (or
 * another error) when the owner's identity could not be taken (vssd needs CAP_SETUID and
 * CAP_SETGID for that), so that nothing is known. */
int path_job_result(PathJob *j, usec_t deadline, const dev_t **ret_devs, size_t *ret_n);
PathJob *path_job_unref(PathJob *j);
DEFINE_POINTER_CLEANUP(path_job_unrefp, PathJob *, path_job_unref)
