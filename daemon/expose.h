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

/* Expose: path "" reports the device only (*ret ""). Otherwise path must be an absolute, existing,
 * empty directory that is no mount point and not on a volume of the set; the shadow copy is
 * mounted there read-only and *ret is the mount point. A file system that cannot be mounted that
 * way (none recognised, or the mount fails) leaves the device only: *ret "", with a log line. */
int expose_mount(Snapshot *s, const char *path, char **ret, VssErr *err);
/* Unexpose: unmounts; BadState when not exposed, VolumeInUse while the mount is busy. */
int expose_unmount(Snapshot *s, VssErr *err);
/* Before a shadow copy's devices go: unmounts it if it is exposed (VolumeInUse while busy). */
int expose_release(Snapshot *s, VssErr *err);
/* Start-up: every exposure of a restored shadow copy is mounted again where it is not mounted
 * any more; one that cannot be is forgotten (logged). */
void expose_recover(Daemon *d);

/* Snapshot.Expose(s path, a{sv} options) -> s and Snapshot.Unexpose() */
int expose_method_expose(Bus *b, DBusMessage *m, void *userdata, const BusCaller *c, VssErr *err);
int expose_method_unexpose(Bus *b, DBusMessage *m, void *userdata, const BusCaller *c, VssErr *err);
