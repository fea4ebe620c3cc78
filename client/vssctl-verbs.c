/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssctl-verbs.c - vssctl's verbs: each one conversation with vssd over D-Bus */
#include <stdarg.h>
#include <strings.h>

#include "client/vssctl-backup.h"
#include "client/vssctl-format.h"
#include "client/vssctl-restore.h"
#include "client/vssctl-schedule.h"
#include "client/vssctl-verbs.h"
#include "common/escape.h"
#include "common/log.h"
#include "common/vss-error.h"
#include "common/vssd-bus-names.h"

#define PROPERTIES_IFACE     "org.freedesktop.DBus.Properties"
#define OBJECT_MANAGER_IFACE "org.freedesktop.DBus.ObjectManager"
#define SNAPSHOT_PATH_PREFIX VSSD_ROOT_PATH "/snapshot/"

void vssctl_connection_closep(DBusConnection **c)
{
	if (*c) {
		dbus_connection_close(*c);
		dbus_connection_unref(*c);
	}
}

int vssctl_connect(const char *address, DBusConnection **ret)
{
	DBusError e = DBUS_ERROR_INIT;
	DBusConnection *c;

	if (address) {
		c = dbus_connection_open_private(address, &e);
		if (c && !dbus_bus_register(c, &e)) {
			vssctl_connection_closep(&c);
			c = NULL;
		}
	} else
		c = dbus_bus_get_private(DBUS_BUS_SYSTEM, &e); /* honours DBUS_SYSTEM_BUS_ADDRESS */
	if (!c) {
		log_error("cannot connect to %s: %s", address ? address : "the system bus",
		          e.message ? e.message : "unknown error");
		dbus_error_free(&e);
		return -ECONNREFUSED;
	}
	/* a lost bus must not _exit() us while a backup command runs */
	dbus_connection_set_exit_on_disconnect(c, FALSE);
	*ret = c;
	return 0;
}

int vssctl_timeout(const Vssctl *v, bool long_call)
{
	if (v->args->timeout_ms > 0)
		return v->args->timeout_ms;
	return long_call ? VSSCTL_TIMEOUT_CREATE_MS : VSSCTL_TIMEOUT_DEFAULT_MS;
}

static void call_error_print(const BusCallError *e, int r)
{
	const char *msg = e->message ? e->message : strerror(-r);

	if (!e->name || startswith(e->name, VSS_ERROR_PREFIX))
		log_error("%s", msg); /* vssd's own: it starts with the VSS code */
	else if (streq(e->name, DBUS_ERROR_SERVICE_UNKNOWN) ||
	         streq(e->name, DBUS_ERROR_NAME_HAS_NO_OWNER))
		log_error("vssd is not running (%s: %s)", e->name, msg);
	else
		log_error("%s (%s)", msg, e->name);
}

static int call_full(Vssctl *v, DBusMessage *m, int timeout_ms, DBusMessage **ret_reply,
                     const char *not_found)
{
	_cleanup_(busutil_call_error_done) BusCallError e = BUS_CALL_ERROR_NULL;
	DBusMessage *reply = NULL;
	char buf[512];
	int r;

	r = busutil_call(v->conn, m, timeout_ms, v->interrupt_fd, &reply, &e);
	if (r < 0) {
		if (not_found && streq_ptr(e.name, DBUS_ERROR_UNKNOWN_OBJECT))
			log_error("%s", vss_err_format(VSS_ERROR_OBJECT_NOT_FOUND, not_found, buf,
			                               sizeof(buf)));
		else if (r != -EINTR) /* the caller says why it was interrupted */
			call_error_print(&e, r);
		return r;
	}
	if (ret_reply)
		*ret_reply = reply;
	else
		dbus_message_unref(reply);
	return 0;
}

int vssctl_call(Vssctl *v, DBusMessage *m, int timeout_ms, DBusMessage **ret_reply)
{
	return call_full(v, m, timeout_ms, ret_reply, NULL);
}

int vssctl_call_simple(Vssctl *v, const char *path, const char *iface, const char *member,
                       int timeout_ms, DBusMessage **ret_reply)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL;
	int r;

	r = busutil_new_method_call(VSSD_BUS_NAME, path, iface, member, &m);
	if (r < 0)
		return log_error_errno(r, "cannot build the %s call: %m", member);
	return vssctl_call(v, m, timeout_ms, ret_reply);
}

static int reply_read(DBusMessage *reply, const char *member, const char *sig, BusValue **ret)
{
	int r;

	if (!streq(strempty(dbus_message_get_signature(reply)), sig))
		return log_error_errno(-EBADMSG, "unexpected reply to %s: signature '%s', not '%s'",
		                       member, strempty(dbus_message_get_signature(reply)), sig);
	r = busutil_message_read(reply, ret);
	if (r < 0)
		return log_error_errno(r, "cannot read the reply to %s: %m", member);
	return 0;
}

int vssctl_get_all(Vssctl *v, const char *path, const char *iface, BusValue **ret)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL, *reply = NULL;
	_cleanup_(busutil_value_freep) BusValue *args = NULL;
	DBusMessageIter it;
	int r;

	r = busutil_new_method_call(VSSD_BUS_NAME, path, PROPERTIES_IFACE, "GetAll", &m);
	if (r < 0)
		return log_error_errno(r, "cannot build the GetAll call: %m");
	dbus_message_iter_init_append(m, &it);
	r = busmsg_append_string(&it, iface);
	if (r < 0)
		return log_oom();
	r = vssctl_call(v, m, vssctl_timeout(v, false), &reply);
	if (r < 0)
		return r;
	r = reply_read(reply, "GetAll", "a{sv}", &args);
	if (r < 0)
		return r;
	*ret = malloc(sizeof(BusValue));
	if (!*ret)
		return log_oom();
	**ret = args->items[0];
	args->n = 0; /* moved out */
	free(args->items);
	args->items = NULL;
	return 0;
}

int vssctl_id_from_path(const char *path, char ret[static VSSID_STRING_MAX])
{
	const char *last = path ? strrchr(path, '/') : NULL;
	VssId id;

	if (!last || vssid_from_path(last + 1, &id) < 0)
		return -EINVAL;
	vssid_to_string(&id, ret);
	return 0;
}

static int snapshot_path(const char *id, char **ret)
{
	char p[VSSID_PATH_MAX];
	VssId v;

	if (vssid_from_string(id, &v) < 0)
		return -EINVAL;
	if (asprintf(ret, SNAPSHOT_PATH_PREFIX "%s", vssid_to_path(&v, p)) < 0)
		return -ENOMEM;
	return 0;
}

/* A method on the snapshot object of id; an unknown object becomes VSS_E_OBJECT_NOT_FOUND */
static int snapshot_call(Vssctl *v, const char *id, DBusMessage *m, DBusMessage **ret_reply)
{
	_cleanup_free_ char *what = NULL;

	if (asprintf(&what, "no shadow copy %s", id) < 0)
		return log_oom();
	return call_full(v, m, vssctl_timeout(v, false), ret_reply, what);
}

static int snapshot_props(Vssctl *v, const char *id, BusValue **ret)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL, *reply = NULL;
	_cleanup_(busutil_value_freep) BusValue *args = NULL;
	_cleanup_free_ char *path = NULL;
	DBusMessageIter it;
	int r;

	r = snapshot_path(id, &path);
	if (r < 0)
		return log_error_errno(r, "invalid shadow copy id %s", id);
	r = busutil_new_method_call(VSSD_BUS_NAME, path, PROPERTIES_IFACE, "GetAll", &m);
	if (r < 0)
		return log_oom();
	dbus_message_iter_init_append(m, &it);
	if (busmsg_append_string(&it, VSSD_IFACE_SNAP) < 0)
		return log_oom();
	r = snapshot_call(v, id, m, &reply);
	if (r < 0)
		return r;
	r = reply_read(reply, "GetAll", "a{sv}", &args);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(args); /* items[0] is the dictionary */
	return 0;
}

static int manager_list(Vssctl *v, const char *member, bool long_call, int arg_type,
                        const void *arg, BusValue **ret)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL, *reply = NULL;
	int r;

	r = busutil_new_method_call(VSSD_BUS_NAME, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER, member, &m);
	if (r < 0)
		return log_oom();
	if (arg_type != DBUS_TYPE_INVALID &&
	    !dbus_message_append_args(m, arg_type, arg, DBUS_TYPE_INVALID))
		return log_oom();
	r = vssctl_call(v, m, vssctl_timeout(v, long_call), &reply);
	if (r < 0)
		return r;
	return reply_read(reply, member, "aa{sv}", ret);
}

/* The Metadata property of the writer instance_id (vssd's writer object) into *ret, a
 * dictionary; -ENOENT, silently, when the writer is gone since ListWriters */
static int writer_metadata(Vssctl *v, const char *instance_id, BusValue **ret)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL, *reply = NULL;
	_cleanup_(busutil_call_error_done) BusCallError e = BUS_CALL_ERROR_NULL;
	_cleanup_(busutil_value_freep) BusValue *args = NULL;
	_cleanup_free_ char *path = NULL;
	const char *iface = VSSD_IFACE_WRITER, *prop = "Metadata";
	char p[VSSID_PATH_MAX];
	VssId id;
	int r;

	if (vssid_from_string(instance_id, &id) < 0)
		return log_error_errno(-EBADMSG, "vssd listed a writer with instance id \"%s\"",
		                       instance_id);
	if (asprintf(&path, VSSD_ROOT_PATH "/writer/%s", vssid_to_path(&id, p)) < 0)
		return log_oom();
	r = busutil_new_method_call(VSSD_BUS_NAME, path, PROPERTIES_IFACE, "Get", &m);
	if (r < 0 || !dbus_message_append_args(m, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING, &prop,
	                                       DBUS_TYPE_INVALID))
		return log_oom();
	r = busutil_call(v->conn, m, vssctl_timeout(v, false), v->interrupt_fd, &reply, &e);
	if (r < 0 && (streq_ptr(e.name, DBUS_ERROR_UNKNOWN_OBJECT) ||
	              streq_ptr(e.name, VSS_ERROR_PREFIX "ObjectNotFound")))
		return -ENOENT; /* unregistered in the meantime */
	if (r < 0) {
		call_error_print(&e, r);
		return r;
	}
	r = reply_read(reply, "Get", "v", &args);
	if (r < 0)
		return r;
	if (args->items[0].type != BUSUTIL_DICT)
		return log_error_errno(-EBADMSG, "the Metadata of writer %s is no dictionary",
		                       instance_id);
	*ret = malloc(sizeof(BusValue));
	if (!*ret)
		return log_oom();
	**ret = args->items[0];
	args->n = 0; /* moved out */
	free(args->items);
	args->items = NULL;
	return 0;
}

/* Adds the entries of the dictionary from to the dictionary to, emptying from */
static int dict_take_entries(BusValue *to, BusValue *from)
{
	BusValue *items;
	char **keys;

	if (from->n == 0)
		return 0;
	items = reallocarray(to->items, to->n + from->n, sizeof(BusValue));
	if (!items)
		return -ENOMEM;
	to->items = items;
	keys = reallocarray(to->keys, to->n + from->n, sizeof(char *));
	if (!keys)
		return -ENOMEM;
	to->keys = keys;
	memcpy(to->items + to->n, from->items, from->n * sizeof(BusValue));
	memcpy(to->keys + to->n, from->keys, from->n * sizeof(char *));
	to->n += from->n;
	free(from->items);
	free(from->keys);
	from->items = NULL;
	from->keys = NULL;
	from->n = 0;
	return 0;
}

/* list writers --detailed: each writer's dictionary gains its metadata (components,
 * exclude-files, restore-method, alternate-location-mappings, backup-schema) */
static int writers_add_metadata(Vssctl *v, BusValue *list)
{
	for (size_t i = 0; i < list->n; i++) {
		_cleanup_(busutil_value_freep) BusValue *meta = NULL;
		const char *id = busutil_dict_get_string(&list->items[i], "instance-id");
		int r;

		if (list->items[i].type != BUSUTIL_DICT || !id)
			return log_error_errno(-EBADMSG,
			                       "vssd listed a writer without instance id");
		r = writer_metadata(v, id, &meta);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		if (dict_take_entries(&list->items[i], meta) < 0)
			return log_oom();
	}
	return 0;
}

int vssctl_managed_objects(Vssctl *v, BusValue **ret)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *reply = NULL;
	int r;

	r = vssctl_call_simple(v, VSSD_ROOT_PATH, OBJECT_MANAGER_IFACE, "GetManagedObjects",
	                       vssctl_timeout(v, false), &reply);
	if (r < 0)
		return r;
	return reply_read(reply, "GetManagedObjects", "a{oa{sa{sv}}}", ret);
}

static int print_result(int r, const char *what)
{
	if (r == -EBADMSG)
		return log_error_errno(r, "unexpected reply from vssd to %s", what);
	if (r < 0)
		return log_error_errno(r, "cannot print the %s: %m", what);
	return 0;
}

/* Asks on a terminal unless --quiet: 1 to go on, -ECANCELED (printed) when the answer is not yes */
_printf_(2, 3) static int confirm(Vssctl *v, const char *fmt, ...)
{
	_cleanup_free_ char *line = NULL;
	size_t size = 0;
	va_list ap;
	ssize_t n;

	if (v->args->quiet || !isatty(STDIN_FILENO))
		return 1;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" [y/N] ", stderr);
	fflush(stderr);
	n = getline(&line, &size, stdin);
	if (n > 0 && line[n - 1] == '\n')
		line[n - 1] = 0;
	if (n > 0 && (strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0))
		return 1;
	return log_error_errno(-ECANCELED, "not confirmed, nothing changed");
}

static int verb_list_shadows(Vssctl *v)
{
	_cleanup_(busutil_value_freep) BusValue *args = NULL;
	const VssctlArgs *a = v->args;
	VssctlShadowFilter filter = {
		.set_id = a->set_id,
		.shadow_id = a->shadow_id,
		.volume = a->volumes ? a->volumes[0] : NULL,
	};
	int r = vssctl_managed_objects(v, &args);

	if (r < 0)
		return r;
	return print_result(vssctl_print_shadows(v->out, &args->items[0], &filter, a->json),
	                    "shadow copies");
}

static int verb_query_reverts(Vssctl *v)
{
	_cleanup_(busutil_value_freep) BusValue *args = NULL;
	int r = vssctl_managed_objects(v, &args);

	if (r < 0)
		return r;
	return print_result(
		vssctl_print_reverts(v->out, &args->items[0], v->args->for_volume, v->args->json),
		"reverts");
}

static int verb_list(Vssctl *v)
{
	_cleanup_(busutil_value_freep) BusValue *args = NULL;
	const VssctlArgs *a = v->args;
	dbus_bool_t refresh = TRUE;
	int r;

	switch (a->verb) {
	case VSSCTL_LIST_VOLUMES:
		r = manager_list(v, "ListVolumes", false, DBUS_TYPE_INVALID, NULL, &args);
		return r < 0 ? r
		             : print_result(vssctl_print_volumes(v->out, &args->items[0], a->json),
		                            "volumes");
	case VSSCTL_LIST_PROVIDERS:
		r = manager_list(v, "ListProviders", false, DBUS_TYPE_INVALID, NULL, &args);
		return r < 0 ? r
		             : print_result(
				       vssctl_print_providers(v->out, &args->items[0], a->json),
				       "providers");
	case VSSCTL_LIST_WRITERS:
		/* refresh: Identify goes to every writer first, so it waits for writers */
		r = manager_list(v, "ListWriters", true, DBUS_TYPE_BOOLEAN, &refresh, &args);
		if (r >= 0 && a->detailed)
			r = writers_add_metadata(v, &args->items[0]);
		if (r < 0)
			return r;
		return print_result(
			a->detailed
				? vssctl_print_writers_detailed(v->out, &args->items[0], a->json)
				: vssctl_print_writers(v->out, &args->items[0], a->json),
			"writers");
	case VSSCTL_LIST_STORAGE:
		r = manager_list(v, "ListStorage", false, DBUS_TYPE_INVALID, NULL, &args);
		return r < 0 ? r
		             : print_result(vssctl_print_storage(v->out, &args->items[0],
		                                                 a->for_volume, a->json),
		                            "storage associations");
	case VSSCTL_LIST_SHADOWS:
	case VSSCTL_CREATE_SHADOW:
	case VSSCTL_DELETE_SHADOWS:
	case VSSCTL_BACKUP:
	case VSSCTL_RESTORE:
	case VSSCTL_ADD_STORAGE:
	case VSSCTL_RESIZE_STORAGE:
	case VSSCTL_DELETE_STORAGE:
	case VSSCTL_EXPOSE:
	case VSSCTL_UNEXPOSE:
	case VSSCTL_REVERT:
	case VSSCTL_QUERY_REVERTS:
	case VSSCTL_ADD_VOLUME:
	case VSSCTL_DELETE_VOLUME:
	case VSSCTL_SCHEDULE_RUN:
	case _VSSCTL_VERB_MAX:
	case _VSSCTL_VERB_INVALID:
		break;
	}
	return log_error_errno(-EINVAL, "not a list verb");
}

static bool context_auto_releases(const char *context)
{
	return streq(context, "backup") || streq(context, "file-share-backup");
}

int vssctl_create_shadow(Vssctl *v, char *ret_set_id)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL, *reply = NULL;
	_cleanup_(busutil_value_freep) BusValue *args = NULL;
	_cleanup_free_ BusValue **props = NULL;
	_cleanup_free_ const BusValue **dicts = NULL;
	const VssctlArgs *a = v->args;
	/* vssadmin create shadow makes a ClientAccessibleWriters shadow copy: persistent, and
	 * the writers are frozen (VSS_CTX_CLIENT_ACCESSIBLE_WRITERS, 0x0D) */
	const char *context = a->context ? a->context : "client-accessible-writers";
	char set_id[VSSID_STRING_MAX];
	DBusMessageIter it, d;
	const BusValue *snaps;
	int r;

	if (context_auto_releases(context) && !a->no_auto_release)
		log_warning("warning: context %s releases the shadow copies when vssctl exits; "
		            "add --no-auto-release to keep them",
		            context);

	r = busutil_new_method_call(VSSD_BUS_NAME, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER,
	                            "CreateSnapshotSet", &m);
	if (r < 0)
		return log_oom();
	dbus_message_iter_init_append(m, &it);
	r = busmsg_append_strv(&it, a->volumes);
	if (r >= 0)
		r = busmsg_dict_open(&it, &d);
	if (r < 0)
		return log_error_errno(r, "cannot build the CreateSnapshotSet call: %m");
	r = busmsg_dict_append_string(&d, "context", context);
	if (r >= 0 && a->no_writers)
		r = busmsg_dict_append_bool(&d, "no-writers", true);
	if (r >= 0 && a->no_auto_release)
		r = busmsg_dict_append_bool(&d, "no-auto-release", true);
	if (r >= 0 && a->backup_type)
		r = busmsg_dict_append_string(&d, "backup-type", a->backup_type);
	if (r >= 0 && a->description)
		r = busmsg_dict_append_string(&d, "description", a->description);
	if (r >= 0 && a->schedule)
		r = busmsg_dict_append_string(&d, "schedule", a->schedule);
	if (r < 0) {
		busmsg_dict_abandon(&it, &d);
		return log_error_errno(r, "cannot build the CreateSnapshotSet call: %m");
	}
	r = busmsg_dict_close(&it, &d);
	if (r < 0)
		return log_oom();

	r = vssctl_call(v, m, vssctl_timeout(v, true), &reply);
	if (r < 0)
		return r;
	r = reply_read(reply, "CreateSnapshotSet", "oao", &args);
	if (r < 0)
		return r;
	if (vssctl_id_from_path(args->items[0].str, set_id) < 0)
		return log_error_errno(-EBADMSG, "unexpected set path %s", args->items[0].str);
	if (ret_set_id)
		memcpy(ret_set_id, set_id, VSSID_STRING_MAX);

	snaps = &args->items[1];
	props = calloc(snaps->n + 1, sizeof(BusValue *));
	dicts = calloc(snaps->n + 1, sizeof(BusValue *));
	if (!props || !dicts)
		return log_oom();
	for (size_t i = 0; i < snaps->n && r >= 0; i++) {
		r = vssctl_get_all(v, snaps->items[i].str, VSSD_IFACE_SNAP, &props[i]);
		if (r >= 0)
			dicts[i] = props[i];
	}
	if (r >= 0)
		r = print_result(vssctl_print_created(v->out, set_id, dicts, snaps->n, a->json),
		                 "new shadow copies");
	for (size_t i = 0; i < snaps->n; i++)
		busutil_value_free(props[i]);
	return r;
}

static int verb_delete_shadows(Vssctl *v)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL, *reply = NULL;
	const VssctlArgs *a = v->args;
	const char *vol = a->volumes ? a->volumes[0] : NULL;
	DBusMessageIter it, d;
	dbus_uint32_t count;
	int r;

	if (a->set_id[0])
		r = confirm(v, "Delete every shadow copy of set %s?", a->set_id);
	else if (a->shadow_id[0])
		r = confirm(v, "Delete shadow copy %s?", a->shadow_id);
	else if (vol)
		r = confirm(v, "Delete %s shadow copy of %s?", a->oldest ? "the oldest" : "every",
		            vol);
	else
		r = confirm(v, "Delete EVERY shadow copy vssd has?");
	if (r < 0)
		return r;

	r = busutil_new_method_call(VSSD_BUS_NAME, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER,
	                            "DeleteSnapshots", &m);
	if (r < 0)
		return log_oom();
	dbus_message_iter_init_append(m, &it);
	r = busmsg_dict_open(&it, &d);
	if (r < 0)
		return log_oom();
	if (a->set_id[0])
		r = busmsg_dict_append_string(&d, "set", a->set_id);
	else if (a->shadow_id[0])
		r = busmsg_dict_append_string(&d, "snapshot", a->shadow_id);
	else if (vol) {
		r = busmsg_dict_append_string(&d, "volume", vol);
		if (r >= 0)
			r = busmsg_dict_append_bool(&d, a->oldest ? "oldest" : "all", true);
	} else
		r = busmsg_dict_append_bool(&d, "all", true);
	if (r < 0) {
		busmsg_dict_abandon(&it, &d);
		return log_error_errno(r, "cannot build the DeleteSnapshots call: %m");
	}
	if (busmsg_dict_close(&it, &d) < 0)
		return log_oom();

	r = vssctl_call(v, m, vssctl_timeout(v, false), &reply);
	if (r < 0)
		return r;
	if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_UINT32, &count, DBUS_TYPE_INVALID))
		return log_error_errno(-EBADMSG, "unexpected reply to DeleteSnapshots");
	return print_result(vssctl_print_deleted(v->out, count, a->json), "count");
}

/* --maxsize in bytes; a percentage needs the volume's size from ListVolumes */
static int storage_max_bytes(Vssctl *v, uint64_t *ret)
{
	_cleanup_(busutil_value_freep) BusValue *args = NULL;
	const VssctlArgs *a = v->args;
	const BusValue *list;
	uint64_t size;
	int r;

	if (!a->maxsize.set) {
		*ret = 0; /* vssd's default */
		return 0;
	}
	if (!a->maxsize.is_percent) {
		*ret = a->maxsize.bytes;
		return 0;
	}
	r = manager_list(v, "ListVolumes", false, DBUS_TYPE_INVALID, NULL, &args);
	if (r < 0)
		return r;
	list = &args->items[0];
	for (size_t i = 0; i < list->n; i++) {
		const BusValue *d = &list->items[i];

		if (!vssctl_same_volume(a->for_volume, busutil_dict_get_string(d, "volume"),
		                        busutil_dict_get_string(d, "device")))
			continue;
		if (busutil_dict_get_u64(d, "size-bytes", &size) < 0 || size == 0)
			return log_error_errno(-EBADMSG, "vssd does not know the size of %s",
			                       a->for_volume);
		*ret = vssctl_size_bytes(&a->maxsize, size);
		if (*ret == 0)
			return log_error_errno(-EINVAL, "%u%% of %s is 0 bytes", a->maxsize.percent,
			                       a->for_volume);
		return 0;
	}
	return log_error_errno(-ENOENT, "%s is not among the volumes vssd lists", a->for_volume);
}

static int verb_storage(Vssctl *v)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL;
	const VssctlArgs *a = v->args;
	const char *member = a->verb == VSSCTL_ADD_STORAGE      ? "AddStorage"
	                     : a->verb == VSSCTL_RESIZE_STORAGE ? "ResizeStorage"
	                                                        : "DeleteStorage";
	DBusMessageIter it, d;
	dbus_uint64_t max = 0;
	char b[64];
	int r;

	if (a->verb != VSSCTL_DELETE_STORAGE) {
		uint64_t bytes;

		r = storage_max_bytes(v, &bytes);
		if (r < 0)
			return r;
		max = bytes;
	} else if (a->delete_snapshots) {
		r = confirm(v, "Delete the storage of %s and every shadow copy of it?",
		            a->for_volume);
		if (r < 0)
			return r;
	}

	r = busutil_new_method_call(VSSD_BUS_NAME, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER, member, &m);
	if (r < 0)
		return log_oom();
	dbus_message_iter_init_append(m, &it);
	r = busmsg_append_string(&it, a->for_volume);
	if (r >= 0 && a->verb == VSSCTL_ADD_STORAGE)
		r = busmsg_append_string(&it, a->on_dir);
	if (r >= 0 && a->verb != VSSCTL_DELETE_STORAGE)
		r = dbus_message_iter_append_basic(&it, DBUS_TYPE_UINT64, &max) ? 0 : -ENOMEM;
	if (r >= 0 && a->verb == VSSCTL_DELETE_STORAGE) {
		r = busmsg_dict_open(&it, &d);
		if (r >= 0 && a->delete_snapshots) {
			r = busmsg_dict_append_bool(&d, "delete-snapshots", true);
			if (r < 0)
				busmsg_dict_abandon(&it, &d);
		}
		if (r >= 0)
			r = busmsg_dict_close(&it, &d);
	}
	if (r < 0)
		return log_error_errno(r, "cannot build the %s call: %m", member);

	r = vssctl_call(v, m, vssctl_timeout(v, false), NULL);
	if (r < 0)
		return r;
	if (a->verb == VSSCTL_ADD_STORAGE)
		fprintf(v->out,
		        "Successfully added the shadow copy storage association for %s on %s, "
		        "maximum %s.\n",
		        a->for_volume, a->on_dir,
		        max ? vssctl_bytes_to_string(max, b, sizeof(b)) : "vssd's default");
	else if (a->verb == VSSCTL_RESIZE_STORAGE)
		fprintf(v->out,
		        "Successfully resized the shadow copy storage association for %s to %s.\n",
		        a->for_volume, vssctl_bytes_to_string(max, b, sizeof(b)));
	else
		fprintf(v->out,
		        "Successfully deleted the shadow copy storage association for %s.\n",
		        a->for_volume);
	return 0;
}

static int verb_snapshot(Vssctl *v)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL, *reply = NULL;
	_cleanup_(busutil_value_freep) BusValue *props = NULL;
	_cleanup_free_ char *path = NULL;
	const VssctlArgs *a = v->args;
	const char *member = a->verb == VSSCTL_EXPOSE     ? "Expose"
	                     : a->verb == VSSCTL_UNEXPOSE ? "Unexpose"
	                                                  : "Revert";
	_cleanup_free_ char *volume = NULL;
	const char *exposed = NULL;
	DBusMessageIter it;
	int r;

	if (a->verb == VSSCTL_REVERT) {
		r = snapshot_props(v, a->shadow_id, &props);
		if (r < 0)
			return r;
		r = text_escape(busutil_dict_get_string(&props->items[0], "Volume"),
		                ESCAPE_KEEP_BACKSLASH, &volume); /* vssd's text, for a terminal */
		if (r < 0)
			return log_oom();
		r = confirm(v, "Revert %s to shadow copy %s? Everything written since is lost.",
		            volume[0] ? volume : "its volume", a->shadow_id);
		if (r < 0)
			return r;
	}

	r = snapshot_path(a->shadow_id, &path);
	if (r < 0)
		return log_error_errno(r, "invalid shadow copy id %s", a->shadow_id);
	r = busutil_new_method_call(VSSD_BUS_NAME, path, VSSD_IFACE_SNAP, member, &m);
	if (r < 0)
		return log_oom();
	dbus_message_iter_init_append(m, &it);
	if (a->verb == VSSCTL_EXPOSE)
		r = busmsg_append_string(&it, a->path);
	if (r >= 0 && a->verb != VSSCTL_UNEXPOSE)
		r = busmsg_append_empty_dict(&it); /* no option keys are defined yet */
	if (r < 0)
		return log_error_errno(r, "cannot build the %s call: %m", member);
	r = snapshot_call(v, a->shadow_id, m, &reply);
	if (r < 0)
		return r;

	if (a->verb == VSSCTL_UNEXPOSE) {
		fprintf(v->out, "Unexposed shadow copy %s.\n", a->shadow_id);
		return 0;
	}
	if (a->verb == VSSCTL_REVERT) {
		fprintf(v->out,
		        "Reverting %s to shadow copy %s; 'vssctl query reverts' shows the "
		        "progress.\n",
		        volume[0] ? volume : "the volume", a->shadow_id);
		return 0;
	}
	if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &exposed, DBUS_TYPE_INVALID))
		return log_error_errno(-EBADMSG, "unexpected reply to Expose");
	/* the device as well: with "" that is all that is exposed */
	r = snapshot_props(v, a->shadow_id, &props);
	if (r < 0)
		return r;
	return print_result(
		vssctl_print_exposed(v->out, a->shadow_id, exposed,
	                             busutil_dict_get_string(&props->items[0], "Device"), a->json),
		"exposed shadow copy");
}

static int verb_volume(Vssctl *v)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL, *reply = NULL;
	const VssctlArgs *a = v->args;
	bool add = a->verb == VSSCTL_ADD_VOLUME;
	const char *member = add ? "CreateVolume" : "RemoveVolume", *volume = NULL;
	DBusMessageIter it, d;
	int r;

	r = busutil_new_method_call(VSSD_BUS_NAME, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER, member, &m);
	if (r < 0)
		return log_oom();
	dbus_message_iter_init_append(m, &it);
	r = busmsg_append_string(&it, a->device);
	if (r >= 0 && add) {
		r = busmsg_dict_open(&it, &d);
		if (r >= 0 && a->name) {
			r = busmsg_dict_append_string(&d, "name", a->name);
			if (r < 0)
				busmsg_dict_abandon(&it, &d);
		}
		if (r >= 0)
			r = busmsg_dict_close(&it, &d);
	}
	if (r < 0)
		return log_error_errno(r, "cannot build the %s call: %m", member);
	r = vssctl_call(v, m, vssctl_timeout(v, false), &reply);
	if (r < 0)
		return r;
	if (!add) {
		fprintf(v->out, "Removed volume %s.\n", a->device);
		return 0;
	}
	if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &volume, DBUS_TYPE_INVALID))
		return log_error_errno(-EBADMSG, "unexpected reply to CreateVolume");
	return print_result(vssctl_print_volume_added(v->out, volume, a->json), "new volume");
}

int vssctl_run(const VssctlArgs *args, FILE *out)
{
	_cleanup_(vssctl_connection_closep) DBusConnection *c = NULL;
	Vssctl v = { .args = args, .interrupt_fd = -1, .out = out };
	int r;

	r = vssctl_connect(args->bus_address, &c);
	if (r < 0)
		return r;
	v.conn = c;

	switch (args->verb) {
	case VSSCTL_LIST_SHADOWS:
		return verb_list_shadows(&v);
	case VSSCTL_LIST_VOLUMES:
	case VSSCTL_LIST_PROVIDERS:
	case VSSCTL_LIST_WRITERS:
	case VSSCTL_LIST_STORAGE:
		return verb_list(&v);
	case VSSCTL_CREATE_SHADOW:
		return vssctl_create_shadow(&v, NULL);
	case VSSCTL_DELETE_SHADOWS:
		return verb_delete_shadows(&v);
	case VSSCTL_BACKUP:
		return vssctl_backup(&v);
	case VSSCTL_RESTORE:
		return vssctl_restore(&v);
	case VSSCTL_ADD_STORAGE:
	case VSSCTL_RESIZE_STORAGE:
	case VSSCTL_DELETE_STORAGE:
		return verb_storage(&v);
	case VSSCTL_EXPOSE:
	case VSSCTL_UNEXPOSE:
	case VSSCTL_REVERT:
		return verb_snapshot(&v);
	case VSSCTL_QUERY_REVERTS:
		return verb_query_reverts(&v);
	case VSSCTL_ADD_VOLUME:
	case VSSCTL_DELETE_VOLUME:
		return verb_volume(&v);
	case VSSCTL_SCHEDULE_RUN:
		return vssctl_schedule_run(&v, VSSCTL_SCHEDULE_DIR);
	case _VSSCTL_VERB_MAX:
	case _VSSCTL_VERB_INVALID:
		break;
	}
	return log_error_errno(-EINVAL, "no verb");
}

int vssctl_main(int argc, char *argv[], FILE *out, FILE *err)
{
	_cleanup_(vssctl_args_done) VssctlArgs args = VSSCTL_ARGS_NULL;
	int r;

	r = vssctl_parse_argv(argc, argv, &args, out, err);
	if (r == -EINVAL)
		return 2; /* usage error, printed */
	if (r < 0) {
		log_error_errno(r, "%m");
		return EXIT_FAILURE;
	}
	if (r == 0)
		return EXIT_SUCCESS; /* --help, --version */
	r = vssctl_run(&args, out);
	if (fflush(out) != 0 && r >= 0) {
		log_error_errno(-errno, "cannot write the output: %m");
		return EXIT_FAILURE;
	}
	return r < 0 ? EXIT_FAILURE : r;
}
