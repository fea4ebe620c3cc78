/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapset-dbus.h - the D-Bus adapter of a set: replies to the calls that run on */
#pragma once

#include <dbus/dbus.h>

#include "daemon/snapset.h"

/* SnapsetDoneFn for CreateSnapshotSet: userdata is the call (a reference, dropped here); the
 * reply is (o, ao), the set and its shadow copies. */
void snapset_dbus_reply_set_snapshots(Snapset *s, int r, const VssErr *err, void *userdata);
/* SnapsetDoneFn for a call answered with nothing (DoSnapshotSet, PrepareForBackup,
 * BackupComplete): userdata is the call (a reference, dropped here). */
void snapset_dbus_reply_empty(Snapset *s, int r, const VssErr *err, void *userdata);
/* SnapsetDoneFn for GatherWriterMetadata: the reply is the writers' metadata aa{sv}. */
void snapset_dbus_reply_metadata(Snapset *s, int r, const VssErr *err, void *userdata);
