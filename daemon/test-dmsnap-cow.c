/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-dmsnap-cow.c - a COW file comes back after a reboot only if it is the file vssd created */
#include <sys/sysmacros.h>

#include "daemon/dmdev.h"
#include "daemon/dmsnap.h"
#include "daemon/hostops.h"
#include "tests/lib/check-main.h"
#include "tests/lib/fake-dm.h"
#include "tests/lib/fake-host.h"

#define STORAGE "/var/lib/vssd/storage"
#define COWFILE STORAGE "/vssd-a-cow.cow"
#define VOLSZ   131072ULL
#define COW     (64ULL << 20)

typedef struct T {
	FakeDm *dm;
	FakeHost *host;
	DmsnapEnv env;
} T;

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
	fake_host_add_block(t->host, "/dev/mapper/a",
	                    fake_dm_add(t->dm, "a", "", VOLSZ, "linear", "7:0 0"));
	fake_host_add_dir(t->host, "/", makedev(8, 1)); /* what a reboot re-attaches from */
	fake_host_add_dir(t->host, STORAGE, makedev(8, 1));
}

static void t_done(T *t)
{
	fake_dm_free(t->dm);
	fake_host_free(t->host);
}

/* A persistent snapshot of a as the state file has it after a reboot: its devices gone, its COW
 * file there (created now, as vssd did before the reboot) */
static void recorded(T *t, DmsnapSnapshot *s)
{
	HostFileId id;
	char name[128];

	ck_assert_int_eq(t->env.host->ops->file_create(t->env.host->userdata, COWFILE, COW, &id),
	                 0);
	*s = (DmsnapSnapshot){ .sectors = VOLSZ,
		               .cow_bytes = COW,
		               .chunk_sectors = 32,
		               .persistent = true,
		               .cow_dev = id.dev,
		               .cow_ino = id.ino };
	vssid_generate(&s->id);
	vssid_generate(&s->set_id);
	ck_assert_int_eq(dmsnap_snapshot_dm_name(&s->set_id, "a", name), 0);
	s->volume_name = strdup("a");
	s->snap_name = strdup(name);
	s->cow_path = strdup(COWFILE);
}

static int bring_back(T *t, const DmsnapSnapshot *s, VssErr *err)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *e = NULL;
	int r;

	r = dmsnap_set_new(&t->env, &s->set_id, true, &e);
	if (r >= 0)
		r = dmsnap_set_add_existing(e, s, err);
	if (r >= 0)
		r = dmsnap_set_prepare(e, err);
	if (r >= 0)
		r = dmsnap_set_commit(e, false, NULL, err);
	return r;
}

START_TEST(the_same_file_comes_back)
{
	DmsnapSnapshot s;
	VssErr err = { 0 };
	T t;

	t_init(&t);
	recorded(&t, &s);
	ck_assert_msg(bring_back(&t, &s, &err) == 0, "%s", err.message);
	ck_assert(fake_dm_exists(t.dm, s.snap_name));
	dmsnap_snapshot_done(&s);
	t_done(&t);
}
END_TEST

START_TEST(another_file_under_its_name_does_not)
{
	DmsnapSnapshot s;
	VssErr err = { 0 };
	HostFileId other;
	T t;

	t_init(&t);
	recorded(&t, &s);
	/* replaced: same name, another file */
	ck_assert_int_eq(t.env.host->ops->file_remove(t.env.host->userdata, COWFILE), 0);
	ck_assert_int_eq(t.env.host->ops->file_create(t.env.host->userdata, COWFILE, COW, &other),
	                 0);
	ck_assert_int_eq(bring_back(&t, &s, &err), -ESTALE);
	ck_assert_int_eq(err.kind, VSS_ERROR_ACCESS_DENIED);
	ck_assert_msg(strstr(err.message, "is not the COW file vssd created"), "%s", err.message);
	ck_assert(!fake_dm_exists(t.dm, s.snap_name));
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t.dm, "VSSD-"), 0);
	/* the file is not vssd's to delete either */
	ck_assert_uint_eq(fake_host_count_files(t.host), 1);
	dmsnap_snapshot_done(&s);
	t_done(&t);
}
END_TEST

/* A state file older than the check: attached (hostops checks owner, type and links) */
START_TEST(unrecorded_identity_is_attached_after_the_host_checks)
{
	DmsnapSnapshot s;
	VssErr err = { 0 };
	T t;

	t_init(&t);
	recorded(&t, &s);
	s.cow_dev = s.cow_ino = 0;
	ck_assert_int_eq(bring_back(&t, &s, &err), 0);
	dmsnap_snapshot_done(&s);
	t_done(&t);
}
END_TEST

/* A new snapshot records the identity of the COW file it created */
START_TEST(creation_records_the_identity)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *e = NULL;
	VssErr err = { 0 };
	VssId id;
	T t;

	t_init(&t);
	vssid_generate(&id);
	ck_assert_int_eq(dmsnap_set_new(&t.env, &id, true, &e), 0);
	ck_assert_int_eq(dmsnap_set_add(e, "/dev/mapper/a", STORAGE, COW, NULL, &err), 0);
	ck_assert_int_eq(dmsnap_set_prepare(e, &err), 0);
	ck_assert_uint_ne(dmsnap_set_snapshot(e, 0)->cow_ino, 0);
	ck_assert_uint_ne(dmsnap_set_snapshot(e, 0)->cow_dev, 0);
	ck_assert_int_eq(dmsnap_set_commit(e, false, NULL, &err), 0);
	e = dmsnap_set_free(e);
	t_done(&t);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("dmsnap-cow",
	TEST(the_same_file_comes_back)
	TEST(another_file_under_its_name_does_not)
	TEST(unrecorded_identity_is_attached_after_the_host_checks)
	TEST(creation_records_the_identity))
/* clang-format on */
