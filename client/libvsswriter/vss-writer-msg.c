/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vss-writer-msg.c - libvsswriter: the info dictionary and the events' arguments, on busmsg */
#include <dbus/dbus.h>
#include <errno.h>
#include <stdlib.h>

#include "client/libvsswriter/vss-writer-internal.h"
#include "common/busmsg.h"
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
	[WRITER_EVENT_BACKUP_RESULTS] = { "BackupResults", "saa{sv}" },
	[WRITER_EVENT_PRE_RESTORE] = { "PreRestore", "sa{sv}" },   /* vss-writer-restore.c */
	[WRITER_EVENT_POST_RESTORE] = { "PostRestore", "sa{sv}" }, /* likewise */
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

/* ---- the info dictionary */

static int append_component(DBusMessageIter *array, const WriterComponent *c)
{
	DBusMessageIter d;
	int r;

	r = busmsg_dict_open(array, &d);
	if (r < 0)
		return r;
	r = busmsg_dict_append_string(&d, "name", c->name);
	if (r >= 0)
		r = busmsg_dict_append_strv(&d, "paths", c->paths);
	if (r >= 0)
		r = writer_append_component_model(&d, c);
	if (r < 0) {
		busmsg_dict_abandon(array, &d);
		return r;
	}
	return busmsg_dict_close(array, &d);
}

static int append_components(DBusMessageIter *dict, const struct vss_writer *w)
{
	DBusMessageIter e, v, a;
	int r;

	r = busmsg_entry_open(dict, "components", "aa{sv}", &e, &v);
	if (r < 0)
		return r;
	r = dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a) ? 0 : -ENOMEM;
	if (r >= 0) {
		for (size_t i = 0; r >= 0 && i < w->n_components; i++)
			r = append_component(&a, &w->components[i]);
		if (r >= 0)
			r = dbus_message_iter_close_container(&v, &a) ? 0 : -ENOMEM;
		else
			dbus_message_iter_abandon_container(&v, &a);
	}
	return busmsg_entry_close(dict, &e, &v, r);
}

int writer_append_info(const struct vss_writer *w, DBusMessageIter *it, bool registration)
{
	DBusMessageIter d;
	int r;

	r = busmsg_dict_open(it, &d);
	if (r < 0)
		return r;
	r = busmsg_dict_append_string(&d, "name", w->name);
	if (r >= 0)
		r = busmsg_dict_append_string(&d, "class-id", w->class_id);
	if (r >= 0 && w->instance_name)
		r = busmsg_dict_append_string(&d, "instance-name", w->instance_name);
	if (r >= 0)
		r = busmsg_dict_append_string(&d, "usage", usage_names[w->usage]);
	if (r >= 0 && registration)
		r = busmsg_dict_append_u32(&d, "freeze-timeout-ms", w->freeze_timeout_msec);
	if (r >= 0)
		r = append_components(&d, w);
	if (r >= 0)
		r = writer_append_writer_model(&d, w);
	if (r < 0) {
		busmsg_dict_abandon(it, &d);
		return r;
	}
	return busmsg_dict_close(it, &d);
}

/* ---- the arguments of events */

void writer_args_done(WriterArgs *a)
{
	free(a->list);
	free(a->devices);
	free(a->previous_stamps);
	free(a->results);
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
	DBusMessageIter d, v;
	const char *key;
	int r;

	/* The signatures are checked already (the message's, then aa{sv} for components): entered
	 * without busmsg_dict_enter(), which would check them again. */
	dbus_message_iter_recurse(top, &d);
	while (busmsg_dict_next(&d, &key, &v) > 0) {
		int type = dbus_message_iter_get_arg_type(&v);

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
		} else if (streq(key, "previous-backup-stamps")) {
			DBusMessageIter arr, e;
			const char *name, *stamp;

			if (!busmsg_has_signature(&v, "a{ss}")) {
				*why = "option previous-backup-stamps is not a{ss}";
				return -EINVAL;
			}
			dbus_message_iter_recurse(&v, &arr);
			for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_DICT_ENTRY;
			     dbus_message_iter_next(&arr)) {
				dbus_message_iter_recurse(&arr, &e);
				dbus_message_iter_get_basic(&e, &name);
				dbus_message_iter_next(&e);
				dbus_message_iter_get_basic(&e, &stamp);
				const char **l;

				if (a->n_previous_stamps >= 2 * VSSD_COMPONENTS_PER_WRITER_MAX)
					return -E2BIG;
				l = reallocarray(a->previous_stamps, a->n_previous_stamps + 3,
				                 sizeof(char *));
				if (!l)
					return -ENOMEM;
				l[a->n_previous_stamps++] = name;
				l[a->n_previous_stamps++] = stamp;
				l[a->n_previous_stamps] = NULL;
				a->previous_stamps = l;
			}
		} else if (streq(key, "components")) {
			DBusMessageIter arr, comp, cv;
			const char *ckey, *name;

			if (!busmsg_has_signature(&v, "aa{sv}")) {
				*why = "option components is not aa{sv}";
				return -EINVAL;
			}
			dbus_message_iter_recurse(&v, &arr);
			for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_ARRAY;
			     dbus_message_iter_next(&arr)) {
				dbus_message_iter_recurse(&arr, &comp);
				while (busmsg_dict_next(&comp, &ckey, &cv) > 0) {
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

/* BackupResults' components aa{sv}: name s (required), logical-path s, succeeded b,
 * failure-message s; keys this version does not know are skipped */
static int args_results(DBusMessageIter *it, WriterArgs *a, const char **why)
{
	DBusMessageIter arr, comp, cv;
	const char *key;

	dbus_message_iter_recurse(it, &arr);
	for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_ARRAY;
	     dbus_message_iter_next(&arr)) {
		struct vss_writer_component_result *n, *c;

		if (a->n_results >= VSSD_COMPONENTS_PER_WRITER_MAX)
			return -E2BIG;
		n = reallocarray(a->results, a->n_results + 1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		a->results = n;
		c = &a->results[a->n_results++];
		*c = (struct vss_writer_component_result){ .logical_path = "" };
		dbus_message_iter_recurse(&arr, &comp);
		while (busmsg_dict_next(&comp, &key, &cv) > 0) {
			int type = dbus_message_iter_get_arg_type(&cv);
			const char **dst = streq(key, "name")              ? &c->name
			                   : streq(key, "logical-path")    ? &c->logical_path
			                   : streq(key, "failure-message") ? &c->failure_message
			                                                   : NULL;

			if (streq(key, "succeeded")) {
				dbus_bool_t b;

				if (type != DBUS_TYPE_BOOLEAN) {
					*why = "a component's succeeded is not a boolean";
					return -EINVAL;
				}
				dbus_message_iter_get_basic(&cv, &b);
				c->succeeded = b;
				continue;
			}
			if (!dst)
				continue;
			if (type != DBUS_TYPE_STRING) {
				*why = "a component's name, logical-path or failure-message is not "
				       "a "
				       "string";
				return -EINVAL;
			}
			dbus_message_iter_get_basic(&cv, dst);
		}
		if (!c->name) {
			*why = "a component has no name";
			return -EINVAL;
		}
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
	case WRITER_EVENT_BACKUP_RESULTS:
		r = args_results(&it, a, why);
		if (r < 0)
			return r;
		break;
	case WRITER_EVENT_IDENTIFY:
	case WRITER_EVENT_PREPARE_BACKUP:
	case WRITER_EVENT_FREEZE:
	case WRITER_EVENT_THAW:
	case WRITER_EVENT_ABORT:
	case WRITER_EVENT_BACKUP_SHUTDOWN:
	case WRITER_EVENT_PRE_RESTORE:
	case WRITER_EVENT_POST_RESTORE:
	case _WRITER_EVENT_MAX:
	case _WRITER_EVENT_INVALID:
		break;
	}
	return args_terminate(&a->list);
}
