/* SPDX-License-Identifier: GPL-2.0-or-later */
/* safedir.h - directories root may use for others: walked once, no symlinks, owned, not shared */
#pragma once

#include <sys/types.h>

#include "common/macro.h"
#include "common/vss-error.h"

/* Opens the directory path (a clean absolute path, valid_abs_path()) with O_PATH, walking from "/"
 * one component at a time with O_NOFOLLOW, so that nothing is resolved twice: every component
 * must be a directory (never a symlink) owned by owner (vssd: root; tests: their own uid) and not
 * writable by group or others (a sticky /tmp is not enough). The fd is the directory that was
 * checked; use it (openat, move_mount), never the path again.
 * Returns 0, or -EINVAL (not a clean absolute path), -ENOENT, -ELOOP (a symlink), -ENOTDIR,
 * -EPERM (owned by another uid), -EACCES (writable by group or others), and in *ret_bad (may be
 * NULL) the path up to the component that failed. */
int safedir_open(const char *path, uid_t owner, int *ret_fd, char **ret_bad);
/* safedir_open(), creating missing components (mkdirat with mode, then checked as the others) */
int safedir_make(const char *path, uid_t owner, mode_t mode, int *ret_fd, char **ret_bad);
/* safedir_open() of the directory holding path; *ret_name points into path at its last
 * component (never ".", ".." or empty) */
int safedir_open_parent(const char *path, uid_t owner, int *ret_fd, const char **ret_name,
                        char **ret_bad);
/* The walk of safedir_open() below dir_fd (not checked itself) along rel (relative, clean),
 * creating missing components when mkdir_mode is not 0; *ret_bad is a prefix of rel. Tests use
 * it on their own directories, with their own uid as owner. */
int safedir_open_below(int dir_fd, const char *rel, uid_t owner, mode_t mkdir_mode, int *ret_fd,
                       char **ret_bad);
/* What a safedir_*() error means, for a message: "is a symbolic link", "is not owned by root"
 * (the owner's uid when it is not 0) ... */
const char *safedir_strerror(int r);
/* A directory safedir refused (r), as a sentence naming the component bad (may be NULL); what:
 * "mount point", "storage location" ... AccessDenied for a component owned or writable by
 * others, ObjectNotFound when missing, InvalidArgument otherwise. Returns r. */
int safedir_refusal(VssErr *err, const char *what, const char *path, const char *bad, int r);
