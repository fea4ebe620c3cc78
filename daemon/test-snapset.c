/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-snapset.c - the shadow copy set state machine on fake dm: order, BadState, in-progress,
 * release, abort, engine failures, limits */
#include <poll.h>

#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/provider-dmsnap.h"
#include "daemon/snapset-dbus.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "daemon/state.h"
#include "daemon/storage.h"
#include "daemon/writer.h"
#include "tests/lib/check-main.h"
#include "tests/lib/test-daemon.h"

#define ERR(name) VSS_ERROR_PREFIX name

static const char *kind(const VssErr *e)
{
	return vss_error_info(e->kind)->name;
}

static const char *state(const Snapset *s)
{
	return snapset_state_to_string(s->state);
}

/* Calls a SnapshotSet method's handler as caller (NULL: the owner) with the given arguments
 * (dbus_message_append_args() style, DBUS_TYPE_INVALID last). The call is returned in *ret_m
 * (may be NULL) for test_daemon_reply_to(). */
static int set_call(TestDaemon *t, Snapset *s, const char *member, const char *caller,
                    DBusMessage **ret_m, VssErr *err, int first_type, ...)
{
	DBusMessage *m = test_call_new(t, s->path, VSSD_IFACE_SET, member, caller);
	BusCaller c = test_caller(caller ? caller : TEST_DAEMON_OWNER, 0);
	va_list ap;
	int r;

	va_start(ap, first_type);
	ck_assert(dbus_message_append_args_valist(m, first_type, ap));
	va_end(ap);
	r = test_daemon_call(t, &snapset_interface, s, m, &c, err);
	if (ret_m)
		*ret_m = m;
	else
		dbus_message_unref(m);
	return r;
}

#define CALL(t, s, member, err) set_call(t, s, member, NULL, NULL, err, DBUS_TYPE_INVALID)

static int backup_complete(TestDaemon *t, Snapset *s, bool success, VssErr *err)
{
	dbus_bool_t b = success;

	return set_call(t, s, "BackupComplete", NULL, NULL, err, DBUS_TYPE_BOOLEAN, &b,
	                DBUS_TYPE_INVALID);
}

/* The error name of the reply to m, "" for a method return; asserts there is one */
static const char *reply_name(TestDaemon *t, DBusMessage *m)
{
	DBusMessage *reply = test_daemon_reply_to(t, m);

	ck_assert_msg(reply, "no reply to %s", dbus_message_get_member(m));
	return dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR
	               ? dbus_message_get_error_name(reply)
	               : "";
}

/* Nothing of ours in dm, nothing held, every origin with its own table, no COW file left. */
static void assert_dm_clean(TestDaemon *t)
{
	char buf[64];

	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t->dm, "VSSD-"), 0);
	ck_assert_uint_eq(fake_dm_count_suspended(t->dm), 0);
	ck_assert_uint_eq(fake_dm_count_devices(t->dm), t->n_volumes);
	for (size_t i = 0; i < t->n_volumes; i++) {
		ck_assert_str_eq(fake_dm_live(t->dm, t->volume[i]),
		                 test_daemon_volume_table(t, i, buf));
		ck_assert(!fake_dm_has_inactive(t->dm, t->volume[i]));
	}
	ck_assert_uint_eq(fake_host_count_files(t->host), 0);
	ck_assert_uint_eq(fake_host_count_frozen(t->host), 0);
}

static bool has_set(TestDaemon *t, Snapset *s)
{
	for (size_t i = 0; i < t->d.n_sets; i++)
		if (t->d.sets[i] == s)
			return true;
	return false;
}

/* Runs the loop until s leaves CREATING (a freeze from worker threads is under way). */
static void run_until_created(TestDaemon *t, Snapset *s)
{
	for (int i = 0; i < 1000 && s->state == SNAPSET_STATE_CREATING; i++)
		ck_assert_int_ge(sd_event_run(t->d.event, 5 * USEC_PER_SEC), 0);
	ck_assert_int_ne(s->state, SNAPSET_STATE_CREATING);
}

/* ---- BadState ------------------------------------------------------------------------------- */

START_TEST(add_volume_after_do_snapshot_set_is_bad_state)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *snap = NULL;
	VssErr err = { 0 };
	char p[64];
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_created_set(t, NULL, 1);
	ck_assert_int_eq(snapset_add_volume(s, test_daemon_volume_path(t, 1, p), "", &snap, &err),
	                 -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	ck_assert_ptr_nonnull(strstr(err.message, "before DoSnapshotSet"));
	ck_assert_ptr_null(snap);
	ck_assert_uint_eq(s->n_snaps, 1);
	ck_assert_str_eq(state(s), "created");

	/* the same through the method, and after BackupComplete */
	ck_assert_int_eq(backup_complete(t, s, true, &err), 0);
	ck_assert_str_eq(state(s), "completed");
	err = (VssErr){ 0 };
	ck_assert_int_eq(set_call(t, s, "AddVolume", NULL, NULL, &err, DBUS_TYPE_STRING,
	                          &(const char *){ p }, DBUS_TYPE_STRING, &(const char *){ "" },
	                          DBUS_TYPE_INVALID),
	                 -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	ck_assert_uint_eq(s->n_snaps, 1);
}
END_TEST

START_TEST(prepare_before_gather_in_writer_context_is_bad_state)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_set(t, "backup", false);
	ck_assert(s->writers);
	(void)test_add(s, 0);
	ck_assert_int_eq(CALL(t, s, "PrepareForBackup", &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	ck_assert_ptr_nonnull(strstr(err.message, "after GatherWriterMetadata"));
	ck_assert_str_eq(state(s), "started");
	ck_assert_ptr_eq(t->d.creating, s);
}
END_TEST

START_TEST(do_snapshot_set_before_prepare_in_writer_context_is_bad_state)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_set(t, "backup", false);
	(void)test_add(s, 0);
	ck_assert_int_eq(test_create(s, &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	ck_assert_ptr_nonnull(strstr(err.message, "PrepareForBackup first"));

	/* still not after GatherWriterMetadata alone */
	ck_assert_int_eq(CALL(t, s, "GatherWriterMetadata", NULL), 0);
	ck_assert_str_eq(state(s), "gathered");
	err = (VssErr){ 0 };
	ck_assert_int_eq(test_create(s, &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	ck_assert_str_eq(state(s), "gathered");
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t->dm, "VSSD-"), 0);
}
END_TEST

START_TEST(gather_after_prepare_is_bad_state)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_set(t, "backup", false);
	(void)test_add(s, 0);
	ck_assert_int_eq(CALL(t, s, "GatherWriterMetadata", NULL), 0);
	ck_assert_int_eq(CALL(t, s, "PrepareForBackup", NULL), 0);
	ck_assert_str_eq(state(s), "prepared");
	ck_assert_int_eq(CALL(t, s, "GatherWriterMetadata", &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	err = (VssErr){ 0 };
	ck_assert_int_eq(CALL(t, s, "PrepareForBackup", &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	ck_assert_str_eq(state(s), "prepared");
}
END_TEST

START_TEST(set_components_only_between_gather_and_prepare)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	DBusMessageIter it, arr;
	DBusMessage *m;
	VssErr err = { 0 };
	BusCaller c = test_caller(TEST_DAEMON_OWNER, 0);
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_set(t, "backup", false);
	(void)test_add(s, 0);
	for (int round = 0; round < 3; round++) {
		int want = round == 1 ? 0 : -EBUSY;

		m = test_call_new(t, s->path, VSSD_IFACE_SET, "SetComponents", NULL);
		dbus_message_iter_init_append(m, &it);
		ck_assert(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "a{sv}", &arr));
		ck_assert(dbus_message_iter_close_container(&it, &arr));
		err = (VssErr){ 0 };
		ck_assert_int_eq(test_daemon_call(t, &snapset_interface, s, m, &c, &err), want);
		if (want < 0)
			ck_assert_str_eq(kind(&err), "BadState");
		else
			ck_assert_str_eq(reply_name(t, m), "");
		dbus_message_unref(m);
		if (round == 0)
			ck_assert_int_eq(CALL(t, s, "GatherWriterMetadata", NULL), 0);
		if (round == 1)
			ck_assert_int_eq(CALL(t, s, "PrepareForBackup", NULL), 0);
	}
}
END_TEST

/* SetComponents with entries (instance-id, name) */
static int set_components(TestDaemon *t, Snapset *s, const char *const *pairs, const char *extra,
                          VssErr *err)
{
	BusCaller c = test_caller(TEST_DAEMON_OWNER, 0);
	DBusMessage *m = test_call_new(t, s->path, VSSD_IFACE_SET, "SetComponents", NULL);
	DBusMessageIter it, arr, d;
	int r;

	dbus_message_iter_init_append(m, &it);
	ck_assert(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "a{sv}", &arr));
	for (const char *const *p = pairs; p && p[0]; p += 2) {
		ck_assert(dbus_message_iter_open_container(&arr, DBUS_TYPE_ARRAY, "{sv}", &d));
		ck_assert_int_eq(bus_dict_add_string(&d, "instance-id", p[0]), 0);
		if (p[1])
			ck_assert_int_eq(bus_dict_add_string(&d, "name", p[1]), 0);
		if (extra)
			ck_assert_int_eq(bus_dict_add_string(&d, extra, "x"), 0);
		ck_assert(dbus_message_iter_close_container(&arr, &d));
		if (!p[1])
			break;
	}
	ck_assert(dbus_message_iter_close_container(&it, &arr));
	r = test_daemon_call(t, &snapset_interface, s, m, &c, err);
	dbus_message_unref(m);
	return r;
}

/* The components PrepareForBackup would send writer w (names, comma-separated) */
static char *prepare_components(Writer *w, char **selection)
{
	DBusMessage *m = dbus_message_new(DBUS_MESSAGE_TYPE_METHOD_CALL);
	DBusMessageIter it, d, e, v, a, c;
	char buf[256] = "";

	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(bus_dict_open(&it, &d), 0);
	ck_assert_int_eq(writer_dict_add_components(&d, w, selection, true), 0);
	ck_assert_int_eq(bus_dict_close(&it, &d), 0);
	ck_assert(dbus_message_iter_init(m, &it));
	dbus_message_iter_recurse(&it, &d);
	dbus_message_iter_recurse(&d, &e);
	dbus_message_iter_next(&e);
	dbus_message_iter_recurse(&e, &v);
	dbus_message_iter_recurse(&v, &a);
	for (; dbus_message_iter_get_arg_type(&a) == DBUS_TYPE_ARRAY; dbus_message_iter_next(&a)) {
		DBusMessageIter ce, cv;
		const char *k, *name;

		dbus_message_iter_recurse(&a, &c);
		dbus_message_iter_recurse(&c, &ce); /* first entry: name */
		dbus_message_iter_get_basic(&ce, &k);
		ck_assert_str_eq(k, "name");
		dbus_message_iter_next(&ce);
		dbus_message_iter_recurse(&ce, &cv);
		dbus_message_iter_get_basic(&cv, &name);
		strcat(buf, buf[0] ? "," : "");
		strcat(buf, name);
	}
	dbus_message_unref(m);
	return strdup(buf);
}

START_TEST(set_components_selects_what_prepare_for_backup_sends)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	_cleanup_free_ char *none = NULL, *some = NULL;
	VssErr err = { 0 };
	Writer *w;
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	/* components "data" and "logs", no paths: involved in every set with writers */
	w = test_writer_with_components(t, "db", ":1.60",
	                                (const char *const[]){ "data", "logs", NULL });
	s = test_set(t, "backup", false);
	(void)test_add(s, 0);
	/* as GatherWriterMetadata leaves it with the writer involved (the unit daemon has no bus
	 * to reach the writer with Identify) */
	s->state = SNAPSET_STATE_GATHERED;
	s->involved = calloc(1, sizeof(VssId));
	s->involved[0] = w->instance_id;
	s->n_involved = 1;

	/* no selection: PrepareForBackup tells the writer none was chosen */
	none = prepare_components(w, s->components);
	ck_assert_str_eq(none, "");

	ck_assert_int_eq(
		set_components(t, s, (const char *const[]){ w->id_str, "logs", NULL }, NULL, &err),
		0);
	ck_assert_str_eq(s->components[0], w->id_str);
	ck_assert_str_eq(s->components[1], "logs");
	ck_assert_ptr_null(s->components[2]);
	some = prepare_components(w, s->components);
	ck_assert_str_eq(some, "logs");

	/* refusals leave the selection as it was */
	err = (VssErr){ 0 };
	ck_assert_int_eq(
		set_components(t, s, (const char *const[]){ w->id_str, "cache", NULL }, NULL, &err),
		-ENOENT);
	ck_assert_str_eq(kind(&err), "ObjectNotFound");
	ck_assert_ptr_nonnull(strstr(err.message, "no component \"cache\""));
	err = (VssErr){ 0 };
	ck_assert_int_eq(
		set_components(t, s,
	                       (const char *const[]){ "6f1c2d3e-0000-4000-8000-00000000000a",
	                                              "data", NULL },
	                       NULL, &err),
		-ENOENT);
	ck_assert_str_eq(kind(&err), "ObjectNotFound");
	err = (VssErr){ 0 };
	ck_assert_int_eq(
		set_components(t, s, (const char *const[]){ "db", "data", NULL }, NULL, &err),
		-EINVAL);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	err = (VssErr){ 0 };
	ck_assert_int_eq(set_components(t, s, (const char *const[]){ w->id_str, "data", NULL },
	                                "colour", &err),
	                 -EINVAL);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	ck_assert_ptr_nonnull(strstr(err.message, "colour"));
	err = (VssErr){ 0 };
	ck_assert_int_eq(set_components(t, s, (const char *const[]){ w->id_str, NULL }, NULL, &err),
	                 -EINVAL);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	ck_assert_str_eq(s->components[1], "logs");

	/* an empty selection replaces it */
	ck_assert_int_eq(set_components(t, s, NULL, NULL, &err), 0);
	ck_assert_ptr_null(s->components[0]);
}
END_TEST

START_TEST(backup_complete_before_creation_is_bad_state)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_set(t, "backup", false);
	(void)test_add(s, 0);
	ck_assert_int_eq(backup_complete(t, s, true, &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	ck_assert_str_eq(state(s), "started");

	ck_assert_int_eq(CALL(t, s, "GatherWriterMetadata", NULL), 0);
	ck_assert_int_eq(CALL(t, s, "PrepareForBackup", NULL), 0);
	err = (VssErr){ 0 };
	ck_assert_int_eq(backup_complete(t, s, true, &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	ck_assert_str_eq(state(s), "prepared");

	/* nor twice */
	ck_assert_int_eq(test_create(s, NULL), 0);
	ck_assert_str_eq(state(s), "created");
	ck_assert_int_eq(backup_complete(t, s, false, NULL), 0);
	err = (VssErr){ 0 };
	ck_assert_int_eq(backup_complete(t, s, true, &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	ck_assert_str_eq(state(s), "completed");
}
END_TEST

START_TEST(abort_after_backup_complete_is_bad_state)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_created_set(t, NULL, 2);
	ck_assert_int_eq(backup_complete(t, s, true, NULL), 0);
	ck_assert_str_eq(state(s), "completed");
	ck_assert_int_eq(snapset_abort(s, &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	ck_assert_ptr_nonnull(strstr(err.message, "call Release"));
	err = (VssErr){ 0 };
	ck_assert_int_eq(CALL(t, s, "Abort", &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	ck_assert_str_eq(state(s), "completed");
	ck_assert_uint_eq(s->n_snaps, 2);
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t->dm, "VSSD-S-"), 2);
}
END_TEST

START_TEST(do_snapshot_set_twice_is_bad_state)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_created_set(t, NULL, 1);
	fake_dm_clear_calls(t->dm);
	ck_assert_int_eq(test_create(s, &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	ck_assert_str_eq(state(s), "created");
	ck_assert_ptr_null(fake_dm_calls(t->dm)[0]); /* dm untouched */
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t->dm, "VSSD-S-"), 1);
}
END_TEST

/* A mounted volume makes the freeze asynchronous (worker threads): the set stays CREATING until
 * the loop runs, and every call that would disturb the creation is refused meanwhile. */
START_TEST(calls_during_creation_are_bad_state_or_in_progress)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapset *s, *other = NULL;
	DBusMessage *m = NULL;
	VssErr err = { 0 };

	ck_assert_int_eq(test_daemon_new(&t), 0);
	fake_host_add_mount(t->host, t->devno[0], "/mnt/a");
	s = test_set(t, "backup", true);
	(void)test_add(s, 0);
	(void)test_add(s, 1);
	m = test_call_new(t, s->path, VSSD_IFACE_SET, "DoSnapshotSet", NULL);
	ck_assert_int_eq(snapset_create(s, snapset_dbus_reply_empty, dbus_message_ref(m), &err), 0);
	ck_assert_str_eq(state(s), "creating");
	ck_assert_ptr_null(test_daemon_reply_to(t, m)); /* deferred */

	err = (VssErr){ 0 };
	ck_assert_int_eq(test_create(s, &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	err = (VssErr){ 0 };
	ck_assert_int_eq(backup_complete(t, s, true, &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	err = (VssErr){ 0 };
	ck_assert_int_eq(CALL(t, s, "GatherWriterStatus", &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	err = (VssErr){ 0 };
	ck_assert_int_eq(snapset_delete_snapshot(s, s->snaps[0], "test", &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	err = (VssErr){ 0 };
	ck_assert_int_eq(test_start_set(t, ":1.77", NULL, true, false, &other, &err), -EALREADY);
	ck_assert_str_eq(kind(&err), "SnapshotSetInProgress");

	run_until_created(t, s);
	ck_assert_str_eq(state(s), "created");
	ck_assert_str_eq(reply_name(t, m), "");
	ck_assert_ptr_null(t->d.creating);
	ck_assert_uint_eq(fake_host_count_frozen(t->host), 0);
	ck_assert_uint_eq(fake_host_freezes(t->host), 1);
	dbus_message_unref(m);
}
END_TEST

/* With a mount in the set, creation runs a syncfs pass from threads first: the loop turns
 * until the file-system freeze has started. */
static void wait_for_freeze_stage(TestDaemon *t, Snapset *s)
{
	for (int i = 0; i < 100 && !s->freeze_io; i++)
		ck_assert_int_ge(sd_event_run(t->d.event, 10 * USEC_PER_SEC), 0);
}

START_TEST(abort_during_creation_rolls_back_and_thaws)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	DBusMessage *m = NULL;
	VssErr err = { 0 };
	struct pollfd p = { .events = POLLIN };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	fake_host_add_mount(t->host, t->devno[0], "/mnt/a");
	s = test_set(t, "backup", true);
	(void)test_add(s, 0);
	(void)test_add(s, 1);
	m = test_call_new(t, s->path, VSSD_IFACE_SET, "DoSnapshotSet", NULL);
	ck_assert_int_eq(snapset_create(s, snapset_dbus_reply_empty, dbus_message_ref(m), &err), 0);
	ck_assert_str_eq(state(s), "creating");
	wait_for_freeze_stage(t, s);
	/* wait (without running the loop) until the worker froze /mnt/a */
	ck_assert_ptr_nonnull(s->freeze_io);
	p.fd = sd_event_source_get_io_fd(s->freeze_io);
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	ck_assert_uint_eq(fake_host_count_frozen(t->host), 1);

	ck_assert_int_eq(CALL(t, s, "Abort", NULL), 0);
	ck_assert_str_eq(state(s), "aborted");
	ck_assert_str_eq(reply_name(t, m), ERR("BadState")); /* DoSnapshotSet's deferred reply */
	ck_assert_uint_eq(s->n_snaps, 0);
	ck_assert_ptr_null(t->d.creating);
	assert_dm_clean(t);
	dbus_message_unref(m);
}
END_TEST

/* ---- no writers ----------------------------------------------------------------------------- */

START_TEST(no_writers_context_may_skip_metadata_and_prepare)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	/* file-share-backup has no writers by its context */
	s = test_set(t, "file-share-backup", false);
	ck_assert(!s->writers);
	ck_assert(s->attributes & VSS_ATTR_NO_WRITERS);
	(void)test_add(s, 0);
	ck_assert_int_eq(test_create(s, NULL), 0);
	ck_assert_str_eq(state(s), "created");
	snapset_release(s);

	/* backup with no-writers: PrepareForBackup right after StartSnapshotSet is fine too */
	s = test_set(t, "backup", true);
	ck_assert(!s->writers);
	(void)test_add(s, 0);
	ck_assert_int_eq(CALL(t, s, "PrepareForBackup", NULL), 0);
	ck_assert_str_eq(state(s), "prepared");
	ck_assert_int_eq(test_create(s, NULL), 0);
	ck_assert_str_eq(state(s), "created");
}
END_TEST

START_TEST(writer_context_flow_with_no_writer_registered)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	DBusMessage *m, *reply;
	DBusMessageIter it;
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_set(t, NULL, false);
	ck_assert(s->writers);
	ck_assert_str_eq(snapset_context_to_string(s->context), "backup");
	(void)test_add(s, 0);
	(void)test_add(s, 1);

	/* Identify to nobody finishes at once: the reply is an empty list */
	ck_assert_int_eq(set_call(t, s, "GatherWriterMetadata", NULL, &m, NULL, DBUS_TYPE_INVALID),
	                 0);
	ck_assert_str_eq(state(s), "gathered");
	reply = test_daemon_reply_to(t, m);
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(dbus_message_get_signature(reply), "aa{sv}");
	ck_assert(dbus_message_iter_init(reply, &it));
	ck_assert_int_eq(dbus_message_iter_get_element_count(&it), 0);
	dbus_message_unref(m);

	ck_assert_int_eq(set_call(t, s, "PrepareForBackup", NULL, &m, NULL, DBUS_TYPE_INVALID), 0);
	ck_assert_str_eq(state(s), "prepared");
	ck_assert_str_eq(reply_name(t, m), "");
	dbus_message_unref(m);

	ck_assert_int_eq(test_create(s, NULL), 0);
	ck_assert_str_eq(state(s), "created");
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t->dm, "VSSD-S-"), 2);
	ck_assert_int_eq(CALL(t, s, "GatherWriterStatus", NULL), 0);
	ck_assert_int_eq(backup_complete(t, s, true, NULL), 0);
	ck_assert_str_eq(state(s), "completed");
	ck_assert_int_eq(CALL(t, s, "Release", NULL), 0); /* frees s */
	ck_assert_uint_eq(t->d.n_sets, 0);
	assert_dm_clean(t);
}
END_TEST

/* CreateSnapshotSet: gather, prepare, create in one call; with nobody to wait for, the reply
 * (o set, ao snapshots) is sent before the handler returns. */
static void create_snapshot_set(TestDaemon *t, bool no_writers)
{
	const char *vols[] = { "/dev/mapper/a", "/dev/mapper/b" };
	DBusMessage *m, *reply;
	DBusMessageIter it, dict;
	BusCaller c = test_caller(TEST_DAEMON_OWNER, 0);
	char **paths = NULL;
	const char *set_path = NULL;
	int n = 0;
	VssErr err = { 0 };
	Snapset *s;

	m = test_call_new(t, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER, "CreateSnapshotSet", NULL);
	ck_assert(dbus_message_append_args(m, DBUS_TYPE_ARRAY, DBUS_TYPE_STRING,
	                                   &(const char **){ vols }, 2, DBUS_TYPE_INVALID));
	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(bus_dict_open(&it, &dict), 0);
	if (no_writers)
		ck_assert_int_eq(bus_dict_add_bool(&dict, "no-writers", true), 0);
	ck_assert_int_eq(bus_dict_close(&it, &dict), 0);

	ck_assert_int_eq(test_daemon_call(t, &daemon_manager_interface, &t->d, m, &c, &err), 0);
	ck_assert_uint_eq(t->d.n_sets, 1);
	s = t->d.sets[0];
	ck_assert_str_eq(state(s), "created");
	ck_assert_ptr_null(t->d.creating);
	ck_assert_int_eq(s->writers, !no_writers);

	reply = test_daemon_reply_to(t, m);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(dbus_message_get_type(reply), DBUS_MESSAGE_TYPE_METHOD_RETURN);
	ck_assert_str_eq(dbus_message_get_signature(reply), "oao");
	ck_assert(dbus_message_get_args(reply, NULL, DBUS_TYPE_OBJECT_PATH, &set_path,
	                                DBUS_TYPE_ARRAY, DBUS_TYPE_OBJECT_PATH, &paths, &n,
	                                DBUS_TYPE_INVALID));
	ck_assert_str_eq(set_path, s->path);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(paths[0], s->snaps[0]->path);
	ck_assert_str_eq(paths[1], s->snaps[1]->path);
	dbus_free_string_array(paths);
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t->dm, "VSSD-S-"), 2);
	ck_assert_uint_eq(test_daemon_count_sent(t, DBUS_MESSAGE_TYPE_METHOD_RETURN, NULL), 1);
	dbus_message_unref(m);
}

START_TEST(create_snapshot_set_without_writers_completes_synchronously)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	create_snapshot_set(t, true);
}
END_TEST

START_TEST(create_snapshot_set_with_no_writer_registered_completes_synchronously)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	create_snapshot_set(t, false);
}
END_TEST

START_TEST(create_snapshot_set_with_a_bad_volume_leaves_nothing)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	const char *vols[] = { "/dev/mapper/a", "/dev/mapper/nope" };
	DBusMessage *m;
	DBusMessageIter it, dict;
	BusCaller c = test_caller(TEST_DAEMON_OWNER, 0);
	VssErr err = { 0 };
	Snapset *s = NULL;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	m = test_call_new(t, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER, "CreateSnapshotSet", NULL);
	ck_assert(dbus_message_append_args(m, DBUS_TYPE_ARRAY, DBUS_TYPE_STRING,
	                                   &(const char **){ vols }, 2, DBUS_TYPE_INVALID));
	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(bus_dict_open(&it, &dict), 0);
	ck_assert_int_eq(bus_dict_close(&it, &dict), 0);
	ck_assert_int_lt(test_daemon_call(t, &daemon_manager_interface, &t->d, m, &c, &err), 0);
	ck_assert_str_eq(kind(&err), "ObjectNotFound");
	ck_assert_uint_eq(t->d.n_sets, 0);
	ck_assert_ptr_null(t->d.creating);
	assert_dm_clean(t);
	dbus_message_unref(m);

	/* and the next set may start */
	ck_assert_int_eq(test_start_set(t, NULL, NULL, true, false, &s, NULL), 0);
}
END_TEST

/* CreateSnapshotSet(volumes, options) as caller TEST_DAEMON_OWNER; exclude: that many
 * exclude-writer-classes (0: none) */
static int create_call(TestDaemon *t, const char **vols, int n, int exclude, VssErr *err)
{
	BusCaller c = test_caller(TEST_DAEMON_OWNER, 0);
	DBusMessageIter it, dict, e, v, a;
	const char *key = "exclude-writer-classes", *cls = "c65cebd2-542e-4094-981e-dd9a53d7634f";
	DBusMessage *m;
	int r;

	m = test_call_new(t, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER, "CreateSnapshotSet", NULL);
	ck_assert(dbus_message_append_args(m, DBUS_TYPE_ARRAY, DBUS_TYPE_STRING, &vols, n,
	                                   DBUS_TYPE_INVALID));
	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(bus_dict_open(&it, &dict), 0);
	if (exclude > 0) {
		ck_assert(dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL, &e));
		ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key));
		ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "as", &v));
		ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "s", &a));
		for (int i = 0; i < exclude; i++)
			ck_assert(dbus_message_iter_append_basic(&a, DBUS_TYPE_STRING, &cls));
		ck_assert(dbus_message_iter_close_container(&v, &a));
		ck_assert(dbus_message_iter_close_container(&e, &v));
		ck_assert(dbus_message_iter_close_container(&dict, &e));
	}
	ck_assert_int_eq(bus_dict_close(&it, &dict), 0);
	r = test_daemon_call(t, &daemon_manager_interface, &t->d, m, &c, err);
	dbus_message_unref(m);
	return r;
}

/* Arrays are counted before they are read: 200000 volumes are refused at once, and a 65th
 * volume that is not even valid text is refused for the count, not for its text. */
START_TEST(create_snapshot_set_counts_volumes_before_reading_them)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	const int n = 200000;
	_cleanup_free_ const char **vols = calloc(n, sizeof(char *));
	VssErr err = { 0 };

	ck_assert_int_eq(test_daemon_new(&t), 0);
	ck_assert_ptr_nonnull(vols);
	for (int i = 0; i < n; i++)
		vols[i] = "/dev/mapper/a";
	ck_assert_int_eq(create_call(t, vols, n, 0, &err), -E2BIG);
	ck_assert_str_eq(kind(&err), "MaximumNumberOfVolumesReached");
	ck_assert_str_eq(err.message, "200000 volumes given; a shadow copy set holds at most 64");
	ck_assert_uint_eq(t->d.n_sets, 0);

	vols[VSSD_VOLUMES_PER_SET_MAX] = "bad\001";
	err = (VssErr){ 0 };
	ck_assert_int_eq(create_call(t, vols, VSSD_VOLUMES_PER_SET_MAX + 1, 0, &err), -E2BIG);
	ck_assert_str_eq(kind(&err), "MaximumNumberOfVolumesReached");

	/* an option array: exclude-writer-classes has its own count */
	err = (VssErr){ 0 };
	ck_assert_int_eq(create_call(t, vols, 1, VSSD_WRITERS_MAX + 1, &err), -E2BIG);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	ck_assert_str_eq(err.message, "option \"exclude-writer-classes\" has 1025 elements; at "
	                              "most 1024 are allowed");
	ck_assert_uint_eq(t->d.n_sets, 0);
	assert_dm_clean(t);

	/* at the limits: fine */
	err = (VssErr){ 0 };
	ck_assert_int_eq(create_call(t, vols, 1, VSSD_WRITERS_MAX, &err), 0);
	ck_assert_uint_eq(t->d.n_sets, 1);
}
END_TEST

START_TEST(create_snapshot_set_fails_when_a_writer_cannot_be_reached)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	const char *vols[] = { "/dev/mapper/a" };
	DBusMessage *m;
	DBusMessageIter it, dict;
	BusCaller c = test_caller(TEST_DAEMON_OWNER, 0);
	VssErr err = { 0 };

	ck_assert_int_eq(test_daemon_new(&t), 0);
	(void)test_writer(t, "db", NULL);
	m = test_call_new(t, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER, "CreateSnapshotSet", NULL);
	ck_assert(dbus_message_append_args(m, DBUS_TYPE_ARRAY, DBUS_TYPE_STRING,
	                                   &(const char **){ vols }, 1, DBUS_TYPE_INVALID));
	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(bus_dict_open(&it, &dict), 0);
	ck_assert_int_eq(bus_dict_close(&it, &dict), 0);
	ck_assert_int_eq(test_daemon_call(t, &daemon_manager_interface, &t->d, m, &c, &err), 0);
	ck_assert_str_eq(reply_name(t, m), ERR("WriterNotResponding"));
	ck_assert_uint_eq(test_daemon_count_sent(t, DBUS_MESSAGE_TYPE_ERROR, NULL), 1);
	ck_assert_uint_eq(t->d.n_sets, 1);
	ck_assert_str_eq(state(t->d.sets[0]), "failed");
	ck_assert_ptr_null(t->d.creating);
	assert_dm_clean(t);
	dbus_message_unref(m);
	snapset_release(t->d.sets[0]);
	ck_assert_uint_eq(t->d.n_sets, 0);
}
END_TEST

/* ---- SnapshotSetInProgress ------------------------------------------------------------------ */

static void assert_in_progress(TestDaemon *t)
{
	VssErr err = { 0 };
	Snapset *other = NULL;

	ck_assert_int_eq(test_start_set(t, ":1.77", NULL, true, false, &other, &err), -EALREADY);
	ck_assert_str_eq(kind(&err), "SnapshotSetInProgress");
	ck_assert_ptr_nonnull(strstr(err.message, t->d.creating->id_str));
}

static void assert_may_start(TestDaemon *t)
{
	Snapset *other = NULL;
	VssErr err = { 0 };

	ck_assert_ptr_null(t->d.creating);
	ck_assert_msg(test_start_set(t, ":1.77", NULL, true, false, &other, &err) == 0, "%s",
	              err.message);
	ck_assert_ptr_eq(t->d.creating, other);
}

START_TEST(in_progress_from_start_until_created)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_set(t, NULL, true);
	ck_assert_ptr_eq(t->d.creating, s);
	assert_in_progress(t);
	(void)test_add(s, 0);
	assert_in_progress(t);
	ck_assert_int_eq(test_create(s, NULL), 0);
	ck_assert_str_eq(state(s), "created");
	assert_may_start(t);
}
END_TEST

START_TEST(in_progress_cleared_on_failure)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_set(t, NULL, true);
	(void)test_add(s, 0);
	fake_dm_fail_nth(t->dm, FAKE_DM_CREATE, 1, -ENOMEM);
	ck_assert_int_eq(test_create(s, NULL), 0); /* replied with the error */
	ck_assert_str_eq(state(s), "failed");
	assert_may_start(t);
}
END_TEST

START_TEST(in_progress_cleared_on_abort)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_set(t, NULL, false);
	(void)test_add(s, 0);
	ck_assert_int_eq(CALL(t, s, "GatherWriterMetadata", NULL), 0);
	ck_assert_ptr_eq(t->d.creating, s);
	ck_assert_int_eq(CALL(t, s, "Abort", NULL), 0);
	ck_assert_str_eq(state(s), "aborted");
	assert_may_start(t);
}
END_TEST

START_TEST(in_progress_cleared_on_release)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_set(t, NULL, true);
	(void)test_add(s, 0);
	(void)test_add(s, 1);
	snapset_release(s); /* the owner left before DoSnapshotSet: the set goes */
	ck_assert_uint_eq(t->d.n_sets, 0);
	assert_dm_clean(t);
	assert_may_start(t);
}
END_TEST

/* A writer that cannot be reached fails PrepareForBackup (strict), which fails the set */
START_TEST(in_progress_cleared_when_prepare_fails)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	DBusMessage *m;
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	(void)test_writer(t, "db", NULL);
	s = test_set(t, NULL, false);
	(void)test_add(s, 0);
	/* Identify is not strict: a writer that does not answer is left out of the metadata */
	ck_assert_int_eq(set_call(t, s, "GatherWriterMetadata", NULL, &m, NULL, DBUS_TYPE_INVALID),
	                 0);
	ck_assert_str_eq(state(s), "gathered");
	ck_assert_str_eq(reply_name(t, m), "");
	dbus_message_unref(m);
	ck_assert_uint_eq(s->n_involved, 1);

	ck_assert_int_eq(set_call(t, s, "PrepareForBackup", NULL, &m, NULL, DBUS_TYPE_INVALID), 0);
	ck_assert_str_eq(state(s), "failed");
	ck_assert_str_eq(reply_name(t, m), ERR("WriterNotResponding"));
	dbus_message_unref(m);
	assert_may_start(t);
	assert_dm_clean(t);
}
END_TEST

/* ---- release -------------------------------------------------------------------------------- */

START_TEST(release_deletes_auto_release_shadow_copies)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	char snap_a[128], snap_b[128], path_a[128];
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_created_set(t, "backup", 2);
	ck_assert(s->auto_release);
	snprintf(snap_a, sizeof(snap_a), "%s", test_dm(s->snaps[0])->snap_name);
	snprintf(snap_b, sizeof(snap_b), "%s", test_dm(s->snaps[1])->snap_name);
	snprintf(path_a, sizeof(path_a), "%s", s->snaps[0]->path);
	ck_assert(fake_dm_exists(t->dm, snap_a));
	ck_assert(fake_dm_exists(t->dm, "a-vssd-real"));
	ck_assert_ptr_nonnull(startswith(fake_dm_live(t->dm, "a"), "snapshot-origin "));
	ck_assert(bus_has_object(&t->d.bus, path_a));

	snapset_release(s); /* frees s: no owner, no shadow copies */
	ck_assert_uint_eq(t->d.n_sets, 0);
	/* vssd deleted them on its own: each one is signalled with its reason */
	ck_assert_uint_eq(test_daemon_count_sent(t, DBUS_MESSAGE_TYPE_SIGNAL, "SnapshotDeleted"),
	                  2);
	ck_assert(!fake_dm_exists(t->dm, snap_a));
	ck_assert(!fake_dm_exists(t->dm, snap_b));
	ck_assert(!fake_dm_exists(t->dm, "a-vssd-real"));
	ck_assert(!bus_has_object(&t->d.bus, path_a));
	assert_dm_clean(t); /* a and b have their linear tables back */
}
END_TEST

START_TEST(release_keeps_persistent_shadow_copies_and_forgets_the_owner)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_created_set(t, "persistent", 2);
	ck_assert(!s->auto_release);
	ck_assert(s->attributes & VSS_ATTR_PERSISTENT);
	snapset_release(s);
	ck_assert(has_set(t, s));
	ck_assert_ptr_null(s->owner);
	ck_assert_str_eq(state(s), "created");
	ck_assert_uint_eq(s->n_snaps, 2);
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t->dm, "VSSD-S-"), 2);
	ck_assert(fake_dm_exists(t->dm, test_dm(s->snaps[0])->snap_name));

	/* the former owner cannot drive it any more */
	ck_assert_int_eq(backup_complete(t, s, true, &err), -EACCES);
	ck_assert_str_eq(kind(&err), "AccessDenied");
	ck_assert_ptr_nonnull(strstr(err.message, "released"));
}
END_TEST

START_TEST(release_keeps_no_auto_release_shadow_copies)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapset *s = NULL;
	VssErr err = { 0 };

	ck_assert_int_eq(test_daemon_new(&t), 0);
	ck_assert_int_eq(test_start_set(t, NULL, "backup", true, true, &s, &err), 0);
	ck_assert(!s->auto_release);
	ck_assert(s->attributes & VSS_ATTR_NO_AUTO_RELEASE);
	(void)test_add(s, 0);
	ck_assert_int_eq(test_create(s, NULL), 0);
	snapset_release(s);
	ck_assert(has_set(t, s));
	ck_assert_ptr_null(s->owner);
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t->dm, "VSSD-S-"), 1);
	ck_assert_uint_eq(test_daemon_count_sent(t, DBUS_MESSAGE_TYPE_SIGNAL, "SnapshotDeleted"),
	                  0);
}
END_TEST

START_TEST(auto_release_failure_keeps_the_shadow_copy)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_created_set(t, "backup", 1);
	fake_dm_fail_nth(t->dm, FAKE_DM_REMOVE, 1, -EBUSY); /* someone holds the device open */
	snapset_release(s);
	ck_assert(has_set(t, s)); /* kept, visible, deletable later */
	ck_assert_ptr_null(s->owner);
	ck_assert_uint_eq(s->n_snaps, 1);
	ck_assert(fake_dm_exists(t->dm, test_dm(s->snaps[0])->snap_name));
	ck_assert_int_eq(snapset_delete_snapshot(s, s->snaps[0], "test", NULL), 0); /* frees s */
	ck_assert_uint_eq(t->d.n_sets, 0);
	assert_dm_clean(t);
}
END_TEST

START_TEST(deleting_the_last_shadow_copy_of_a_released_set_frees_it)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_created_set(t, "persistent", 2);
	snapset_release(s);
	ck_assert_int_eq(snapset_delete_snapshot(s, s->snaps[0], "test", NULL), 0);
	ck_assert(has_set(t, s));
	ck_assert_uint_eq(s->n_snaps, 1);
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t->dm, "VSSD-S-"), 1);
	ck_assert_int_eq(snapset_delete_snapshot(s, s->snaps[0], "test", NULL), 0); /* frees s */
	ck_assert_uint_eq(t->d.n_sets, 0);
	assert_dm_clean(t);
}
END_TEST

/* The requester is killed during DoSnapshotSet: the creation rolls back, nothing stays held */
START_TEST(owner_gone_during_creation_rolls_back)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	struct pollfd p = { .events = POLLIN };
	DBusMessage *m;
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	fake_host_add_mount(t->host, t->devno[1], "/mnt/b");
	s = test_set(t, "persistent", true);
	(void)test_add(s, 0);
	(void)test_add(s, 1);
	m = test_call_new(t, s->path, VSSD_IFACE_SET, "DoSnapshotSet", NULL);
	ck_assert_int_eq(snapset_create(s, snapset_dbus_reply_empty, dbus_message_ref(m), NULL), 0);
	ck_assert_str_eq(state(s), "creating");
	wait_for_freeze_stage(t, s);
	p.fd = sd_event_source_get_io_fd(s->freeze_io);
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	snapset_release(s); /* frees s: nothing was created */
	ck_assert_uint_eq(t->d.n_sets, 0);
	ck_assert_ptr_null(t->d.creating);
	ck_assert_ptr_nonnull(test_daemon_reply_to(t, m));
	assert_dm_clean(t);
	dbus_message_unref(m);
}
END_TEST

/* ---- abort ---------------------------------------------------------------------------------- */

START_TEST(abort_drops_shadow_copies_not_created_yet)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	char path_a[128];
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_set(t, "backup", true);
	snprintf(path_a, sizeof(path_a), "%s", test_add(s, 0)->path);
	(void)test_add(s, 1);
	ck_assert(bus_has_object(&t->d.bus, path_a));
	ck_assert_int_eq(snapset_abort(s, &err), 0);
	ck_assert_str_eq(state(s), "aborted");
	ck_assert_uint_eq(s->n_snaps, 0);
	ck_assert(!bus_has_object(&t->d.bus, path_a));
	ck_assert_uint_eq(s->n_engines, 0);
	assert_dm_clean(t);

	/* aborted is final: no volume, no creation; a second Abort is harmless */
	ck_assert_int_eq(snapset_add_volume(s, "/dev/mapper/a", "", &(Snapshot *){ NULL }, &err),
	                 -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	err = (VssErr){ 0 };
	ck_assert_int_eq(test_create(s, &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	ck_assert_int_eq(snapset_abort(s, NULL), 0);
	ck_assert_str_eq(state(s), "aborted");
	/* the owner's Release frees it */
	snapset_release(s);
	ck_assert_uint_eq(t->d.n_sets, 0);
}
END_TEST

START_TEST(abort_after_creation_keeps_shadow_copies_until_release)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_created_set(t, "backup", 2);
	ck_assert_int_eq(snapset_abort(s, NULL), 0);
	ck_assert_str_eq(state(s), "aborted");
	ck_assert_uint_eq(s->n_snaps, 2);
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t->dm, "VSSD-S-"), 2);
	snapset_release(s);
	ck_assert_uint_eq(t->d.n_sets, 0);
	assert_dm_clean(t);
}
END_TEST

/* ---- engine failures ------------------------------------------------------------------------ */

static void engine_failure(FakeDmOp op, unsigned nth)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	DBusMessage *m;
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_set(t, "backup", true);
	for (size_t i = 0; i < 3; i++)
		(void)test_add(s, i);
	fake_dm_fail_nth(t->dm, op, nth, -ENOMEM);
	m = test_call_new(t, s->path, VSSD_IFACE_SET, "DoSnapshotSet", NULL);
	ck_assert_int_eq(snapset_create(s, snapset_dbus_reply_empty, dbus_message_ref(m), &err),
	                 0); /* the failure is the reply */
	ck_assert_str_eq(state(s), "failed");
	ck_assert_ptr_nonnull(startswith(reply_name(t, m), VSS_ERROR_PREFIX));
	ck_assert_ptr_null(t->d.creating);
	ck_assert_uint_eq(s->n_engines, 0);
	assert_dm_clean(t);
	dbus_message_unref(m);

	/* the failed set cannot be completed or created again; Release frees it */
	err = (VssErr){ 0 };
	ck_assert_int_eq(backup_complete(t, s, true, &err), -EBUSY);
	ck_assert_int_eq(test_create(s, NULL), -EBUSY);
	snapset_release(s);
	ck_assert_uint_eq(t->d.n_sets, 0);
	assert_dm_clean(t);
}

START_TEST(table_load_failure_leaves_failed_set_and_clean_dm)
{
	engine_failure(FAKE_DM_LOAD, 2); /* the second table load of prepare */
}
END_TEST

START_TEST(suspend_failure_leaves_failed_set_and_clean_dm)
{
	engine_failure(FAKE_DM_SUSPEND, 2); /* the second origin, during the hold */
}
END_TEST

START_TEST(resume_failure_leaves_failed_set_and_clean_dm)
{
	engine_failure(FAKE_DM_RESUME, 1); /* the first snapshot resume of the commit */
}
END_TEST

/* ---- state file ----------------------------------------------------------------------------- */

START_TEST(state_file_holds_created_sets_only)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	TestDaemonOptions o = { .state_file = true };
	_cleanup_free_ char *error = NULL;
	State st = STATE_NULL;
	Snapset *s, *p;
	StateSet *x;

	ck_assert_int_eq(test_daemon_new_opts(&t, &o), 0);
	p = test_created_set(t, "persistent", 2);
	ck_assert_int_eq(state_load(t->d.state_path, &st, &error), 0);
	ck_assert_uint_eq(st.n_sets, 1);
	x = state_find_set(&st, &p->id);
	ck_assert_ptr_nonnull(x);
	ck_assert_str_eq(x->state, "created");
	ck_assert_str_eq(x->context, "persistent");
	ck_assert_uint_eq(x->n_snapshots, 2);
	ck_assert_str_eq(x->snapshots[0].state, "created");
	ck_assert_str_eq(state_provider_string(&x->snapshots[0], "snap_name"),
	                 test_dm(p->snaps[0])->snap_name);
	state_done(&st);

	/* a set being started is not durable yet */
	s = test_set(t, "backup", true);
	(void)test_add(s, 2);
	ck_assert_int_eq(state_load(t->d.state_path, &st, &error), 0);
	ck_assert_uint_eq(st.n_sets, 1);
	state_done(&st);
	ck_assert_int_eq(test_create(s, NULL), 0);
	ck_assert_int_eq(state_load(t->d.state_path, &st, &error), 0);
	ck_assert_uint_eq(st.n_sets, 2);
	state_done(&st);

	/* a failed creation leaves no entry */
	{
		Snapset *f = NULL;

		ck_assert_int_eq(test_start_set(t, ":1.77", NULL, true, false, &f, NULL), 0);
		(void)test_add(f, 0);
		fake_dm_fail_nth(t->dm, FAKE_DM_SUSPEND, 1, -EIO);
		ck_assert_int_eq(test_create(f, NULL), 0);
		ck_assert_str_eq(state(f), "failed");
		ck_assert_int_eq(state_load(t->d.state_path, &st, &error), 0);
		ck_assert_uint_eq(st.n_sets, 2);
		ck_assert_ptr_null(state_find_set(&st, &f->id));
		state_done(&st);
	}

	/* an auto-release set leaves the file with its release; the persistent one stays */
	snapset_release(s);
	snapset_release(p);
	ck_assert_int_eq(state_load(t->d.state_path, &st, &error), 0);
	ck_assert_uint_eq(st.n_sets, 1);
	ck_assert_ptr_nonnull(state_find_set(&st, &p->id));
	state_done(&st);
}
END_TEST

/* Between the writers' Freeze and their Thaw nothing is written to the state file: an fsync
 * there keeps the writers frozen. Two records: the intent before the dm changes, "created" after
 * the Thaw. */
START_TEST(state_is_not_saved_while_writers_are_frozen)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	TestDaemonOptions o = { .state_file = true };
	_cleanup_free_ char *error = NULL;
	State st = STATE_NULL;
	unsigned before;
	Snapset *s;

	ck_assert_int_eq(test_daemon_new_opts(&t, &o), 0);
	fake_host_add_mount(t->host, t->devno[0], "/mnt/a");
	s = test_set(t, "persistent", true);
	(void)test_add(s, 0);
	(void)test_add(s, 1);
	before = t->d.n_state_saves;
	ck_assert_int_eq(test_create(s, NULL), 0);
	ck_assert_uint_eq(t->d.n_state_saves, before + 1); /* the intent record */
	run_until_created(t, s);
	ck_assert_str_eq(state(s), "created");
	ck_assert_uint_eq(t->d.n_state_saves, before + 2); /* and "created", nothing between */
	ck_assert_int_eq(state_load(t->d.state_path, &st, &error), 0);
	ck_assert_str_eq(state_find_set(&st, &s->id)->state, "created");
	ck_assert_str_eq(state_find_set(&st, &s->id)->snapshots[1].state, "created");
	state_done(&st);
}
END_TEST

/* AddVolume refuses a volume that holds vssd's state directory or the volume's own shadow
 * storage, naming the directory: saving state or growing a COW there while the volume is
 * frozen would wait for a thaw only vssd can do. */
START_TEST(a_volume_holding_the_state_or_its_storage_is_refused)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *snap = NULL;
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	free(t->d.state_dir);
	t->d.state_dir = strdup("/srv/vssd-state");
	fake_host_add_dir(t->host, "/srv/vssd-state", t->devno[0]);
	fake_host_add_dir(t->host, "/mnt/b/shadow", t->devno[1]);
	ck_assert_int_eq(storage_restore(&t->d, "/dev/mapper/b", "/mnt/b/shadow", 1ULL << 30), 0);
	s = test_set(t, "backup", true);

	ck_assert_int_eq(snapset_add_volume(s, "/dev/mapper/a", "", &snap, &err), -ELOOP);
	ck_assert_str_eq(kind(&err), "VolumeNotSupported");
	ck_assert_ptr_nonnull(strstr(err.message, "state directory /srv/vssd-state"));
	err = (VssErr){ 0 };
	ck_assert_int_eq(snapset_add_volume(s, "/dev/mapper/b", "", &snap, &err), -ELOOP);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	ck_assert_ptr_nonnull(strstr(err.message, "/mnt/b/shadow"));
	ck_assert_uint_eq(s->n_snaps, 0);
	(void)test_add(s, 2); /* the others are fine */
	ck_assert_uint_eq(s->n_snaps, 1);
}
END_TEST

/* ---- limits --------------------------------------------------------------------------------- */

START_TEST(sixty_fifth_volume_is_refused)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	TestDaemonOptions o = { .n_volumes = VSSD_VOLUMES_PER_SET_MAX + 1 };
	Snapshot *snap = NULL;
	VssErr err = { 0 };
	char p[64];
	Snapset *s;

	ck_assert_int_eq(test_daemon_new_opts(&t, &o), 0);
	s = test_set(t, NULL, true);
	for (size_t i = 0; i < VSSD_VOLUMES_PER_SET_MAX; i++)
		(void)test_add(s, i);
	ck_assert_int_eq(snapset_add_volume(s, test_daemon_volume_path(t, 64, p), "", &snap, &err),
	                 -E2BIG);
	ck_assert_str_eq(kind(&err), "MaximumNumberOfVolumesReached");
	ck_assert_uint_eq(s->n_snaps, VSSD_VOLUMES_PER_SET_MAX);
	ck_assert_ptr_null(snap);
}
END_TEST

START_TEST(duplicate_volume_is_refused)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *snap = NULL;
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	/* another path to the same block device is the same volume */
	fake_host_add_block(t->host, "/dev/dm-0", t->devno[0]);
	s = test_set(t, NULL, true);
	(void)test_add(s, 0);
	ck_assert_int_eq(snapset_add_volume(s, "/dev/mapper/a", "", &snap, &err), -EEXIST);
	ck_assert_str_eq(kind(&err), "ObjectAlreadyExists");
	err = (VssErr){ 0 };
	ck_assert_int_eq(snapset_add_volume(s, "/dev/dm-0", "", &snap, &err), -EEXIST);
	ck_assert_str_eq(kind(&err), "ObjectAlreadyExists");
	ck_assert_uint_eq(s->n_snaps, 1);
}
END_TEST

START_TEST(provider_must_be_ours_or_empty)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *snap = NULL;
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_set(t, NULL, true);
	ck_assert_int_eq(snapset_add_volume(s, "/dev/mapper/a", "zfs", &snap, &err), -ENOENT);
	ck_assert_str_eq(kind(&err), "ObjectNotFound");
	ck_assert_ptr_nonnull(strstr(err.message, PROVIDER_DMSNAP_NAME));
	ck_assert_uint_eq(s->n_snaps, 0);
	ck_assert_int_eq(snapset_add_volume(s, "/dev/mapper/a", PROVIDER_DMSNAP_NAME, &snap, NULL),
	                 0);
	ck_assert_int_eq(snapset_add_volume(s, "/dev/mapper/b", PROVIDER_DMSNAP_ID, &snap, NULL),
	                 0);
	ck_assert_uint_eq(s->n_snaps, 2);
}
END_TEST

START_TEST(bad_volumes_are_refused_with_their_reason)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *snap = NULL;
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	fake_host_add_file(t->host, "/etc/hostname");
	s = test_set(t, NULL, true);
	ck_assert_int_eq(snapset_add_volume(s, "/dev/mapper/nope", "", &snap, &err), -ENOENT);
	ck_assert_str_eq(kind(&err), "ObjectNotFound");
	err = (VssErr){ 0 };
	ck_assert_int_eq(snapset_add_volume(s, "/etc/hostname", "", &snap, &err), -ENOTBLK);
	ck_assert_str_eq(kind(&err), "VolumeNotSupported");
	err = (VssErr){ 0 };
	ck_assert_int_eq(snapset_add_volume(s, "relative", "", &snap, &err), -EINVAL);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	ck_assert_uint_eq(s->n_snaps, 0);
	ck_assert_ptr_eq(t->d.creating, s);
}
END_TEST

START_TEST(client_accessible_shadow_copies_stop_at_max_shadow_copies)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *snap = NULL;
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	t->d.config.max_shadow_copies = 2;
	(void)test_created_set(t, "client-accessible", 1);
	(void)test_created_set(t, "client-accessible", 1);
	/* other contexts do not count */
	(void)test_created_set(t, "persistent", 1);

	s = test_set(t, "client-accessible", false);
	ck_assert_int_eq(snapset_add_volume(s, "/dev/mapper/a", "", &snap, &err), -E2BIG);
	ck_assert_str_eq(kind(&err), "MaximumNumberOfSnapshotsReached");
	ck_assert_ptr_nonnull(strstr(err.message, "max-shadow-copies"));
	ck_assert_uint_eq(s->n_snaps, 0);
	/* another volume is fine, and so is a in another context */
	ck_assert_int_eq(snapset_add_volume(s, "/dev/mapper/b", "", &snap, NULL), 0);
	snapset_release(s);
	s = test_set(t, "backup", true);
	ck_assert_int_eq(snapset_add_volume(s, "/dev/mapper/a", "", &snap, NULL), 0);
}
END_TEST

START_TEST(only_the_owner_drives_the_set)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	const char *vol = "/dev/mapper/a", *prov = "";
	VssErr err = { 0 };
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_set(t, NULL, true);
	ck_assert_int_eq(set_call(t, s, "AddVolume", ":1.99", NULL, &err, DBUS_TYPE_STRING, &vol,
	                          DBUS_TYPE_STRING, &prov, DBUS_TYPE_INVALID),
	                 -EACCES);
	ck_assert_str_eq(kind(&err), "AccessDenied");
	err = (VssErr){ 0 };
	ck_assert_int_eq(set_call(t, s, "Release", ":1.99", NULL, &err, DBUS_TYPE_INVALID),
	                 -EACCES);
	ck_assert_str_eq(kind(&err), "AccessDenied");
	ck_assert_uint_eq(s->n_snaps, 0);
	ck_assert_ptr_eq(t->d.creating, s);
	ck_assert_int_eq(set_call(t, s, "AddVolume", NULL, NULL, NULL, DBUS_TYPE_STRING, &vol,
	                          DBUS_TYPE_STRING, &prov, DBUS_TYPE_INVALID),
	                 0);
	ck_assert_uint_eq(s->n_snaps, 1);
}
END_TEST

START_TEST(sets_per_uid_is_a_limit)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapset *s = NULL;
	VssErr err = { 0 };

	ck_assert_int_eq(test_daemon_new(&t), 0);
	t->d.config.sets_per_uid = 1;
	(void)test_created_set(t, NULL, 1);
	ck_assert_int_eq(test_start_set(t, ":1.77", NULL, true, false, &s, &err), -EACCES);
	ck_assert_str_eq(kind(&err), "AccessDenied");
	ck_assert_uint_eq(t->d.n_sets, 1);
	ck_assert_ptr_null(t->d.creating);
}
END_TEST

/* Snapshot.Delete on a shadow copy of a set being built is refused, and whatever happens to a
 * set's volumes, each object gets the device made from its own volume: they are paired by id. */
START_TEST(delete_before_creation_is_bad_state_and_devices_stay_with_their_volumes)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	BusCaller c = test_caller(TEST_DAEMON_OWNER, 0);
	Snapshot *a, *b, *x;
	VssErr err = { 0 };
	DBusMessage *m;
	char p[64];
	Snapset *s;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_set(t, "backup", true);
	a = test_add(s, 0);
	b = test_add(s, 1);
	(void)test_add(s, 2);

	m = test_call_new(t, a->path, VSSD_IFACE_SNAP, "Delete", TEST_DAEMON_OWNER);
	ck_assert_int_eq(test_daemon_call(t, &snapshot_interface, a, m, &c, &err), -EBUSY);
	dbus_message_unref(m);
	ck_assert_str_eq(kind(&err), "BadState");
	ck_assert_ptr_nonnull(strstr(err.message, "not created yet"));
	ck_assert_uint_eq(s->n_snaps, 3);
	ck_assert(bus_has_object(&t->d.bus, a->path));
	err = (VssErr){ 0 };
	ck_assert_int_eq(snapset_delete_snapshot(s, b, "requested", &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	ck_assert_uint_eq(s->n_snaps, 3);

	/* a volume refused leaves no provider member behind */
	err = (VssErr){ 0 };
	ck_assert_int_eq(snapset_add_volume(s, test_daemon_volume_path(t, 1, p), "", &x, &err),
	                 -EEXIST);
	ck_assert_uint_eq(s->n_engines, 1);
	ck_assert_uint_eq(s->engines[0].provider->ops->set_count(s->engines[0].ps), 3);

	ck_assert_int_eq(test_create(s, NULL), 0);
	run_until_created(t, s);
	ck_assert_str_eq(state(s), "created");
	ck_assert_uint_eq(s->n_snaps, 3);
	for (size_t i = 0; i < s->n_snaps; i++) {
		Snapshot *snap = s->snaps[i];
		char want[128];

		ck_assert_int_eq(dmsnap_snapshot_dm_name(&s->id, snap->volume_name, want), 0);
		ck_assert_str_eq(test_dm(snap)->snap_name, want);
		ck_assert_str_eq(snap->volume + strlen("/dev/mapper/"), snap->volume_name);
		ck_assert(fake_dm_exists(t->dm, want));
	}
	snapset_release(s);
	assert_dm_clean(t);
}
END_TEST

/* StartSnapshotSet as a uid other than root */
static int start_as(TestDaemon *t, const char *name, uid_t uid, Snapset **ret, VssErr *err)
{
	DBusMessage *m =
		test_call_new(t, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER, "StartSnapshotSet", name);
	BusCaller c = test_caller(name, uid);
	DBusMessageIter it, dict;
	size_t n = t->d.n_sets;
	int r;

	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(bus_dict_open(&it, &dict), 0);
	ck_assert_int_eq(bus_dict_add_bool(&dict, "no-writers", true), 0);
	ck_assert_int_eq(bus_dict_close(&it, &dict), 0);
	r = test_daemon_call(t, &daemon_manager_interface, &t->d, m, &c, err);
	dbus_message_unref(m);
	if (r >= 0)
		*ret = t->d.sets[n];
	return r;
}

/* An owner who leaves the creation slot untouched for set-idle-ms loses it: the set is aborted,
 * its volumes dropped, and the next StartSnapshotSet succeeds. */
START_TEST(idle_owner_loses_the_creation_slot)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Snapset *s, *s2;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	/* 1 s: the calls below come every 50 ms, with room for a loaded machine */
	t->d.config.set_idle_timeout = USEC_PER_SEC;
	s = test_set(t, "backup", true);
	(void)test_add(s, 0);
	ck_assert_ptr_eq(t->d.creating, s);
	/* any call by the owner restarts the count, even one that fails */
	for (int i = 0; i < 4; i++) {
		char p[64];

		usleep(50 * 1000);
		ck_assert_int_ge(sd_event_run(t->d.event, 0), 0);
		err = (VssErr){ 0 };
		ck_assert_int_eq(set_call(t, s, "AddVolume", NULL, NULL, &err, DBUS_TYPE_STRING,
		                          &(const char *){ test_daemon_volume_path(t, 0, p) },
		                          DBUS_TYPE_STRING, &(const char *){ "" },
		                          DBUS_TYPE_INVALID),
		                 -EEXIST);
	}
	ck_assert_str_eq(state(s), "started");
	for (int i = 0; i < 200 && s->state != SNAPSET_STATE_ABORTED; i++)
		ck_assert_int_ge(sd_event_run(t->d.event, 50 * USEC_PER_MSEC), 0);
	ck_assert_str_eq(state(s), "aborted");
	ck_assert_ptr_null(t->d.creating);
	ck_assert_uint_eq(s->n_snaps, 0);
	assert_dm_clean(t);
	/* its owner learns it at its next call; the slot is free for another set */
	err = (VssErr){ 0 };
	ck_assert_int_eq(test_create(s, &err), -EBUSY);
	ck_assert_str_eq(kind(&err), "BadState");
	s2 = test_set(t, "backup", true);
	ck_assert_ptr_eq(t->d.creating, s2);
}
END_TEST

/* root takes the slot over from another user's set that waits for its owner; not from another
 * root set, and not from a set whose call is under way */
START_TEST(root_takes_over_an_idle_slot_from_another_user)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Snapset *user, *root, *other = NULL;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	ck_assert_int_eq(start_as(t, ":1.50", 1000, &user, &err), 0);
	(void)test_add(user, 0);
	/* another non-root user does not take over */
	ck_assert_int_eq(start_as(t, ":1.51", 1001, &other, &err), -EALREADY);
	ck_assert_str_eq(kind(&err), "SnapshotSetInProgress");
	ck_assert_ptr_eq(t->d.creating, user);

	err = (VssErr){ 0 };
	root = test_set(t, "backup", true);
	ck_assert_ptr_eq(t->d.creating, root);
	ck_assert_str_eq(state(user), "aborted");
	ck_assert_uint_eq(user->n_snaps, 0);
	/* a root set is not taken over by root */
	ck_assert_int_eq(test_start_set(t, ":1.52", NULL, true, false, &other, &err), -EALREADY);
	ck_assert_str_eq(kind(&err), "SnapshotSetInProgress");
	ck_assert_ptr_eq(t->d.creating, root);
}
END_TEST

/* clang-format off */
/* The state file and the backup document accept exactly the contexts a set can have: a context
 * added to the table but not there would make every save of such a set fail. */
START_TEST(every_context_is_a_state_context_and_back)
{
	size_t n = 0;

	for (int c = 0; c < _SNAPSET_CONTEXT_MAX; c++) {
		ck_assert_ptr_nonnull(snapset_context_to_string(c));
		ck_assert(strv_contains((char **)state_set_contexts, snapset_context_to_string(c)));
	}
	for (; state_set_contexts[n]; n++)
		ck_assert_int_ge(snapset_context_from_string(state_set_contexts[n]), 0);
	ck_assert_uint_eq(n, _SNAPSET_CONTEXT_MAX);
}
END_TEST

TEST_SUITE_MAIN("snapset",
	TEST(every_context_is_a_state_context_and_back)
	TEST(state_is_not_saved_while_writers_are_frozen)
	TEST(a_volume_holding_the_state_or_its_storage_is_refused)
	TEST(add_volume_after_do_snapshot_set_is_bad_state)
	TEST(prepare_before_gather_in_writer_context_is_bad_state)
	TEST(do_snapshot_set_before_prepare_in_writer_context_is_bad_state)
	TEST(gather_after_prepare_is_bad_state)
	TEST(set_components_only_between_gather_and_prepare)
	TEST(set_components_selects_what_prepare_for_backup_sends)
	TEST(backup_complete_before_creation_is_bad_state)
	TEST(abort_after_backup_complete_is_bad_state)
	TEST(do_snapshot_set_twice_is_bad_state)
	TEST(calls_during_creation_are_bad_state_or_in_progress)
	TEST(abort_during_creation_rolls_back_and_thaws)
	TEST(no_writers_context_may_skip_metadata_and_prepare)
	TEST(writer_context_flow_with_no_writer_registered)
	TEST(create_snapshot_set_without_writers_completes_synchronously)
	TEST(create_snapshot_set_with_no_writer_registered_completes_synchronously)
	TEST(create_snapshot_set_with_a_bad_volume_leaves_nothing)
	TEST(create_snapshot_set_counts_volumes_before_reading_them)
	TEST(create_snapshot_set_fails_when_a_writer_cannot_be_reached)
	TEST(in_progress_from_start_until_created)
	TEST(in_progress_cleared_on_failure)
	TEST(in_progress_cleared_on_abort)
	TEST(in_progress_cleared_on_release)
	TEST(in_progress_cleared_when_prepare_fails)
	TEST(release_deletes_auto_release_shadow_copies)
	TEST(release_keeps_persistent_shadow_copies_and_forgets_the_owner)
	TEST(release_keeps_no_auto_release_shadow_copies)
	TEST(auto_release_failure_keeps_the_shadow_copy)
	TEST(deleting_the_last_shadow_copy_of_a_released_set_frees_it)
	TEST(owner_gone_during_creation_rolls_back)
	TEST(abort_drops_shadow_copies_not_created_yet)
	TEST(delete_before_creation_is_bad_state_and_devices_stay_with_their_volumes)
	TEST(abort_after_creation_keeps_shadow_copies_until_release)
	TEST(table_load_failure_leaves_failed_set_and_clean_dm)
	TEST(suspend_failure_leaves_failed_set_and_clean_dm)
	TEST(resume_failure_leaves_failed_set_and_clean_dm)
	TEST(state_file_holds_created_sets_only)
	TEST(sixty_fifth_volume_is_refused)
	TEST(duplicate_volume_is_refused)
	TEST(provider_must_be_ours_or_empty)
	TEST(bad_volumes_are_refused_with_their_reason)
	TEST(client_accessible_shadow_copies_stop_at_max_shadow_copies)
	TEST(only_the_owner_drives_the_set)
	TEST(sets_per_uid_is_a_limit)
	TEST(idle_owner_loses_the_creation_slot)
	TEST(root_takes_over_an_idle_slot_from_another_user))
/* clang-format on */
