/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapshot-dbus.h - the D-Bus adapter of a shadow copy (the Snapshot object) */
#pragma once

#include "daemon/bus.h"

/* Snapshot.Expose(s path, a{sv} options) -> s; userdata is the Snapshot */
int snapshot_dbus_expose(Bus *b, DBusMessage *m, void *userdata, const BusCaller *c, VssErr *err);
/* Snapshot.Revert(a{sv} options): no option keys are defined; userdata is the Snapshot */
int snapshot_dbus_revert(Bus *b, DBusMessage *m, void *userdata, const BusCaller *c, VssErr *err);
