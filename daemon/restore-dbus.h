/* SPDX-License-Identifier: GPL-2.0-or-later */
/* restore-dbus.h - the D-Bus adapter of a restore session */
#pragma once

#include "daemon/bus.h"

extern const BusInterface restore_interface;
/* Manager.StartRestore(s document, a{sv} options) -> o, for bus-manager.c's table */
int restore_dbus_start(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err);
