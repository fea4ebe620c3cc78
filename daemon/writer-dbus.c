/* SPDX-License-Identifier: GPL-2.0-or-later */
/* writer-dbus.c - the D-Bus adapter of a writer: RegisterWriter, its metadata, its object */
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/escape.h"
#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/writer-internal.h"
#include "daemon/writer.h"

/* how long GatherWriterMetadata waits for a writer's paths to be looked up */
#define WRITER_PATHS_WAIT_USEC (500 * USEC_PER_MSEC)

#define WRITER_FREEZE_MIN_MS 100

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

/* Identify's answer a{sv} describes the writer as it is now: its "components" replace the
 * registered ones (a database may have gained one since), and when it has any of the writer-wide
 * keys (exclude-files, restore-method, alternate-location-mappings, backup-schema) they replace
 * the registered ones together (one left out: none). Name, class id, instance name and usage are
 * the registration's and are not changed by Identify; unknown keys are skipped. An answer that
 * cannot be read is logged and changes nothing. */
void writer_identify_update(Writer *w, DBusMessage *reply)
{
	Writer tmp = { .name = w->name, .uid = w->uid, .metadata_bytes = writer_base_bytes(w) };
	WriterModelInput in = { 0 };
	DBusMessageIter it, d, v, components;
	bool has_components = false, has_model;
	const char *key;
	VssErr err = { 0 };
	int r = 0;

	if (!dbus_message_iter_init(reply, &it) || busmsg_dict_enter(&it, &d) < 0)
		return; /* no description: nothing changes */
	while (r >= 0 && busmsg_dict_next(&d, &key, &v) > 0) {
		if (streq(key, "components")) {
			if (!busmsg_has_signature(&v, "aa{sv}"))
				r = vss_err_set(&err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
				                "components are not aa{sv}");
			components = v;
			has_components = true;
		} else
			r = writer_model_input_take(&in, key, &v, &err);
	}
	has_model = in.has_exclude_files || in.has_restore_method || in.has_mappings ||
	            in.has_backup_schema;
	/* what stays counts first, so that what is read is bounded by the room left */
	if (!has_components)
		tmp.metadata_bytes += writer_components_bytes(w->components, w->n_components);
	if (!has_model)
		tmp.metadata_bytes += writer_model_bytes(&w->model);
	if (r >= 0 && has_components)
		r = writer_read_components(&tmp, &components, metadata_room(w->d, w->uid, w, NULL),
		                           &err);
	if (r >= 0 && has_model)
		r = writer_read_model(&tmp, &in, metadata_room(w->d, w->uid, w, NULL), &err);
	strv_free(in.backup_schema);
	if (r < 0) {
		log_writer_warning(w->id_str, NULL,
		                   "its Identify answer has unusable metadata, keeping what it "
		                   "registered: %s",
		                   r == -ENOMEM ? "out of memory" : err.message);
		writer_components_free(tmp.components, tmp.n_components);
		writer_model_done(&tmp.model);
		return;
	}
	if (has_model) {
		writer_model_done(&w->model);
		w->model = tmp.model;
	}
	w->metadata_bytes = tmp.metadata_bytes;
	if (!has_components)
		return;
	writer_components_free(w->components, w->n_components);
	w->components = tmp.components;
	w->n_components = tmp.n_components;
	if (writer_resolve_paths(w) < 0)
		log_writer_error(w->id_str, NULL,
		                 "cannot look up its paths; it takes part in every set");
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
	WriterModelInput in = { 0 };
	_cleanup_strv_free_ char **schema = NULL;
	const BusOption opts[] = {
		{ "name", 's', &name, &has_name },
		{ "class-id", 's', &class_id, &has_class },
		{ "instance-name", 's', &instance_name },
		{ "usage", 's', &usage },
		{ "freeze-timeout-ms", 'u', &timeout_ms, &has_timeout },
		{ "components", 'A', &components, &has_components, VSSD_COMPONENTS_PER_WRITER_MAX },
		{ "exclude-files", 'A', &in.exclude_files, &in.has_exclude_files,
		  VSSD_FILES_PER_LIST_MAX },
		{ "restore-method", 'D', &in.restore_method, &in.has_restore_method },
		{ "alternate-location-mappings", 'A', &in.mappings, &in.has_mappings,
		  VSSD_FILES_PER_LIST_MAX },
		{ "backup-schema", 'a', &schema, &in.has_backup_schema, VSSD_BACKUP_SCHEMA_MAX },
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
		return writer_metadata_too_big(w, err);
	if (has_components) {
		r = writer_read_components(w, &components, room, err);
		if (r < 0)
			return r;
	}
	in.backup_schema = schema;
	r = writer_read_model(w, &in, room, err);
	if (r < 0)
		return r;
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
	log_writer_notice(w->id_str, NULL,
	                  "%s (class %s) registered by %s (uid %u), freeze window %u ms", w->name,
	                  w->class_id, c->name, (unsigned)c->uid, w->freeze_timeout_ms);
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

/* "volumes" as: the volumes a component's paths and files lie on, each once; devs: the devices
 * of its paths then its files (NULL: not known yet, no volumes) */
static int dict_add_volumes(DBusMessageIter *dict, const WriterComponent *c, const dev_t *devs)
{
	_cleanup_strv_free_ char **vols = calloc(1, sizeof(char *));
	size_t n = strv_length(c->paths) + c->n_files;
	int r;

	if (!vols)
		return -ENOMEM;
	for (size_t k = 0; devs && k < n; k++) {
		_cleanup_free_ char *v = volume_of_dev(devs[k]);

		if (v && !strv_contains(vols, v)) {
			r = strv_extend(&vols, v);
			if (r < 0)
				return r;
		}
	}
	return bus_dict_add_strv(dict, "volumes", vols);
}

/* "components" aa{sv}: all of w's with their whole model (metadata for requesters; volumes as
 * far as known after waiting up to wait_usec), or when selected only the name and paths of those
 * SetComponents chose (none chosen: an empty list) */
static int add_components(DBusMessageIter *dict, const Writer *w, char *const *selection,
                          bool selected, usec_t wait_usec)
{
	DBusMessageIter e, v, a;
	const char *key = "components";
	const dev_t *devs = NULL;
	size_t n_devs = 0, k = 0;
	int r = 0;

	/* metadata: where each component lies, if the look-up is done within a moment */
	if (!selected && writer_path_devices((Writer *)w, now_usec(CLOCK_MONOTONIC) + wait_usec,
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
			r = dict_add_volumes(
				&c, &w->components[i],
				devs && k + strv_length(w->components[i].paths) +
								w->components[i].n_files <=
							n_devs
					? devs + k
					: NULL);
		if (r >= 0 && !selected)
			r = writer_component_add_model(&c, &w->components[i]);
		k += strv_length(w->components[i].paths) + w->components[i].n_files;
		if (!dbus_message_iter_close_container(&a, &c))
			r = -ENOMEM;
	}
	if (r < 0 || !dbus_message_iter_close_container(&v, &a) ||
	    !dbus_message_iter_close_container(&e, &v) ||
	    !dbus_message_iter_close_container(dict, &e))
		return -ENOMEM;
	return 0;
}

int writer_dict_add_components(DBusMessageIter *dict, const Writer *w, char *const *selection,
                               bool selected)
{
	return add_components(dict, w, selection, selected, WRITER_PATHS_WAIT_USEC);
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
	if (r >= 0 && with_components)
		r = writer_dict_add_model(&dict, w);
	if (r < 0 || !dbus_message_iter_close_container(arr, &dict))
		return -ENOMEM;
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

/* Metadata a{sv}: the writer's model as GatherWriterMetadata gives it (components with the
 * volumes known so far; a property read does not wait for a look-up) */
static int prop_metadata(Bus *b, void *u, DBusMessageIter *it)
{
	Writer *w = u;
	DBusMessageIter dict;
	int r;

	r = bus_dict_open(it, &dict);
	if (r < 0)
		return r;
	r = add_components(&dict, w, NULL, false, 0);
	if (r >= 0)
		r = writer_dict_add_model(&dict, w);
	if (r < 0) {
		busmsg_dict_abandon(it, &dict);
		return r;
	}
	return bus_dict_close(it, &dict);
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
	{ "Metadata", "a{sv}", prop_metadata },
	{ NULL },
};

const BusInterface writer_interface = {
	.name = VSSD_IFACE_WRITER,
	.methods = writer_methods,
	.properties = writer_properties,
};
