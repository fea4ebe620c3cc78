/* SPDX-License-Identifier: GPL-2.0-or-later */
/* restore-dbus.c - the D-Bus adapter of a restore session: Manager.StartRestore, the
 * RestoreSession methods and properties */
#include "daemon/restore-dbus.h"
#include "common/log.h"
#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/restore.h"
#include "daemon/writer-internal.h"
#include "daemon/writer.h"

static int check_owner(RestoreSession *s, const BusCaller *c, VssErr *err)
{
	if (!s->owner || !streq(s->owner, c->name))
		return vss_err_set(err, VSS_ERROR_ACCESS_DENIED, -EACCES,
		                   "restore session %s belongs to another requester; only its "
		                   "owner may drive it",
		                   s->id_str);
	return 0;
}

/* ---- lists ----------------------------------------------------------------------------------- */

static int add_doc_writer_keys(DBusMessageIter *dict, const RestoreWriter *rw)
{
	char cur[VSSID_STRING_MAX] = "";

	if (rw->present)
		vssid_to_string(&rw->current, cur);
	if (bus_dict_add_string(dict, "instance-id", rw->doc->instance_id) < 0 ||
	    bus_dict_add_string(dict, "class-id", rw->doc->class_id) < 0 ||
	    bus_dict_add_string(dict, "name", rw->doc->name) < 0 ||
	    bus_dict_add_string(dict, "instance-name", rw->doc->instance_name) < 0 ||
	    bus_dict_add_bool(dict, "present", rw->present) < 0 ||
	    bus_dict_add_string(dict, "current-instance-id", cur) < 0)
		return -ENOMEM;
	return 0;
}

/* GatherWriterMetadata: each writer of the document, its backed-up components, and when it runs
 * now its restore method and the rest of its writer-wide metadata */
static int append_metadata(RestoreSession *s, DBusMessageIter *it)
{
	DBusMessageIter arr, dict, e, v, comps, comp;
	int r = 0;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "a{sv}", &arr))
		return -ENOMEM;
	for (size_t i = 0; i < s->n_writers && r >= 0; i++) {
		const RestoreWriter *rw = &s->writers[i];
		Writer *w = rw->present ? writer_find(s->d, &rw->current) : NULL;

		if (bus_dict_open(&arr, &dict) < 0 || add_doc_writer_keys(&dict, rw) < 0 ||
		    (w && writer_dict_add_model(&dict, w) < 0) ||
		    busmsg_entry_open(&dict, "components", "aa{sv}", &e, &v) < 0)
			return -ENOMEM;
		r = dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &comps)
		            ? 0
		            : -ENOMEM;
		for (size_t c = 0; r >= 0 && c < rw->doc->n_components; c++) {
			const DocComponent *dc = &rw->doc->components[c];

			if (bus_dict_open(&comps, &comp) < 0 ||
			    bus_dict_add_string(&comp, "name", dc->name) < 0 ||
			    bus_dict_add_bool(&comp, "selected", dc->selected) < 0 ||
			    (dc->succeeded != DOC_RESULT_UNKNOWN &&
			     bus_dict_add_bool(&comp, "backup-succeeded",
			                       dc->succeeded == DOC_RESULT_SUCCEEDED) < 0) ||
			    (dc->backup_stamp &&
			     bus_dict_add_string(&comp, "backup-stamp", dc->backup_stamp) < 0) ||
			    (dc->backup_metadata && bus_dict_add_string(&comp, "backup-metadata",
			                                                dc->backup_metadata) < 0) ||
			    bus_dict_close(&comps, &comp) < 0)
				r = -ENOMEM;
		}
		if (r >= 0)
			r = dbus_message_iter_close_container(&v, &comps) ? 0 : -ENOMEM;
		r = busmsg_entry_close(&dict, &e, &v, r);
		if (r >= 0)
			r = bus_dict_close(&arr, &dict);
	}
	if (r < 0)
		return r;
	return dbus_message_iter_close_container(it, &arr) ? 0 : -ENOMEM;
}

/* GatherWriterStatus: each writer with a selected component, as it answered this session */
static int append_status(RestoreSession *s, DBusMessageIter *it)
{
	DBusMessageIter arr, dict, e, v, comps, comp;
	int r = 0;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "a{sv}", &arr))
		return -ENOMEM;
	for (size_t i = 0; i < s->n_writers && r >= 0; i++) {
		const RestoreWriter *rw = &s->writers[i];
		bool any = false;

		for (size_t c = 0; c < rw->doc->n_components; c++)
			any |= rw->components[c].selected;
		if (!any)
			continue;
		if (bus_dict_open(&arr, &dict) < 0 || add_doc_writer_keys(&dict, rw) < 0 ||
		    bus_dict_add_u32(&dict, "state", rw->state) < 0 ||
		    bus_dict_add_string(&dict, "state-name", writer_state_to_string(rw->state)) <
		            0 ||
		    bus_dict_add_string(&dict, "last-error", strempty(rw->last_error)) < 0 ||
		    bus_dict_add_string(&dict, "failure-message", strempty(rw->failure_message)) <
		            0 ||
		    busmsg_entry_open(&dict, "components", "aa{sv}", &e, &v) < 0)
			return -ENOMEM;
		r = dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &comps)
		            ? 0
		            : -ENOMEM;
		for (size_t c = 0; r >= 0 && c < rw->doc->n_components; c++) {
			const RestoreComponent *rc = &rw->components[c];

			if (!rc->selected)
				continue;
			if (bus_dict_open(&comps, &comp) < 0 ||
			    bus_dict_add_string(&comp, "name", rw->doc->components[c].name) < 0 ||
			    bus_dict_add_string(&comp, "restore-type", rc->restore_type) < 0 ||
			    bus_dict_add_string(&comp, "file-restore-status",
			                        restore_file_status_to_string(rc->file_status)) <
			            0 ||
			    bus_dict_add_bool(&comp, "failed", rc->failed) < 0 ||
			    bus_dict_close(&comps, &comp) < 0)
				r = -ENOMEM;
		}
		if (r >= 0)
			r = dbus_message_iter_close_container(&v, &comps) ? 0 : -ENOMEM;
		r = busmsg_entry_close(&dict, &e, &v, r);
		if (r >= 0)
			r = bus_dict_close(&arr, &dict);
	}
	if (r < 0)
		return r;
	return dbus_message_iter_close_container(it, &arr) ? 0 : -ENOMEM;
}

static int reply_with(Bus *b, DBusMessage *m, RestoreSession *s,
                      int (*append)(RestoreSession *s, DBusMessageIter *it))
{
	DBusMessage *reply = dbus_message_new_method_return(m);
	DBusMessageIter it;

	if (!reply)
		return -ENOMEM;
	dbus_message_iter_init_append(reply, &it);
	if (append(s, &it) < 0) {
		dbus_message_unref(reply);
		return -ENOMEM;
	}
	return bus_send(b, reply);
}

/* ---- methods --------------------------------------------------------------------------------- */

static int method_gather_metadata(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	RestoreSession *s = u;
	int r;

	if ((r = check_owner(s, c, err)) < 0 || (r = restore_gather(s, err)) < 0)
		return r;
	return reply_with(b, m, s, append_metadata);
}

/* One pass reads and checks every entry, a second applies them: a bad entry changes nothing */
typedef struct Entry {
	size_t wi, ci;
	const char *restore_options, *new_target, *restore_type, *status;
} Entry;

static int read_entries(RestoreSession *s, DBusMessage *m, bool file_status, Entry **ret,
                        size_t *ret_n, VssErr *err)
{
	_cleanup_free_ Entry *entries = NULL;
	DBusMessageIter it, arr;
	size_t count, n = 0, max = 0;
	int r;

	for (size_t i = 0; i < s->n_writers; i++)
		max += s->writers[i].doc->n_components;
	dbus_message_iter_init(m, &it);
	count = bus_array_count(&it);
	if (count > max)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -E2BIG,
		                   "%zu components given, the document has %zu", count, max);
	entries = calloc(count ? count : 1, sizeof(Entry));
	if (!entries)
		return -ENOMEM;
	dbus_message_iter_recurse(&it, &arr);
	for (; n < count && dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_ARRAY;
	     dbus_message_iter_next(&arr), n++) {
		Entry *e = &entries[n];
		const char *id = NULL, *name = NULL;
		bool has_id = false, has_name = false, has_status = false;
		const BusOption select_opts[] = {
			{ "instance-id", 's', &id, &has_id },
			{ "name", 's', &name, &has_name },
			{ "restore-options", 's', &e->restore_options },
			{ "new-target", 's', &e->new_target },
			{ "restore-type", 's', &e->restore_type },
			{ NULL },
		};
		const BusOption status_opts[] = {
			{ "instance-id", 's', &id, &has_id },
			{ "name", 's', &name, &has_name },
			{ "status", 's', &e->status, &has_status },
			{ NULL },
		};

		r = bus_read_options(&arr, file_status ? status_opts : select_opts, err);
		if (r < 0)
			return r;
		if (!has_id || !has_name || (file_status && !has_status))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "components[%zu]: each needs instance-id and name%s", n,
			                   file_status ? " and status" : "");
		r = restore_find_component(s, id, name, &e->wi, &e->ci, err);
		if (r < 0)
			return r;
		if (file_status) {
			if (restore_file_status_from_string(e->status) < 0)
				return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
				                   "components[%zu].status: \"%.32s\" is not none, "
				                   "all or failed",
				                   n, bus_safe_string(e->status));
			r = restore_file_status_check(s, e->wi, e->ci, err);
		} else
			r = restore_select_check(s, e->wi, e->ci, e->restore_options, e->new_target,
			                         e->restore_type, err);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(entries);
	*ret_n = n;
	return 0;
}

static int method_select(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	RestoreSession *s = u;
	_cleanup_free_ Entry *e = NULL;
	size_t n;
	int r;

	if ((r = check_owner(s, c, err)) < 0 ||
	    (r = restore_check_state(s, "SetSelectedForRestore", err)) < 0 ||
	    (r = read_entries(s, m, false, &e, &n, err)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		r = restore_select(s, e[i].wi, e[i].ci, e[i].restore_options, e[i].new_target,
		                   e[i].restore_type, err);
		if (r < 0)
			return r; /* only -ENOMEM: the checks passed */
	}
	return bus_reply_empty(b, m);
}

static int method_set_file_status(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	RestoreSession *s = u;
	_cleanup_free_ Entry *e = NULL;
	size_t n;
	int r;

	if ((r = check_owner(s, c, err)) < 0 ||
	    (r = restore_check_state(s, "SetFileRestoreStatus", err)) < 0 ||
	    (r = read_entries(s, m, true, &e, &n, err)) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		(void)restore_set_file_status(s, e[i].wi, e[i].ci,
		                              restore_file_status_from_string(e[i].status), err);
	return bus_reply_empty(b, m);
}

static void on_event_done(RestoreSession *s, int r, const VssErr *err, void *userdata)
{
	DBusMessage *m = userdata;

	if (r < 0)
		(void)bus_reply_error(&s->d->bus, m, err, r);
	else
		(void)bus_reply_empty(&s->d->bus, m);
	dbus_message_unref(m);
}

static int method_pre_restore(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	RestoreSession *s = u;
	int r;

	if ((r = check_owner(s, c, err)) < 0)
		return r;
	/* replies when the writers answered */
	r = restore_pre_restore(s, on_event_done, dbus_message_ref(m), err);
	if (r < 0)
		dbus_message_unref(m);
	return r;
}

static int method_post_restore(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	RestoreSession *s = u;
	int r;

	if ((r = check_owner(s, c, err)) < 0)
		return r;
	r = restore_post_restore(s, on_event_done, dbus_message_ref(m), err);
	if (r < 0)
		dbus_message_unref(m);
	return r;
}

static int method_gather_status(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	RestoreSession *s = u;
	int r;

	if ((r = check_owner(s, c, err)) < 0 ||
	    (r = restore_check_state(s, "GatherWriterStatus", err)) < 0)
		return r;
	return reply_with(b, m, s, append_status);
}

static int method_release(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	RestoreSession *s = u;
	int r;

	if ((r = check_owner(s, c, err)) < 0 || (r = restore_release(s, err)) < 0)
		return r;
	return bus_reply_empty(b, m);
}

static int prop_id(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((RestoreSession *)u)->id_str);
}

static int prop_state(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, restore_state_to_string(((RestoreSession *)u)->state));
}

static int prop_owner(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, strempty(((RestoreSession *)u)->owner));
}

static int prop_backup_set(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((RestoreSession *)u)->doc.set_id);
}

static int prop_backup_type(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((RestoreSession *)u)->doc.backup_type);
}

static const BusMethod restore_methods[] = {
	{ "GatherWriterMetadata", "", method_gather_metadata, BUS_ACCESS_ADMIN },
	{ "SetSelectedForRestore", "aa{sv}", method_select, BUS_ACCESS_ADMIN },
	{ "PreRestore", "", method_pre_restore, BUS_ACCESS_ADMIN },
	{ "SetFileRestoreStatus", "aa{sv}", method_set_file_status, BUS_ACCESS_ADMIN },
	{ "PostRestore", "", method_post_restore, BUS_ACCESS_ADMIN },
	{ "GatherWriterStatus", "", method_gather_status, BUS_ACCESS_ADMIN },
	{ "Release", "", method_release, BUS_ACCESS_ADMIN },
	{ NULL },
};

static const BusProperty restore_properties[] = {
	{ "Id", "s", prop_id },
	{ "State", "s", prop_state },
	{ "Owner", "s", prop_owner },
	{ "BackupSetId", "s", prop_backup_set },
	{ "BackupType", "s", prop_backup_type },
	{ NULL },
};

const BusInterface restore_interface = {
	.name = VSSD_IFACE_RESTORE,
	.methods = restore_methods,
	.properties = restore_properties,
};

static const BusInterface *const restore_ifaces[] = { &restore_interface, NULL };

/* Manager.StartRestore(s document, a{sv} options) -> o */
int restore_dbus_start(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	static const BusOption opts[] = { { NULL } }; /* none yet: any key is InvalidArgument */
	Daemon *d = u;
	_cleanup_(restore_freep) RestoreSession *s = NULL;
	const char *document;
	DBusMessageIter it;
	DBusMessage *reply;
	int r;

	dbus_message_iter_init(m, &it);
	if (busmsg_get_string(&it, &document) < 0)
		return -EINVAL;
	dbus_message_iter_next(&it);
	r = bus_read_options(&it, opts, err);
	if (r < 0)
		return r;
	r = restore_new(d, c->name, c->uid, document, &s, err);
	if (r < 0)
		return r;
	r = bus_add_object(b, s->path, restore_ifaces, s);
	if (r < 0)
		return r;
	s->exported = true;
	reply = dbus_message_new_method_return(m);
	if (!reply || !dbus_message_append_args(reply, DBUS_TYPE_OBJECT_PATH,
	                                        &(const char *){ s->path }, DBUS_TYPE_INVALID)) {
		if (reply)
			dbus_message_unref(reply);
		return -ENOMEM;
	}
	log_info("restore=%s: started by %s (uid %u) for backup set %s, %zu writers", s->id_str,
	         c->name, (unsigned)c->uid, s->doc.set_id, s->n_writers);
	TAKE_PTR(s);
	return bus_send(b, reply);
}
