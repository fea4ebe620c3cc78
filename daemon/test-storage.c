/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-storage.c - shadow storage administration: bounded maxima, changes undone when the state
 * file cannot be written */
#include <inttypes.h>
#include <sys/stat.h>

#include "common/vssd-limits.h"
#include "daemon/dmsnap.h"
#include "daemon/monitor.h"
#include "daemon/provider-dmsnap.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "daemon/state.h"
#include "daemon/storage.h"
#include "tests/lib/check-main.h"
#include "tests/lib/test-daemon.h"

#define VOLUME_BYTES (TEST_DAEMON_SECTORS * 512)

typedef struct T {
	TestDaemon *td;
	Daemon *d;
	char vol[64]; /* /dev/mapper/<volume 0> */
	char dir[64]; /* a real directory (check_location() stats it), known to the fake host */
} T;

static void t_init(T *t)
{
	ck_assert_int_eq(test_daemon_new_opts(&t->td, &(TestDaemonOptions){ .state_file = true }),
	                 0);
	t->d = &t->td->d;
	t->d->config.storage_min_bytes = 16ULL << 20; /* as the guest tests configure it */
	test_daemon_volume_path(t->td, 0, t->vol);
	snprintf(t->dir, sizeof(t->dir), "%s", t->td->state_dir);
	fake_host_add_dir(t->td->host, t->dir, TEST_DAEMON_STORAGE_DEVNO);
}

static void t_done(T *t)
{
	test_daemon_free(t->td);
}

/* Makes every later state save fail (rename onto a directory), or undoes that: the file is
 * written again by the next save. */
static void break_state_file(T *t, bool broken)
{
	if (broken) {
		(void)unlink(t->d->state_path);
		ck_assert_int_eq(mkdir(t->d->state_path, 0700), 0);
	} else {
		ck_assert_int_eq(rmdir(t->d->state_path), 0);
	}
}

static void assert_err(int r, const VssErr *err, VssError kind, const char *text)
{
	ck_assert_int_lt(r, 0);
	ck_assert_msg(err->kind == kind, "got %s (%s)", vss_error_info(err->kind)->name,
	              err->message);
	ck_assert_msg(strstr(err->message, text), "\"%s\" not in \"%s\"", text, err->message);
}

/* The storage of volume 0 as the state file has it: its max_bytes, or -1 without one */
static int64_t saved_max(T *t)
{
	_cleanup_free_ char *error = NULL;
	State st = STATE_NULL;
	StateStorage *x;
	int64_t max = -1;

	ck_assert_msg(state_load(t->d->state_path, &st, &error) >= 0, "%s", error);
	x = state_find_storage(&st, t->vol);
	if (x)
		max = (int64_t)x->max_bytes;
	state_done(&st);
	return max;
}

START_TEST(add_refuses_a_maximum_beyond_the_volume)
{
	static const uint64_t bad[] = { UINT64_MAX, VSSD_STORAGE_BYTES_MAX + 1,
		                        VSSD_STORAGE_BYTES_MAX, VOLUME_BYTES + 1 };
	VssErr err = { 0 };
	T t;

	t_init(&t);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		err = (VssErr){ 0 };
		assert_err(storage_add(t.d, t.vol, t.dir, bad[i], &err), &err,
		           VSS_ERROR_INVALID_ARGUMENT,
		           "is larger than /dev/mapper/a (64M): give at most 67108864 bytes, or 0 "
		           "for the default");
		ck_assert_uint_eq(t.d->n_storage, 0);
	}
	/* the volume's own size is allowed, and is saved */
	ck_assert_int_eq(storage_add(t.d, t.vol, t.dir, VOLUME_BYTES, &err), 0);
	ck_assert_int_eq(saved_max(&t), (int64_t)VOLUME_BYTES);
	t_done(&t);
}
END_TEST

START_TEST(resize_refuses_a_maximum_beyond_the_volume)
{
	VssErr err = { 0 };
	T t;

	t_init(&t);
	ck_assert_int_eq(storage_add(t.d, t.vol, t.dir, 32ULL << 20, &err), 0);
	assert_err(storage_resize(t.d, t.vol, UINT64_MAX, &err), &err, VSS_ERROR_INVALID_ARGUMENT,
	           "a maximum of 18446744073709551615 bytes is larger than /dev/mapper/a");
	ck_assert_uint_eq(t.d->n_storage, 1);
	ck_assert_uint_eq(t.d->storage[0].max_bytes, 32ULL << 20);
	ck_assert_int_eq(saved_max(&t), 32LL << 20);

	/* without an association: none is made */
	err = (VssErr){ 0 };
	test_daemon_volume_path(t.td, 1, t.vol);
	assert_err(storage_resize(t.d, t.vol, VOLUME_BYTES + 512, &err), &err,
	           VSS_ERROR_INVALID_ARGUMENT, "is larger than /dev/mapper/b");
	ck_assert_uint_eq(t.d->n_storage, 1);
	t_done(&t);
}
END_TEST

/* A volume smaller than the configured minimum may have that minimum, its default anyway */
START_TEST(small_volume_may_have_the_minimum)
{
	VssErr err = { 0 };
	T t;

	t_init(&t);
	t.d->config.storage_min_bytes = VSSD_STORAGE_MIN_BYTES; /* 320M, the volume has 64M */
	assert_err(storage_add(t.d, t.vol, t.dir, VSSD_STORAGE_MIN_BYTES + 1, &err), &err,
	           VSS_ERROR_INVALID_ARGUMENT, "give at most 335544320 bytes");
	ck_assert_int_eq(storage_add(t.d, t.vol, t.dir, VSSD_STORAGE_MIN_BYTES, &err), 0);
	t_done(&t);
}
END_TEST

START_TEST(add_undone_when_the_state_save_fails)
{
	VssErr err = { 0 };
	T t;

	t_init(&t);
	break_state_file(&t, true);
	assert_err(storage_add(t.d, t.vol, t.dir, 32ULL << 20, &err), &err,
	           VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, "cannot write the state file");
	ck_assert_msg(strstr(err.message, "so the storage association of /dev/mapper/a was not "
	                                  "made"),
	              "%s", err.message);
	ck_assert_uint_eq(t.d->n_storage, 0);
	ck_assert_ptr_null(storage_find(t.d, "a"));

	/* once the file can be written again, the same call works */
	break_state_file(&t, false);
	err = (VssErr){ 0 };
	ck_assert_int_eq(storage_add(t.d, t.vol, t.dir, 32ULL << 20, &err), 0);
	ck_assert_int_eq(saved_max(&t), 32LL << 20);
	t_done(&t);
}
END_TEST

START_TEST(resize_undone_when_the_state_save_fails)
{
	VssErr err = { 0 };
	T t;

	t_init(&t);
	ck_assert_int_eq(storage_add(t.d, t.vol, t.dir, 32ULL << 20, &err), 0);
	break_state_file(&t, true);
	assert_err(storage_resize(t.d, t.vol, 48ULL << 20, &err), &err,
	           VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, "so the resize of /dev/mapper/a");
	ck_assert_uint_eq(t.d->n_storage, 1);
	ck_assert_uint_eq(t.d->storage[0].max_bytes, 32ULL << 20);

	/* a resize that would have made the association: none is left */
	err = (VssErr){ 0 };
	assert_err(storage_resize(t.d, "/dev/mapper/b", 48ULL << 20, &err), &err,
	           VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, "so the resize of /dev/mapper/b");
	ck_assert_uint_eq(t.d->n_storage, 1);
	ck_assert_ptr_null(storage_find(t.d, "b"));

	break_state_file(&t, false);
	ck_assert_int_eq(storage_resize(t.d, t.vol, 48ULL << 20, &err), 0);
	ck_assert_int_eq(saved_max(&t), 48LL << 20);
	t_done(&t);
}
END_TEST

START_TEST(delete_undone_when_the_state_save_fails)
{
	char b[64];
	VssErr err = { 0 };
	T t;

	t_init(&t);
	ck_assert_int_eq(storage_add(t.d, t.vol, t.dir, 32ULL << 20, &err), 0);
	ck_assert_int_eq(
		storage_add(t.d, test_daemon_volume_path(t.td, 1, b), t.dir, 40ULL << 20, &err), 0);
	break_state_file(&t, true);
	assert_err(storage_delete(t.d, t.vol, false, &err), &err,
	           VSS_ERROR_UNEXPECTED_PROVIDER_ERROR,
	           "so the deletion of the storage association of /dev/mapper/a was not made");
	/* both still there, in their order, as they were */
	ck_assert_uint_eq(t.d->n_storage, 2);
	ck_assert_str_eq(t.d->storage[0].volume_name, "a");
	ck_assert_str_eq(t.d->storage[0].location, t.dir);
	ck_assert_uint_eq(t.d->storage[0].max_bytes, 32ULL << 20);
	ck_assert_str_eq(t.d->storage[1].volume_name, "b");
	ck_assert_uint_eq(t.d->storage[1].max_bytes, 40ULL << 20);

	break_state_file(&t, false);
	ck_assert_int_eq(storage_delete(t.d, t.vol, false, &err), 0);
	ck_assert_uint_eq(t.d->n_storage, 1);
	ck_assert_str_eq(t.d->storage[0].volume_name, "b");
	ck_assert_int_eq(saved_max(&t), -1);
	t_done(&t);
}
END_TEST

/* The reported defect: after a refused 2^64-1 maximum, sets are still created and saved */
/* vssadmin is not root: a location others may write, own or redirect is refused naming the
 * component, and nothing is recorded */
START_TEST(add_refuses_a_location_others_control)
{
	VssErr err = { 0 };
	T t;

	t_init(&t);
	fake_host_add_dir(t.td->host, "/tmp/cow", TEST_DAEMON_STORAGE_DEVNO);
	fake_host_set_unsafe(t.td->host, "/tmp", -EACCES);
	assert_err(storage_add(t.d, t.vol, "/tmp/cow", 0, &err), &err, VSS_ERROR_ACCESS_DENIED,
	           "/tmp is writable by users other than root");
	fake_host_add_dir(t.td->host, "/srv/link", TEST_DAEMON_STORAGE_DEVNO);
	fake_host_set_unsafe(t.td->host, "/srv/link", -ELOOP);
	err = (VssErr){ 0 };
	assert_err(storage_add(t.d, t.vol, "/srv/link", 0, &err), &err, VSS_ERROR_INVALID_ARGUMENT,
	           "/srv/link is a symbolic link");
	ck_assert_uint_eq(t.d->n_storage, 0);
	t_done(&t);
}
END_TEST

START_TEST(set_created_after_a_refused_maximum)
{
	VssErr err = { 0 };
	Snapset *s;
	T t;

	t_init(&t);
	ck_assert_int_eq(storage_add(t.d, t.vol, t.dir, 32ULL << 20, &err), 0);
	(void)storage_resize(t.d, t.vol, UINT64_MAX, &err); /* refused */
	s = test_created_set(t.td, NULL, 1);
	ck_assert_int_eq(s->state, SNAPSET_STATE_CREATED);
	ck_assert_int_eq(saved_max(&t), 32LL << 20);
	t_done(&t);
}
END_TEST

/* dm's "used/total metadata" of a shadow copy's store */
static void set_used(T *t, Snapshot *s, uint64_t used, uint64_t total)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%" PRIu64 "/%" PRIu64 " 64", used / 512, total / 512);
	ck_assert_int_eq(fake_dm_set_status(t->td->dm, test_dm(s)->snap_name, buf), 0);
}

/* Each COW file is sparse at the maximum; used is what the stores hold together (dm), allocated
 * what the files take on their file system */
START_TEST(usage_is_what_the_stores_hold_and_take)
{
	VssErr err = { 0 };
	Snapshot *s1, *s2;
	StorageUsage u;
	T t;

	t_init(&t);
	ck_assert_int_eq(storage_add(t.d, t.vol, t.dir, 32ULL << 20, &err), 0);
	s1 = test_created_set(t.td, NULL, 1)->snaps[0];
	s2 = test_created_set(t.td, NULL, 1)->snaps[0];
	ck_assert_uint_eq(test_dm(s1)->cow_bytes, 32ULL << 20);
	ck_assert_uint_eq(test_dm(s2)->cow_bytes, 32ULL << 20);
	ck_assert_uint_eq(fake_host_file_size(t.td->host, test_dm(s2)->cow_path), 32ULL << 20);
	set_used(&t, s1, 10ULL << 20, 32ULL << 20);
	set_used(&t, s2, 6ULL << 20, 32ULL << 20);
	fake_host_set_allocated(t.td->host, test_dm(s1)->cow_path, 11ULL << 20);
	fake_host_set_allocated(t.td->host, test_dm(s2)->cow_path, 7ULL << 20);
	ck_assert_int_eq(storage_usage(t.d, t.td->volume[0], &u), 0);
	ck_assert_uint_eq(u.used, 16ULL << 20);
	ck_assert_uint_eq(u.allocated, 18ULL << 20);
	ck_assert_uint_eq(u.max, 32ULL << 20);
	ck_assert_uint_eq(u.n_snapshots, 2);
	t_done(&t);
}
END_TEST

/* A new shadow copy is refused while the others hold the whole maximum */
START_TEST(plan_refused_when_the_stores_hold_the_maximum)
{
	ProviderVolume v = { 0 };
	const char *dir = NULL;
	VssErr err = { 0 };
	uint64_t cow = 0;
	Snapshot *s1;
	T t;

	t_init(&t);
	v.name = t.td->volume[0];
	v.dev_path = t.vol;
	ck_assert_int_eq(storage_add(t.d, t.vol, t.dir, 32ULL << 20, &err), 0);
	s1 = test_created_set(t.td, NULL, 1)->snaps[0];
	set_used(&t, s1, 20ULL << 20, 32ULL << 20);
	ck_assert_int_eq(storage_plan(t.d,
	                              provider_find_by_name(&t.d->providers, PROVIDER_DMSNAP_NAME),
	                              &v, &dir, &cow, &err),
	                 0);
	ck_assert_uint_eq(cow, 32ULL << 20);
	ck_assert_str_eq(dir, t.dir);
	set_used(&t, s1, 32ULL << 20, 32ULL << 20);
	assert_err(storage_plan(t.d, provider_find_by_name(&t.d->providers, PROVIDER_DMSNAP_NAME),
	                        &v, &dir, &cow, &err),
	           &err, VSS_ERROR_INSUFFICIENT_STORAGE,
	           "used up (32M of 32M used by 1 shadow copies)");
	t_done(&t);
}
END_TEST

/* A smaller maximum deletes the oldest until what the stores hold fits */
START_TEST(resize_deletes_the_oldest_until_the_rest_fits)
{
	VssErr err = { 0 };
	Snapshot *s1, *s2;
	VssId id1, id2;
	T t;

	t_init(&t);
	ck_assert_int_eq(storage_add(t.d, t.vol, t.dir, 32ULL << 20, &err), 0);
	s1 = test_created_set(t.td, NULL, 1)->snaps[0];
	s2 = test_created_set(t.td, NULL, 1)->snaps[0];
	id1 = s1->id;
	id2 = s2->id;
	set_used(&t, s1, 10ULL << 20, 32ULL << 20);
	set_used(&t, s2, 10ULL << 20, 32ULL << 20);
	ck_assert_int_eq(storage_resize(t.d, t.vol, 24ULL << 20, &err), 0);
	ck_assert_ptr_eq(daemon_find_snapshot(t.d, &id1), s1); /* 20 of 24M: both stay */
	ck_assert_int_eq(storage_resize(t.d, t.vol, 16ULL << 20, &err), 0);
	ck_assert_ptr_null(daemon_find_snapshot(t.d, &id1));
	ck_assert_ptr_eq(daemon_find_snapshot(t.d, &id2), s2);
	t_done(&t);
}
END_TEST

/* A larger maximum: the stores grow to it at once, before any burst */
START_TEST(resize_up_grows_the_stores_at_once)
{
	VssErr err = { 0 };
	Snapshot *s1;
	T t;

	t_init(&t);
	ck_assert_int_eq(monitor_new(t.d, &t.d->monitor), 0);
	ck_assert_int_eq(storage_add(t.d, t.vol, t.dir, 16ULL << 20, &err), 0);
	s1 = test_created_set(t.td, NULL, 1)->snaps[0];
	set_used(&t, s1, 1ULL << 20, 16ULL << 20);
	ck_assert_uint_eq(test_dm(s1)->cow_bytes, 16ULL << 20);
	ck_assert_int_eq(storage_resize(t.d, t.vol, 48ULL << 20, &err), 0);
	ck_assert_uint_eq(test_dm(s1)->cow_bytes, 48ULL << 20);
	ck_assert_uint_eq(fake_host_file_size(t.td->host, test_dm(s1)->cow_path), 48ULL << 20);
	ck_assert_uint_eq(fake_host_loop_refreshes(t.td->host), 1);
	t_done(&t);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("storage",
	TEST(add_refuses_a_maximum_beyond_the_volume)
	TEST(resize_refuses_a_maximum_beyond_the_volume)
	TEST(small_volume_may_have_the_minimum)
	TEST(add_undone_when_the_state_save_fails)
	TEST(resize_undone_when_the_state_save_fails)
	TEST(delete_undone_when_the_state_save_fails)
	TEST(set_created_after_a_refused_maximum)
	TEST(add_refuses_a_location_others_control)
	TEST(usage_is_what_the_stores_hold_and_take)
	TEST(plan_refused_when_the_stores_hold_the_maximum)
	TEST(resize_deletes_the_oldest_until_the_rest_fits)
	TEST(resize_up_grows_the_stores_at_once))
/* clang-format on */
