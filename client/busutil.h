/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* busutil.h - libdbus client helpers: a value tree for replies, calls with a deadline */
#pragma once

#include <dbus/dbus.h>

#include "common/busmsg.h"
#include "common/macro.h"

/* One D-Bus value, read recursively from a message; variants are unwrapped.
 * - string, object path, signature: str
 * - BOOLEAN: b; BYTE, UINT16, UINT32, UINT64: u; INT16, INT32, INT64: i; DOUBLE: d
 * - ARRAY (not of dict entries) and STRUCT: items[0..n)
 * - a dictionary a{?*} with a string-like key: type BUSUTIL_DICT, keys[i] names items[i] */
#define BUSUTIL_DICT DBUS_TYPE_DICT_ENTRY

typedef struct BusValue BusValue;
struct BusValue {
	int type;
	union {
		char *str;
		bool b;
		int64_t i;
		uint64_t u;
		double d;
	};
	size_t n;
	BusValue *items;
	char **keys;
};

void busutil_value_done(BusValue *v); /* frees what v holds, not v; v becomes empty */
BusValue *busutil_value_free(BusValue *v);
DEFINE_POINTER_CLEANUP(busutil_value_freep, BusValue *, busutil_value_free)

/* Reads the value at it (without advancing it). -EOPNOTSUPP for unix fds and dictionaries whose
 * keys are not strings, -ENOMEM. */
int busutil_value_read(DBusMessageIter *it, BusValue *ret);
/* Every argument of m, as a STRUCT value: (*ret)->items[0] is the first argument. */
int busutil_message_read(DBusMessage *m, BusValue **ret);

bool busutil_value_is_string(const BusValue *v); /* string, object path or signature */
/* Lookups in a BUSUTIL_DICT; NULL when dict is not a dictionary or has no such key. */
const BusValue *busutil_dict_get(const BusValue *dict, const char *key);
/* The string value of key, or NULL (absent, or not string-like). */
const char *busutil_dict_get_string(const BusValue *dict, const char *key);
/* 0, -ENOENT when absent, -EBADMSG when of another type (a signed value must be >= 0). */
int busutil_dict_get_u64(const BusValue *dict, const char *key, uint64_t *ret);
int busutil_dict_get_bool(const BusValue *dict, const char *key, bool *ret);
int busutil_dict_get_double(const BusValue *dict, const char *key, double *ret); /* any number */

/* Builders: common/busmsg.h */

int busutil_new_method_call(const char *destination, const char *path, const char *iface,
                            const char *member, DBusMessage **ret);

/* What a failed call said: name is the D-Bus error name (NULL for a local failure), message
 * the text to show a person. */
typedef struct BusCallError {
	char *name;
	char *message;
} BusCallError;
#define BUS_CALL_ERROR_NULL ((BusCallError){ .name = NULL, .message = NULL })
void busutil_call_error_done(BusCallError *e);

/* errno for an error name: NoReply/Timeout -ETIMEDOUT, Disconnected -ECONNRESET, AccessDenied
 * and the like -EACCES, ServiceUnknown/NameHasNoOwner -EHOSTUNREACH, anything else -EREMOTEIO. */
int busutil_errno_from_name(const char *name);

/* Sends m and waits for the reply for at most timeout_ms (< 0: no limit), dispatching c while
 * waiting. interrupt_fd (or -1): when it becomes readable the call is abandoned with -EINTR, for
 * a signalfd. On success *ret_reply holds the method return. On failure ret_error (may be NULL)
 * says why; a D-Bus error reply gives busutil_errno_from_name(). */
int busutil_call(DBusConnection *c, DBusMessage *m, int timeout_ms, int interrupt_fd,
                 DBusMessage **ret_reply, BusCallError *ret_error);

static inline void busutil_message_unrefp(DBusMessage **m)
{
	if (*m)
		dbus_message_unref(*m);
}
