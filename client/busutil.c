/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* busutil.c - libdbus client helpers: a value tree for replies, calls with a deadline */
#include <limits.h>
#include <poll.h>
#include <stdarg.h>

#include "client/busutil.h"

/* libdbus itself refuses more than 64 nested containers; this only bounds our recursion. */
#define BUSUTIL_DEPTH_MAX 64

bool busutil_value_is_string(const BusValue *v)
{
	return v && (v->type == DBUS_TYPE_STRING || v->type == DBUS_TYPE_OBJECT_PATH ||
	             v->type == DBUS_TYPE_SIGNATURE);
}

void busutil_value_done(BusValue *v)
{
	if (!v)
		return;
	if (busutil_value_is_string(v))
		free(v->str);
	for (size_t i = 0; i < v->n; i++) {
		busutil_value_done(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	*v = (BusValue){ .type = DBUS_TYPE_INVALID };
}

BusValue *busutil_value_free(BusValue *v)
{
	busutil_value_done(v);
	free(v);
	return NULL;
}

static void busutil_value_donep(BusValue *v)
{
	busutil_value_done(v);
}

static int value_read(DBusMessageIter *it, BusValue *ret, unsigned depth); /* recursive */

/* Appends the value at it to v->items (and its key to v->keys when key is given). */
static int value_push(BusValue *v, size_t *allocated, DBusMessageIter *it, const char *key,
                      unsigned depth)
{
	_cleanup_free_ char *k = NULL;
	int r;

	if (key) {
		k = strdup(key);
		if (!k)
			return -ENOMEM;
	}
	if (v->n == *allocated) {
		size_t a = *allocated ? *allocated * 2 : 4;
		BusValue *items;

		items = reallocarray(v->items, a, sizeof(BusValue));
		if (!items)
			return -ENOMEM;
		v->items = items;
		if (key) {
			char **keys = reallocarray(v->keys, a, sizeof(char *));

			if (!keys)
				return -ENOMEM;
			v->keys = keys;
		}
		*allocated = a;
	}
	r = value_read(it, &v->items[v->n], depth + 1);
	if (r < 0)
		return r;
	if (key)
		v->keys[v->n] = TAKE_PTR(k);
	v->n++;
	return 0;
}

static int array_read(DBusMessageIter *it, BusValue *v, unsigned depth)
{
	DBusMessageIter sub;
	size_t allocated = 0;
	bool dict = dbus_message_iter_get_element_type(it) == DBUS_TYPE_DICT_ENTRY;
	int r;

	v->type = dict ? BUSUTIL_DICT : dbus_message_iter_get_arg_type(it);
	dbus_message_iter_recurse(it, &sub);
	for (; dbus_message_iter_get_arg_type(&sub) != DBUS_TYPE_INVALID;
	     dbus_message_iter_next(&sub)) {
		if (dict) {
			DBusMessageIter entry;
			const char *key;
			int kt;

			dbus_message_iter_recurse(&sub, &entry);
			kt = dbus_message_iter_get_arg_type(&entry);
			if (kt != DBUS_TYPE_STRING && kt != DBUS_TYPE_OBJECT_PATH &&
			    kt != DBUS_TYPE_SIGNATURE)
				return -EOPNOTSUPP;
			dbus_message_iter_get_basic(&entry, &key);
			if (!dbus_message_iter_next(&entry))
				return -EBADMSG;
			r = value_push(v, &allocated, &entry, key, depth);
		} else
			r = value_push(v, &allocated, &sub, NULL, depth);
		if (r < 0)
			return r;
	}
	return 0;
}

static int value_read(DBusMessageIter *it, BusValue *ret, unsigned depth)
{
	_cleanup_(busutil_value_donep) BusValue v = { .type = dbus_message_iter_get_arg_type(it) };
	DBusMessageIter sub;
	size_t allocated = 0;
	int r;

	if (depth > BUSUTIL_DEPTH_MAX)
		return -EBADMSG;
	switch (v.type) {
	case DBUS_TYPE_STRING:
	case DBUS_TYPE_OBJECT_PATH:
	case DBUS_TYPE_SIGNATURE: {
		const char *s;

		dbus_message_iter_get_basic(it, &s);
		v.str = strdup(s);
		if (!v.str)
			return -ENOMEM;
		break;
	}
	case DBUS_TYPE_BOOLEAN: {
		dbus_bool_t b;

		dbus_message_iter_get_basic(it, &b);
		v.b = b;
		break;
	}
	case DBUS_TYPE_BYTE: {
		uint8_t x;

		dbus_message_iter_get_basic(it, &x);
		v.u = x;
		break;
	}
	case DBUS_TYPE_UINT16: {
		dbus_uint16_t x;

		dbus_message_iter_get_basic(it, &x);
		v.u = x;
		break;
	}
	case DBUS_TYPE_UINT32: {
		dbus_uint32_t x;

		dbus_message_iter_get_basic(it, &x);
		v.u = x;
		break;
	}
	case DBUS_TYPE_UINT64: {
		dbus_uint64_t x;

		dbus_message_iter_get_basic(it, &x);
		v.u = x;
		break;
	}
	case DBUS_TYPE_INT16: {
		dbus_int16_t x;

		dbus_message_iter_get_basic(it, &x);
		v.i = x;
		break;
	}
	case DBUS_TYPE_INT32: {
		dbus_int32_t x;

		dbus_message_iter_get_basic(it, &x);
		v.i = x;
		break;
	}
	case DBUS_TYPE_INT64: {
		dbus_int64_t x;

		dbus_message_iter_get_basic(it, &x);
		v.i = x;
		break;
	}
	case DBUS_TYPE_DOUBLE:
		dbus_message_iter_get_basic(it, &v.d);
		break;
	case DBUS_TYPE_VARIANT:
		dbus_message_iter_recurse(it, &sub);
		return value_read(&sub, ret, depth + 1);
	case DBUS_TYPE_ARRAY:
		r = array_read(it, &v, depth);
		if (r < 0)
			return r;
		break;
	case DBUS_TYPE_STRUCT:
		dbus_message_iter_recurse(it, &sub);
		for (; dbus_message_iter_get_arg_type(&sub) != DBUS_TYPE_INVALID;
		     dbus_message_iter_next(&sub)) {
			r = value_push(&v, &allocated, &sub, NULL, depth);
			if (r < 0)
				return r;
		}
		break;
	case DBUS_TYPE_INVALID:
		return -EBADMSG;
	default: /* unix fds, and anything a future libdbus adds */
		return -EOPNOTSUPP;
	}
	*ret = v;
	v = (BusValue){ .type = DBUS_TYPE_INVALID };
	return 0;
}

int busutil_value_read(DBusMessageIter *it, BusValue *ret)
{
	return value_read(it, ret, 0);
}

int busutil_message_read(DBusMessage *m, BusValue **ret)
{
	_cleanup_(busutil_value_freep) BusValue *v = NULL;
	DBusMessageIter it;
	size_t allocated = 0;
	int r;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->type = DBUS_TYPE_STRUCT;
	if (dbus_message_iter_init(m, &it))
		for (; dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_INVALID;
		     dbus_message_iter_next(&it)) {
			r = value_push(v, &allocated, &it, NULL, 0);
			if (r < 0)
				return r;
		}
	*ret = TAKE_PTR(v);
	return 0;
}

const BusValue *busutil_dict_get(const BusValue *dict, const char *key)
{
	if (!dict || dict->type != BUSUTIL_DICT)
		return NULL;
	for (size_t i = 0; i < dict->n; i++)
		if (streq(dict->keys[i], key))
			return &dict->items[i];
	return NULL;
}

const char *busutil_dict_get_string(const BusValue *dict, const char *key)
{
	const BusValue *v = busutil_dict_get(dict, key);

	return busutil_value_is_string(v) ? v->str : NULL;
}

int busutil_dict_get_u64(const BusValue *dict, const char *key, uint64_t *ret)
{
	const BusValue *v = busutil_dict_get(dict, key);

	if (!v)
		return -ENOENT;
	switch (v->type) {
	case DBUS_TYPE_BYTE:
	case DBUS_TYPE_UINT16:
	case DBUS_TYPE_UINT32:
	case DBUS_TYPE_UINT64:
		*ret = v->u;
		return 0;
	case DBUS_TYPE_INT16:
	case DBUS_TYPE_INT32:
	case DBUS_TYPE_INT64:
		if (v->i < 0)
			return -EBADMSG;
		*ret = (uint64_t)v->i;
		return 0;
	default:
		return -EBADMSG;
	}
}

int busutil_dict_get_bool(const BusValue *dict, const char *key, bool *ret)
{
	const BusValue *v = busutil_dict_get(dict, key);

	if (!v)
		return -ENOENT;
	if (v->type != DBUS_TYPE_BOOLEAN)
		return -EBADMSG;
	*ret = v->b;
	return 0;
}

int busutil_dict_get_double(const BusValue *dict, const char *key, double *ret)
{
	const BusValue *v = busutil_dict_get(dict, key);

	if (!v)
		return -ENOENT;
	switch (v->type) {
	case DBUS_TYPE_DOUBLE:
		*ret = v->d;
		return 0;
	case DBUS_TYPE_BYTE:
	case DBUS_TYPE_UINT16:
	case DBUS_TYPE_UINT32:
	case DBUS_TYPE_UINT64:
		*ret = (double)v->u;
		return 0;
	case DBUS_TYPE_INT16:
	case DBUS_TYPE_INT32:
	case DBUS_TYPE_INT64:
		*ret = (double)v->i;
		return 0;
	default:
		return -EBADMSG;
	}
}

int busutil_new_method_call(const char *destination, const char *path, const char *iface,
                            const char *member, DBusMessage **ret)
{
	DBusMessage *m;

	/* libdbus aborts the process on an invalid name, so check first */
	if ((destination && !dbus_validate_bus_name(destination, NULL)) ||
	    !dbus_validate_path(path, NULL) || (iface && !dbus_validate_interface(iface, NULL)) ||
	    !dbus_validate_member(member, NULL))
		return -EINVAL;
	m = dbus_message_new_method_call(destination, path, iface, member);
	if (!m)
		return -ENOMEM;
	*ret = m;
	return 0;
}

void busutil_call_error_done(BusCallError *e)
{
	if (!e)
		return;
	free(e->name);
	free(e->message);
	*e = BUS_CALL_ERROR_NULL;
}

_printf_(4, 5) static int call_error_set(BusCallError *e, int error, const char *name,
                                         const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return error;
	busutil_call_error_done(e);
	if (name)
		e->name = strdup(name);
	va_start(ap, fmt);
	if (vasprintf(&e->message, fmt, ap) < 0)
		e->message = NULL;
	va_end(ap);
	return error;
}

int busutil_errno_from_name(const char *name)
{
	static const struct {
		const char *name;
		int error;
	} table[] = {
		{ DBUS_ERROR_NO_REPLY, -ETIMEDOUT },
		{ DBUS_ERROR_TIMEOUT, -ETIMEDOUT },
		{ DBUS_ERROR_TIMED_OUT, -ETIMEDOUT },
		{ DBUS_ERROR_DISCONNECTED, -ECONNRESET },
		{ DBUS_ERROR_NO_SERVER, -ECONNREFUSED },
		{ DBUS_ERROR_ACCESS_DENIED, -EACCES },
		{ DBUS_ERROR_AUTH_FAILED, -EACCES },
		{ "org.vssd.ShadowCopy1.Error.AccessDenied", -EACCES },
		{ DBUS_ERROR_SERVICE_UNKNOWN, -EHOSTUNREACH },
		{ DBUS_ERROR_NAME_HAS_NO_OWNER, -EHOSTUNREACH },
		{ DBUS_ERROR_NO_MEMORY, -ENOMEM },
		{ DBUS_ERROR_INVALID_ARGS, -EINVAL },
		{ DBUS_ERROR_UNKNOWN_METHOD, -EOPNOTSUPP },
		{ DBUS_ERROR_UNKNOWN_OBJECT, -EOPNOTSUPP },
		{ DBUS_ERROR_UNKNOWN_INTERFACE, -EOPNOTSUPP },
		{ DBUS_ERROR_UNKNOWN_PROPERTY, -EOPNOTSUPP },
		{ "org.vssd.ShadowCopy1.Error.InvalidArgument", -EINVAL },
	};

	for (size_t i = 0; name && i < ELEMENTSOF(table); i++)
		if (streq(name, table[i].name))
			return table[i].error;
	return -EREMOTEIO;
}

static void pending_unrefp(DBusPendingCall **p)
{
	if (*p) {
		if (!dbus_pending_call_get_completed(*p))
			dbus_pending_call_cancel(*p);
		dbus_pending_call_unref(*p);
	}
}

int busutil_call(DBusConnection *c, DBusMessage *m, int timeout_ms, int interrupt_fd,
                 DBusMessage **ret_reply, BusCallError *ret_error)
{
	_cleanup_(pending_unrefp) DBusPendingCall *p = NULL;
	usec_t deadline = USEC_INFINITY;
	DBusMessage *reply;
	DBusMessageIter it;
	const char *name, *text = NULL;
	int r;

	if (timeout_ms >= 0)
		deadline = now_usec(CLOCK_MONOTONIC) + (usec_t)timeout_ms * USEC_PER_MSEC;
	/* The deadline is ours: libdbus would only see it when its own main loop runs. */
	if (!dbus_connection_send_with_reply(c, m, &p, DBUS_TIMEOUT_INFINITE))
		return call_error_set(ret_error, -ENOMEM, NULL, "out of memory");
	if (!p)
		return call_error_set(ret_error, -ECONNRESET, NULL, "not connected to the bus");

	for (;;) {
		struct pollfd pfd[2];
		int fd, n, wait_ms = -1;
		usec_t now;

		while (dbus_connection_dispatch(c) == DBUS_DISPATCH_DATA_REMAINS)
			;
		if (dbus_pending_call_get_completed(p))
			break;
		if (!dbus_connection_get_is_connected(c) || !dbus_connection_get_socket(c, &fd))
			return call_error_set(ret_error, -ECONNRESET, NULL,
			                      "the bus connection was closed");
		now = now_usec(CLOCK_MONOTONIC);
		if (deadline != USEC_INFINITY) {
			if (now >= deadline)
				return call_error_set(ret_error, -ETIMEDOUT, NULL,
				                      "no reply to %s within %d ms",
				                      dbus_message_get_member(m), timeout_ms);
			wait_ms = (int)MIN((deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC,
			                   (usec_t)INT_MAX);
		}
		pfd[0] = (struct pollfd){
			.fd = fd,
			.events = POLLIN | (dbus_connection_has_messages_to_send(c) ? POLLOUT : 0),
		};
		pfd[1] = (struct pollfd){ .fd = interrupt_fd, .events = POLLIN };
		n = poll(pfd, interrupt_fd >= 0 ? 2 : 1, wait_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			return call_error_set(ret_error, r, NULL, "poll: %s", strerror(-r));
		}
		if (interrupt_fd >= 0 && pfd[1].revents)
			return call_error_set(ret_error, -EINTR, NULL, "interrupted");
		if (n > 0)
			(void)dbus_connection_read_write(c,
			                                 0); /* a hang-up shows in the next pass */
	}

	reply = dbus_pending_call_steal_reply(p);
	if (!reply)
		return call_error_set(ret_error, -EIO, NULL, "no reply");
	if (dbus_message_get_type(reply) != DBUS_MESSAGE_TYPE_ERROR) {
		*ret_reply = reply;
		return 0;
	}

	name = strempty(dbus_message_get_error_name(reply));
	if (dbus_message_iter_init(reply, &it) &&
	    dbus_message_iter_get_arg_type(&it) == DBUS_TYPE_STRING)
		dbus_message_iter_get_basic(&it, &text);
	r = call_error_set(ret_error, busutil_errno_from_name(name), name, "%s",
	                   text && *text ? text : name);
	dbus_message_unref(reply);
	return r;
}
