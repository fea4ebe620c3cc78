/* SPDX-License-Identifier: GPL-2.0-or-later */
/* writer.c - registered writers: objects, VSS_WRITER_STATE, and events sent to many in parallel */
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/escape.h"
#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/writer.h"

/* how long GatherWriterMetadata waits for a writer's paths to be looked up */
#define WRITER_PATHS_WAIT_USEC (500 * USEC_PER_MSEC)

#define WRITER_FREEZE_MIN_MS 100

static const char *const state_names[_WRITER_STATE_MAX] = {
	[WRITER_STATE_UNKNOWN] = "Unknown",
	[WRITER_STATE_STABLE] = "Stable",
	[WRITER_STATE_WAITING_FOR_FREEZE] = "Waiting for freeze",
	[WRITER_STATE_WAITING_FOR_THAW] = "Waiting for thaw",
	[WRITER_STATE_WAITING_FOR_POST_SNAPSHOT] = "Waiting for post snapshot",
	[WRITER_STATE_WAITING_FOR_BACKUP_COMPLETE] = "Waiting for completion",
	[WRITER_STATE_FAILED_AT_IDENTIFY] = "Failed at identify",
	[WRITER_STATE_FAILED_AT_PREPARE_BACKUP] = "Failed at prepare backup",
	[WRITER_STATE_FAILED_AT_PREPARE_SNAPSHOT] = "Failed at prepare snapshot",
	[WRITER_STATE_FAILED_AT_FREEZE] = "Failed at freeze",
	[WRITER_STATE_FAILED_AT_THAW] = "Failed at thaw",
	[WRITER_STATE_FAILED_AT_POST_SNAPSHOT] = "Failed at post snapshot",
	[WRITER_STATE_FAILED_AT_BACKUP_COMPLETE] = "Failed at backup complete",
	[WRITER_STATE_FAILED_AT_PRE_RESTORE] = "Failed at pre restore",
	[WRITER_STATE_FAILED_AT_POST_RESTORE] = "Failed at post restore",
	[WRITER_STATE_FAILED_AT_BACKUPSHUTDOWN] = "Failed at backup shutdown",
};

/* Bytes of a writer's failure message as vssd keeps and relays it, escaped, NUL included */
#define WRITER_MESSAGE_MAX 1024

static const struct {
	const char *method;
	const char *sig;
	WriterState ok;     /* state after success (UNKNOWN: unchanged) */
	WriterState failed; /* state after failure */
	bool strict;        /* the first failure ends the broadcast */
} events[_WRITER_EVENT_MAX] = {
	[WRITER_EVENT_IDENTIFY] = { "Identify", "", WRITER_STATE_STABLE,
	                            WRITER_STATE_FAILED_AT_IDENTIFY, false },
	[WRITER_EVENT_PREPARE_BACKUP] = { "PrepareForBackup", "a{sv}", WRITER_STATE_STABLE,
	                                  WRITER_STATE_FAILED_AT_PREPARE_BACKUP, true },
	[WRITER_EVENT_PREPARE_SNAPSHOT] = { "PrepareForSnapshot", "sas",
	                                    WRITER_STATE_WAITING_FOR_FREEZE,
	                                    WRITER_STATE_FAILED_AT_PREPARE_SNAPSHOT, true },
	[WRITER_EVENT_FREEZE] = { "Freeze", "s", WRITER_STATE_WAITING_FOR_THAW,
	                          WRITER_STATE_FAILED_AT_FREEZE, true },
	[WRITER_EVENT_THAW] = { "Thaw", "s", WRITER_STATE_WAITING_FOR_POST_SNAPSHOT,
	                        WRITER_STATE_FAILED_AT_THAW, true },
	[WRITER_EVENT_POST_SNAPSHOT] = { "PostSnapshot", "sa{ss}",
	                                 WRITER_STATE_WAITING_FOR_BACKUP_COMPLETE,
	                                 WRITER_STATE_FAILED_AT_POST_SNAPSHOT, true },
	[WRITER_EVENT_ABORT] = { "Abort", "s", WRITER_STATE_STABLE, WRITER_STATE_UNKNOWN, false },
	[WRITER_EVENT_BACKUP_COMPLETE] = { "BackupComplete", "sb", WRITER_STATE_STABLE,
	                                   WRITER_STATE_FAILED_AT_BACKUP_COMPLETE, false },
	[WRITER_EVENT_BACKUP_SHUTDOWN] = { "BackupShutdown", "s", WRITER_STATE_UNKNOWN,
	                                   WRITER_STATE_FAILED_AT_BACKUPSHUTDOWN, false },
};

/* The VSS_E_WRITERERROR_* a writer may veto with */
static const struct {
	const char *name;
	const char *code_name;
	uint32_t code;
} vetoes[] = {
	{ "Retryable", "VSS_E_WRITERERROR_RETRYABLE", 0x800423F3 },
	{ "NonRetryable", "VSS_E_WRITERERROR_NONRETRYABLE", 0x800423F4 },
	{ "OutOfResources", "VSS_E_WRITERERROR_OUTOFRESOURCES", 0x800423F1 },
	{ "InconsistentSnapshot", "VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT", 0x800423F0 },
	{ "Timeout", "VSS_E_WRITERERROR_TIMEOUT", 0x800423F2 },
};

const char *writer_state_to_string(WriterState s)
{
	return s >= 0 && s < _WRITER_STATE_MAX ? state_names[s] : NULL;
}

const char *writer_event_to_string(WriterEvent e)
{
	return e >= 0 && e < _WRITER_EVENT_MAX ? events[e].method : NULL;
}

/* ---- registry -------------------------------------------------------------------------------- */

Writer *writer_find(Daemon *d, const VssId *instance_id)
{
	for (size_t i = 0; i < d->n_writers; i++)
		if (vssid_equal(&d->writers[i]->instance_id, instance_id))
			return d->writers[i];
	return NULL;
}

static int writer_resolve_paths(Writer *w);

static void components_free(WriterComponent *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].name);
		strv_free(c[i].paths);
	}
	free(c);
}

Writer *writer_free(Writer *w)
{
	if (!w)
		return NULL;
	for (size_t i = 0; i < w->d->n_writers; i++)
		if (w->d->writers[i] == w) {
			memmove(w->d->writers + i, w->d->writers + i + 1,
			        (w->d->n_writers - i - 1) * sizeof(Writer *));
			w->d->n_writers--;
			break;
		}
	if (w->exported)
		bus_remove_object(&w->d->bus, w->path);
	components_free(w->components, w->n_components);
	w->paths_job = path_job_unref(w->paths_job);
	free(w->gids);
	free(w->owner);
	free(w->object);
	free(w->name);
	free(w->class_id);
	free(w->instance_name);
	free(w->usage);
	free(w->last_error);
	free(w->failure_message);
	free(w);
	return NULL;
}

void writers_peer_gone(Daemon *d, const char *name)
{
	for (size_t i = d->n_writers; i-- > 0;)
		if (streq(d->writers[i]->owner, name)) {
			log_notice("writer=%s: %s left the bus, unregistered",
			           d->writers[i]->id_str, d->writers[i]->name);
			writer_free(d->writers[i]);
		}
}

/* writer_update: the new state and, unless NULL, the new last error; one PropertiesChanged
 * when either differs (a broadcast to 200 writers that changes nothing emits nothing). */
static void writer_update(Writer *w, WriterState s, const char *last_error)
{
	static const char *const changed[] = { "State", "StateName", "LastError", NULL };
	bool differs = w->state != s;

	w->state = s;
	if (last_error && !streq_ptr(w->last_error, last_error)) {
		free(w->last_error);
		w->last_error = strdup(last_error);
		differs = true;
	}
	if (differs && w->exported)
		bus_emit_properties_changed(&w->d->bus, w->path, VSSD_IFACE_WRITER, changed);
}

void writer_set_state(Writer *w, WriterState s)
{
	writer_update(w, s, NULL);
}

static size_t strv_bytes(char *const *l)
{
	size_t n = 0;

	for (char *const *p = l; p && *p; p++)
		n += strlen(*p) + 1;
	return n;
}

/* The bytes of w's strings other than its components: name, class id, instance name... */
static size_t writer_base_bytes(const Writer *w)
{
	const char *const s[] = { w->owner,    w->object,        w->name,
		                  w->class_id, w->instance_name, w->usage };
	size_t n = 0;

	for (size_t i = 0; i < ELEMENTSOF(s); i++)
		n += s[i] ? strlen(s[i]) + 1 : 0;
	return n;
}

/* How many more bytes of metadata a writer of uid may have kept, over the per-uid and the
 * total limit; the writers of d other than except count. Sets *ret_uid_writers (likewise). */
static size_t metadata_room(Daemon *d, uid_t uid, const Writer *except, size_t *ret_uid_writers)
{
	size_t uid_bytes = 0, all_bytes = 0, uid_writers = 0;

	for (size_t i = 0; i < d->n_writers; i++) {
		const Writer *x = d->writers[i];

		if (x == except)
			continue;
		all_bytes += x->metadata_bytes;
		if (x->uid == uid) {
			uid_bytes += x->metadata_bytes;
			uid_writers++;
		}
	}
	if (ret_uid_writers)
		*ret_uid_writers = uid_writers;
	if (uid_bytes >= VSSD_WRITER_METADATA_PER_UID_MAX || all_bytes >= VSSD_WRITER_METADATA_MAX)
		return 0;
	return MIN(VSSD_WRITER_METADATA_PER_UID_MAX - uid_bytes,
	           VSSD_WRITER_METADATA_MAX - all_bytes);
}

static int metadata_too_big(const Writer *w, VssErr *err)
{
	return vss_err_set(err, VSS_ERROR_ACCESS_DENIED, -E2BIG,
	                   "writer \"%s\" would take the writer metadata vssd keeps past %u "
	                   "bytes for uid %u or %u bytes in all; register fewer or shorter "
	                   "components and paths",
	                   bus_safe_string(w->name), VSSD_WRITER_METADATA_PER_UID_MAX,
	                   (unsigned)w->uid, VSSD_WRITER_METADATA_MAX);
}

/* Reads components aa{sv} into w (which has none yet), counting the array first and the bytes
 * kept as it goes: once w's metadata would pass room bytes, nothing more is read. */
static int read_components(Writer *w, DBusMessageIter *arr, size_t room, VssErr *err)
{
	DBusMessageIter it;
	size_t n;

	if (dbus_message_iter_get_element_type(arr) != DBUS_TYPE_ARRAY)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "components must be an array of dictionaries aa{sv}");
	n = bus_array_count(arr);
	if (n > VSSD_COMPONENTS_PER_WRITER_MAX)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -E2BIG,
		                   "%zu components given; a writer has at most %d", n,
		                   VSSD_COMPONENTS_PER_WRITER_MAX);
	if (n == 0)
		return 0;
	w->components = calloc(n, sizeof(WriterComponent));
	if (!w->components)
		return -ENOMEM;
	dbus_message_iter_recurse(arr, &it);
	for (; w->n_components < n && dbus_message_iter_get_arg_type(&it) == DBUS_TYPE_ARRAY;
	     dbus_message_iter_next(&it)) {
		const char *name = NULL;
		_cleanup_strv_free_ char **paths = NULL;
		bool has_name = false;
		const BusOption opts[] = {
			{ "name", 's', &name, &has_name },
			{ "paths", 'a', &paths, NULL, VSSD_PATHS_PER_COMPONENT_MAX },
			{ NULL },
		};
		WriterComponent *c = &w->components[w->n_components];
		size_t bytes;
		int r;

		r = bus_read_options(&it, opts, err);
		if (r < 0)
			return r;
		if (!has_name || !valid_text(name, VSSD_STRING_MAX))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "each component needs a name (text, at most %d bytes)",
			                   VSSD_STRING_MAX);
		for (char **p = paths; p && *p; p++)
			if (!valid_abs_path(*p))
				return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
				                   "component \"%s\": \"%.64s\" is not an absolute "
				                   "path",
				                   name, *p);
		bytes = strlen(name) + 1 + strv_bytes(paths);
		if (w->metadata_bytes + bytes > room)
			return metadata_too_big(w, err);
		c->name = strdup(name);
		if (!c->name)
			return -ENOMEM;
		c->paths = TAKE_PTR(paths);
		w->n_components++;
		w->metadata_bytes += bytes;
	}
	return 0;
}

/* Identify's answer a{sv} describes the writer as it is now: its "components" replace the
 * registered ones (a database may have gained one since). Other keys are the registration's
 * and are not changed by Identify; unknown keys are skipped. An answer that cannot be read is
 * logged and leaves the components as they were. */
static void identify_update(Writer *w, DBusMessage *reply)
{
	Writer tmp = { .name = w->name, .uid = w->uid, .metadata_bytes = writer_base_bytes(w) };
	DBusMessageIter it, d;
	VssErr err = { 0 };
	int r;

	if (!dbus_message_iter_init(reply, &it) ||
	    dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_ARRAY ||
	    dbus_message_iter_get_element_type(&it) != DBUS_TYPE_DICT_ENTRY)
		return; /* no description: nothing changes */
	dbus_message_iter_recurse(&it, &d);
	for (; dbus_message_iter_get_arg_type(&d) == DBUS_TYPE_DICT_ENTRY;
	     dbus_message_iter_next(&d)) {
		DBusMessageIter e, v;
		const char *key;
		char *sig;
		bool ok;

		dbus_message_iter_recurse(&d, &e);
		if (dbus_message_iter_get_arg_type(&e) != DBUS_TYPE_STRING)
			return;
		dbus_message_iter_get_basic(&e, &key);
		if (!streq(key, "components"))
			continue;
		dbus_message_iter_next(&e);
		if (dbus_message_iter_get_arg_type(&e) != DBUS_TYPE_VARIANT)
			return;
		dbus_message_iter_recurse(&e, &v);
		sig = dbus_message_iter_get_signature(&v);
		ok = sig && streq(sig, "aa{sv}");
		dbus_free(sig);
		if (!ok) {
			log_warning("writer=%s: its Identify answer has components that are not "
			            "aa{sv}; keeping the registered ones",
			            w->id_str);
			return;
		}
		r = read_components(&tmp, &v, metadata_room(w->d, w->uid, w, NULL), &err);
		if (r < 0) {
			log_warning(
				"writer=%s: its Identify answer has unusable components, keeping "
				"the registered ones: %s",
				w->id_str, r == -ENOMEM ? "out of memory" : err.message);
			components_free(tmp.components, tmp.n_components);
			return;
		}
		components_free(w->components, w->n_components);
		w->components = tmp.components;
		w->n_components = tmp.n_components;
		w->metadata_bytes = tmp.metadata_bytes;
		if (writer_resolve_paths(w) < 0)
			log_error("writer=%s: cannot look up its paths; it takes part in every set",
			          w->id_str);
		return;
	}
}

static const BusInterface *const writer_ifaces[] = { &writer_interface, NULL };

int writer_register(Daemon *d, const BusCaller *c, const char *object, DBusMessageIter *info,
                    Writer **ret, VssErr *err)
{
	_cleanup_(writer_freep) Writer *w = NULL;
	const char *name = NULL, *class_id = NULL, *instance_name = NULL, *usage = NULL;
	bool has_name = false, has_class = false, has_components = false, has_timeout = false;
	uint32_t timeout_ms = 0;
	DBusMessageIter components;
	const BusOption opts[] = {
		{ "name", 's', &name, &has_name },
		{ "class-id", 's', &class_id, &has_class },
		{ "instance-name", 's', &instance_name },
		{ "usage", 's', &usage },
		{ "freeze-timeout-ms", 'u', &timeout_ms, &has_timeout },
		{ "components", 'A', &components, &has_components, VSSD_COMPONENTS_PER_WRITER_MAX },
		{ NULL },
	};
	static const char *const usages[] = { "user-data", "bootable-system-state",
		                              "system-service", "other" };
	size_t mine = 0, uid_writers, room;
	bool usage_ok;
	VssId cid;
	int r;

	r = bus_read_options(info, opts, err);
	if (r < 0)
		return r;
	if (!has_name || !valid_text(name, VSSD_STRING_MAX))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "info needs \"name\": text of at most %d bytes",
		                   VSSD_STRING_MAX);
	if (!has_class || vssid_from_string(class_id, &cid) < 0)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "info needs \"class-id\": a UUID (8-4-4-4-12 hex digits)");
	if (instance_name && !valid_text_or_empty(instance_name, VSSD_STRING_MAX))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "instance-name must be text of at most %d bytes",
		                   VSSD_STRING_MAX);
	usage_ok = !usage; /* read by bus_read_options() above, not at the declaration */
	for (size_t i = 0; usage && i < ELEMENTSOF(usages); i++)
		usage_ok = usage_ok || streq(usage, usages[i]);
	if (!usage_ok)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "unknown usage \"%.64s\"; use user-data, bootable-system-state, "
		                   "system-service or other",
		                   bus_safe_string(usage));
	if (has_timeout && timeout_ms < WRITER_FREEZE_MIN_MS)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -ERANGE,
		                   "freeze-timeout-ms must be at least %d", WRITER_FREEZE_MIN_MS);
	for (size_t i = 0; i < d->n_writers; i++) {
		if (!streq(d->writers[i]->owner, c->name))
			continue;
		mine++;
		if (streq(d->writers[i]->object, object))
			return vss_err_set(err, VSS_ERROR_OBJECT_ALREADY_EXISTS, -EEXIST,
			                   "a writer is registered at %s by this connection "
			                   "already (%s)",
			                   object, d->writers[i]->id_str);
	}
	if (mine >= d->config.writers_per_connection)
		return vss_err_set(err, VSS_ERROR_ACCESS_DENIED, -E2BIG,
		                   "a connection may register at most %u writers",
		                   d->config.writers_per_connection);
	room = metadata_room(d, c->uid, NULL, &uid_writers);
	if (uid_writers >= d->config.writers_per_uid)
		return vss_err_set(err, VSS_ERROR_ACCESS_DENIED, -E2BIG,
		                   "uid %u has %zu writers registered already (writers-per-uid); "
		                   "unregister some first",
		                   (unsigned)c->uid, uid_writers);
	if (d->n_writers >= VSSD_WRITERS_MAX)
		return vss_err_set(err, VSS_ERROR_ACCESS_DENIED, -E2BIG,
		                   "vssd has %zu writers registered, the most it keeps; retry when "
		                   "some have left",
		                   d->n_writers);

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->d = d;
	vssid_generate(&w->instance_id);
	vssid_to_string(&w->instance_id, w->id_str);
	bus_object_path("writer", &w->instance_id, w->path, sizeof(w->path));
	w->uid = c->uid;
	w->owner = strdup(c->name);
	w->object = strdup(object);
	w->name = strdup(name);
	w->class_id = malloc(VSSID_STRING_MAX);
	w->instance_name = strdup(strempty(instance_name));
	w->usage = strdup(usage ? usage : "user-data");
	w->last_error = strdup("");
	if (!w->owner || !w->object || !w->name || !w->class_id || !w->instance_name || !w->usage ||
	    !w->last_error)
		return -ENOMEM;
	vssid_to_string(&cid, w->class_id);
	w->freeze_timeout_ms =
		has_timeout ? timeout_ms
			    : (uint32_t)(d->config.writer_freeze_default / USEC_PER_MSEC);
	if (w->freeze_timeout_ms > d->config.writer_freeze_max / USEC_PER_MSEC) {
		log_info("writer %s asked for a %u ms freeze window, capped to %" PRIu64 " ms",
		         name, w->freeze_timeout_ms, d->config.writer_freeze_max / USEC_PER_MSEC);
		w->freeze_timeout_ms = (uint32_t)(d->config.writer_freeze_max / USEC_PER_MSEC);
	}
	w->state = WRITER_STATE_STABLE;
	w->metadata_bytes = writer_base_bytes(w);
	if (w->metadata_bytes > room)
		return metadata_too_big(w, err);
	if (has_components) {
		r = read_components(w, &components, room, err);
		if (r < 0)
			return r;
	}
	if (c->n_gids > 0) {
		w->gids = calloc(c->n_gids, sizeof(gid_t));
		if (!w->gids)
			return -ENOMEM;
		memcpy(w->gids, c->gids, c->n_gids * sizeof(gid_t));
		w->n_gids = c->n_gids;
	}
	r = writer_resolve_paths(w);
	if (r < 0)
		return r;
	{
		Writer **n = reallocarray(d->writers, d->n_writers + 1, sizeof(*n));

		if (!n)
			return -ENOMEM;
		d->writers = n;
		d->writers[d->n_writers++] = w;
	}
	r = bus_add_object(&d->bus, w->path, writer_ifaces, w);
	if (r < 0)
		return r;
	w->exported = true;
	log_notice("writer=%s: %s (class %s) registered by %s (uid %u), freeze window %u ms",
	           w->id_str, w->name, w->class_id, c->name, (unsigned)c->uid,
	           w->freeze_timeout_ms);
	*ret = TAKE_PTR(w);
	return 0;
}

/* Is component name of writer w among the selection (instance id, name, instance id, name, ...)? */
static bool component_selected(const Writer *w, const char *name, char *const *selection)
{
	for (char *const *p = selection; p && p[0] && p[1]; p += 2)
		if (streq(p[0], w->id_str) && streq(p[1], name))
			return true;
	return false;
}

/* (Re)starts the look-up of the devices of w's component paths, as w's owner. */
static int writer_resolve_paths(Writer *w)
{
	_cleanup_strv_free_ char **all = calloc(1, sizeof(char *));
	int r;

	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < w->n_components; i++)
		for (char **p = w->components[i].paths; p && *p; p++) {
			r = strv_extend(&all, *p); /* bounded: VSSD_PATHS_PER_COMPONENT_MAX each */
			if (r < 0)
				return r;
		}
	w->paths_job = path_job_unref(w->paths_job);
	return path_job_start(w->uid, w->gids, w->n_gids, all, &w->paths_job);
}

int writer_path_devices(Writer *w, usec_t deadline, const dev_t **ret_devs, size_t *ret_n)
{
	if (!w->paths_job)
		return -EINPROGRESS;
	return path_job_result(w->paths_job, deadline, ret_devs, ret_n);
}

/* The block device dev (a path's), as the path AddVolume takes: /dev/mapper/NAME for
 * device-mapper, /dev/NAME otherwise (sysfs); NULL when unknown */
static char *volume_of_dev(dev_t dev)
{
	char sys[96], line[256], *r = NULL;
	FILE *f;

	if (dev == 0)
		return NULL;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm/name", major(dev), minor(dev));
	f = fopen(sys, "re");
	if (f) {
		if (fgets(line, sizeof(line), f) && line[0] && line[0] != '\n') {
			line[strcspn(line, "\n")] = 0;
			if (asprintf(&r, "/dev/mapper/%s", line) < 0)
				r = NULL;
		}
		fclose(f);
		return r;
	}
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/uevent", major(dev), minor(dev));
	f = fopen(sys, "re");
	if (!f)
		return NULL;
	while (!r && fgets(line, sizeof(line), f)) {
		const char *n = startswith(line, "DEVNAME=");

		line[strcspn(line, "\n")] = 0;
		if (n && n[0] && asprintf(&r, "/dev/%s", n) < 0)
			r = NULL;
	}
	fclose(f);
	return r;
}

/* "volumes" as: the volumes a component's paths lie on, each once; devs: the devices of its
 * paths (NULL: not known yet, no volumes) */
static int dict_add_volumes(DBusMessageIter *dict, const WriterComponent *c, const dev_t *devs)
{
	_cleanup_strv_free_ char **vols = calloc(1, sizeof(char *));
	size_t k = 0;
	int r;

	if (!vols)
		return -ENOMEM;
	for (char **p = c->paths; devs && p && *p; p++, k++) {
		_cleanup_free_ char *v = volume_of_dev(devs[k]);

		if (v && !strv_contains(vols, v)) {
			r = strv_extend(&vols, v);
			if (r < 0)
				return r;
		}
	}
	return bus_dict_add_strv(dict, "volumes", vols);
}

/* "components" aa{sv} (name s, paths as): all of w's, or when selected only those that
 * SetComponents chose (none chosen: an empty list) */
int writer_dict_add_components(DBusMessageIter *dict, const Writer *w, char *const *selection,
                               bool selected)
{
	DBusMessageIter e, v, a;
	const char *key = "components";
	const dev_t *devs = NULL;
	size_t n_devs = 0, k = 0;
	int r = 0;

	/* metadata: where each component lies, if the look-up is done within a moment */
	if (!selected &&
	    writer_path_devices((Writer *)w, now_usec(CLOCK_MONOTONIC) + WRITER_PATHS_WAIT_USEC,
	                        &devs, &n_devs) < 0)
		devs = NULL;

	if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
	    !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key) ||
	    !dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "aa{sv}", &v) ||
	    !dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a))
		return -ENOMEM;
	for (size_t i = 0; i < w->n_components && r >= 0; i++) {
		DBusMessageIter c;

		if (selected && !component_selected(w, w->components[i].name, selection))
			continue;
		if (!dbus_message_iter_open_container(&a, DBUS_TYPE_ARRAY, "{sv}", &c))
			return -ENOMEM;
		r = bus_dict_add_string(&c, "name", w->components[i].name);
		if (r >= 0)
			r = bus_dict_add_strv(&c, "paths", w->components[i].paths);
		if (r >= 0 && !selected) /* metadata for requesters: where each component lies */
			r = dict_add_volumes(&c, &w->components[i], devs ? devs + k : NULL);
		k += strv_length(w->components[i].paths);
		if (!dbus_message_iter_close_container(&a, &c))
			r = -ENOMEM;
	}
	if (r < 0 || !dbus_message_iter_close_container(&v, &a) ||
	    !dbus_message_iter_close_container(&e, &v) ||
	    !dbus_message_iter_close_container(dict, &e))
		return -ENOMEM;
	return 0;
}

bool writer_has_component(const Writer *w, const char *name)
{
	for (size_t i = 0; i < w->n_components; i++)
		if (streq(w->components[i].name, name))
			return true;
	return false;
}

int writer_append_dict(Writer *w, DBusMessageIter *arr, bool with_components)
{
	DBusMessageIter dict;
	int r;

	if (!dbus_message_iter_open_container(arr, DBUS_TYPE_ARRAY, "{sv}", &dict))
		return -ENOMEM;
	r = bus_dict_add_string(&dict, "instance-id", w->id_str);
	if (r >= 0)
		r = bus_dict_add_string(&dict, "class-id", w->class_id);
	if (r >= 0)
		r = bus_dict_add_string(&dict, "name", w->name);
	if (r >= 0)
		r = bus_dict_add_string(&dict, "instance-name", w->instance_name);
	if (r >= 0)
		r = bus_dict_add_string(&dict, "usage", w->usage);
	if (r >= 0)
		r = bus_dict_add_u32(&dict, "state", (uint32_t)w->state);
	if (r >= 0)
		r = bus_dict_add_string(&dict, "state-name", writer_state_to_string(w->state));
	if (r >= 0)
		r = bus_dict_add_string(&dict, "last-error", w->last_error);
	if (r >= 0)
		r = bus_dict_add_string(&dict, "failure-message", strempty(w->failure_message));
	if (r >= 0)
		r = bus_dict_add_string(&dict, "owner", w->owner);
	if (r >= 0)
		r = bus_dict_add_u32(&dict, "freeze-timeout-ms", w->freeze_timeout_ms);
	if (r >= 0 && with_components)
		r = writer_dict_add_components(&dict, w, NULL, false);
	if (r < 0 || !dbus_message_iter_close_container(arr, &dict))
		return -ENOMEM;
	return 0;
}

/* ---- broadcasts ------------------------------------------------------------------------------ */

typedef struct Call {
	WriterBroadcast *b;
	size_t idx;
} Call;

struct WriterBroadcast {
	Daemon *d;
	WriterEvent ev;
	char *set_id;
	char *backup_type;
	char *context;
	char **volumes;
	char **devices;
	char **components; /* PrepareForBackup: the selection, pairs (instance id, name) */
	bool success;
	VssId *ids;
	size_t n;
	size_t next;
	unsigned in_flight;
	size_t answered;
	DBusPendingCall **pending;
	WriterDoneFn done;
	void *userdata;
	bool finished;
};

static void broadcast_send_more(WriterBroadcast *b);

/* Calls in flight are capped for all broadcasts together, oldest broadcast first: when one
 * ends or gets an answer, the pump (deferred, so that no callback runs inside another) lets
 * the waiting ones send. */
static int on_pump(sd_event_source *es, void *userdata)
{
	Daemon *d = userdata;
	bool progress = true;

	while (progress && d->writer_calls < VSSD_PENDING_CALLS_MAX) {
		progress = false;
		for (size_t i = 0; i < d->n_bcasts; i++) {
			WriterBroadcast *b = d->bcasts[i];

			if (b->finished || b->next >= b->n)
				continue;
			broadcast_send_more(b); /* may end broadcasts: start over */
			progress = true;
			break;
		}
	}
	return 0;
}

static void pump_schedule(Daemon *d)
{
	if (!d->event || d->stopping)
		return;
	if (d->bcast_pump)
		(void)sd_event_source_set_enabled(d->bcast_pump, SD_EVENT_ONESHOT);
	else if (sd_event_add_defer(d->event, &d->bcast_pump, on_pump, d) < 0)
		log_error("cannot schedule the writer calls that wait for room");
}

static void broadcast_register(WriterBroadcast *b)
{
	Daemon *d = b->d;
	WriterBroadcast **n = reallocarray(d->bcasts, d->n_bcasts + 1, sizeof(*n));

	if (!n)
		return; /* it still runs; only the pump does not see it */
	d->bcasts = n;
	d->bcasts[d->n_bcasts++] = b;
}

static void broadcast_unregister(WriterBroadcast *b)
{
	Daemon *d = b->d;

	for (size_t i = 0; i < d->n_bcasts; i++)
		if (d->bcasts[i] == b) {
			memmove(d->bcasts + i, d->bcasts + i + 1,
			        (d->n_bcasts - i - 1) * sizeof(*d->bcasts));
			d->n_bcasts--;
			break;
		}
}

static void broadcast_free(WriterBroadcast *b)
{
	bool freed = false;

	broadcast_unregister(b);
	for (size_t i = 0; i < b->n; i++)
		if (b->pending && b->pending[i]) {
			dbus_pending_call_cancel(b->pending[i]);
			dbus_pending_call_unref(b->pending[i]);
			b->d->writer_calls--;
			freed = true;
		}
	if (freed && b->d->n_bcasts > 0)
		pump_schedule(b->d);
	free(b->pending);
	free(b->ids);
	free(b->set_id);
	free(b->backup_type);
	free(b->context);
	strv_free(b->volumes);
	strv_free(b->components);
	strv_free(b->devices);
	free(b);
}

void writer_broadcast_cancel(WriterBroadcast *b)
{
	if (b)
		broadcast_free(b);
}

void writer_broadcasts_done(Daemon *d)
{
	d->stopping = true;
	/* what is left is nobody's: the owners of the others freed theirs with their sets */
	while (d->n_bcasts > 0)
		broadcast_free(d->bcasts[d->n_bcasts - 1]);
	free(d->bcasts);
	d->bcasts = NULL;
	d->bcast_pump = sd_event_source_disable_unref(d->bcast_pump);
}

static int append_args(WriterBroadcast *b, const Writer *w, DBusMessage *m)
{
	DBusMessageIter it, a, e;
	const char *set = b->set_id;

	dbus_message_iter_init_append(m, &it);
	switch (b->ev) {
	case WRITER_EVENT_IDENTIFY:
		return 0;
	case WRITER_EVENT_PREPARE_BACKUP:
		if (bus_dict_open(&it, &a) < 0 || bus_dict_add_string(&a, "set", set) < 0 ||
		    bus_dict_add_string(&a, "backup-type", b->backup_type) < 0 ||
		    bus_dict_add_string(&a, "context", b->context) < 0 ||
		    writer_dict_add_components(&a, w, b->components, true) < 0 ||
		    bus_dict_close(&it, &a) < 0)
			return -ENOMEM;
		return 0;
	case WRITER_EVENT_PREPARE_SNAPSHOT:
		if (bus_append_string(&it, set) < 0 ||
		    !dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "s", &a))
			return -ENOMEM;
		for (char **v = b->volumes; v && *v; v++)
			if (bus_append_string(&a, *v) < 0)
				return -ENOMEM;
		return dbus_message_iter_close_container(&it, &a) ? 0 : -ENOMEM;
	case WRITER_EVENT_POST_SNAPSHOT:
		if (bus_append_string(&it, set) < 0 ||
		    !dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{ss}", &a))
			return -ENOMEM;
		for (char **v = b->devices; v && v[0] && v[1]; v += 2)
			if (!dbus_message_iter_open_container(&a, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
			    bus_append_string(&e, v[0]) < 0 || bus_append_string(&e, v[1]) < 0 ||
			    !dbus_message_iter_close_container(&a, &e))
				return -ENOMEM;
		return dbus_message_iter_close_container(&it, &a) ? 0 : -ENOMEM;
	case WRITER_EVENT_BACKUP_COMPLETE:
		if (bus_append_string(&it, set) < 0 || bus_append_bool(&it, b->success) < 0)
			return -ENOMEM;
		return 0;
	case WRITER_EVENT_FREEZE:
	case WRITER_EVENT_THAW:
	case WRITER_EVENT_ABORT:
	case WRITER_EVENT_BACKUP_SHUTDOWN:
		return bus_append_string(&it, set);
	case _WRITER_EVENT_MAX:
	case _WRITER_EVENT_INVALID:
		break;
	}
	return -EINVAL;
}

static void broadcast_send_more(WriterBroadcast *b);

static void broadcast_finish(WriterBroadcast *b, int r, const VssErr *err)
{
	if (b->finished)
		return;
	b->finished = true;
	if (b->done)
		b->done(b, r, err, b->userdata); /* may cancel (free) b */
	else
		broadcast_free(b);
}

int writer_apply_reply(Writer *w, WriterEvent event, const char *set_id, DBusMessage *reply,
                       VssErr *err)
{
	const char *ev = events[event].method;
	const char *ename, *emsg = NULL, *code = NULL;
	char msg[WRITER_MESSAGE_MAX];

	if (!w)
		return vss_err_set(err, VSS_ERROR_WRITER_NOT_RESPONDING, -ETIMEDOUT,
		                   "a writer left the bus during %s", ev);
	if (reply && dbus_message_get_type(reply) != DBUS_MESSAGE_TYPE_ERROR) {
		/* Identify changes nothing in a session under way (as in VSS, where it must not
		 * change state): it only brings a failed writer back to Stable. Abort keeps a
		 * failure visible to the requester's next GatherWriterStatus. */
		bool failed = w->state >= WRITER_STATE_FAILED_AT_IDENTIFY;
		bool keep = (event == WRITER_EVENT_ABORT && failed) ||
		            (event == WRITER_EVENT_IDENTIFY && !failed &&
		             w->state != WRITER_STATE_UNKNOWN);

		bool clear = (event == WRITER_EVENT_IDENTIFY && failed) ||
		             event == WRITER_EVENT_PREPARE_BACKUP;

		if (event == WRITER_EVENT_IDENTIFY && reply)
			identify_update(w, reply);

		writer_update(w,
		              events[event].ok != WRITER_STATE_UNKNOWN && !keep ? events[event].ok
		                                                                : w->state,
		              clear ? "" : NULL);
		return 0;
	}
	ename = reply ? dbus_message_get_error_name(reply) : DBUS_ERROR_NO_REPLY;
	if (reply)
		(void)dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &emsg,
		                            DBUS_TYPE_INVALID);
	/* The writer's words go to the log, to requesters (the error reply, GatherWriterStatus,
	 * ListWriters, the backup document): escaped once, here, and bounded (DESIGN §6). */
	(void)text_escape_buf(bus_safe_string(emsg), 0, msg, sizeof(msg));
	free(w->failure_message);
	w->failure_message = strdup(msg);

	if (startswith(ename, VSSD_WRITER_ERROR_PREFIX)) {
		const char *kind = ename + strlen(VSSD_WRITER_ERROR_PREFIX);

		for (size_t i = 0; i < ELEMENTSOF(vetoes); i++)
			if (streq(kind, vetoes[i].name)) {
				code = vetoes[i].code_name;
				vss_err_set(err, VSS_ERROR_WRITER_VETO, -ECANCELED,
				            "writer \"%s\" (%s) vetoed %s: %s", w->name, w->id_str,
				            ev, msg);
				if (err) {
					err->code_name = vetoes[i].code_name;
					err->code = vetoes[i].code;
				}
				break;
			}
	}
	if (!code && streq(ename, DBUS_ERROR_NO_REPLY) && event == WRITER_EVENT_FREEZE) {
		code = "VSS_E_WRITERERROR_TIMEOUT";
		vss_err_set(err, VSS_ERROR_WRITER_TIMEOUT, -ETIME,
		            "writer \"%s\" (%s) did not finish Freeze within its freeze window of "
		            "%u ms",
		            w->name, w->id_str, w->freeze_timeout_ms);
	}
	if (!code) {
		code = "VSS_E_WRITER_NOT_RESPONDING";
		vss_err_set(err, VSS_ERROR_WRITER_NOT_RESPONDING, -ETIMEDOUT,
		            "writer \"%s\" (%s) did not answer %s: %s%s%s", w->name, w->id_str, ev,
		            ename, emsg ? ": " : "", msg);
	}
	writer_update(
		w, events[event].failed != WRITER_STATE_UNKNOWN ? events[event].failed : w->state,
		code);
	log_full(events[event].strict ? LOG_WARNING : LOG_NOTICE, "writer=%s set=%s: %s failed: %s",
	         w->id_str, strempty(set_id), ev, err ? err->message : ename);
	return -ECANCELED;
}

static void on_reply(DBusPendingCall *pending, void *userdata)
{
	Call *c = userdata;
	WriterBroadcast *b = c->b;
	DBusMessage *reply = dbus_pending_call_steal_reply(pending);
	Writer *w = writer_find(b->d, &b->ids[c->idx]);
	VssErr err = { 0 };
	int r;

	dbus_pending_call_unref(pending);
	b->pending[c->idx] = NULL;
	b->in_flight--;
	b->d->writer_calls--;
	if (b->d->n_bcasts > 1) /* another broadcast may wait for this room */
		pump_schedule(b->d);
	b->answered++;
	r = writer_apply_reply(w, b->ev, b->set_id, reply, &err);
	if (reply)
		dbus_message_unref(reply);
	if (r < 0 && events[b->ev].strict) {
		broadcast_finish(b, r, &err);
		return;
	}
	if (b->answered == b->n) {
		broadcast_finish(b, 0, NULL);
		return;
	}
	broadcast_send_more(b);
}

static int send_one(WriterBroadcast *b, size_t idx)
{
	Writer *w = writer_find(b->d, &b->ids[idx]);
	DBusMessage *m;
	DBusPendingCall *pending = NULL;
	Call *c;
	int timeout_ms;

	if (!w)
		return -ENOENT;
	if (!b->d->bus.conn) /* a daemon without a bus (unit tests) reaches no writer */
		return -ENOTCONN;
	m = dbus_message_new_method_call(w->owner, w->object, VSSD_IFACE_WRITER,
	                                 events[b->ev].method);
	if (!m)
		return -ENOMEM;
	dbus_message_set_auto_start(m, FALSE);
	if (append_args(b, w, m) < 0) {
		dbus_message_unref(m);
		return -ENOMEM;
	}
	timeout_ms = b->ev == WRITER_EVENT_FREEZE
	                     ? (int)w->freeze_timeout_ms
	                     : (int)(b->d->config.writer_event_timeout / USEC_PER_MSEC);
	c = calloc(1, sizeof(*c));
	if (!c || !dbus_connection_send_with_reply(b->d->bus.conn, m, &pending, timeout_ms) ||
	    !pending) {
		free(c);
		dbus_message_unref(m);
		return -ENOMEM;
	}
	dbus_message_unref(m);
	*c = (Call){ .b = b, .idx = idx };
	if (!dbus_pending_call_set_notify(pending, on_reply, c, free)) {
		dbus_pending_call_cancel(pending);
		dbus_pending_call_unref(pending);
		free(c);
		return -ENOMEM;
	}
	b->pending[idx] = pending;
	b->in_flight++;
	b->d->writer_calls++;
	log_debug("writer=%s set=%s: %s sent", w->id_str, b->set_id, events[b->ev].method);
	return 0;
}

static void broadcast_send_more(WriterBroadcast *b)
{
	while (b->next < b->n && b->d->writer_calls < VSSD_PENDING_CALLS_MAX) {
		size_t idx = b->next++;
		int r = send_one(b, idx);

		if (r < 0) {
			VssErr err = { 0 };

			b->answered++;
			if (r == -ENOENT)
				vss_err_set(&err, VSS_ERROR_WRITER_NOT_RESPONDING, -ETIMEDOUT,
				            "a writer left the bus before %s",
				            events[b->ev].method);
			else
				vss_err_set(&err, VSS_ERROR_WRITER_NOT_RESPONDING, r,
				            "cannot send %s: %s", events[b->ev].method,
				            strerror(-r));
			if (events[b->ev].strict) {
				broadcast_finish(b, -ECANCELED, &err);
				return;
			}
		}
	}
	if (b->answered == b->n)
		broadcast_finish(b, 0, NULL);
}

static int strv_copy(char **src, char ***ret)
{
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

	if (!l)
		return -ENOMEM;
	for (char **i = src; i && *i; i++)
		if (strv_extend(&l, *i) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(l);
	return 0;
}

int writer_broadcast_start(Daemon *d, WriterEvent ev, const VssId *ids, size_t n,
                           const WriterEventArgs *args, WriterDoneFn done, void *userdata,
                           WriterBroadcast **ret)
{
	WriterBroadcast *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	*b = (WriterBroadcast){ .d = d,
		                .ev = ev,
		                .n = n,
		                .done = done,
		                .userdata = userdata,
		                .success = args->success };
	b->ids = calloc(n ? n : 1, sizeof(VssId));
	b->pending = calloc(n ? n : 1, sizeof(DBusPendingCall *));
	b->set_id = strdup(strempty(args->set_id));
	b->backup_type = strdup(strempty(args->backup_type));
	b->context = strdup(strempty(args->context));
	if (!b->ids || !b->pending || !b->set_id || !b->backup_type || !b->context ||
	    strv_copy(args->volumes, &b->volumes) < 0 ||
	    strv_copy(args->devices, &b->devices) < 0 ||
	    strv_copy(args->components, &b->components) < 0) {
		broadcast_free(b);
		return -ENOMEM;
	}
	if (n)
		memcpy(b->ids, ids, n * sizeof(VssId));
	broadcast_register(b);
	if (ret)
		*ret = b;
	log_debug("set=%s: %s to %zu writers", b->set_id, events[ev].method, n);
	broadcast_send_more(b); /* with no writers this finishes at once */
	return 0;
}

/* ---- bus: the writer objects ----------------------------------------------------------------- */

static int prop_name(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Writer *)u)->name);
}

static int prop_class_id(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Writer *)u)->class_id);
}

static int prop_instance_id(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Writer *)u)->id_str);
}

static int prop_instance_name(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Writer *)u)->instance_name);
}

static int prop_usage(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Writer *)u)->usage);
}

static int prop_state(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_u32(it, (uint32_t)((Writer *)u)->state);
}

static int prop_state_name(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, writer_state_to_string(((Writer *)u)->state));
}

static int prop_last_error(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Writer *)u)->last_error);
}

static int prop_owner(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Writer *)u)->owner);
}

static const BusMethod writer_methods[] = {
	{ NULL },
};

static const BusProperty writer_properties[] = {
	{ "Name", "s", prop_name },
	{ "ClassId", "s", prop_class_id },
	{ "InstanceId", "s", prop_instance_id },
	{ "InstanceName", "s", prop_instance_name },
	{ "Usage", "s", prop_usage },
	{ "State", "u", prop_state },
	{ "StateName", "s", prop_state_name },
	{ "LastError", "s", prop_last_error },
	{ "Owner", "s", prop_owner },
	{ NULL },
};

const BusInterface writer_interface = {
	.name = VSSD_IFACE_WRITER,
	.methods = writer_methods,
	.properties = writer_properties,
};
