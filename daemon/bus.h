/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bus.h - libdbus inside sd-event: loop glue, routing, replies and errors, option dictionaries
 *
 * The objects (daemon/bus-object.h) and the callers (daemon/bus-creds.h) have their own headers,
 * included here: a module that serves methods includes this one. */
#pragma once

#include <dbus/dbus.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "common/busmsg.h"
#include "common/macro.h"
#include "common/vss-error.h"
#include "common/vssd-bus-names.h"
#include "daemon/bus-creds.h"
#include "daemon/bus-object.h"

typedef struct Bus Bus;
typedef struct BusObject BusObject;
typedef struct BusCaller BusCaller;

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

/* Called when a unique name leaves the bus. */
typedef void (*BusPeerGoneFn)(void *userdata, const char *name);

#define BUS_WATCHES_MAX 4 /* libdbus: a read and a write watch per connection */

typedef struct BusIo {
	int fd;
	sd_event_source *source;
} BusIo;

struct Bus {
	sd_event *event;
	DBusConnection *conn;
	sd_event_source *dispatch;
	/* libdbus's watches and the one io source per fd they share (see bus_io_update()) */
	DBusWatch *watches[BUS_WATCHES_MAX];
	size_t n_watches;
	BusIo io[BUS_WATCHES_MAX];
	size_t n_io;
	BusObject *objects;
	BusCaller **callers;
	size_t n_callers;
	BusPeerGoneFn peer_gone;
	void *userdata;
	const char *group_admin;  /* "vssadmin" */
	const char *group_writer; /* "vsswriters" */
	uid_t uid_admin;          /* 0: the user allowed everything, besides the groups */
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

int bus_emit_signal(Bus *b, DBusMessage *signal); /* takes a reference */

/* For bus-creds.c: routes m from caller c to its handler, checks access and signature, replies
 * (every method call goes this way, its caller known) */
void bus_handle_call(Bus *b, DBusMessage *m, const BusCaller *c);

/* Replies */
int bus_reply_empty(Bus *b, DBusMessage *m);
int bus_reply_error(Bus *b, DBusMessage *m, const VssErr *err, int error);
int bus_send(Bus *b, DBusMessage *reply); /* unrefs reply */

/* Strict option dictionaries: each key with its D-Bus type ('s','b','u','t', 'a' for "as", 'A' for
 * "aa{sv}" and 'D' for "a{sv}": dest is a DBusMessageIter on the value, for the caller to walk). */
typedef struct BusOption {
	const char *key;
	char type;
	void *dest; /* char ** (borrowed from the message), bool *, uint32_t *, uint64_t *,
	               char *** (newly allocated strv); 'A' (aa{sv}) and 'D' (a{sv}): a
	               DBusMessageIter * on the value, for the caller to walk */
	bool *seen; /* optional */
	size_t max; /* 'a' and 'A': the most elements (counted before reading); 0: the default,
	               VSSD_OPTION_ARRAY_MAX */
} BusOption;
/* Reads an a{sv} at it. Unknown keys and wrong types are InvalidArgument with a sentence. */
int bus_read_options(DBusMessageIter *it, const BusOption *opts, VssErr *err);
/* Reads an "as" at it into a new strv; each string must be valid text of at most max bytes. The
 * array is counted first: more than max_n strings are InvalidArgument (-E2BIG), none read. */
int bus_read_strv(DBusMessageIter *it, size_t max, size_t max_n, char ***ret, VssErr *err);

/* Message building: common/busmsg.h; a string from the kernel, blkid or a file goes through
 * bus_safe_string() ("" when not valid UTF-8, on which libdbus aborts), as these wrappers do. */
static inline const char *bus_safe_string(const char *s)
{
	return busmsg_safe_string(s);
}

static inline size_t bus_array_count(DBusMessageIter *it)
{
	return busmsg_array_count(it);
}

static inline int bus_dict_open(DBusMessageIter *it, DBusMessageIter *dict)
{
	return busmsg_dict_open(it, dict);
}

static inline int bus_dict_close(DBusMessageIter *it, DBusMessageIter *dict)
{
	return busmsg_dict_close(it, dict);
}

static inline int bus_dict_add_string(DBusMessageIter *dict, const char *key, const char *value)
{
	return busmsg_dict_append_string(dict, key, bus_safe_string(value));
}

static inline int bus_dict_add_bool(DBusMessageIter *dict, const char *key, bool value)
{
	return busmsg_dict_append_bool(dict, key, value);
}

static inline int bus_dict_add_u32(DBusMessageIter *dict, const char *key, uint32_t value)
{
	return busmsg_dict_append_u32(dict, key, value);
}

static inline int bus_dict_add_u64(DBusMessageIter *dict, const char *key, uint64_t value)
{
	return busmsg_dict_append_u64(dict, key, value);
}

static inline int bus_dict_add_double(DBusMessageIter *dict, const char *key, double value)
{
	return busmsg_dict_append_double(dict, key, value);
}

/* each string through bus_safe_string() */
int bus_dict_add_strv(DBusMessageIter *dict, const char *key, char *const *value);

static inline int bus_append_string(DBusMessageIter *it, const char *s)
{
	return busmsg_append_string(it, bus_safe_string(s));
}

static inline int bus_append_path(DBusMessageIter *it, const char *p)
{
	return busmsg_append_path(it, p);
}

static inline int bus_append_bool(DBusMessageIter *it, bool v)
{
	return busmsg_append_bool(it, v);
}

static inline int bus_append_u32(DBusMessageIter *it, uint32_t v)
{
	return busmsg_append_u32(it, v);
}

static inline int bus_append_u64(DBusMessageIter *it, uint64_t v)
{
	return busmsg_append_u64(it, v);
}

static inline int bus_append_double(DBusMessageIter *it, double v)
{
	return busmsg_append_double(it, v);
}

static inline int bus_append_pathv(DBusMessageIter *it, char *const *paths)
{
	return busmsg_append_pathv(it, paths);
}
