/* SPDX-License-Identifier: GPL-2.0-or-later */
/* daemon-fixture.c - a Daemon on fake dm and host, with volumes and created shadow copy sets */
#include <check.h>
#include <sys/sysmacros.h>

#include "daemon/dmdev.h"
#include "daemon/dmsnap.h"
#include "tests/lib/daemon-fixture.h"

static const char *const vol_tables[] = { "7:0 0", "7:1 0" };

void fixture_init(Fixture *f)
{
	*f = (Fixture){ .d = DAEMON_NULL, .next_time = 1000000 };
	ck_assert_int_eq(sd_event_new(&f->d.event), 0);
	ck_assert_int_eq(fake_dm_new(&f->dm), 0);
	ck_assert_int_eq(fake_host_new(&f->host), 0);
	f->d.dm = fake_dm_dmdev(f->dm);
	f->d.host = fake_host_host(f->host);
	f->d.env = (DmsnapEnv){ .dm = f->d.dm,
		                .host = f->d.host,
		                .hold_timeout = 10 * USEC_PER_SEC,
		                .flush_timeout = 10 * USEC_PER_SEC,
		                .chunk_sectors = 32,
		                .use_fifreeze = false,
		                .min_cow_bytes = 1 << 20 };
	for (int i = 0; i < 2; i++) {
		char name[2] = { (char)('a' + i), 0 }, p[64];

		f->devno[i] =
			fake_dm_add(f->dm, name, "", FIXTURE_SECTORS, "linear", vol_tables[i]);
		snprintf(p, sizeof(p), "/dev/mapper/%s", name);
		fake_host_add_block(f->host, p, f->devno[i]);
	}
	fake_host_add_dir(f->host, FIXTURE_STORAGE, makedev(8, 1));
}

void fixture_done(Fixture *f)
{
	while (f->d.n_sets > 0) {
		Snapset *s = f->d.sets[f->d.n_sets - 1];

		daemon_remove_set(&f->d, s);
		snapset_free(s);
	}
	free(f->d.sets);
	f->d.event = sd_event_unref(f->d.event);
	fake_dm_free(f->dm);
	fake_host_free(f->host);
}

Snapset *fixture_set(Fixture *f, SnapsetContext ctx, const char *const *volumes, size_t count)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *e = NULL;
	SnapsetOptions o = { .context = ctx };
	VssErr err = { 0 };
	Snapset *s;
	VssId id;

	vssid_generate(&id);
	ck_assert_int_eq(snapset_new(&f->d, &id, NULL, 0, &o, &s), 0);
	s->state = SNAPSET_STATE_CREATED;
	s->creation_time = f->next_time;
	ck_assert_int_eq(daemon_add_set(&f->d, s), 0);
	ck_assert_int_eq(dmsnap_set_new(&f->d.env, &id, snapset_context_persistent(ctx), &e), 0);
	for (size_t i = 0; i < count; i++) {
		char p[64];

		snprintf(p, sizeof(p), "/dev/mapper/%s", volumes[i]);
		ck_assert_int_eq(dmsnap_set_add(e, p, FIXTURE_STORAGE, FIXTURE_COW, NULL, &err), 0);
	}
	ck_assert_int_eq(dmsnap_set_prepare(e, &err), 0);
	ck_assert_int_eq(dmsnap_set_commit(e, NULL, &err), 0);
	for (size_t i = 0; i < count; i++) {
		const DmsnapSnapshot *x = dmsnap_set_snapshot(e, i);
		Snapshot *snap;
		DmdevInfo info;
		char p[160];

		ck_assert_int_eq(snapshot_new(&f->d, s, &x->id, volumes[i], &snap), 0);
		dmsnap_snapshot_done(&snap->dm);
		ck_assert_int_eq(dmsnap_snapshot_copy(x, &snap->dm), 0);
		snap->state = SNAPSHOT_STATE_CREATED;
		snap->creation_time = f->next_time;
		ck_assert_int_eq(snapset_add_snapshot(s, snap), 0);
		ck_assert_int_eq(dmdev_info(f->d.dm, x->snap_name, &info), 0);
		ck_assert(info.exists);
		snprintf(p, sizeof(p), "/dev/mapper/%s", x->snap_name);
		fake_host_add_block(f->host, p, makedev(info.major, info.minor));
	}
	f->next_time += USEC_PER_SEC;
	fake_dm_clear_calls(f->dm);
	return s;
}

Snapshot *fixture_snap(Snapset *s, char dev[static 160])
{
	ck_assert_uint_ge(s->n_snaps, 1);
	snapshot_device(s->snaps[0], dev, 160);
	return s->snaps[0];
}
