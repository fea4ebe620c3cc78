/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-monitor.c - shadow storage overflow on fake dm and host: COW files at the maximum, the
 * oldest shadow copy deleted while the volume's total is past it, the last one invalid, one
 * warning per crossing, the timer */
#include "daemon/daemon.h"
#include "daemon/monitor.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "daemon/state.h"
#include "daemon/storage.h"
#include "tests/lib/check-main.h"
#include "tests/lib/test-daemon.h"

#define MIB        (1ULL << 20)
#define SECTORS(b) ((b) / 512)

/* A daemon with its monitor, the volume a's shadow storage limited to max bytes (its COW files'
 * size), the warning at 80 % */
static TestDaemon *t_new(uint64_t max, uint64_t initial, bool state_file)
{
	TestDaemonOptions o = { .state_file = state_file };
	TestDaemon *t = NULL;

	ck_assert_int_eq(test_daemon_new_opts(&t, &o), 0);
	t->d.config.storage_initial_bytes = initial;
	t->d.config.storage_grow_bytes = 64 * MIB;
	t->d.config.storage_warn_percent = 80;
	ck_assert_int_eq(storage_restore(&t->d, "/dev/mapper/a", t->d.config.storage_dir, max), 0);
	ck_assert_int_eq(monitor_new(&t->d, &t->d.monitor), 0);
	return t;
}

/* A created set with one shadow copy of volume a, created at time (µs since the epoch) */
static Snapshot *t_snap(TestDaemon *t, const char *context, usec_t time)
{
	Snapset *s = test_created_set(t, context, 1);

	s->snaps[0]->creation_time = time;
	s->creation_time = time;
	return s->snaps[0];
}

/* What dm reports for the shadow copy: used of total sectors, or "Invalid"... */
static void t_status(TestDaemon *t, Snapshot *s, const char *fmt, ...)
{
	char buf[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ck_assert_int_eq(fake_dm_set_status(t->dm, test_dm(s)->snap_name, buf), 0);
}

static size_t signals(TestDaemon *t, const char *member)
{
	return test_daemon_count_sent(t, DBUS_MESSAGE_TYPE_SIGNAL, member);
}

/* The last signal named member, borrowed */
static DBusMessage *last_signal(TestDaemon *t, const char *member)
{
	for (size_t i = t->n_sent; i-- > 0;)
		if (dbus_message_get_type(t->sent[i]) == DBUS_MESSAGE_TYPE_SIGNAL &&
		    streq(dbus_message_get_member(t->sent[i]), member))
			return t->sent[i];
	return NULL;
}

static size_t snapshots_of_a(TestDaemon *t)
{
	_cleanup_free_ Snapshot **l = NULL;
	size_t n = 0;

	ck_assert_int_eq(daemon_volume_snapshots(&t->d, "a", &l, &n), 0);
	return n;
}

/* The COW file is sparse at the volume's maximum from the start: however fast the volume is
 * written, no shadow copy waits for its store to grow (issue 15: on 6.12 a burst outran the
 * growth steps and invalidated both shadow copies). */
START_TEST(a_cow_starts_sparse_at_the_maximum)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = t_new(256 * MIB, 64 * MIB, false);
	Snapshot *s = t_snap(t, "persistent", 1000);

	ck_assert_uint_eq(test_dm(s)->cow_bytes, 256 * MIB);
	ck_assert_uint_eq(fake_host_file_size(t->host, test_dm(s)->cow_path), 256 * MIB);
	t_status(t, s, "%llu/%llu 64", SECTORS(250 * MIB), SECTORS(256 * MIB));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(test_dm(s)->cow_bytes, 256 * MIB);
	ck_assert_uint_eq(fake_host_loop_refreshes(t->host), 0);
	ck_assert_int_eq(s->state, SNAPSHOT_STATE_CREATED);
	ck_assert_uint_eq(signals(t, "SnapshotDeleted"), 0);
}
END_TEST

/* A COW file smaller than the maximum (from before, or the maximum was raised) grows to the
 * maximum in one step at the first look, however empty: file first, then the loop device */
START_TEST(a_smaller_cow_grows_to_the_maximum_at_once)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = t_new(64 * MIB, 64 * MIB, true);
	_cleanup_free_ char *error = NULL;
	State st = STATE_NULL;
	Snapshot *s = t_snap(t, "persistent", 1000);
	VssId id = s->id;
	size_t n0;

	storage_find(&t->d, "a")->max_bytes = 256 * MIB;
	n0 = signals(t, "PropertiesChanged");
	t_status(t, s, "%llu/%llu 64", SECTORS(1 * MIB), SECTORS(64 * MIB));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(test_dm(s)->cow_bytes, 256 * MIB);
	ck_assert_uint_eq(fake_host_file_size(t->host, test_dm(s)->cow_path), 256 * MIB);
	ck_assert_uint_eq(fake_host_loop_refreshes(t->host), 1);
	ck_assert_uint_eq(signals(t, "PropertiesChanged"), n0 + 1); /* StorageSize */
	ck_assert_int_eq(state_load(t->d.state_path, &st, &error), 0);
	ck_assert_uint_eq(state_provider_u64(state_find_snapshot(&st, &id, NULL), "cow_bytes"),
	                  256 * MIB);
	state_done(&st);
	t_status(t, s, "%llu/%llu 64", SECTORS(200 * MIB), SECTORS(256 * MIB));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(fake_host_loop_refreshes(t->host), 1);
}
END_TEST

START_TEST(a_failed_growth_changes_nothing)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = t_new(64 * MIB, 64 * MIB, false);
	Snapshot *s = t_snap(t, "persistent", 1000);

	storage_find(&t->d, "a")->max_bytes = 128 * MIB;
	fake_host_fail_nth(t->host, FAKE_HOST_FILE_GROW, 1, -ENOSPC);
	t_status(t, s, "%llu/%llu 64", SECTORS(60 * MIB), SECTORS(64 * MIB));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(test_dm(s)->cow_bytes, 64 * MIB);
	ck_assert_uint_eq(fake_host_file_size(t->host, test_dm(s)->cow_path), 64 * MIB);
	ck_assert_uint_eq(fake_host_loop_refreshes(t->host), 0);
	ck_assert_int_eq(s->state, SNAPSHOT_STATE_CREATED);
	/* the next look tries again */
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(test_dm(s)->cow_bytes, 128 * MIB);
}
END_TEST

/* What the volume's shadow copies hold together is held to the maximum: at or under it nothing
 * goes; past it the oldest goes (storage-full), the newer keeps its whole store */
START_TEST(past_the_maximum_together_the_oldest_goes)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = t_new(128 * MIB, 64 * MIB, false);
	Snapshot *old = t_snap(t, "persistent", 1000), *young = t_snap(t, "persistent", 2000);
	char old_name[128], old_cow[512], old_id[VSSID_STRING_MAX];
	VssId old_vssid = old->id;
	const char *id = NULL, *vol = NULL, *why = NULL;
	DBusMessage *sig;
	StorageUsage u;

	snprintf(old_name, sizeof(old_name), "%s", test_dm(old)->snap_name);
	snprintf(old_cow, sizeof(old_cow), "%s", test_dm(old)->cow_path);
	snprintf(old_id, sizeof(old_id), "%s", old->id_str);
	ck_assert_uint_eq(test_dm(old)->cow_bytes, 128 * MIB); /* each: the whole maximum */
	ck_assert_uint_eq(test_dm(young)->cow_bytes, 128 * MIB);

	/* 64 + 64 MiB: at the maximum, not past it */
	t_status(t, old, "%llu/%llu 64", SECTORS(64 * MIB), SECTORS(128 * MIB));
	t_status(t, young, "%llu/%llu 64", SECTORS(64 * MIB), SECTORS(128 * MIB));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(snapshots_of_a(t), 2);
	ck_assert_int_eq(storage_usage(&t->d, "a", &u), 0);
	ck_assert_uint_eq(u.used, 128 * MIB);
	ck_assert_uint_eq(u.max, 128 * MIB);

	/* 70 + 70 MiB */
	t_status(t, old, "%llu/%llu 64", SECTORS(70 * MIB), SECTORS(128 * MIB));
	t_status(t, young, "%llu/%llu 64", SECTORS(70 * MIB), SECTORS(128 * MIB));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(snapshots_of_a(t), 1);
	ck_assert_ptr_null(daemon_find_snapshot(&t->d, &old_vssid));
	ck_assert(!fake_dm_exists(t->dm, old_name));
	ck_assert_uint_eq(fake_host_file_size(t->host, old_cow), 0); /* its COW file went */
	ck_assert(fake_dm_exists(t->dm, test_dm(young)->snap_name));
	ck_assert_uint_eq(test_dm(young)->cow_bytes, 128 * MIB);
	ck_assert_int_eq(young->state, SNAPSHOT_STATE_CREATED);
	ck_assert_ptr_nonnull(startswith(fake_dm_live(t->dm, "a"), "snapshot-origin "));
	ck_assert_uint_eq(fake_host_loop_refreshes(t->host), 0); /* nothing grew */

	ck_assert_uint_eq(signals(t, "SnapshotDeleted"), 1);
	sig = last_signal(t, "SnapshotDeleted");
	ck_assert(dbus_message_get_args(sig, NULL, DBUS_TYPE_STRING, &id, DBUS_TYPE_STRING, &vol,
	                                DBUS_TYPE_STRING, &why, DBUS_TYPE_INVALID));
	ck_assert_str_eq(id, old_id);
	ck_assert_str_eq(vol, "/dev/mapper/a");
	ck_assert_str_eq(why, "storage-full");
}
END_TEST

/* One look after a burst: the oldest go one after another until the rest fits; the newest stays
 * however far past the maximum the burst went */
START_TEST(after_a_burst_the_oldest_go_until_the_rest_fits)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = t_new(400 * MIB, 64 * MIB, false);
	Snapshot *s1 = t_snap(t, "persistent", 1000), *s2 = t_snap(t, "persistent", 2000);
	Snapshot *s3 = t_snap(t, "persistent", 3000);
	VssId id3 = s3->id;

	t_status(t, s1, "%llu/%llu 64", SECTORS(300 * MIB), SECTORS(400 * MIB));
	t_status(t, s2, "%llu/%llu 64", SECTORS(300 * MIB), SECTORS(400 * MIB));
	t_status(t, s3, "%llu/%llu 64", SECTORS(300 * MIB), SECTORS(400 * MIB));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(snapshots_of_a(t), 1);
	ck_assert_ptr_eq(daemon_find_snapshot(&t->d, &id3), s3);
	ck_assert_int_eq(s3->state, SNAPSHOT_STATE_CREATED);
	ck_assert_uint_eq(signals(t, "SnapshotDeleted"), 2);
	ck_assert_uint_eq(signals(t, "SnapshotInvalidated"), 0);
}
END_TEST

/* An invalid store holds nothing usable: only the valid ones count against the maximum */
START_TEST(only_valid_stores_count)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = t_new(128 * MIB, 64 * MIB, false);
	Snapshot *old = t_snap(t, "persistent", 1000), *young = t_snap(t, "persistent", 2000);

	t_status(t, old, "Invalid");
	t_status(t, young, "%llu/%llu 64", SECTORS(100 * MIB), SECTORS(128 * MIB));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(snapshots_of_a(t), 2);
	ck_assert_int_eq(old->state, SNAPSHOT_STATE_INVALID);
	ck_assert_int_eq(young->state, SNAPSHOT_STATE_CREATED);
	ck_assert_uint_eq(signals(t, "SnapshotDeleted"), 0);
}
END_TEST

START_TEST(the_last_one_is_kept_and_becomes_invalid)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = t_new(64 * MIB, 64 * MIB, false);
	Snapshot *s = t_snap(t, "persistent", 1000);
	const char *id = NULL, *vol = NULL;
	DBusMessage *sig;

	/* full, alone: kept as it is */
	t_status(t, s, "%llu/%llu 64", SECTORS(63 * MIB), SECTORS(64 * MIB));
	monitor_check(t->d.monitor);
	monitor_check(t->d.monitor);
	ck_assert_int_eq(s->state, SNAPSHOT_STATE_CREATED);
	ck_assert_uint_eq(test_dm(s)->cow_bytes, 64 * MIB);
	ck_assert_uint_eq(signals(t, "SnapshotDeleted"), 0);

	/* dm gives up on it: invalid, reported once; the volume keeps working */
	t_status(t, s, "Invalid");
	monitor_check(t->d.monitor);
	ck_assert_int_eq(s->state, SNAPSHOT_STATE_INVALID);
	ck_assert_uint_eq(signals(t, "SnapshotInvalidated"), 1);
	sig = last_signal(t, "SnapshotInvalidated");
	ck_assert(dbus_message_get_args(sig, NULL, DBUS_TYPE_STRING, &id, DBUS_TYPE_STRING, &vol,
	                                DBUS_TYPE_INVALID));
	ck_assert_str_eq(id, s->id_str);
	ck_assert_str_eq(vol, "/dev/mapper/a");
	ck_assert(fake_dm_exists(t->dm, test_dm(s)->snap_name)); /* shown, deletable */
	ck_assert_uint_eq(fake_dm_count_suspended(t->dm), 0);
	ck_assert_ptr_nonnull(startswith(fake_dm_live(t->dm, "a"), "snapshot-origin "));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(signals(t, "SnapshotInvalidated"), 1);
	ck_assert_uint_eq(snapshots_of_a(t), 1);
}
END_TEST

START_TEST(overflow_is_invalid_too)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = t_new(256 * MIB, 64 * MIB, false);
	Snapshot *s = t_snap(t, "persistent", 1000);

	t_status(t, s, "Overflow");
	monitor_check(t->d.monitor);
	ck_assert_int_eq(s->state, SNAPSHOT_STATE_INVALID);
	ck_assert_uint_eq(test_dm(s)->cow_bytes, 256 * MIB);
	ck_assert_uint_eq(signals(t, "SnapshotInvalidated"), 1);
}
END_TEST

START_TEST(the_warning_fires_once_per_crossing)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = t_new(128 * MIB, 128 * MIB, false);
	Snapshot *s = t_snap(t, "persistent", 1000);
	const char *vol = NULL;
	uint64_t used = 0, max = 0;
	DBusMessage *sig;

	/* 50 %: quiet */
	t_status(t, s, "%llu/%llu 64", SECTORS(64 * MIB), SECTORS(128 * MIB));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(signals(t, "StorageWarning"), 0);

	/* 85 %: one warning, however often the monitor looks */
	t_status(t, s, "%llu/%llu 64", SECTORS(109 * MIB), SECTORS(128 * MIB));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(signals(t, "StorageWarning"), 1);
	sig = last_signal(t, "StorageWarning");
	ck_assert(dbus_message_get_args(sig, NULL, DBUS_TYPE_STRING, &vol, DBUS_TYPE_UINT64, &used,
	                                DBUS_TYPE_UINT64, &max, DBUS_TYPE_INVALID));
	ck_assert_str_eq(vol, "/dev/mapper/a");
	ck_assert_uint_eq(used, 109 * MIB);
	ck_assert_uint_eq(max, 128 * MIB);
	monitor_check(t->d.monitor);
	t_status(t, s, "%llu/%llu 64", SECTORS(115 * MIB), SECTORS(128 * MIB));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(signals(t, "StorageWarning"), 1);

	/* below again (shadow copies deleted elsewhere, say), then over: a second warning */
	t_status(t, s, "%llu/%llu 64", SECTORS(10 * MIB), SECTORS(128 * MIB));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(signals(t, "StorageWarning"), 1);
	t_status(t, s, "%llu/%llu 64", SECTORS(103 * MIB), SECTORS(128 * MIB));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(signals(t, "StorageWarning"), 2);
	ck_assert_int_eq(s->state, SNAPSHOT_STATE_CREATED);
}
END_TEST

/* The volume's shadow copies all go while it is over the threshold (Delete, not the monitor);
 * a new one that fills up is a new crossing and is signalled again. (Found by this test: the
 * volume used to stay in Monitor.warned.) */
START_TEST(a_crossing_after_the_volume_emptied_is_signalled)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = t_new(128 * MIB, 128 * MIB, false);
	Snapshot *s = t_snap(t, "persistent", 1000);

	t_status(t, s, "%llu/%llu 64", SECTORS(109 * MIB), SECTORS(128 * MIB));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(signals(t, "StorageWarning"), 1);
	ck_assert_int_eq(snapset_delete_snapshot(s->set, s, "test", NULL), 0);
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(snapshots_of_a(t), 0);

	s = t_snap(t, "persistent", 2000);
	t_status(t, s, "%llu/%llu 64", SECTORS(109 * MIB), SECTORS(128 * MIB));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(signals(t, "StorageWarning"), 2);
}
END_TEST

START_TEST(volumes_are_watched_apart)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = t_new(128 * MIB, 64 * MIB, false);
	const char *vol = NULL;
	uint64_t used = 0, max = 0;
	Snapset *set;
	Snapshot *a, *b;

	ck_assert_int_eq(storage_restore(&t->d, "/dev/mapper/b", t->d.config.storage_dir, 64 * MIB),
	                 0);
	set = test_created_set(t, "persistent", 2);
	a = set->snaps[0];
	b = set->snaps[1];
	ck_assert_uint_eq(test_dm(a)->cow_bytes, 128 * MIB);
	ck_assert_uint_eq(test_dm(b)->cow_bytes, 64 * MIB);
	t_status(t, a, "%llu/%llu 64", SECTORS(60 * MIB), SECTORS(128 * MIB));
	t_status(t, b, "%llu/%llu 64", SECTORS(60 * MIB), SECTORS(64 * MIB));
	monitor_check(t->d.monitor);
	ck_assert_uint_eq(signals(t, "StorageWarning"), 1); /* 60 of 64 MiB on b only */
	ck_assert(dbus_message_get_args(last_signal(t, "StorageWarning"), NULL, DBUS_TYPE_STRING,
	                                &vol, DBUS_TYPE_UINT64, &used, DBUS_TYPE_UINT64, &max,
	                                DBUS_TYPE_INVALID));
	ck_assert_str_eq(vol, "/dev/mapper/b");
	ck_assert_uint_eq(used, 60 * MIB);
	ck_assert_uint_eq(max, 64 * MIB);
}
END_TEST

/* dm events come through the loop: the monitor looks when /dev/mapper/control is readable */
START_TEST(a_dm_event_makes_the_monitor_look)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = t_new(256 * MIB, 64 * MIB, false);
	Snapshot *s = t_snap(t, "persistent", 1000);

	t_status(t, s, "Invalid");
	ck_assert_int_eq(sd_event_run(t->d.event, 0), 0); /* nothing to do */
	ck_assert_int_eq(s->state, SNAPSHOT_STATE_CREATED);
	fake_dm_fire_event(t->dm);
	ck_assert_int_eq(sd_event_run(t->d.event, 5 * USEC_PER_SEC), 1);
	ck_assert_int_eq(s->state, SNAPSHOT_STATE_INVALID);
	ck_assert_int_eq(sd_event_run(t->d.event, 0), 0); /* re-armed, quiet again */
}
END_TEST

/* While another set's file systems are frozen, a COW file is not grown (it may lie on one of
 * them, and the loop would block in the write until a thaw only the loop can do); the look
 * that was put off comes when the set is done. The store is one made before its volume's
 * maximum was raised, so that it has to grow to the new maximum. */
START_TEST(no_growth_while_a_set_holds_io)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = t_new(64 * MIB, 64 * MIB, false);
	Snapshot *s = t_snap(t, "persistent", 1000);
	Snapset *other;

	ck_assert_uint_eq(test_dm(s)->cow_bytes, 64 * MIB);
	storage_find(&t->d, "a")->max_bytes = 128 * MIB; /* raised since */
	fake_host_add_mount(t->host, t->devno[1], "/mnt/b");
	other = test_set(t, "backup", true);
	(void)test_add(other, 1);
	ck_assert_int_eq(test_create(other, NULL), 0);
	/* the syncfs pass runs from threads; turn the loop until the freeze has started */
	for (int i = 0; i < 100 && !other->freeze_io; i++)
		ck_assert_int_ge(sd_event_run(t->d.event, 10 * USEC_PER_SEC), 0);
	ck_assert_ptr_nonnull(other->freeze_io);

	t_status(t, s, "%llu/%llu 64", SECTORS(55 * MIB), SECTORS(64 * MIB));
	monitor_check(t->d.monitor); /* a COW write or a dm event woke it */
	ck_assert_uint_eq(test_dm(s)->cow_bytes, 64 * MIB);
	ck_assert_uint_eq(fake_host_file_size(t->host, test_dm(s)->cow_path), 64 * MIB);

	for (int i = 0; i < 1000 && other->state == SNAPSET_STATE_CREATING; i++)
		ck_assert_int_ge(sd_event_run(t->d.event, 5 * USEC_PER_SEC), 0);
	ck_assert_int_eq(other->state, SNAPSET_STATE_CREATED);
	ck_assert_uint_eq(fake_host_count_frozen(t->host), 0);
	ck_assert_uint_eq(test_dm(s)->cow_bytes, 128 * MIB); /* the look put off, after the thaw */
	ck_assert_uint_eq(fake_host_file_size(t->host, test_dm(s)->cow_path), 128 * MIB);
}
END_TEST

START_TEST(a_timer_looks_while_a_shadow_copy_is_valid)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = t_new(128 * MIB, 64 * MIB, false);
	Snapshot *old = t_snap(t, "persistent", 1000), *young = t_snap(t, "persistent", 2000);

	t_status(t, old, "%llu/%llu 64", SECTORS(70 * MIB), SECTORS(128 * MIB));
	t_status(t, young, "%llu/%llu 64", SECTORS(70 * MIB), SECTORS(128 * MIB));
	/* no inotify event, no dm event: the timer (250 ms) */
	ck_assert_int_eq(sd_event_run(t->d.event, 5 * USEC_PER_SEC), 1);
	ck_assert_uint_eq(snapshots_of_a(t), 1);
	ck_assert_int_eq(young->state, SNAPSHOT_STATE_CREATED);
	/* the last one goes invalid: nothing valid is left, and the timer stops */
	t_status(t, young, "Invalid");
	ck_assert_int_eq(sd_event_run(t->d.event, 5 * USEC_PER_SEC), 1);
	ck_assert_int_eq(young->state, SNAPSHOT_STATE_INVALID);
	ck_assert_int_eq(sd_event_run(t->d.event, 0), 0);
	ck_assert_int_eq(sd_event_run(t->d.event, 11 * USEC_PER_SEC / 10), 0);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("monitor",
	TEST(a_cow_starts_sparse_at_the_maximum)
	TEST(a_smaller_cow_grows_to_the_maximum_at_once)
	TEST(a_failed_growth_changes_nothing)
	TEST(past_the_maximum_together_the_oldest_goes)
	TEST(after_a_burst_the_oldest_go_until_the_rest_fits)
	TEST(only_valid_stores_count)
	TEST(the_last_one_is_kept_and_becomes_invalid)
	TEST(overflow_is_invalid_too)
	TEST(the_warning_fires_once_per_crossing)
	TEST(a_crossing_after_the_volume_emptied_is_signalled)
	TEST(volumes_are_watched_apart)
	TEST(a_dm_event_makes_the_monitor_look)
	TEST(no_growth_while_a_set_holds_io)
	TEST(a_timer_looks_while_a_shadow_copy_is_valid))
/* clang-format on */
