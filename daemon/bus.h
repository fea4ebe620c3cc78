/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bus.h - libdbus inside sd-event: objects, dispatch, caller checks, properties, errors */
#pragma once

#include <dbus/dbus.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "common/macro.h"
#include "common/vss-error.h"
#include "common/vssd-bus-names.h"

typedef struct Bus Bus;
typedef struct BusObject BusObject;
typedef struct BusCaller BusCaller;

/* Who may call a method (checked by the daemon itself, on top of the bus policy). */
typedef enum BusAccess {
	BUS_ACCESS_ADMIN,  /* root or group vssadmin */
	BUS_ACCESS_WRITER, /* root, vssadmin or vsswriters */
	BUS_ACCESS_OPEN,
	_BUS_ACCESS_MAX,
	_BUS_ACCESS_INVALID = -EINVAL,
} BusAccess;

/* A method handler replies itself (0), defers its reply (keeps a ref to m, returns 0), or
 * returns a negative errno with err filled: the bus turns that into the error reply. */
typedef int (*BusMethodFn)(Bus *bus, DBusMessage *m, void *userdata, const BusCaller *caller,
                           VssErr *err);
/* Appends the property's value (not wrapped in a variant) */
typedef int (*BusPropertyFn)(Bus *bus, void *userdata, DBusMessageIter *it);

typedef struct BusMethod {
	const char *name;
	const char *in_sig;
	BusMethodFn fn;
	BusAccess access;
} BusMethod;

typedef struct BusProperty {
	const char *name;
	const char *sig;
	BusPropertyFn get;
} BusProperty;

typedef struct BusInterface {
	const char *name;
	const BusMethod *methods;      /* terminated by { NULL } */
	const BusProperty *properties; /* terminated by { NULL } */
} BusInterface;

struct BusCaller {
	char *name; /* unique name */
	uid_t uid;
	pid_t pid;
	gid_t *gids;
	size_t n_gids;
	bool ready;
	DBusMessage **queue; /* calls waiting for the credentials */
	size_t n_queue;
};

/* Called when a unique name leaves the bus. */
typedef void (*BusPeerGoneFn)(void *userdata, const char *name);

struct Bus {
	sd_event *event;
	DBusConnection *conn;
	sd_event_source *dispatch;
	BusObject *objects;
	BusCaller **callers;
	size_t n_callers;
	BusPeerGoneFn peer_gone;
	void *userdata;
	const char *group_admin;  /* "vssadmin" */
	const char *group_writer; /* "vsswriters" */
	bool exit_on_disconnect;
	/* Unit tests: sees every reply, error and signal sent through bus_send() and
	 * bus_emit_signal(), with or without a connection (the message is borrowed). */
	void (*tap)(void *userdata, DBusMessage *m);
	void *tap_userdata;
};

#define BUS_NULL ((Bus){ 0 })

/* address NULL: the system bus */
int bus_init(Bus *b, sd_event *e, const char *address, BusPeerGoneFn peer_gone, void *userdata);
void bus_done(Bus *b);
int bus_request_name(Bus *b, const char *name);

/* Registers an object; emits InterfacesAdded unless it is the root object. */
int bus_add_object(Bus *b, const char *path, const BusInterface *const *ifaces, void *userdata);
void bus_remove_object(Bus *b, const char *path); /* emits InterfacesRemoved */
bool bus_has_object(Bus *b, const char *path);

/* PropertiesChanged with the current values of the named properties (NULL-terminated). */
void bus_emit_properties_changed(Bus *b, const char *path, const char *iface,
                                 const char *const *names);
int bus_emit_signal(Bus *b, DBusMessage *signal); /* takes a reference */

/* Replies */
int bus_reply_empty(Bus *b, DBusMessage *m);
int bus_reply_error(Bus *b, DBusMessage *m, const VssErr *err, int error);
int bus_send(Bus *b, DBusMessage *reply); /* unrefs reply */

/* Strict option dictionaries: each key with its D-Bus type ('s','b','u','t', 'a' for "as", 'A' for
 * "aa{sv}": dest is a DBusMessageIter on the array, for the caller to walk). */
typedef struct BusOption {
	const char *key;
	char type;
	void *dest; /* char ** (borrowed from the message), bool *, uint32_t *, uint64_t *,
	               char *** (newly allocated strv) */
	bool *seen; /* optional */
	size_t max; /* 'a' and 'A': the most elements (counted before reading); 0: the default,
	               VSSD_OPTION_ARRAY_MAX */
} BusOption;
/* Reads an a{sv} at it. Unknown keys and wrong types are InvalidArgument with a sentence. */
int bus_read_options(DBusMessageIter *it, const BusOption *opts, VssErr *err);
/* Reads an "as" at it into a new strv; each string must be valid text of at most max bytes. The
 * array is counted first: more than max_n strings are InvalidArgument (-E2BIG), none read. */
int bus_read_strv(DBusMessageIter *it, size_t max, size_t max_n, char ***ret, VssErr *err);
/* The number of elements of the array at it, without reading them (0 when it is no array) */
size_t bus_array_count(DBusMessageIter *it);

/* Dictionary building: open with bus_dict_open(), add entries, close. */
int bus_dict_open(DBusMessageIter *it, DBusMessageIter *dict);
int bus_dict_close(DBusMessageIter *it, DBusMessageIter *dict);
int bus_dict_add_string(DBusMessageIter *dict, const char *key, const char *value);
int bus_dict_add_bool(DBusMessageIter *dict, const char *key, bool value);
int bus_dict_add_u32(DBusMessageIter *dict, const char *key, uint32_t value);
int bus_dict_add_u64(DBusMessageIter *dict, const char *key, uint64_t value);
int bus_dict_add_double(DBusMessageIter *dict, const char *key, double value);
int bus_dict_add_strv(DBusMessageIter *dict, const char *key, char *const *value);
int bus_append_string(DBusMessageIter *it, const char *s);
int bus_append_path(DBusMessageIter *it, const char *p);
int bus_append_bool(DBusMessageIter *it, bool v);
int bus_append_u32(DBusMessageIter *it, uint32_t v);
int bus_append_u64(DBusMessageIter *it, uint64_t v);
int bus_append_double(DBusMessageIter *it, double v);
int bus_append_pathv(DBusMessageIter *it, char *const *paths);

/* Object paths of our objects: "/org/vssd/ShadowCopy1/<kind>/<32 hex>" into buf */
char *bus_object_path(const char *kind, const void *vssid, char *buf, size_t size);
/* "" when not valid UTF-8: libdbus aborts on invalid UTF-8, so strings from the kernel,
 * blkid or files pass here first. */
const char *bus_safe_string(const char *s);
