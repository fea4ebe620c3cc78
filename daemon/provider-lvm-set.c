/* SPDX-License-Identifier: GPL-2.0-or-later */
/* provider-lvm-set.c - LVM sets: space checks (prepare), `lvcreate -s` per volume (commit), in
 * parallel across VGs and one after another within a VG (LVM holds the VG's lock for each),
 * and rollback by tag (`lvremove -f @vssd_set_<id>`) */
#include <inttypes.h>
#include <sys/utsname.h>

#include "common/escape.h"
#include "common/log.h"
#include "common/valid.h"
#include "daemon/dmdev.h"
#include "daemon/fault.h"
#include "daemon/hostops.h"
#include "daemon/provider-lvm-internal.h"

typedef struct LvmMember {
	VssId id;
	char *vg, *origin, *pool, *volume_name, *mountpoint;
	char snap_lv[LVM_NAME_MAX + 1];
	char *lv_uuid; /* once made */
	uint64_t sectors, cow_bytes;
	bool made;
} LvmMember;

struct ProviderSet {
	LvmEnv *env;
	VssId id;
	bool persistent, committed, attempted;
	bool any_made; /* an lvcreate of the commit finished (the kill-lvm-... fault point) */
	LvmMember *m;
	size_t n;
	usec_t t1, t2;
	usec_t deadline;
	/* commit in flight */
	struct Chain *chains;
	size_t nc;
	size_t running;
	ProviderDoneFn done;
	void *userdata;
	usec_t *ret_held;
	char rollback_tag[64];
	int error;
	VssErr err;
};

static void resume_leftovers(ProviderSet *s, const struct LvmMember *m);
static void commit_cancel(ProviderSet *s);

static void member_done(LvmMember *m)
{
	free(m->vg);
	free(m->origin);
	free(m->pool);
	free(m->volume_name);
	free(m->mountpoint);
	free(m->lv_uuid);
	*m = (LvmMember){ 0 };
}

static LvmMember *find(ProviderSet *s, const VssId *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (vssid_equal(&s->m[i].id, id))
			return &s->m[i];
	return NULL;
}

int lvm_set_begin(Provider *p, const VssId *set_id, bool persistent, ProviderSet **ret)
{
	ProviderSet *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->env = lvm_env_of(p);
	s->id = *set_id;
	s->persistent = persistent;
	*ret = s;
	return 0;
}

ProviderSet *lvm_set_free(ProviderSet *s)
{
	if (!s)
		return NULL;
	commit_cancel(s);
	if (!s->committed)
		lvm_set_rollback(s);
	for (size_t i = 0; i < s->n; i++)
		member_done(&s->m[i]);
	free(s->m);
	free(s);
	return NULL;
}

int lvm_set_add(ProviderSet *s, const char *volume_path, const char *storage_dir,
                uint64_t storage_bytes, const VssId *snap_id, VssErr *err)
{
	Provider p = { .env = s->env };
	ProviderVolume v = { 0 };
	LvmLv lv = { 0 };
	LvmMember *x, m = { .id = *snap_id };
	char hex[VSSID_PATH_MAX];
	int r;

	r = lvm_probe_lv(&p, volume_path, &v, &lv, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->m[i].volume_name, v.name)) {
			provider_volume_done(&v);
			lvm_lv_done(&lv);
			return vss_err_set(err, VSS_ERROR_OBJECT_ALREADY_EXISTS, -EEXIST,
			                   "volume %s is already in the set", volume_path);
		}
	vssid_to_path(snap_id, hex);
	/* <origin>-vssd-<first 8 of the snapshot id>: fits in LVM's 127 */
	snprintf(m.snap_lv, sizeof(m.snap_lv), "%.100s-vssd-%.8s", lv.name, hex);
	m.vg = TAKE_PTR(lv.vg);
	m.origin = TAKE_PTR(lv.name);
	m.pool = lv.pool[0] ? TAKE_PTR(lv.pool) : NULL;
	m.volume_name = TAKE_PTR(v.name);
	m.mountpoint = TAKE_PTR(v.mountpoint);
	m.sectors = lv.size / 512;
	/* a COW larger than its origin (plus LVM's exception store) is never needed */
	m.cow_bytes = MIN(storage_bytes, lv.size + lv.size / 16 + (4ULL << 20));
	provider_volume_done(&v);
	lvm_lv_done(&lv);
	x = reallocarray(s->m, s->n + 1, sizeof(*s->m));
	if (!x) {
		member_done(&m);
		return -ENOMEM;
	}
	s->m = x;
	s->m[s->n++] = m;
	return 0;
}

int lvm_set_remove(ProviderSet *s, const VssId *snap_id)
{
	LvmMember *m = find(s, snap_id);

	if (!m)
		return -ENOENT;
	member_done(m);
	memmove(m, m + 1, (size_t)(s->m + s->n - m - 1) * sizeof(*m));
	s->n--;
	return 0;
}

/* thick: the sum of the COWs in each VG fits its free space; thin: the pool is not full */
int lvm_set_prepare(ProviderSet *s, ProviderDoneFn done, void *userdata, VssErr *err)
{
	char *argv[] = {
		(char *)"vgs", (char *)"--reportformat", (char *)"json", (char *)"--units",
		(char *)"b",   (char *)"--nosuffix",     (char *)"-o",   (char *)LVM_VG_FIELDS,
		NULL
	};
	_cleanup_free_ char *why = NULL;
	LvmResult res;
	LvmVg *vgs = NULL;
	LvmLv *lvs = NULL;
	size_t nv = 0, nl = 0;
	int r;

	if (s->env->thin) {
		r = lvm_env_lvs(s->env, NULL, &lvs, &nl, err);
		for (size_t i = 0; r >= 0 && i < s->n; i++) {
			const LvmLv *o = NULL, *pool = NULL;

			for (size_t k = 0; k < nl; k++)
				if (streq(lvs[k].vg, s->m[i].vg) &&
				    streq(lvs[k].name, s->m[i].origin))
					o = &lvs[k];
			for (size_t k = 0; o && k < nl; k++)
				if (streq(lvs[k].vg, o->vg) && streq(lvs[k].name, o->pool))
					pool = &lvs[k];
			if (!pool)
				r = vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
				                "cannot find the thin pool of %s/%s", s->m[i].vg,
				                s->m[i].origin);
			else if (pool->data_permille >= 950 || pool->meta_permille >= 950)
				r = vss_err_set(err, VSS_ERROR_INSUFFICIENT_STORAGE, -ENOSPC,
				                "thin pool %s/%s is full (data %d.%d%%, metadata "
				                "%d.%d%%); extend the pool or delete shadow copies",
				                pool->vg, pool->name, pool->data_permille / 10,
				                pool->data_permille % 10, pool->meta_permille / 10,
				                pool->meta_permille % 10);
		}
		lvm_lvs_free(lvs, nl);
		return r < 0 ? r : 0;
	}
	r = lvm_env_run(s->env, argv, s->env->report_timeout, &res, err,
	                "cannot list LVM volume groups");
	if (r >= 0) {
		r = lvm_report_vgs(res.out, &vgs, &nv, &why);
		if (r < 0)
			vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
			            "cannot read LVM's report: %s", strempty(why));
	}
	lvm_result_done(&res);
	for (size_t k = 0; r >= 0 && k < nv; k++) {
		uint64_t need = 0;
		char a[32], b[32];

		for (size_t i = 0; i < s->n; i++)
			if (streq(s->m[i].vg, vgs[k].name))
				/* each COW rounded up to whole extents */
				need += (s->m[i].cow_bytes + vgs[k].extent_size - 1) /
				        vgs[k].extent_size * vgs[k].extent_size;
		if (need > vgs[k].free)
			r = vss_err_set(
				err, VSS_ERROR_INSUFFICIENT_STORAGE, -ENOSPC,
				"volume group %s has %s free, the set's shadow copies need %s "
				"there; extend the VG or use smaller shadow storage",
				vgs[k].name, format_size(vgs[k].free, a, sizeof(a)),
				format_size(need, b, sizeof(b)));
	}
	lvm_vgs_free(vgs, nv);
	return r < 0 ? r : 0;
}

int lvm_set_guard(ProviderSet *s, FreezeGroup *frozen, usec_t timeout, VssErr *err)
{
	/* nothing held by LVM outlives a command: the commit's deadline is the hold limit */
	s->deadline = timeout;
	return 0;
}

bool lvm_set_commit_frozen_ok(ProviderSet *s)
{
	struct utsname u;

	if (s->env->frozen_ok >= 0)
		return s->env->frozen_ok;
	if (uname(&u) < 0)
		return false;
	return lvm_kernel_nests_freeze(u.release);
}

/* ---- commit: one chain of lvcreate per VG, the chains in parallel ---------------------------- */

struct Chain {
	ProviderSet *s;
	sd_event *event;
	size_t *order; /* members of this VG, in set order */
	size_t n, next;
	char *argv[24];
	char tags[4][64];
	char size[32], name[LVM_NAME_MAX + 1], origin[2 * LVM_NAME_MAX + 2];
};
typedef struct Chain Chain;

/* set_free while a commit is under way: its commands killed and reaped, done never called;
 * what an lvcreate killed mid-way left suspended is resumed, and the caller's rollback removes
 * what it made */
static void commit_cancel(ProviderSet *s)
{
	if (!s->done && !s->chains)
		return;
	for (size_t k = 0; k < s->nc; k++) {
		Chain *c = &s->chains[k];

		s->env->runner->cancel(s->env->runner, c);
		if (c->next > 0 && c->next <= c->n) {
			LvmMember *m = &s->m[c->order[c->next - 1]];

			if (!m->made) {
				m->made = true; /* may exist partly */
				resume_leftovers(s, m);
			}
		}
		free(c->order);
	}
	s->env->runner->cancel(s->env->runner, s);
	free(s->chains);
	s->chains = NULL;
	s->nc = 0;
	s->running = 0;
	s->done = NULL;
	s->userdata = NULL;
}

static int chain_next(Chain *c);
static void chains_finished(ProviderSet *s);

/* An lvcreate killed at its deadline may have left its devices suspended: I/O is never left
 * held, so resume whatever of the member is (a resume loads nothing) */
static void resume_leftovers(ProviderSet *s, const LvmMember *m)
{
	static const char *const suffix[] = { "", "-real", "-cow" };
	const char *lvs[] = { m->origin, m->snap_lv };

	for (size_t i = 0; i < ELEMENTSOF(lvs); i++)
		for (size_t k = 0; k < ELEMENTSOF(suffix); k++) {
			char dm[300];
			DmdevInfo info;

			if (lvm_dm_name(m->vg, lvs[i], dm, sizeof(dm) - 8) < 0)
				continue;
			strcat(dm, suffix[k]);
			if (dmdev_info(s->env->dm, dm, &info) < 0 || !info.exists ||
			    !info.suspended)
				continue;
			if (dmdev_resume(s->env->dm, dm) < 0)
				log_error("cannot resume %s, suspended by a killed lvcreate", dm);
			else
				log_warning("resumed %s, suspended by a killed lvcreate", dm);
		}
}

static void chain_done(void *userdata, const LvmResult *res)
{
	Chain *c = userdata;
	ProviderSet *s = c->s;
	LvmMember *m = &s->m[c->order[c->next - 1]];
	int r = lvm_result_errno(res);

	if (r < 0) {
		char said[512] = "";
		const char *e = strempty(res->err);
		size_t n = strlen(e);

		while (n > 0 && (e[n - 1] == '\n' || e[n - 1] == ' '))
			n--;
		{
			_cleanup_free_ char *t = strndup(e, n);
			const char *last = t ? strrchr(t, '\n') : NULL;

			if (t)
				text_escape_buf(last ? last + 1 : t, 0, said, sizeof(said));
		}
		if (s->error >= 0) {
			s->error = r;
			vss_err_set(&s->err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
			            "lvcreate -s of %s/%s failed%s: %s", m->vg, m->origin,
			            res->timed_out ? " (deadline, killed)" : "",
			            said[0] ? said : "no message");
		}
		if (res->timed_out)
			resume_leftovers(s, m);
		m->made = true; /* may exist partly: the rollback removes it by tag */
		if (--s->running == 0)
			chains_finished(s);
		return;
	}
	m->made = true;
	if (!s->any_made) {
		s->any_made = true;
		fault_point_kill(s->env->faults, "kill-lvm-after-first-lvcreate");
	}
	if (chain_next(c) <= 0 && --s->running == 0)
		chains_finished(s);
}

/* 1: the next lvcreate runs; 0: the chain is done (or failed to start: s->error) */
static int chain_next(Chain *c)
{
	ProviderSet *s = c->s;
	LvmMember *m;
	char hex[VSSID_PATH_MAX];
	size_t a = 0;
	int r;

	if (c->next >= c->n || s->error < 0)
		return 0;
	m = &s->m[c->order[c->next++]];
	c->argv[a++] = (char *)"lvcreate";
	c->argv[a++] = (char *)"-q";
	c->argv[a++] = (char *)"-s";
	if (!s->env->thin) {
		snprintf(c->size, sizeof(c->size), "%" PRIu64 "b", m->cow_bytes);
		c->argv[a++] = (char *)"-L";
		c->argv[a++] = c->size;
	} else {
		/* LVM's activation skip flag (no auto-activation at boot), activated now with -K */
		c->argv[a++] = (char *)"-ky";
		c->argv[a++] = (char *)"-K";
	}
	c->argv[a++] = (char *)"-n";
	c->argv[a++] = m->snap_lv;
	snprintf(c->tags[0], sizeof(c->tags[0]), "%s%s", LVM_TAG_SET, vssid_to_path(&s->id, hex));
	snprintf(c->tags[1], sizeof(c->tags[1]), "%s%s", LVM_TAG_SNAP, vssid_to_path(&m->id, hex));
	snprintf(c->tags[2], sizeof(c->tags[2]), "%s%zu", LVM_TAG_COUNT, s->n);
	snprintf(c->tags[3], sizeof(c->tags[3]), "%s", LVM_TAG_PERSISTENT);
	c->argv[a++] = (char *)"--addtag";
	c->argv[a++] = (char *)LVM_TAG_VSSD;
	for (size_t t = 0; t < (s->persistent ? 4u : 3u); t++) {
		c->argv[a++] = (char *)"--addtag";
		c->argv[a++] = c->tags[t];
	}
	snprintf(c->origin, sizeof(c->origin), "%s/%s", m->vg, m->origin);
	c->argv[a++] = c->origin;
	c->argv[a] = NULL;
	r = s->env->runner->start(s->env->runner, c->event, c->argv,
	                          s->deadline ? s->deadline : s->env->command_timeout, chain_done,
	                          c);
	if (r < 0) {
		if (s->error >= 0) {
			s->error = r;
			vss_err_set(&s->err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
			            "cannot start lvcreate for %s/%s: %s", m->vg, m->origin,
			            strerror(-r));
		}
		return 0;
	}
	return 1;
}

/* ---- the end of a commit: the uuids of what was made (one report), or the rollback -------- */

static void commit_finish(ProviderSet *s, int r)
{
	ProviderDoneFn done = TAKE_PTR(s->done);
	void *userdata = TAKE_PTR(s->userdata);

	for (size_t k = 0; k < s->nc; k++)
		free(s->chains[k].order);
	free(s->chains);
	s->chains = NULL;
	s->nc = 0;
	if (r >= 0)
		s->committed = true;
	if (done)
		done(userdata, r, r < 0 ? &s->err : NULL); /* s may be freed by now */
}

static void rollback_done(void *userdata, const LvmResult *res)
{
	ProviderSet *s = userdata;

	if (lvm_result_errno(res) < 0)
		log_warning("cannot remove the LVM snapshots of a failed set (status %d)",
		            res->status);
	for (size_t i = 0; i < s->n; i++) {
		s->m[i].made = false;
		free(s->m[i].lv_uuid);
		s->m[i].lv_uuid = NULL;
	}
	commit_finish(s, s->error);
}

/* The failed commit's LVs removed by tag, from the loop; then done(error) */
static void commit_fail(ProviderSet *s)
{
	char hex[VSSID_PATH_MAX];
	char *argv[] = { (char *)"lvremove", (char *)"-f", s->rollback_tag, NULL };
	bool any = false;

	for (size_t i = 0; i < s->n; i++)
		any = any || s->m[i].made;
	snprintf(s->rollback_tag, sizeof(s->rollback_tag), "@%s%s", LVM_TAG_SET,
	         vssid_to_path(&s->id, hex));
	lvm_env_drop_cache(s->env);
	if (any && s->env->runner->start(s->env->runner, s->env->event, argv,
	                                 s->env->command_timeout, rollback_done, s) >= 0)
		return;
	if (any)
		lvm_set_rollback(s); /* could not start it from the loop: at once */
	commit_finish(s, s->error);
}

static void uuids_done(void *userdata, const LvmResult *res)
{
	ProviderSet *s = userdata;
	_cleanup_free_ char *why = NULL;
	LvmLv *l = NULL;
	size_t n = 0;
	int r = lvm_result_errno(res);

	if (r < 0)
		vss_err_set(&s->err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		            "cannot list LVM volumes after lvcreate (status %d)", res->status);
	else {
		r = lvm_report_lvs(res->out, &l, &n, &why);
		if (r < 0)
			vss_err_set(&s->err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
			            "cannot read LVM's report: %s", strempty(why));
	}
	for (size_t i = 0; r >= 0 && i < s->n; i++) {
		LvmMember *m = &s->m[i];

		for (size_t k = 0; k < n && !m->lv_uuid; k++)
			if (streq(l[k].vg, m->vg) && streq(l[k].name, m->snap_lv))
				m->lv_uuid = strdup(l[k].uuid);
		if (!m->lv_uuid)
			r = vss_err_set(&s->err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, -ENOENT,
			                "lvcreate made no %s/%s", m->vg, m->snap_lv);
	}
	lvm_lvs_free(l, n);
	if (r < 0) {
		s->error = r;
		commit_fail(s);
		return;
	}
	commit_finish(s, 0);
}

/* Every chain has ended */
static void chains_finished(ProviderSet *s)
{
	char *argv[] = { (char *)"lvs",         (char *)"--reportformat",
		         (char *)"json",        (char *)"--units",
		         (char *)"b",           (char *)"--nosuffix",
		         (char *)"-a",          (char *)"-o",
		         (char *)LVM_LV_FIELDS, NULL };
	int r;

	s->t2 = now_usec(CLOCK_MONOTONIC);
	if (s->ret_held)
		*s->ret_held = s->t2 - s->t1;
	if (s->error < 0) {
		commit_fail(s);
		return;
	}
	r = s->env->runner->start(s->env->runner, s->env->event, argv, s->env->report_timeout,
	                          uuids_done, s);
	if (r < 0) {
		s->error = r;
		vss_err_set(&s->err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		            "cannot list LVM volumes: %s", strerror(-r));
		commit_fail(s);
	}
}

/* The set's lvcreate chains start on vssd's loop: 1, done() called once they and the report
 * after them have ended (after the rollback when one failed) */
int lvm_set_commit(ProviderSet *s, bool fs_frozen, usec_t *ret_held, ProviderDoneFn done,
                   void *userdata, VssErr *err)
{
	Chain *chains;
	size_t nc = 0;

	if (s->committed || s->attempted)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EALREADY, "the set was committed");
	if (!s->env->event)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, -EINVAL,
		                   "the LVM provider has no event loop");
	s->attempted = true;
	if (fs_frozen && !lvm_set_commit_frozen_ok(s))
		return vss_err_set(err, VSS_ERROR_PROVIDER_VETO, -EBUSY,
		                   "this kernel cannot snapshot an LVM volume whose file system is "
		                   "frozen already (LVM's suspend gives EBUSY before Linux 6.6)");
	if (!lvm_set_commit_frozen_ok(s) && s->n > 1)
		log_notice(
			"%zu LVM volumes: this kernel (before 6.6) cannot snapshot a frozen file "
			"system, so each is taken at its own lvcreate, not at one instant",
			s->n);
	chains = calloc(s->n + 1, sizeof(*chains));
	if (!chains)
		return -ENOMEM;
	/* one chain per VG */
	for (size_t i = 0; i < s->n; i++) {
		Chain *c = NULL;

		for (size_t k = 0; k < nc && !c; k++)
			if (streq(s->m[chains[k].order[0]].vg, s->m[i].vg))
				c = &chains[k];
		if (!c) {
			c = &chains[nc++];
			*c = (Chain){ .s = s,
				      .event = s->env->event,
				      .order = calloc(s->n, sizeof(size_t)) };
			if (!c->order) {
				for (size_t k = 0; k < nc; k++)
					free(chains[k].order);
				free(chains);
				return -ENOMEM;
			}
		}
		c->order[c->n++] = i;
	}
	s->chains = chains;
	s->nc = nc;
	s->done = done;
	s->userdata = userdata;
	s->ret_held = ret_held;
	s->error = 0;
	s->err = (VssErr){ 0 };
	s->running = 0;
	lvm_env_drop_cache(s->env);
	s->t1 = now_usec(CLOCK_MONOTONIC);
	for (size_t k = 0; k < nc; k++)
		if (chain_next(&chains[k]) > 0)
			s->running++;
	if (s->running == 0 && s->error < 0) {
		/* nothing started: failed at once */
		s->done = NULL;
		s->userdata = NULL;
		for (size_t k = 0; k < nc; k++)
			free(chains[k].order);
		free(s->chains);
		s->chains = NULL;
		s->nc = 0;
		if (err)
			*err = s->err;
		return s->error;
	}
	if (s->running == 0)
		chains_finished(s); /* cannot happen with members; kept for an empty set */
	return 1;
}

void lvm_set_rollback(ProviderSet *s)
{
	char hex[VSSID_PATH_MAX], tag[64];
	char *argv[] = { (char *)"lvremove", (char *)"-f", tag, NULL };
	bool any = false;
	LvmResult res;
	VssErr e = { 0 };

	if (s->committed)
		return;
	for (size_t i = 0; i < s->n; i++)
		any = any || s->m[i].made;
	if (!any)
		return;
	/* whatever carries the set's tag, in every VG, including a half-made one */
	snprintf(tag, sizeof(tag), "@%s%s", LVM_TAG_SET, vssid_to_path(&s->id, hex));
	if (lvm_env_run(s->env, argv, s->env->command_timeout, &res, &e, "rollback") < 0)
		log_warning("cannot remove the LVM snapshots of a failed set (%s): %s", tag,
		            e.message);
	lvm_result_done(&res);
	for (size_t i = 0; i < s->n; i++) {
		s->m[i].made = false;
		free(s->m[i].lv_uuid);
		s->m[i].lv_uuid = NULL;
	}
}

int lvm_set_take(ProviderSet *s, const VssId *snap_id, ProviderSnap **ret)
{
	LvmMember *m = find(s, snap_id);
	LvmSnap *c;

	if (!m)
		return -ENOENT;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = (LvmSnap){ .id = m->id,
		        .set_id = s->id,
		        .sectors = m->sectors,
		        .cow_bytes = s->env->thin ? 0 : m->cow_bytes,
		        .persistent = s->persistent,
		        .thin = s->env->thin,
		        .set_count = (unsigned)s->n };
	c->volume_name = strdup(m->volume_name);
	c->vg = strdup(m->vg);
	c->lv = strdup(m->snap_lv);
	c->lv_uuid = strdup(strempty(m->lv_uuid));
	c->origin = strdup(m->origin);
	c->pool = m->pool ? strdup(m->pool) : NULL;
	if (!c->volume_name || !c->vg || !c->lv || !c->lv_uuid || !c->origin ||
	    (m->pool && !c->pool) || lvm_snap_make_store(c) < 0) {
		lvm_snap_free(c);
		return -ENOMEM;
	}
	*ret = (ProviderSnap *)c;
	return 0;
}

/* Where LVM's suspend cannot nest in a FIFREEZE, the set must not freeze these file systems:
 * each lvcreate's own lockfs suspend freezes its volume (one after another, not one instant;
 * DESIGN.md §4b) */
int lvm_set_mountpoints(ProviderSet *s, char ***ret)
{
	char **l = NULL;

	if (lvm_set_commit_frozen_ok(s))
		for (size_t i = 0; i < s->n; i++)
			if (s->m[i].mountpoint && !strv_contains(l, s->m[i].mountpoint) &&
			    strv_extend(&l, s->m[i].mountpoint) < 0) {
				strv_free(l);
				return -ENOMEM;
			}
	*ret = l;
	return 0;
}

size_t lvm_set_count(ProviderSet *s)
{
	return s->n;
}

const char *lvm_set_member_volume(ProviderSet *s, const VssId *snap_id)
{
	LvmMember *m = find(s, snap_id);

	return m ? m->volume_name : NULL;
}

bool lvm_set_committed(ProviderSet *s)
{
	return s->committed;
}

void lvm_set_hold_window(ProviderSet *s, usec_t *ret_start, usec_t *ret_end)
{
	*ret_start = s->t1;
	*ret_end = s->t2;
}
