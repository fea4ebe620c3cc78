/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-lvm.c - the LVM providers against a fake lvm runner fed outputs recorded in the guest:
 * report parsing (and LVM's errors), probe decisions, the commit's lvcreate sequence and its
 * rollback, tags, discovery from tags, the state object, and the real runner on /bin/sh */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "daemon/config.h"
#include "daemon/provider-lvm-internal.h"
#include "tests/lib/check-main.h"
#include "tests/lib/fake-dm.h"
#include "tests/lib/fake-host.h"

#define LVS_FIXTURE "daemon/test-lvm-lvs.json"
#define VGS_FIXTURE "daemon/test-lvm-vgs.json"
#define LVS_ARGV    "lvs --reportformat json --units b --nosuffix -a -o " LVM_LV_FIELDS
#define VGS_ARGV    "vgs --reportformat json --units b --nosuffix -o " LVM_VG_FIELDS

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *s = NULL;
	size_t n = 0;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(getdelim(&s, &n, 0, f), 0);
	fclose(f);
	return s;
}

/* the recorded report with the fake's major in place of the guest's 254 */
static char *lvs_fixture(void)
{
	char *s = slurp(LVS_FIXTURE), *p;

	while ((p = strstr(s, "\"lv_kernel_major\":\"254\"")))
		memcpy(p + strlen("\"lv_kernel_major\":\""), STRINGIFY(FAKE_DM_MAJOR), 3);
	return s;
}

START_TEST(report_parsing)
{
	_cleanup_free_ char *text = slurp(LVS_FIXTURE), *vtext = slurp(VGS_FIXTURE);
	_cleanup_free_ char *why = NULL;
	LvmLv *l = NULL;
	LvmVg *v = NULL;
	size_t n = 0, nv = 0;

	ck_assert_int_eq(lvm_report_lvs(text, &l, &n, NULL), 0);
	ck_assert_uint_eq(n, 10);
	/* a thick snapshot, as lvcreate -s made it */
	ck_assert_str_eq(l[1].name, "a_snap2");
	ck_assert_str_eq(l[1].origin, "thick");
	ck_assert_int_eq(lvm_attr_type(&l[1]), 's');
	ck_assert_int_eq(lvm_attr_state(&l[1]), 'a');
	ck_assert_uint_eq(l[1].size, 33554432);
	ck_assert_uint_eq(l[1].origin_size, 67108864);
	ck_assert_int_eq(l[1].snap_permille, 0);
	ck_assert_int_eq(l[1].major, 254);
	ck_assert_int_eq(l[1].minor, 10);
	ck_assert(lvm_lv_has_tag(&l[1], "vssd"));
	ck_assert_str_eq(lvm_lv_tag_value(&l[1], "vssd_set_"), "00112233445566778899aabbccddeeff");
	/* a thin snapshot with LVM's activation skip flag, active */
	ck_assert_str_eq(l[2].name, "b_snap2");
	ck_assert_int_eq(lvm_attr_type(&l[2]), 'V');
	ck_assert_int_eq(l[2].data_permille, 100);
	ck_assert_str_eq(l[2].pool, "pool");
	/* hidden LVs lose their brackets; no kernel device is -1 */
	ck_assert_str_eq(l[3].name, "lvol0_pmspare");
	ck_assert_int_eq(l[3].major, -1);
	ck_assert_int_eq(l[3].data_permille, -1);
	ck_assert_str_eq(l[4].segtype, "thin-pool");
	ck_assert_int_eq(l[4].meta_permille, 110);
	lvm_lvs_free(l, n);

	ck_assert_int_eq(lvm_report_vgs(vtext, &v, &nv, NULL), 0);
	ck_assert_uint_eq(nv, 1);
	ck_assert_str_eq(v[0].name, "vg");
	ck_assert_uint_eq(v[0].free, 725614592);
	ck_assert_uint_eq(v[0].extent_size, 4194304);
	lvm_vgs_free(v, nv);

	/* LVM's answer for a missing VG (status 5): an empty report */
	ck_assert_int_eq(lvm_report_lvs("  {\"report\": [ { \"lv\": [ ] } ] }", &l, &n, NULL), 0);
	ck_assert_uint_eq(n, 0);
	free(l);
	/* what is not a report */
	ck_assert_int_eq(lvm_report_lvs("  Volume group \"nosuch\" not found", &l, &n, &why),
	                 -EBADMSG);
	ck_assert_str_eq(why, "LVM's output is not JSON");
	free(TAKE_PTR(why));
	ck_assert_int_eq(lvm_report_lvs("{\"report\":[{\"vg\":[]}]}", &l, &n, &why), -EBADMSG);
	ck_assert_str_eq(why, "no \"lv\" array in LVM's report");
	free(TAKE_PTR(why));
	ck_assert_int_eq(
		lvm_report_lvs("{\"report\":[{\"lv\":[{\"lv_name\":\"x\"}]}]}", &l, &n, &why),
		-EBADMSG);
	ck_assert_str_eq(why, "row 0 of LVM's report has no string \"vg_name\"");
	free(TAKE_PTR(why));
}
END_TEST

START_TEST(names_tags_kernels)
{
	char b[64];

	ck_assert(lvm_valid_name("lv_0.a+b-c"));
	ck_assert(!lvm_valid_name("-lv"));
	ck_assert(!lvm_valid_name("a/b"));
	ck_assert(!lvm_valid_name(""));
	ck_assert(!lvm_valid_name(".."));
	ck_assert(lvm_valid_tag("vssd_set_00112233445566778899aabbccddeeff"));
	ck_assert(!lvm_valid_tag("a b"));
	ck_assert_int_eq(lvm_dm_name("my-vg", "lv-1", b, sizeof(b)), 0);
	ck_assert_str_eq(b, "my--vg-lv--1");
	ck_assert_int_eq(lvm_dm_name("vg", "lv", b, 5), -ENAMETOOLONG);
	/* measured in the guest: 6.1 EBUSY, 6.12 fine; the freeze holders came in 6.6 */
	ck_assert(!lvm_kernel_nests_freeze("6.1.0-57-amd64"));
	ck_assert(!lvm_kernel_nests_freeze("5.10.0"));
	ck_assert(lvm_kernel_nests_freeze("6.6.0"));
	ck_assert(lvm_kernel_nests_freeze("6.12.118+deb12-amd64"));
	ck_assert(!lvm_kernel_nests_freeze("garbage"));
}
END_TEST

/* ---- a provider over fakes ------------------------------------------------------------------- */

typedef struct T {
	FakeDm *dm;
	FakeHost *host;
	LvmEnv env;
	sd_event *event;
	Provider p;
	char *lvs;
	LvmFakeEntry table[16];
} T;

static void t_init(T *t, bool thin, const LvmFakeEntry *extra)
{
	static const char *const devs[] = { "vg-thick",      "vg-pool_tmeta", "vg-pool_tdata",
		                            "vg-pool-tpool", "vg-pool",       "vg-thin" };
	size_t n = 0;

	*t = (T){ 0 };
	ck_assert_int_eq(fake_dm_new(&t->dm), 0);
	ck_assert_int_eq(fake_host_new(&t->host), 0);
	for (size_t i = 0; i < ELEMENTSOF(devs); i++) {
		char path[64];
		dev_t d = fake_dm_add(t->dm, devs[i], "LVM-x", 131072, "linear", "7:0 0");

		ck_assert_uint_eq(minor(d), i); /* as in the recording */
		snprintf(path, sizeof(path), "/dev/mapper/%s", devs[i]);
		fake_host_add_block(t->host, path, d);
	}
	fake_host_add_block(t->host, "/dev/mapper/plain",
	                    fake_dm_add(t->dm, "plain", "", 131072, "linear", "7:1 0"));
	fake_host_add_block(t->host, "/dev/sda", makedev(8, 0));
	fake_host_add_mount(t->host, makedev(FAKE_DM_MAJOR, 0), "/mnt/a");
	t->lvs = lvs_fixture();
	for (; extra && extra[n].argv; n++)
		t->table[n] = extra[n];
	t->table[n++] = (LvmFakeEntry){ .argv = LVS_ARGV, .out = t->lvs };
	ck_assert_int_ge(sd_event_new(&t->event), 0);
	t->env = (LvmEnv){ .dm = fake_dm_dmdev(t->dm),
		           .host = fake_host_host(t->host),
		           .event = t->event,
		           .thin = thin,
		           .frozen_ok = 1,
		           .report_timeout = USEC_PER_SEC,
		           .command_timeout = USEC_PER_SEC };
	/* extra entries are used once, in order; the report as often as asked */
	ck_assert_int_eq(lvm_fake_new(t->table, true, &t->env.runner), 0);
	t->p = (Provider){ .ops = thin ? &provider_lvm_thin_ops : &provider_lvm_ops,
		           .env = &t->env };
}

static void t_done(T *t)
{
	lvm_runner_free(t->env.runner);
	sd_event_unref(t->event);
	fake_dm_free(t->dm);
	fake_host_free(t->host);
	free(t->lvs);
}

static int probe(T *t, const char *path, VssErr *e)
{
	*e = (VssErr){ 0 };
	return t->p.ops->probe(&t->p, path, NULL, e);
}

START_TEST(probe_decisions)
{
	ProviderVolume v = { 0 };
	VssErr e;
	T t;

	t_init(&t, false, NULL);
	ck_assert_int_eq(t.p.ops->probe(&t.p, "/dev/mapper/vg-thick", &v, &e), 0);
	ck_assert_str_eq(v.name, "vg-thick");
	ck_assert_str_eq(v.dev_path, "/dev/mapper/vg-thick");
	ck_assert_uint_eq(v.sectors, 67108864 / 512);
	ck_assert_str_eq(v.mountpoint, "/mnt/a");
	provider_volume_done(&v);
	/* the thin LV is lvm-thin's: the picker goes on */
	ck_assert_int_eq(probe(&t, "/dev/mapper/vg-thin", &e), -EMEDIUMTYPE);
	ck_assert_str_eq(e.message,
	                 "/dev/mapper/vg-thin (vg/thin) is a thin LVM volume: provider lvm-thin "
	                 "takes it");
	/* the pool, by its device and by its name */
	ck_assert_int_eq(probe(&t, "/dev/mapper/vg-pool-tpool", &e), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(e.message, "is an LVM thin pool"));
	ck_assert_int_eq(probe(&t, "/dev/mapper/vg-pool", &e), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(e.message, "(vg/pool) is an LVM thin pool"));
	ck_assert_int_eq(probe(&t, "/dev/mapper/vg-pool_tdata", &e), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(e.message, "internal LVM volume"));
	/* not LVM at all: no lvs run for it */
	ck_assert_int_eq(probe(&t, "/dev/mapper/plain", &e), -EMEDIUMTYPE);
	ck_assert_int_eq(probe(&t, "/dev/sda", &e), -EMEDIUMTYPE);
	ck_assert_int_eq(probe(&t, "/dev/nothing", &e), -ENOENT);
	ck_assert_int_eq(e.kind, VSS_ERROR_OBJECT_NOT_FOUND);
	ck_assert_int_eq(probe(&t, "relative", &e), -EINVAL);
	/* one report for the five LVM probes in a row (the probe cache) */
	ck_assert_uint_eq(strv_length((char **)lvm_fake_log(t.env.runner)), 1);
	t.env.cache_at -= LVM_PROBE_CACHE_USEC + 1;
	ck_assert_int_eq(probe(&t, "/dev/mapper/vg-thick", &e), 0);
	ck_assert_uint_eq(strv_length((char **)lvm_fake_log(t.env.runner)), 2);
	t_done(&t);

	t_init(&t, true, NULL);
	ck_assert_int_eq(probe(&t, "/dev/mapper/vg-thin", &e), 0);
	ck_assert_int_eq(probe(&t, "/dev/mapper/vg-thick", &e), -EMEDIUMTYPE);
	ck_assert_int_eq(probe(&t, "/dev/mapper/vg-pool", &e), -EOPNOTSUPP);
	t_done(&t);
}
END_TEST

START_TEST(probe_refusals)
{
	/* a snapshot LV, a merging origin, an inactive LV, a partial VG, a cache LV */
	static const struct {
		const char *attr, *origin, *segtype, *tags, *want;
	} cases[] = {
		{ "swi-a-s---", "thick", "linear", "", "is an LVM snapshot" },
		{ "Owi-a-s---", "", "linear", "", "is being merged" },
		{ "-wi-------", "", "linear", "", "is not active" },
		{ "-wi-a---p-", "", "linear", "", "missing physical volumes" },
		{ "Cwi-a-C---", "", "cache", "", "internal LVM volume" },
		{ "-wi-a-----", "", "vdo", "", "is an LVM vdo volume" },
		{ "-wi-a-----", "", "linear", "vssd", "is an LVM snapshot" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char out[2048];
		LvmFakeEntry x[2] = { 0 };
		VssErr e;
		T t;

		snprintf(out, sizeof(out),
		         "{\"report\":[{\"lv\":[{\"lv_name\":\"thick\", \"vg_name\":\"vg\", "
		         "\"lv_uuid\":\"u\", \"lv_attr\":\"%s\", \"lv_size\":\"67108864\", "
		         "\"origin\":\"%s\", \"origin_size\":\"\", \"pool_lv\":\"\", "
		         "\"lv_tags\":\"%s\", \"data_percent\":\"\", \"metadata_percent\":\"\", "
		         "\"snap_percent\":\"\", \"lv_kernel_major\":\"%d\", "
		         "\"lv_kernel_minor\":\"0\", \"segtype\":\"%s\", "
		         "\"lv_dm_path\":\"/dev/mapper/vg-thick\"}]}]}",
		         cases[i].attr, cases[i].origin, cases[i].tags, FAKE_DM_MAJOR,
		         cases[i].segtype);
		x[0] = (LvmFakeEntry){ .argv = LVS_ARGV, .out = out };
		t_init(&t, false, x);
		ck_assert_int_eq(probe(&t, "/dev/mapper/vg-thick", &e), -EOPNOTSUPP);
		ck_assert_int_eq(e.kind, VSS_ERROR_VOLUME_NOT_SUPPORTED);
		ck_assert_msg(strstr(e.message, cases[i].want), "%s: %s", cases[i].attr, e.message);
		t_done(&t);
	}
}
END_TEST

START_TEST(lvm_errors)
{
	static const LvmFakeEntry x[] = {
		{ .argv = LVS_ARGV,
		  .status = 5,
		  .err = "  /dev/mapper/control: open failed: Permission denied\n"
		         "  Failure to communicate with kernel device-mapper driver.\n" },
		{ NULL },
	};
	VssErr e;
	T t;

	t_init(&t, false, x);
	ck_assert_int_eq(probe(&t, "/dev/mapper/vg-thick", &e), -EIO);
	ck_assert_int_eq(e.kind, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR);
	ck_assert_str_eq(e.message,
	                 "cannot list LVM volumes: lvm lvs failed (status 5):   Failure to "
	                 "communicate with kernel device-mapper driver.");
	t_done(&t);
}
END_TEST

/* ---- sets: the commit runs on the loop ------------------------------------------------------ */

typedef struct Wait {
	int calls, r;
	VssErr err;
} Wait;

static void on_done(void *userdata, int r, const VssErr *err)
{
	Wait *w = userdata;

	w->calls++;
	w->r = r;
	if (err)
		w->err = *err;
}

/* set_commit, and the loop run until its done: what done said (or what commit returned) */
static int commit_wait(T *t, ProviderSet *s, bool fs_frozen, VssErr *e)
{
	Wait w = { 0 };
	int r = t->p.ops->set_commit(s, fs_frozen, NULL, on_done, &w, e);

	if (r <= 0) {
		ck_assert_int_eq(w.calls, 0);
		return r;
	}
	ck_assert_int_eq(r, 1);
	for (int i = 0; i < 100 && w.calls == 0; i++)
		ck_assert_int_ge(sd_event_run(t->event, 100 * USEC_PER_MSEC), 0);
	ck_assert_int_eq(w.calls, 1);
	if (w.r < 0)
		*e = w.err;
	return w.r;
}

#define SET_HEX  "00112233445566778899aabbccddeeff"
#define SNAP_HEX "ffeeddccbbaa99887766554433221100"

static void ids(VssId *set, VssId *snap)
{
	ck_assert_int_eq(vssid_from_path(SET_HEX, set), 0);
	ck_assert_int_eq(vssid_from_path(SNAP_HEX, snap), 0);
}

START_TEST(commit_sequence_and_rollback)
{
	static const LvmFakeEntry x[] = {
		{ .argv = VGS_ARGV, .out = NULL }, /* filled below */
		{ .argv = "lvcreate -q -s -L 75497472b -n thick-vssd-ffeeddcc --addtag vssd "
		          "--addtag vssd_set_" SET_HEX " --addtag vssd_snap_" SNAP_HEX
		          " --addtag vssd_n_1 --addtag vssd_persistent vg/thick",
		  .status = 5,
		  .err = "  device-mapper: suspend ioctl on  (254:0) failed: Device or resource "
		         "busy\n  Unable to suspend vg-thick (254:0)\n  Failed to suspend logical "
		         "volume vg/thick.\n" },
		{ .argv = "lvremove -f @vssd_set_" SET_HEX },
		{ NULL },
	};
	_cleanup_free_ char *vgs = slurp(VGS_FIXTURE);
	LvmFakeEntry y[4];
	ProviderSet *s = NULL;
	ProviderSnap *ps = NULL;
	char *const *log;
	VssId set, snap;
	VssErr e = { 0 };
	T t;

	memcpy(y, x, sizeof(y));
	y[0].out = vgs;
	ids(&set, &snap);
	t_init(&t, false, y);
	ck_assert_int_eq(t.p.ops->set_begin(&t.p, &set, true, &s), 0);
	/* 10 % of nothing: the COW is capped at the origin plus 1/16 and an extent */
	ck_assert_int_eq(t.p.ops->set_add(s, "/dev/mapper/vg-thick", "/x", 10ULL << 30, &snap, &e),
	                 0);
	ck_assert_int_eq(t.p.ops->set_add(s, "/dev/mapper/vg-thick", "/x", 1 << 30, &set, &e),
	                 -EEXIST);
	ck_assert_uint_eq(t.p.ops->set_count(s), 1);
	ck_assert_str_eq(t.p.ops->set_member_volume(s, &snap), "vg-thick");
	/* the intent record's object: names known, no uuid yet */
	ck_assert_int_eq(t.p.ops->set_take(s, &snap, &ps), 0);
	ck_assert_str_eq(t.p.ops->snap_label(ps), "thick-vssd-ffeeddcc");
	ck_assert_str_eq(t.p.ops->snap_storage_path(ps), "lvm:vg");
	t.p.ops->snap_free(ps);
	ck_assert_int_eq(t.p.ops->set_prepare(s, NULL, NULL, &e), 0);
	/* 6.1's answer to a frozen file system: the set is rolled back by its tag */
	ck_assert_int_eq(commit_wait(&t, s, true, &e), -EIO);
	ck_assert_str_eq(e.message, "lvcreate -s of vg/thick failed:   Failed to suspend logical "
	                            "volume vg/thick.");
	ck_assert(!t.p.ops->set_committed(s));
	log = lvm_fake_log(t.env.runner);
	ck_assert_uint_eq(strv_length((char **)log), 4);
	ck_assert_str_eq(log[1], y[0].argv);
	ck_assert_str_eq(log[2], y[1].argv);
	ck_assert_str_eq(log[3], y[2].argv);
	t.p.ops->set_free(s);
	ck_assert_uint_eq(strv_length((char **)lvm_fake_log(t.env.runner)), 4); /* once */
	t_done(&t);

	/* a kernel that cannot nest the freeze refuses a frozen commit before any lvcreate and
	 * keeps the file systems out of the set's freeze */
	t_init(&t, false, y);
	t.env.frozen_ok = 0;
	ck_assert_int_eq(t.p.ops->set_begin(&t.p, &set, false, &s), 0);
	ck_assert_int_eq(t.p.ops->set_add(s, "/dev/mapper/vg-thick", "/x", 1 << 20, &snap, &e), 0);
	{
		char **mps = NULL;

		ck_assert_int_eq(t.p.ops->set_mountpoints(s, &mps), 0);
		ck_assert_ptr_null(mps);
		t.env.frozen_ok = 1;
		ck_assert_int_eq(t.p.ops->set_mountpoints(s, &mps), 0);
		ck_assert_str_eq(mps[0], "/mnt/a");
		strv_free(mps);
		t.env.frozen_ok = 0;
	}
	ck_assert(!t.p.ops->set_commit_frozen_ok(s));
	ck_assert_int_eq(commit_wait(&t, s, true, &e), -EBUSY);
	ck_assert_int_eq(e.kind, VSS_ERROR_PROVIDER_VETO);
	t.p.ops->set_free(s);
	t_done(&t);
}
END_TEST

/* Two VGs: their chains both start before either ends; vg2's lvcreate fails, the set's LVs
 * are removed by tag from the loop, then done says why. And set_free while the lvcreates run
 * cancels them: done is never called, the rollback still runs. */
START_TEST(commit_parallel_and_cancel)
{
#define SNAP2_HEX "aabbccddeeff00112233445566778899"
	static const char row2[] =
		"{\"lv_name\":\"thick\", \"vg_name\":\"vg2\", "
		"\"lv_uuid\":\"KQKqZC-99s2-uJ1n-16Ds-0uSx-oTLp-TaZQfW\", "
		"\"lv_attr\":\"owi-aos---\", "
		"\"lv_size\":\"67108864\", \"origin\":\"\", \"origin_size\":\"67108864\", "
		"\"pool_lv\":\"\", \"lv_tags\":\"\", \"data_percent\":\"\", "
		"\"metadata_percent\":\"\", "
		"\"snap_percent\":\"\", \"lv_kernel_major\":\"" STRINGIFY(
			FAKE_DM_MAJOR) "\", "
				       "\"lv_kernel_minor\":\"7\", \"segtype\":\"linear\", "
				       "\"lv_dm_path\":\"/dev/mapper/vg2-thick\"},";
	LvmFakeEntry x[] = {
		{ .argv = "lvcreate -q -s -L 75497472b -n thick-vssd-ffeeddcc --addtag vssd "
		          "--addtag vssd_set_" SET_HEX " --addtag vssd_snap_" SNAP_HEX
		          " --addtag vssd_n_2 vg/thick" },
		{ .argv = "lvcreate -q -s -L 75497472b -n thick-vssd-aabbccdd --addtag vssd "
		          "--addtag vssd_set_" SET_HEX " --addtag vssd_snap_" SNAP2_HEX
		          " --addtag vssd_n_2 vg2/thick",
		  .status = 5,
		  .err = "  Insufficient free space\n" },
		{ .argv = "lvremove -f @vssd_set_" SET_HEX },
		{ .argv = LVS_ARGV, .out = NULL },
		{ NULL },
	};
	ProviderSet *s = NULL;
	VssId set, snap, snap2;
	VssErr e = { 0 };
	Wait w = { 0 };
	char *const *log;
	char *lvs, *p;
	size_t n;
	T t;

	ids(&set, &snap);
	ck_assert_int_eq(vssid_from_path(SNAP2_HEX, &snap2), 0);
	for (int pass = 0; pass < 2; pass++) {
		t_init(&t, false, NULL);
		fake_host_add_block(
			t.host, "/dev/mapper/vg2-thick",
			fake_dm_add(t.dm, "vg2-thick", "LVM-y", 131072, "linear", "7:2 0"));
		p = strstr(t.lvs, "{\"lv_name\":\"thick\"");
		ck_assert_ptr_nonnull(p);
		ck_assert_int_ge(asprintf(&lvs, "%.*s%s%s", (int)(p - t.lvs), t.lvs, row2, p), 0);
		free(t.lvs);
		t.lvs = lvs;
		x[3].out = t.lvs;
		lvm_runner_free(t.env.runner);
		ck_assert_int_eq(lvm_fake_new(x, true, &t.env.runner), 0);
		ck_assert_int_eq(t.p.ops->set_begin(&t.p, &set, false, &s), 0);
		ck_assert_int_eq(
			t.p.ops->set_add(s, "/dev/mapper/vg-thick", "/x", 1ULL << 30, &snap, &e),
			0);
		ck_assert_int_eq(
			t.p.ops->set_add(s, "/dev/mapper/vg2-thick", "/x", 1ULL << 30, &snap2, &e),
			0);
		lvm_fake_hold(t.env.runner, true);
		w = (Wait){ 0 };
		ck_assert_int_eq(t.p.ops->set_commit(s, false, NULL, on_done, &w, &e), 1);
		/* both chains under way, neither finished */
		log = lvm_fake_log(t.env.runner);
		n = strv_length((char **)log); /* the probes' reports, then the lvcreates */
		ck_assert_uint_ge(n, 3);
		ck_assert_str_eq(log[n - 2], x[0].argv);
		ck_assert_str_eq(log[n - 1], x[1].argv);
		ck_assert_uint_eq(lvm_fake_pending(t.env.runner), 2);
		ck_assert_int_eq(w.calls, 0);
		if (pass == 1) {
			/* cancelled at set_free: done never called, the made LVs removed */
			lvm_fake_hold(t.env.runner, false);
			t.p.ops->set_free(s);
			ck_assert_uint_eq(lvm_fake_cancelled(t.env.runner), 2);
			ck_assert_uint_eq(lvm_fake_pending(t.env.runner), 0);
			for (int i = 0; i < 5; i++)
				ck_assert_int_ge(sd_event_run(t.event, 10 * USEC_PER_MSEC), 0);
			ck_assert_int_eq(w.calls, 0);
			log = lvm_fake_log(t.env.runner);
			ck_assert_uint_eq(strv_length((char **)log), n + 1);
			ck_assert_str_eq(log[n], x[2].argv);
			t_done(&t);
			continue;
		}
		lvm_fake_hold(t.env.runner, false);
		ck_assert_uint_eq(lvm_fake_release(t.env.runner), 2);
		for (int i = 0; i < 100 && w.calls == 0; i++)
			ck_assert_int_ge(sd_event_run(t.event, 100 * USEC_PER_MSEC), 0);
		ck_assert_int_eq(w.calls, 1);
		ck_assert_int_eq(w.r, -EIO);
		ck_assert_str_eq(w.err.message,
		                 "lvcreate -s of vg2/thick failed:   Insufficient free space");
		ck_assert(!t.p.ops->set_committed(s));
		log = lvm_fake_log(t.env.runner);
		ck_assert_uint_eq(strv_length((char **)log), n + 1);
		ck_assert_str_eq(log[n], x[2].argv); /* the rollback, by the set's tag */
		t.p.ops->set_free(s);
		ck_assert_uint_eq(strv_length((char **)lvm_fake_log(t.env.runner)), n + 1);
		t_done(&t);
	}
#undef SNAP2_HEX
}
END_TEST

START_TEST(thin_commit_and_discover)
{
	static const char made[] =
		"{\"report\":[{\"lv\":[{\"lv_name\":\"thin-vssd-ffeeddcc\", \"vg_name\":\"vg\", "
		"\"lv_uuid\":\"3xMaZG-t2bZ-8UCq-JM1l-TCdw-zc4v-IQptw9\", "
		"\"lv_attr\":\"Vwi-a-tz-k\", "
		"\"lv_size\":\"134217728\", \"origin\":\"thin\", \"origin_size\":\"\", "
		"\"pool_lv\":\"pool\", "
		"\"lv_tags\":\"vssd,vssd_n_1,vssd_persistent,vssd_set_" SET_HEX
		",vssd_snap_" SNAP_HEX "\", \"data_percent\":\"10.01\", \"metadata_percent\":\"\", "
		"\"snap_percent\":\"10.01\", \"lv_kernel_major\":\"253\", "
		"\"lv_kernel_minor\":\"11\", "
		"\"segtype\":\"thin\", \"lv_dm_path\":\"/dev/mapper/vg-thin--vssd--ffeeddcc\"},"
		"{\"lv_name\":\"other-vssd-00000000\", \"vg_name\":\"vg\", "
		"\"lv_uuid\":\"4xMaZG-t2bZ-8UCq-JM1l-TCdw-zc4v-IQptw9\", "
		"\"lv_attr\":\"Vwi---tz-k\", "
		"\"lv_size\":\"134217728\", \"origin\":\"thin\", \"origin_size\":\"\", "
		"\"pool_lv\":\"pool\", \"lv_tags\":\"vssd,vssd_n_2,vssd_set_" SNAP_HEX
		",vssd_snap_" SET_HEX "\", \"data_percent\":\"\", \"metadata_percent\":\"\", "
		"\"snap_percent\":\"\", \"lv_kernel_major\":\"-1\", \"lv_kernel_minor\":\"-1\", "
		"\"segtype\":\"thin\", \"lv_dm_path\":\"/dev/mapper/vg-other--vssd--00000000\"}"
		"]}]}";
	LvmFakeEntry x[] = {
		{ .argv = LVS_ARGV, .out = NULL }, /* probe */
		{ .argv = LVS_ARGV, .out = NULL }, /* prepare: the pool */
		{ .argv = "lvcreate -q -s -ky -K -n thin-vssd-ffeeddcc --addtag vssd --addtag "
		          "vssd_set_" SET_HEX " --addtag vssd_snap_" SNAP_HEX
		          " --addtag vssd_n_1 --addtag vssd_persistent vg/thin" },
		{ .argv = LVS_ARGV, .out = made }, /* the uuids */
		{ .argv = LVS_ARGV, .out = made }, /* discover */
		{ .argv = LVS_ARGV, .out = made }, /* recover */
		{ .argv = LVS_ARGV, .out = made }, /* its delete: by uuid */
		{ .argv = "lvremove -q -f vg/other-vssd-00000000" },
		{ NULL },
	};
	ProviderSet *s = NULL;
	ProviderSnap *ps = NULL, **l = NULL;
	ProviderSnapBase b;
	ProviderUsage u;
	VssId set, snap;
	VssErr e = { 0 };
	size_t n = 0;
	char dev[128];
	T t;

	ids(&set, &snap);
	t_init(&t, true, NULL);
	x[0].out = x[1].out = t.lvs;
	lvm_runner_free(t.env.runner);
	ck_assert_int_eq(lvm_fake_new(x, false, &t.env.runner), 0);
	ck_assert_int_eq(t.p.ops->set_begin(&t.p, &set, true, &s), 0);
	ck_assert_int_eq(t.p.ops->set_add(s, "/dev/mapper/vg-thin", "/x", 1 << 20, &snap, &e), 0);
	ck_assert_int_eq(t.p.ops->set_prepare(s, NULL, NULL, &e), 0);
	ck_assert_int_eq(commit_wait(&t, s, false, &e), 0);
	ck_assert(t.p.ops->set_committed(s));
	ck_assert_int_eq(t.p.ops->set_take(s, &snap, &ps), 0);
	ck_assert_str_eq(((LvmSnap *)ps)->lv_uuid, "3xMaZG-t2bZ-8UCq-JM1l-TCdw-zc4v-IQptw9");
	ck_assert_str_eq(t.p.ops->snap_storage_path(ps), "lvm-thin:vg/pool");
	ck_assert_int_eq(t.p.ops->snap_device(&t.p, ps, dev, sizeof(dev)), 0);
	ck_assert_str_eq(dev, "/dev/mapper/vg-thin--vssd--ffeeddcc");
	t.p.ops->set_free(s);

	/* from the tags alone: the complete set comes back, the half-made one does not */
	ck_assert_int_eq(t.p.ops->discover(&t.p, &l, &n), 0);
	ck_assert_uint_eq(n, 1);
	t.p.ops->snap_base(l[0], &b);
	ck_assert(vssid_equal(&b.id, &snap));
	ck_assert(vssid_equal(&b.set_id, &set));
	ck_assert(b.persistent);
	ck_assert_str_eq(b.volume_name, "vg-thin");
	ck_assert_uint_eq(b.sectors, 134217728 / 512);
	t.p.ops->snap_free(l[0]);
	free(l);
	/* ... which recover removes */
	ck_assert_int_eq(t.p.ops->recover(&t.p), 1);
	ck_assert_uint_eq(strv_length((char **)lvm_fake_log(t.env.runner)), 8);
	ck_assert_str_eq(lvm_fake_log(t.env.runner)[7], x[7].argv);

	/* usage: the thin snapshot's mapped blocks */
	lvm_runner_free(t.env.runner);
	{
		static LvmFakeEntry y[] = { { .argv = LVS_ARGV, .out = made }, { NULL } };

		ck_assert_int_eq(lvm_fake_new(y, true, &t.env.runner), 0);
	}
	ck_assert_int_eq(t.p.ops->snap_usage(&t.p, ps, false, &u), 0);
	ck_assert_uint_eq(u.total, 134217728);
	ck_assert_uint_eq(u.used, 134217728 / 1000 * 100);
	ck_assert(t.p.ops->snap_exists(&t.p, ps));
	t.p.ops->snap_free(ps);
	t_done(&t);
}
END_TEST

START_TEST(state_object)
{
	static const char *const bad[][2] = {
		{ "{\"vg\":\"vg\",\"lv\":\"s\",\"lv_uuid\":\"u\",\"origin\":\"o\",\"pool\":\"p\","
		  "\"x\":1}",
		  "w: unknown field \"x\"" },
		{ "{\"vg\":\"v/g\",\"lv\":\"s\",\"lv_uuid\":\"u\",\"origin\":\"o\",\"pool\":\"p\"}",
		  "w.vg: is not a valid LVM name (1..127 of A-Z a-z 0-9 + _ . -)" },
		{ "{\"vg\":\"vg\",\"lv\":\"s\",\"lv_uuid\":\"u "
		  "u\",\"origin\":\"o\",\"pool\":\"p\"}",
		  "w.lv_uuid: is not an LVM uuid" },
		{ "{\"vg\":\"vg\",\"lv\":\"s\",\"lv_uuid\":\"u\",\"origin\":\"o\"}",
		  "w.pool: missing" },
		{ "{\"vg\":\"vg\",\"lv\":\"o\",\"lv_uuid\":\"u\",\"origin\":\"o\",\"pool\":\"p\"}",
		  "w.lv: is its own origin" },
		{ "{\"vg\":\"vg\",\"lv\":\"s\",\"lv_uuid\":\"u\",\"origin\":\"o\",\"pool\":\"p\","
		  "\"cow_bytes\":-1}",
		  "w.cow_bytes: expected a whole number" },
		{ "[]", "w: expected an object, found array" },
	};
	json_object *o, *o2;
	ProviderSnap *ps = NULL;
	ProviderSnapBase base = { .volume_name = "vg-thin", .sectors = 8, .persistent = true };
	char *error = NULL;
	T t;

	t_init(&t, true, NULL);
	ids(&base.set_id, &base.id);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		o = json_tokener_parse(bad[i][0]);
		ck_assert_ptr_nonnull(o);
		ck_assert_int_eq(t.p.ops->state_check(o, "w", &error), -EINVAL);
		ck_assert_str_eq(error, bad[i][1]);
		free(TAKE_PTR(error));
		json_object_put(o);
	}
	/* a thick one has no pool */
	o = json_tokener_parse("{\"vg\":\"vg\",\"lv\":\"s\",\"lv_uuid\":\"\",\"origin\":\"o\","
	                       "\"pool\":\"p\"}");
	ck_assert_int_eq(provider_lvm_ops.state_check(o, "w", &error), -EINVAL);
	ck_assert_str_eq(error, "w.pool: a thick LVM snapshot has no pool");
	free(TAKE_PTR(error));
	/* a round trip */
	ck_assert_int_eq(t.p.ops->state_check(o, "w", &error), 0);
	ck_assert_int_eq(t.p.ops->snap_import(&t.p, &base, o, "w", &ps, &error), 0);
	ck_assert_int_eq(t.p.ops->snap_export(ps, &o2), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(o2, JSON_C_TO_STRING_PLAIN),
	                 "{\"vg\":\"vg\",\"lv\":\"s\",\"origin\":\"o\",\"pool\":\"p\","
	                 "\"cow_bytes\":0}");
	ck_assert_str_eq(t.p.ops->snap_storage_path(ps), "lvm-thin:vg/p");
	json_object_put(o);
	json_object_put(o2);
	t.p.ops->snap_free(ps);
	t_done(&t);
}
END_TEST

/* ---- the real runner, on /bin/sh ------------------------------------------------------------- */

START_TEST(real_runner)
{
	char *ok[] = { (char *)"-c", (char *)"echo out; echo err >&2; env; exit 3", NULL };
	char *slow[] = { (char *)"-c", (char *)"sleep 5", NULL };
	LvmRunner *r = NULL;
	LvmResult res;
	usec_t t0;

	setenv("SECRET_OF_THE_DAEMON", "1", 1);
	ck_assert_int_eq(lvm_runner_new("/bin/sh", NULL, &r), 0);
	ck_assert_int_eq(lvm_run_sync(r, ok, 5 * USEC_PER_SEC, &res), 0);
	ck_assert_int_eq(res.status, 3);
	ck_assert(!res.timed_out);
	ck_assert_int_eq(lvm_result_errno(&res), -EIO);
	ck_assert(startswith(res.out, "out\n"));
	ck_assert_ptr_nonnull(strstr(res.out, "LVM_SUPPRESS_FD_WARNINGS=1"));
	ck_assert_ptr_null(strstr(res.out, "SECRET_OF_THE_DAEMON")); /* a clean environment */
	ck_assert_str_eq(res.err, "err\n");
	lvm_result_done(&res);
	/* the deadline kills it */
	t0 = now_usec(CLOCK_MONOTONIC);
	ck_assert_int_eq(lvm_run_sync(r, slow, 200 * USEC_PER_MSEC, &res), 0);
	ck_assert(res.timed_out);
	ck_assert_int_eq(res.status, -1);
	ck_assert_int_eq(lvm_result_errno(&res), -ETIME);
	ck_assert_uint_lt(now_usec(CLOCK_MONOTONIC) - t0, 3 * USEC_PER_SEC);
	lvm_result_done(&res);
	lvm_runner_free(r);
	/* a binary that is not there: exit 127 from the child */
	ck_assert_int_eq(lvm_runner_new("/nonexistent/lvm", NULL, &r), 0);
	ck_assert_int_eq(lvm_run_sync(r, ok, 5 * USEC_PER_SEC, &res), 0);
	ck_assert_int_eq(res.status, 127);
	lvm_result_done(&res);
	lvm_runner_free(r);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("lvm",
	TEST(report_parsing)
	TEST(names_tags_kernels)
	TEST(probe_decisions)
	TEST(probe_refusals)
	TEST(lvm_errors)
	TEST(commit_sequence_and_rollback)
	TEST(commit_parallel_and_cancel)
	TEST(thin_commit_and_discover)
	TEST(state_object)
	TEST(real_runner))
/* clang-format on */
