/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vss-writer-msg.c - libvsswriter: message encoding and decoding (a{sv}, info, event arguments) */
#include <dbus/dbus.h>
#include <errno.h>
#include <stdlib.h>

#include "client/libvsswriter/vss-writer-internal.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "common/vssid.h"

static const struct {
	const char *member;
	const char *signature;
} writer_events[_WRITER_EVENT_MAX] = {
	[WRITER_EVENT_IDENTIFY] = { "Identify", "" },
	[WRITER_EVENT_PREPARE_BACKUP] = { "PrepareForBackup", "a{sv}" },
	[WRITER_EVENT_PREPARE_SNAPSHOT] = { "PrepareForSnapshot", "sas" },
	[WRITER_EVENT_FREEZE] = { "Freeze", "s" },
	[WRITER_EVENT_THAW] = { "Thaw", "s" },
	[WRITER_EVENT_POST_SNAPSHOT] = { "PostSnapshot", "sa{ss}" },
	[WRITER_EVENT_ABORT] = { "Abort", "s" },
	[WRITER_EVENT_BACKUP_COMPLETE] = { "BackupComplete", "sb" },
	[WRITER_EVENT_BACKUP_SHUTDOWN] = { "BackupShutdown", "s" },
};

static const char *const usage_names[] = {
	[VSS_WRITER_USAGE_USER_DATA] = "user-data",
	[VSS_WRITER_USAGE_BOOTABLE_SYSTEM_STATE] = "bootable-system-state",
	[VSS_WRITER_USAGE_SYSTEM_SERVICE] = "system-service",
	[VSS_WRITER_USAGE_OTHER] = "other",
};

static const char *const error_names[] = {
	[VSS_WRITER_ERROR_RETRYABLE] = VSSD_WRITER_ERROR_PREFIX "Retryable",
	[VSS_WRITER_ERROR_NON_RETRYABLE] = VSSD_WRITER_ERROR_PREFIX "NonRetryable",
	[VSS_WRITER_ERROR_OUT_OF_RESOURCES] = VSSD_WRITER_ERROR_PREFIX "OutOfResources",
	[VSS_WRITER_ERROR_INCONSISTENT_SNAPSHOT] = VSSD_WRITER_ERROR_PREFIX "InconsistentSnapshot",
	[VSS_WRITER_ERROR_TIMEOUT] = VSSD_WRITER_ERROR_PREFIX "Timeout",
};

const char *writer_event_member(WriterEvent ev)
{
	return ev >= 0 && ev < _WRITER_EVENT_MAX ? writer_events[ev].member : NULL;
}

WriterEvent writer_event_from_member(const char *member)
{
	for (int i = 0; i < _WRITER_EVENT_MAX; i++)
		if (streq_ptr(member, writer_events[i].member))
			return i;
	return _WRITER_EVENT_INVALID;
}

const char *writer_usage_to_string(enum vss_writer_usage usage)
{
	return (unsigned)usage < ELEMENTSOF(usage_names) ? usage_names[usage] : NULL;
}

const char *writer_error_name(enum vss_writer_error code)
{
	return (unsigned)code < ELEMENTSOF(error_names) ? error_names[code] : NULL;
}

/* ---- a{sv} builders and readers
 *
 * Generic D-Bus helpers, kept apart from what the writer sends and reads: they are what
 * common/busmsg.[ch] (one set for vssd, vssctl and this library) is to replace. */

/* Opens the entry {key: variant of signature sig} in dict, as e and v; on failure nothing stays
 * open. */
static bool entry_open(DBusMessageIter *dict, const char *key, const char *sig, DBusMessageIter *e,
                       DBusMessageIter *v)
{
	if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, e))
		return false;
	if (dbus_message_iter_append_basic(e, DBUS_TYPE_STRING, &key) &&
	    dbus_message_iter_open_container(e, DBUS_TYPE_VARIANT, sig, v))
		return true;
	dbus_message_iter_abandon_container(dict, e);
	return false;
}

/* Closes what entry_open() opened when the value went in (ok), or abandons it */
static bool entry_close(DBusMessageIter *dict, DBusMessageIter *e, DBusMessageIter *v, bool ok)
{
	ok = ok ? dbus_message_iter_close_container(e, v)
	        : (dbus_message_iter_abandon_container(e, v), false);
	if (!ok) {
		dbus_message_iter_abandon_container(dict, e);
		return false;
	}
	return dbus_message_iter_close_container(dict, e);
}

/* {key: variant of the basic type type}; value points to the value, as for append_basic */
static bool append_entry_basic(DBusMessageIter *dict, const char *key, int type, const void *value)
{
	const char sig[2] = { (char)type, 0 };
	DBusMessageIter e, v;

	return entry_open(dict, key, sig, &e, &v) &&
	       entry_close(dict, &e, &v, dbus_message_iter_append_basic(&v, type, value));
}

static bool append_entry_string(DBusMessageIter *dict, const char *key, const char *value)
{
	return append_entry_basic(dict, key, DBUS_TYPE_STRING, &value);
}

static bool append_strv(DBusMessageIter *it, char **l)
{
	DBusMessageIter a;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "s", &a))
		return false;
	for (char **p = l; p && *p; p++)
		if (!dbus_message_iter_append_basic(&a, DBUS_TYPE_STRING, p)) {
			dbus_message_iter_abandon_container(it, &a);
			return false;
		}
	return dbus_message_iter_close_container(it, &a);
}

/* Reads the dict entry at d, of a signature checked already: its key, and v on the variant's
 * content. */
static void dict_entry_read(DBusMessageIter *d, const char **ret_key, DBusMessageIter *v)
{
	DBusMessageIter e;

	dbus_message_iter_recurse(d, &e);
	dbus_message_iter_get_basic(&e, ret_key);
	dbus_message_iter_next(&e);
	dbus_message_iter_recurse(&e, v);
}

/* ---- the info dictionary */

static bool append_component(DBusMessageIter *array, const WriterComponent *c)
{
	DBusMessageIter d, e, v;
	bool ok;

	if (!dbus_message_iter_open_container(array, DBUS_TYPE_ARRAY, "{sv}", &d))
		return false;
	ok = append_entry_string(&d, "name", c->name) && entry_open(&d, "paths", "as", &e, &v) &&
	     entry_close(&d, &e, &v, append_strv(&v, c->paths));
	if (!ok) {
		dbus_message_iter_abandon_container(array, &d);
		return false;
	}
	return dbus_message_iter_close_container(array, &d);
}

static bool append_components(DBusMessageIter *dict, const struct vss_writer *w)
{
	DBusMessageIter e, v, a;
	bool ok;

	if (!entry_open(dict, "components", "aa{sv}", &e, &v))
		return false;
	ok = dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a);
	if (ok) {
		for (size_t i = 0; ok && i < w->n_components; i++)
			ok = append_component(&a, &w->components[i]);
		ok = ok ? dbus_message_iter_close_container(&v, &a)
		        : (dbus_message_iter_abandon_container(&v, &a), false);
	}
	return entry_close(dict, &e, &v, ok);
}

/* The info dictionary: RegisterWriter's (with freeze-timeout-ms) or Identify's. */
bool writer_append_info(const struct vss_writer *w, DBusMessageIter *it, bool registration)
{
	DBusMessageIter d;
	bool ok;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "{sv}", &d))
		return false;
	ok = append_entry_string(&d, "name", w->name) &&
	     append_entry_string(&d, "class-id", w->class_id) &&
	     (!w->instance_name || append_entry_string(&d, "instance-name", w->instance_name)) &&
	     append_entry_string(&d, "usage", usage_names[w->usage]) &&
	     (!registration || append_entry_basic(&d, "freeze-timeout-ms", DBUS_TYPE_UINT32,
	                                          &w->freeze_timeout_msec)) &&
	     append_components(&d, w);
	if (!ok) {
		dbus_message_iter_abandon_container(it, &d);
		return false;
	}
	return dbus_message_iter_close_container(it, &d);
}

/* Arguments of one incoming event; strings point into the message. */
/* ---- the arguments of events */

void writer_args_done(WriterArgs *a)
{
	free(a->list);
	free(a->devices);
}

static int args_push(const char ***l, size_t *n, const char *s)
{
	const char **a;

	if (*n >= VSSD_COMPONENTS_PER_WRITER_MAX)
		return -E2BIG;
	a = reallocarray(*l, *n + 2, sizeof(char *));
	if (!a)
		return -ENOMEM;
	a[(*n)++] = s;
	a[*n] = NULL;
	*l = a;
	return 0;
}

/* Handlers always get an array, possibly empty. */
static int args_terminate(const char ***l)
{
	if (!*l)
		*l = calloc(1, sizeof(char *));
	return *l ? 0 : -ENOMEM;
}

static int args_set_id(DBusMessageIter *it, const char **ret, const char **why)
{
	const char *s;
	VssId id;

	dbus_message_iter_get_basic(it, &s);
	if (vssid_from_string(s, &id) < 0) {
		*why = "the set id is not a UUID";
		return -EINVAL;
	}
	*ret = s;
	return 0;
}

/* PrepareForBackup's options: set s, backup-type s, context s, components aa{sv} (name s). Keys
 * this version does not know are skipped, so that vssd may add some. */
static int args_backup_options(DBusMessageIter *top, WriterArgs *a, const char **why)
{
	DBusMessageIter d;
	int r;

	dbus_message_iter_recurse(top, &d);
	for (; dbus_message_iter_get_arg_type(&d) == DBUS_TYPE_DICT_ENTRY;
	     dbus_message_iter_next(&d)) {
		DBusMessageIter v;
		const char *key;
		int type;

		dict_entry_read(&d, &key, &v);
		type = dbus_message_iter_get_arg_type(&v);

		if (streq(key, "set") || streq(key, "backup-type") || streq(key, "context")) {
			const char *s;

			if (type != DBUS_TYPE_STRING) {
				*why = "option set, backup-type or context is not a string";
				return -EINVAL;
			}
			if (streq(key, "set")) {
				r = args_set_id(&v, &a->set_id, why);
				if (r < 0)
					return r;
				continue;
			}
			dbus_message_iter_get_basic(&v, &s);
			if (!valid_text(s, VSSD_STRING_MAX)) {
				*why = "option backup-type or context is not valid text";
				return -EINVAL;
			}
			if (streq(key, "context"))
				a->context = s;
			else
				a->backup_type = s;
		} else if (streq(key, "components")) {
			DBusMessageIter arr, comp;
			char *sig = dbus_message_iter_get_signature(&v);
			bool ok = sig && streq(sig, "aa{sv}");

			dbus_free(sig);
			if (!ok) {
				*why = "option components is not aa{sv}";
				return -EINVAL;
			}
			dbus_message_iter_recurse(&v, &arr);
			for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_ARRAY;
			     dbus_message_iter_next(&arr)) {
				dbus_message_iter_recurse(&arr, &comp);
				for (;
				     dbus_message_iter_get_arg_type(&comp) == DBUS_TYPE_DICT_ENTRY;
				     dbus_message_iter_next(&comp)) {
					DBusMessageIter cv;
					const char *ckey, *name;

					dict_entry_read(&comp, &ckey, &cv);
					if (!streq(ckey, "name"))
						continue;
					if (dbus_message_iter_get_arg_type(&cv) !=
					    DBUS_TYPE_STRING) {
						*why = "a component name is not a string";
						return -EINVAL;
					}
					dbus_message_iter_get_basic(&cv, &name);
					r = args_push(&a->list, &a->n_list, name);
					if (r < 0)
						return r;
				}
			}
		}
	}
	if (!a->set_id) {
		*why = "option set is missing";
		return -EINVAL;
	}
	return 0;
}

int writer_args_parse(DBusMessage *m, WriterEvent ev, WriterArgs *a, const char **why)
{
	DBusMessageIter it, arr;
	size_t n_devices = 0;
	int r;

	*why = "invalid arguments";
	if (!dbus_message_has_signature(m, writer_events[ev].signature)) {
		*why = "wrong argument types";
		return -EINVAL;
	}
	if (ev == WRITER_EVENT_IDENTIFY)
		return 0;
	if (!dbus_message_iter_init(m, &it))
		return -EINVAL;

	if (ev == WRITER_EVENT_PREPARE_BACKUP) {
		r = args_backup_options(&it, a, why);
		if (r < 0)
			return r;
		a->backup_type = a->backup_type ?: "full";
		a->context = a->context ?: "backup";
		return args_terminate(&a->list);
	}

	r = args_set_id(&it, &a->set_id, why);
	if (r < 0)
		return r;
	dbus_message_iter_next(&it);

	switch (ev) {
	case WRITER_EVENT_PREPARE_SNAPSHOT:
		dbus_message_iter_recurse(&it, &arr);
		for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRING;
		     dbus_message_iter_next(&arr)) {
			const char *s;

			dbus_message_iter_get_basic(&arr, &s);
			if (!valid_abs_path(s)) {
				*why = "a volume is not an absolute path";
				return -EINVAL;
			}
			r = args_push(&a->list, &a->n_list, s);
			if (r < 0)
				return r;
		}
		break;
	case WRITER_EVENT_POST_SNAPSHOT:
		dbus_message_iter_recurse(&it, &arr);
		for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_DICT_ENTRY;
		     dbus_message_iter_next(&arr)) {
			DBusMessageIter e;
			const char *vol, *dev;

			dbus_message_iter_recurse(&arr, &e);
			dbus_message_iter_get_basic(&e, &vol);
			dbus_message_iter_next(&e);
			dbus_message_iter_get_basic(&e, &dev);
			if (!valid_abs_path(vol) || !valid_abs_path(dev)) {
				*why = "a volume or device is not an absolute path";
				return -EINVAL;
			}
			r = args_push(&a->list, &a->n_list, vol);
			if (r < 0)
				return r;
			r = args_push(&a->devices, &n_devices, dev);
			if (r < 0)
				return r;
		}
		r = args_terminate(&a->devices);
		if (r < 0)
			return r;
		break;
	case WRITER_EVENT_BACKUP_COMPLETE:
		dbus_message_iter_get_basic(&it, &a->success);
		break;
	case WRITER_EVENT_IDENTIFY:
	case WRITER_EVENT_PREPARE_BACKUP:
	case WRITER_EVENT_FREEZE:
	case WRITER_EVENT_THAW:
	case WRITER_EVENT_ABORT:
	case WRITER_EVENT_BACKUP_SHUTDOWN:
	case _WRITER_EVENT_MAX:
	case _WRITER_EVENT_INVALID:
		break;
	}
	return args_terminate(&a->list);
}
