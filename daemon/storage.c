/* SPDX-License-Identifier: GPL-2.0-or-later */
/* storage.c - shadow storage: where a volume's COW files live and how much they may take */
#include <inttypes.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/daemon.h"
#include "daemon/dmdev.h"
#include "daemon/dmsnap.h"
#include "daemon/hostops.h"
#include "daemon/monitor.h"
#include "daemon/safedir.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "daemon/storage.h"

StorageAssoc *storage_find(Daemon *d, const char *volume_name)
{
	for (size_t i = 0; i < d->n_storage; i++)
		if (streq(d->storage[i].volume_name, volume_name))
			return &d->storage[i];
	return NULL;
}

static void assoc_done(StorageAssoc *a)
{
	free(a->volume_name);
	free(a->location);
	*a = (StorageAssoc){ 0 };
}

void storage_done(Daemon *d)
{
	for (size_t i = 0; i < d->n_storage; i++)
		assoc_done(&d->storage[i]);
	free(d->storage);
	d->storage = NULL;
	d->n_storage = 0;
}

static int assoc_add(Daemon *d, const char *volume_name, const char *location, uint64_t max)
{
	StorageAssoc *n = reallocarray(d->storage, d->n_storage + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	d->storage = n;
	n[d->n_storage] = (StorageAssoc){ .volume_name = strdup(volume_name),
		                          .location = strdup(location),
		                          .max_bytes = max };
	if (!n[d->n_storage].volume_name || !n[d->n_storage].location) {
		assoc_done(&n[d->n_storage]);
		return -ENOMEM;
	}
	d->n_storage++;
	return 0;
}

int storage_restore(Daemon *d, const char *volume, const char *location, uint64_t max_bytes)
{
	const char *name = startswith(volume, "/dev/mapper/");

	if (!name || !valid_dm_name(name))
		return -EINVAL;
	return assoc_add(d, name, location, max_bytes);
}

/* The volume's size now, from its table (an origin with snapshots keeps its length) */
static uint64_t volume_bytes(Daemon *d, const char *volume_name)
{
	DmdevTable t = DMDEV_TABLE_NULL;
	uint64_t sectors = 0;

	if (dmdev_get_table(d->dm, volume_name, false, &t) >= 0)
		sectors = dmdev_table_sectors(&t);
	dmdev_table_done(&t);
	return sectors * 512;
}

static uint64_t effective_max(Daemon *d, const StorageAssoc *a, uint64_t volume_size)
{
	uint64_t pct;

	if (a && a->max_bytes)
		return a->max_bytes;
	pct = volume_size / 100 * d->config.storage_default_percent;
	return MAX(pct, d->config.storage_min_bytes);
}

int storage_usage(Daemon *d, const char *volume_name, StorageUsage *ret)
{
	_cleanup_free_ Snapshot **l = NULL;
	StorageUsage u = { 0 };
	size_t n = 0;
	int r;

	r = daemon_volume_snapshots(d, volume_name, &l, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		Snapshot *s = l[i];
		ProviderUsage pu = { 0 };
		int q;

		if (!s->ps)
			continue;
		q = s->provider->ops->snap_usage(s->provider, s->ps, false, &pu);
		u.allocated += pu.allocated;
		if (q >= 0 && s->state == SNAPSHOT_STATE_CREATED)
			u.used += pu.used;
	}
	u.n_snapshots = (unsigned)n;
	u.max = effective_max(d, storage_find(d, volume_name), volume_bytes(d, volume_name));
	*ret = u;
	return 0;
}

int storage_plan(Daemon *d, Provider *p, const ProviderVolume *v, const char **ret_dir,
                 uint64_t *ret_cow_bytes, VssErr *err)
{
	uint64_t min = p->ops->storage_min_bytes(p);
	StorageAssoc *a = storage_find(d, v->name);
	StorageUsage u;
	char s1[32], s2[32];
	uint64_t cow;
	int r;

	r = storage_usage(d, v->name, &u);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot read the storage use of %s: %s", v->dev_path,
		                   strerror(-r));
	/* Sparse at the maximum, in whole chunks: nothing to grow while writes come in, and the
	 * file takes only what dm writes into it. */
	cow = u.max - u.max % p->ops->storage_unit_bytes(p);
	if (u.used >= u.max || u.max - u.used < min || cow < min)
		return vss_err_set(err, VSS_ERROR_INSUFFICIENT_STORAGE, -ENOSPC,
		                   "the shadow storage of %s is used up (%s of %s used by %u "
		                   "shadow copies); delete old shadow copies or resize the storage",
		                   v->dev_path, format_size(u.used, s1, sizeof(s1)),
		                   format_size(u.max, s2, sizeof(s2)), u.n_snapshots);
	*ret_dir = a ? a->location : d->config.storage_dir;
	*ret_cow_bytes = cow;
	return 0;
}

/* ---- administration ------------------------------------------------------------------------- */

static int resolve(Daemon *d, const char *volume, ProviderVolume *v, VssErr *err)
{
	return provider_pick(&d->providers, "", volume, NULL, v, err);
}

/* The location is opened component by component (safedir): every component root's and not
 * writable by others, no symlink, so that root never writes COW files where a caller could
 * redirect them; the same check runs again at each use (hostops.c opens COW files through it). */
static int check_location(Daemon *d, const ProviderVolume *v, const char *location, VssErr *err)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *bad = NULL;
	struct stat st;
	dev_t blk;
	int r;

	if (!valid_abs_path(location))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "storage location \"%.64s\" is not an absolute path", location);
	r = d->host->ops->dir_open(d->host->userdata, location, &fd, &st, &bad);
	if (r == -ENOTDIR && streq_ptr(bad, location) &&
	    d->host->ops->stat_block(d->host->userdata, location, &blk) >= 0)
		return vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -ENOTDIR,
		                   "%s is a block device: shadow storage goes in a directory; make "
		                   "a file system on the device, mount it and give the mount point",
		                   location);
	if (r < 0)
		return safedir_refusal(err, "storage location", location, bad, r);
	if (st.st_dev == v->devno)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -ELOOP,
		                   "storage location %s lies on %s itself; copy-on-write data "
		                   "cannot live on the volume it protects",
		                   location, v->dev_path);
	return 0;
}

/* The largest maximum a volume may get: its own size (a volume smaller than the configured
 * minimum may still get that minimum, which its default is anyway), and never more than the
 * state file can hold. */
static uint64_t max_limit(Daemon *d, const ProviderVolume *v)
{
	uint64_t limit = v->sectors > VSSD_STORAGE_BYTES_MAX / 512 ? VSSD_STORAGE_BYTES_MAX
	                                                           : v->sectors * 512;

	return MIN(MAX(limit, d->config.storage_min_bytes), VSSD_STORAGE_BYTES_MAX);
}

static int check_max(Daemon *d, const ProviderVolume *v, uint64_t max_bytes, VssErr *err)
{
	uint64_t limit = max_limit(d, v);
	char s1[32], s2[32];

	if (max_bytes != 0 && max_bytes < d->config.storage_min_bytes)
		return vss_err_set(err, VSS_ERROR_INSUFFICIENT_STORAGE, -ENOSPC,
		                   "a maximum of %s is below the minimum shadow storage of %s",
		                   format_size(max_bytes, s1, sizeof(s1)),
		                   format_size(d->config.storage_min_bytes, s2, sizeof(s2)));
	if (max_bytes > limit)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -ERANGE,
		                   "a maximum of %" PRIu64 " bytes is larger than %s (%s): give at "
		                   "most %" PRIu64 " bytes, or 0 for the default",
		                   max_bytes, v->dev_path, format_size(limit, s1, sizeof(s1)),
		                   limit);
	return 0;
}

/* The change in memory is made: write it down, or say why it was undone (the caller undoes) */
static int save_or_refuse(Daemon *d, const ProviderVolume *v, const char *what, VssErr *err)
{
	int r = daemon_save_state(d);

	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot write the state file %s (%s), so %s of %s was not made; "
		                   "vssd's log names the cause",
		                   d->state_path, strerror(-r), what, v->dev_path);
	return 0;
}

int storage_add(Daemon *d, const char *volume, const char *location, uint64_t max_bytes,
                VssErr *err)
{
	ProviderVolume v = { 0 };
	int r;

	r = resolve(d, volume, &v, err);
	if (r < 0)
		return r;
	if (storage_find(d, v.name))
		r = vss_err_set(err, VSS_ERROR_OBJECT_ALREADY_EXISTS, -EEXIST,
		                "%s has shadow storage already (%s); use ResizeStorage or "
		                "DeleteStorage",
		                v.dev_path, storage_find(d, v.name)->location);
	if (r >= 0)
		r = check_location(d, &v, location, err);
	if (r >= 0)
		r = check_max(d, &v, max_bytes, err);
	if (r >= 0)
		r = assoc_add(d, v.name, location, max_bytes);
	if (r >= 0) {
		r = save_or_refuse(d, &v, "the storage association", err);
		if (r < 0)
			assoc_done(&d->storage[--d->n_storage]); /* the one assoc_add() appended */
	}
	if (r >= 0)
		log_vol_notice(v.dev_path, "shadow storage on %s, maximum %" PRIu64 " bytes%s",
		               location, max_bytes, max_bytes ? "" : " (default)");
	provider_volume_done(&v);
	return r;
}

/* Deletes the volume's oldest snapshots until what they hold fits in max. */
static int shrink_to(Daemon *d, const char *volume_name, uint64_t max, VssErr *err)
{
	for (;;) {
		_cleanup_free_ Snapshot **l = NULL;
		StorageUsage u;
		size_t n = 0;
		int r;

		r = storage_usage(d, volume_name, &u);
		if (r < 0)
			return r;
		if (u.used <= max)
			return 0;
		r = daemon_volume_snapshots(d, volume_name, &l, &n);
		if (r < 0 || n == 0)
			return r;
		log_snap_notice(l[0]->id_str, l[0]->volume, "deleted to fit the resized storage");
		r = snapset_delete_snapshot(l[0]->set, l[0], "storage-resized", err);
		if (r < 0)
			return r;
	}
}

int storage_resize(Daemon *d, const char *volume, uint64_t max_bytes, VssErr *err)
{
	ProviderVolume v = { 0 };
	StorageAssoc *a;
	uint64_t old_max = 0;
	bool added = false;
	StorageUsage u;
	int r;

	r = resolve(d, volume, &v, err);
	if (r < 0)
		return r;
	r = check_max(d, &v, max_bytes, err);
	if (r >= 0) {
		a = storage_find(d, v.name);
		if (!a) {
			r = assoc_add(d, v.name, d->config.storage_dir, max_bytes);
			added = r >= 0;
		} else {
			old_max = a->max_bytes;
			a->max_bytes = max_bytes;
		}
	}
	/* the new maximum is on disk before any shadow copy is deleted for it */
	if (r >= 0) {
		r = save_or_refuse(d, &v, "the resize", err);
		if (r < 0 && added)
			assoc_done(&d->storage[--d->n_storage]);
		else if (r < 0)
			storage_find(d, v.name)->max_bytes = old_max;
	}
	/* like VSS: a smaller maximum may make old shadow copies disappear */
	if (r >= 0)
		r = storage_usage(d, v.name, &u);
	if (r >= 0) {
		log_vol_notice(v.dev_path, "shadow storage maximum now %" PRIu64 " bytes", u.max);
		r = shrink_to(d, v.name, u.max, err);
	}
	/* a larger maximum: the stores grow to it now, not when a burst comes */
	if (r >= 0 && d->monitor)
		monitor_check(d->monitor);
	provider_volume_done(&v);
	return r;
}

int storage_delete(Daemon *d, const char *volume, bool delete_snapshots, VssErr *err)
{
	_cleanup_free_ Snapshot **l = NULL;
	ProviderVolume v = { 0 };
	StorageAssoc *a;
	size_t n = 0;
	int r;

	r = resolve(d, volume, &v, err);
	if (r < 0)
		return r;
	a = storage_find(d, v.name);
	if (!a) {
		r = vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
		                "%s has no shadow storage association", v.dev_path);
		goto out;
	}
	r = daemon_volume_snapshots(d, v.name, &l, &n);
	if (r >= 0 && n > 0 && !delete_snapshots) {
		r = vss_err_set(
			err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
			"the shadow storage of %s still holds %zu shadow copies; delete them "
			"first or pass delete-snapshots",
			v.dev_path, n);
		goto out;
	}
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = snapset_delete_snapshot(l[i]->set, l[i], "storage-deleted", err);
	if (r < 0)
		goto out;
	a = storage_find(d, v.name); /* the array did not move, but be exact */
	if (a) {
		size_t idx = (size_t)(a - d->storage);
		StorageAssoc gone = *a;

		memmove(d->storage + idx, d->storage + idx + 1,
		        (d->n_storage - idx - 1) * sizeof(*d->storage));
		d->n_storage--;
		r = save_or_refuse(d, &v, "the deletion of the storage association", err);
		if (r < 0) { /* back in its place: the array still has room for it */
			memmove(d->storage + idx + 1, d->storage + idx,
			        (d->n_storage - idx) * sizeof(*d->storage));
			d->storage[idx] = gone;
			d->n_storage++;
			goto out;
		}
		assoc_done(&gone);
	}
	log_vol_notice(v.dev_path, "shadow storage association deleted");
out:
	provider_volume_done(&v);
	return r;
}
