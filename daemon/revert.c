/* SPDX-License-Identifier: GPL-2.0-or-later */
/* revert.c - Snapshot.Revert: merge a shadow copy back into its volume (dm snapshot-merge)
 *
 * The kernel does the work, as for `lvconvert --merge`. The volume V runs `snapshot-origin R`
 * (R = V-vssd-real, the volume's own table) while it has shadow copies; the shadow copy S runs
 * `snapshot R COW P chunk`. A revert loads `snapshot-merge R COW P chunk` into V: on V's resume
 * the merge target takes S's exceptions over (S must be suspended for that handover, and returns
 * EIO from then on), so S's device is removed. dm copies every chunk of the COW back into R in
 * the background; the used sectors of the merge status fall to the metadata sectors, and that is
 * the end. V is usable meanwhile, but vssd starts a revert only on an unmounted, closed volume
 * (VSS: VSS_E_VOLUME_IN_USE otherwise), because a mounted file system would not see its blocks
 * change under it.
 *
 * The end: V gets `snapshot-origin R` again when other shadow copies of V remain, else its own
 * table (R's), and R goes; the COW file goes (its loop device detaches with the last table that
 * held it); the Snapshot object is deleted (InterfacesRemoved). "merging" is written to the state
 * file before any dm change. A daemon that dies meanwhile finds "merging" at start-up: dm went on
 * merging, so it watches again and finishes; if the merge table never went live, the shadow copy
 * is "created" again; if the volume is off its merge table while the COW is empty, the end was
 * under way and is completed. A reboot stops the merge: the COW then still holds exceptions,
 * and vssd resumes the revert as VSS does at boot (revert_resume(): the shadow copy back from
 * its COW, then the merge again). Progress after a restart counts from what was left at the
 * restart.
 *
 * Other shadow copies of the same volume are kept, and keep their own content: every chunk the
 * merge writes into R is first copied into their COWs (origin_write_extent), as for any write to
 * the origin. VSS documents nothing definite about them for RevertToSnapshot, so nothing is
 * deleted that the administrator did not ask for. They can be deleted during the merge (the
 * engine leaves V's merge table alone), but no new set can include V until the merge is over. */
#include <inttypes.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/dmdev.h"
#include "daemon/fault.h"
#include "daemon/hostops.h"
#include "daemon/revert.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"

#define VSS_E_REVERT_IN_PROGRESS 0x80042325u

/* ---- dm helpers ------------------------------------------------------------------------------ */

static int real_name_of(const char *volume_name, char buf[static 128])
{
	int n = snprintf(buf, 128, "%s%s", volume_name, DMSNAP_REAL_SUFFIX);

	return n < 0 || n >= 128 ? -ENAMETOOLONG : 0;
}

/* The first "maj:min" of a one-target table of type, or -EMEDIUMTYPE */
static int table_devno(const DmdevTable *t, const char *type, dev_t *ret)
{
	unsigned ma, mi;

	if (t->n != 1 || !streq(t->targets[0].type, type))
		return -EMEDIUMTYPE;
	if (sscanf(t->targets[0].params, "%u:%u", &ma, &mi) != 2)
		return -EINVAL;
	*ret = makedev(ma, mi);
	return 0;
}

static bool live_type_is(Dmdev *dm, const char *name, const char *type)
{
	DmdevTable t = DMDEV_TABLE_NULL;
	bool is;

	if (dmdev_get_table(dm, name, false, &t) < 0)
		return false;
	is = t.n == 1 && streq(t.targets[0].type, type);
	dmdev_table_done(&t);
	return is;
}

/* Shadow copy devices on R other than skip */
static int count_snapshots_on(Dmdev *dm, dev_t real, const char *skip)
{
	_cleanup_strv_free_ char **names = NULL;
	int r, n = 0;

	r = dmdev_list_by_uuid_prefix(dm, DMSNAP_UUID_SNAP, &names);
	if (r < 0)
		return r;
	for (char **i = names; *i; i++) {
		DmdevTable t = DMDEV_TABLE_NULL;
		dev_t d;

		if ((skip && streq(*i, skip)) || dmdev_get_table(dm, *i, false, &t) < 0)
			continue;
		if (table_devno(&t, "snapshot", &d) == 0 && d == real)
			n++;
		dmdev_table_done(&t);
	}
	return n;
}

/* Loads t into name and makes it live; on failure name keeps the table it had. */
static int swap_table(Dmdev *dm, const char *name, const DmdevTable *t)
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
		(void)dmdev_clear(dm, name);
		(void)dmdev_resume(dm, name);
	}
	return r;
}

/* 1: S's device is there; 0: S has none any more; <0: cannot tell */
static int snap_device_exists(Snapshot *s)
{
	DmdevInfo info;
	int r;

	if (!s->dm.snap_name)
		return 0;
	r = dmdev_info(s->d->dm, s->dm.snap_name, &info);
	return r < 0 ? r : info.exists;
}

/* 1: S exists and still holds its exceptions (not handed over to a merge); 0: it is gone or
 * invalid; <0: cannot tell */
static int snap_device_valid(Snapshot *s)
{
	DmdevSnapshotStatus st;
	int r;

	r = snap_device_exists(s);
	if (r <= 0)
		return r;
	r = dmdev_snapshot_status(s->d->dm, s->dm.snap_name, &st);
	if (r < 0)
		return r;
	return !st.invalid && !st.merge_failed;
}

/* COW data sectors the merge into vol has still to copy; <0 when it cannot be told, or when dm
 * reports the merge failed (-EIO) */
static int64_t merge_left(Dmdev *dm, const char *vol)
{
	DmdevSnapshotStatus st;
	int r;

	r = dmdev_snapshot_status(dm, vol, &st);
	if (r < 0)
		return r;
	if (st.merge_failed || st.invalid)
		return -EIO;
	return st.used_sectors > st.metadata_sectors
	               ? (int64_t)(st.used_sectors - st.metadata_sectors)
	               : 0;
}

/* Removes S's device if it is still there (after the handover it is invalid and idle). */
static int remove_snap_device(Snapshot *s)
{
	int r;

	r = snap_device_exists(s);
	if (r <= 0)
		return r;
	r = dmdev_remove(s->d->dm, s->dm.snap_name);
	if (r < 0)
		return r;
	log_debug("snap=%s: removed %s, its COW is merging", s->id_str, s->dm.snap_name);
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

static int cow_holds_exceptions(Daemon *d, const char *path)
{
	uint8_t hdr[16], de[16];
	uint64_t chunk;
	ssize_t n;

	n = d->host->ops->file_read(d->host->userdata, path, 0, hdr, sizeof(hdr));
	if (n < 0)
		return (int)n;
	if (n != sizeof(hdr) || le_bytes(hdr, 4) != COW_MAGIC || le_bytes(hdr + 8, 4) != 1)
		return -EMEDIUMTYPE;
	chunk = le_bytes(hdr + 12, 4);
	if (chunk == 0)
		return -EMEDIUMTYPE;
	n = d->host->ops->file_read(d->host->userdata, path, chunk * 512, de, sizeof(de));
	if (n < 0)
		return (int)n;
	if (n != sizeof(de))
		return -EMEDIUMTYPE;
	return le_bytes(de + 8, 8) != 0;
}

/* ---- watching -------------------------------------------------------------------------------- */

static void emit_progress(Snapshot *s)
{
	static const char *const changed[] = { "RevertProgress", NULL };

	if (s->exported)
		bus_emit_properties_changed(&s->d->bus, s->path, VSSD_IFACE_SNAP, changed);
}

void revert_unwatch(Snapshot *s)
{
	s->merge_timer = sd_event_source_disable_unref(s->merge_timer);
}

static int on_merge_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	Snapshot *s = userdata;
	int r;

	r = revert_poll(s); /* may free s, and with it this source (sd-event keeps it alive) */
	if (r != 0)         /* over, or no longer watched */
		return 0;
	r = sd_event_source_set_time_relative(src, REVERT_POLL_USEC);
	if (r >= 0)
		r = sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	if (r < 0)
		log_error_errno(r, "snap=%s: cannot watch the merge any more: %m", s->id_str);
	return 0;
}

static int revert_watch(Snapshot *s)
{
	if (s->merge_timer)
		return 0;
	return sd_event_add_time_relative(s->d->event, &s->merge_timer, CLOCK_MONOTONIC,
	                                  REVERT_POLL_USEC, 0, on_merge_timer, s);
}

/* The merge is over (or the daemon stopped while finishing it): every step is idempotent, and a
 * step that fails is tried again on the next look. 1: done, s deleted; 0: try again. */
static int merge_finish(Snapshot *s)
{
	Daemon *d = s->d;
	Dmdev *dm = d->dm;
	const char *vol = s->dm.volume_name;
	DmdevTable vt = DMDEV_TABLE_NULL, nt = DMDEV_TABLE_NULL;
	VssErr err = { 0 };
	char real[128];
	DmdevInfo ri;
	int r, others = 0;

	r = remove_snap_device(s); /* it holds R */
	if (r < 0)
		return log_warning_errno(r, "snap=%s: cannot remove %s, retrying: %m", s->id_str,
		                         s->dm.snap_name),
		       0;
	r = real_name_of(vol, real);
	if (r >= 0)
		r = dmdev_info(dm, real, &ri);
	if (r < 0)
		return log_warning_errno(r, "vol=%s: cannot look at %s, retrying: %m", vol, real),
		       0;
	if (ri.exists) {
		dev_t rd = makedev(ri.major, ri.minor), vd = 0;
		bool merging, uses_real;

		others = count_snapshots_on(dm, rd, NULL);
		if (others < 0)
			return log_warning_errno(others,
			                         "vol=%s: cannot count its shadow copies, "
			                         "retrying: %m",
			                         vol),
			       0;
		r = dmdev_get_table(dm, vol, false, &vt);
		if (r < 0)
			return log_warning_errno(r, "vol=%s: cannot read its table, retrying: %m",
			                         vol),
			       0;
		merging = table_devno(&vt, "snapshot-merge", &vd) == 0 && vd == rd;
		uses_real = merging || (table_devno(&vt, "snapshot-origin", &vd) == 0 && vd == rd);
		if (merging && merge_left(dm, vol) != 0) { /* never cut a merge short */
			dmdev_table_done(&vt);
			return 0;
		}
		if (merging || (uses_real && others == 0)) {
			/* others left: the origin of their snapshots again; none: its own table */
			if (others > 0)
				r = dmdev_table_add(&nt, 0, dmdev_table_sectors(&vt),
				                    "snapshot-origin", "%u:%u", ri.major, ri.minor);
			else
				r = dmdev_get_table(dm, real, false, &nt);
			if (r >= 0)
				r = swap_table(dm, vol, &nt);
			dmdev_table_done(&nt);
			if (r < 0) {
				dmdev_table_done(&vt);
				return log_error_errno(r,
				                       "vol=%s: the merge is over but its table "
				                       "cannot be switched back, retrying: %m",
				                       vol),
				       0;
			}
			uses_real = others > 0;
		}
		dmdev_table_done(&vt);
		if (!uses_real && others == 0) {
			r = dmdev_remove(dm, real);
			if (r < 0)
				return log_warning_errno(r,
				                         "vol=%s: cannot remove %s, retrying: %m",
				                         vol, real),
				       0;
		}
	}
	(void)dmdev_settle(dm);
	if (s->dm.cow_path) {
		r = d->host->ops->file_remove(d->host->userdata, s->dm.cow_path);
		if (r < 0 && r != -ENOENT)
			log_warning_errno(r, "snap=%s: cannot remove %s, ignoring: %m", s->id_str,
			                  s->dm.cow_path);
	}
	log_notice("snap=%s vol=%s: revert finished, the volume holds the shadow copy's content; "
	           "%d other shadow copies of it kept",
	           s->id_str, s->volume, others);

	s->revert_progress = 1.0;
	emit_progress(s);
	revert_unwatch(s);
	/* its devices are gone: the deletion only drops the object and the state entry */
	free(s->dm.snap_name);
	s->dm.snap_name = NULL;
	r = snapset_delete_snapshot(s->set, s, "reverted", &err);
	if (r < 0)
		log_error("snap=%s: cannot drop the reverted shadow copy: %s", s->id_str,
		          err.message);
	return 1;
}

/* A merge that stopped before its end, as a reboot stops it (VSS resumes a revert at boot):
 * the COW still holds the chunks not merged yet, and the volume is part reverted. The shadow
 * copy comes back from its COW (for merged chunks it reads the volume, which holds them now),
 * and the merge starts again. When it cannot (the volume is mounted or open, say), the shadow
 * copy is kept, intact, as "created", and the log says that the volume needs the revert again. */
static int revert_resume(Snapshot *s)
{
	Daemon *d = s->d;
	VssErr err = { 0 };
	int r;

	log_notice("snap=%s vol=%s: the merge stopped before its end (a reboot?); bringing the "
	           "shadow copy back from %s to merge the rest",
	           s->id_str, s->volume, s->dm.cow_path);
	r = daemon_reactivate_snapshot(d, s);
	if (r < 0) {
		log_error(
			"snap=%s vol=%s: cannot resume the revert; nothing more is changed: %s is "
			"kept and the shadow copy stays \"merging\"",
			s->id_str, s->volume, s->dm.cow_path);
		return 3;
	}
	snapshot_set_state(s, SNAPSHOT_STATE_CREATED);
	r = revert_start(s, &err);
	if (r < 0) {
		log_error(
			"snap=%s vol=%s: the revert cannot go on: %s. The volume is only partly "
			"reverted; the shadow copy is intact: free the volume and revert it again "
			"(vssctl revert %s)",
			s->id_str, s->volume, vss_err_is_set(&err) ? err.message : strerror(-r),
			s->id_str);
		(void)daemon_save_state(d);
		return 3;
	}
	log_notice("snap=%s vol=%s: revert resumed", s->id_str, s->volume);
	return 4; /* merging again; revert_start() watches it */
}

int revert_poll(Snapshot *s)
{
	Daemon *d = s->d;
	DmdevTable vt = DMDEV_TABLE_NULL;
	int64_t left;
	bool merging;
	double p;
	int r;

	r = dmdev_get_table(d->dm, s->dm.volume_name, false, &vt);
	if (r < 0) {
		log_warning_errno(r, "vol=%s: cannot read its table, retrying: %m", s->volume);
		return 0;
	}
	merging = vt.n == 1 && streq(vt.targets[0].type, "snapshot-merge");
	dmdev_table_done(&vt);
	if (!merging) {
		r = snap_device_valid(s);
		if (r < 0) {
			log_warning_errno(r, "snap=%s: cannot look at %s, retrying: %m", s->id_str,
			                  s->dm.snap_name);
			return 0;
		}
		if (r > 0) {
			/* the merge table never went live: nothing changed on disk */
			revert_unwatch(s);
			s->revert_progress = 0.0;
			snapshot_set_state(s, SNAPSHOT_STATE_CREATED);
			emit_progress(s);
			(void)daemon_save_state(d);
			log_notice("snap=%s vol=%s: the revert had not started; the shadow copy is "
			           "kept",
			           s->id_str, s->volume);
			return 2;
		}
		/* No merge table and no shadow copy: either the end was under way when vssd
		 * stopped (the COW holds no exceptions any more, or is gone), or the merge stopped
		 * before its end, as a reboot stops it. Only the COW itself tells. */
		r = s->dm.cow_path ? cow_holds_exceptions(d, s->dm.cow_path) : -ENOENT;
		if (r == 0 || r == -ENOENT)
			return merge_finish(s);
		revert_unwatch(s);
		if (r > 0)
			return revert_resume(s);
		log_error("snap=%s vol=%s: the merge stopped before its end (the volume has no "
		          "snapshot-merge table any more: a reboot?) and %s cannot be read: %s; "
		          "nothing is changed: the shadow copy stays \"merging\"",
		          s->id_str, s->volume, strempty(s->dm.cow_path), strerror(-r));
		return 3;
	}
	if (remove_snap_device(s) < 0)
		log_debug("snap=%s: %s is still there, retrying", s->id_str, s->dm.snap_name);
	left = merge_left(d->dm, s->dm.volume_name);
	if (left == -EIO) {
		/* dm stopped merging; nothing changes until someone looks (a restart tries again)
		 */
		revert_unwatch(s);
		log_error("snap=%s vol=%s: the kernel reports that the merge failed; the volume is "
		          "left as it is, with its merge table (see the kernel log)",
		          s->id_str, s->volume);
		return 3;
	}
	if (left < 0) {
		log_warning_errno((int)left, "vol=%s: cannot read the merge status, retrying: %m",
		                  s->volume);
		return 0;
	}
	if (left == 0)
		return merge_finish(s);
	s->merge_base_sectors = MAX(s->merge_base_sectors, (uint64_t)left);
	p = 1.0 - (double)left / (double)s->merge_base_sectors;
	if (p > s->revert_progress) {
		s->revert_progress = p;
		emit_progress(s);
	}
	log_debug("snap=%s: merging, %" PRIi64 " of %" PRIu64 " sectors left", s->id_str, left,
	          s->merge_base_sectors);
	fault_point_kill(d->env.faults, "kill-revert-mid-merge");
	return 0;
}

/* ---- start ----------------------------------------------------------------------------------- */

static int revert_in_progress(VssErr *err, const char *vol)
{
	bool first = err && !vss_err_is_set(err);
	int r = vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
	                    "a revert of %s is in progress already; see 'vssctl query reverts'",
	                    vol);

	if (first) {
		err->code_name = "VSS_E_REVERT_IN_PROGRESS";
		err->code = VSS_E_REVERT_IN_PROGRESS;
	}
	return r;
}

/* Everything that makes a revert of s impossible now, before anything changes. */
static int check_revert(Snapshot *s, DmdevInfo *ret_vol, VssErr *err)
{
	Daemon *d = s->d;
	_cleanup_strv_free_ char **mounts = NULL;
	DmdevSnapshotStatus st;
	DmdevInfo vi, si;
	int r;

	if (!snapset_context_persistent(s->set->context) || !s->dm.persistent)
		return vss_err_set(err, VSS_ERROR_UNSUPPORTED_CONTEXT, -EOPNOTSUPP,
		                   "shadow copy %s has the %s context; only shadow copies of "
		                   "persistent contexts can be reverted",
		                   s->id_str, snapset_context_to_string(s->set->context));
	switch (s->state) {
	case SNAPSHOT_STATE_CREATED:
		break;
	case SNAPSHOT_STATE_MERGING:
		return revert_in_progress(err, s->volume);
	case SNAPSHOT_STATE_PREPARING:
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "shadow copy %s is not created yet", s->id_str);
	case SNAPSHOT_STATE_DELETING:
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "shadow copy %s is being deleted", s->id_str);
	case SNAPSHOT_STATE_INVALID:
	case _SNAPSHOT_STATE_MAX:
	case _SNAPSHOT_STATE_INVALID:
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "shadow copy %s is invalid (its storage overflowed or its "
		                   "device is missing); it cannot be reverted",
		                   s->id_str);
	}
	for (size_t i = 0; i < d->n_sets; i++)
		for (size_t j = 0; j < d->sets[i]->n_snaps; j++) {
			Snapshot *o = d->sets[i]->snaps[j];

			if (o == s || !streq(o->dm.volume_name, s->dm.volume_name))
				continue;
			if (o->state == SNAPSHOT_STATE_MERGING)
				return revert_in_progress(err, s->volume);
			if (d->sets[i] == d->creating)
				return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
				                   "a shadow copy set of %s is being created; "
				                   "revert when it is done",
				                   s->volume);
		}
	if (s->exposed_path)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
		                   "shadow copy %s is exposed at %s; unexpose it first", s->id_str,
		                   s->exposed_path);

	r = dmdev_info(d->dm, s->dm.volume_name, &vi);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot query %s: %s", s->volume, strerror(-r));
	if (!vi.exists)
		return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -ENODEV,
		                   "volume %s does not exist", s->volume);
	if (live_type_is(d->dm, s->dm.volume_name, "snapshot-merge"))
		return revert_in_progress(err, s->volume);
	r = d->host->ops->mountpoints(d->host->userdata, makedev(vi.major, vi.minor), &mounts);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot read the mount table: %s", strerror(-r));
	if (mounts[0])
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
		                   "%s is mounted on %s; unmount it before reverting it", s->volume,
		                   mounts[0]);
	if (vi.open_count > 0)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
		                   "%s is open (%d opener%s: a process, a mount or a device on top "
		                   "of it); close it before reverting it",
		                   s->volume, vi.open_count, vi.open_count == 1 ? "" : "s");
	if (vi.suspended || vi.inactive_table)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
		                   "%s is being changed (suspended, or a table is staged); try "
		                   "again",
		                   s->volume);

	r = dmdev_info(d->dm, s->dm.snap_name, &si);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot query %s: %s", s->dm.snap_name, strerror(-r));
	if (!si.exists)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -ENODEV,
		                   "the device of shadow copy %s is missing", s->id_str);
	if (si.open_count > 0)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
		                   "the shadow copy device /dev/mapper/%s is open; close it "
		                   "before reverting",
		                   s->dm.snap_name);
	r = dmdev_snapshot_status(d->dm, s->dm.snap_name, &st);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot read the status of %s: %s", s->dm.snap_name,
		                   strerror(-r));
	if (st.invalid)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "shadow copy %s is invalid (its storage overflowed); it cannot "
		                   "be reverted",
		                   s->id_str);
	s->merge_base_sectors =
		st.used_sectors > st.metadata_sectors ? st.used_sectors - st.metadata_sectors : 0;
	*ret_vol = vi;
	return 0;
}

/* Nobody may mount or open the volume or the shadow copy between the checks and the start of
 * the merge: both are opened O_EXCL (no mount, no other claim) until revert_start() returns, and
 * their open counts read again must be ours alone. */
static int claim_devices(Snapshot *s, int *ret_vol_fd, int *ret_snap_fd, VssErr *err)
{
	const Host *h = s->d->host;
	_cleanup_close_ int vfd = -EBADF, sfd = -EBADF;
	char snap_dev[160];
	DmdevInfo vi, si;
	int r;

	snprintf(snap_dev, sizeof(snap_dev), "/dev/mapper/%s", s->dm.snap_name);
	r = h->ops->claim(h->userdata, s->volume, &vfd);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, r,
		                   "%s is in use (mounted or held exclusively: %s); release it "
		                   "before reverting it",
		                   s->volume, strerror(-r));
	r = h->ops->claim(h->userdata, snap_dev, &sfd);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, r,
		                   "the shadow copy device %s is in use (%s); close it before "
		                   "reverting",
		                   snap_dev, strerror(-r));
	r = dmdev_info(s->d->dm, s->dm.volume_name, &vi);
	if (r >= 0)
		r = dmdev_info(s->d->dm, s->dm.snap_name, &si);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot query %s: %s", s->volume, strerror(-r));
	if (vi.open_count > 1 || si.open_count > 1)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
		                   "%s or its shadow copy was opened while the revert was being "
		                   "checked; close it and try again",
		                   s->volume);
	*ret_vol_fd = TAKE_FD(vfd);
	*ret_snap_fd = TAKE_FD(sfd);
	return 0;
}

/* Puts s back to "created" after a failed start. */
static void start_failed(Snapshot *s)
{
	s->revert_progress = 0.0;
	snapshot_set_state(s, SNAPSHOT_STATE_CREATED);
	(void)daemon_save_state(s->d);
}

int revert_start(Snapshot *s, VssErr *err)
{
	Daemon *d = s->d;
	Dmdev *dm = d->dm;
	const char *vol = s->dm.volume_name, *snap = s->dm.snap_name;
	DmdevTable st = DMDEV_TABLE_NULL, mt = DMDEV_TABLE_NULL, vt = DMDEV_TABLE_NULL;
	unsigned ra, ri, ca, ci, chunk;
	uint64_t len = 0;
	char mode;
	DmdevInfo vi;
	dev_t vreal;
	_cleanup_close_ int claim_vol = -EBADF, claim_snap = -EBADF;
	int r;

	r = check_revert(s, &vi, err);
	if (r < 0)
		return r;
	r = claim_devices(s, &claim_vol, &claim_snap, err);
	if (r < 0)
		return r;
	r = dmdev_get_table(dm, snap, false, &st);
	if (r >= 0 && (st.n != 1 || !streq(st.targets[0].type, "snapshot") ||
	               sscanf(st.targets[0].params, "%u:%u %u:%u %c %u", &ra, &ri, &ca, &ci, &mode,
	                      &chunk) != 6 ||
	               (mode != 'P' && mode != 'p')))
		r = -EMEDIUMTYPE;
	if (r >= 0)
		r = dmdev_get_table(dm, vol, false, &vt);
	if (r >= 0 && (table_devno(&vt, "snapshot-origin", &vreal) < 0 || vreal != makedev(ra, ri)))
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
		                   snap, s->volume, strerror(-r));
	}

	/* intent: a restart finds "merging" and looks at dm to see how far it got */
	s->revert_progress = 0.0;
	snapshot_set_state(s, SNAPSHOT_STATE_MERGING);
	r = daemon_save_state(d);
	if (r < 0) {
		dmdev_table_done(&mt);
		start_failed(s);
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot record the revert in the state file: %s", strerror(-r));
	}

	r = dmdev_load(dm, vol, &mt);
	dmdev_table_done(&mt);
	if (r < 0) {
		start_failed(s);
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot load the snapshot-merge table into %s: %s", s->volume,
		                   strerror(-r));
	}
	fault_point_kill(d->env.faults, "kill-revert-after-merge-loaded");
	/* the handover of the exceptions needs the shadow copy suspended */
	r = dmdev_suspend(dm, snap, DMDEV_SUSPEND_SKIP_LOCKFS);
	if (r < 0) {
		(void)dmdev_clear(dm, vol);
		start_failed(s);
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot suspend %s: %s", snap, strerror(-r));
	}
	r = dmdev_suspend(dm, vol, DMDEV_SUSPEND_SKIP_LOCKFS);
	if (r < 0) {
		(void)dmdev_clear(dm, vol);
		(void)dmdev_resume(dm, snap);
		start_failed(s);
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, r, "cannot suspend %s: %s",
		                   s->volume, strerror(-r));
	}
	r = dmdev_resume(dm, vol);
	if (r < 0) {
		DmdevTable ot = DMDEV_TABLE_NULL;

		/* back to snapshot-origin, whichever table the failed resume left live */
		log_error_errno(r, "vol=%s: cannot start the merge, restoring: %m", vol);
		(void)dmdev_clear(dm, vol);
		if (dmdev_table_add(&ot, 0, len, "snapshot-origin", "%u:%u", ra, ri) >= 0 &&
		    dmdev_load(dm, vol, &ot) < 0)
			(void)dmdev_clear(dm, vol);
		dmdev_table_done(&ot);
		(void)dmdev_resume(dm, vol);
		(void)dmdev_resume(dm, snap);
		if (!live_type_is(dm, vol, "snapshot-merge")) {
			start_failed(s);
			return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
			                   "cannot start merging %s into %s: %s", snap, s->volume,
			                   strerror(-r));
		}
	}
	/* the merge runs: the claims end here, the shadow copy's device can go */
	closep(&claim_snap);
	closep(&claim_vol);
	/* S returns EIO now; its COW belongs to the merge */
	r = remove_snap_device(s);
	if (r < 0)
		log_warning_errno(r, "snap=%s: cannot remove %s yet, retrying: %m", s->id_str,
		                  snap);
	(void)dmdev_settle(dm);
	log_notice("snap=%s vol=%s: revert started, merging %" PRIu64 " sectors back", s->id_str,
	           s->volume, s->merge_base_sectors);

	r = revert_watch(s);
	if (r < 0) /* dm merges on; a restart watches it again */
		log_error_errno(r, "snap=%s: cannot watch the merge: %m", s->id_str);
	return 0;
}

void revert_recover(Daemon *d)
{
	_cleanup_free_ Snapshot **l = NULL;
	size_t n = 0;

	/* first collect: finishing a merge deletes objects (and maybe their set) */
	for (size_t i = 0; i < d->n_sets; i++)
		for (size_t j = 0; j < d->sets[i]->n_snaps; j++) {
			Snapshot *s = d->sets[i]->snaps[j], **x;

			if (s->state != SNAPSHOT_STATE_MERGING)
				continue;
			x = reallocarray(l, n + 1, sizeof(*l));
			if (!x) {
				log_oom();
				break;
			}
			l = x;
			l[n++] = s;
		}
	for (size_t i = 0; i < n; i++) {
		Snapshot *s = l[i];

		s->merge_base_sectors = 0; /* what is left now counts as the whole */
		s->revert_progress = 0.0;
		if (revert_poll(s) != 0)
			continue;
		log_notice("recovery: snap=%s vol=%s: a revert is under way, watching it again",
		           s->id_str, s->volume);
		if (revert_watch(s) < 0)
			log_error("recovery: snap=%s: cannot watch the merge", s->id_str);
	}
}
