/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-snapset-mix.c - sets that mix providers: one engine per provider, the order of prepare,
 * freeze, commits and thaw, a provider that cannot commit frozen, rollback of every provider's
 * part, asynchronous completions, the hold limit across providers */
#include <pthread.h>

#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/freeze.h"
#include "daemon/hostops.h"
#include "daemon/provider-dmsnap.h"
#include "daemon/provider.h"
#include "daemon/snapset-dbus.h"
#include "daemon/snapset-internal.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "tests/lib/check-main.h"
#include "tests/lib/test-daemon.h"

/* ---- the call log: what every provider and the host were asked, in order ------------------- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char calls[64][64];
static size_t n_calls;

_printf_(1, 2) static void note(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&log_lock);
	if (n_calls < ELEMENTSOF(calls)) {
		va_start(ap, fmt);
		vsnprintf(calls[n_calls++], sizeof(calls[0]), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&log_lock);
}

/* Index of the first entry equal to what, or -1 */
static int at(const char *what)
{
	for (size_t i = 0; i < n_calls; i++)
		if (streq(calls[i], what))
			return (int)i;
	return -1;
}

static unsigned count(const char *what)
{
	unsigned n = 0;

	for (size_t i = 0; i < n_calls; i++)
		n += streq(calls[i], what);
	return n;
}

static void dump(void)
{
	for (size_t i = 0; i < n_calls; i++)
		fprintf(stderr, "  %zu: %s\n", i, calls[i]);
}

#define ORDER(a, b)                                                                              \
	do {                                                                                     \
		int a_ = at(a), b_ = at(b);                                                      \
		if (a_ < 0 || b_ < 0 || a_ >= b_)                                                \
			dump();                                                                  \
		ck_assert_msg(a_ >= 0 && b_ >= 0 && a_ < b_, "expected \"%s\" before \"%s\"", a, \
		              b);                                                                \
	} while (0)

/* The host's FIFREEZE and thaw, logged (freeze runs on worker threads) */
static const Host *inner_host;
static HostOps logged_ops;
static Host logged_host;

static int logged_freeze(void *ud, const char *mp)
{
	int r = inner_host->ops->freeze(ud, mp);

	note("freeze %s", mp);
	return r;
}

static int logged_thaw(void *ud, const char *mp)
{
	int r = inner_host->ops->thaw(ud, mp);

	if (r >= 0)
		note("thaw %s", mp);
	return r;
}

/* dm-snapshot itself, with its guard and commit logged */
static ProviderOps dmsnap_logged;

static int dmsnap_logged_guard(ProviderSet *s, FreezeGroup *frozen, usec_t timeout, VssErr *err)
{
	note("guard dm-snapshot %s", frozen ? "group" : "-");
	return provider_dmsnap_ops.set_guard(s, frozen, timeout, err);
}

static int dmsnap_logged_commit(ProviderSet *s, bool fs_frozen, usec_t *ret_held,
                                ProviderDoneFn done, void *userdata, VssErr *err)
{
	int r;

	note("commit dm-snapshot %s", fs_frozen ? "frozen" : "-");
	r = provider_dmsnap_ops.set_commit(s, fs_frozen, ret_held, done, userdata, err);
	note("committed dm-snapshot %d", r);
	return r;
}

/* ---- fake providers ------------------------------------------------------------------------- */

typedef struct FakeEnv {
	const char *name;
	TestDaemon *t;
	const char *volumes; /* the test daemon's volume names it takes, e.g. "ab" */
	bool async;          /* prepare and commit end later, from the loop */
	bool frozen_ok;
	int fail_prepare; /* a negative errno */
	int fail_commit;
	usec_t commit_delay; /* async: the commit ends this late */
} FakeEnv;

struct ProviderSet {
	FakeEnv *env;
	VssId set_id;
	VssId ids[8];
	char vols[8][24];
	size_t n;
	bool prepared, committed;
	sd_event_source *later;
	ProviderDoneFn done;
	void *userdata;
	int result;
};

struct ProviderSnap {
	FakeEnv *env;
	VssId id, set_id;
	char vol[24];
	char label[48];
};

static FakeEnv *fenv(Provider *p)
{
	return p->env;
}

static int fake_probe(Provider *p, const char *path, ProviderVolume *ret, VssErr *err)
{
	FakeEnv *e = fenv(p);

	for (size_t i = 0; i < e->t->n_volumes; i++) {
		char buf[64], mp[32];

		if (!strchr(e->volumes, e->t->volume[i][0]) ||
		    !streq(path, test_daemon_volume_path(e->t, i, buf)))
			continue;
		if (ret) {
			snprintf(mp, sizeof(mp), "/mnt/%s", e->t->volume[i]);
			*ret = (ProviderVolume){ .name = strdup(e->t->volume[i]),
				                 .dev_path = strdup(path),
				                 .devno = e->t->devno[i],
				                 .sectors = TEST_DAEMON_SECTORS,
				                 .mountpoint = strdup(mp) };
		}
		return 0;
	}
	return vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -EOPNOTSUPP, "%s: not %s's", path,
	                   e->name);
}

static uint64_t fake_bytes(Provider *p)
{
	return 4096;
}

static int fake_set_begin(Provider *p, const VssId *set_id, bool persistent, ProviderSet **ret)
{
	ProviderSet *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->env = fenv(p);
	s->set_id = *set_id;
	*ret = s;
	return 0;
}

static void fake_rollback(ProviderSet *s)
{
	if (s->prepared && !s->committed)
		note("rollback %s", s->env->name);
	s->prepared = false;
}

static ProviderSet *fake_set_free(ProviderSet *s)
{
	if (!s)
		return NULL;
	if (s->later)
		note("cancel %s", s->env->name);
	s->later = sd_event_source_disable_unref(s->later);
	fake_rollback(s);
	free(s);
	return NULL;
}

static int fake_set_add(ProviderSet *s, const char *volume_path, const char *storage_dir,
                        uint64_t storage_bytes, const VssId *snap_id, VssErr *err)
{
	const char *v = strrchr(volume_path, '/') + 1;

	ck_assert_uint_lt(s->n, 8);
	s->ids[s->n] = *snap_id;
	snprintf(s->vols[s->n], sizeof(s->vols[0]), "%s", v);
	s->n++;
	return 0;
}

static int fake_set_remove(ProviderSet *s, const VssId *snap_id)
{
	return -ENOENT;
}

static int on_later(sd_event_source *es, uint64_t usec, void *userdata)
{
	ProviderSet *s = userdata;
	ProviderDoneFn done = s->done;
	VssErr err = { 0 };

	s->later = sd_event_source_disable_unref(s->later);
	if (s->result < 0)
		vss_err_set(&err, VSS_ERROR_PROVIDER_VETO, s->result, "%s said no later",
		            s->env->name);
	note("%s %s %d", s->prepared ? "committed" : "prepared", s->env->name, s->result);
	if (s->result >= 0 && !s->prepared)
		s->prepared = true;
	else if (s->result >= 0)
		s->committed = true;
	done(s->userdata, s->result, &err);
	return 0;
}

static int later(ProviderSet *s, int result, usec_t delay, ProviderDoneFn done, void *userdata)
{
	ck_assert_ptr_nonnull(done);
	ck_assert_ptr_null(s->later);
	s->done = done;
	s->userdata = userdata;
	s->result = result;
	ck_assert_int_ge(sd_event_add_time_relative(s->env->t->d.event, &s->later, CLOCK_MONOTONIC,
	                                            delay, 1, on_later, s),
	                 0);
	return 1;
}

static int fake_set_prepare(ProviderSet *s, ProviderDoneFn done, void *userdata, VssErr *err)
{
	note("prepare %s", s->env->name);
	if (s->env->async)
		return later(s, s->env->fail_prepare, 0, done, userdata);
	if (s->env->fail_prepare < 0)
		return vss_err_set(err, VSS_ERROR_PROVIDER_VETO, s->env->fail_prepare,
		                   "%s cannot prepare", s->env->name);
	s->prepared = true;
	return 0;
}

static int fake_set_guard(ProviderSet *s, FreezeGroup *frozen, usec_t timeout, VssErr *err)
{
	note("guard %s %s", s->env->name, frozen ? "group" : "-");
	return 0;
}

static int fake_set_commit(ProviderSet *s, bool fs_frozen, usec_t *ret_held, ProviderDoneFn done,
                           void *userdata, VssErr *err)
{
	note("commit %s %s frozen=%u", s->env->name, fs_frozen ? "frozen" : "-",
	     fake_host_count_frozen(s->env->t->host));
	if (s->env->async)
		return later(s, s->env->fail_commit, s->env->commit_delay, done, userdata);
	if (s->env->fail_commit < 0) {
		fake_rollback(s);
		return vss_err_set(err, VSS_ERROR_PROVIDER_VETO, s->env->fail_commit,
		                   "%s cannot commit", s->env->name);
	}
	s->committed = true;
	return 0;
}

static bool fake_frozen_ok(ProviderSet *s)
{
	return s->env->frozen_ok;
}

static int fake_set_take(ProviderSet *s, const VssId *snap_id, ProviderSnap **ret)
{
	for (size_t i = 0; i < s->n; i++)
		if (vssid_equal(&s->ids[i], snap_id)) {
			ProviderSnap *ps = calloc(1, sizeof(*ps));

			if (!ps)
				return -ENOMEM;
			*ps = (ProviderSnap){ .env = s->env, .id = *snap_id, .set_id = s->set_id };
			snprintf(ps->vol, sizeof(ps->vol), "%s", s->vols[i]);
			snprintf(ps->label, sizeof(ps->label), "%s-%s", s->env->name, s->vols[i]);
			*ret = ps;
			return 0;
		}
	return -ENOENT;
}

static int fake_set_mountpoints(ProviderSet *s, char ***ret)
{
	char **l = NULL;

	for (size_t i = 0; i < s->n; i++) {
		char mp[32];

		snprintf(mp, sizeof(mp), "/mnt/%s", s->vols[i]);
		ck_assert_int_ge(strv_extend(&l, mp), 0);
	}
	*ret = l;
	return 0;
}

static size_t fake_set_count(ProviderSet *s)
{
	return s->n;
}

static const char *fake_set_member_volume(ProviderSet *s, const VssId *snap_id)
{
	for (size_t i = 0; i < s->n; i++)
		if (vssid_equal(&s->ids[i], snap_id))
			return s->vols[i];
	return NULL;
}

static bool fake_set_committed(ProviderSet *s)
{
	return s->committed;
}

static void fake_hold_window(ProviderSet *s, usec_t *a, usec_t *b)
{
	*a = *b = 0;
}

static void fake_snap_free(ProviderSnap *ps)
{
	free(ps);
}

static void fake_snap_base(const ProviderSnap *ps, ProviderSnapBase *ret)
{
	*ret = (ProviderSnapBase){ .id = ps->id, .set_id = ps->set_id, .volume_name = ps->vol };
}

static const char *fake_snap_label(const ProviderSnap *ps)
{
	return ps->label;
}

static const char *fake_snap_storage_path(const ProviderSnap *ps)
{
	return NULL;
}

static int fake_snap_delete(Provider *p, ProviderSnap *ps, ProviderDoneFn done, void *userdata,
                            VssErr *err)
{
	note("delete %s", ps->label);
	return 0;
}

static int fake_snap_usage(Provider *p, const ProviderSnap *ps, bool merging, ProviderUsage *ret)
{
	*ret = (ProviderUsage){ .total = 4096 };
	return 0;
}

static int fake_snap_device(Provider *p, const ProviderSnap *ps, char *buf, size_t size)
{
	snprintf(buf, size, "/dev/fake/%s", ps->label);
	return 0;
}

static bool fake_snap_exists(Provider *p, const ProviderSnap *ps)
{
	return true;
}

static int fake_snap_devno(Provider *p, const ProviderSnap *ps, dev_t *ret)
{
	return -ENODEV;
}

#define FAKE_OPS(n, uuid, rank)                                                                    \
	{                                                                                          \
		.name = n, .id = uuid, .version = "1", .type = PROVIDER_TYPE_SOFTWARE,             \
		.pick_rank = rank, .probe = fake_probe, .storage_min_bytes = fake_bytes,           \
		.storage_unit_bytes = fake_bytes, .set_begin = fake_set_begin,                     \
		.set_free = fake_set_free, .set_add = fake_set_add, .set_remove = fake_set_remove, \
		.set_prepare = fake_set_prepare, .set_guard = fake_set_guard,                      \
		.set_commit = fake_set_commit, .set_commit_frozen_ok = fake_frozen_ok,             \
		.set_rollback = fake_rollback, .set_take = fake_set_take,                          \
		.set_mountpoints = fake_set_mountpoints, .set_count = fake_set_count,              \
		.set_member_volume = fake_set_member_volume, .set_committed = fake_set_committed,  \
		.set_hold_window = fake_hold_window, .snap_free = fake_snap_free,                  \
		.snap_base = fake_snap_base, .snap_label = fake_snap_label,                        \
		.snap_storage_path = fake_snap_storage_path, .snap_delete = fake_snap_delete,      \
		.snap_usage = fake_snap_usage, .snap_device = fake_snap_device,                    \
		.snap_exists = fake_snap_exists, .snap_devno = fake_snap_devno                     \
	}

static const ProviderOps fake_a_ops =
	FAKE_OPS("fake-a", "00000000-0000-4000-8000-0000000000a1", 10);
static const ProviderOps fake_b_ops =
	FAKE_OPS("fake-b", "00000000-0000-4000-8000-0000000000b1", 20);

static FakeEnv env_a, env_b;

/* A test daemon with volumes a (fake-a), b (fake-b) and c (dm-snapshot), each mounted at
 * /mnt/<name>; dm-snapshot's guard and commit and the host's freeze and thaw are logged. */
static TestDaemon *mix_daemon(void)
{
	TestDaemon *t = NULL;

	n_calls = 0;
	ck_assert_int_eq(test_daemon_new(&t), 0);
	for (size_t i = 0; i < 3; i++) {
		char mp[32];

		snprintf(mp, sizeof(mp), "/mnt/%s", t->volume[i]);
		fake_host_add_mount(t->host, t->devno[i], mp);
	}
	inner_host = t->d.host;
	logged_ops = *inner_host->ops;
	logged_ops.freeze = logged_freeze;
	logged_ops.thaw = logged_thaw;
	logged_host = (Host){ .ops = &logged_ops, .userdata = inner_host->userdata };
	t->d.host = &logged_host;
	dmsnap_logged = provider_dmsnap_ops;
	dmsnap_logged.set_guard = dmsnap_logged_guard;
	dmsnap_logged.set_commit = dmsnap_logged_commit;
	/* the built-in providers: lvm-thin and lvm take none of these volumes (not LVM's) */
	ck_assert_uint_eq(t->d.providers.n, 3);
	ck_assert_ptr_nonnull(provider_find_by_name(&t->d.providers, PROVIDER_DMSNAP_NAME));
	provider_find_by_name(&t->d.providers, PROVIDER_DMSNAP_NAME)->ops = &dmsnap_logged;

	env_a = (FakeEnv){ .name = "fake-a", .t = t, .volumes = "a", .frozen_ok = true };
	env_b = (FakeEnv){ .name = "fake-b", .t = t, .volumes = "b", .frozen_ok = true };
	ck_assert_int_eq(provider_register(&t->d.providers, &fake_a_ops, &env_a), 0);
	ck_assert_int_eq(provider_register(&t->d.providers, &fake_b_ops, &env_b), 0);
	return t;
}

static Snapset *mix_set(TestDaemon *t, const char *volumes)
{
	Snapset *s = test_set(t, "backup", true);

	for (const char *v = volumes; *v; v++)
		(void)test_add(s, (size_t)(*v - 'a'));
	return s;
}

static void run_until_done(TestDaemon *t, Snapset *s)
{
	for (int i = 0; i < 1000 && s->state == SNAPSET_STATE_CREATING; i++)
		ck_assert_int_ge(sd_event_run(t->d.event, 5 * USEC_PER_SEC), 0);
	ck_assert_int_ne(s->state, SNAPSET_STATE_CREATING);
}

static Snapshot *snap_of(Snapset *s, const char *volume)
{
	for (size_t i = 0; i < s->n_snaps; i++)
		if (streq(s->snaps[i]->volume_name, volume))
			return s->snaps[i];
	ck_abort_msg("no shadow copy of %s", volume);
	return NULL;
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* Three providers in one set: one engine each, in pick order whatever the order of AddVolume;
 * every file system frozen before the first commit and thawed after the last */
START_TEST(three_providers_one_instant)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = mix_daemon();
	VssErr err = { 0 };
	Snapset *s;
	char dev[160];

	s = mix_set(t, "cba");
	ck_assert_uint_eq(s->n_engines, 3);
	ck_assert_str_eq(s->engines[0].provider->ops->name, "fake-a");
	ck_assert_str_eq(s->engines[1].provider->ops->name, "fake-b");
	ck_assert_str_eq(s->engines[2].provider->ops->name, "dm-snapshot");
	ck_assert_str_eq(snapset_instant(s), "one");
	ck_assert_str_eq(snap_of(s, "a")->provider->ops->name, "fake-a");
	ck_assert_str_eq(snap_of(s, "c")->provider->ops->name, "dm-snapshot");

	ck_assert_int_eq(test_create(s, &err), 0);
	run_until_done(t, s);
	ck_assert_msg(s->state == SNAPSET_STATE_CREATED, "%s", err.message);
	ck_assert_uint_eq(s->n_engines, 0); /* freed once created */
	ck_assert_uint_eq(fake_host_count_frozen(t->host), 0);

	/* prepare every provider, then guard: only the last is lent the group */
	ORDER("prepare fake-a", "freeze /mnt/a");
	ORDER("prepare fake-b", "freeze /mnt/a");
	ck_assert_int_ge(at("guard fake-a -"), 0);
	ck_assert_int_ge(at("guard fake-b -"), 0);
	ck_assert_int_ge(at("guard dm-snapshot group"), 0);
	/* freeze all, commit A, commit B, commit dm-snapshot, thaw all */
	ORDER("guard dm-snapshot group", "freeze /mnt/a");
	ORDER("freeze /mnt/a", "commit fake-a frozen frozen=3");
	ORDER("freeze /mnt/b", "commit fake-a frozen frozen=3");
	ORDER("freeze /mnt/c", "commit fake-a frozen frozen=3");
	ORDER("commit fake-a frozen frozen=3", "commit fake-b frozen frozen=3");
	ORDER("commit fake-b frozen frozen=3", "commit dm-snapshot frozen");
	ORDER("commit dm-snapshot frozen", "thaw /mnt/a");
	/* dm-snapshot, last, thaws the lent group itself right after its resumes */
	ORDER("thaw /mnt/c", "committed dm-snapshot 0");
	ck_assert_uint_eq(count("thaw /mnt/a"), 1);
	ck_assert_uint_eq(count("thaw /mnt/b"), 1);
	ck_assert_uint_eq(count("thaw /mnt/c"), 1);
	ck_assert_int_lt(at("rollback fake-a"), 0);

	/* each shadow copy is its provider's */
	ck_assert_str_eq(snapshot_device(snap_of(s, "a"), dev, sizeof(dev)), "/dev/fake/fake-a-a");
	ck_assert_str_eq(snapshot_device(snap_of(s, "b"), dev, sizeof(dev)), "/dev/fake/fake-b-b");
	ck_assert_ptr_nonnull(startswith(snapshot_device(snap_of(s, "c"), dev, sizeof(dev)),
	                                 "/dev/mapper/vssd-"));
}
END_TEST

/* fake-b cannot commit while frozen: its file system is not frozen, it commits after the thaw,
 * without fs_frozen, and the set says per-volume */
START_TEST(provider_that_cannot_commit_frozen)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = mix_daemon();
	VssErr err = { 0 };
	Snapset *s;

	env_b.frozen_ok = false;
	s = mix_set(t, "ab");
	ck_assert_str_eq(snapset_instant(s), "per-volume");
	ck_assert(!s->engines[1].frozen_ok);
	ck_assert_int_eq(test_create(s, &err), 0);
	run_until_done(t, s);
	ck_assert_msg(s->state == SNAPSET_STATE_CREATED, "%s", err.message);
	ck_assert_int_lt(at("freeze /mnt/b"), 0);
	ck_assert_int_lt(at("guard fake-b -"), 0);
	ck_assert_int_ge(at("guard fake-a group"), 0); /* the last, and only, frozen commit */
	ORDER("freeze /mnt/a", "commit fake-a frozen frozen=1");
	ORDER("commit fake-a frozen frozen=1", "thaw /mnt/a");
	ORDER("thaw /mnt/a", "commit fake-b - frozen=0");
	ck_assert_str_eq(snapset_instant(s), "per-volume");

	/* the same provider answering true again: one instant */
	env_b.frozen_ok = true;
	s = mix_set(t, "ab");
	ck_assert_str_eq(snapset_instant(s), "one");
}
END_TEST

/* Alone, a provider that cannot commit frozen still takes its volumes; with dm-snapshot it goes
 * after the thaw and dm-snapshot is lent the group */
START_TEST(cannot_commit_frozen_with_dmsnap)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = mix_daemon();
	VssErr err = { 0 };
	Snapset *s;

	env_a.frozen_ok = false;
	s = mix_set(t, "ac");
	ck_assert_int_eq(test_create(s, &err), 0);
	run_until_done(t, s);
	ck_assert_msg(s->state == SNAPSET_STATE_CREATED, "%s", err.message);
	ck_assert_int_ge(at("guard dm-snapshot group"), 0);
	ck_assert_int_lt(at("freeze /mnt/a"), 0);
	ORDER("freeze /mnt/c", "commit dm-snapshot frozen");
	ORDER("thaw /mnt/c", "commit fake-a - frozen=0");
	ck_assert_uint_eq(fake_host_count_frozen(t->host), 0);
}
END_TEST

/* A failure in the second provider's commit deletes what the first committed, rolls back every
 * provider and thaws everything */
START_TEST(second_commit_fails_rolls_back_first)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = mix_daemon();
	DBusMessage *m;
	VssErr err = { 0 };
	Snapset *s;

	env_b.fail_commit = -EIO;
	s = mix_set(t, "abc");
	m = test_call_new(t, s->path, VSSD_IFACE_SET, "DoSnapshotSet", s->owner);
	ck_assert_int_eq(snapset_create(s, snapset_dbus_reply_empty, dbus_message_ref(m), &err), 0);
	run_until_done(t, s);
	ck_assert_str_eq(snapset_state_to_string(s->state), "failed");
	ck_assert_str_eq(dbus_message_get_error_name(test_daemon_reply_to(t, m)),
	                 VSS_ERROR_PREFIX "ProviderVeto");
	dbus_message_unref(m);
	ck_assert_int_lt(at("commit dm-snapshot frozen"), 0); /* never reached */
	ORDER("commit fake-b frozen frozen=3", "delete fake-a-a");
	ck_assert_int_ge(at("rollback fake-b"), 0);
	ck_assert_uint_eq(fake_host_count_frozen(t->host), 0);
	ck_assert_uint_eq(count("thaw /mnt/a"), 1);
	ck_assert_uint_eq(count("thaw /mnt/c"), 1);
	/* dm-snapshot's part is gone: nothing of ours in dm, nothing suspended */
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t->dm, "VSSD-"), 0);
	ck_assert_uint_eq(fake_dm_count_suspended(t->dm), 0);
	ck_assert_uint_eq(s->n_engines, 0);
}
END_TEST

/* dm-snapshot, the last commit, fails: both fakes' committed snapshots are deleted */
START_TEST(last_commit_fails_rolls_back_all)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = mix_daemon();
	VssErr err = { 0 };
	Snapset *s;

	s = mix_set(t, "abc");
	fake_dm_fail_nth(t->dm, FAKE_DM_RESUME, 1, -EIO); /* the first snapshot resume */
	ck_assert_int_eq(test_create(s, &err), 0);
	run_until_done(t, s);
	ck_assert_str_eq(snapset_state_to_string(s->state), "failed");
	ORDER("committed dm-snapshot -5", "delete fake-a-a");
	ck_assert_int_ge(at("delete fake-b-b"), 0);
	ck_assert_uint_eq(fake_host_count_frozen(t->host), 0);
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t->dm, "VSSD-"), 0);
	ck_assert_uint_eq(fake_dm_count_suspended(t->dm), 0);
}
END_TEST

/* Asynchronous providers: both prepare before either ends; both frozen commits run together,
 * dm-snapshot commits once both ended, and the thaw follows */
START_TEST(async_completions)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = mix_daemon();
	VssErr err = { 0 };
	Snapset *s;

	env_a.async = env_b.async = true;
	s = mix_set(t, "abc");
	ck_assert_int_eq(test_create(s, &err), 0);
	ck_assert_str_eq(snapset_state_to_string(s->state), "creating");
	run_until_done(t, s);
	ck_assert_msg(s->state == SNAPSET_STATE_CREATED, "%s", err.message);
	ORDER("prepare fake-b", "prepared fake-a 0");
	ORDER("prepared fake-a 0", "freeze /mnt/a");
	ORDER("prepared fake-b 0", "freeze /mnt/a");
	ORDER("commit fake-b frozen frozen=3", "committed fake-a 0");
	ORDER("committed fake-a 0", "commit dm-snapshot frozen");
	ORDER("committed fake-b 0", "commit dm-snapshot frozen");
	ORDER("commit dm-snapshot frozen", "thaw /mnt/a");
	ORDER("thaw /mnt/a", "committed dm-snapshot 0"); /* the last commit thaws */
	ck_assert_uint_eq(fake_host_count_frozen(t->host), 0);
}
END_TEST

/* An asynchronous prepare that fails: the set waits for the other one, then rolls both back */
START_TEST(async_prepare_failure)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = mix_daemon();
	VssErr err = { 0 };
	Snapset *s;

	env_a.async = env_b.async = true;
	env_a.fail_prepare = -EIO;
	s = mix_set(t, "abc");
	ck_assert_int_eq(test_create(s, &err), 0);
	run_until_done(t, s);
	ck_assert_str_eq(snapset_state_to_string(s->state), "failed");
	ORDER("prepared fake-b 0", "rollback fake-b");
	ck_assert_int_lt(at("freeze /mnt/a"), 0);
	ck_assert_int_lt(at("commit fake-b frozen frozen=0"), 0);
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t->dm, "VSSD-"), 0);
}
END_TEST

/* An asynchronous commit that outlasts the hold limit: the set's own watchdog thaws the group,
 * the set fails with HoldWritesTimeout and rolls back everything */
START_TEST(hold_limit_across_providers)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = mix_daemon();
	DBusMessage *m;
	VssErr err = { 0 };
	Snapset *s;

	t->d.config.hold_timeout = 50 * USEC_PER_MSEC;
	env_a.async = true;
	env_a.commit_delay = 300 * USEC_PER_MSEC;
	s = mix_set(t, "ac");
	m = test_call_new(t, s->path, VSSD_IFACE_SET, "DoSnapshotSet", s->owner);
	ck_assert_int_eq(snapset_create(s, snapset_dbus_reply_empty, dbus_message_ref(m), &err), 0);
	run_until_done(t, s);
	ck_assert_str_eq(snapset_state_to_string(s->state), "failed");
	ck_assert_str_eq(dbus_message_get_error_name(test_daemon_reply_to(t, m)),
	                 VSS_ERROR_PREFIX "HoldWritesTimeout");
	dbus_message_unref(m);
	/* the watchdog thawed before the slow commit ended */
	ORDER("thaw /mnt/a", "committed fake-a 0");
	ck_assert_int_lt(at("commit dm-snapshot frozen"), 0);
	ck_assert_int_ge(at("delete fake-a-a"), 0);
	ck_assert_uint_eq(fake_host_count_frozen(t->host), 0);
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t->dm, "VSSD-"), 0);
}
END_TEST

/* A set freed while an asynchronous commit is under way: cancelled, rolled back, thawed */
START_TEST(free_during_async_commit)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = mix_daemon();
	VssErr err = { 0 };
	Snapset *s;

	env_a.async = true;
	env_a.commit_delay = 10 * USEC_PER_SEC;
	s = mix_set(t, "ac");
	ck_assert_int_eq(test_create(s, &err), 0);
	for (int i = 0; i < 1000 && at("commit fake-a frozen frozen=2") < 0; i++)
		ck_assert_int_ge(sd_event_run(t->d.event, 100 * USEC_PER_MSEC), 0);
	ck_assert_uint_eq(fake_host_count_frozen(t->host), 2);
	ck_assert_int_eq(snapset_abort(s, &err), 0);
	ck_assert_int_ge(at("cancel fake-a"), 0);
	ck_assert_uint_eq(fake_host_count_frozen(t->host), 0);
	ck_assert_uint_eq(fake_dm_count_uuid_prefix(t->dm, "VSSD-"), 0);
}
END_TEST

/* [commit] freeze = lockfs: two providers cannot share an instant */
START_TEST(lockfs_mix_is_per_volume)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = mix_daemon();
	VssErr err = { 0 };
	Snapset *s;

	t->d.config.parallel_freeze = false;
	s = mix_set(t, "a");
	ck_assert_str_eq(snapset_instant(s), "one");
	(void)test_add(s, 2);
	ck_assert_str_eq(snapset_instant(s), "per-volume");
	ck_assert_int_eq(test_create(s, &err), 0);
	run_until_done(t, s);
	ck_assert_msg(s->state == SNAPSET_STATE_CREATED, "%s", err.message);
	ck_assert_int_lt(at("freeze /mnt/a"), 0);
	ORDER("commit fake-a - frozen=0", "commit dm-snapshot -");
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("snapset-mix",
	TEST(three_providers_one_instant)
	TEST(provider_that_cannot_commit_frozen)
	TEST(cannot_commit_frozen_with_dmsnap)
	TEST(second_commit_fails_rolls_back_first)
	TEST(last_commit_fails_rolls_back_all)
	TEST(async_completions)
	TEST(async_prepare_failure)
	TEST(hold_limit_across_providers)
	TEST(free_during_async_commit)
	TEST(lockfs_mix_is_per_volume))
/* clang-format on */
