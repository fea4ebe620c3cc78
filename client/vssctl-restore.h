/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssctl-restore.h - vssctl restore: diskshadow's restore flow, a command that copies the files
 * back between PreRestore and PostRestore */
#pragma once

typedef struct Vssctl Vssctl;

/* Returns 0, CMD's exit status when it failed, 1 when a writer failed (printed), or a negative
 * errno after printing why. */
int vssctl_restore(Vssctl *v);
