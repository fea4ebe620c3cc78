/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-setopts.c - StartSnapshotSet options that choose the writers and what their failures do */
#include <ctype.h>

#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/document.h"
#include "daemon/snapset-internal.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "daemon/state.h"
#include "daemon/writer.h"
#include "tests/lib/check-main.h"
#include "tests/lib/test-daemon.h"

#define CLASS_A "00000000-0000-4000-8000-00000000000a"
#define CLASS_B "00000000-0000-4000-8000-00000000000b"

static const char *kind(const VssErr *e)
{
	return vss_error_info(e->kind)->name;
}

static uid_t start_uid; /* the caller of start_with() */

/* StartSnapshotSet with these options: pairs of key and value, a value starting with '[' is
 * a string array of the comma-separated words after it; NULL-terminated */
static int start_with(TestDaemon *t, Snapset **ret, VssErr *err, ...)
{
	DBusMessage *m =
		test_call_new(t, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER, "StartSnapshotSet", NULL);
	BusCaller c = test_caller(TEST_DAEMON_OWNER, start_uid);
	DBusMessageIter it, dict;
	size_t n = t->d.n_sets;
	const char *key;
	va_list ap;
	int r;

	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(bus_dict_open(&it, &dict), 0);
	va_start(ap, err);
	while ((key = va_arg(ap, const char *))) {
		const char *value = va_arg(ap, const char *);

		if (value[0] == '[') {
			char *l[8] = { NULL }, buf[512];
			size_t k = 0;

			snprintf(buf, sizeof(buf), "%s", value + 1);
			for (char *w = strtok(buf, ","); w && k < 7; w = strtok(NULL, ","))
				l[k++] = w;
			ck_assert_int_eq(bus_dict_add_strv(&dict, key, l), 0);
		} else
			ck_assert_int_eq(bus_dict_add_string(&dict, key, value), 0);
	}
	va_end(ap);
	ck_assert_int_eq(bus_dict_close(&it, &dict), 0);
	r = test_daemon_call(t, &daemon_manager_interface, &t->d, m, &c, err);
	dbus_message_unref(m);
	if (r >= 0) {
		ck_assert_uint_eq(t->d.n_sets, n + 1);
		*ret = t->d.sets[n];
	}
	return r;
}

static Writer *writer_of_class(TestDaemon *t, const char *name, const char *class_id)
{
	Writer *w = test_writer(t, name, NULL);

	strcpy(w->class_id, class_id);
	return w;
}

static bool involved(const Snapset *s, const Writer *w)
{
	for (size_t i = 0; i < s->n_involved; i++)
		if (vssid_equal(&s->involved[i], &w->instance_id))
			return true;
	return false;
}

START_TEST(client_accessible_writers_is_persistent_with_writers)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	SnapsetContext c = snapset_context_from_string("client-accessible-writers");
	Snapset *s;

	ck_assert_int_eq(c, SNAPSET_CONTEXT_CLIENT_ACCESSIBLE_WRITERS);
	ck_assert_str_eq(snapset_context_to_string(c), "client-accessible-writers");
	/* VSS_CTX_CLIENT_ACCESSIBLE_WRITERS: PERSISTENT | CLIENT_ACCESSIBLE | NO_AUTO_RELEASE */
	ck_assert_uint_eq(snapset_context_attributes(c), 0x0D);
	ck_assert(snapset_context_persistent(c));
	ck_assert(snapset_context_writers(c));
	ck_assert(snapset_context_client_accessible(c));
	ck_assert(snapset_context_client_accessible(SNAPSET_CONTEXT_CLIENT_ACCESSIBLE));
	ck_assert(!snapset_context_client_accessible(SNAPSET_CONTEXT_APP_ROLLBACK));

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_set(t, "client-accessible-writers", false);
	ck_assert(s->writers);
	ck_assert(!s->auto_release);
	ck_assert_uint_eq(s->attributes, 0x0D | VSS_ATTR_DIFFERENTIAL);
}
END_TEST

/* A persistent set of the new context goes to the state file and comes back from it */
START_TEST(client_accessible_writers_is_saved_in_the_state)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	TestDaemonOptions o = { .state_file = true };
	_cleanup_free_ char *error = NULL;
	State st = STATE_NULL;
	StateSet *x;
	Snapset *p;

	ck_assert_int_eq(test_daemon_new_opts(&t, &o), 0);
	p = test_created_set(t, "client-accessible-writers", 1);
	ck_assert_msg(state_load(t->d.state_path, &st, &error) == 0, "%s", strempty(error));
	x = state_find_set(&st, &p->id);
	ck_assert_ptr_nonnull(x);
	ck_assert_str_eq(x->context, "client-accessible-writers");
	ck_assert_uint_eq(x->n_snapshots, 1);
	state_done(&st);
}
END_TEST

/* max-shadow-copies counts both client-accessible contexts together */
START_TEST(client_accessible_writers_counts_towards_max_shadow_copies)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *snap = NULL;
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	t->d.config.max_shadow_copies = 2;
	(void)test_created_set(t, "client-accessible", 1);
	(void)test_created_set(t, "client-accessible-writers", 1);
	s = test_set(t, "client-accessible-writers", true);
	ck_assert_int_eq(snapset_add_volume(s, "/dev/mapper/a", "", &snap, &err), -E2BIG);
	ck_assert_str_eq(kind(&err), "MaximumNumberOfSnapshotsReached");
}
END_TEST

/* The schedule tag: root's callers only, a valid name, kept in the state file */
START_TEST(schedule_is_roots_and_saved)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	TestDaemonOptions o = { .state_file = true };
	_cleanup_free_ char *error = NULL;
	State st = STATE_NULL;
	VssErr err = { 0 };
	StateSet *x;
	Snapset *s, *p;

	ck_assert_int_eq(test_daemon_new_opts(&t, &o), 0);
	start_uid = 1000;
	ck_assert_int_eq(start_with(t, &s, &err, "schedule", "daily", NULL), -EACCES);
	ck_assert_str_eq(kind(&err), "AccessDenied");
	ck_assert_str_eq(err.message, "only root may create a set for a schedule (option "
	                              "schedule); uid 1000 may not");
	err = (VssErr){ 0 };
	start_uid = 0;
	ck_assert_int_eq(start_with(t, &s, &err, "schedule", "-x", NULL), -EINVAL);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	err = (VssErr){ 0 };
	ck_assert_int_eq(start_with(t, &s, &err, "schedule", "a/b", NULL), -EINVAL);
	err = (VssErr){ 0 };
	ck_assert_int_eq(start_with(t, &s, &err, "schedule", "daily.home-1", NULL), 0);
	ck_assert_str_eq(s->schedule, "daily.home-1");
	(void)snapset_abort(s, NULL);

	p = test_created_set(t, "persistent", 1);
	ck_assert_ptr_null(p->schedule);
	p->schedule = strdup("nightly");
	ck_assert_int_eq(daemon_save_state(&t->d), 0);
	ck_assert_msg(state_load(t->d.state_path, &st, &error) == 0, "%s", strempty(error));
	x = state_find_set(&st, &p->id);
	ck_assert_ptr_nonnull(x);
	ck_assert_str_eq(x->schedule, "nightly");
	state_done(&st);
}
END_TEST

START_TEST(unknown_context_names_the_new_one)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	ck_assert_int_eq(start_with(t, &s, &err, "context", "client-accesible", NULL), -EINVAL);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	ck_assert_str_eq(err.message, "unknown context \"client-accesible\"; use backup, "
	                              "file-share-backup, persistent, app-rollback, "
	                              "client-accessible, client-accessible-writers or "
	                              "nas-rollback");
}
END_TEST

START_TEST(writers_excluded_by_instance_and_by_class)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Writer *a1, *a2, *b1;
	char opt[128];
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	a1 = writer_of_class(t, "a1", CLASS_A);
	a2 = writer_of_class(t, "a2", CLASS_A);
	b1 = writer_of_class(t, "b1", CLASS_B);

	/* by instance */
	snprintf(opt, sizeof(opt), "[%s", a2->id_str);
	ck_assert_int_eq(start_with(t, &s, NULL, "exclude-writer-instances", opt, NULL), 0);
	ck_assert_int_eq(snapset_compute_involved(s, true), 0);
	ck_assert(involved(s, a1) && !involved(s, a2) && involved(s, b1));
	ck_assert(snapset_writer_excluded(s, a2));
	snapset_release(s);

	/* by class, as before */
	ck_assert_int_eq(start_with(t, &s, NULL, "exclude-writer-classes", "[" CLASS_A, NULL), 0);
	ck_assert_int_eq(snapset_compute_involved(s, true), 0);
	ck_assert(!involved(s, a1) && !involved(s, a2) && involved(s, b1));
	snapset_release(s);

	/* an allow-list of classes; an exclusion still applies inside it; ids in any case */
	snprintf(opt, sizeof(opt), "[%s", a1->id_str);
	for (char *p = opt; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	ck_assert_int_eq(start_with(t, &s, NULL, "include-writer-classes",
	                            "[00000000-0000-4000-8000-00000000000A",
	                            "exclude-writer-instances", opt, NULL),
	                 0);
	ck_assert_int_eq(snapset_compute_involved(s, true), 0);
	ck_assert(!involved(s, a1) && involved(s, a2) && !involved(s, b1));
	ck_assert_uint_eq(s->n_involved, 1);
	snapset_release(s);

	/* an empty allow-list lets no writer in */
	ck_assert_int_eq(start_with(t, &s, NULL, "include-writer-classes", "[", NULL), 0);
	ck_assert_int_eq(snapset_compute_involved(s, true), 0);
	ck_assert_uint_eq(s->n_involved, 0);
	snapset_release(s);

	/* without options: everyone */
	ck_assert_int_eq(start_with(t, &s, NULL, NULL), 0);
	ck_assert_int_eq(snapset_compute_involved(s, true), 0);
	ck_assert_uint_eq(s->n_involved, 3);
}
END_TEST

START_TEST(writer_options_are_validated)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	ck_assert_int_eq(
		start_with(t, &s, &err, "exclude-writer-instances", "[" CLASS_A ",nope", NULL),
		-EINVAL);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	ck_assert_str_eq(err.message, "exclude-writer-instances: \"nope\" is not a UUID");

	err = (VssErr){ 0 };
	ck_assert_int_eq(start_with(t, &s, &err, "include-writer-classes", "[x", NULL), -EINVAL);
	ck_assert_str_eq(err.message, "include-writer-classes: \"x\" is not a UUID");

	err = (VssErr){ 0 };
	ck_assert_int_eq(start_with(t, &s, &err, "include-writer-classes", CLASS_A, NULL), -EINVAL);
	ck_assert_str_eq(err.message, "option \"include-writer-classes\" must be a string array "
	                              "(as)");

	err = (VssErr){ 0 };
	ck_assert_int_eq(start_with(t, &s, &err, "writer-failures", "ignore", NULL), -EINVAL);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	ck_assert_str_eq(err.message, "unknown writer-failures \"ignore\"; use abort (any writer "
	                              "failure fails the set) or continue (the set goes on "
	                              "without the failing writer)");
	ck_assert_uint_eq(t->d.n_sets, 0);

	ck_assert_int_eq(start_with(t, &s, NULL, "writer-failures", "abort", NULL), 0);
	ck_assert(!s->writer_failures_continue);
	snapset_release(s);
	ck_assert_int_eq(start_with(t, &s, NULL, "writer-failures", "continue", NULL), 0);
	ck_assert(s->writer_failures_continue);
}
END_TEST

/* The list option counts are capped like exclude-writer-classes */
START_TEST(writer_option_arrays_are_capped)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	const char *keys[] = { "exclude-writer-instances", "include-writer-classes" };

	ck_assert_int_eq(test_daemon_new(&t), 0);
	for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
		_cleanup_free_ char **l = calloc(VSSD_WRITERS_MAX + 2, sizeof(char *));
		DBusMessage *m = test_call_new(t, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER,
		                               "StartSnapshotSet", NULL);
		BusCaller c = test_caller(TEST_DAEMON_OWNER, 0);
		DBusMessageIter it, dict;
		VssErr err = { 0 };
		char want[128];

		ck_assert_ptr_nonnull(l);
		for (size_t i = 0; i <= VSSD_WRITERS_MAX; i++)
			l[i] = (char *)CLASS_A;
		dbus_message_iter_init_append(m, &it);
		ck_assert_int_eq(bus_dict_open(&it, &dict), 0);
		ck_assert_int_eq(bus_dict_add_strv(&dict, keys[k], l), 0);
		ck_assert_int_eq(bus_dict_close(&it, &dict), 0);
		ck_assert_int_eq(test_daemon_call(t, &daemon_manager_interface, &t->d, m, &c, &err),
		                 -E2BIG);
		dbus_message_unref(m);
		snprintf(want, sizeof(want),
		         "option \"%s\" has 1025 elements; at most 1024 are allowed", keys[k]);
		ck_assert_str_eq(err.message, want);
		ck_assert_uint_eq(t->d.n_sets, 0);
	}
}
END_TEST

/* The error name of the reply to m ("" for a method return) */
static const char *reply_name(TestDaemon *t, DBusMessage *m)
{
	DBusMessage *reply = test_daemon_reply_to(t, m);

	ck_assert_msg(reply, "no reply to %s", dbus_message_get_member(m));
	return dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR
	               ? dbus_message_get_error_name(reply)
	               : "";
}

static void set_call(TestDaemon *t, Snapset *s, const char *member, const char *want)
{
	DBusMessage *m = test_call_new(t, s->path, VSSD_IFACE_SET, member, NULL);
	BusCaller c = test_caller(TEST_DAEMON_OWNER, 0);

	ck_assert_int_eq(test_daemon_call(t, &snapset_interface, s, m, &c, NULL), 0);
	for (int i = 0; i < 1000 && s->state == SNAPSET_STATE_CREATING; i++)
		ck_assert_int_ge(sd_event_run(t->d.event, 5 * USEC_PER_SEC), 0);
	ck_assert_str_eq(reply_name(t, m), want);
	dbus_message_unref(m);
}

/* The unit daemon reaches no writer: each event to it fails as WriterNotResponding. With
 * writer-failures=continue the writer is marked failed at PrepareForBackup, leaves the set, and
 * the set is created all the same; GatherWriterStatus still lists it. */
START_TEST(continue_creates_the_set_without_the_failing_writer)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	const char *const comps[] = { "db", NULL };
	Writer *w;
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	w = test_writer_with_components(t, "db", NULL, comps);
	ck_assert_int_eq(start_with(t, &s, NULL, "writer-failures", "continue", NULL), 0);
	(void)test_add(s, 0);
	set_call(t, s, "GatherWriterMetadata", "");
	ck_assert_uint_eq(s->n_involved, 1);
	ck_assert_int_eq(
		snapset_set_components(s, (char *[]){ w->id_str, (char *)"db", NULL }, 1, NULL), 0);
	set_call(t, s, "PrepareForBackup", "");
	ck_assert_str_eq(snapset_state_to_string(s->state), "prepared");
	ck_assert_uint_eq(s->n_involved, 0);
	ck_assert_uint_eq(s->n_failed, 1);
	ck_assert_int_eq(w->state, WRITER_STATE_FAILED_AT_PREPARE_BACKUP);
	ck_assert_str_eq(w->last_error, "VSS_E_WRITER_NOT_RESPONDING");
	ck_assert_ptr_null(s->components[0]); /* its component left the selection */

	set_call(t, s, "DoSnapshotSet", "");
	ck_assert_str_eq(snapset_state_to_string(s->state), "created");
	ck_assert_int_eq(w->state, WRITER_STATE_FAILED_AT_PREPARE_BACKUP);
	{
		DBusMessage *m =
			test_call_new(t, s->path, VSSD_IFACE_SET, "GatherWriterStatus", NULL);
		BusCaller c = test_caller(TEST_DAEMON_OWNER, 0);
		DBusMessage *reply;
		DBusMessageIter it;

		ck_assert_int_eq(test_daemon_call(t, &snapset_interface, s, m, &c, NULL), 0);
		reply = test_daemon_reply_to(t, m);
		ck_assert_ptr_nonnull(reply);
		ck_assert(dbus_message_iter_init(reply, &it));
		ck_assert_uint_eq(bus_array_count(&it), 1);
		dbus_message_unref(m);
	}
}
END_TEST

/* The default stays: the same writer fails the set at PrepareForBackup */
START_TEST(abort_is_the_default)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	(void)test_writer(t, "db", NULL);
	ck_assert_int_eq(start_with(t, &s, NULL, NULL), 0);
	(void)test_add(s, 0);
	set_call(t, s, "GatherWriterMetadata", "");
	set_call(t, s, "PrepareForBackup", VSS_ERROR_PREFIX "WriterNotResponding");
	ck_assert_str_eq(snapset_state_to_string(s->state), "failed");
	ck_assert_uint_eq(s->n_failed, 0);
}
END_TEST

/* SetBackupSucceeded with entries (instance id, name, succeeded "0"/"1"/NULL: key left out),
 * triples ending with NULL; returns the handler's result */
static int set_results(TestDaemon *t, Snapset *s, const char *const *e, VssErr *err)
{
	DBusMessage *m = test_call_new(t, s->path, VSSD_IFACE_SET, "SetBackupSucceeded", NULL);
	BusCaller c = test_caller(TEST_DAEMON_OWNER, 0);
	DBusMessageIter it, a, d;
	int r;

	dbus_message_iter_init_append(m, &it);
	ck_assert(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "a{sv}", &a));
	for (; e[0]; e += 3) {
		ck_assert_int_eq(bus_dict_open(&a, &d), 0);
		ck_assert_int_eq(bus_dict_add_string(&d, "instance-id", e[0]), 0);
		ck_assert_int_eq(bus_dict_add_string(&d, "name", e[1]), 0);
		if (e[2] && streq(e[2], "x"))
			ck_assert_int_eq(bus_dict_add_string(&d, "size", "1"), 0);
		else if (e[2])
			ck_assert_int_eq(bus_dict_add_bool(&d, "succeeded", e[2][0] == '1'), 0);
		ck_assert_int_eq(bus_dict_close(&a, &d), 0);
	}
	ck_assert(dbus_message_iter_close_container(&it, &a));
	r = test_daemon_call(t, &snapset_interface, s, m, &c, err);
	dbus_message_unref(m);
	return r;
}

/* GetBackupDocument, parsed back; asserting success */
static void get_document(TestDaemon *t, Snapset *s, BackupDocument *doc)
{
	DBusMessage *m = test_call_new(t, s->path, VSSD_IFACE_SET, "GetBackupDocument", NULL);
	BusCaller c = test_caller(TEST_DAEMON_OWNER, 0);
	DBusMessage *reply;
	const char *text;
	VssErr err = { 0 };

	ck_assert_msg(test_daemon_call(t, &snapset_interface, s, m, &c, &err) == 0, "%s",
	              err.message);
	reply = test_daemon_reply_to(t, m);
	ck_assert_ptr_nonnull(reply);
	ck_assert(dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID));
	ck_assert_msg(document_from_json(text, doc, &err) == 0, "%s: %s", err.message, text);
	dbus_message_unref(m);
}

static const DocComponent *doc_component(const BackupDocument *d, const char *wname,
                                         const char *cname)
{
	for (size_t i = 0; i < d->n_writers; i++)
		for (size_t j = 0;
		     streq(d->writers[i].name, wname) && j < d->writers[i].n_components; j++)
			if (streq(d->writers[i].components[j].name, cname))
				return &d->writers[i].components[j];
	ck_abort_msg("no component %s of %s in the document", cname, wname);
	return NULL;
}

START_TEST(results_reach_the_backup_document)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	const char *const db_comps[] = { "data", "logs", NULL }, *const fs_comps[] = { "home",
		                                                                       NULL };
	BackupDocument doc = { 0 };
	VssErr err = { 0 };
	Writer *db, *fs;
	Snapset *s;
	DBusMessage *m;
	BusCaller c = test_caller(TEST_DAEMON_OWNER, 0);

	ck_assert_int_eq(test_daemon_new(&t), 0);
	db = test_writer_with_components(t, "db", NULL, db_comps);
	fs = test_writer_with_components(t, "fs", NULL, fs_comps);
	s = test_set(t, "app-rollback", true);
	(void)test_add(s, 0);

	/* no document before PrepareForBackup */
	m = test_call_new(t, s->path, VSSD_IFACE_SET, "GetBackupDocument", NULL);
	ck_assert_int_eq(test_daemon_call(t, &snapset_interface, s, m, &c, &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	dbus_message_unref(m);
	set_call(t, s, "PrepareForBackup", "");
	get_document(t, s, &doc);
	ck_assert_str_eq(doc.set_id, s->id_str);
	ck_assert_str_eq(doc.context, "app-rollback");
	ck_assert_str_eq(doc.backup_type, "full");
	ck_assert_uint_eq(doc.creation_time, 0);
	ck_assert_uint_eq(doc.n_snapshots, 1);
	ck_assert_str_eq(doc.snapshots[0].device, "");
	ck_assert_uint_eq(doc.n_writers, 0);
	document_done(&doc);

	/* not before DoSnapshotSet */
	err = (VssErr){ 0 };
	ck_assert_int_eq(set_results(t, s, (const char *[]){ db->id_str, "data", "1", NULL }, &err),
	                 -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	set_call(t, s, "DoSnapshotSet", "");
	ck_assert_str_eq(snapset_state_to_string(s->state), "created");
	/* both writers take part (the unit daemon reaches no writer to walk them through) */
	free(s->involved);
	s->involved = calloc(2, sizeof(VssId));
	ck_assert_ptr_nonnull(s->involved);
	s->involved[0] = db->instance_id;
	s->involved[1] = fs->instance_id;
	s->n_involved = 2;

	/* wrong entries: nothing of the call is kept */
	err = (VssErr){ 0 };
	ck_assert_int_eq(set_results(t, s,
	                             (const char *[]){ db->id_str, "data", "0", db->id_str, "tmp",
	                                               "1", NULL },
	                             &err),
	                 -ENOENT);
	ck_assert_str_eq(kind(&err), "ObjectNotFound");
	ck_assert_ptr_null(s->results);
	err = (VssErr){ 0 };
	ck_assert_int_eq(
		set_results(t, s, (const char *[]){ db->id_str, "data", NULL, NULL }, &err),
		-EINVAL);
	ck_assert_str_eq(err.message, "each result needs instance-id, name and succeeded");
	err = (VssErr){ 0 };
	ck_assert_int_eq(set_results(t, s, (const char *[]){ db->id_str, "data", "x", NULL }, &err),
	                 -EINVAL);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	err = (VssErr){ 0 };
	ck_assert_int_eq(set_results(t, s, (const char *[]){ "db", "data", "1", NULL }, &err),
	                 -EINVAL);
	ck_assert_str_eq(err.message, "instance-id \"db\" is not a UUID");

	/* data failed, then said again; the rest takes BackupComplete's word */
	ck_assert_int_eq(set_results(t, s, (const char *[]){ db->id_str, "data", "1", NULL }, NULL),
	                 0);
	ck_assert_int_eq(set_results(t, s, (const char *[]){ db->id_str, "data", "0", NULL }, NULL),
	                 0);
	get_document(t, s, &doc);
	ck_assert_uint_eq(doc.n_writers, 2);
	ck_assert_int_eq(doc_component(&doc, "db", "data")->succeeded, DOC_RESULT_UNKNOWN);
	ck_assert(doc_component(&doc, "db", "data")->selected);
	ck_assert_uint_ne(doc.creation_time, 0);
	ck_assert_str_ne(doc.snapshots[0].device, "");
	document_done(&doc);

	{
		dbus_bool_t yes = true;

		m = test_call_new(t, s->path, VSSD_IFACE_SET, "BackupComplete", NULL);
		ck_assert(dbus_message_append_args(m, DBUS_TYPE_BOOLEAN, &yes, DBUS_TYPE_INVALID));
		ck_assert_int_eq(test_daemon_call(t, &snapset_interface, s, m, &c, NULL), 0);
		dbus_message_unref(m);
	}
	ck_assert_str_eq(snapset_state_to_string(s->state), "completed");
	get_document(t, s, &doc);
	ck_assert_int_eq(doc_component(&doc, "db", "data")->succeeded, DOC_RESULT_FAILED);
	ck_assert_int_eq(doc_component(&doc, "db", "logs")->succeeded, DOC_RESULT_SUCCEEDED);
	ck_assert_int_eq(doc_component(&doc, "fs", "home")->succeeded, DOC_RESULT_SUCCEEDED);
	document_done(&doc);
	err = (VssErr){ 0 };
	ck_assert_int_eq(set_results(t, s, (const char *[]){ db->id_str, "data", "1", NULL }, &err),
	                 -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
}
END_TEST

/* writer-failures=continue: the failed writer is in the document, its components not selected */
START_TEST(a_failed_writer_is_in_the_document_without_its_components)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	const char *const comps[] = { "db", NULL };
	BackupDocument doc = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	(void)test_writer_with_components(t, "db", NULL, comps);
	ck_assert_int_eq(start_with(t, &s, NULL, "writer-failures", "continue", NULL), 0);
	(void)test_add(s, 0);
	set_call(t, s, "GatherWriterMetadata", "");
	set_call(t, s, "PrepareForBackup", "");
	set_call(t, s, "DoSnapshotSet", "");
	get_document(t, s, &doc);
	ck_assert_uint_eq(doc.n_writers, 1);
	ck_assert_uint_eq(doc.writers[0].state, WRITER_STATE_FAILED_AT_PREPARE_BACKUP);
	ck_assert_str_eq(doc.writers[0].last_error, "VSS_E_WRITER_NOT_RESPONDING");
	ck_assert(!doc_component(&doc, "db", "db")->selected);
	document_done(&doc);
}
END_TEST

/* previous-document: checked whole (InvalidArgument naming the field), and each writer found
 * again by class and instance name gets its component's old backup-stamp as
 * previous-backup-stamp in the new document */
START_TEST(previous_document_gives_previous_stamps)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	const char *const comps[] = { "data", "logs", NULL };
	_cleanup_free_ char *text = NULL;
	BackupDocument prev = { .set_id = strdup("6f1c2d3e-0a1b-4c5d-8e9f-a0b1c2d3e4f5"),
		                .context = strdup("backup"),
		                .backup_type = strdup("full") },
		       doc = { 0 };
	DocWriter *pw;
	DocComponent *pc;
	VssErr err = { 0 };
	Writer *db;
	Snapset *s;

	pw = document_add_writer(&prev);
	pw->instance_id = strdup("8b1c2d3e-0a1b-4c5d-8e9f-a0b1c2d3e4f5"); /* another run's */
	pw->class_id = strdup("00000000-0000-4000-8000-000000000001");
	pw->name = strdup("db");
	pw->instance_name = strdup("");
	pw->state = 1;
	pc = document_writer_add_component(pw);
	pc->name = strdup("data");
	pc->selected = true;
	pc->backup_stamp = strdup("lsn 5");
	ck_assert_int_eq(document_to_json(&prev, &text), 0);
	document_done(&prev);

	ck_assert_int_eq(test_daemon_new(&t), 0);
	db = test_writer_with_components(t, "db", NULL, comps);

	ck_assert_int_eq(start_with(t, &s, &err, "previous-document", "{\"format\":\"x\"}", NULL),
	                 -EINVAL);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	ck_assert_str_eq(err.message, "backup document: format: \"x\" is not vssd-backup/1");
	err = (VssErr){ 0 };
	ck_assert_int_eq(start_with(t, &s, &err, "previous-document", "not json", NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.message, "backup document: not valid JSON"));
	ck_assert_uint_eq(t->d.n_sets, 0);

	ck_assert_int_eq(
		start_with(t, &s, NULL, "previous-document", text, "no-writers", "x", NULL),
		-EINVAL); /* no-writers must be a boolean: nothing leaks either way */
	ck_assert_int_eq(
		start_with(t, &s, NULL, "previous-document", text, "context", "app-rollback", NULL),
		0);
	ck_assert_ptr_nonnull(s->previous);
	(void)test_add(s, 0);
	s->writers = false; /* the unit daemon reaches no writer: they are put in below */
	set_call(t, s, "PrepareForBackup", "");
	s->involved = calloc(1, sizeof(VssId));
	ck_assert_ptr_nonnull(s->involved);
	s->involved[0] = db->instance_id;
	s->n_involved = 1;
	get_document(t, s, &doc);
	ck_assert_str_eq(doc_component(&doc, "db", "data")->previous_backup_stamp, "lsn 5");
	ck_assert_ptr_null(doc_component(&doc, "db", "logs")->previous_backup_stamp);
	document_done(&doc);
	/* and PrepareForBackup hands it to the writer */
	{
		_cleanup_strv_free_ char **stamps = NULL;

		ck_assert_int_eq(snapset_previous_stamps(s, &stamps), 0);
		ck_assert_uint_eq(strv_length(stamps), 3);
		ck_assert_str_eq(stamps[0], db->id_str);
		ck_assert_str_eq(stamps[1], "data");
		ck_assert_str_eq(stamps[2], "lsn 5");
	}
}
END_TEST

/* A writer's answer: a method return with {"components": [{key: value, ...}, ...]}; entries
 * are NULL-separated key, value lists, the whole ended by two NULLs */
static DBusMessage *answer_msg(const char *const *kv)
{
	DBusMessage *m = dbus_message_new(DBUS_MESSAGE_TYPE_METHOD_RETURN);
	DBusMessageIter it, d, a, c;

	ck_assert_ptr_nonnull(m);
	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(bus_dict_open(&it, &d), 0);
	{
		DBusMessageIter e, v;
		const char *key = "components";

		ck_assert(dbus_message_iter_open_container(&d, DBUS_TYPE_DICT_ENTRY, NULL, &e));
		ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key));
		ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "aa{sv}", &v));
		ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a));
		while (kv[0]) {
			ck_assert_int_eq(bus_dict_open(&a, &c), 0);
			for (; kv[0]; kv += 2)
				ck_assert_int_eq(bus_dict_add_string(&c, kv[0], kv[1]), 0);
			kv++;
			ck_assert_int_eq(bus_dict_close(&a, &c), 0);
		}
		ck_assert(dbus_message_iter_close_container(&v, &a));
		ck_assert(dbus_message_iter_close_container(&e, &v));
		ck_assert(dbus_message_iter_close_container(&d, &e));
	}
	ck_assert_int_eq(bus_dict_close(&it, &d), 0);
	return m;
}

static int answer_with(Snapset *s, Writer *w, WriterEvent ev, const char *const *kv, VssErr *err)
{
	DBusMessage *m = answer_msg(kv);
	int r = snapset_writer_answer(s, w, ev, m, err);

	dbus_message_unref(m);
	return r;
}

/* What writers set on their components in their answers (PrepareForBackup..PostSnapshot):
 * every field checked, an answer taken whole or not at all, bounded; it reaches the document,
 * BackupResults' list and the writer's state when unusable */
START_TEST(writer_answers_set_stamps_metadata_and_failures)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	const char *const comps[] = { "data", "logs", NULL };
	_cleanup_strv_free_ char **results = NULL, **prev = NULL;
	char big[DOC_STAMP_MAX + 2];
	BackupDocument doc = { 0 };
	VssErr err = { 0 };
	DBusMessage *m;
	Writer *db;
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	db = test_writer_with_components(t, "db", NULL, comps);
	ck_assert_int_eq(start_with(t, &s, NULL, "context", "app-rollback", NULL), 0);
	(void)test_add(s, 0);
	s->writers = false; /* the unit daemon reaches no writer: it is put in below */
	set_call(t, s, "PrepareForBackup", "");
	s->involved = calloc(1, sizeof(VssId));
	ck_assert_ptr_nonnull(s->involved);
	s->involved[0] = db->instance_id;
	s->n_involved = 1;

	/* an empty answer (every writer before stamps) sets nothing */
	m = dbus_message_new(DBUS_MESSAGE_TYPE_METHOD_RETURN);
	ck_assert_int_eq(snapset_writer_answer(s, db, WRITER_EVENT_POST_SNAPSHOT, m, NULL), 0);
	ck_assert(dbus_message_append_args(m, DBUS_TYPE_STRING, &comps[0], DBUS_TYPE_INVALID));
	ck_assert_int_eq(snapset_writer_answer(s, db, WRITER_EVENT_POST_SNAPSHOT, m, &err),
	                 -EINVAL);
	ck_assert_str_eq(err.message, "its answer is \"s\", not empty or a{sv}");
	dbus_message_unref(m);

	/* each field checked; nothing of a wrong answer is kept */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	{
		static const struct {
			const char *kv[8];
			int r;
			const char *kind, *msg;
		} bad[] = {
			{ { "name", "data", "backup-stamp", "ok", NULL, "name", "tmp", NULL },
			  -ENOENT,
			  "ObjectNotFound",
			  "components[1]: \"tmp\" is not one of its components in this backup" },
			{ { "backup-stamp", "x", NULL },
			  -EINVAL,
			  "InvalidArgument",
			  "components[0].name is missing or not text of at most 255 bytes" },
			{ { "name", "data", "backup-stamp", "a\nb", NULL },
			  -EINVAL,
			  "InvalidArgument",
			  "components[0].backup-stamp is longer than 4096 bytes or holds control "
			  "characters" },
			{ { "name", "data", "backup-metadata", "\x1b[2J", NULL },
			  -EINVAL,
			  "InvalidArgument",
			  "components[0].backup-metadata is longer than 4096 bytes or holds "
			  "control "
			  "characters" },
			{ { "name", "data", "failure-message", "", NULL },
			  -EINVAL,
			  "InvalidArgument",
			  "components[0].failure-message is empty, longer than 1020 bytes or holds "
			  "control characters" },
		};

		for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
			const char *kv[10] = { 0 };

			memcpy(kv, bad[i].kv, sizeof(bad[i].kv));
			err = (VssErr){ 0 };
			ck_assert_int_eq(answer_with(s, db, WRITER_EVENT_PREPARE_BACKUP, kv, &err),
			                 bad[i].r);
			ck_assert_str_eq(kind(&err), bad[i].kind);
			ck_assert_str_eq(err.message, bad[i].msg);
			ck_assert_uint_eq(s->n_stamps, 0);
		}
		err = (VssErr){ 0 };
		ck_assert_int_eq(answer_with(s, db, WRITER_EVENT_THAW,
		                             (const char *[]){ "name", "data", "backup-stamp", big,
		                                               NULL, NULL },
		                             &err),
		                 -EINVAL);
		big[DOC_STAMP_MAX] = 0; /* exactly the most */
		ck_assert_int_eq(answer_with(s, db, WRITER_EVENT_THAW,
		                             (const char *[]){ "name", "data", "backup-stamp", big,
		                                               NULL, NULL },
		                             NULL),
		                 0);
		ck_assert_uint_eq(s->stamp_bytes, DOC_STAMP_MAX);
	}

	/* outside PrepareForBackup..PostSnapshot an answer sets nothing */
	ck_assert_int_eq(
		answer_with(s, db, WRITER_EVENT_BACKUP_COMPLETE,
	                    (const char *[]){ "name", "logs", "backup-stamp", "late", NULL, NULL },
	                    NULL),
		0);
	ck_assert_ptr_null(s->stamps[0].backup_metadata);
	ck_assert_uint_eq(s->n_stamps, 1);

	/* a later answer replaces what it names, keeps the rest */
	ck_assert_int_eq(
		answer_with(s, db, WRITER_EVENT_POST_SNAPSHOT,
	                    (const char *[]){ "name", "data", "backup-stamp", "lsn 9",
	                                      "backup-metadata", "{\"a\":1}", "future-key",
	                                      "skipped", NULL, "name", "logs", "failure-message",
	                                      "disk 3 gone", NULL, NULL },
	                    NULL),
		0);
	get_document(t, s, &doc);
	ck_assert_str_eq(doc_component(&doc, "db", "data")->backup_stamp, "lsn 9");
	ck_assert_str_eq(doc_component(&doc, "db", "data")->backup_metadata, "{\"a\":1}");
	ck_assert_ptr_null(doc_component(&doc, "db", "data")->failure_message);
	ck_assert_ptr_null(doc_component(&doc, "db", "logs")->backup_stamp);
	ck_assert_str_eq(doc_component(&doc, "db", "logs")->failure_message, "disk 3 gone");
	document_done(&doc);

	/* bounded per set */
	s->stamp_bytes = SNAPSET_STAMP_BYTES_MAX - 3;
	err = (VssErr){ 0 };
	ck_assert_int_eq(
		answer_with(s, db, WRITER_EVENT_POST_SNAPSHOT,
	                    (const char *[]){ "name", "data", "backup-stamp", "abcd", NULL, NULL },
	                    &err),
		-E2BIG);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	ck_assert_str_eq(s->stamps[0].backup_stamp, "lsn 9");
	s->stamp_bytes = DOC_STAMP_MAX;

	/* BackupResults: the writer's failure wins over the requester's word */
	s->backup_success = true;
	ck_assert_int_eq(snapset_backup_results(s, &results), 0);
	ck_assert_uint_eq(strv_length(results), 8);
	ck_assert_str_eq(results[0], db->id_str);
	ck_assert_str_eq(results[1], "data");
	ck_assert_str_eq(results[2], "1");
	ck_assert_str_eq(results[3], "");
	ck_assert_str_eq(results[5], "logs");
	ck_assert_str_eq(results[6], "0");
	ck_assert_str_eq(results[7], "disk 3 gone");
	/* no previous-document: no previous stamps */
	ck_assert_int_eq(snapset_previous_stamps(s, &prev), 0);
	ck_assert_uint_eq(strv_length(prev), 0);

	/* an unusable answer fails the writer at that event */
	err = (VssErr){ 0 };
	(void)vss_err_set(&err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
	                  "components[0].backup-stamp is bad");
	ck_assert_int_eq(writer_answer_unusable(db, WRITER_EVENT_POST_SNAPSHOT, s->id_str, &err),
	                 -ECANCELED);
	ck_assert_int_eq(db->state, WRITER_STATE_FAILED_AT_POST_SNAPSHOT);
	ck_assert_str_eq(db->last_error, "VSS_E_WRITERERROR_NONRETRYABLE");
	ck_assert_str_eq(db->failure_message, "components[0].backup-stamp is bad");
	ck_assert_str_eq(kind(&err), "WriterVeto");
	ck_assert_str_eq(err.code_name, "VSS_E_WRITERERROR_NONRETRYABLE");
	{
		_cleanup_free_ char *want = NULL;

		ck_assert_int_ge(asprintf(&want,
		                          "writer \"db\" (%s) answered PostSnapshot with unusable "
		                          "component data: components[0].backup-stamp is bad",
		                          db->id_str),
		                 0);
		ck_assert_str_eq(err.message, want);
	}
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("setopts",
	TEST(client_accessible_writers_is_persistent_with_writers)
	TEST(client_accessible_writers_is_saved_in_the_state)
	TEST(client_accessible_writers_counts_towards_max_shadow_copies)
	TEST(unknown_context_names_the_new_one)
	TEST(schedule_is_roots_and_saved)
	TEST(writers_excluded_by_instance_and_by_class)
	TEST(writer_options_are_validated)
	TEST(writer_option_arrays_are_capped)
	TEST(continue_creates_the_set_without_the_failing_writer)
	TEST(abort_is_the_default)
	TEST(results_reach_the_backup_document)
	TEST(a_failed_writer_is_in_the_document_without_its_components)
	TEST(previous_document_gives_previous_stamps)
	TEST(writer_answers_set_stamps_metadata_and_failures))
/* clang-format on */
