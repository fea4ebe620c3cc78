/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssctl-backup.h - vssctl backup: diskshadow's exec flow, a command run while shadow copies exist
 */
#pragma once

#include "common/macro.h"

typedef struct Vssctl Vssctl;

/* Returns the exit status (CMD's, or 128+signal), or a negative errno after printing why. */
int vssctl_backup(Vssctl *v);

/* "k1=v1 k2=v2 ..." from two vectors of the same length (VSSD_SNAPSHOT_DEVICES and _MOUNTS), or
 * "k1 k2 ..." when values is NULL (VSSD_SNAPSHOT_IDS) */
int vssctl_backup_pairs(char *const *keys, char *const *values, char **ret);
/* A directory name for volume's mount point: its last path element in [A-Za-z0-9._-] */
char *vssctl_backup_dir_name(const char *volume);
