/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dmsnap-volume.c - the dm-snapshot provider's volumes and snapshots: resolve, delete, grow, read
 * back from dm; the start-up recovery of held devices */
#include <inttypes.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/dmsnap-internal.h"
#include "daemon/fault.h"
#include "daemon/freeze.h"
#include "daemon/hostops.h"

/* ---- volumes --------------------------------------------------------------------------------- */

void dmsnap_volume_done(DmsnapVolume *v)
{
	if (!v)
		return;
	free(v->name);
	free(v->dev_path);
	free(v->mountpoint);
	*v = (DmsnapVolume){ 0 };
}

int dmsnap_real_name_of(const char *volume_name, char buf[static 128])
{
	int n = snprintf(buf, 128, "%s%s", volume_name, DMSNAP_REAL_SUFFIX);

	return n < 0 || n >= 128 ? -ENAMETOOLONG : 0;
}

static int parse_devno(const char *s, dev_t *ret)
{
	unsigned ma, mi;
	int n = 0;

	if (sscanf(s, "%u:%u%n", &ma, &mi, &n) != 2 || n <= 0)
		return -EINVAL;
	*ret = makedev(ma, mi);
	return n;
}

int dmsnap_read_snap_table(const DmsnapEnv *env, const char *snap_name, SnapTable *ret)
{
	DmdevTable t = DMDEV_TABLE_NULL;
	SnapTable x = { 0 };
	const char *p;
	char mode = 0;
	int n, r;

	r = dmdev_get_table(env->dm, snap_name, false, &t);
	if (r < 0)
		return r;
	r = -EMEDIUMTYPE;
	if (t.n != 1 || !streq(t.targets[0].type, "snapshot"))
		goto out;
	x.sectors = t.targets[0].length;
	p = t.targets[0].params;
	r = -EINVAL;
	n = parse_devno(p, &x.real);
	if (n <= 0)
		goto out;
	p += n;
	while (*p == ' ')
		p++;
	n = parse_devno(p, &x.cow);
	if (n <= 0 || sscanf(p + n, " %c %u", &mode, &x.chunk) != 2)
		goto out;
	x.persistent = mode == 'P' || mode == 'p';
	*ret = x;
	r = 0;
out:
	dmdev_table_done(&t);
	return r;
}

/* "<real maj:min>" of a snapshot-origin table, or of the first field of a snapshot table */
int dmsnap_table_first_devno(const DmdevTable *t, const char *type, dev_t *ret)
{
	if (t->n != 1 || !streq(t->targets[0].type, type))
		return -EMEDIUMTYPE;
	return parse_devno(t->targets[0].params, ret) < 0 ? -EINVAL : 0;
}

/* The refusal of a volume that is being reverted (its table is snapshot-merge) */
int dmsnap_refuse_merging(const char *path, VssErr *err)
{
	return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
	                   "%s is being reverted to a shadow copy; wait until the revert is done "
	                   "(vssctl query reverts)",
	                   path);
}

/* A volume's own table: only linear and striped targets can be snapshotted. what names the
 * volume in the error. */
int dmsnap_check_plain_targets(const DmdevTable *t, const char *what, VssErr *err)
{
	for (size_t i = 0; i < t->n; i++)
		if (!streq(t->targets[i].type, "linear") && !streq(t->targets[i].type, "striped"))
			return vss_err_set(
				err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -EOPNOTSUPP,
				"%s uses the '%s' target; only linear and striped volumes "
				"can be snapshotted",
				what, t->targets[i].type);
	return 0;
}

int dmsnap_volume_resolve(const DmsnapEnv *env, const char *path, DmsnapVolume *ret, VssErr *err)
{
	_cleanup_strv_free_ char **mounts = NULL;
	DmdevTable t = DMDEV_TABLE_NULL;
	DmsnapVolume v = { 0 };
	DmdevInfo info, rinfo;
	char real[128];
	dev_t devno;
	int r;

	if (!valid_abs_path(path))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "volume \"%s\" is not an absolute device path", path);
	r = env->host->ops->stat_block(env->host->userdata, path, &devno);
	if (r == -ENOENT)
		return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, r, "volume %s does not exist",
		                   path);
	if (r == -ENOTBLK)
		return vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, r,
		                   "%s is not a block device", path);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, r, "cannot look at %s: %s",
		                   path, strerror(-r));
	if (!dmdev_is_dm_major(env->dm, major(devno)))
		return vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -EOPNOTSUPP,
		                   "%s is not a device-mapper device; wrap it first with "
		                   "'vssctl add volume' so that it can be snapshotted",
		                   path);
	r = dmdev_info_devno(env->dm, devno, &info);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot query device-mapper for %s: %s", path, strerror(-r));
	if (!info.exists)
		return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -ENODEV,
		                   "device-mapper has no device %u:%u (%s)", major(devno),
		                   minor(devno), path);
	if (startswith(info.uuid, "LVM-"))
		return vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -EMEDIUMTYPE,
		                   "%s (%s) is an LVM logical volume: providers lvm and lvm-thin "
		                   "take LVM volumes",
		                   path, info.name);
	if (startswith(info.uuid, DMSNAP_UUID_SNAP) || startswith(info.uuid, DMSNAP_UUID_REAL))
		return vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -EOPNOTSUPP,
		                   "%s (%s) is a device vssd made for a shadow copy, not a volume",
		                   path, info.name);
	if (dmsnap_real_name_of(info.name, real) < 0)
		return vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -ENAMETOOLONG,
		                   "the device-mapper name of %s is too long (at most %zu bytes)",
		                   path, (size_t)127 - strlen(DMSNAP_REAL_SUFFIX));

	r = dmdev_get_table(env->dm, info.name, false, &t);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot read the table of %s: %s", info.name, strerror(-r));
	if (t.n == 0) {
		r = vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -EOPNOTSUPP,
		                "%s (%s) has no active table", path, info.name);
		goto fail_table;
	}
	/* Only a snapshot-origin or snapshot-merge table can belong to a converted volume: a
	 * linear one needs no look for <name>-vssd-real (a stale one makes the create fail). */
	rinfo.exists = false;
	if (t.n == 1 && (streq(t.targets[0].type, "snapshot-origin") ||
	                 streq(t.targets[0].type, "snapshot-merge"))) {
		r = dmdev_info(env->dm, real, &rinfo);
		if (r < 0)
			goto fail_table;
	}
	if (rinfo.exists) {
		dev_t rd;

		if (t.n == 1 && streq(t.targets[0].type, "snapshot-merge")) {
			r = dmsnap_refuse_merging(path, err);
			goto fail_table;
		}
		if (dmsnap_table_first_devno(&t, "snapshot-origin", &rd) < 0 ||
		    rd != makedev(rinfo.major, rinfo.minor)) {
			r = vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -EOPNOTSUPP,
			                "%s (%s) has a %s device but its table is not the expected "
			                "snapshot-origin; fix it by hand before using vssd on it",
			                path, info.name, real);
			goto fail_table;
		}
		v.converted = true;
		v.real_devno = rd;
	} else {
		char what[VSSD_PATH_MAX + 140];

		snprintf(what, sizeof(what), "%s (%s)", path, info.name);
		r = dmsnap_check_plain_targets(&t, what, err);
		if (r < 0)
			goto fail_table;
	}
	v.sectors = dmdev_table_sectors(&t);
	dmdev_table_done(&t);

	v.devno = devno;
	v.name = strdup(info.name);
	if (!v.name || asprintf(&v.dev_path, "/dev/mapper/%s", info.name) < 0) {
		dmsnap_volume_done(&v);
		return vss_err_set(err, VSS_ERROR_NONE, -ENOMEM, "out of memory");
	}
	r = env->host->ops->mountpoints(env->host->userdata, devno, &mounts);
	if (r < 0) {
		dmsnap_volume_done(&v);
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot read the mount table: %s", strerror(-r));
	}
	if (mounts && mounts[0]) {
		v.mountpoint = strdup(mounts[0]);
		if (!v.mountpoint) {
			dmsnap_volume_done(&v);
			return vss_err_set(err, VSS_ERROR_NONE, -ENOMEM, "out of memory");
		}
	}
	*ret = v;
	return 0;

fail_table:
	dmdev_table_done(&t);
	return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r, "cannot inspect %s: %s",
	                   path, strerror(-r));
}

/* ---- snapshots ------------------------------------------------------------------------------- */

void dmsnap_snapshot_done(DmsnapSnapshot *s)
{
	if (!s)
		return;
	free(s->volume_name);
	free(s->snap_name);
	free(s->cow_path);
	*s = (DmsnapSnapshot){ 0 };
}

int dmsnap_snapshot_copy(const DmsnapSnapshot *s, DmsnapSnapshot *ret)
{
	DmsnapSnapshot c = *s;

	c.volume_name = s->volume_name ? strdup(s->volume_name) : NULL;
	c.snap_name = s->snap_name ? strdup(s->snap_name) : NULL;
	c.cow_path = s->cow_path ? strdup(s->cow_path) : NULL;
	if ((s->volume_name && !c.volume_name) || (s->snap_name && !c.snap_name) ||
	    (s->cow_path && !c.cow_path)) {
		dmsnap_snapshot_done(&c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

int dmsnap_snapshot_dm_name(const VssId *set_id, const char *volume_name, char buf[static 128])
{
	char p[VSSID_PATH_MAX];
	int n;

	vssid_to_path(set_id, p);
	n = snprintf(buf, 128, "vssd-%.8s-%s", p, volume_name);
	return n < 0 || n >= 128 ? -ENAMETOOLONG : 0;
}

int dmsnap_snap_uuid(const VssId *set_id, const VssId *snap_id, char buf[static 129])
{
	char a[VSSID_PATH_MAX], b[VSSID_PATH_MAX];

	snprintf(buf, 129, DMSNAP_UUID_SNAP "%s-%s", vssid_to_path(set_id, a),
	         vssid_to_path(snap_id, b));
	return 0;
}

/* Counts the live snapshots registered on the -real device real_devno (other than skip). */
int dmsnap_count_snapshots_of(const DmsnapEnv *env, dev_t real_devno, const char *skip)
{
	_cleanup_strv_free_ char **names = NULL;
	unsigned n = 0;
	int r;

	r = dmdev_list_by_uuid_prefix(env->dm, DMSNAP_UUID_SNAP, &names);
	if (r < 0)
		return r;
	for (char **i = names; *i; i++) {
		DmdevTable t = DMDEV_TABLE_NULL;
		dev_t d;

		if (skip && streq(*i, skip))
			continue;
		if (dmdev_get_table(env->dm, *i, false, &t) < 0)
			continue;
		if (dmsnap_table_first_devno(&t, "snapshot", &d) == 0 && d == real_devno)
			n++;
		dmdev_table_done(&t);
	}
	return (int)n;
}

/* revert.c: a volume merging a shadow copy back keeps its snapshot-merge table and -real until
 * the merge is over; the end of the merge restores its own table. */
bool dmsnap_volume_merging(const DmsnapEnv *env, const char *volume_name)
{
	DmdevTable t = DMDEV_TABLE_NULL;
	bool merging;

	if (dmdev_get_table(env->dm, volume_name, false, &t) < 0)
		return false;
	merging = t.n == 1 && streq(t.targets[0].type, "snapshot-merge");
	dmdev_table_done(&t);
	return merging;
}

int dmsnap_swap_table(Dmdev *dm, const char *name, const DmdevTable *t)
{
	int r;

	r = dmdev_load(dm, name, t);
	if (r < 0)
		return r;
	r = dmdev_suspend(dm, name, DMDEV_SUSPEND_SKIP_LOCKFS);
	if (r < 0) {
		(void)dmdev_clear(dm, name);
		return r;
	}
	r = dmdev_resume(dm, name);
	if (r < 0) {
		/* the new table did not go live: back to the one that ran, and running */
		(void)dmdev_clear(dm, name);
		(void)dmdev_resume(dm, name);
	}
	return r;
}

/* COW data sectors a merge into vol has still to copy; <0 when it cannot be told, or when dm
 * reports the merge failed (-EIO) */
int64_t dmsnap_merge_left(const DmsnapEnv *env, const char *vol)
{
	DmdevSnapshotStatus st;
	int r;

	r = dmdev_snapshot_status(env->dm, vol, &st);
	if (r < 0)
		return r;
	if (st.merge_failed || st.invalid)
		return -EIO;
	return st.used_sectors > st.metadata_sectors
	               ? (int64_t)(st.used_sectors - st.metadata_sectors)
	               : 0;
}

int dmsnap_release_volume(const DmsnapEnv *env, const char *volume_name, bool end_merge,
                          VssErr *err)
{
	DmdevTable vt = DMDEV_TABLE_NULL, nt = DMDEV_TABLE_NULL;
	DmdevInfo ri, vi;
	char real[128];
	bool merging = false, uses_real = false;
	dev_t rd, vd = 0;
	int r, others;

	r = dmsnap_real_name_of(volume_name, real);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, r, "volume name too long");
	r = dmdev_info(env->dm, real, &ri);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot query %s: %s", real, strerror(-r));
	if (!ri.exists)
		return 0;
	rd = makedev(ri.major, ri.minor);
	others = dmsnap_count_snapshots_of(env, rd, NULL);
	if (others < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, others,
		                   "cannot count the snapshots of %s: %s", volume_name,
		                   strerror(-others));
	r = dmdev_info(env->dm, volume_name, &vi);
	if (r >= 0 && vi.exists)
		r = dmdev_get_table(env->dm, volume_name, false, &vt);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot read the table of %s: %s", volume_name, strerror(-r));
	if (vi.exists) {
		merging = dmsnap_table_first_devno(&vt, "snapshot-merge", &vd) == 0 && vd == rd;
		uses_real =
			merging ||
			(dmsnap_table_first_devno(&vt, "snapshot-origin", &vd) == 0 && vd == rd);
	}
	if (merging && !end_merge) { /* a revert runs: its end restores the volume */
		dmdev_table_done(&vt);
		return others;
	}
	if (merging && dmsnap_merge_left(env, volume_name) != 0) { /* never cut a merge short */
		dmdev_table_done(&vt);
		return -EAGAIN;
	}
	if (merging || (uses_real && others == 0)) {
		/* others left: the origin of their snapshots again; none: its own table */
		if (others > 0)
			r = dmdev_table_add(&nt, 0, dmdev_table_sectors(&vt), "snapshot-origin",
			                    "%u:%u", ri.major, ri.minor);
		else
			r = dmdev_get_table(env->dm, real, false, &nt);
		if (r >= 0)
			r = dmsnap_swap_table(env->dm, volume_name, &nt);
		dmdev_table_done(&nt);
		if (r < 0) {
			dmdev_table_done(&vt);
			return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
			                   "cannot restore the table of %s: %s", volume_name,
			                   strerror(-r));
		}
		uses_real = others > 0;
	}
	dmdev_table_done(&vt);
	if (!uses_real && others == 0) {
		r = dmdev_remove(env->dm, real);
		if (r < 0)
			return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
			                   "cannot remove %s: %s", real, strerror(-r));
		log_vol_debug(volume_name, "last snapshot gone, own table restored");
	}
	return others;
}

/* Removes the snapshot's COW file (its loop device detaches with the last table holding it) */
void dmsnap_remove_cow(const DmsnapEnv *env, const DmsnapSnapshot *snap)
{
	int r;

	if (!snap->cow_path)
		return;
	r = env->host->ops->file_remove(env->host->userdata, snap->cow_path);
	if (r < 0 && r != -ENOENT)
		log_snap_warning_errno(snap->snap_name, NULL, r, "cannot remove %s, ignoring: %m",
		                       snap->cow_path);
}

int dmsnap_snapshot_delete(const DmsnapEnv *env, const DmsnapSnapshot *snap, VssErr *err)
{
	DmdevInfo si;
	int r;

	r = dmdev_info(env->dm, snap->snap_name, &si);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot query %s: %s", snap->snap_name, strerror(-r));
	if (si.exists) {
		if (si.suspended)
			(void)dmdev_resume(env->dm, snap->snap_name);
		r = dmdev_remove(env->dm, snap->snap_name);
		if (r == -EBUSY)
			return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, r,
			                   "shadow copy device %s is in use (mounted or open); "
			                   "unmount it and try again",
			                   snap->snap_name);
		if (r < 0)
			return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
			                   "cannot remove %s: %s", snap->snap_name, strerror(-r));
		log_snap_debug(snap->snap_name, NULL, "removed %s", snap->snap_name);
		fault_point_kill(env->faults, "kill-delete-after-snapshot-removed");
	}
	r = dmsnap_release_volume(env, snap->volume_name, false, err);
	if (r < 0)
		return r;
	(void)dmdev_settle(env->dm);
	dmsnap_remove_cow(env, snap);
	return 0;
}

int dmsnap_snapshot_from_dm(const DmsnapEnv *env, const char *snap_name, DmsnapSnapshot *ret)
{
	DmsnapSnapshot s = { 0 };
	DmdevInfo info, rinfo;
	char set32[33], snap32[33];
	const char *p, *end;
	SnapTable st;
	int r;

	r = dmdev_info(env->dm, snap_name, &info);
	if (r < 0)
		return r;
	if (!info.exists)
		return -ENOENT;
	p = startswith(info.uuid, DMSNAP_UUID_SNAP);
	if (!p || strlen(p) != 65 || p[32] != '-')
		return -EMEDIUMTYPE;
	memcpy(set32, p, 32);
	set32[32] = 0;
	memcpy(snap32, p + 33, 32);
	snap32[32] = 0;
	if (vssid_from_path(set32, &s.set_id) < 0 || vssid_from_path(snap32, &s.id) < 0)
		return -EMEDIUMTYPE;

	r = dmsnap_read_snap_table(env, snap_name, &st);
	if (r < 0)
		return r;
	s.sectors = st.sectors;
	s.persistent = st.persistent;
	s.chunk_sectors = st.chunk;

	r = dmdev_info_devno(env->dm, st.real, &rinfo);
	if (r < 0)
		return r;
	end = rinfo.exists ? strstr(rinfo.name, DMSNAP_REAL_SUFFIX) : NULL;
	if (!end || end[strlen(DMSNAP_REAL_SUFFIX)] != 0)
		return -EMEDIUMTYPE;
	s.volume_name = strndup(rinfo.name, (size_t)(end - rinfo.name));
	s.snap_name = strdup(snap_name);
	if (!s.volume_name || !s.snap_name) {
		dmsnap_snapshot_done(&s);
		return -ENOMEM;
	}
	r = env->host->ops->loop_backing_file(env->host->userdata, st.cow, &s.cow_path);
	if (r < 0 && r != -ENXIO) {
		dmsnap_snapshot_done(&s);
		return r;
	}
	*ret = s;
	return 0;
}

/* ---- recovery -------------------------------------------------------------------------------- */

int dmsnap_recover_held(const DmsnapEnv *env)
{
	_cleanup_strv_free_ char **names = NULL;
	int r, resumed = 0;

	r = dmdev_list(env->dm, &names);
	if (r < 0)
		return r;
	/* Our own devices first (snapshots, -real), then the origins above them. */
	for (char **i = names; *i; i++) {
		DmdevInfo info;

		if (dmdev_info(env->dm, *i, &info) < 0 || !info.exists ||
		    !startswith(info.uuid, DMSNAP_UUID_PREFIX) || !info.suspended)
			continue;
		r = dmdev_resume(env->dm, *i);
		if (r < 0)
			log_error_errno(r, "cannot resume %s left suspended: %m", *i);
		else {
			log_notice("recovery: resumed %s, left suspended by an earlier run", *i);
			resumed++;
		}
	}
	for (char **i = names; *i; i++) {
		_cleanup_strv_free_ char **mounts = NULL;
		_cleanup_free_ char *origin = NULL;
		DmdevInfo info, oi;
		const char *end;

		if (dmdev_info(env->dm, *i, &info) < 0 || !info.exists ||
		    !startswith(info.uuid, DMSNAP_UUID_REAL))
			continue;
		end = strstr(*i, DMSNAP_REAL_SUFFIX);
		if (!end || end[strlen(DMSNAP_REAL_SUFFIX)] != 0)
			continue;
		origin = strndup(*i, (size_t)(end - *i));
		if (!origin)
			return -ENOMEM;
		if (dmdev_info(env->dm, origin, &oi) < 0 || !oi.exists)
			continue;
		if (oi.inactive_table) {
			/* staged for a set that never committed */
			r = dmdev_clear(env->dm, origin);
			if (r < 0)
				log_vol_error_errno(origin, r, "cannot drop a staged table: %m");
			else
				log_notice("recovery: vol=%s: dropped a table staged by an "
				           "unfinished set",
				           origin);
		}
		if (oi.suspended) {
			r = dmdev_resume(env->dm, origin);
			if (r < 0)
				log_vol_error_errno(origin, r, "cannot resume: %m");
			else {
				log_notice("recovery: resumed volume %s", origin);
				resumed++;
			}
		}
	}
	(void)dmdev_settle(env->dm);
	return resumed;
}

int dmsnap_snapshot_grow(const DmsnapEnv *env, DmsnapSnapshot *snap, uint64_t new_bytes)
{
	SnapTable st;
	int r;

	if (!snap->cow_path || new_bytes <= snap->cow_bytes)
		return -EINVAL;
	r = dmsnap_read_snap_table(env, snap->snap_name, &st);
	if (r < 0)
		return r;
	/* The file grows first, then the loop device learns its new size; dm-snapshot reads the
	 * COW device's size at each new exception, so no reload is needed. */
	r = env->host->ops->file_grow(env->host->userdata, snap->cow_path, new_bytes);
	if (r < 0)
		return r;
	fault_point_kill(env->faults, "kill-grow-before-loop-refresh");
	r = env->host->ops->loop_refresh(env->host->userdata, st.cow);
	if (r < 0)
		return r;
	snap->cow_bytes = new_bytes;
	return 0;
}
