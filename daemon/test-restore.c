/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-restore.c - restore sessions: StartRestore's document checks, the order of calls, the
 * selection by instance:name, writers found again, a veto failing one writer's components */
#include <json.h>

#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/document.h"
#include "daemon/restore-dbus.h"
#include "daemon/restore.h"
#include "daemon/writer.h"
#include "tests/lib/check-main.h"
#include "tests/lib/test-daemon.h"

#define CLASS   "00000000-0000-4000-8000-000000000001" /* test_writer()'s */
#define DB_ID   "11111111-1111-4111-8111-111111111111" /* instance ids at backup time */
#define WEB_ID  "22222222-2222-4222-8222-222222222222"
#define SET_ID  "33333333-3333-4333-8333-333333333333"
#define SNAP_ID "44444444-4444-4444-8444-444444444444"

static const char *kind(const VssErr *e)
{
	return vss_error_info(e->kind)->name;
}

/* A backup document: writer db (instance name "one": components data, logs, and spare which
 * was not backed up) and writer web (instance name "two": component site) */
static char *base_document(void)
{
	BackupDocument d = { 0 };
	DocSnapshot *s;
	DocWriter *w;
	DocComponent *c;
	char *text = NULL;

	d.set_id = strdup(SET_ID);
	d.context = strdup("backup");
	d.backup_type = strdup("full");
	d.creation_time = 1700000000000000ULL;
	s = document_add_snapshot(&d);
	s->id = strdup(SNAP_ID);
	s->volume = strdup("/dev/mapper/a");
	s->device = strdup("/dev/mapper/vssd-33333333-a");
	s->provider = strdup("dm-snapshot");
	w = document_add_writer(&d);
	w->instance_id = strdup(DB_ID);
	w->class_id = strdup(CLASS);
	w->name = strdup("db");
	w->instance_name = strdup("one");
	w->state = 1;
	c = document_writer_add_component(w);
	c->name = strdup("data");
	c->selected = true;
	c->backup_stamp = strdup("wal=42");
	c->succeeded = DOC_RESULT_SUCCEEDED;
	c = document_writer_add_component(w);
	c->name = strdup("logs");
	c->selected = true;
	c = document_writer_add_component(w);
	c->name = strdup("spare");
	c->selected = false;
	w = document_add_writer(&d);
	w->instance_id = strdup(WEB_ID);
	w->class_id = strdup(CLASS);
	w->name = strdup("web");
	w->instance_name = strdup("two");
	w->state = 1;
	c = document_writer_add_component(w);
	c->name = strdup("site");
	c->selected = true;
	ck_assert_int_eq(document_to_json(&d, &text), 0);
	document_done(&d);
	return text;
}

static int start_restore(TestDaemon *t, const char *owner, uid_t uid, const char *document,
                         const char *option, RestoreSession **ret, VssErr *err)
{
	DBusMessage *m =
		test_call_new(t, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER, "StartRestore", owner);
	BusCaller c = test_caller(owner ? owner : TEST_DAEMON_OWNER, uid);
	size_t n = t->d.n_restores;
	DBusMessageIter it, dict;
	int r;

	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(bus_append_string(&it, document), 0);
	ck_assert_int_eq(bus_dict_open(&it, &dict), 0);
	if (option)
		ck_assert_int_eq(bus_dict_add_string(&dict, option, "x"), 0);
	ck_assert_int_eq(bus_dict_close(&it, &dict), 0);
	r = test_daemon_call(t, &daemon_manager_interface, &t->d, m, &c, err);
	if (r >= 0) {
		ck_assert_uint_eq(t->d.n_restores, n + 1);
		ck_assert_ptr_nonnull(test_daemon_reply_to(t, m));
		if (ret)
			*ret = t->d.restores[n];
	} else
		ck_assert_uint_eq(t->d.n_restores, n);
	dbus_message_unref(m);
	return r;
}

static RestoreSession *session(TestDaemon *t)
{
	_cleanup_free_ char *doc = base_document();
	RestoreSession *s = NULL;
	VssErr err = { 0 };

	ck_assert_int_eq(start_restore(t, NULL, 0, doc, NULL, &s, &err), 0);
	return s;
}

/* A component entry for SetSelectedForRestore / SetFileRestoreStatus: instance id, name, then
 * pairs of key and value, NULL-terminated */
static void entry(DBusMessageIter *arr, const char *id, const char *name, ...)
{
	DBusMessageIter dict;
	const char *key;
	va_list ap;

	ck_assert_int_eq(bus_dict_open(arr, &dict), 0);
	ck_assert_int_eq(bus_dict_add_string(&dict, "instance-id", id), 0);
	ck_assert_int_eq(bus_dict_add_string(&dict, "name", name), 0);
	va_start(ap, name);
	while ((key = va_arg(ap, const char *)))
		ck_assert_int_eq(bus_dict_add_string(&dict, key, va_arg(ap, const char *)), 0);
	va_end(ap);
	ck_assert_int_eq(bus_dict_close(arr, &dict), 0);
}

/* Calls member on s as owner (NULL: the session's); entries: "id/name" strings for the two
 * aa{sv} methods, with status (SetFileRestoreStatus) or restore_type (SetSelectedForRestore)
 * when not NULL */
static int call(TestDaemon *t, RestoreSession *s, const char *owner, const char *member,
                const char *const *entries, const char *extra, VssErr *err)
{
	DBusMessage *m = test_call_new(t, s->path, VSSD_IFACE_RESTORE, member, owner);
	BusCaller c = test_caller(owner ? owner : TEST_DAEMON_OWNER, 0);
	bool status = streq(member, "SetFileRestoreStatus");
	DBusMessageIter it, arr;
	int r;

	if (status || streq(member, "SetSelectedForRestore")) {
		dbus_message_iter_init_append(m, &it);
		ck_assert(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "a{sv}", &arr));
		for (const char *const *e = entries; e && *e; e++) {
			char id[64];
			const char *slash = strchr(*e, '/');

			ck_assert_ptr_nonnull(slash);
			snprintf(id, sizeof(id), "%.*s", (int)(slash - *e), *e);
			if (extra)
				entry(&arr, id, slash + 1, status ? "status" : "restore-type",
				      extra, NULL);
			else
				entry(&arr, id, slash + 1, NULL);
		}
		ck_assert(dbus_message_iter_close_container(&it, &arr));
	}
	*err = (VssErr){ 0 };
	r = test_daemon_call(t, &restore_interface, s, m, &c, err);
	dbus_message_unref(m);
	return r;
}

/* ---- StartRestore ---------------------------------------------------------------------------- */

START_TEST(start_makes_an_owned_session_on_the_bus)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	RestoreSession *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = session(t);
	ck_assert_str_eq(s->owner, TEST_DAEMON_OWNER);
	ck_assert_int_eq(s->state, RESTORE_STATE_INITIALIZED);
	ck_assert(s->exported);
	ck_assert(startswith(s->path, "/org/vssd/ShadowCopy1/restore/"));
	ck_assert_uint_eq(strlen(s->path), strlen("/org/vssd/ShadowCopy1/restore/") + 32);
	ck_assert_ptr_eq(restore_find(&t->d, &s->id), s);
	ck_assert_str_eq(s->doc.set_id, SET_ID);
	ck_assert_uint_eq(s->n_writers, 2);
}
END_TEST

/* Every field of the document, taken away and given the wrong type: InvalidArgument naming it */
typedef struct Mutation {
	const char *where; /* "", "snapshots[0]", "writers[0]", "writers[0].components[0]" */
	const char *key;
	bool integer; /* a number field: a string is the wrong type; else a number is */
} Mutation;

static json_object *object_at(json_object *root, const char *where)
{
	json_object *o = root, *a;

	if (!where[0])
		return o;
	if (startswith(where, "snapshots[0]")) {
		json_object_object_get_ex(o, "snapshots", &a);
		return json_object_array_get_idx(a, 0);
	}
	json_object_object_get_ex(o, "writers", &a);
	o = json_object_array_get_idx(a, 0);
	if (!strstr(where, "components"))
		return o;
	json_object_object_get_ex(o, "components", &a);
	return json_object_array_get_idx(a, 0);
}

static void assert_refused(TestDaemon *t, json_object *root, const char *what)
{
	const char *text = json_object_to_json_string(root);
	VssErr err = { 0 };

	ck_assert_int_eq(start_restore(t, NULL, 0, text, NULL, NULL, &err), -EINVAL);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	if (!strstr(err.message, what))
		ck_abort_msg("want \"%s\" in \"%s\"", what, err.message);
}

START_TEST(start_refuses_every_bad_field_by_name)
{
	static const Mutation fields[] = {
		{ "", "format" },
		{ "", "set-id" },
		{ "", "context" },
		{ "", "backup-type" },
		{ "", "creation-time", true },
		{ "", "snapshots" },
		{ "", "writers" },
		{ "snapshots[0]", "id" },
		{ "snapshots[0]", "volume" },
		{ "snapshots[0]", "device" },
		{ "snapshots[0]", "provider" },
		{ "writers[0]", "instance-id" },
		{ "writers[0]", "class-id" },
		{ "writers[0]", "name" },
		{ "writers[0]", "instance-name" },
		{ "writers[0]", "state", true },
		{ "writers[0]", "last-error" },
		{ "writers[0]", "failure-message" },
		{ "writers[0]", "components" },
		{ "writers[0].components[0]", "name" },
		{ "writers[0].components[0]", "selected" },
	};
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	_cleanup_free_ char *doc = base_document();

	ck_assert_int_eq(test_daemon_new(&t), 0);
	for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
		const Mutation *f = &fields[i];
		char what[128];

		snprintf(what, sizeof(what), "%s%s%s", f->where, f->where[0] ? "." : "", f->key);
		for (int wrong = 0; wrong < 2; wrong++) {
			json_object *root = json_tokener_parse(doc);

			ck_assert_ptr_nonnull(root);
			if (wrong)
				json_object_object_add(object_at(root, f->where), f->key,
				                       f->integer ? json_object_new_string("7")
				                                  : json_object_new_int(7));
			else
				json_object_object_del(object_at(root, f->where), f->key);
			assert_refused(t, root, what);
			json_object_put(root);
		}
	}
	/* bad values: ids, enums, numbers; an unknown key; a foreign format; not JSON */
	{
		static const struct {
			const char *where, *key, *value;
			int64_t number;
		} values[] = {
			{ "", "format", "vssd-writer-metadata/1" },
			{ "", "set-id", "not-a-uuid" },
			{ "", "context", "sometimes" },
			{ "", "backup-type", "partial" },
			{ "", "creation-time", NULL, -1 },
			{ "snapshots[0]", "id", "x" },
			{ "writers[0]", "instance-id", "x" },
			{ "writers[0]", "class-id", "x" },
			{ "writers[0]", "name", "" },
			{ "writers[0]", "state", NULL, 16 },
			{ "writers[0]", "bogus", "1" },
			{ "writers[0].components[0]", "name", "a\nb" },
			{ "writers[0].components[0]", "bogus", "1" },
		};

		for (size_t i = 0; i < ELEMENTSOF(values); i++) {
			json_object *root = json_tokener_parse(doc);
			char what[128];

			snprintf(what, sizeof(what), "%s%s%s", values[i].where,
			         values[i].where[0] ? "." : "",
			         streq(values[i].key, "bogus") ? "" : values[i].key);
			json_object_object_add(object_at(root, values[i].where), values[i].key,
			                       values[i].value
			                               ? json_object_new_string(values[i].value)
			                               : json_object_new_int64(values[i].number));
			assert_refused(t, root, streq(values[i].key, "bogus") ? "bogus" : what);
			json_object_put(root);
		}
	}
	{
		VssErr err = { 0 };

		ck_assert_int_eq(start_restore(t, NULL, 0, "{ nope", NULL, NULL, &err), -EINVAL);
		ck_assert_str_eq(kind(&err), "InvalidArgument");
		ck_assert_ptr_nonnull(strstr(err.message, "not valid JSON"));
		err = (VssErr){ 0 };
		ck_assert_int_eq(start_restore(t, NULL, 0, "[]", NULL, NULL, &err), -EINVAL);
		err = (VssErr){ 0 };
		ck_assert_int_eq(start_restore(t, NULL, 0, doc, "bogus", NULL, &err), -EINVAL);
		ck_assert_str_eq(kind(&err), "InvalidArgument");
	}
	ck_assert_uint_eq(t->d.n_restores, 0);
}
END_TEST

START_TEST(start_limits_sessions_per_uid)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	_cleanup_free_ char *doc = base_document();
	VssErr err = { 0 };

	ck_assert_int_eq(test_daemon_new(&t), 0);
	for (unsigned i = 0; i < VSSD_RESTORES_PER_UID_MAX; i++)
		ck_assert_int_eq(start_restore(t, ":1.77", 1000, doc, NULL, NULL, &err), 0);
	ck_assert_int_eq(start_restore(t, ":1.77", 1000, doc, NULL, NULL, &err), -EACCES);
	ck_assert_str_eq(kind(&err), "AccessDenied");
	/* another uid is not counted with it */
	err = (VssErr){ 0 };
	ck_assert_int_eq(start_restore(t, ":1.78", 1001, doc, NULL, NULL, &err), 0);
	/* the owner leaves: its sessions go, the others stay */
	restores_peer_gone(&t->d, ":1.77");
	ck_assert_uint_eq(t->d.n_restores, 1);
	ck_assert_str_eq(t->d.restores[0]->owner, ":1.78");
}
END_TEST

/* ---- order and owner ------------------------------------------------------------------------- */

START_TEST(calls_out_of_order_are_bad_state)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	const char *data[] = { DB_ID "/data", NULL };
	RestoreSession *s;
	VssErr err;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = session(t);
	/* initialized: only GatherWriterMetadata and Release */
	ck_assert_int_eq(call(t, s, NULL, "SetSelectedForRestore", data, NULL, &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	ck_assert_ptr_nonnull(strstr(err.message, "SetSelectedForRestore is out of order"));
	ck_assert_int_eq(call(t, s, NULL, "PreRestore", NULL, NULL, &err), -EBUSY);
	ck_assert_int_eq(call(t, s, NULL, "SetFileRestoreStatus", data, "all", &err), -EBUSY);
	ck_assert_int_eq(call(t, s, NULL, "PostRestore", NULL, NULL, &err), -EBUSY);
	ck_assert_int_eq(call(t, s, NULL, "GatherWriterStatus", NULL, NULL, &err), -EBUSY);
	ck_assert_int_eq(call(t, s, NULL, "GatherWriterMetadata", NULL, NULL, &err), 0);
	ck_assert_int_eq(s->state, RESTORE_STATE_GATHERED);
	ck_assert_int_eq(call(t, s, NULL, "GatherWriterMetadata", NULL, NULL, &err), 0);
	/* gathered: select, then PreRestore */
	ck_assert_int_eq(call(t, s, NULL, "SetFileRestoreStatus", data, "all", &err), -EBUSY);
	ck_assert_int_eq(call(t, s, NULL, "PostRestore", NULL, NULL, &err), -EBUSY);
	ck_assert_int_eq(call(t, s, NULL, "SetSelectedForRestore", data, NULL, &err), 0);
	ck_assert_int_eq(call(t, s, NULL, "PreRestore", NULL, NULL, &err), 0);
	ck_assert_int_eq(s->state, RESTORE_STATE_PRE_RESTORED); /* no writer runs: at once */
	/* pre-restored: file status, writer status, then PostRestore */
	ck_assert_int_eq(call(t, s, NULL, "PreRestore", NULL, NULL, &err), -EBUSY);
	ck_assert_int_eq(call(t, s, NULL, "SetSelectedForRestore", data, NULL, &err), -EBUSY);
	ck_assert_int_eq(call(t, s, NULL, "GatherWriterMetadata", NULL, NULL, &err), -EBUSY);
	ck_assert_int_eq(call(t, s, NULL, "GatherWriterStatus", NULL, NULL, &err), 0);
	ck_assert_int_eq(call(t, s, NULL, "SetFileRestoreStatus", data, "all", &err), 0);
	ck_assert_int_eq(s->writers[0].components[0].file_status, RESTORE_FILE_STATUS_ALL);
	ck_assert_int_eq(call(t, s, NULL, "PostRestore", NULL, NULL, &err), 0);
	ck_assert_int_eq(s->state, RESTORE_STATE_POST_RESTORED);
	ck_assert_int_eq(call(t, s, NULL, "PostRestore", NULL, NULL, &err), -EBUSY);
	ck_assert_int_eq(call(t, s, NULL, "SetFileRestoreStatus", data, "none", &err), -EBUSY);
	ck_assert_int_eq(call(t, s, NULL, "GatherWriterStatus", NULL, NULL, &err), 0);
	ck_assert_int_eq(call(t, s, NULL, "Release", NULL, NULL, &err), 0);
	ck_assert_uint_eq(t->d.n_restores, 0);
}
END_TEST

START_TEST(release_waits_for_writers_and_only_the_owner_drives)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	RestoreSession *s;
	VssErr err;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = session(t);
	for (const char *const *m =
	             (const char *const[]){ "GatherWriterMetadata", "PreRestore", "PostRestore",
	                                    "GatherWriterStatus", "Release", NULL };
	     *m; m++) {
		ck_assert_int_eq(call(t, s, ":1.99", *m, NULL, NULL, &err), -EACCES);
		ck_assert_str_eq(kind(&err), "AccessDenied");
	}
	s->state = RESTORE_STATE_PRE_RESTORING; /* as while writers are called */
	ck_assert_int_eq(call(t, s, NULL, "Release", NULL, NULL, &err), -EBUSY);
	s->state = RESTORE_STATE_GATHERED;
	ck_assert_int_eq(call(t, s, NULL, "Release", NULL, NULL, &err), 0);
	ck_assert_uint_eq(t->d.n_restores, 0);
}
END_TEST

/* ---- selection ------------------------------------------------------------------------------- */

START_TEST(selection_is_by_instance_id_and_name_and_all_or_nothing)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	RestoreSession *s;
	VssErr err;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = session(t);
	ck_assert_int_eq(call(t, s, NULL, "GatherWriterMetadata", NULL, NULL, &err), 0);
	/* a writer the document does not have; a component its writer does not have */
	ck_assert_int_eq(call(t, s, NULL, "SetSelectedForRestore",
	                      (const char *[]){ SNAP_ID "/data", NULL }, NULL, &err),
	                 -EINVAL);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	ck_assert_ptr_nonnull(strstr(err.message, "no writer of instance-id " SNAP_ID));
	ck_assert_int_eq(call(t, s, NULL, "SetSelectedForRestore",
	                      (const char *[]){ WEB_ID "/data", NULL }, NULL, &err),
	                 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.message, "no component \"data\""));
	ck_assert_int_eq(call(t, s, NULL, "SetSelectedForRestore",
	                      (const char *[]){ "nope/data", NULL }, NULL, &err),
	                 -EINVAL);
	/* the first is fine, the second was not backed up: neither is selected */
	ck_assert_int_eq(call(t, s, NULL, "SetSelectedForRestore",
	                      (const char *[]){ DB_ID "/data", DB_ID "/spare", NULL }, NULL, &err),
	                 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.message, "was not part of this backup"));
	ck_assert(!s->writers[0].components[0].selected);
	/* restore-type and new-target are checked */
	ck_assert_int_eq(call(t, s, NULL, "SetSelectedForRestore",
	                      (const char *[]){ DB_ID "/data", NULL }, "sideways", &err),
	                 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.message, "restore-type"));
	{
		DBusMessage *m = test_call_new(t, s->path, VSSD_IFACE_RESTORE,
		                               "SetSelectedForRestore", NULL);
		BusCaller c = test_caller(TEST_DAEMON_OWNER, 0);
		DBusMessageIter it, arr;

		dbus_message_iter_init_append(m, &it);
		ck_assert(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "a{sv}", &arr));
		entry(&arr, DB_ID, "data", "new-target", "relative/dir", NULL);
		ck_assert(dbus_message_iter_close_container(&it, &arr));
		err = (VssErr){ 0 };
		ck_assert_int_eq(test_daemon_call(t, &restore_interface, s, m, &c, &err), -EINVAL);
		ck_assert_ptr_nonnull(strstr(err.message, "new-target"));
		dbus_message_unref(m);
	}
	/* by instance id (either case) and name, with the type given */
	ck_assert_int_eq(call(t, s, NULL, "SetSelectedForRestore",
	                      (const char *[]){ DB_ID "/data", WEB_ID "/site", NULL }, "import",
	                      &err),
	                 0);
	ck_assert(s->writers[0].components[0].selected);
	ck_assert(!s->writers[0].components[1].selected);
	ck_assert(s->writers[1].components[0].selected);
	ck_assert_str_eq(s->writers[0].components[0].restore_type, "import");
	ck_assert_int_eq(call(t, s, NULL, "SetSelectedForRestore",
	                      (const char *[]){ "11111111-1111-4111-8111-111111111111/logs", NULL },
	                      NULL, &err),
	                 0);
	ck_assert_str_eq(s->writers[0].components[1].restore_type, "by-copy");
	/* file status: only selected components, only the three values */
	ck_assert_int_eq(call(t, s, NULL, "PreRestore", NULL, NULL, &err), 0);
	ck_assert_int_eq(call(t, s, NULL, "SetFileRestoreStatus",
	                      (const char *[]){ DB_ID "/spare", NULL }, "all", &err),
	                 -EINVAL);
	ck_assert_int_eq(call(t, s, NULL, "SetFileRestoreStatus",
	                      (const char *[]){ DB_ID "/data", NULL }, "undefined", &err),
	                 -EINVAL);
	ck_assert_int_eq(call(t, s, NULL, "SetFileRestoreStatus",
	                      (const char *[]){ DB_ID "/data", WEB_ID "/site", NULL }, "failed",
	                      &err),
	                 0);
	ck_assert_int_eq(s->writers[1].components[0].file_status, RESTORE_FILE_STATUS_FAILED);
}
END_TEST

/* ---- writers --------------------------------------------------------------------------------- */

static Writer *named_writer(TestDaemon *t, const char *name, const char *owner,
                            const char *instance_name, const char *const *components)
{
	Writer *w = test_writer_with_components(t, name, owner, components);

	free(w->instance_name);
	w->instance_name = strdup(instance_name);
	return w;
}

/* The writer's answer to a restore event */
static int answer(Writer *w, WriterEvent ev, const char *error)
{
	DBusMessage *call = dbus_message_new_method_call(":1.50", "/w/x", VSSD_IFACE_WRITER,
	                                                 writer_event_to_string(ev));
	DBusMessage *reply;
	VssErr err = { 0 };
	int r;

	dbus_message_set_serial(call, 7);
	reply = error ? dbus_message_new_error(call, error, "no, thanks")
	              : dbus_message_new_method_return(call);
	r = writer_apply_reply(w, ev, SET_ID, reply, &err);
	dbus_message_unref(reply);
	dbus_message_unref(call);
	return r;
}

START_TEST(writer_answers_to_restore_events)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Writer *w;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	w = test_writer(t, "db", NULL);
	ck_assert_str_eq(writer_event_to_string(WRITER_EVENT_PRE_RESTORE), "PreRestore");
	ck_assert_str_eq(writer_event_to_string(WRITER_EVENT_POST_RESTORE), "PostRestore");
	ck_assert_int_eq(answer(w, WRITER_EVENT_PRE_RESTORE,
	                        "org.vssd.ShadowCopy1.Writer.Error.NonRetryable"),
	                 -ECANCELED);
	ck_assert_int_eq(w->state, WRITER_STATE_FAILED_AT_PRE_RESTORE);
	ck_assert_str_eq(w->last_error, "VSS_E_WRITERERROR_NONRETRYABLE");
	/* no restore handlers: nothing to do, not a failure */
	ck_assert_int_eq(answer(w, WRITER_EVENT_PRE_RESTORE, DBUS_ERROR_UNKNOWN_METHOD), 0);
	ck_assert_int_eq(w->state, WRITER_STATE_STABLE);
	ck_assert_str_eq(w->last_error, "");
	ck_assert_int_eq(answer(w, WRITER_EVENT_POST_RESTORE, DBUS_ERROR_NO_REPLY), -ECANCELED);
	ck_assert_int_eq(w->state, WRITER_STATE_FAILED_AT_POST_RESTORE);
	ck_assert_int_eq(answer(w, WRITER_EVENT_PRE_RESTORE, NULL), 0);
	ck_assert_int_eq(w->state, WRITER_STATE_STABLE);
}
END_TEST

START_TEST(writers_are_found_again_by_class_and_instance_name)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Writer *other, *db;
	RestoreSession *s;
	VssErr err;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	other = named_writer(t, "db", ":1.50", "three", (const char *[]){ "data", NULL });
	db = named_writer(t, "db", ":1.51", "one", (const char *[]){ "data", NULL });
	s = session(t);
	ck_assert_int_eq(call(t, s, NULL, "GatherWriterMetadata", NULL, NULL, &err), 0);
	ck_assert(s->writers[0].present);
	ck_assert(vssid_equal(&s->writers[0].current, &db->instance_id));
	ck_assert(!vssid_equal(&s->writers[0].current, &other->instance_id));
	ck_assert(!s->writers[1].present); /* "two" runs nowhere */
}
END_TEST

START_TEST(a_veto_fails_only_that_writers_components)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Writer *db, *web;
	RestoreSession *s;
	VssErr err;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	db = named_writer(t, "db", ":1.50", "one", (const char *[]){ "data", "logs", NULL });
	web = named_writer(t, "web", ":1.51", "two", (const char *[]){ "site", NULL });
	s = session(t);
	ck_assert_int_eq(call(t, s, NULL, "GatherWriterMetadata", NULL, NULL, &err), 0);
	ck_assert_int_eq(
		call(t, s, NULL, "SetSelectedForRestore",
	             (const char *[]){ DB_ID "/data", DB_ID "/logs", WEB_ID "/site", NULL }, NULL,
	             &err),
		0);
	/* A unit test has no bus: db's veto is its answer before the broadcast, which then
	 * reaches nobody; the session reads each writer's answer when the broadcast ends. */
	ck_assert_int_eq(
		answer(db, WRITER_EVENT_PRE_RESTORE, "org.vssd.ShadowCopy1.Writer.Error.Retryable"),
		-ECANCELED);
	ck_assert_int_eq(call(t, s, NULL, "PreRestore", NULL, NULL, &err), 0);
	ck_assert(s->writers[0].called && s->writers[1].called);
	ck_assert_int_eq(s->writers[0].state, WRITER_STATE_FAILED_AT_PRE_RESTORE);
	ck_assert_str_eq(s->writers[0].last_error, "VSS_E_WRITERERROR_RETRYABLE");
	ck_assert_str_eq(s->writers[0].failure_message, "no, thanks");
	ck_assert(s->writers[0].components[0].failed && s->writers[0].components[1].failed);
	ck_assert(!s->writers[0].components[2].failed);
	ck_assert_int_eq(s->writers[1].state, WRITER_STATE_STABLE);
	ck_assert(!s->writers[1].components[0].failed);
	/* PostRestore: web fails there; db is not called again and stays at 13 */
	ck_assert_int_eq(call(t, s, NULL, "SetFileRestoreStatus",
	                      (const char *[]){ WEB_ID "/site", NULL }, "all", &err),
	                 0);
	ck_assert_int_eq(answer(web, WRITER_EVENT_POST_RESTORE,
	                        "org.vssd.ShadowCopy1.Writer.Error.NonRetryable"),
	                 -ECANCELED);
	ck_assert_int_eq(answer(db, WRITER_EVENT_PRE_RESTORE, NULL), 0); /* db is fine now */
	ck_assert_int_eq(call(t, s, NULL, "PostRestore", NULL, NULL, &err), 0);
	ck_assert_int_eq(s->writers[0].state, WRITER_STATE_FAILED_AT_PRE_RESTORE);
	ck_assert_int_eq(s->writers[1].state, WRITER_STATE_FAILED_AT_POST_RESTORE);
	ck_assert(s->writers[1].components[0].failed);
	ck_assert_int_eq(call(t, s, NULL, "GatherWriterStatus", NULL, NULL, &err), 0);
}
END_TEST

START_TEST(writers_get_their_own_components_and_the_file_status)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Writer *db;
	RestoreSession *s;
	DBusMessage *m;
	DBusMessageIter it, d, v, arr, comp, cv;
	const char *key, *str;
	char *names[4] = { 0 };
	size_t n = 0;
	bool stamp = false, status = false;
	VssErr err;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	db = named_writer(t, "db", ":1.50", "one", (const char *[]){ "data", "logs", NULL });
	s = session(t);
	ck_assert_int_eq(call(t, s, NULL, "GatherWriterMetadata", NULL, NULL, &err), 0);
	ck_assert_int_eq(call(t, s, NULL, "SetSelectedForRestore",
	                      (const char *[]){ DB_ID "/data", WEB_ID "/site", NULL }, NULL, &err),
	                 0);
	ck_assert_int_eq(call(t, s, NULL, "PreRestore", NULL, NULL, &err), 0);
	ck_assert_int_eq(call(t, s, NULL, "SetFileRestoreStatus",
	                      (const char *[]){ DB_ID "/data", NULL }, "all", &err),
	                 0);
	s->state = RESTORE_STATE_POST_RESTORING; /* what PostRestore's broadcast appends */
	m = dbus_message_new_method_call(":1.50", "/w/db", VSSD_IFACE_WRITER, "PostRestore");
	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(restore_append_writer_info(db, &it, s), 0);
	s->state = RESTORE_STATE_PRE_RESTORED;
	ck_assert(dbus_message_has_signature(m, "a{sv}"));
	dbus_message_iter_init(m, &it);
	dbus_message_iter_recurse(&it, &d);
	while (busmsg_dict_next(&d, &key, &v) > 0) {
		if (streq(key, "backup-instance-id")) {
			dbus_message_iter_get_basic(&v, &str);
			ck_assert_str_eq(str, DB_ID);
		}
		if (!streq(key, "components"))
			continue;
		dbus_message_iter_recurse(&v, &arr);
		for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_ARRAY;
		     dbus_message_iter_next(&arr)) {
			dbus_message_iter_recurse(&arr, &comp);
			while (busmsg_dict_next(&comp, &key, &cv) > 0) {
				if (dbus_message_iter_get_arg_type(&cv) != DBUS_TYPE_STRING)
					continue;
				dbus_message_iter_get_basic(&cv, &str);
				if (streq(key, "name") && n < 3)
					names[n++] = (char *)str;
				stamp |= streq(key, "backup-stamp") && streq(str, "wal=42");
				status |= streq(key, "file-restore-status") && streq(str, "all");
			}
		}
	}
	/* db's selected component only: not logs (not selected), not web's site */
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(names[0], "data");
	ck_assert(stamp && status);
	dbus_message_unref(m);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("restore",
	TEST(start_makes_an_owned_session_on_the_bus)
	TEST(start_refuses_every_bad_field_by_name)
	TEST(start_limits_sessions_per_uid)
	TEST(calls_out_of_order_are_bad_state)
	TEST(release_waits_for_writers_and_only_the_owner_drives)
	TEST(selection_is_by_instance_id_and_name_and_all_or_nothing)
	TEST(writer_answers_to_restore_events)
	TEST(writers_are_found_again_by_class_and_instance_name)
	TEST(a_veto_fails_only_that_writers_components)
	TEST(writers_get_their_own_components_and_the_file_status))
/* clang-format on */
