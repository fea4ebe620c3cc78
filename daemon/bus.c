/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bus.c - libdbus inside sd-event: objects, dispatch, caller checks, properties, errors */
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>

#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "common/vssid.h"
#include "daemon/bus.h"

#define BUS_DISPATCH_BATCH 64
#define DBUS_PROPS         "org.freedesktop.DBus.Properties"
#define DBUS_INTROSPECT    "org.freedesktop.DBus.Introspectable"
#define DBUS_OBJMGR        "org.freedesktop.DBus.ObjectManager"
#define CREDS_TIMEOUT_MS   5000

/* The API description, embedded at build time from dbus/org.vssd.ShadowCopy1.xml */
extern const char vssd_introspect_xml[];

struct BusObject {
	char *path;
	const BusInterface *const *ifaces;
	void *userdata;
	BusObject *next;
};

/* ---- event loop glue ------------------------------------------------------------------------- */

static int bus_on_dispatch(sd_event_source *s, void *userdata)
{
	Bus *bus = userdata;

	for (unsigned i = 0; i < BUS_DISPATCH_BATCH; i++)
		if (dbus_connection_dispatch(bus->conn) != DBUS_DISPATCH_DATA_REMAINS)
			return 0;
	return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT); /* the rest: next iteration */
}

/* libdbus may be mid-call here: only re-arm the defer source, never dispatch. */
static void bus_on_dispatch_status(DBusConnection *c, DBusDispatchStatus status, void *userdata)
{
	Bus *bus = userdata;

	if (status == DBUS_DISPATCH_DATA_REMAINS && bus->dispatch)
		(void)sd_event_source_set_enabled(bus->dispatch, SD_EVENT_ONESHOT);
}

static int bus_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	DBusWatch *w = userdata;
	unsigned flags = 0;

	if (revents & EPOLLIN)
		flags |= DBUS_WATCH_READABLE;
	if (revents & EPOLLOUT)
		flags |= DBUS_WATCH_WRITABLE;
	if (revents & EPOLLHUP)
		flags |= DBUS_WATCH_HANGUP;
	if (revents & EPOLLERR)
		flags |= DBUS_WATCH_ERROR;
	(void)dbus_watch_handle(w, flags);
	return 0;
}

static uint32_t watch_events(DBusWatch *w)
{
	unsigned f = dbus_watch_get_flags(w);
	uint32_t ev = 0;

	if (f & DBUS_WATCH_READABLE)
		ev |= EPOLLIN;
	if (f & DBUS_WATCH_WRITABLE)
		ev |= EPOLLOUT;
	return ev;
}

static dbus_bool_t bus_add_watch(DBusWatch *w, void *userdata)
{
	Bus *bus = userdata;
	sd_event_source *s = NULL;

	if (sd_event_add_io(bus->event, &s, dbus_watch_get_unix_fd(w), watch_events(w), bus_on_io,
	                    w) < 0)
		return FALSE;
	(void)sd_event_source_set_enabled(s,
	                                  dbus_watch_get_enabled(w) ? SD_EVENT_ON : SD_EVENT_OFF);
	dbus_watch_set_data(w, s, NULL);
	return TRUE;
}

static void bus_remove_watch(DBusWatch *w, void *userdata)
{
	sd_event_source *s = dbus_watch_get_data(w);

	dbus_watch_set_data(w, NULL, NULL);
	sd_event_source_disable_unref(s);
}

static void bus_toggle_watch(DBusWatch *w, void *userdata)
{
	sd_event_source *s = dbus_watch_get_data(w);

	if (!s)
		return;
	(void)sd_event_source_set_io_events(s, watch_events(w));
	(void)sd_event_source_set_enabled(s,
	                                  dbus_watch_get_enabled(w) ? SD_EVENT_ON : SD_EVENT_OFF);
}

static int bus_on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void)dbus_timeout_handle(userdata);
	return 0;
}

static int timeout_arm(Bus *bus, DBusTimeout *t)
{
	sd_event_source *s = dbus_timeout_get_data(t);
	uint64_t usec = (uint64_t)dbus_timeout_get_interval(t) * USEC_PER_MSEC;

	if (!s) {
		if (sd_event_add_time_relative(bus->event, &s, CLOCK_MONOTONIC, usec, 1000,
		                               bus_on_timeout, t) < 0)
			return -ENOMEM;
		dbus_timeout_set_data(t, s, NULL);
	} else
		(void)sd_event_source_set_time_relative(s, usec);
	return sd_event_source_set_enabled(s, dbus_timeout_get_enabled(t) ? SD_EVENT_ONESHOT
	                                                                  : SD_EVENT_OFF);
}

static dbus_bool_t bus_add_timeout(DBusTimeout *t, void *userdata)
{
	return timeout_arm(userdata, t) >= 0;
}

static void bus_remove_timeout(DBusTimeout *t, void *userdata)
{
	sd_event_source *s = dbus_timeout_get_data(t);

	dbus_timeout_set_data(t, NULL, NULL);
	sd_event_source_disable_unref(s);
}

static void bus_toggle_timeout(DBusTimeout *t, void *userdata)
{
	(void)timeout_arm(userdata, t);
}

/* ---- objects --------------------------------------------------------------------------------- */

static BusObject *object_find(Bus *b, const char *path)
{
	for (BusObject *o = b->objects; o; o = o->next)
		if (streq(o->path, path))
			return o;
	return NULL;
}

bool bus_has_object(Bus *b, const char *path)
{
	return object_find(b, path) != NULL;
}

static const BusInterface *object_iface(BusObject *o, const char *name)
{
	for (const BusInterface *const *i = o->ifaces; *i; i++)
		if (streq((*i)->name, name))
			return *i;
	return NULL;
}

static int append_properties(Bus *b, BusObject *o, const BusInterface *iface, DBusMessageIter *it)
{
	DBusMessageIter dict;
	int r;

	r = bus_dict_open(it, &dict);
	if (r < 0)
		return r;
	for (const BusProperty *p = iface->properties; p && p->name; p++) {
		DBusMessageIter e, v;

		if (!dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
		    !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &p->name) ||
		    !dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, p->sig, &v))
			return -ENOMEM;
		r = p->get(b, o->userdata, &v);
		if (r < 0)
			return r;
		if (!dbus_message_iter_close_container(&e, &v) ||
		    !dbus_message_iter_close_container(&dict, &e))
			return -ENOMEM;
	}
	return bus_dict_close(it, &dict);
}

/* a{sa{sv}}: every interface of o with its properties */
static int append_interfaces(Bus *b, BusObject *o, DBusMessageIter *it)
{
	DBusMessageIter arr;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "{sa{sv}}", &arr))
		return -ENOMEM;
	for (const BusInterface *const *i = o->ifaces; *i; i++) {
		DBusMessageIter e;
		int r;

		if (!dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
		    !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &(*i)->name))
			return -ENOMEM;
		r = append_properties(b, o, *i, &e);
		if (r < 0)
			return r;
		if (!dbus_message_iter_close_container(&arr, &e))
			return -ENOMEM;
	}
	return dbus_message_iter_close_container(it, &arr) ? 0 : -ENOMEM;
}

int bus_emit_signal(Bus *b, DBusMessage *signal)
{
	if (b->tap)
		b->tap(b->tap_userdata, signal);
	if (!b->conn)
		return -ENOTCONN;
	if (!dbus_connection_send(b->conn, signal, NULL))
		return -ENOMEM;
	return 0;
}

int bus_add_object(Bus *b, const char *path, const BusInterface *const *ifaces, void *userdata)
{
	BusObject *o;

	if (object_find(b, path))
		return -EEXIST;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->path = strdup(path);
	if (!o->path) {
		free(o);
		return -ENOMEM;
	}
	o->ifaces = ifaces;
	o->userdata = userdata;
	o->next = b->objects;
	b->objects = o;

	if (b->conn && !streq(path, VSSD_ROOT_PATH)) {
		DBusMessage *s =
			dbus_message_new_signal(VSSD_ROOT_PATH, DBUS_OBJMGR, "InterfacesAdded");
		DBusMessageIter it;

		if (s) {
			dbus_message_iter_init_append(s, &it);
			if (bus_append_path(&it, path) >= 0 && append_interfaces(b, o, &it) >= 0)
				(void)bus_emit_signal(b, s);
			dbus_message_unref(s);
		}
	}
	return 0;
}

void bus_remove_object(Bus *b, const char *path)
{
	BusObject **p = &b->objects, *o;

	while (*p && !streq((*p)->path, path))
		p = &(*p)->next;
	o = *p;
	if (!o)
		return;
	*p = o->next;

	if (b->conn) {
		DBusMessage *s =
			dbus_message_new_signal(VSSD_ROOT_PATH, DBUS_OBJMGR, "InterfacesRemoved");
		DBusMessageIter it, arr;

		if (s) {
			dbus_message_iter_init_append(s, &it);
			if (bus_append_path(&it, path) >= 0 &&
			    dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "s", &arr)) {
				for (const BusInterface *const *i = o->ifaces; *i; i++)
					(void)bus_append_string(&arr, (*i)->name);
				if (dbus_message_iter_close_container(&it, &arr))
					(void)bus_emit_signal(b, s);
			}
			dbus_message_unref(s);
		}
	}
	free(o->path);
	free(o);
}

void bus_emit_properties_changed(Bus *b, const char *path, const char *iface,
                                 const char *const *names)
{
	BusObject *o = object_find(b, path);
	const BusInterface *i;
	DBusMessage *s;
	DBusMessageIter it, dict, inv;

	if (!o || (!b->conn && !b->tap) || !(i = object_iface(o, iface)))
		return;
	s = dbus_message_new_signal(path, DBUS_PROPS, "PropertiesChanged");
	if (!s)
		return;
	dbus_message_iter_init_append(s, &it);
	if (bus_append_string(&it, iface) < 0 || bus_dict_open(&it, &dict) < 0)
		goto out;
	for (const char *const *n = names; *n; n++)
		for (const BusProperty *p = i->properties; p && p->name; p++) {
			DBusMessageIter e, v;

			if (!streq(p->name, *n))
				continue;
			if (!dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL,
			                                      &e) ||
			    !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &p->name) ||
			    !dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, p->sig, &v) ||
			    p->get(b, o->userdata, &v) < 0 ||
			    !dbus_message_iter_close_container(&e, &v) ||
			    !dbus_message_iter_close_container(&dict, &e))
				goto out;
		}
	if (bus_dict_close(&it, &dict) < 0 ||
	    !dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "s", &inv) ||
	    !dbus_message_iter_close_container(&it, &inv))
		goto out;
	(void)bus_emit_signal(b, s);
out:
	dbus_message_unref(s);
}

/* ---- replies --------------------------------------------------------------------------------- */

int bus_send(Bus *b, DBusMessage *reply)
{
	int r = 0;

	if (!reply)
		return -ENOMEM;
	if (b->tap)
		b->tap(b->tap_userdata, reply);
	if (b->conn && !dbus_connection_send(b->conn, reply, NULL))
		r = -ENOMEM;
	dbus_message_unref(reply);
	return r;
}

int bus_reply_empty(Bus *b, DBusMessage *m)
{
	return bus_send(b, dbus_message_new_method_return(m));
}

int bus_reply_error(Bus *b, DBusMessage *m, const VssErr *err, int error)
{
	char name[128], text[700];
	VssError kind;
	const char *msg;

	if (vss_err_is_set(err) && err->code_name) {
		snprintf(name, sizeof(name), VSS_ERROR_PREFIX "%s",
		         vss_error_info(err->kind)->name);
		vss_err_format_err(err, text, sizeof(text));
		return bus_send(b, dbus_message_new_error(m, name, bus_safe_string(text)));
	}
	if (vss_err_is_set(err)) {
		kind = err->kind;
		msg = err->message;
	} else {
		kind = vss_error_from_errno(error);
		msg = strerror(error < 0 ? -error : error);
	}
	if (kind == VSS_ERROR_NONE)
		kind = VSS_ERROR_UNEXPECTED_PROVIDER_ERROR;
	snprintf(name, sizeof(name), VSS_ERROR_PREFIX "%s", vss_error_info(kind)->name);
	vss_err_format(kind, bus_safe_string(msg), text, sizeof(text));
	return bus_send(b, dbus_message_new_error(m, name, text));
}

/* ---- option dictionaries --------------------------------------------------------------------- */

static const char *type_name(char t)
{
	switch (t) {
	case 's':
		return "a string (s)";
	case 'b':
		return "a boolean (b)";
	case 'u':
		return "an unsigned 32-bit integer (u)";
	case 't':
		return "an unsigned 64-bit integer (t)";
	case 'A':
		return "an array of dictionaries (aa{sv})";
	default:
		return "a string array (as)";
	}
}

size_t bus_array_count(DBusMessageIter *it)
{
	int n;

	if (dbus_message_iter_get_arg_type(it) != DBUS_TYPE_ARRAY)
		return 0;
	/* walks the array's bytes only: nothing is copied or allocated */
	n = dbus_message_iter_get_element_count(it);
	return n > 0 ? (size_t)n : 0;
}

int bus_read_strv(DBusMessageIter *it, size_t max, size_t max_n, char ***ret, VssErr *err)
{
	_cleanup_strv_free_ char **l = NULL;
	DBusMessageIter a;
	size_t n, i = 0;

	if (dbus_message_iter_get_arg_type(it) != DBUS_TYPE_ARRAY ||
	    dbus_message_iter_get_element_type(it) != DBUS_TYPE_STRING)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "expected an array of strings");
	/* counted before anything is read: a huge array costs one walk, not n copies */
	n = bus_array_count(it);
	if (n > max_n)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -E2BIG,
		                   "%zu strings given; at most %zu are allowed here", n, max_n);
	l = calloc(n + 1, sizeof(char *)); /* one allocation, NULL-terminated as it fills */
	if (!l)
		return -ENOMEM;
	dbus_message_iter_recurse(it, &a);
	for (; i < n && dbus_message_iter_get_arg_type(&a) == DBUS_TYPE_STRING;
	     dbus_message_iter_next(&a), i++) {
		const char *s;

		dbus_message_iter_get_basic(&a, &s);
		if (!valid_text(s, max))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "\"%.64s\" is empty, too long or contains control "
			                   "characters",
			                   s);
		l[i] = strdup(s);
		if (!l[i])
			return -ENOMEM;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

/* Is the value at it of exactly signature sig? (A nested dictionary arrives in a variant, which
 * the method's signature check does not look into.) */
static bool iter_has_signature(DBusMessageIter *it, const char *sig)
{
	char *s = dbus_message_iter_get_signature(it);
	bool ok = s && streq(s, sig);

	dbus_free(s);
	return ok;
}

int bus_read_options(DBusMessageIter *it, const BusOption *opts, VssErr *err)
{
	DBusMessageIter dict;

	if (dbus_message_iter_get_arg_type(it) != DBUS_TYPE_ARRAY ||
	    !iter_has_signature(it, "a{sv}"))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "options must be a dictionary a{sv}");
	dbus_message_iter_recurse(it, &dict);
	while (dbus_message_iter_get_arg_type(&dict) == DBUS_TYPE_DICT_ENTRY) {
		DBusMessageIter e, v;
		const BusOption *o;
		const char *key;
		int vt;

		dbus_message_iter_recurse(&dict, &e);
		dbus_message_iter_get_basic(&e, &key);
		dbus_message_iter_next(&e);
		dbus_message_iter_recurse(&e, &v);
		vt = dbus_message_iter_get_arg_type(&v);

		for (o = opts; o->key; o++)
			if (streq(o->key, key))
				break;
		if (!o->key) {
			char known[512] = "";

			for (const BusOption *k = opts; k->key; k++) {
				strncat(known, k->key, sizeof(known) - strlen(known) - 3);
				if (k[1].key)
					strncat(known, ", ", sizeof(known) - strlen(known) - 1);
			}
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "unknown option \"%.64s\"; known options: %s",
			                   bus_safe_string(key), known[0] ? known : "none");
		}
		if (o->seen && *o->seen)
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "option \"%s\" is given twice", o->key);
		if ((o->type == 'a' &&
		     (vt != DBUS_TYPE_ARRAY ||
		      dbus_message_iter_get_element_type(&v) != DBUS_TYPE_STRING)) ||
		    (o->type == 'A' &&
		     (vt != DBUS_TYPE_ARRAY || !iter_has_signature(&v, "aa{sv}"))) ||
		    (o->type != 'a' && o->type != 'A' && vt != o->type))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "option \"%s\" must be %s", o->key, type_name(o->type));
		if (o->type == 'a' || o->type == 'A') {
			size_t max = o->max ? o->max : VSSD_OPTION_ARRAY_MAX;
			size_t n = bus_array_count(&v);

			if (n > max)
				return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -E2BIG,
				                   "option \"%s\" has %zu elements; at most %zu "
				                   "are allowed",
				                   o->key, n, max);
		}
		switch (o->type) {
		case 's':
			dbus_message_iter_get_basic(&v, (const char **)o->dest);
			break;
		case 'b': {
			dbus_bool_t bv;

			dbus_message_iter_get_basic(&v, &bv);
			*(bool *)o->dest = bv;
			break;
		}
		case 'u':
			dbus_message_iter_get_basic(&v, (uint32_t *)o->dest);
			break;
		case 't':
			dbus_message_iter_get_basic(&v, (uint64_t *)o->dest);
			break;
		case 'A': /* an array of arrays (aa{sv}): the caller walks it */
			*(DBusMessageIter *)o->dest = v;
			break;
		default: {
			char ***dest = o->dest;
			int r;

			*dest = strv_free(*dest);
			r = bus_read_strv(&v, VSSD_PATH_MAX, SIZE_MAX, dest,
			                  err); /* counted above */
			if (r < 0)
				return r;
			break;
		}
		}
		if (o->seen)
			*o->seen = true;
		dbus_message_iter_next(&dict);
	}
	return 0;
}

/* ---- building messages ----------------------------------------------------------------------- */

int bus_dict_open(DBusMessageIter *it, DBusMessageIter *dict)
{
	return dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "{sv}", dict) ? 0 : -ENOMEM;
}

int bus_dict_close(DBusMessageIter *it, DBusMessageIter *dict)
{
	return dbus_message_iter_close_container(it, dict) ? 0 : -ENOMEM;
}

static int dict_add_basic(DBusMessageIter *dict, const char *key, int type, const char *sig,
                          const void *value)
{
	DBusMessageIter e, v;

	if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
	    !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key) ||
	    !dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, sig, &v) ||
	    !dbus_message_iter_append_basic(&v, type, value) ||
	    !dbus_message_iter_close_container(&e, &v) ||
	    !dbus_message_iter_close_container(dict, &e))
		return -ENOMEM;
	return 0;
}

int bus_dict_add_string(DBusMessageIter *dict, const char *key, const char *value)
{
	const char *s = bus_safe_string(value);

	return dict_add_basic(dict, key, DBUS_TYPE_STRING, "s", &s);
}

int bus_dict_add_bool(DBusMessageIter *dict, const char *key, bool value)
{
	dbus_bool_t b = value;

	return dict_add_basic(dict, key, DBUS_TYPE_BOOLEAN, "b", &b);
}

int bus_dict_add_u32(DBusMessageIter *dict, const char *key, uint32_t value)
{
	return dict_add_basic(dict, key, DBUS_TYPE_UINT32, "u", &value);
}

int bus_dict_add_u64(DBusMessageIter *dict, const char *key, uint64_t value)
{
	return dict_add_basic(dict, key, DBUS_TYPE_UINT64, "t", &value);
}

int bus_dict_add_double(DBusMessageIter *dict, const char *key, double value)
{
	return dict_add_basic(dict, key, DBUS_TYPE_DOUBLE, "d", &value);
}

int bus_dict_add_strv(DBusMessageIter *dict, const char *key, char *const *value)
{
	DBusMessageIter e, v, a;

	if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
	    !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key) ||
	    !dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "as", &v) ||
	    !dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "s", &a))
		return -ENOMEM;
	for (char *const *i = value; i && *i; i++)
		if (bus_append_string(&a, *i) < 0)
			return -ENOMEM;
	if (!dbus_message_iter_close_container(&v, &a) ||
	    !dbus_message_iter_close_container(&e, &v) ||
	    !dbus_message_iter_close_container(dict, &e))
		return -ENOMEM;
	return 0;
}

int bus_append_string(DBusMessageIter *it, const char *s)
{
	const char *v = bus_safe_string(s);

	return dbus_message_iter_append_basic(it, DBUS_TYPE_STRING, &v) ? 0 : -ENOMEM;
}

int bus_append_path(DBusMessageIter *it, const char *p)
{
	return dbus_message_iter_append_basic(it, DBUS_TYPE_OBJECT_PATH, &p) ? 0 : -ENOMEM;
}

int bus_append_bool(DBusMessageIter *it, bool v)
{
	dbus_bool_t b = v;

	return dbus_message_iter_append_basic(it, DBUS_TYPE_BOOLEAN, &b) ? 0 : -ENOMEM;
}

int bus_append_u32(DBusMessageIter *it, uint32_t v)
{
	return dbus_message_iter_append_basic(it, DBUS_TYPE_UINT32, &v) ? 0 : -ENOMEM;
}

int bus_append_u64(DBusMessageIter *it, uint64_t v)
{
	return dbus_message_iter_append_basic(it, DBUS_TYPE_UINT64, &v) ? 0 : -ENOMEM;
}

int bus_append_double(DBusMessageIter *it, double v)
{
	return dbus_message_iter_append_basic(it, DBUS_TYPE_DOUBLE, &v) ? 0 : -ENOMEM;
}

int bus_append_pathv(DBusMessageIter *it, char *const *paths)
{
	DBusMessageIter a;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "o", &a))
		return -ENOMEM;
	for (char *const *p = paths; p && *p; p++)
		if (bus_append_path(&a, *p) < 0)
			return -ENOMEM;
	return dbus_message_iter_close_container(it, &a) ? 0 : -ENOMEM;
}

char *bus_object_path(const char *kind, const void *vssid, char *buf, size_t size)
{
	char p[VSSID_PATH_MAX];

	snprintf(buf, size, VSSD_ROOT_PATH "/%s/%s", kind, vssid_to_path(vssid, p));
	return buf;
}

const char *bus_safe_string(const char *s)
{
	if (!s || !dbus_validate_utf8(s, NULL))
		return "";
	return s;
}

/* ---- standard interfaces --------------------------------------------------------------------- */

/* The part of the embedded XML for one interface: <interface name="X"> ... </interface> */
/* Copies XML text [p, e) to f without its <method> elements */
static void put_without_methods(FILE *f, const char *p, const char *e)
{
	while (p < e) {
		const char *m = strstr(p, "<method "), *gt, *end;

		if (!m || m >= e) {
			fwrite(p, 1, (size_t)(e - p), f);
			return;
		}
		fwrite(p, 1, (size_t)(m - p), f);
		gt = strchr(m, '>');
		end = strstr(m, "</method>");
		if (gt && gt > m && gt[-1] == '/')
			p = gt + 1; /* <method name="X"/> */
		else if (end && end < e)
			p = end + strlen("</method>");
		else
			return;
	}
}

/* The interface's XML as dbus/org.vssd.ShadowCopy1.xml has it; an interface whose object
 * implements no methods here (vssd's writer objects: the writers implement them) is shown with
 * its properties and signals only. */
static int append_iface_xml(FILE *f, const BusInterface *iface)
{
	char start[160];
	const char *a, *e;

	snprintf(start, sizeof(start), "<interface name=\"%s\">", iface->name);
	a = strstr(vssd_introspect_xml, start);
	if (!a)
		return -ENOENT;
	e = strstr(a, "</interface>");
	if (!e)
		return -EINVAL;
	fputs("  ", f);
	if (iface->methods && iface->methods[0].name)
		fwrite(a, 1, (size_t)(e - a), f);
	else
		put_without_methods(f, a, e);
	fputs("</interface>\n", f);
	return 0;
}

static const char std_ifaces_xml[] =
	"  <interface name=\"org.freedesktop.DBus.Introspectable\">\n"
	"    <method name=\"Introspect\"><arg name=\"xml\" type=\"s\" "
	"direction=\"out\"/></method>\n"
	"  </interface>\n"
	"  <interface name=\"org.freedesktop.DBus.Peer\">\n"
	"    <method name=\"Ping\"/>\n"
	"    <method name=\"GetMachineId\"><arg name=\"id\" type=\"s\" "
	"direction=\"out\"/></method>\n"
	"  </interface>\n"
	"  <interface name=\"org.freedesktop.DBus.Properties\">\n"
	"    <method name=\"Get\"><arg name=\"interface\" type=\"s\" direction=\"in\"/>"
	"<arg name=\"name\" type=\"s\" direction=\"in\"/>"
	"<arg name=\"value\" type=\"v\" direction=\"out\"/></method>\n"
	"    <method name=\"GetAll\"><arg name=\"interface\" type=\"s\" direction=\"in\"/>"
	"<arg name=\"properties\" type=\"a{sv}\" direction=\"out\"/></method>\n"
	"    <method name=\"Set\"><arg name=\"interface\" type=\"s\" direction=\"in\"/>"
	"<arg name=\"name\" type=\"s\" direction=\"in\"/>"
	"<arg name=\"value\" type=\"v\" direction=\"in\"/></method>\n"
	"    <signal name=\"PropertiesChanged\"><arg name=\"interface\" type=\"s\"/>"
	"<arg name=\"changed\" type=\"a{sv}\"/><arg name=\"invalidated\" type=\"as\"/></signal>\n"
	"  </interface>\n";

static const char objmgr_xml[] =
	"  <interface name=\"org.freedesktop.DBus.ObjectManager\">\n"
	"    <method name=\"GetManagedObjects\"><arg name=\"objects\" type=\"a{oa{sa{sv}}}\" "
	"direction=\"out\"/></method>\n"
	"    <signal name=\"InterfacesAdded\"><arg name=\"object\" type=\"o\"/>"
	"<arg name=\"interfaces\" type=\"a{sa{sv}}\"/></signal>\n"
	"    <signal name=\"InterfacesRemoved\"><arg name=\"object\" type=\"o\"/>"
	"<arg name=\"interfaces\" type=\"as\"/></signal>\n"
	"  </interface>\n";

static int introspect(Bus *b, DBusMessage *m, const char *path)
{
	_cleanup_free_ char *xml = NULL;
	_cleanup_strv_free_ char **children = NULL;
	BusObject *self = object_find(b, path);
	size_t plen = strlen(path);
	size_t len = 0;
	DBusMessage *reply;
	FILE *f;

	/* children: the next path element of every object below path */
	for (BusObject *o = b->objects; o; o = o->next) {
		const char *rest;
		_cleanup_free_ char *elem = NULL;

		if (streq(path, "/"))
			rest = o->path + 1;
		else if (strncmp(o->path, path, plen) == 0 && o->path[plen] == '/')
			rest = o->path + plen + 1;
		else
			continue;
		elem = strndup(rest, strcspn(rest, "/"));
		if (!elem)
			return -ENOMEM;
		if (elem[0] && !strv_contains(children, elem) &&
		    strv_push(&children, TAKE_PTR(elem)) < 0)
			return -ENOMEM;
	}
	if (!self && !children)
		return -ENOENT;

	f = open_memstream(&xml, &len);
	if (!f)
		return -ENOMEM;
	fputs("<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n"
	      " \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n<node>\n",
	      f);
	fputs(std_ifaces_xml, f);
	if (self) {
		if (streq(path, VSSD_ROOT_PATH))
			fputs(objmgr_xml, f);
		for (const BusInterface *const *i = self->ifaces; *i; i++)
			(void)append_iface_xml(f, *i);
	}
	for (char **c = children; c && *c; c++)
		fprintf(f, "  <node name=\"%s\"/>\n", *c);
	fputs("</node>\n", f);
	if (fclose(f) != 0)
		return -ENOMEM;

	reply = dbus_message_new_method_return(m);
	if (!reply || !dbus_message_append_args(reply, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID)) {
		if (reply)
			dbus_message_unref(reply);
		return -ENOMEM;
	}
	return bus_send(b, reply);
}

static int get_managed_objects(Bus *b, DBusMessage *m)
{
	DBusMessage *reply = dbus_message_new_method_return(m);
	DBusMessageIter it, arr;

	if (!reply)
		return -ENOMEM;
	dbus_message_iter_init_append(reply, &it);
	if (!dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{oa{sa{sv}}}", &arr))
		goto oom;
	for (BusObject *o = b->objects; o; o = o->next) {
		DBusMessageIter e;

		if (streq(o->path, VSSD_ROOT_PATH))
			continue;
		if (!dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
		    bus_append_path(&e, o->path) < 0 || append_interfaces(b, o, &e) < 0 ||
		    !dbus_message_iter_close_container(&arr, &e))
			goto oom;
	}
	if (!dbus_message_iter_close_container(&it, &arr))
		goto oom;
	return bus_send(b, reply);
oom:
	dbus_message_unref(reply);
	return -ENOMEM;
}

static int properties_call(Bus *b, DBusMessage *m, BusObject *o, VssErr *err)
{
	const char *member = dbus_message_get_member(m);
	const char *iface_name = NULL, *prop = NULL;
	const BusInterface *iface;
	DBusMessage *reply;
	DBusMessageIter it, v;
	int r;

	if (streq(member, "GetAll")) {
		if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &iface_name,
		                           DBUS_TYPE_INVALID))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "GetAll takes an interface name");
		iface = object_iface(o, iface_name);
		reply = dbus_message_new_method_return(m);
		if (!reply)
			return -ENOMEM;
		dbus_message_iter_init_append(reply, &it);
		if (iface)
			r = append_properties(b, o, iface, &it);
		else {
			DBusMessageIter d;

			r = bus_dict_open(&it, &d);
			if (r >= 0)
				r = bus_dict_close(&it, &d);
		}
		if (r < 0) {
			dbus_message_unref(reply);
			return r;
		}
		return bus_send(b, reply);
	}
	if (streq(member, "Get")) {
		if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &iface_name, DBUS_TYPE_STRING,
		                           &prop, DBUS_TYPE_INVALID))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "Get takes an interface and a property name");
		iface = object_iface(o, iface_name);
		for (const BusProperty *p = iface ? iface->properties : NULL; p && p->name; p++) {
			if (!streq(p->name, prop))
				continue;
			reply = dbus_message_new_method_return(m);
			if (!reply)
				return -ENOMEM;
			dbus_message_iter_init_append(reply, &it);
			if (!dbus_message_iter_open_container(&it, DBUS_TYPE_VARIANT, p->sig, &v) ||
			    p->get(b, o->userdata, &v) < 0 ||
			    !dbus_message_iter_close_container(&it, &v)) {
				dbus_message_unref(reply);
				return -ENOMEM;
			}
			return bus_send(b, reply);
		}
		return bus_send(b, dbus_message_new_error(m, DBUS_ERROR_UNKNOWN_PROPERTY,
		                                          "no such property"));
	}
	if (streq(member, "Set"))
		return bus_send(b, dbus_message_new_error(m, DBUS_ERROR_PROPERTY_READ_ONLY,
		                                          "all vssd properties are read-only"));
	return bus_send(b, dbus_message_new_error(m, DBUS_ERROR_UNKNOWN_METHOD, "unknown method"));
}

/* ---- callers --------------------------------------------------------------------------------- */

static BusCaller *caller_find(Bus *b, const char *name)
{
	for (size_t i = 0; i < b->n_callers; i++)
		if (streq(b->callers[i]->name, name))
			return b->callers[i];
	return NULL;
}

static void caller_free(BusCaller *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_queue; i++)
		dbus_message_unref(c->queue[i]);
	free(c->queue);
	free(c->gids);
	free(c->name);
	free(c);
}

static void caller_forget(Bus *b, const char *name)
{
	for (size_t i = 0; i < b->n_callers; i++)
		if (streq(b->callers[i]->name, name)) {
			caller_free(b->callers[i]);
			b->callers[i] = b->callers[--b->n_callers];
			return;
		}
}

static bool caller_in_group(const BusCaller *c, const char *group)
{
	struct group *g = group ? getgrnam(group) : NULL;

	if (!g)
		return false;
	for (size_t i = 0; i < c->n_gids; i++)
		if (c->gids[i] == g->gr_gid)
			return true;
	return false;
}

static bool caller_allowed(Bus *b, const BusCaller *c, BusAccess access)
{
	switch (access) {
	case BUS_ACCESS_OPEN:
		return true;
	case BUS_ACCESS_WRITER:
		if (caller_in_group(c, b->group_writer))
			return true;
		_fallthrough_;
	case BUS_ACCESS_ADMIN:
		return c->uid == 0 || caller_in_group(c, b->group_admin);
	case _BUS_ACCESS_MAX:
	case _BUS_ACCESS_INVALID:
		break;
	}
	return false;
}

static const BusMethod *method_find(const BusInterface *iface, const char *member)
{
	for (const BusMethod *x = iface ? iface->methods : NULL; x && x->name; x++)
		if (streq(x->name, member))
			return x;
	return NULL;
}

/* Finds the object and method; NULL method for standard interfaces. */
static int route(Bus *b, DBusMessage *m, BusObject **ret_o, const BusMethod **ret_m)
{
	const char *path = dbus_message_get_path(m), *iface = dbus_message_get_interface(m);
	const char *member = dbus_message_get_member(m);
	BusObject *o = path ? object_find(b, path) : NULL;

	*ret_o = o;
	*ret_m = NULL;
	if (!o)
		return -ENOENT;
	if (iface && (streq(iface, DBUS_PROPS) || streq(iface, DBUS_INTROSPECT) ||
	              streq(iface, DBUS_OBJMGR)))
		return 0;
	if (iface) {
		*ret_m = method_find(object_iface(o, iface), member);
	} else
		for (const BusInterface *const *i = o->ifaces; *i && !*ret_m; i++)
			*ret_m = method_find(*i, member);
	return *ret_m ? 0 : -ENOSYS;
}

static void handle_call(Bus *b, DBusMessage *m, const BusCaller *c)
{
	const char *iface = dbus_message_get_interface(m);
	const char *member = dbus_message_get_member(m);
	const BusMethod *meth;
	VssErr err = { 0 };
	BusObject *o;
	int r;

	r = route(b, m, &o, &meth);
	if (r == -ENOENT && iface && streq(iface, DBUS_INTROSPECT)) {
		r = introspect(b, m, dbus_message_get_path(m));
		if (r == -ENOENT)
			(void)bus_send(b, dbus_message_new_error(m, DBUS_ERROR_UNKNOWN_OBJECT,
			                                         "no such object"));
		return;
	}
	if (r == -ENOENT) {
		/* a set, shadow copy or writer that is gone (or never was): vssd's own error name,
		 * as when its id is passed as an argument */
		const char *path = dbus_message_get_path(m), *rest = NULL, *kind = "object";
		char id[VSSID_STRING_MAX] = "";
		VssId v;

		if ((rest = startswith(path, VSSD_ROOT_PATH "/set/")))
			kind = "shadow copy set";
		else if ((rest = startswith(path, VSSD_ROOT_PATH "/snapshot/")))
			kind = "shadow copy";
		else if ((rest = startswith(path, VSSD_ROOT_PATH "/writer/")))
			kind = "writer";
		if (rest && vssid_from_path(rest, &v) >= 0)
			vssid_to_string(&v, id);
		vss_err_set(&err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
		            "no %s %s (GetManagedObjects lists those that exist)", kind,
		            id[0] ? id : bus_safe_string(path));
		(void)bus_reply_error(b, m, &err, -ENOENT);
		return;
	}
	if (r == -ENOSYS) {
		(void)bus_send(b, dbus_message_new_error_printf(m, DBUS_ERROR_UNKNOWN_METHOD,
		                                                "unknown method %s", member));
		return;
	}
	if (!meth) { /* standard interfaces */
		bool open = streq(iface, DBUS_INTROSPECT) ||
		            (streq(iface, DBUS_PROPS) && streq(o->path, VSSD_ROOT_PATH));

		if (!open && !caller_allowed(b, c, BUS_ACCESS_ADMIN))
			r = vss_err_set(&err, VSS_ERROR_ACCESS_DENIED, -EACCES,
			                "only root and members of group %s may read vssd objects",
			                b->group_admin);
		else if (streq(iface, DBUS_INTROSPECT))
			r = introspect(b, m, o->path);
		else if (streq(iface, DBUS_OBJMGR) && streq(member, "GetManagedObjects") &&
		         streq(o->path, VSSD_ROOT_PATH))
			r = get_managed_objects(b, m);
		else if (streq(iface, DBUS_PROPS))
			r = properties_call(b, m, o, &err);
		else
			r = vss_err_set(&err, VSS_ERROR_INVALID_ARGUMENT, -ENOSYS,
			                "unknown method %s", member);
		if (r < 0)
			(void)bus_reply_error(b, m, &err, r);
		return;
	}
	if (!caller_allowed(b, c, meth->access)) {
		vss_err_set(&err, VSS_ERROR_ACCESS_DENIED, -EACCES,
		            "%s is not allowed for uid %u: only root and group %s%s%s may call it",
		            member, (unsigned)c->uid, b->group_admin,
		            meth->access == BUS_ACCESS_WRITER ? " or " : "",
		            meth->access == BUS_ACCESS_WRITER ? b->group_writer : "");
		(void)bus_reply_error(b, m, &err, -EACCES);
		return;
	}
	if (!dbus_message_has_signature(m, meth->in_sig)) {
		vss_err_set(&err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		            "%s takes arguments of type \"%s\", not \"%s\"", member, meth->in_sig,
		            dbus_message_get_signature(m));
		(void)bus_reply_error(b, m, &err, -EINVAL);
		return;
	}
	r = meth->fn(b, m, o->userdata, c, &err);
	if (r < 0) {
		if (vss_err_is_set(&err))
			log_debug("%s from %s failed: %s", member, c->name, err.message);
		(void)bus_reply_error(b, m, &err, r);
	}
}

static void caller_on_creds(DBusPendingCall *pending, void *userdata)
{
	Bus *b = ((void **)userdata)[0];
	char *name = ((void **)userdata)[1];
	DBusMessage *reply = dbus_pending_call_steal_reply(pending);
	BusCaller *c = caller_find(b, name);
	DBusMessageIter it, dict;

	dbus_pending_call_unref(pending);
	if (!c || !reply)
		goto out;
	c->uid = (uid_t)-1;
	if (dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_METHOD_RETURN &&
	    dbus_message_iter_init(reply, &it) &&
	    dbus_message_iter_get_arg_type(&it) == DBUS_TYPE_ARRAY) {
		bool have_groups = false;

		dbus_message_iter_recurse(&it, &dict);
		while (dbus_message_iter_get_arg_type(&dict) == DBUS_TYPE_DICT_ENTRY) {
			DBusMessageIter e, v;
			const char *key;

			dbus_message_iter_recurse(&dict, &e);
			dbus_message_iter_get_basic(&e, &key);
			dbus_message_iter_next(&e);
			dbus_message_iter_recurse(&e, &v);
			if (streq(key, "UnixUserID") &&
			    dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_UINT32) {
				uint32_t u;

				dbus_message_iter_get_basic(&v, &u);
				c->uid = u;
			} else if (streq(key, "ProcessID") &&
			           dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_UINT32) {
				uint32_t p;

				dbus_message_iter_get_basic(&v, &p);
				c->pid = (pid_t)p;
			} else if (streq(key, "UnixGroupIDs") &&
			           dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_ARRAY) {
				DBusMessageIter a;

				have_groups = true;
				dbus_message_iter_recurse(&v, &a);
				while (dbus_message_iter_get_arg_type(&a) == DBUS_TYPE_UINT32) {
					uint32_t g;
					gid_t *n =
						reallocarray(c->gids, c->n_gids + 1, sizeof(gid_t));

					if (!n)
						break;
					dbus_message_iter_get_basic(&a, &g);
					c->gids = n;
					c->gids[c->n_gids++] = g;
					dbus_message_iter_next(&a);
				}
			}
			dbus_message_iter_next(&dict);
		}
		if (!have_groups && c->uid != (uid_t)-1) {
			/* an older bus: the user's groups from the user database */
			struct passwd *pw = getpwuid(c->uid);
			int n = 64;

			if (pw) {
				c->gids = calloc((size_t)n, sizeof(gid_t));
				if (c->gids &&
				    getgrouplist(pw->pw_name, pw->pw_gid, c->gids, &n) >= 0)
					c->n_gids = (size_t)n;
			}
		}
	}
	c->ready = true;
	/* The calls that waited, in their order */
	for (size_t i = 0; i < c->n_queue; i++) {
		handle_call(b, c->queue[i], c);
		dbus_message_unref(c->queue[i]);
	}
	c->n_queue = 0;
out:
	if (reply)
		dbus_message_unref(reply);
}

static void creds_userdata_free(void *p)
{
	void **ud = p;

	free(ud[1]);
	free(ud);
}

static int caller_lookup(Bus *b, DBusMessage *m)
{
	const char *sender = dbus_message_get_sender(m);
	BusCaller *c = sender ? caller_find(b, sender) : NULL;
	DBusMessage *q = NULL;
	DBusPendingCall *pending = NULL;
	DBusMessage **nq;
	void **ud;

	if (!sender)
		return -EINVAL;
	if (c && c->ready) {
		handle_call(b, m, c);
		return 0;
	}
	if (!c) {
		BusCaller **n = reallocarray(b->callers, b->n_callers + 1, sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->callers = n;
		c = calloc(1, sizeof(*c));
		if (!c || !(c->name = strdup(sender))) {
			free(c);
			return -ENOMEM;
		}
		b->callers[b->n_callers++] = c;

		q = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
		                                 DBUS_INTERFACE_DBUS, "GetConnectionCredentials");
		ud = calloc(2, sizeof(void *));
		if (!q || !ud ||
		    !dbus_message_append_args(q, DBUS_TYPE_STRING, &sender, DBUS_TYPE_INVALID) ||
		    !dbus_connection_send_with_reply(b->conn, q, &pending, CREDS_TIMEOUT_MS) ||
		    !pending) {
			if (q)
				dbus_message_unref(q);
			free(ud);
			caller_forget(b, sender);
			return -ENOMEM;
		}
		dbus_message_unref(q);
		ud[0] = b;
		ud[1] = strdup(sender);
		if (!ud[1] || !dbus_pending_call_set_notify(pending, caller_on_creds, ud,
		                                            creds_userdata_free)) {
			dbus_pending_call_cancel(pending);
			dbus_pending_call_unref(pending);
			creds_userdata_free(ud);
			caller_forget(b, sender);
			return -ENOMEM;
		}
	}
	nq = reallocarray(c->queue, c->n_queue + 1, sizeof(*nq));
	if (!nq)
		return -ENOMEM;
	c->queue = nq;
	c->queue[c->n_queue++] = dbus_message_ref(m);
	return 0;
}

/* ---- the filter: every incoming message ------------------------------------------------------ */

static DBusHandlerResult bus_filter(DBusConnection *conn, DBusMessage *m, void *userdata)
{
	Bus *b = userdata;

	if (dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected")) {
		log_error("lost the connection to the bus, stopping");
		(void)sd_event_exit(b->event, -ECONNRESET);
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	if (dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged")) {
		const char *name, *old_owner, *new_owner;

		/* Only the bus itself says who left: any peer may send a signal of this name
		 * to us directly (the match rule filters broadcasts only), and believing it
		 * would release another requester's sets and writers. */
		if (!streq_ptr(dbus_message_get_sender(m), DBUS_SERVICE_DBUS)) {
			log_warning("a NameOwnerChanged signal from %s, not from the bus, ignoring",
			            bus_safe_string(dbus_message_get_sender(m)));
			return DBUS_HANDLER_RESULT_HANDLED;
		}
		if (dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING,
		                          &old_owner, DBUS_TYPE_STRING, &new_owner,
		                          DBUS_TYPE_INVALID) &&
		    name[0] == ':' && !new_owner[0]) {
			caller_forget(b, name);
			if (b->peer_gone)
				b->peer_gone(b->userdata, name);
		}
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	}
	if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL)
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	if (caller_lookup(b, m) < 0)
		(void)bus_send(b, dbus_message_new_error(m, DBUS_ERROR_NO_MEMORY, "out of memory"));
	return DBUS_HANDLER_RESULT_HANDLED;
}

/* ---- lifetime -------------------------------------------------------------------------------- */

int bus_init(Bus *b, sd_event *e, const char *address, BusPeerGoneFn peer_gone, void *userdata)
{
	DBusError err;
	int r;

	*b = (Bus){ .event = sd_event_ref(e),
		    .peer_gone = peer_gone,
		    .userdata = userdata,
		    .group_admin = "vssadmin",
		    .group_writer = "vsswriters" };
	dbus_error_init(&err);
	if (address) {
		b->conn = dbus_connection_open_private(address, &err);
		if (b->conn && !dbus_bus_register(b->conn, &err)) {
			dbus_connection_close(b->conn);
			dbus_connection_unref(b->conn);
			b->conn = NULL;
		}
	} else
		b->conn = dbus_bus_get_private(DBUS_BUS_SYSTEM, &err);
	if (!b->conn) {
		r = log_error_errno(-ECONNREFUSED, "cannot connect to the bus %s: %s",
		                    address ? address : "(system)", err.message);
		dbus_error_free(&err);
		return r;
	}
	dbus_connection_set_exit_on_disconnect(b->conn, FALSE);

	r = sd_event_add_defer(e, &b->dispatch, bus_on_dispatch, b);
	if (r < 0)
		return r;
	(void)sd_event_source_set_enabled(b->dispatch, SD_EVENT_ONESHOT);
	if (!dbus_connection_set_watch_functions(b->conn, bus_add_watch, bus_remove_watch,
	                                         bus_toggle_watch, b, NULL) ||
	    !dbus_connection_set_timeout_functions(b->conn, bus_add_timeout, bus_remove_timeout,
	                                           bus_toggle_timeout, b, NULL) ||
	    !dbus_connection_add_filter(b->conn, bus_filter, b, NULL))
		return -ENOMEM;
	dbus_connection_set_dispatch_status_function(b->conn, bus_on_dispatch_status, b, NULL);

	dbus_bus_add_match(b->conn,
	                   "type='signal',sender='org.freedesktop.DBus',"
	                   "interface='org.freedesktop.DBus',member='NameOwnerChanged'",
	                   &err);
	if (dbus_error_is_set(&err)) {
		r = log_error_errno(-EIO, "cannot watch bus names: %s", err.message);
		dbus_error_free(&err);
		return r;
	}
	return 0;
}

int bus_request_name(Bus *b, const char *name)
{
	DBusError err;
	int r;

	dbus_error_init(&err);
	/* Blocking once at start-up, before the loop serves anyone: nothing else to wait for. */
	r = dbus_bus_request_name(b->conn, name, DBUS_NAME_FLAG_DO_NOT_QUEUE, &err);
	if (dbus_error_is_set(&err)) {
		r = log_error_errno(-EACCES, "cannot own %s: %s", name, err.message);
		dbus_error_free(&err);
		return r;
	}
	if (r != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
		return log_error_errno(-EEXIST, "%s is owned by another process already", name);
	return 0;
}

void bus_done(Bus *b)
{
	while (b->objects) {
		BusObject *o = b->objects;

		b->objects = o->next;
		free(o->path);
		free(o);
	}
	for (size_t i = 0; i < b->n_callers; i++)
		caller_free(b->callers[i]);
	free(b->callers);
	b->callers = NULL;
	b->n_callers = 0;
	if (b->conn) {
		dbus_connection_flush(b->conn);
		dbus_connection_close(b->conn);
		dbus_connection_unref(b->conn);
		b->conn = NULL;
	}
	b->dispatch = sd_event_source_disable_unref(b->dispatch);
	b->event = sd_event_unref(b->event);
}
