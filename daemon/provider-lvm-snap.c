/* SPDX-License-Identifier: GPL-2.0-or-later */
/* provider-lvm-snap.c - LVM shadow copies: delete, usage, device, activation, discovery from
 * LVM's tags alone, recovery of half-made sets, the state object, and the two ops tables */
#include <inttypes.h>
#include <stdarg.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-version.h"
#include "daemon/provider-lvm-internal.h"

void lvm_snap_free(LvmSnap *s)
{
	if (!s)
		return;
	free(s->volume_name);
	free(s->vg);
	free(s->lv);
	free(s->lv_uuid);
	free(s->origin);
	free(s->pool);
	free(s->store);
	free(s);
}

int lvm_snap_make_store(LvmSnap *s)
{
	free(s->store);
	if (s->thin && s->pool)
		return asprintf(&s->store, "lvm-thin:%s/%s", s->vg, s->pool) < 0
		               ? (s->store = NULL, -ENOMEM)
		               : 0;
	return asprintf(&s->store, "lvm:%s", s->vg) < 0 ? (s->store = NULL, -ENOMEM) : 0;
}

static LvmSnap *snap_of(ProviderSnap *ps)
{
	return (LvmSnap *)ps;
}

static const LvmSnap *snap_const(const ProviderSnap *ps)
{
	return (const LvmSnap *)ps;
}

static void snap_free(ProviderSnap *ps)
{
	lvm_snap_free(snap_of(ps));
}

static void snap_base(const ProviderSnap *ps, ProviderSnapBase *ret)
{
	const LvmSnap *s = snap_const(ps);

	*ret = (ProviderSnapBase){ .id = s->id,
		                   .set_id = s->set_id,
		                   .volume_name = s->volume_name,
		                   .sectors = s->sectors,
		                   .persistent = s->persistent };
}

static const char *snap_label(const ProviderSnap *ps)
{
	return snap_const(ps)->lv;
}

static const char *snap_storage_path(const ProviderSnap *ps)
{
	return snap_const(ps)->store;
}

/* Its LV: by uuid once made, else by name and its snapshot tag (an intent record) */
static int find_lv(Provider *p, const LvmSnap *s, LvmLv *ret, VssErr *err)
{
	char hex[VSSID_PATH_MAX], tag[64];
	int r;

	r = lvm_env_find(lvm_env_of(p), s->vg, s->lv, s->lv_uuid, ret, err);
	if (r < 0)
		return r;
	snprintf(tag, sizeof(tag), "%s%s", LVM_TAG_SNAP, vssid_to_path(&s->id, hex));
	if (!lvm_lv_has_tag(ret, tag)) {
		lvm_lv_done(ret);
		return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
		                   "%s/%s is not the LVM volume of this shadow copy (no tag %s)",
		                   s->vg, s->lv, tag);
	}
	return 0;
}

static int snap_delete(Provider *p, ProviderSnap *ps, ProviderDoneFn done, void *userdata,
                       VssErr *err)
{
	const LvmSnap *s = snap_const(ps);
	char name[2 * LVM_NAME_MAX + 2];
	char *argv[] = { (char *)"lvremove", (char *)"-q", (char *)"-f", name, NULL };
	VssErr e = { 0 };
	LvmResult res;
	LvmLv lv;
	int r;

	r = find_lv(p, s, &lv, &e);
	if (r == -ENOENT)
		return 0; /* gone already */
	if (r < 0) {
		if (err)
			*err = e;
		return r;
	}
	snprintf(name, sizeof(name), "%s/%s", lv.vg, lv.name);
	lvm_lv_done(&lv);
	r = lvm_env_run(lvm_env_of(p), argv, lvm_env_of(p)->command_timeout, &res, err,
	                "cannot delete the shadow copy");
	lvm_result_done(&res);
	return r < 0 ? r : 0;
}

static int snap_usage(Provider *p, const ProviderSnap *ps, bool merging, ProviderUsage *ret)
{
	const LvmSnap *s = snap_const(ps);
	LvmLv lv;
	int r, pm;

	*ret = (ProviderUsage){ .total = s->cow_bytes, .merging = merging };
	r = find_lv(p, s, &lv, NULL);
	if (r < 0)
		return r;
	/* thick: its COW LV; thin: the blocks it maps (shared with its origin until written) */
	pm = s->thin ? lv.data_permille : lv.snap_permille;
	ret->total = lv.size;
	ret->used = pm > 0 ? lv.size / 1000 * (uint64_t)pm : 0;
	ret->allocated = s->thin ? ret->used : lv.size;
	ret->invalid = lvm_attr_state(&lv) == 'I';
	lvm_lv_done(&lv);
	return 0;
}

static int snap_grow(Provider *p, ProviderSnap *ps, uint64_t new_bytes)
{
	return 0; /* TODO (doc/HACKING.md): lvextend from the monitor */
}

static uint64_t snap_storage_bytes(const ProviderSnap *ps)
{
	return snap_const(ps)->cow_bytes;
}

static int activate(Provider *p, const LvmSnap *s, VssErr *err)
{
	char name[2 * LVM_NAME_MAX + 2];
	char *argv[] = {
		(char *)"lvchange", (char *)"-q", (char *)"-ay", (char *)"-K", name, NULL
	};
	LvmResult res;
	int r;

	snprintf(name, sizeof(name), "%s/%s", s->vg, s->lv);
	r = lvm_env_run(lvm_env_of(p), argv, lvm_env_of(p)->command_timeout, &res, err,
	                "cannot activate the shadow copy");
	lvm_result_done(&res);
	return r;
}

static int snap_reactivate(Provider *p, ProviderSnap *ps, VssErr *err)
{
	const LvmSnap *s = snap_const(ps);
	LvmLv lv;
	int r;

	r = find_lv(p, s, &lv, err);
	if (r < 0)
		return r;
	r = lv.major >= 0 ? 0 : 1;
	lvm_lv_done(&lv);
	if (r == 1 && activate(p, s, err) < 0)
		return -EIO;
	return r;
}

static int snap_device(Provider *p, const ProviderSnap *ps, char *buf, size_t size)
{
	const LvmSnap *s = snap_const(ps);
	char dm[256];

	if (lvm_dm_name(s->vg, s->lv, dm, sizeof(dm)) < 0) {
		if (size > 0)
			buf[0] = 0;
		return -ENODEV;
	}
	snprintf(buf, size, "/dev/mapper/%s", dm);
	return 0;
}

static bool snap_exists(Provider *p, const ProviderSnap *ps)
{
	LvmLv lv;

	if (find_lv(p, snap_const(ps), &lv, NULL) < 0)
		return false;
	lvm_lv_done(&lv);
	return true;
}

static int snap_devno(Provider *p, const ProviderSnap *ps, dev_t *ret)
{
	LvmLv lv;
	int r;

	r = find_lv(p, snap_const(ps), &lv, NULL);
	if (r < 0)
		return r;
	r = lv.major < 0 ? -ENODEV : 0;
	if (r >= 0)
		*ret = makedev((unsigned)lv.major, (unsigned)lv.minor);
	lvm_lv_done(&lv);
	return r;
}

/* TODO (doc/HACKING.md): revert with lvconvert --merge */
static int revert_check(Provider *p, const ProviderSnap *ps, const char *volume_path,
                        uint64_t *ret_total, VssErr *err)
{
	return vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -EOPNOTSUPP,
	                   "vssd cannot revert an LVM shadow copy yet; use 'lvconvert --merge "
	                   "%s/%s' with the volume unmounted",
	                   snap_const(ps)->vg, snap_const(ps)->lv);
}

static int revert_start(Provider *p, ProviderSnap *ps, const char *volume_path,
                        int (*intent)(void *intent_userdata), void *intent_userdata,
                        ProviderDoneFn done, void *userdata, VssErr *err)
{
	return revert_check(p, ps, volume_path, NULL, err);
}

static ProviderMerge revert_poll(Provider *p, ProviderSnap *ps, uint64_t *ret_left)
{
	return PROVIDER_MERGE_NOT_STARTED;
}

static int revert_finish(Provider *p, ProviderSnap *ps)
{
	return -EOPNOTSUPP;
}

/* ---- discovery: vssd's LVs from their tags alone --------------------------------------------- */

static bool ours(const LvmEnv *env, const LvmLv *lv)
{
	char t = lvm_attr_type(lv);

	if (!lvm_lv_has_tag(lv, LVM_TAG_VSSD) || !lv->origin[0])
		return false;
	return env->thin ? t == 'V' : (t == 's' || t == 'S');
}

/* An LV's snapshot from its tags; -EINVAL when a tag is missing or malformed */
static int from_lv(const LvmEnv *env, const LvmLv *lv, LvmSnap **ret)
{
	const char *set = lvm_lv_tag_value(lv, LVM_TAG_SET),
		   *snap = lvm_lv_tag_value(lv, LVM_TAG_SNAP);
	const char *count = lvm_lv_tag_value(lv, LVM_TAG_COUNT);
	char dm[256];
	uint64_t n;
	LvmSnap *s;

	if (!set || !snap || !count || parse_u64(count, &n) < 0 || n < 1 || n > 64 ||
	    lvm_dm_name(lv->vg, lv->origin, dm, sizeof(dm)) < 0)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (LvmSnap){ .thin = env->thin,
		        .persistent = lvm_lv_has_tag(lv, LVM_TAG_PERSISTENT),
		        .set_count = (unsigned)n,
		        .sectors = (env->thin ? lv->size : lv->origin_size) / 512,
		        .cow_bytes = env->thin ? 0 : lv->size };
	if (vssid_from_path(set, &s->set_id) < 0 || vssid_from_path(snap, &s->id) < 0) {
		free(s);
		return -EINVAL;
	}
	s->volume_name = strdup(dm);
	s->vg = strdup(lv->vg);
	s->lv = strdup(lv->name);
	s->lv_uuid = strdup(lv->uuid);
	s->origin = strdup(lv->origin);
	s->pool = lv->pool[0] ? strdup(lv->pool) : NULL;
	if (!s->volume_name || !s->vg || !s->lv || !s->lv_uuid || !s->origin ||
	    (lv->pool[0] && !s->pool) || lvm_snap_make_store(s) < 0) {
		lvm_snap_free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

/* Every vssd LV of this provider; complete: only sets whose every member is there */
static int list_ours(Provider *p, bool complete, ProviderSnap ***ret, size_t *ret_n)
{
	LvmEnv *env = lvm_env_of(p);
	LvmLv *l = NULL;
	size_t n = 0, k = 0;
	ProviderSnap **out;
	int r;

	r = lvm_env_lvs(env, NULL, &l, &n, NULL);
	if (r < 0)
		return r;
	out = calloc(n + 1, sizeof(*out));
	if (!out) {
		lvm_lvs_free(l, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		LvmSnap *s = NULL;
		unsigned have = 0;

		if (!ours(env, &l[i]) || from_lv(env, &l[i], &s) < 0)
			continue;
		for (size_t j = 0; j < n; j++) /* the set's members in either provider */
			if (lvm_lv_has_tag(&l[j], LVM_TAG_VSSD) &&
			    streq_ptr(lvm_lv_tag_value(&l[j], LVM_TAG_SET),
			              lvm_lv_tag_value(&l[i], LVM_TAG_SET)))
				have++;
		if ((have >= s->set_count) != complete) {
			lvm_snap_free(s);
			continue;
		}
		out[k++] = (ProviderSnap *)s;
	}
	lvm_lvs_free(l, n);
	*ret = out;
	*ret_n = k;
	return 0;
}

static int discover(Provider *p, ProviderSnap ***ret, size_t *ret_n)
{
	return list_ours(p, true, ret, ret_n);
}

/* Tagged LVs of a set that never completed (vssd killed mid-creation) are removed */
static int recover(Provider *p)
{
	ProviderSnap **l = NULL;
	size_t n = 0;
	int r, undone = 0;

	r = list_ours(p, false, &l, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		VssErr e = { 0 };

		if (snap_delete(p, l[i], NULL, NULL, &e) < 0)
			log_error("recovery: cannot remove %s/%s of an unfinished set: %s",
			          snap_of(l[i])->vg, snap_of(l[i])->lv, e.message);
		else {
			log_notice("recovery: removed %s/%s of an unfinished set",
			           snap_of(l[i])->vg, snap_of(l[i])->lv);
			undone++;
		}
		snap_free(l[i]);
	}
	free(l);
	return undone;
}

/* ---- state: the provider's object in each snapshot record ------------------------------------ */

static const char *const state_keys[] = {
	"vg", "lv", "lv_uuid", "origin", "pool", "cow_bytes", NULL
};
static const char *const unique_keys[] = { "lv_uuid", NULL };

static int get_name(json_object *o, const char *where, const char *key, bool optional, bool uuid,
                    const char **ret, char **ret_error)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v)) {
		if (optional) {
			*ret = NULL;
			return 0;
		}
		return provider_state_fail(ret_error, where, key, "missing");
	}
	if (!json_object_is_type(v, json_type_string))
		return provider_state_fail(ret_error, where, key, "expected a string, found %s",
		                           json_type_to_name(json_object_get_type(v)));
	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return provider_state_fail(ret_error, where, key, "contains a NUL character");
	if (uuid) {
		/* LVM's 32 characters in 6-4-4-4-4-4-6 groups; "" before it was made */
		if (strlen(s) > 38 ||
		    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") !=
		            strlen(s))
			return provider_state_fail(ret_error, where, key, "is not an LVM uuid");
	} else if (!lvm_valid_name(s))
		return provider_state_fail(
			ret_error, where, key,
			"is not a valid LVM name (1..127 of A-Z a-z 0-9 + _ . -)");
	*ret = s;
	return 0;
}

typedef struct Parsed {
	const char *vg, *lv, *lv_uuid, *origin, *pool;
	uint64_t cow_bytes;
} Parsed;

static int parse(json_object *o, const char *where, bool thin, Parsed *x, char **ret_error)
{
	json_object *v;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return provider_state_fail(ret_error, where, NULL, "expected an object, found %s",
		                           json_type_to_name(json_object_get_type(o)));
	json_object_object_foreach(o, key, value)
	{
		bool known = false;

		(void)value;
		for (size_t k = 0; state_keys[k] && !known; k++)
			known = streq(state_keys[k], key);
		if (!known)
			return provider_state_fail(ret_error, where, NULL,
			                           "unknown field \"%.64s\"",
			                           valid_text(key, 64) ? key : "(unprintable)");
	}
	if ((r = get_name(o, where, "vg", false, false, &x->vg, ret_error)) < 0 ||
	    (r = get_name(o, where, "lv", false, false, &x->lv, ret_error)) < 0 ||
	    /* absent before the LV is made: an intent record (unique where present) */
	    (r = get_name(o, where, "lv_uuid", true, true, &x->lv_uuid, ret_error)) < 0 ||
	    (r = get_name(o, where, "origin", false, false, &x->origin, ret_error)) < 0 ||
	    (r = get_name(o, where, "pool", !thin, false, &x->pool, ret_error)) < 0)
		return r;
	if (!x->lv_uuid)
		x->lv_uuid = "";
	if (!thin && x->pool)
		return provider_state_fail(ret_error, where, "pool",
		                           "a thick LVM snapshot has no pool");
	if (streq(x->lv, x->origin))
		return provider_state_fail(ret_error, where, "lv", "is its own origin");
	x->cow_bytes = 0;
	if (json_object_object_get_ex(o, "cow_bytes", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
			return provider_state_fail(ret_error, where, "cow_bytes",
			                           "expected a whole number");
		x->cow_bytes = (uint64_t)json_object_get_int64(v);
	}
	return 0;
}

static int state_check_thick(json_object *o, const char *where, char **ret_error)
{
	Parsed x;

	return parse(o, where, false, &x, ret_error);
}

static int state_check_thin(json_object *o, const char *where, char **ret_error)
{
	Parsed x;

	return parse(o, where, true, &x, ret_error);
}

static int add(json_object *o, const char *key, json_object *j)
{
	if (!j || json_object_object_add(o, key, j) < 0) {
		json_object_put(j);
		return -ENOMEM;
	}
	return 0;
}

static int snap_export(const ProviderSnap *ps, json_object **ret)
{
	const LvmSnap *s = snap_const(ps);
	json_object *o = json_object_new_object();

	if (!o || add(o, "vg", json_object_new_string(s->vg)) < 0 ||
	    add(o, "lv", json_object_new_string(s->lv)) < 0 ||
	    (s->lv_uuid && s->lv_uuid[0] &&
	     add(o, "lv_uuid", json_object_new_string(s->lv_uuid)) < 0) ||
	    add(o, "origin", json_object_new_string(s->origin)) < 0 ||
	    (s->pool && add(o, "pool", json_object_new_string(s->pool)) < 0) ||
	    add(o, "cow_bytes", json_object_new_int64((int64_t)s->cow_bytes)) < 0) {
		json_object_put(o);
		return -ENOMEM;
	}
	*ret = o;
	return 0;
}

static int snap_import(Provider *p, const ProviderSnapBase *base, json_object *o, const char *where,
                       ProviderSnap **ret, char **ret_error)
{
	bool thin = lvm_env_of(p)->thin;
	LvmSnap *s;
	Parsed x;
	int r;

	r = parse(o, where, thin, &x, ret_error);
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (LvmSnap){ .id = base->id,
		        .set_id = base->set_id,
		        .sectors = base->sectors,
		        .persistent = base->persistent,
		        .thin = thin,
		        .cow_bytes = x.cow_bytes };
	s->volume_name = strdup(base->volume_name);
	s->vg = strdup(x.vg);
	s->lv = strdup(x.lv);
	s->lv_uuid = strdup(x.lv_uuid);
	s->origin = strdup(x.origin);
	s->pool = x.pool ? strdup(x.pool) : NULL;
	if (!s->volume_name || !s->vg || !s->lv || !s->lv_uuid || !s->origin ||
	    (x.pool && !s->pool) || lvm_snap_make_store(s) < 0) {
		lvm_snap_free(s);
		return -ENOMEM;
	}
	*ret = (ProviderSnap *)s;
	return 0;
}

#define LVM_OPS_COMMON                                                                            \
	.version = VSSD_VERSION, .type = PROVIDER_TYPE_SOFTWARE, .done = lvm_done,                \
	.probe = lvm_probe, .storage_min_bytes = lvm_storage_min_bytes,                           \
	.storage_unit_bytes = lvm_storage_unit_bytes, .set_begin = lvm_set_begin,                 \
	.set_free = lvm_set_free, .set_add = lvm_set_add, .set_remove = lvm_set_remove,           \
	.set_prepare = lvm_set_prepare, .set_guard = lvm_set_guard, .set_commit = lvm_set_commit, \
	.set_commit_frozen_ok = lvm_set_commit_frozen_ok, .set_rollback = lvm_set_rollback,       \
	.set_take = lvm_set_take, .set_mountpoints = lvm_set_mountpoints,                         \
	.set_count = lvm_set_count, .set_member_volume = lvm_set_member_volume,                   \
	.set_committed = lvm_set_committed, .set_hold_window = lvm_set_hold_window,               \
	.snap_free = snap_free, .snap_base = snap_base, .snap_label = snap_label,                 \
	.snap_storage_path = snap_storage_path, .snap_delete = snap_delete,                       \
	.snap_usage = snap_usage, .snap_grow = snap_grow,                                         \
	.snap_storage_bytes = snap_storage_bytes, .snap_reactivate = snap_reactivate,             \
	.snap_device = snap_device, .snap_exists = snap_exists, .snap_devno = snap_devno,         \
	.revert_check = revert_check, .revert_start = revert_start, .revert_poll = revert_poll,   \
	.revert_finish = revert_finish, .recover = recover, .discover = discover,                 \
	.snap_export = snap_export, .snap_import = snap_import, .unique_keys = unique_keys

const ProviderOps provider_lvm_ops = {
	.name = PROVIDER_LVM_NAME,
	.id = PROVIDER_LVM_ID,
	.pick_rank = 20,
	.init = lvm_init,
	.state_check = state_check_thick,
	LVM_OPS_COMMON,
};

const ProviderOps provider_lvm_thin_ops = {
	.name = PROVIDER_LVM_THIN_NAME,
	.id = PROVIDER_LVM_THIN_ID,
	.pick_rank = 10,
	.init = lvm_thin_init,
	.state_check = state_check_thin,
	LVM_OPS_COMMON,
};
