/* SPDX-License-Identifier: GPL-2.0-or-later */
/* freeze.h - syncfs/FIFREEZE of several file systems at once from worker threads, with guaranteed
 * thaw */
#pragma once

#include "common/macro.h"

typedef struct Host Host;
typedef struct FreezeGroup FreezeGroup;

typedef enum FreezeKind {
	FREEZE_KIND_SYNC,   /* syncfs(): flush ahead of the hold, nothing to undo */
	FREEZE_KIND_FREEZE, /* FIFREEZE: undone by freeze_group_thaw() */
	_FREEZE_KIND_MAX,
	_FREEZE_KIND_INVALID = -EINVAL,
} FreezeKind;

/* One worker per mount point; each worker gets its own copy of what it needs and reports one
 * record through the group's pipe. host must outlive the workers (host_real does). */
int freeze_group_new(const Host *host, FreezeKind kind, char *const *mountpoints,
                     FreezeGroup **ret);
int freeze_group_start(FreezeGroup *g);
/* Readable when a worker finished: watch it in the event loop, then call process(). */
int freeze_group_fd(FreezeGroup *g);
/* Collects finished workers. 1: all succeeded; 0: some still running; <0: the first failure,
 * with its mount point in *ret_failed (borrowed) when not NULL. */
int freeze_group_process(FreezeGroup *g, const char **ret_failed);
/* Thaws every file system this group froze; a worker still inside FIFREEZE thaws its file
 * system itself as soon as the call returns. Idempotent. Returns the first thaw error. */
int freeze_group_thaw(FreezeGroup *g);
unsigned freeze_group_count_frozen(FreezeGroup *g);
/* Thaws, then frees. Workers still running keep their own reference. */
FreezeGroup *freeze_group_free(FreezeGroup *g);
DEFINE_POINTER_CLEANUP(freeze_group_freep, FreezeGroup *, freeze_group_free)

/* The freeze ledger (<state-dir>/frozen): the file systems a set is about to FIFREEZE are
 * written there first, with the boot id, and the file is removed once they are thawed, so that
 * recovery after a crash thaws those and nothing that somebody else froze. The set that freezes
 * owns it. path NULL: no ledger (every call does nothing). */
int freeze_ledger_write(const char *path, char *const *mountpoints);
void freeze_ledger_clear(const char *path);
/* Start-up: thaws what the ledger names when it was written in this boot, then removes it. */
void freeze_ledger_thaw(const char *path, const Host *host);
