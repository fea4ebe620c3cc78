/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-dmsnap.c - the dm-snapshot engine against fake dm and host: order, rollback, refusals */
#include <poll.h>
#include <sys/sysmacros.h>

#include "common/vssd-limits.h"
#include "daemon/dmdev.h"
#include "daemon/dmsnap.h"
#include "daemon/hostops.h"
#include "tests/lib/check-main.h"
#include "tests/lib/dmsnap-blocking.h"
#include "tests/lib/fake-dm.h"
#include "tests/lib/fake-host.h"

#define STORAGE "/var/lib/vssd/storage"
#define VOLSZ   131072ULL
#define COW     (64ULL << 20)

typedef struct T {
	FakeDm *dm;
	FakeHost *host;
	DmsnapEnv env;
	bool fifreeze;       /* the set freezes its file systems (as [commit] freeze = parallel) */
	const char *ledger;  /* its freeze ledger, NULL: none */
	FreezeGroup *frozen; /* what the last t_commit() froze, thawed and freed by t_done() */
	dev_t devno[3];
} T;

static const char *const names[] = { "a", "b", "c" };
static const char *const origin_tables[] = { "linear 7:0 0", "linear 7:1 2048", "linear 7:2 0" };

static void t_init(T *t)
{
	ck_assert_int_eq(fake_dm_new(&t->dm), 0);
	ck_assert_int_eq(fake_host_new(&t->host), 0);
	t->env = (DmsnapEnv){ .dm = fake_dm_dmdev(t->dm),
		              .host = fake_host_host(t->host),
		              .hold_timeout = 10 * USEC_PER_SEC,
		              .flush_timeout = 10 * USEC_PER_SEC,
		              .chunk_sectors = 32,
		              .min_cow_bytes = 1 << 20 };
	t->fifreeze = true;
	t->ledger = NULL;
	t->frozen = NULL;
	for (int i = 0; i < 3; i++) {
		char p[64];

		t->devno[i] = fake_dm_add(t->dm, names[i], "", VOLSZ, "linear",
		                          origin_tables[i] + strlen("linear "));
		snprintf(p, sizeof(p), "/dev/mapper/%s", names[i]);
		fake_host_add_block(t->host, p, t->devno[i]);
	}
	fake_host_add_dir(t->host, STORAGE, makedev(8, 1));
	fake_host_add_mount(t->host, t->devno[0], "/mnt/a");
	fake_host_add_mount(t->host, t->devno[1], "/mnt/b");
}

static void t_done(T *t)
{
	t->frozen = freeze_group_free(t->frozen);
	fake_dm_free(t->dm);
	fake_host_free(t->host);
}

static int t_new_set(T *t, int n, DmsnapSet **ret, VssErr *err)
{
	VssId id;
	int r;

	vssid_generate(&id);
	r = dmsnap_set_new(&t->env, &id, false, ret);
	if (r < 0)
		return r;
	for (int i = 0; i < n; i++) {
		char p[64];

		snprintf(p, sizeof(p), "/dev/mapper/%s", names[i]);
		r = dmsnap_set_add(*ret, p, STORAGE, COW, NULL, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Nothing of ours is left and every origin is exactly as before. */
static void assert_clean(T *t)
{
	ck_assert_uint_eq(fake_dm_count_suspended(t->dm), 0);
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t->dm, "VSSD-"), 0);
	ck_assert_uint_eq(fake_dm_count_devices(t->dm), 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_str_eq(fake_dm_live(t->dm, names[i]), origin_tables[i]);
		ck_assert(!fake_dm_has_inactive(t->dm, names[i]));
	}
	ck_assert_uint_eq(fake_host_count_files(t->host), 0);
	ck_assert_uint_eq(fake_host_count_frozen(t->host), 0);
}

/* The freeze (as the daemon's creation pipeline runs it, here blocking), then the commit; a
 * failed freeze rolls the set back */
static int t_commit(T *t, DmsnapSet *s, VssErr *err)
{
	int r;

	t->frozen = freeze_group_free(t->frozen);
	r = dmsnap_set_freeze(s, &t->env, t->fifreeze, t->ledger, &t->frozen, err);
	if (r < 0)
		return r; /* rolled back */
	r = dmsnap_set_commit(s, t->frozen != NULL, NULL, err);
	freeze_ledger_clear(t->ledger); /* thawed by the commit, whatever its result */
	return r;
}

static int t_create(T *t, int n, DmsnapSet **ret, VssErr *err)
{
	int r = t_new_set(t, n, ret, err);

	if (r < 0)
		return r;
	r = dmsnap_set_prepare(*ret, err);
	if (r < 0)
		return r;
	return t_commit(t, *ret, err);
}

START_TEST(set_of_three_call_order)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *s = NULL;
	VssErr err = { 0 };
	char want[1024], sn[3][128];
	_cleanup_free_ char *got = NULL;
	T t;

	t_init(&t);
	ck_assert_int_eq(t_create(&t, 3, &s, &err), 0);
	for (int i = 0; i < 3; i++)
		snprintf(sn[i], sizeof(sn[i]), "%s", dmsnap_set_snapshot(s, i)->snap_name);

	/* Every origin is suspended before any resume; snapshots resume before origins. */
	got = fake_dm_calls_filtered(t.dm, "suspend resume");
	snprintf(want, sizeof(want),
	         "suspend a skip_lockfs\nsuspend b skip_lockfs\nsuspend c skip_lockfs\n"
	         "resume %s\nresume %s\nresume %s\nresume a\nresume b\nresume c",
	         sn[0], sn[1], sn[2]);
	ck_assert_str_eq(got, want);
	free(got);

	/* Staging: -real with the volume's own table, the snapshot loaded, the origin staged. */
	got = fake_dm_calls_filtered(t.dm, "create load");
	snprintf(want, sizeof(want),
	         "create a-vssd-real table\ncreate %s\nload %s snapshot\nload a snapshot-origin\n"
	         "create b-vssd-real table\ncreate %s\nload %s snapshot\nload b snapshot-origin\n"
	         "create c-vssd-real table\ncreate %s\nload %s snapshot\nload c snapshot-origin",
	         sn[0], sn[0], sn[1], sn[1], sn[2], sn[2]);
	ck_assert_str_eq(got, want);

	ck_assert_str_eq(fake_dm_live(t.dm, "a-vssd-real"), origin_tables[0]);
	ck_assert_ptr_nonnull(startswith(fake_dm_live(t.dm, "a"), "snapshot-origin 253:"));
	ck_assert_ptr_nonnull(startswith(fake_dm_live(t.dm, sn[1]), "snapshot 253:"));
	ck_assert_ptr_nonnull(strstr(fake_dm_live(t.dm, sn[1]), " N 32"));
	ck_assert_uint_eq(fake_dm_count_suspended(t.dm), 0);
	ck_assert_uint_eq(fake_host_freezes(t.host), 2); /* a and b are mounted, c is not */
	ck_assert_uint_eq(fake_host_count_frozen(t.host), 0);
	ck_assert_uint_eq(fake_host_count_files(t.host), 3);
	t_done(&t);
}
END_TEST

/* The dm calls of one set creation per volume (first snapshot of each): status and table of
 * the volume to check it, its table again at prepare, three creates-and-loads (-real with the
 * volume's table, the snapshot, the staged snapshot-origin), suspend and two resumes. The bare
 * dmsetup sequence needs the same less one table read; bench/run gates the real count. */
START_TEST(set_creation_dm_calls_per_volume)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *s = NULL;
	VssErr err = { 0 };
	T t;

	t_init(&t);
	ck_assert_int_eq(t_create(&t, 3, &s, &err), 0);
	ck_assert_uint_eq(fake_dm_count_ops(t.dm, FAKE_DM_INFO), 3);
	ck_assert_uint_eq(fake_dm_count_ops(t.dm, FAKE_DM_TABLE), 6);
	ck_assert_uint_eq(fake_dm_count_ops(t.dm, FAKE_DM_CREATE), 6);
	ck_assert_uint_eq(fake_dm_count_ops(t.dm, FAKE_DM_LOAD), 6);
	ck_assert_uint_eq(fake_dm_count_ops(t.dm, FAKE_DM_SUSPEND), 3);
	ck_assert_uint_eq(fake_dm_count_ops(t.dm, FAKE_DM_RESUME), 6);
	ck_assert_uint_eq(fake_dm_count_ops(t.dm, _FAKE_DM_OP_MAX), 30);
	t_done(&t);
}
END_TEST

/* With FIFREEZE off nothing is frozen first, so a mounted origin's suspend keeps lockfs (the
 * kernel flushes and freezes it); only the unmounted one skips it. */
START_TEST(without_fifreeze_mounted_origins_suspend_with_lockfs)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *s = NULL;
	_cleanup_free_ char *got = NULL;
	VssErr err = { 0 };
	T t;

	t_init(&t);
	t.fifreeze = false;
	ck_assert_int_eq(t_create(&t, 3, &s, &err), 0);
	got = fake_dm_calls_filtered(t.dm, "suspend");
	ck_assert_str_eq(got, "suspend a\nsuspend b\nsuspend c skip_lockfs");
	t_done(&t);
}
END_TEST

START_TEST(names_and_uuids)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *s = NULL;
	VssErr err = { 0 };
	char set32[33], snap32[33], want[256];
	const DmsnapSnapshot *sn;
	DmdevInfo info;
	T t;

	t_init(&t);
	ck_assert_int_eq(t_create(&t, 1, &s, &err), 0);
	sn = dmsnap_set_snapshot(s, 0);
	vssid_to_path(&sn->set_id, set32);
	vssid_to_path(&sn->id, snap32);

	snprintf(want, sizeof(want), "vssd-%.8s-a", set32);
	ck_assert_str_eq(sn->snap_name, want);
	ck_assert_int_eq(dmdev_info(t.env.dm, sn->snap_name, &info), 0);
	snprintf(want, sizeof(want), "VSSD-S-%s-%s", set32, snap32);
	ck_assert_str_eq(info.uuid, want);
	ck_assert_int_eq(dmdev_info(t.env.dm, "a-vssd-real", &info), 0);
	ck_assert(info.exists);
	ck_assert_ptr_nonnull(startswith(info.uuid, "VSSD-R-"));
	snprintf(want, sizeof(want), STORAGE "/vssd-a-%s.cow", snap32);
	ck_assert_str_eq(sn->cow_path, want);
	ck_assert_str_eq(sn->volume_name, "a");
	ck_assert_uint_eq(sn->sectors, VOLSZ);
	/* the engine refuses its own devices as volumes */
	snprintf(want, sizeof(want), "/dev/mapper/%s", sn->snap_name);
	fake_host_add_block(t.host, want, makedev(FAKE_DM_MAJOR, info.minor));
	{
		DmsnapVolume v;
		VssErr e2 = { 0 };

		ck_assert_int_lt(dmsnap_volume_resolve(&t.env, want, &v, &e2), 0);
		ck_assert_int_eq(e2.kind, VSS_ERROR_VOLUME_NOT_SUPPORTED);
	}
	t_done(&t);
}
END_TEST

/* Each failure injection: the set fails with the expected error and nothing is left. */
static void run_failure(void (*inject)(T *t), VssError want)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *s = NULL;
	VssErr err = { 0 };
	T t;

	t_init(&t);
	inject(&t);
	ck_assert_int_lt(t_create(&t, 3, &s, &err), 0);
	ck_assert_int_eq(err.kind, want);
	ck_assert(err.message[0]);
	assert_clean(&t);
	s = dmsnap_set_free(s); /* freeing a failed set changes nothing more */
	assert_clean(&t);
	t_done(&t);
}

static void inj_file(T *t)
{
	fake_host_fail_nth(t->host, FAKE_HOST_FILE_CREATE, 2, -ENOSPC);
}
static void inj_loop(T *t)
{
	fake_host_fail_nth(t->host, FAKE_HOST_LOOP_ATTACH, 3, -EBUSY);
}
static void inj_create_real(T *t)
{
	fake_dm_fail_nth(t->dm, FAKE_DM_CREATE, 3, -ENOMEM); /* b-vssd-real */
}
static void inj_create_snap(T *t)
{
	fake_dm_fail_nth(t->dm, FAKE_DM_CREATE, 2, -ENOMEM);
}
static void inj_load_snap(T *t)
{
	fake_dm_fail_nth(t->dm, FAKE_DM_LOAD, 3, -EINVAL); /* b's snapshot table */
}
static void inj_load_origin(T *t)
{
	fake_dm_fail_nth(t->dm, FAKE_DM_LOAD, 6, -ENOMEM); /* c's snapshot-origin */
}
static void inj_freeze(T *t)
{
	fake_host_fail_nth(t->host, FAKE_HOST_FREEZE, 2, -EIO);
}
static void inj_suspend(T *t)
{
	fake_dm_fail_nth(t->dm, FAKE_DM_SUSPEND, 3, -EIO);
}
static void inj_resume_snap(T *t)
{
	fake_dm_fail_nth(t->dm, FAKE_DM_RESUME, 2, -ENOMEM);
}
static void inj_resume_origin(T *t)
{
	/* 3 snapshot resumes, then origin a, then b fails once: its retry with the old table
	 * succeeds, but b's snapshot would be stale, so the whole set must fail */
	fake_dm_fail_nth(t->dm, FAKE_DM_RESUME, 5, -ENOMEM);
}
static void inj_hold_timeout(T *t)
{
	fake_dm_set_clock(t->dm, fake_host_clock(t->host), 4 * USEC_PER_SEC);
}

START_TEST(rollback_when_cow_file_fails)
{
	run_failure(inj_file, VSS_ERROR_INSUFFICIENT_STORAGE);
}
END_TEST
START_TEST(rollback_when_loop_attach_fails)
{
	run_failure(inj_loop, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR);
}
END_TEST
START_TEST(rollback_when_real_create_fails)
{
	run_failure(inj_create_real, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR);
}
END_TEST
START_TEST(rollback_when_snapshot_create_fails)
{
	run_failure(inj_create_snap, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR);
}
END_TEST
START_TEST(rollback_when_snapshot_load_fails)
{
	run_failure(inj_load_snap, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR);
}
END_TEST
START_TEST(rollback_when_origin_stage_fails)
{
	run_failure(inj_load_origin, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR);
}
END_TEST
START_TEST(rollback_when_freeze_fails)
{
	run_failure(inj_freeze, VSS_ERROR_PROVIDER_VETO);
}
END_TEST
START_TEST(rollback_when_suspend_fails)
{
	run_failure(inj_suspend, VSS_ERROR_PROVIDER_VETO);
}
END_TEST
START_TEST(rollback_when_snapshot_resume_fails)
{
	run_failure(inj_resume_snap, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR);
}
END_TEST
START_TEST(rollback_when_origin_resume_fails)
{
	run_failure(inj_resume_origin, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR);
}
END_TEST
START_TEST(hold_watchdog_resumes_everything)
{
	run_failure(inj_hold_timeout, VSS_ERROR_HOLD_WRITES_TIMEOUT);
}
END_TEST

/* The loop stuck inside the hold (an ioctl that does not come back, a blocking call): the
 * watchdog thread resumes every origin and thaws every file system by itself at the deadline,
 * while the loop is still stuck; when the loop comes back the set fails with HoldWritesTimeout
 * and leaves nothing. The fake clock stands still: only the watchdog's real clock can see the
 * deadline pass. */
START_TEST(a_stuck_loop_is_released_by_the_watchdog_thread)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *s = NULL;
	VssErr err = { 0 };
	T t;

	t_init(&t);
	t.env.hold_timeout = 100 * USEC_PER_MSEC;
	ck_assert_int_eq(t_new_set(&t, 3, &s, &err), 0);
	ck_assert_int_eq(dmsnap_set_prepare(s, &err), 0);
	/* the first snapshot resume, once every origin is suspended, hangs until three
	 * emergency resumes came from another thread (10 s at most) */
	fake_dm_hang_nth(t.dm, FAKE_DM_RESUME, 1, 3);
	ck_assert_int_eq(t_commit(&t, s, &err), -ETIME);
	ck_assert_msg(fake_dm_hang_released(t.dm), "nobody resumed the origins of a stuck loop");
	ck_assert_uint_eq(fake_dm_emergency_resumes(t.dm), 3);
	ck_assert_int_eq(err.kind, VSS_ERROR_HOLD_WRITES_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(err.message, "watchdog"));
	ck_assert_uint_eq(fake_host_freezes(t.host), 2);
	assert_clean(&t); /* nothing suspended, nothing frozen, the set rolled back */
	t_done(&t);
}
END_TEST

/* A commit that ends in time disarms it: nothing fires afterwards. */
START_TEST(the_watchdog_stays_quiet_after_a_commit_in_time)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *s = NULL;
	VssErr err = { 0 };
	T t;

	t_init(&t);
	/* short deadlines, with room for a loaded machine to commit within them */
	t.env.hold_timeout = USEC_PER_SEC;
	t.env.flush_timeout = USEC_PER_SEC;
	ck_assert_int_eq(t_create(&t, 2, &s, &err), 0);
	ck_assert(dmsnap_set_is_committed(s));
	/* well past both deadlines: the thread must have been disarmed */
	(void)poll(NULL, 0, 2500);
	ck_assert_uint_eq(fake_dm_emergency_resumes(t.dm), 0);
	ck_assert_uint_eq(fake_host_count_frozen(t.host), 0);
	s = dmsnap_set_free(s);
	t_done(&t);
}
END_TEST

START_TEST(suspend_failure_resumes_the_suspended_ones)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *s = NULL;
	VssErr err = { 0 };
	_cleanup_free_ char *got = NULL;
	T t;

	t_init(&t);
	fake_dm_fail_nth(t.dm, FAKE_DM_SUSPEND, 3, -EIO);
	ck_assert_int_lt(t_create(&t, 3, &s, &err), 0);
	got = fake_dm_calls_filtered(t.dm, "suspend resume clear");
	/* staged tables are dropped before the resume, so the old tables come back */
	ck_assert_str_eq(got,
	                 "suspend a skip_lockfs\nsuspend b skip_lockfs\nsuspend c skip_lockfs\n"
	                 "clear a\nresume a\nclear b\nresume b\nclear c");
	assert_clean(&t);
	t_done(&t);
}
END_TEST

static int resolve_err(T *t, const char *path, VssErr *err)
{
	DmsnapVolume v;
	int r = dmsnap_volume_resolve(&t->env, path, &v, err);

	if (r >= 0)
		dmsnap_volume_done(&v);
	return r;
}

START_TEST(refuses_bad_volumes)
{
	VssErr e;
	T t;

	t_init(&t);
	fake_host_add_block(t.host, "/dev/mapper/lv",
	                    fake_dm_add(t.dm, "lv", "LVM-abcdef", VOLSZ, "linear", "7:5 0"));
	fake_host_add_block(t.host, "/dev/sda", makedev(8, 0));
	fake_host_add_file(t.host, "/etc/passwd");
	fake_host_add_block(t.host, "/dev/mapper/crypt",
	                    fake_dm_add(t.dm, "crypt", "CRYPT-x", VOLSZ, "crypt", "aes 0 7:6 0"));

	e = (VssErr){ 0 };
	ck_assert_int_eq(resolve_err(&t, "/dev/mapper/lv", &e), -EMEDIUMTYPE); /* LVM's */
	ck_assert_int_eq(e.kind, VSS_ERROR_VOLUME_NOT_SUPPORTED);
	ck_assert_ptr_nonnull(strstr(e.message, "LVM"));
	e = (VssErr){ 0 };
	ck_assert_int_eq(resolve_err(&t, "/dev/sda", &e), -EOPNOTSUPP);
	ck_assert_int_eq(e.kind, VSS_ERROR_VOLUME_NOT_SUPPORTED);
	ck_assert_ptr_nonnull(strstr(e.message, "not a device-mapper device"));
	e = (VssErr){ 0 };
	ck_assert_int_eq(resolve_err(&t, "/etc/passwd", &e), -ENOTBLK);
	ck_assert_int_eq(e.kind, VSS_ERROR_VOLUME_NOT_SUPPORTED);
	ck_assert_ptr_nonnull(strstr(e.message, "not a block device"));
	e = (VssErr){ 0 };
	ck_assert_int_eq(resolve_err(&t, "/dev/mapper/missing", &e), -ENOENT);
	ck_assert_int_eq(e.kind, VSS_ERROR_OBJECT_NOT_FOUND);
	e = (VssErr){ 0 };
	ck_assert_int_eq(resolve_err(&t, "dev/mapper/a", &e), -EINVAL);
	ck_assert_int_eq(e.kind, VSS_ERROR_INVALID_ARGUMENT);
	e = (VssErr){ 0 };
	ck_assert_int_eq(resolve_err(&t, "/dev/mapper/crypt", &e), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(e.message, "'crypt' target"));
	t_done(&t);
}
END_TEST

START_TEST(refuses_bad_storage)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *s = NULL;
	VssErr e = { 0 };
	VssId id;
	T t;

	t_init(&t);
	fake_host_add_dir(t.host, "/mnt/a/storage", t.devno[0]);
	vssid_generate(&id);
	ck_assert_int_eq(dmsnap_set_new(&t.env, &id, false, &s), 0);

	/* too small */
	ck_assert_int_eq(dmsnap_set_add(s, "/dev/mapper/a", STORAGE, 4096, NULL, &e), -ENOSPC);
	ck_assert_int_eq(e.kind, VSS_ERROR_INSUFFICIENT_STORAGE);
	/* a directory that does not exist */
	e = (VssErr){ 0 };
	ck_assert_int_eq(dmsnap_set_add(s, "/dev/mapper/a", "/nonexistent", COW, NULL, &e),
	                 -ENOENT);
	ck_assert_int_eq(e.kind, VSS_ERROR_OBJECT_NOT_FOUND);
	/* on the volume itself: refused at prepare, before anything changes */
	e = (VssErr){ 0 };
	ck_assert_int_eq(dmsnap_set_add(s, "/dev/mapper/a", "/mnt/a/storage", COW, NULL, &e), 0);
	ck_assert_int_eq(dmsnap_set_prepare(s, &e), -ELOOP);
	ck_assert_int_eq(e.kind, VSS_ERROR_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(e.message, "same set"));
	assert_clean(&t);
	ck_assert_ptr_null(fake_dm_calls(t.dm)[0]);
	s = dmsnap_set_free(s);
	t_done(&t);
}
END_TEST

START_TEST(refuses_duplicates_and_too_many)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *s = NULL, *big = NULL;
	VssErr e = { 0 };
	VssId id;
	T t;

	t_init(&t);
	fake_host_add_block(t.host, "/dev/dm-0", t.devno[0]);
	vssid_generate(&id);
	ck_assert_int_eq(dmsnap_set_new(&t.env, &id, false, &s), 0);
	ck_assert_int_eq(dmsnap_set_add(s, "/dev/mapper/a", STORAGE, COW, NULL, &e), 0);
	ck_assert_int_eq(dmsnap_set_add(s, "/dev/dm-0", STORAGE, COW, NULL, &e), -EEXIST);
	ck_assert_int_eq(e.kind, VSS_ERROR_OBJECT_ALREADY_EXISTS);

	ck_assert_int_eq(dmsnap_set_new(&t.env, &id, false, &big), 0);
	for (int i = 0; i <= VSSD_VOLUMES_PER_SET_MAX; i++) {
		char name[32], path[64];

		snprintf(name, sizeof(name), "v%d", i);
		snprintf(path, sizeof(path), "/dev/mapper/%s", name);
		fake_host_add_block(t.host, path,
		                    fake_dm_add(t.dm, name, "", VOLSZ, "linear", "7:9 0"));
		e = (VssErr){ 0 };
		if (i < VSSD_VOLUMES_PER_SET_MAX)
			ck_assert_int_eq(dmsnap_set_add(big, path, STORAGE, COW, NULL, &e), 0);
		else {
			ck_assert_int_eq(dmsnap_set_add(big, path, STORAGE, COW, NULL, &e), -E2BIG);
			ck_assert_int_eq(e.kind, VSS_ERROR_MAXIMUM_NUMBER_OF_VOLUMES_REACHED);
		}
	}
	ck_assert_uint_eq(dmsnap_set_count(big), VSSD_VOLUMES_PER_SET_MAX);
	s = dmsnap_set_free(s);
	big = dmsnap_set_free(big);
	t_done(&t);
}
END_TEST

START_TEST(delete_restores_own_table_with_the_last_snapshot)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *s1 = NULL, *s2 = NULL;
	VssErr e = { 0 };
	T t;

	t_init(&t);
	ck_assert_int_eq(t_create(&t, 1, &s1, &e), 0);
	ck_assert_int_eq(t_create(&t, 2, &s2, &e), 0);
	/* a was converted already: its second snapshot stages no table, b's first does */
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t.dm, "VSSD-S-"), 3);
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t.dm, "VSSD-R-"), 2);

	ck_assert_int_eq(dmsnap_snapshot_delete(&t.env, dmsnap_set_snapshot(s1, 0), &e), 0);
	ck_assert_ptr_nonnull(startswith(fake_dm_live(t.dm, "a"), "snapshot-origin"));
	ck_assert(fake_dm_exists(t.dm, "a-vssd-real"));
	/* deleting twice is harmless */
	ck_assert_int_eq(dmsnap_snapshot_delete(&t.env, dmsnap_set_snapshot(s1, 0), &e), 0);

	ck_assert_int_eq(dmsnap_snapshot_delete(&t.env, dmsnap_set_snapshot(s2, 0), &e), 0);
	ck_assert_int_eq(dmsnap_snapshot_delete(&t.env, dmsnap_set_snapshot(s2, 1), &e), 0);
	assert_clean(&t);
	t_done(&t);
}
END_TEST

/* A volume added while converted whose last shadow copy goes before the set is created: the
 * set converts it again (its -real was removed; a stale device number would point anywhere) */
START_TEST(volume_unconverted_between_add_and_create)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *s1 = NULL, *s2 = NULL;
	DmdevTable st = DMDEV_TABLE_NULL;
	VssErr e = { 0 };
	char want[64];
	dev_t real;
	T t;

	t_init(&t);
	ck_assert_int_eq(t_create(&t, 1, &s1, &e), 0);
	ck_assert_int_eq(t_new_set(&t, 1, &s2, &e), 0); /* AddVolume sees a converted */
	ck_assert_int_eq(dmsnap_snapshot_delete(&t.env, dmsnap_set_snapshot(s1, 0), &e), 0);
	ck_assert_str_eq(fake_dm_live(t.dm, "a"), origin_tables[0]);
	ck_assert(!fake_dm_exists(t.dm, "a-vssd-real"));

	ck_assert_int_eq(dmsnap_set_prepare(s2, &e), 0);
	ck_assert_int_eq(t_commit(&t, s2, &e), 0);
	ck_assert(fake_dm_exists(t.dm, "a-vssd-real"));
	real = fake_dm_devno(t.dm, "a-vssd-real");
	snprintf(want, sizeof(want), "snapshot-origin %u:%u", major(real), minor(real));
	ck_assert_str_eq(fake_dm_live(t.dm, "a"), want);
	ck_assert_str_eq(fake_dm_live(t.dm, "a-vssd-real"), origin_tables[0]);
	/* the snapshot reads the new -real */
	ck_assert_int_eq(
		dmdev_get_table(t.env.dm, dmsnap_set_snapshot(s2, 0)->snap_name, false, &st), 0);
	snprintf(want, sizeof(want), "%u:%u ", major(real), minor(real));
	ck_assert_ptr_nonnull(startswith(st.targets[0].params, want));
	dmdev_table_done(&st);
	ck_assert_int_eq(dmsnap_snapshot_delete(&t.env, dmsnap_set_snapshot(s2, 0), &e), 0);
	assert_clean(&t);
	t_done(&t);
}
END_TEST

START_TEST(recover_resumes_and_drops_staged_tables)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *s = NULL;
	char dir[] = "/tmp/test-dmsnap.XXXXXX", ledger[64];
	VssErr e = { 0 };
	FILE *f;
	T t;

	t_init(&t);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(ledger, sizeof(ledger), "%s/frozen", dir);
	t.ledger = ledger;
	ck_assert_int_eq(t_new_set(&t, 2, &s, &e), 0);
	ck_assert_int_eq(dmsnap_set_prepare(s, &e), 0);
	/* a daemon that died inside the hold: both file systems frozen (the ledger names them),
	 * both origins suspended with staged tables */
	ck_assert_int_eq(dmsnap_set_freeze(s, &t.env, true, ledger, &t.frozen, &e), 0);
	ck_assert_uint_eq(fake_host_count_frozen(t.host), 2);
	ck_assert_int_eq(access(ledger, F_OK), 0);
	ck_assert_int_eq(dmdev_suspend(t.env.dm, "a", 0), 0);
	ck_assert_int_eq(dmdev_suspend(t.env.dm, "b", 0), 0);
	ck_assert_int_eq(dmdev_suspend(t.env.dm, dmsnap_set_snapshot(s, 0)->snap_name, 0), 0);
	/* and a file system an administrator froze himself (fsfreeze), which is not ours */
	fake_host_add_mount(t.host, t.devno[2], "/mnt/c");
	ck_assert_int_eq(t.env.host->ops->freeze(t.env.host->userdata, "/mnt/c"), 0);

	ck_assert_int_eq(dmsnap_recover_held(&t.env), 3);
	freeze_ledger_thaw(ledger, t.env.host); /* the daemon's recovery, after the providers' */
	ck_assert_uint_eq(fake_dm_count_suspended(t.dm), 0);
	ck_assert(!fake_dm_has_inactive(t.dm, "a"));
	ck_assert(!fake_dm_has_inactive(t.dm, "b"));
	ck_assert_str_eq(fake_dm_live(t.dm, "a"), origin_tables[0]);
	ck_assert_uint_eq(fake_host_count_frozen(t.host), 1); /* /mnt/c stays frozen */
	ck_assert_int_eq(access(ledger, F_OK), -1);
	s = dmsnap_set_free(s); /* the engine's own abort finds nothing left to do */
	ck_assert_uint_eq(fake_dm_count_suspended(t.dm), 0);

	/* a ledger from another boot thaws nothing (nothing of that boot can be frozen) */
	f = fopen(ledger, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "00000000-0000-0000-0000-000000000000\n/mnt/c");
	fputc(0, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(dmsnap_recover_held(&t.env), 0);
	freeze_ledger_thaw(ledger, t.env.host);
	ck_assert_uint_eq(fake_host_count_frozen(t.host), 1);
	ck_assert_int_eq(access(ledger, F_OK), -1);
	ck_assert_int_eq(rmdir(dir), 0);
	t_done(&t);
}
END_TEST

START_TEST(snapshot_status_parsing)
{
	DmdevSnapshotStatus st;

	ck_assert_int_eq(dmdev_parse_snapshot_status("16/131072 16", &st), 0);
	ck_assert_uint_eq(st.used_sectors, 16);
	ck_assert_uint_eq(st.total_sectors, 131072);
	ck_assert(!st.invalid);
	ck_assert_int_eq(dmdev_parse_snapshot_status("Invalid", &st), 0);
	ck_assert(st.invalid);
	ck_assert_int_eq(dmdev_parse_snapshot_status("Overflow", &st), 0);
	ck_assert(st.invalid && st.overflow);
	ck_assert_int_eq(dmdev_parse_snapshot_status("garbage", &st), -EINVAL);
}
END_TEST

TEST_SUITE_MAIN(
	"dmsnap",
	TEST(set_of_three_call_order) TEST(set_creation_dm_calls_per_volume) TEST(
		without_fifreeze_mounted_origins_suspend_with_lockfs) TEST(names_and_uuids)
		TEST(rollback_when_cow_file_fails) TEST(rollback_when_loop_attach_fails) TEST(
			rollback_when_real_create_fails) TEST(rollback_when_snapshot_create_fails)
			TEST(rollback_when_snapshot_load_fails) TEST(rollback_when_origin_stage_fails) TEST(
				rollback_when_freeze_fails) TEST(rollback_when_suspend_fails)
				TEST(rollback_when_snapshot_resume_fails) TEST(
					rollback_when_origin_resume_fails) TEST(hold_watchdog_resumes_everything)
					TEST(suspend_failure_resumes_the_suspended_ones) TEST(
						a_stuck_loop_is_released_by_the_watchdog_thread)
						TEST(the_watchdog_stays_quiet_after_a_commit_in_time) TEST(
							refuses_bad_volumes) TEST(refuses_bad_storage)
							TEST(refuses_duplicates_and_too_many) TEST(
								delete_restores_own_table_with_the_last_snapshot)
								TEST(volume_unconverted_between_add_and_create) TEST(
									recover_resumes_and_drops_staged_tables)
									TEST(snapshot_status_parsing))
