/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dmsnap-merge.c - the dm-snapshot provider's revert: snapshot-merge, its progress and its end
 *
 * The kernel does the work, as for `lvconvert --merge`. The volume V runs `snapshot-origin R`
 * (R = V-vssd-real, the volume's own table) while it has shadow copies; the shadow copy S runs
 * `snapshot R COW P chunk`. A revert loads `snapshot-merge R COW P chunk` into V: on V's resume
 * the merge target takes S's exceptions over (S must be suspended for that handover, and returns
 * EIO from then on), so S's device is removed. dm copies every chunk of the COW back into R in
 * the background; the used sectors of the merge status fall to the metadata sectors, and that is
 * the end: V gets `snapshot-origin R` again when other shadow copies of V remain, else its own
 * table (R's), and R goes; the COW file goes (dmsnap_release_volume(), as for a deletion).
 *
 * Other shadow copies of the same volume keep their own content: every chunk the merge writes
 * into R is first copied into their COWs (origin_write_extent), as for any write to the origin.
 * They can be deleted during the merge (the deletion leaves V's merge table alone). */
#include <inttypes.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "daemon/dmsnap-internal.h"
#include "daemon/fault.h"
#include "daemon/hostops.h"

/* 1: S's device is there; 0: S has none any more; <0: cannot tell */
static int snap_device_exists(const DmsnapEnv *env, const DmsnapSnapshot *snap)
{
	DmdevInfo info;
	int r;

	if (!snap->snap_name)
		return 0;
	r = dmdev_info(env->dm, snap->snap_name, &info);
	return r < 0 ? r : info.exists;
}

/* 1: S exists and still holds its exceptions (not handed over to a merge); 0: it is gone or
 * invalid; <0: cannot tell */
static int snap_device_valid(const DmsnapEnv *env, const DmsnapSnapshot *snap)
{
	DmdevSnapshotStatus st;
	int r;

	r = snap_device_exists(env, snap);
	if (r <= 0)
		return r;
	r = dmdev_snapshot_status(env->dm, snap->snap_name, &st);
	if (r < 0)
		return r;
	return !st.invalid && !st.merge_failed;
}

/* Removes S's device if it is still there (after the handover it is invalid and idle). */
static int remove_snap_device(const DmsnapEnv *env, const DmsnapSnapshot *snap)
{
	int r;

	r = snap_device_exists(env, snap);
	if (r <= 0)
		return r;
	r = dmdev_remove(env->dm, snap->snap_name);
	if (r < 0)
		return r;
	log_snap_debug(snap->snap_name, NULL, "removed %s, its COW is merging", snap->snap_name);
	return 0;
}

/* dm-snapshot's persistent exception store: a header chunk {le32 magic "SnAp", valid, version 1,
 * chunk size in sectors}, then metadata areas of {le64 old chunk, le64 new chunk} pairs, the first
 * area in chunk 1, ended by a new chunk of 0. A merge clears them from the last one, so the first
 * pair is the last to go. 1: the COW holds exceptions (a merge did not end); 0: it holds none;
 * <0: cannot tell. */
#define COW_MAGIC 0x70416e53u

static uint64_t le_bytes(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static int cow_holds_exceptions(const DmsnapEnv *env, const char *path)
{
	const Host *h = env->host;
	uint8_t hdr[16], de[16];
	uint64_t chunk;
	ssize_t n;

	n = h->ops->file_read(h->userdata, path, 0, hdr, sizeof(hdr));
	if (n < 0)
		return (int)n;
	if (n != sizeof(hdr) || le_bytes(hdr, 4) != COW_MAGIC || le_bytes(hdr + 8, 4) != 1)
		return -EMEDIUMTYPE;
	chunk = le_bytes(hdr + 12, 4);
	if (chunk == 0)
		return -EMEDIUMTYPE;
	n = h->ops->file_read(h->userdata, path, chunk * 512, de, sizeof(de));
	if (n < 0)
		return (int)n;
	if (n != sizeof(de))
		return -EMEDIUMTYPE;
	return le_bytes(de + 8, 8) != 0;
}

/* ---- start ----------------------------------------------------------------------------------- */

int dmsnap_merge_check(const DmsnapEnv *env, const DmsnapSnapshot *snap, const char *volume_path,
                       uint64_t *ret_sectors, VssErr *err)
{
	_cleanup_strv_free_ char **mounts = NULL;
	DmdevSnapshotStatus st;
	DmdevInfo vi, si;
	int r;

	r = dmdev_info(env->dm, snap->volume_name, &vi);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot query %s: %s", volume_path, strerror(-r));
	if (!vi.exists)
		return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -ENODEV,
		                   "volume %s does not exist", volume_path);
	if (dmsnap_volume_merging(env, snap->volume_name))
		return -EALREADY;
	r = env->host->ops->mountpoints(env->host->userdata, makedev(vi.major, vi.minor), &mounts);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot read the mount table: %s", strerror(-r));
	if (mounts[0])
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
		                   "%s is mounted on %s; unmount it before reverting it",
		                   volume_path, mounts[0]);
	if (vi.open_count > 0)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
		                   "%s is open (%d opener%s: a process, a mount or a device on top "
		                   "of it); close it before reverting it",
		                   volume_path, vi.open_count, vi.open_count == 1 ? "" : "s");
	if (vi.suspended || vi.inactive_table)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
		                   "%s is being changed (suspended, or a table is staged); try "
		                   "again",
		                   volume_path);

	r = dmdev_info(env->dm, snap->snap_name, &si);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot query %s: %s", snap->snap_name, strerror(-r));
	if (!si.exists)
		return -ENXIO; /* the caller says which shadow copy */
	if (si.open_count > 0)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
		                   "the shadow copy device /dev/mapper/%s is open; close it "
		                   "before reverting",
		                   snap->snap_name);
	r = dmdev_snapshot_status(env->dm, snap->snap_name, &st);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot read the status of %s: %s", snap->snap_name,
		                   strerror(-r));
	if (st.invalid)
		return -ENOSPC; /* the caller says which shadow copy */
	*ret_sectors =
		st.used_sectors > st.metadata_sectors ? st.used_sectors - st.metadata_sectors : 0;
	return 0;
}

/* Nobody may mount or open the volume or the shadow copy between the checks and the start of
 * the merge: both are opened O_EXCL (no mount, no other claim) until the merge runs, and their
 * open counts read again must be ours alone. */
static int claim_devices(const DmsnapEnv *env, const DmsnapSnapshot *snap, const char *volume_path,
                         int *ret_vol_fd, int *ret_snap_fd, VssErr *err)
{
	const Host *h = env->host;
	_cleanup_close_ int vfd = -EBADF, sfd = -EBADF;
	char snap_dev[160];
	DmdevInfo vi, si;
	int r;

	snprintf(snap_dev, sizeof(snap_dev), "/dev/mapper/%s", snap->snap_name);
	r = h->ops->claim(h->userdata, volume_path, &vfd);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, r,
		                   "%s is in use (mounted or held exclusively: %s); release it "
		                   "before reverting it",
		                   volume_path, strerror(-r));
	r = h->ops->claim(h->userdata, snap_dev, &sfd);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, r,
		                   "the shadow copy device %s is in use (%s); close it before "
		                   "reverting",
		                   snap_dev, strerror(-r));
	r = dmdev_info(env->dm, snap->volume_name, &vi);
	if (r >= 0)
		r = dmdev_info(env->dm, snap->snap_name, &si);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot query %s: %s", volume_path, strerror(-r));
	if (vi.open_count > 1 || si.open_count > 1)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
		                   "%s or its shadow copy was opened while the revert was being "
		                   "checked; close it and try again",
		                   volume_path);
	*ret_vol_fd = TAKE_FD(vfd);
	*ret_snap_fd = TAKE_FD(sfd);
	return 0;
}

int dmsnap_merge_start(const DmsnapEnv *env, const DmsnapSnapshot *snap, const char *volume_path,
                       int (*intent)(void *userdata), void *userdata, VssErr *err)
{
	Dmdev *dm = env->dm;
	const char *vol = snap->volume_name, *sn = snap->snap_name;
	DmdevTable st = DMDEV_TABLE_NULL, mt = DMDEV_TABLE_NULL, vt = DMDEV_TABLE_NULL;
	unsigned ra, ri, ca, ci, chunk;
	uint64_t len = 0;
	char mode;
	dev_t vreal;
	_cleanup_close_ int claim_vol = -EBADF, claim_snap = -EBADF;
	int r;

	r = claim_devices(env, snap, volume_path, &claim_vol, &claim_snap, err);
	if (r < 0)
		return r;
	r = dmdev_get_table(dm, sn, false, &st);
	if (r >= 0 && (st.n != 1 || !streq(st.targets[0].type, "snapshot") ||
	               sscanf(st.targets[0].params, "%u:%u %u:%u %c %u", &ra, &ri, &ca, &ci, &mode,
	                      &chunk) != 6 ||
	               (mode != 'P' && mode != 'p')))
		r = -EMEDIUMTYPE;
	if (r >= 0)
		r = dmdev_get_table(dm, vol, false, &vt);
	if (r >= 0 && (dmsnap_table_first_devno(&vt, "snapshot-origin", &vreal) < 0 ||
	               vreal != makedev(ra, ri)))
		r = -EMEDIUMTYPE;
	dmdev_table_done(&vt);
	if (r >= 0) {
		len = st.targets[0].length;
		r = dmdev_table_add(&mt, 0, len, "snapshot-merge", "%s", st.targets[0].params);
	}
	dmdev_table_done(&st);
	if (r < 0) {
		dmdev_table_done(&mt);
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "the tables of %s and %s are not those of a persistent shadow "
		                   "copy and its origin: %s",
		                   sn, volume_path, strerror(-r));
	}

	/* intent: a restart finds "merging" and looks at dm to see how far it got */
	r = intent(userdata);
	if (r < 0) {
		dmdev_table_done(&mt);
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot record the revert in the state file: %s", strerror(-r));
	}

	r = dmdev_load(dm, vol, &mt);
	dmdev_table_done(&mt);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot load the snapshot-merge table into %s: %s", volume_path,
		                   strerror(-r));
	fault_point_kill(env->faults, "kill-revert-after-merge-loaded");
	/* the handover of the exceptions needs the shadow copy suspended */
	r = dmdev_suspend(dm, sn, DMDEV_SUSPEND_SKIP_LOCKFS);
	if (r < 0) {
		(void)dmdev_clear(dm, vol);
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot suspend %s: %s", sn, strerror(-r));
	}
	r = dmdev_suspend(dm, vol, DMDEV_SUSPEND_SKIP_LOCKFS);
	if (r < 0) {
		(void)dmdev_clear(dm, vol);
		(void)dmdev_resume(dm, sn);
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, r, "cannot suspend %s: %s",
		                   volume_path, strerror(-r));
	}
	r = dmdev_resume(dm, vol);
	if (r < 0) {
		DmdevTable ot = DMDEV_TABLE_NULL;

		/* back to snapshot-origin, whichever table the failed resume left live */
		log_vol_error_errno(vol, r, "cannot start the merge, restoring: %m");
		(void)dmdev_clear(dm, vol);
		if (dmdev_table_add(&ot, 0, len, "snapshot-origin", "%u:%u", ra, ri) >= 0 &&
		    dmdev_load(dm, vol, &ot) < 0)
			(void)dmdev_clear(dm, vol);
		dmdev_table_done(&ot);
		(void)dmdev_resume(dm, vol);
		(void)dmdev_resume(dm, sn);
		if (!dmsnap_volume_merging(env, vol))
			return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
			                   "cannot start merging %s into %s: %s", sn, volume_path,
			                   strerror(-r));
	}
	/* the merge runs: the claims end here, the shadow copy's device can go */
	closep(&claim_snap);
	closep(&claim_vol);
	/* S returns EIO now; its COW belongs to the merge */
	r = remove_snap_device(env, snap);
	if (r < 0)
		log_vol_warning_errno(vol, r, "cannot remove %s yet, retrying: %m", sn);
	(void)dmdev_settle(dm);
	return 0;
}

/* ---- progress and end ------------------------------------------------------------------------ */

ProviderMerge dmsnap_merge_poll(const DmsnapEnv *env, const DmsnapSnapshot *snap,
                                uint64_t *ret_left)
{
	DmdevTable vt = DMDEV_TABLE_NULL;
	int64_t left;
	bool merging;
	int r;

	r = dmdev_get_table(env->dm, snap->volume_name, false, &vt);
	if (r < 0) {
		log_vol_warning_errno(snap->volume_name, r, "cannot read its table, retrying: %m");
		return PROVIDER_MERGE_RETRY;
	}
	merging = vt.n == 1 && streq(vt.targets[0].type, "snapshot-merge");
	dmdev_table_done(&vt);
	if (!merging) {
		r = snap_device_valid(env, snap);
		if (r < 0) {
			log_vol_warning_errno(snap->volume_name, r,
			                      "cannot look at %s, retrying: %m", snap->snap_name);
			return PROVIDER_MERGE_RETRY;
		}
		if (r > 0) /* the merge table never went live: nothing changed on disk */
			return PROVIDER_MERGE_NOT_STARTED;
		/* No merge table and no shadow copy: either the end was under way when vssd
		 * stopped (the COW holds no exceptions any more, or is gone), or the merge stopped
		 * before its end, as a reboot stops it. Only the COW itself tells. */
		r = snap->cow_path ? cow_holds_exceptions(env, snap->cow_path) : -ENOENT;
		if (r == 0 || r == -ENOENT)
			return PROVIDER_MERGE_DONE;
		if (r > 0)
			return PROVIDER_MERGE_INTERRUPTED;
		log_vol_error(snap->volume_name,
		              "the merge stopped before its end (the volume has no "
		              "snapshot-merge table any more: a reboot?) and %s cannot be read: %s",
		              strempty(snap->cow_path), strerror(-r));
		return PROVIDER_MERGE_UNKNOWN;
	}
	if (remove_snap_device(env, snap) < 0)
		log_vol_debug(snap->volume_name, "%s is still there, retrying", snap->snap_name);
	left = dmsnap_merge_left(env, snap->volume_name);
	if (left == -EIO)
		return PROVIDER_MERGE_FAILED; /* dm stopped merging: nothing changes on its own */
	if (left < 0) {
		log_vol_warning_errno(snap->volume_name, (int)left,
		                      "cannot read the merge status, retrying: %m");
		return PROVIDER_MERGE_RETRY;
	}
	*ret_left = (uint64_t)left;
	return left == 0 ? PROVIDER_MERGE_DONE : PROVIDER_MERGE_RUNNING;
}

int dmsnap_merge_finish(const DmsnapEnv *env, const DmsnapSnapshot *snap)
{
	VssErr err = { 0 };
	int r;

	r = remove_snap_device(env, snap); /* it holds R */
	if (r < 0)
		return log_vol_warning_errno(snap->volume_name, r, "cannot remove %s, retrying: %m",
		                             snap->snap_name);
	r = dmsnap_release_volume(env, snap->volume_name, true, &err);
	if (r == -EAGAIN)
		return r;
	if (r < 0)
		return log_vol_error_errno(snap->volume_name, r,
		                           "the merge is over but the volume cannot be "
		                           "released (%s), retrying: %m",
		                           err.message);
	(void)dmdev_settle(env->dm);
	dmsnap_remove_cow(env, snap);
	return r; /* the other shadow copies of the volume */
}
