/* SPDX-License-Identifier: GPL-2.0-or-later */
/* expose.h - Snapshot.Expose / Unexpose: read-only mounts of shadow copies beside their origins */
#pragma once

#include <dbus/dbus.h>

#include "common/macro.h"
#include "common/vss-error.h"

typedef struct Bus Bus;
typedef struct BusCaller BusCaller;
typedef struct Daemon Daemon;
typedef struct Snapshot Snapshot;

/* Mount options that let a shadow copy mount while its origin is mounted: ext3/ext4
 * "ro,nodev,nosuid,noload", xfs "ro,nodev,nosuid,nouuid,norecovery", others "ro,nodev,nosuid". */
const char *expose_mount_options(const char *fstype);

/* Where vssd makes the mount points it chooses itself: <dir>/<shadow copy id, 32 hex digits> */
#define VSSD_EXPOSE_DIR "/run/vssd/expose"

typedef enum ExposeFlags {
	/* path must be "": vssd creates VSSD_EXPOSE_DIR/<id> (root's, 0755), mounts there and
	 * removes it again at Unexpose or Delete */
	EXPOSE_AUTO_MOUNT_POINT = 1 << 0,
} ExposeFlags;

/* Expose: path "" reports the device only (*ret ""). Otherwise path must be an absolute, existing,
 * empty directory that is no mount point and not on a volume of the set, and whose every
 * component is root's and not writable by others (no symlink: safedir.h); it is opened once and
 * the shadow copy is mounted read-only onto that very directory (move_mount), *ret is the mount
 * point. A file system that cannot be mounted that way (none recognised, or the mount fails)
 * leaves the device only: *ret "", with a log line. */
int expose_mount(Snapshot *s, const char *path, char **ret, VssErr *err);
int expose_mount_flags(Snapshot *s, const char *path, ExposeFlags flags, char **ret, VssErr *err);
/* Unexpose: unmounts (only a mount of the shadow copy's device, at the root of the checked
 * directory) and removes a mount point vssd chose; BadState when not exposed, VolumeInUse while
 * the mount is busy. */
int expose_unmount(Snapshot *s, VssErr *err);
/* Before a shadow copy's devices go: unmounts it if it is exposed (VolumeInUse while busy). */
int expose_release(Snapshot *s, VssErr *err);
/* Start-up: every exposure of a restored shadow copy is mounted again where it is not mounted
 * any more; one that cannot be is forgotten (logged). */
void expose_recover(Daemon *d);
