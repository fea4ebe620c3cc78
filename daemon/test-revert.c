/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-revert.c - Revert against fake dm and host: refusals, the dm sequence, the end, restarts */
#include <sys/sysmacros.h>

#include "daemon/bus.h"
#include "daemon/dmdev.h"
#include "daemon/expose.h"
#include "daemon/revert.h"
#include "daemon/snapshot-dbus.h"
#include "daemon/snapshot.h"
#include "tests/lib/check-main.h"
#include "tests/lib/test-daemon.h"

typedef struct T {
	TestDaemon *td;
	Snapshot *s;
	char dev[160];
	char snap[128];        /* dm name of the shadow copy */
	char real_params[32];  /* "253:N" of a-vssd-real */
	char cow_params[64];   /* the snapshot table's parameters: "253:R 7:N P 32" */
	char origin_live[128]; /* "snapshot-origin 253:R" */
} T;

static void t_init(T *t, const char *context)
{
	DmdevTable tb = DMDEV_TABLE_NULL;

	ck_assert_int_eq(test_daemon_new(&t->td), 0);
	t->s = test_released_snapshot(t->td, context, 0, t->dev);
	snprintf(t->snap, sizeof(t->snap), "%s", test_dm(t->s)->snap_name);
	ck_assert_int_eq(dmdev_get_table(t->td->d.dm, t->snap, false, &tb), 0);
	snprintf(t->cow_params, sizeof(t->cow_params), "%s", tb.targets[0].params);
	dmdev_table_done(&tb);
	snprintf(t->origin_live, sizeof(t->origin_live), "%s", fake_dm_live(t->td->dm, "a"));
	ck_assert_ptr_nonnull(startswith(t->origin_live, "snapshot-origin "));
	snprintf(t->real_params, sizeof(t->real_params), "%s",
	         t->origin_live + strlen("snapshot-origin "));
	/* 1000 data sectors in the COW, 16 of metadata */
	ck_assert_int_eq(fake_dm_set_status(t->td->dm, t->snap, "1016/16384 16"), 0);
}

static void refused(T *t, VssError kind)
{
	VssErr err = { 0 };
	_cleanup_free_ char *calls = NULL;

	ck_assert_int_lt(revert_start(t->s, &err), 0);
	ck_assert_msg(err.kind == kind, "got %s (%s)", vss_error_info(err.kind)->name, err.message);
	/* nothing changed */
	ck_assert_int_eq(t->s->state, SNAPSHOT_STATE_CREATED);
	calls = fake_dm_calls_filtered(t->td->dm, "load suspend resume remove clear");
	ck_assert_str_eq(calls, "");
	ck_assert_str_eq(fake_dm_live(t->td->dm, "a"), t->origin_live);
	ck_assert(fake_dm_exists(t->td->dm, t->snap));
	ck_assert_ptr_null(t->s->merge_timer);
}

START_TEST(revert_refused_for_a_backup_context)
{
	T t;

	t_init(&t, "backup");
	refused(&t, VSS_ERROR_UNSUPPORTED_CONTEXT);
	test_daemon_free(t.td);
}
END_TEST

START_TEST(revert_refused_while_the_volume_is_used)
{
	_cleanup_free_ char *got = NULL;
	VssErr err = { 0 };
	T t;

	t_init(&t, "client-accessible");
	fake_host_add_mount(t.td->host, t.td->devno[0], "/srv/a");
	refused(&t, VSS_ERROR_VOLUME_IN_USE);
	test_daemon_free(t.td);

	t_init(&t, "persistent");
	ck_assert_int_eq(fake_dm_set_open_count(t.td->dm, "a", 1), 0);
	refused(&t, VSS_ERROR_VOLUME_IN_USE);
	ck_assert_int_eq(fake_dm_set_open_count(t.td->dm, "a", 0), 0);
	/* the shadow copy itself is open, or exposed */
	ck_assert_int_eq(fake_dm_set_open_count(t.td->dm, t.snap, 2), 0);
	refused(&t, VSS_ERROR_VOLUME_IN_USE);
	ck_assert_int_eq(fake_dm_set_open_count(t.td->dm, t.snap, 0), 0);
	/* somebody holds the volume or the shadow copy exclusively (a mount that the mount
	 * table does not show yet, another tool's claim): the O_EXCL open fails */
	fake_host_fail_nth(t.td->host, FAKE_HOST_CLAIM, 1, -EBUSY);
	refused(&t, VSS_ERROR_VOLUME_IN_USE);
	fake_host_fail_nth(t.td->host, FAKE_HOST_CLAIM, 2, -EBUSY);
	refused(&t, VSS_ERROR_VOLUME_IN_USE);
	fake_host_set_fstype(t.td->host, t.dev, "ext4");
	fake_host_add_dir(t.td->host, "/mnt/x", makedev(8, 2));
	ck_assert_int_eq(expose_mount(t.s, "/mnt/x", &got, &err), 0);
	fake_dm_clear_calls(t.td->dm);
	refused(&t, VSS_ERROR_VOLUME_IN_USE);
	test_daemon_free(t.td);
}
END_TEST

START_TEST(revert_refused_for_an_invalid_shadow_copy)
{
	T t;

	t_init(&t, "persistent");
	ck_assert_int_eq(fake_dm_set_status(t.td->dm, t.snap, "Invalid"), 0);
	refused(&t, VSS_ERROR_BAD_STATE);
	t.s->state = SNAPSHOT_STATE_INVALID;
	{
		VssErr err = { 0 };

		ck_assert_int_lt(revert_start(t.s, &err), 0);
		ck_assert_int_eq(err.kind, VSS_ERROR_BAD_STATE);
	}
	test_daemon_free(t.td);
}
END_TEST

static void start_ok(T *t)
{
	VssErr err = { 0 };

	ck_assert_int_eq(revert_start(t->s, &err), 0);
	ck_assert_int_eq(t->s->state, SNAPSHOT_STATE_MERGING);
	ck_assert_ptr_nonnull(t->s->merge_timer);
}

START_TEST(revert_dm_sequence_and_end)
{
	_cleanup_free_ char *calls = NULL;
	char want[1024], merge_live[160];
	TestDaemon *td;
	Snapset *set;
	T t;

	t_init(&t, "persistent");
	td = t.td;
	set = t.s->set;
	ck_assert_uint_eq(fake_host_count_files(td->host), 1);
	start_ok(&t);
	ck_assert_uint_eq(fake_host_claims(td->host), 2); /* the volume and the shadow copy */

	/* LVM's merge: the origin takes the COW over while the shadow copy is suspended (the
	 * handover), then the shadow copy's device goes */
	calls = fake_dm_calls_filtered(td->dm, "load suspend resume remove clear");
	snprintf(want, sizeof(want),
	         "load a snapshot-merge\nsuspend %s skip_lockfs\nsuspend a skip_lockfs\n"
	         "resume a\nremove %s",
	         t.snap, t.snap);
	ck_assert_str_eq(calls, want);
	snprintf(merge_live, sizeof(merge_live), "snapshot-merge %s", t.cow_params);
	ck_assert_str_eq(fake_dm_live(td->dm, "a"), merge_live);
	ck_assert(!fake_dm_exists(td->dm, t.snap));
	ck_assert_uint_eq(fake_dm_count_suspended(td->dm), 0);
	ck_assert_double_eq(t.s->revert_progress, 0.0);

	/* half of it merged */
	ck_assert_int_eq(fake_dm_set_status(td->dm, "a", "516/16384 16"), 0);
	ck_assert_int_eq(revert_poll(t.s), 0);
	ck_assert_double_eq_tol(t.s->revert_progress, 0.5, 1e-9);
	ck_assert_int_eq(t.s->state, SNAPSHOT_STATE_MERGING);

	/* done: the volume's own table, -real gone, the COW file gone, the object gone */
	fake_dm_clear_calls(td->dm);
	ck_assert_int_eq(fake_dm_set_status(td->dm, "a", "16/16384 16"), 0);
	ck_assert_int_eq(revert_poll(t.s), 1);
	ck_assert_str_eq(fake_dm_live(td->dm, "a"), "linear 7:0 0");
	ck_assert(!fake_dm_exists(td->dm, "a-vssd-real"));
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(td->dm, "VSSD-"), 0);
	ck_assert_uint_eq(fake_dm_count_suspended(td->dm), 0);
	ck_assert_uint_eq(fake_host_count_files(td->host), 0);
	ck_assert_uint_eq(td->d.n_sets, 0);
	(void)set;
	test_daemon_free(t.td);
}
END_TEST

/* Another shadow copy of the volume is kept, and the volume stays its origin. */
START_TEST(revert_keeps_other_shadow_copies)
{
	char dev2[160];
	Snapshot *other;
	T t;

	t_init(&t, "persistent");
	other = test_released_snapshot(t.td, "persistent", 0, dev2);
	start_ok(&t);
	ck_assert(fake_dm_exists(t.td->dm, test_dm(other)->snap_name));

	ck_assert_int_eq(fake_dm_set_status(t.td->dm, "a", "16/16384 16"), 0);
	ck_assert_int_eq(revert_poll(t.s), 1);
	ck_assert_str_eq(fake_dm_live(t.td->dm, "a"), t.origin_live);
	ck_assert(fake_dm_exists(t.td->dm, "a-vssd-real"));
	ck_assert(fake_dm_exists(t.td->dm, test_dm(other)->snap_name));
	ck_assert_int_eq(other->state, SNAPSHOT_STATE_CREATED);
	ck_assert_ptr_eq(daemon_find_snapshot(&t.td->d, &other->id), other);
	ck_assert_uint_eq(fake_host_count_files(t.td->host), 1);
	test_daemon_free(t.td);
}
END_TEST

/* Deleting the volume's other shadow copy during the merge leaves the merge table alone. */
START_TEST(delete_of_another_shadow_copy_during_the_merge)
{
	char dev2[160], merge_live[160];
	VssErr err = { 0 };
	Snapshot *other;
	T t;

	t_init(&t, "persistent");
	other = test_released_snapshot(t.td, "persistent", 0, dev2);
	start_ok(&t);
	snprintf(merge_live, sizeof(merge_live), "snapshot-merge %s", t.cow_params);
	ck_assert_int_eq(snapset_delete_snapshot(other->set, other, "test", &err), 0);
	ck_assert_str_eq(fake_dm_live(t.td->dm, "a"), merge_live);
	ck_assert(fake_dm_exists(t.td->dm, "a-vssd-real"));

	ck_assert_int_eq(fake_dm_set_status(t.td->dm, "a", "16/16384 16"), 0);
	ck_assert_int_eq(revert_poll(t.s), 1);
	ck_assert_str_eq(fake_dm_live(t.td->dm, "a"), "linear 7:0 0");
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t.td->dm, "VSSD-"), 0);
	test_daemon_free(t.td);
}
END_TEST

START_TEST(one_revert_per_volume)
{
	char dev2[160];
	VssErr err = { 0 };
	Snapshot *other;
	T t;

	t_init(&t, "persistent");
	other = test_released_snapshot(t.td, "persistent", 0, dev2);
	start_ok(&t);
	ck_assert_int_eq(revert_start(other, &err), -EBUSY);
	ck_assert_int_eq(err.kind, VSS_ERROR_VOLUME_IN_USE);
	ck_assert_str_eq(err.code_name, "VSS_E_REVERT_IN_PROGRESS");
	ck_assert_int_eq(other->state, SNAPSHOT_STATE_CREATED);
	err = (VssErr){ 0 };
	ck_assert_int_eq(revert_start(t.s, &err), -EBUSY); /* and the same one again */
	ck_assert_int_eq(err.kind, VSS_ERROR_VOLUME_IN_USE);
	test_daemon_free(t.td);
}
END_TEST

/* A failure on the way puts everything back. */
START_TEST(revert_failures_roll_back)
{
	T t;

	t_init(&t, "persistent");
	fake_dm_fail_nth(t.td->dm, FAKE_DM_LOAD, 1, -ENOMEM);
	{
		VssErr err = { 0 };

		ck_assert_int_lt(revert_start(t.s, &err), 0);
	}
	ck_assert_int_eq(t.s->state, SNAPSHOT_STATE_CREATED);
	ck_assert_str_eq(fake_dm_live(t.td->dm, "a"), t.origin_live);

	fake_dm_fail_nth(t.td->dm, FAKE_DM_SUSPEND, 2, -EIO); /* the origin's */
	{
		VssErr err = { 0 };

		ck_assert_int_lt(revert_start(t.s, &err), 0);
	}
	ck_assert_int_eq(t.s->state, SNAPSHOT_STATE_CREATED);
	ck_assert_str_eq(fake_dm_live(t.td->dm, "a"), t.origin_live);
	ck_assert(!fake_dm_has_inactive(t.td->dm, "a"));
	ck_assert_uint_eq(fake_dm_count_suspended(t.td->dm), 0);
	ck_assert(fake_dm_exists(t.td->dm, t.snap));
	ck_assert_ptr_null(t.s->merge_timer);

	/* and then it works */
	start_ok(&t);
	test_daemon_free(t.td);
}
END_TEST

/* vssd restarted during the merge: dm went on; the new daemon watches again and finishes. */
START_TEST(restart_during_the_merge)
{
	T t;

	t_init(&t, "persistent");
	start_ok(&t);
	ck_assert_int_eq(fake_dm_set_status(t.td->dm, "a", "816/16384 16"), 0);
	/* what a restart leaves: the object in state merging, nobody watching */
	revert_unwatch(t.s);
	t.s->revert_progress = 0.0;
	t.s->merge_base_sectors = 0;

	revert_recover(&t.td->d);
	ck_assert_ptr_nonnull(t.s->merge_timer);
	ck_assert_int_eq(t.s->state, SNAPSHOT_STATE_MERGING);
	ck_assert_uint_eq(t.s->merge_base_sectors, 800); /* what was left counts as the whole */
	ck_assert_int_eq(fake_dm_set_status(t.td->dm, "a", "416/16384 16"), 0);
	ck_assert_int_eq(revert_poll(t.s), 0);
	ck_assert_double_eq_tol(t.s->revert_progress, 0.5, 1e-9);
	ck_assert_int_eq(fake_dm_set_status(t.td->dm, "a", "16/16384 16"), 0);
	ck_assert_int_eq(revert_poll(t.s), 1);
	ck_assert_str_eq(fake_dm_live(t.td->dm, "a"), "linear 7:0 0");
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t.td->dm, "VSSD-"), 0);
	test_daemon_free(t.td);
}
END_TEST

/* The merge ended while vssd was down: the start-up finishes it at once. */
START_TEST(restart_after_the_merge_ended)
{
	T t;

	t_init(&t, "persistent");
	start_ok(&t);
	revert_unwatch(t.s);
	ck_assert_int_eq(fake_dm_set_status(t.td->dm, "a", "16/16384 16"), 0);
	revert_recover(&t.td->d);
	ck_assert_uint_eq(t.td->d.n_sets, 0);
	ck_assert_str_eq(fake_dm_live(t.td->dm, "a"), "linear 7:0 0");
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t.td->dm, "VSSD-"), 0);
	ck_assert_uint_eq(fake_host_count_files(t.td->host), 0);
	test_daemon_free(t.td);
}
END_TEST

/* vssd died between writing "merging" and loading the merge table: nothing happened. */
START_TEST(restart_before_the_merge_began)
{
	T t;

	t_init(&t, "persistent");
	t.s->state = SNAPSHOT_STATE_MERGING;
	revert_recover(&t.td->d);
	ck_assert_int_eq(t.s->state, SNAPSHOT_STATE_CREATED);
	ck_assert_ptr_null(t.s->merge_timer);
	ck_assert(fake_dm_exists(t.td->dm, t.snap));
	ck_assert_str_eq(fake_dm_live(t.td->dm, "a"), t.origin_live);
	test_daemon_free(t.td);
}
END_TEST

/* A COW file as dm-snapshot writes it: the header, then the first metadata area with one
 * exception ({old 5, new 2}) or none. */
static void set_cow(T *t, bool exceptions)
{
	static uint8_t buf[32 * 512 + 16];
	const uint32_t hdr[4] = { 0x70416e53, 1, 1, 32 }; /* little-endian host */
	const uint64_t de[2] = { 5, 2 };

	memset(buf, 0, sizeof(buf));
	memcpy(buf, hdr, sizeof(hdr));
	if (exceptions)
		memcpy(buf + 32 * 512, de, sizeof(de));
	ck_assert_int_eq(
		fake_host_set_file_content(t->td->host, test_dm(t->s)->cow_path, buf, sizeof(buf)),
		0);
}

/* What the dm side looks like once the volume is off its merge table: its own table again */
static void volume_back_on_its_own(T *t)
{
	DmdevTable own = DMDEV_TABLE_NULL;
	Dmdev *dm = t->td->d.dm;

	ck_assert_int_eq(dmdev_table_add(&own, 0, TEST_DAEMON_SECTORS, "linear", "7:0 0"), 0);
	ck_assert_int_eq(dmdev_load(dm, "a", &own), 0);
	ck_assert_int_eq(dmdev_resume(dm, "a"), 0);
	ck_assert_int_eq(dmdev_remove(dm, "a-vssd-real"), 0);
	dmdev_table_done(&own);
}

/* vssd stopped while it finished a merge that had ended: the start-up completes the end. */
START_TEST(restart_while_the_end_was_under_way)
{
	T t;

	t_init(&t, "persistent");
	start_ok(&t);
	revert_unwatch(t.s);
	set_cow(&t, false); /* every exception merged */
	volume_back_on_its_own(&t);
	revert_recover(&t.td->d);
	ck_assert_uint_eq(t.td->d.n_sets, 0);
	ck_assert_uint_eq(fake_host_count_files(t.td->host), 0);
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t.td->dm, "VSSD-"), 0);
	test_daemon_free(t.td);
}
END_TEST

/* A reboot in the middle: the volume came back on its own table, the COW still holds
 * exceptions. A COW that cannot be read is left alone (still merging); a readable one brings the
 * shadow copy back and the merge starts again, as VSS resumes a revert at boot. */
START_TEST(reboot_in_the_middle_resumes_the_merge)
{
	T t;

	t_init(&t, "persistent");
	start_ok(&t);
	revert_unwatch(t.s);
	volume_back_on_its_own(&t);
	fake_host_add_dir(t.td->host, "/", makedev(8, 1)); /* reactivation looks at "/" */
	/* a COW that cannot be read as one: kept, still merging, nothing done */
	ck_assert_int_eq(fake_host_set_file_content(t.td->host, test_dm(t.s)->cow_path, "junk", 4),
	                 0);
	revert_recover(&t.td->d);
	ck_assert_int_eq(t.s->state, SNAPSHOT_STATE_MERGING);
	ck_assert_ptr_null(t.s->merge_timer);
	ck_assert_uint_eq(fake_host_count_files(t.td->host), 1);
	ck_assert_str_eq(fake_dm_live(t.td->dm, "a"), "linear 7:0 0");

	/* chunks left to merge: merging again, watched, the COW kept */
	set_cow(&t, true);
	revert_recover(&t.td->d);
	ck_assert_int_eq(t.s->state, SNAPSHOT_STATE_MERGING);
	ck_assert_ptr_nonnull(t.s->merge_timer);
	ck_assert_ptr_nonnull(startswith(fake_dm_live(t.td->dm, "a"), "snapshot-merge "));
	ck_assert(!fake_dm_exists(t.td->dm, t.snap)); /* handed over to the merge */
	ck_assert_uint_eq(fake_host_count_files(t.td->host), 1);
	test_daemon_free(t.td);
}
END_TEST

/* After the reboot the volume is mounted: the merge cannot go on; the shadow copy comes back
 * intact as "created", so that the administrator can revert again once the volume is free. */
START_TEST(reboot_in_the_middle_with_the_volume_mounted)
{
	T t;

	t_init(&t, "persistent");
	start_ok(&t);
	revert_unwatch(t.s);
	volume_back_on_its_own(&t);
	fake_host_add_dir(t.td->host, "/", makedev(8, 1));
	set_cow(&t, true);
	fake_host_add_mount(t.td->host, t.td->devno[0], "/srv/a");
	revert_recover(&t.td->d);
	ck_assert_int_eq(t.s->state, SNAPSHOT_STATE_CREATED);
	ck_assert_ptr_null(t.s->merge_timer);
	ck_assert(fake_dm_exists(t.td->dm, t.snap));
	ck_assert_ptr_nonnull(startswith(fake_dm_live(t.td->dm, "a"), "snapshot-origin "));
	test_daemon_free(t.td);
}
END_TEST

/* dm reports the merge failed: left alone, still merging, not watched any more */
START_TEST(merge_failed_is_reported)
{
	T t;

	t_init(&t, "persistent");
	start_ok(&t);
	ck_assert_int_eq(fake_dm_set_status(t.td->dm, "a", "Merge failed"), 0);
	ck_assert_int_eq(revert_poll(t.s), 3);
	ck_assert_ptr_null(t.s->merge_timer);
	ck_assert_int_eq(t.s->state, SNAPSHOT_STATE_MERGING);
	ck_assert_ptr_nonnull(startswith(fake_dm_live(t.td->dm, "a"), "snapshot-merge "));
	test_daemon_free(t.td);
}
END_TEST

START_TEST(method_options_are_strict)
{
	DBusMessage *m;
	DBusMessageIter it, dict;
	VssErr err = { 0 };
	T t;

	t_init(&t, "persistent");
	m = dbus_message_new_method_call(VSSD_BUS_NAME, t.s->path, VSSD_IFACE_SNAP, "Revert");
	ck_assert_ptr_nonnull(m);
	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(bus_dict_open(&it, &dict), 0);
	ck_assert_int_eq(bus_dict_add_bool(&dict, "force-dismount", true), 0);
	ck_assert_int_eq(bus_dict_close(&it, &dict), 0);

	ck_assert_int_eq(snapshot_dbus_revert(&t.td->d.bus, m, t.s, NULL, &err), -EINVAL);
	ck_assert_int_eq(err.kind, VSS_ERROR_INVALID_ARGUMENT);
	ck_assert_int_eq(t.s->state, SNAPSHOT_STATE_CREATED);
	dbus_message_unref(m);
	test_daemon_free(t.td);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("revert",
	TEST(revert_refused_for_a_backup_context)
	TEST(revert_refused_while_the_volume_is_used)
	TEST(revert_refused_for_an_invalid_shadow_copy)
	TEST(revert_dm_sequence_and_end)
	TEST(revert_keeps_other_shadow_copies)
	TEST(delete_of_another_shadow_copy_during_the_merge)
	TEST(one_revert_per_volume)
	TEST(revert_failures_roll_back)
	TEST(restart_during_the_merge)
	TEST(restart_after_the_merge_ended)
	TEST(restart_before_the_merge_began)
	TEST(restart_while_the_end_was_under_way)
	TEST(reboot_in_the_middle_resumes_the_merge)
	TEST(reboot_in_the_middle_with_the_volume_mounted)
	TEST(merge_failed_is_reported)
	TEST(method_options_are_strict))
/* clang-format on */
