/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapset-dbus.c - the D-Bus adapter of a set: its methods, properties and replies */
#include <inttypes.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/fault.h"
#include "daemon/freeze.h"
#include "daemon/hostops.h"
#include "daemon/monitor.h"
#include "daemon/snapset-dbus.h"
#include "daemon/snapset-internal.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "daemon/storage.h"
#include "daemon/writer.h"

/* ---- writer lists ---------------------------------------------------------------------------- */

int snapset_append_writer_list(Snapset *s, DBusMessageIter *it, bool metadata)
{
	DBusMessageIter arr;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "a{sv}", &arr))
		return -ENOMEM;
	for (size_t i = 0; i < s->n_involved; i++) {
		Writer *w = writer_find(s->d, &s->involved[i]);

		/* a writer whose Identify failed is missing from the metadata, as in VSS */
		if (!w || (metadata && w->state == WRITER_STATE_FAILED_AT_IDENTIFY))
			continue;
		if (writer_append_dict(w, &arr, metadata) < 0)
			return -ENOMEM;
	}
	/* writer-failures=continue: the writers that failed, with their state and error */
	for (size_t i = 0; !metadata && i < s->n_failed; i++) {
		Writer *w = writer_find(s->d, &s->failed[i]);

		if (w && writer_append_dict(w, &arr, false) < 0)
			return -ENOMEM;
	}
	return dbus_message_iter_close_container(it, &arr) ? 0 : -ENOMEM;
}

/* ---- replies --------------------------------------------------------------------------------- */

static void reply_done(Snapset *s, int r, const VssErr *err, DBusMessage *m, bool metadata,
                       bool snapshots)
{
	DBusMessage *reply;
	DBusMessageIter it;

	if (r < 0) {
		(void)bus_reply_error(&s->d->bus, m, err, r);
		dbus_message_unref(m);
		return;
	}
	reply = dbus_message_new_method_return(m);
	if (reply && metadata) {
		dbus_message_iter_init_append(reply, &it);
		if (snapset_append_writer_list(s, &it, true) < 0) {
			dbus_message_unref(reply);
			reply = dbus_message_new_error(m, DBUS_ERROR_NO_MEMORY, "no memory");
		}
	}
	if (reply && snapshots) {
		_cleanup_strv_free_ char **paths = NULL;

		for (size_t i = 0; i < s->n_snaps; i++)
			(void)strv_extend(&paths, s->snaps[i]->path);
		dbus_message_iter_init_append(reply, &it);
		if (bus_append_path(&it, s->path) < 0 || bus_append_pathv(&it, paths) < 0) {
			dbus_message_unref(reply);
			reply = dbus_message_new_error(m, DBUS_ERROR_NO_MEMORY, "out of memory");
		}
	}
	(void)bus_send(&s->d->bus, reply);
	dbus_message_unref(m);
}

void snapset_dbus_reply_set_snapshots(Snapset *s, int r, const VssErr *err, void *userdata)
{
	reply_done(s, r, err, userdata, false, true);
}

void snapset_dbus_reply_empty(Snapset *s, int r, const VssErr *err, void *userdata)
{
	reply_done(s, r, err, userdata, false, false);
}

void snapset_dbus_reply_metadata(Snapset *s, int r, const VssErr *err, void *userdata)
{
	reply_done(s, r, err, userdata, true, false);
}

/* ---- methods --------------------------------------------------------------------------------- */

static int check_owner(Snapset *s, const BusCaller *c, VssErr *err)
{
	if (!s->owner || !streq(s->owner, c->name))
		return vss_err_set(err, VSS_ERROR_ACCESS_DENIED, -EACCES,
		                   "set %s belongs to another requester%s; only its owner may "
		                   "drive it",
		                   s->id_str, s->owner ? "" : " (it was released)");
	s->last_call = now_usec(CLOCK_MONOTONIC); /* the idle limit counts from here */
	return 0;
}

static int method_add_volume(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	const char *volume, *provider;
	Snapshot *snap;
	DBusMessage *reply;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &volume, DBUS_TYPE_STRING, &provider,
	                           DBUS_TYPE_INVALID))
		return -EINVAL;
	r = snapset_add_volume(s, volume, provider, &snap, err);
	if (r < 0)
		return r;
	reply = dbus_message_new_method_return(m);
	if (!reply || !dbus_message_append_args(reply, DBUS_TYPE_OBJECT_PATH,
	                                        &(const char *){ snap->path }, DBUS_TYPE_INVALID))
		return -ENOMEM;
	return bus_send(b, reply);
}

static int method_gather_metadata(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	/* replies when every writer answered Identify */
	r = snapset_gather(s, snapset_dbus_reply_metadata, dbus_message_ref(m), err);
	if (r < 0)
		dbus_message_unref(m);
	return r;
}

/* SetComponents(aa{sv}): each entry instance-id s (an involved writer) and name s (one of its
 * components). Replaces an earlier selection; PrepareForBackup then tells each writer which of
 * its components were selected. */
static int read_components(Snapset *s, DBusMessage *m, VssErr *err)
{
	_cleanup_strv_free_ char **sel = NULL;
	DBusMessageIter it, arr;
	size_t n = 0, count;
	int r;

	if (!dbus_message_iter_init(m, &it) ||
	    dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_ARRAY ||
	    dbus_message_iter_get_element_type(&it) != DBUS_TYPE_ARRAY)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "components must be an array of dictionaries aa{sv}");
	/* counted before anything is read, then the selection is built in one allocation */
	count = bus_array_count(&it);
	if (count > s->n_involved * (size_t)VSSD_COMPONENTS_PER_WRITER_MAX)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -E2BIG,
		                   "%zu components given, more than the involved writers have",
		                   count);
	sel = calloc(2 * count + 1, sizeof(char *));
	if (!sel)
		return -ENOMEM;
	dbus_message_iter_recurse(&it, &arr);
	for (; n < count && dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_ARRAY;
	     dbus_message_iter_next(&arr)) {
		const char *id = NULL, *name = NULL;
		bool has_id = false, has_name = false;
		const BusOption opts[] = {
			{ "instance-id", 's', &id, &has_id },
			{ "name", 's', &name, &has_name },
			{ NULL },
		};
		VssId wid;

		r = bus_read_options(&arr, opts, err);
		if (r < 0)
			return r;
		if (!has_id || !has_name)
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "each component needs instance-id and name");
		if (vssid_from_string(id, &wid) < 0)
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "instance-id \"%.64s\" is not a UUID",
			                   bus_safe_string(id));
		/* checked entry by entry, so that the first wrong one is the one reported */
		r = snapset_check_component(s, &wid, id, name, err);
		if (r < 0)
			return r;
		sel[2 * n] = strdup(id);
		if (!sel[2 * n])
			return -ENOMEM;
		sel[2 * n + 1] = strdup(name);
		if (!sel[2 * n + 1])
			return -ENOMEM;
		n++;
	}
	return snapset_set_components(s, sel, n, err);
}

static int method_set_components(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	if (s->state != SNAPSET_STATE_GATHERED)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "SetComponents comes after GatherWriterMetadata and before "
		                   "PrepareForBackup (the set is %s)",
		                   snapset_state_to_string(s->state));
	r = read_components(s, m, err);
	if (r < 0)
		return r;
	return bus_reply_empty(b, m);
}

static int method_prepare(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	if (s->call_done || s->bcast)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "another call on this set is still running");
	if (s->state != SNAPSET_STATE_GATHERED &&
	    !(s->state == SNAPSET_STATE_STARTED && !s->writers))
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "PrepareForBackup comes after GatherWriterMetadata (the set is "
		                   "%s)",
		                   snapset_state_to_string(s->state));
	/* replies when the writers answered */
	r = snapset_prepare(s, snapset_dbus_reply_empty, dbus_message_ref(m));
	if (r < 0)
		dbus_message_unref(m);
	return r;
}

static int method_do_snapshot_set(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	r = snapset_create(s, snapset_dbus_reply_empty, dbus_message_ref(m), err);
	if (r < 0)
		dbus_message_unref(m);
	return r;
}

static int method_gather_status(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	DBusMessage *reply;
	DBusMessageIter it;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	if (s->state == SNAPSET_STATE_CREATING || s->call_done)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "writer status is not available while a call on the set runs");
	reply = dbus_message_new_method_return(m);
	if (!reply)
		return -ENOMEM;
	dbus_message_iter_init_append(reply, &it);
	if (snapset_append_writer_list(s, &it, false) < 0) {
		dbus_message_unref(reply);
		return -ENOMEM;
	}
	return bus_send(b, reply);
}

static int method_backup_complete(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	dbus_bool_t success;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	if (!dbus_message_get_args(m, NULL, DBUS_TYPE_BOOLEAN, &success, DBUS_TYPE_INVALID))
		return -EINVAL;
	r = snapset_backup_complete(s, success, snapset_dbus_reply_empty, dbus_message_ref(m), err);
	if (r < 0)
		dbus_message_unref(m);
	return r;
}

/* SetBackupSucceeded(aa{sv}): each entry instance-id s, name s and succeeded b, all three;
 * checked entry by entry and applied only when every entry is right */
static int method_set_backup_succeeded(Bus *b, DBusMessage *m, void *u, const BusCaller *c,
                                       VssErr *err)
{
	Snapset *s = u;
	_cleanup_strv_free_ char **ids = NULL, **names = NULL;
	_cleanup_free_ bool *ok = NULL;
	DBusMessageIter it, arr;
	size_t n = 0, count;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	if (s->state != SNAPSET_STATE_CREATED)
		return vss_err_set(
			err, VSS_ERROR_BAD_STATE, -EBUSY,
			"SetBackupSucceeded comes after DoSnapshotSet succeeded and before "
			"BackupComplete (the set is %s)",
			snapset_state_to_string(s->state));
	if (!dbus_message_iter_init(m, &it) ||
	    dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_ARRAY ||
	    dbus_message_iter_get_element_type(&it) != DBUS_TYPE_ARRAY)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "results must be an array of dictionaries aa{sv}");
	count = bus_array_count(&it); /* before anything is read */
	if (count > s->n_involved * (size_t)VSSD_COMPONENTS_PER_WRITER_MAX)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -E2BIG,
		                   "%zu results given, more than the writers of the set have "
		                   "components",
		                   count);
	ids = calloc(count + 1, sizeof(char *));
	names = calloc(count + 1, sizeof(char *));
	ok = calloc(count + 1, sizeof(bool));
	if (!ids || !names || !ok)
		return -ENOMEM;
	dbus_message_iter_recurse(&it, &arr);
	for (; n < count && dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_ARRAY;
	     dbus_message_iter_next(&arr), n++) {
		const char *id = NULL, *name = NULL;
		bool has_id = false, has_name = false, has_ok = false;
		const BusOption opts[] = {
			{ "instance-id", 's', &id, &has_id },
			{ "name", 's', &name, &has_name },
			{ "succeeded", 'b', &ok[n], &has_ok },
			{ NULL },
		};

		r = bus_read_options(&arr, opts, err);
		if (r < 0)
			return r;
		if (!has_id || !has_name || !has_ok)
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "each result needs instance-id, name and succeeded");
		/* the first wrong entry is the one reported, before any is applied */
		r = snapset_set_backup_succeeded(s, id, name, ok[n], true, err);
		if (r < 0)
			return r;
		ids[n] = strdup(id);
		names[n] = strdup(name);
		if (!ids[n] || !names[n])
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		r = snapset_set_backup_succeeded(s, ids[i], names[i], ok[i], false, err);
		if (r < 0)
			return r;
	}
	log_set_info(s->id_str, "%zu component results set", n);
	return bus_reply_empty(b, m);
}

static int method_get_backup_document(Bus *b, DBusMessage *m, void *u, const BusCaller *c,
                                      VssErr *err)
{
	Snapset *s = u;
	_cleanup_free_ char *text = NULL;
	DBusMessage *reply;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	r = snapset_backup_document(s, &text, err);
	if (r < 0)
		return r;
	reply = dbus_message_new_method_return(m);
	if (!reply || !dbus_message_append_args(reply, DBUS_TYPE_STRING, &(const char *){ text },
	                                        DBUS_TYPE_INVALID)) {
		if (reply)
			dbus_message_unref(reply);
		return -ENOMEM;
	}
	return bus_send(b, reply);
}

static int method_abort(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	r = snapset_abort(s, err);
	if (r < 0)
		return r;
	return bus_reply_empty(b, m);
}

static int method_release(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	snapset_release(s); /* may free s; the reply comes once auto-release is done */
	return bus_reply_empty(b, m);
}

static int prop_id(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Snapset *)u)->id_str);
}

static int prop_context(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, snapset_context_to_string(((Snapset *)u)->context));
}

static int prop_attributes(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_u32(it, ((Snapset *)u)->attributes);
}

static int prop_backup_type(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Snapset *)u)->backup_type);
}

static int prop_state(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, snapset_state_to_string(((Snapset *)u)->state));
}

static int prop_creation_time(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_u64(it, ((Snapset *)u)->creation_time);
}

static int prop_owner(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, strempty(((Snapset *)u)->owner));
}

static int prop_description(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Snapset *)u)->description);
}

static int prop_snapshots(Bus *b, void *u, DBusMessageIter *it)
{
	Snapset *s = u;
	DBusMessageIter a;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "o", &a))
		return -ENOMEM;
	for (size_t i = 0; i < s->n_snaps; i++)
		if (bus_append_path(&a, s->snaps[i]->path) < 0)
			return -ENOMEM;
	return dbus_message_iter_close_container(it, &a) ? 0 : -ENOMEM;
}

static int prop_instant(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, snapset_instant(u));
}

static int prop_writer_status(Bus *b, void *u, DBusMessageIter *it)
{
	return snapset_append_writer_list(u, it, false);
}

static const BusMethod snapset_methods[] = {
	{ "AddVolume", "ss", method_add_volume, BUS_ACCESS_ADMIN },
	{ "GatherWriterMetadata", "", method_gather_metadata, BUS_ACCESS_ADMIN },
	{ "SetComponents", "aa{sv}", method_set_components, BUS_ACCESS_ADMIN },
	{ "PrepareForBackup", "", method_prepare, BUS_ACCESS_ADMIN },
	{ "DoSnapshotSet", "", method_do_snapshot_set, BUS_ACCESS_ADMIN },
	{ "GatherWriterStatus", "", method_gather_status, BUS_ACCESS_ADMIN },
	{ "SetBackupSucceeded", "aa{sv}", method_set_backup_succeeded, BUS_ACCESS_ADMIN },
	{ "BackupComplete", "b", method_backup_complete, BUS_ACCESS_ADMIN },
	{ "GetBackupDocument", "", method_get_backup_document, BUS_ACCESS_ADMIN },
	{ "Abort", "", method_abort, BUS_ACCESS_ADMIN },
	{ "Release", "", method_release, BUS_ACCESS_ADMIN },
	{ NULL },
};

static const BusProperty snapset_properties[] = {
	{ "Id", "s", prop_id },
	{ "Context", "s", prop_context },
	{ "Attributes", "u", prop_attributes },
	{ "BackupType", "s", prop_backup_type },
	{ "State", "s", prop_state },
	{ "CreationTime", "t", prop_creation_time },
	{ "Owner", "s", prop_owner },
	{ "Description", "s", prop_description },
	{ "Snapshots", "ao", prop_snapshots },
	{ "Instant", "s", prop_instant },
	{ "WriterStatus", "aa{sv}", prop_writer_status },
	{ NULL },
};

const BusInterface snapset_interface = {
	.name = VSSD_IFACE_SET,
	.methods = snapset_methods,
	.properties = snapset_properties,
};
