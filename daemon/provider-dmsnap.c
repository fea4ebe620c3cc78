/* SPDX-License-Identifier: GPL-2.0-or-later */
/* provider-dmsnap.c - the dm-snapshot provider: the ops table over the dmsnap.c engine */
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "common/vssd-version.h"
#include "daemon/config.h"
#include "daemon/dmsnap-internal.h"
#include "daemon/hostops.h"
#include "daemon/provider-dmsnap.h"

#define NUMBER_MAX        ((uint64_t)INT64_MAX)
#define CHUNK_SECTORS_MIN 8    /* 4 KiB */
#define CHUNK_SECTORS_MAX 1024 /* 512 KiB */

struct ProviderSet {
	DmsnapSet *set;
};

static const DmsnapEnv *env_of(Provider *p)
{
	return p->env;
}

/* ---- registration ---------------------------------------------------------------------------- */

static int dmsnap_init(const ProviderHostEnv *h, void **ret_env)
{
	DmsnapEnv *env = calloc(1, sizeof(*env));

	if (!env)
		return -ENOMEM;
	*env = (DmsnapEnv){ .dm = h->dm,
		            .host = h->host,
		            .hold_timeout = h->config->hold_timeout,
		            .flush_timeout = h->config->flush_timeout,
		            .chunk_sectors = h->config->chunk_kib * 2,
		            .faults = h->faults };
	*ret_env = env;
	return 0;
}

static void dmsnap_done(void *env)
{
	free(env);
}

static uint64_t dmsnap_storage_unit_bytes(Provider *p)
{
	return env_of(p)->chunk_sectors ? (uint64_t)env_of(p)->chunk_sectors * 512 : 1;
}

/* ---- volumes --------------------------------------------------------------------------------- */

static int dmsnap_probe(Provider *p, const char *path, ProviderVolume *ret, VssErr *err)
{
	DmsnapVolume v = { 0 };
	int r;

	r = dmsnap_volume_resolve(env_of(p), path, &v, err);
	if (r < 0)
		return r;
	if (ret) {
		*ret = (ProviderVolume){ .name = TAKE_PTR(v.name),
			                 .dev_path = TAKE_PTR(v.dev_path),
			                 .devno = v.devno,
			                 .sectors = v.sectors,
			                 .mountpoint = TAKE_PTR(v.mountpoint) };
	}
	dmsnap_volume_done(&v);
	return 0;
}

static uint64_t dmsnap_storage_min_bytes(Provider *p)
{
	return DMSNAP_COW_MIN_BYTES;
}

/* ---- sets ------------------------------------------------------------------------------------ */

static int dmsnap_set_begin(Provider *p, const VssId *set_id, bool persistent, ProviderSet **ret)
{
	ProviderSet *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	r = dmsnap_set_new(env_of(p), set_id, persistent, &s->set);
	if (r < 0) {
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

static ProviderSet *dmsnap_pset_free(ProviderSet *s)
{
	if (!s)
		return NULL;
	dmsnap_set_free(s->set);
	free(s);
	return NULL;
}

static int dmsnap_pset_add(ProviderSet *s, const char *volume_path, const char *storage_dir,
                           uint64_t storage_bytes, const VssId *snap_id, VssErr *err)
{
	return dmsnap_set_add(s->set, volume_path, storage_dir, storage_bytes, snap_id, err);
}

static int dmsnap_pset_remove(ProviderSet *s, const VssId *snap_id)
{
	return dmsnap_set_remove(s->set, snap_id);
}

static int dmsnap_pset_prepare(ProviderSet *s, ProviderDoneFn done, void *userdata, VssErr *err)
{
	return dmsnap_set_prepare(s->set, err); /* synchronous: 0 or failure */
}

static int dmsnap_pset_commit(ProviderSet *s, bool fs_frozen, usec_t *ret_held, ProviderDoneFn done,
                              void *userdata, VssErr *err)
{
	/* dm-snapshot suspends every origin (skip_lockfs when frozen) before resuming any */
	return dmsnap_set_commit(s->set, fs_frozen, ret_held, err);
}

/* dm-snapshot suspends frozen file systems without lockfs: it nests in any freeze */
static bool dmsnap_pset_commit_frozen_ok(ProviderSet *s)
{
	return true;
}

static int dmsnap_pset_guard(ProviderSet *s, FreezeGroup *frozen, usec_t timeout, VssErr *err)
{
	return dmsnap_set_guard(s->set, frozen, timeout, err);
}

static void dmsnap_pset_rollback(ProviderSet *s)
{
	dmsnap_set_abort(s->set);
}

static int dmsnap_pset_take(ProviderSet *s, const VssId *snap_id, ProviderSnap **ret)
{
	return provider_dmsnap_take(s->set, snap_id, ret);
}

int provider_dmsnap_take(const DmsnapSet *set, const VssId *snap_id, ProviderSnap **ret)
{
	const DmsnapSnapshot *m = dmsnap_set_find(set, snap_id);
	DmsnapSnapshot *c;
	int r;

	if (!m)
		return -ENOENT;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	r = dmsnap_snapshot_copy(m, c);
	if (r < 0) {
		free(c);
		return r;
	}
	*ret = provider_dmsnap_wrap(c);
	return 0;
}

static int dmsnap_pset_mountpoints(ProviderSet *s, char ***ret)
{
	char **l = NULL;

	for (size_t i = 0; i < dmsnap_set_count(s->set); i++) {
		const DmsnapVolume *v = dmsnap_set_volume(s->set, i);

		if (v->mountpoint && !strv_contains(l, v->mountpoint) &&
		    strv_extend(&l, v->mountpoint) < 0) {
			strv_free(l);
			return -ENOMEM;
		}
	}
	*ret = l;
	return 0;
}

static size_t dmsnap_pset_count(ProviderSet *s)
{
	return dmsnap_set_count(s->set);
}

static const char *dmsnap_pset_member_volume(ProviderSet *s, const VssId *snap_id)
{
	const DmsnapSnapshot *m = dmsnap_set_find(s->set, snap_id);

	return m ? m->volume_name : NULL;
}

static bool dmsnap_pset_committed(ProviderSet *s)
{
	return dmsnap_set_is_committed(s->set);
}

static void dmsnap_pset_hold_window(ProviderSet *s, usec_t *ret_start, usec_t *ret_end)
{
	dmsnap_set_hold_window(s->set, ret_start, ret_end);
}

DmsnapSet *provider_dmsnap_set(ProviderSet *s)
{
	return s->set;
}

/* ---- snapshots ------------------------------------------------------------------------------- */

static void dmsnap_snap_free(ProviderSnap *ps)
{
	if (!ps)
		return;
	dmsnap_snapshot_done(provider_dmsnap_snap(ps));
	free(ps);
}

static void dmsnap_snap_base(const ProviderSnap *ps, ProviderSnapBase *ret)
{
	const DmsnapSnapshot *s = provider_dmsnap_snap_const(ps);

	*ret = (ProviderSnapBase){ .id = s->id,
		                   .set_id = s->set_id,
		                   .volume_name = s->volume_name,
		                   .sectors = s->sectors,
		                   .persistent = s->persistent,
		                   .creation_time = s->cow_ctime };
}

static const char *dmsnap_snap_label(const ProviderSnap *ps)
{
	return strempty(provider_dmsnap_snap_const(ps)->snap_name);
}

static const char *dmsnap_snap_storage_path(const ProviderSnap *ps)
{
	return provider_dmsnap_snap_const(ps)->cow_path;
}

static int dmsnap_snap_delete(Provider *p, ProviderSnap *ps, ProviderDoneFn done, void *userdata,
                              VssErr *err)
{
	return dmsnap_snapshot_delete(env_of(p), provider_dmsnap_snap(ps), err);
}

static int dmsnap_snap_usage(Provider *p, const ProviderSnap *ps, bool merging, ProviderUsage *ret)
{
	const DmsnapSnapshot *s = provider_dmsnap_snap_const(ps);
	const Host *h = env_of(p)->host;
	DmdevSnapshotStatus st;
	uint64_t a = 0;
	int r;

	/* what the COW file takes, even without a device (filled on failure too) */
	*ret = (ProviderUsage){ .total = s->cow_bytes, .merging = merging };
	if (s->cow_path && h->ops->file_allocated(h->userdata, s->cow_path, &a) >= 0)
		ret->allocated = a;
	if (!s->snap_name && !merging)
		return -ENODEV;
	/* while merging, the volume's snapshot-merge target holds the COW */
	r = dmdev_snapshot_status(env_of(p)->dm, merging ? s->volume_name : s->snap_name, &st);
	if (r < 0)
		return r;
	ret->used = st.used_sectors * 512;
	if (st.total_sectors)
		ret->total = st.total_sectors * 512;
	ret->invalid = st.invalid || st.overflow;
	return 0;
}

static int dmsnap_snap_grow(Provider *p, ProviderSnap *ps, uint64_t new_bytes)
{
	DmsnapSnapshot *s = provider_dmsnap_snap(ps);
	int r;

	new_bytes -= new_bytes % ((uint64_t)MAX(s->chunk_sectors, 1u) * 512); /* whole chunks */
	if (s->cow_bytes >= new_bytes)
		return 0;
	r = dmsnap_snapshot_grow(env_of(p), s, new_bytes);
	return r < 0 ? r : 1;
}

static uint64_t dmsnap_snap_storage_bytes(const ProviderSnap *ps)
{
	return provider_dmsnap_snap_const(ps)->cow_bytes;
}

static int dmsnap_snap_reactivate(Provider *p, ProviderSnap *ps, VssErr *err)
{
	const DmsnapSnapshot *s = provider_dmsnap_snap_const(ps);
	_cleanup_(dmsnap_set_freep) DmsnapSet *e = NULL;
	DmdevInfo info;
	int r;

	if (dmdev_info(env_of(p)->dm, s->snap_name, &info) >= 0 && info.exists)
		return 0;
	r = dmsnap_set_new(env_of(p), &s->set_id, true, &e);
	if (r >= 0)
		r = dmsnap_set_add_existing(e, s, err);
	if (r >= 0)
		r = dmsnap_set_prepare(e, err);
	if (r >= 0)
		r = dmsnap_set_commit(e, false, NULL, err);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot bring back %s from %s: %s", s->snap_name,
		                   strempty(s->cow_path), strerror(-r));
	return 1;
}

static int dmsnap_snap_device(Provider *p, const ProviderSnap *ps, char *buf, size_t size)
{
	const DmsnapSnapshot *s = provider_dmsnap_snap_const(ps);

	if (!s->snap_name) {
		if (size > 0)
			buf[0] = 0;
		return -ENODEV;
	}
	snprintf(buf, size, "/dev/mapper/%s", s->snap_name);
	return 0;
}

static bool dmsnap_snap_exists(Provider *p, const ProviderSnap *ps)
{
	const DmsnapSnapshot *s = provider_dmsnap_snap_const(ps);
	DmdevInfo info;

	return s->snap_name && dmdev_info(env_of(p)->dm, s->snap_name, &info) >= 0 && info.exists;
}

static int dmsnap_revert_check(Provider *p, const ProviderSnap *ps, const char *volume_path,
                               uint64_t *ret_total, VssErr *err)
{
	return dmsnap_merge_check(env_of(p), provider_dmsnap_snap_const(ps), volume_path, ret_total,
	                          err);
}

static int dmsnap_revert_start(Provider *p, ProviderSnap *ps, const char *volume_path,
                               int (*intent)(void *intent_userdata), void *intent_userdata,
                               ProviderDoneFn done, void *userdata, VssErr *err)
{
	return dmsnap_merge_start(env_of(p), provider_dmsnap_snap_const(ps), volume_path, intent,
	                          intent_userdata, err);
}

static ProviderMerge dmsnap_revert_poll(Provider *p, ProviderSnap *ps, uint64_t *ret_left)
{
	return dmsnap_merge_poll(env_of(p), provider_dmsnap_snap_const(ps), ret_left);
}

static int dmsnap_revert_finish(Provider *p, ProviderSnap *ps)
{
	return dmsnap_merge_finish(env_of(p), provider_dmsnap_snap_const(ps));
}

static int dmsnap_discover(Provider *p, ProviderSnap ***ret, size_t *ret_n)
{
	_cleanup_strv_free_ char **names = NULL;
	ProviderSnap **l = NULL;
	size_t n = 0;
	int r;

	r = dmdev_list_by_uuid_prefix(env_of(p)->dm, DMSNAP_UUID_SNAP, &names);
	if (r < 0)
		return r;
	for (char **i = names; *i; i++) {
		DmsnapSnapshot *s = calloc(1, sizeof(*s)), **x;
		struct stat st;

		if (!s)
			goto oom;
		if (dmsnap_snapshot_from_dm(env_of(p), *i, s) < 0) {
			free(s);
			continue;
		}
		/* dm knows neither: the COW file's size and change time stand in */
		if (s->cow_path && stat(s->cow_path, &st) >= 0) {
			s->cow_bytes = (uint64_t)st.st_size;
			s->cow_ctime = (usec_t)st.st_ctim.tv_sec * USEC_PER_SEC +
			               (usec_t)st.st_ctim.tv_nsec / NSEC_PER_USEC;
		}
		x = reallocarray(l, n + 1, sizeof(*l));
		if (!x) {
			dmsnap_snapshot_done(s);
			free(s);
			goto oom;
		}
		l = (ProviderSnap **)x;
		l[n++] = provider_dmsnap_wrap(s);
	}
	*ret = l;
	*ret_n = n;
	return 0;
oom:
	for (size_t i = 0; i < n; i++)
		dmsnap_snap_free(l[i]);
	free(l);
	return -ENOMEM;
}

static int dmsnap_snap_devno(Provider *p, const ProviderSnap *ps, dev_t *ret)
{
	const DmsnapSnapshot *s = provider_dmsnap_snap_const(ps);
	DmdevInfo info;
	int r;

	if (!s->snap_name)
		return -ENODEV;
	r = dmdev_info(env_of(p)->dm, s->snap_name, &info);
	if (r < 0)
		return r;
	if (!info.exists)
		return -ENODEV;
	*ret = makedev(info.major, info.minor);
	return 0;
}

static int dmsnap_recover(Provider *p)
{
	return dmsnap_recover_held(env_of(p));
}

/* ---- state: the provider's object in each snapshot record (state format 2) ------------------- */

static const char *const state_keys[] = { "snap_name", "cow_path", "cow_bytes", "chunk_sectors",
	                                  "cow_dev",   "cow_ino",  NULL };
static const char *const unique_keys[] = { "snap_name", "cow_path", NULL };

static bool quotable(const char *s)
{
	size_t n = strlen(s);

	if (n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static int get_string(json_object *o, const char *where, const char *key, size_t max,
                      const char **ret, char **ret_error)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v))
		return provider_state_fail(ret_error, where, key, "missing");
	if (!json_object_is_type(v, json_type_string))
		return provider_state_fail(ret_error, where, key, "expected a string, found %s",
		                           json_type_to_name(json_object_get_type(v)));
	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return provider_state_fail(ret_error, where, key, "contains a NUL character");
	if (strnlen(s, max + 1) > max)
		return provider_state_fail(ret_error, where, key, "longer than %zu bytes", max);
	if (!valid_text_or_empty(s, max))
		return provider_state_fail(ret_error, where, key, "contains a control character");
	*ret = s;
	return 0;
}

static int get_number(json_object *o, const char *where, const char *key, bool optional,
                      uint64_t min, uint64_t max, uint64_t *ret, char **ret_error)
{
	json_object *v;
	uint64_t u;

	if (!json_object_object_get_ex(o, key, &v)) {
		if (!optional)
			return provider_state_fail(ret_error, where, key, "missing");
		*ret = 0;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int))
		return provider_state_fail(ret_error, where, key, "expected an integer, found %s",
		                           json_type_to_name(json_object_get_type(v)));
	if (json_object_get_int64(v) < 0)
		return provider_state_fail(ret_error, where, key, "must not be negative");
	u = json_object_get_uint64(v);
	if (u > NUMBER_MAX)
		return provider_state_fail(ret_error, where, key,
		                           "out of range (at most %" PRIu64 ")", NUMBER_MAX);
	if (u < min || u > max)
		return provider_state_fail(ret_error, where, key,
		                           "%" PRIu64 " is out of range %" PRIu64 "..%" PRIu64, u,
		                           min, max);
	*ret = u;
	return 0;
}

/* Reads (and validates) the object into s's dm-snapshot fields; s's strings are borrowed. */
static int parse(json_object *o, const char *where, DmsnapSnapshot *s, char **ret_error)
{
	const char *snap_name, *cow_path;
	uint64_t chunk;
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
		if (!known && quotable(key))
			return provider_state_fail(ret_error, where, NULL, "unknown field \"%s\"",
			                           key);
		if (!known)
			return provider_state_fail(ret_error, where, NULL,
			                           "unknown field with an unprintable name");
	}
	if ((r = get_string(o, where, "snap_name", VSSD_DM_NAME_MAX, &snap_name, ret_error)) < 0)
		return r;
	if (!valid_dm_name(snap_name))
		return provider_state_fail(ret_error, where, "snap_name",
		                           "\"%s\" is not a valid device-mapper name", snap_name);
	if ((r = get_string(o, where, "cow_path", VSSD_PATH_MAX, &cow_path, ret_error)) < 0)
		return r;
	if (!valid_abs_path(cow_path))
		return provider_state_fail(ret_error, where, "cow_path",
		                           "\"%s\" is not a clean absolute path", cow_path);
	if ((r = get_number(o, where, "cow_bytes", false, 1, NUMBER_MAX, &s->cow_bytes,
	                    ret_error)) < 0 ||
	    (r = get_number(o, where, "chunk_sectors", false, CHUNK_SECTORS_MIN, CHUNK_SECTORS_MAX,
	                    &chunk, ret_error)) < 0 ||
	    (r = get_number(o, where, "cow_dev", true, 0, NUMBER_MAX, &s->cow_dev, ret_error)) <
	            0 ||
	    (r = get_number(o, where, "cow_ino", true, 0, NUMBER_MAX, &s->cow_ino, ret_error)) < 0)
		return r;
	if (chunk & (chunk - 1))
		return provider_state_fail(ret_error, where, "chunk_sectors",
		                           "%" PRIu64 " is not a power of two", chunk);
	s->chunk_sectors = (unsigned)chunk;
	s->snap_name = (char *)snap_name;
	s->cow_path = (char *)cow_path;
	return 0;
}

static int dmsnap_state_check(json_object *o, const char *where, char **ret_error)
{
	DmsnapSnapshot s = { 0 };

	return parse(o, where, &s, ret_error);
}

static int add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object *j = json_object_new_uint64(v);

	if (!j || json_object_object_add(o, key, j) < 0) {
		json_object_put(j);
		return -ENOMEM;
	}
	return 0;
}

static int add_string(json_object *o, const char *key, const char *v)
{
	json_object *j = json_object_new_string(v);

	if (!j || json_object_object_add(o, key, j) < 0) {
		json_object_put(j);
		return -ENOMEM;
	}
	return 0;
}

static int dmsnap_snap_export(const ProviderSnap *ps, json_object **ret)
{
	const DmsnapSnapshot *s = provider_dmsnap_snap_const(ps);
	json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	if (add_string(o, "snap_name", strempty(s->snap_name)) < 0 ||
	    add_string(o, "cow_path", strempty(s->cow_path)) < 0 ||
	    add_u64(o, "cow_bytes", s->cow_bytes) < 0 ||
	    add_u64(o, "chunk_sectors", s->chunk_sectors) < 0 ||
	    (s->cow_dev && add_u64(o, "cow_dev", s->cow_dev) < 0) ||
	    (s->cow_ino && add_u64(o, "cow_ino", s->cow_ino) < 0)) {
		json_object_put(o);
		return -ENOMEM;
	}
	*ret = o;
	return 0;
}

static int dmsnap_snap_import(Provider *p, const ProviderSnapBase *base, json_object *o,
                              const char *where, ProviderSnap **ret, char **ret_error)
{
	DmsnapSnapshot s = { 0 }, *c;
	int r;

	r = parse(o, where, &s, ret_error);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = s;
	c->id = base->id;
	c->set_id = base->set_id;
	c->sectors = base->sectors;
	c->persistent = base->persistent;
	c->volume_name = strdup(base->volume_name);
	c->snap_name = strdup(s.snap_name);
	c->cow_path = strdup(s.cow_path);
	if (!c->volume_name || !c->snap_name || !c->cow_path) {
		dmsnap_snapshot_done(c);
		free(c);
		return -ENOMEM;
	}
	*ret = provider_dmsnap_wrap(c);
	return 0;
}

const ProviderOps provider_dmsnap_ops = {
	.name = PROVIDER_DMSNAP_NAME,
	.id = PROVIDER_DMSNAP_ID,
	.version = VSSD_VERSION,
	.type = PROVIDER_TYPE_SYSTEM,
	.pick_rank = 100, /* last: it takes any device-mapper volume no other provider claims */
	.init = dmsnap_init,
	.done = dmsnap_done,
	.probe = dmsnap_probe,
	.storage_unit_bytes = dmsnap_storage_unit_bytes,
	.storage_min_bytes = dmsnap_storage_min_bytes,
	.set_begin = dmsnap_set_begin,
	.set_free = dmsnap_pset_free,
	.set_add = dmsnap_pset_add,
	.set_remove = dmsnap_pset_remove,
	.set_prepare = dmsnap_pset_prepare,
	.set_guard = dmsnap_pset_guard,
	.set_commit = dmsnap_pset_commit,
	.set_commit_frozen_ok = dmsnap_pset_commit_frozen_ok,
	.set_rollback = dmsnap_pset_rollback,
	.set_take = dmsnap_pset_take,
	.set_mountpoints = dmsnap_pset_mountpoints,
	.set_count = dmsnap_pset_count,
	.set_member_volume = dmsnap_pset_member_volume,
	.set_committed = dmsnap_pset_committed,
	.set_hold_window = dmsnap_pset_hold_window,
	.snap_free = dmsnap_snap_free,
	.snap_base = dmsnap_snap_base,
	.snap_label = dmsnap_snap_label,
	.snap_storage_path = dmsnap_snap_storage_path,
	.discover = dmsnap_discover,
	.snap_delete = dmsnap_snap_delete,
	.snap_usage = dmsnap_snap_usage,
	.snap_grow = dmsnap_snap_grow,
	.snap_storage_bytes = dmsnap_snap_storage_bytes,
	.snap_reactivate = dmsnap_snap_reactivate,
	.snap_device = dmsnap_snap_device,
	.snap_exists = dmsnap_snap_exists,
	.snap_devno = dmsnap_snap_devno,
	.revert_check = dmsnap_revert_check,
	.revert_start = dmsnap_revert_start,
	.revert_poll = dmsnap_revert_poll,
	.revert_finish = dmsnap_revert_finish,
	.recover = dmsnap_recover,
	.snap_export = dmsnap_snap_export,
	.snap_import = dmsnap_snap_import,
	.state_check = dmsnap_state_check,
	.unique_keys = unique_keys,
};
