/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bus-object.h - vssd's objects on the bus: registry, Properties, ObjectManager, Introspect */
#pragma once

#include <dbus/dbus.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/vss-error.h"

#define DBUS_PROPS      "org.freedesktop.DBus.Properties"
#define DBUS_INTROSPECT "org.freedesktop.DBus.Introspectable"
#define DBUS_OBJMGR     "org.freedesktop.DBus.ObjectManager"

typedef struct Bus Bus;
typedef struct BusObject BusObject;
typedef struct BusInterface BusInterface;

struct BusObject {
	char *path;
	const BusInterface *const *ifaces;
	void *userdata;
	BusObject *next;
};

/* Registers an object; emits InterfacesAdded unless it is the root object. */
int bus_add_object(Bus *b, const char *path, const BusInterface *const *ifaces, void *userdata);
void bus_remove_object(Bus *b, const char *path); /* emits InterfacesRemoved */
bool bus_has_object(Bus *b, const char *path);

/* PropertiesChanged with the current values of the named properties (NULL-terminated). */
void bus_emit_properties_changed(Bus *b, const char *path, const char *iface,
                                 const char *const *names);

/* Object paths of our objects: "/org/vssd/ShadowCopy1/<kind>/<32 hex>" into buf */
char *bus_object_path(const char *kind, const void *vssid, char *buf, size_t size);

/* For bus.c: lookups, the standard interfaces, and the end of the registry */
BusObject *bus_object_find(Bus *b, const char *path);
const BusInterface *bus_object_iface(BusObject *o, const char *name);
/* Introspect of path, which may be no object but lie above some: -ENOENT when neither */
int bus_object_introspect(Bus *b, DBusMessage *m, const char *path);
/* Properties, Introspectable or ObjectManager's method m on o: replied, or < 0 with err */
int bus_object_call_standard(Bus *b, DBusMessage *m, BusObject *o, VssErr *err);
void bus_objects_free(Bus *b);
