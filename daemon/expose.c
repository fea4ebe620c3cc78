/* SPDX-License-Identifier: GPL-2.0-or-later */
/* expose.c - Snapshot.Expose / Unexpose: read-only mounts of shadow copies beside their origins
 *
 * A shadow copy holds the file system as it was at the instant of the set, journal included, and
 * its uuid equals the origin's. ext3/ext4 mount it with noload (the journal is not replayed:
 * nothing is written to a device that must stay as it was) and xfs with norecovery,nouuid (the
 * origin is mounted with the same uuid). Every exposure is nodev,nosuid as well: a shadow copy can
 * hold old set-uid programs that were replaced since because of a flaw. Other file systems get
 * plain "ro"; when that fails too, or no file system is recognised, the shadow copy is exposed as
 * its device only: Expose succeeds and returns "", ExposedPath stays "", and the log says why.
 *
 * The exposure is recorded in the state file (written before the mount, as an intent, and
 * cleared after an unmount). At start-up every restored (persistent) shadow copy whose
 * exposure is not mounted any more is mounted again; shadow copies of other contexts do not
 * survive a restart, and recovery unmounts them before deleting them. Mounts are short
 * (read-only, no journal replay) and run on the main thread, as the COW set-up does. */
#include <sys/sysmacros.h>

#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/dmdev.h"
#include "daemon/expose.h"
#include "daemon/hostops.h"
#include "daemon/safedir.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"

static void *mfree(void *p)
{
	free(p);
	return NULL;
}

static const Host *host_of(Snapshot *s)
{
	return s->d->host;
}

const char *expose_mount_options(const char *fstype)
{
	if (streq_ptr(fstype, "ext4") || streq_ptr(fstype, "ext3"))
		return "ro,nodev,nosuid,noload";
	if (streq_ptr(fstype, "xfs"))
		return "ro,nodev,nosuid,nouuid,norecovery";
	return "ro,nodev,nosuid";
}

static void emit_changed(Snapshot *s)
{
	static const char *const changed[] = { "ExposedPath", "Attributes", NULL };

	if (s->exported)
		bus_emit_properties_changed(&s->d->bus, s->path, VSSD_IFACE_SNAP, changed);
}

static int snap_devno(Snapshot *s, dev_t *ret)
{
	if (!s->ps)
		return -ENODEV;
	return s->provider->ops->snap_devno(s->provider, s->ps, ret);
}

/* Is the shadow copy's device mounted at path? */
static bool mounted_at(Snapshot *s, const char *path)
{
	_cleanup_strv_free_ char **l = NULL;
	dev_t devno;

	if (snap_devno(s, &devno) < 0 ||
	    host_of(s)->ops->mountpoints(host_of(s)->userdata, devno, &l) < 0)
		return false;
	for (char **i = l; i && *i; i++)
		if (streq(*i, path))
			return true;
	return false;
}

/* The directory must not lie on a volume of the set (its file system would stay busy, and a
 * revert needs it unmounted) nor on a device vssd made (another shadow copy). fs: its st_dev. */
static int check_placement(Snapshot *s, const char *dir, dev_t fs, VssErr *err)
{
	Dmdev *dm = s->d->dm;
	DmdevInfo info;

	for (size_t i = 0; i < s->set->n_snaps; i++) {
		Snapshot *o = s->set->snaps[i];

		if (dmdev_info(dm, o->volume_name, &info) < 0 || !info.exists ||
		    makedev(info.major, info.minor) != fs)
			continue;
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -ELOOP,
		                   "%s lies on %s, a volume of the shadow copy's set; choose a "
		                   "directory outside the set",
		                   dir, o->volume);
	}
	if (dmdev_is_dm_major(dm, major(fs)) && dmdev_info_devno(dm, fs, &info) >= 0 &&
	    info.exists && startswith(info.uuid, "VSSD-"))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -ELOOP,
		                   "%s lies on %s, a device of vssd (another shadow copy); choose "
		                   "a directory elsewhere",
		                   dir, info.name);
	return 0;
}

/* Opens the mount point path (checked component by component) into *ret_fd */
static int check_dir(Snapshot *s, const char *path, int *ret_fd, VssErr *err)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *bad = NULL;
	struct stat st;
	int r;

	if (!valid_abs_path(path))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "mount point \"%.64s\" is not an absolute path", path);
	r = host_of(s)->ops->dir_open(host_of(s)->userdata, path, &fd, &st, &bad);
	if (r < 0)
		return safedir_refusal(err, "mount point", path, bad, r);
	r = host_of(s)->ops->dir_mountable(host_of(s)->userdata, fd, path);
	switch (r) {
	case 0:
		break;
	case -ENOTEMPTY:
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, r,
		                   "mount point %s is not empty; use an empty directory", path);
	case -EBUSY:
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, r,
		                   "%s is a mount point already; use an empty directory", path);
	default:
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, r, "cannot use %s: %s", path,
		                   strerror(-r));
	}
	r = check_placement(s, path, st.st_dev, err);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* Mounts the shadow copy on dir (fd: checked). 1: mounted; 0: the file system cannot be mounted
 * read-only beside its origin, the device alone is exposed (logged); <0: failure (err). */
static int mount_on(Snapshot *s, int fd, const char *dir, VssErr *err)
{
	_cleanup_free_ char *fstype = NULL;
	char dev[160];
	const char *opts;
	int r;

	snapshot_device(s, dev, sizeof(dev));
	r = host_of(s)->ops->fs_type(host_of(s)->userdata, dev, &fstype);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot probe %s for a file system: %s", dev, strerror(-r));
	if (!fstype) {
		log_snap_notice(s->id_str, NULL,
		                "no file system recognised on %s; it is exposed as its device "
		                "only, not mounted on %s",
		                dev, dir);
		return 0;
	}
	opts = expose_mount_options(fstype);
	r = host_of(s)->ops->mount_ro(host_of(s)->userdata, dev, fd, dir, fstype, opts);
	switch (r) {
	case 0:
		log_snap_notice(s->id_str, s->volume, "exposed at %s (%s, %s)", dir,
		                bus_safe_string(fstype), opts);
		return 1;
	case -ENOENT:
	case -ENOTDIR:
	case -ENOMEM:
	case -EPERM:
	case -EACCES:
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot mount %s on %s: %s", dev, dir, strerror(-r));
	default:
		/* EINVAL (options), ENODEV (no driver), EBUSY (a duplicate fsid), EUCLEAN ... */
		log_snap_notice_errno(
			s->id_str, NULL, r,
			"the %s file system on %s cannot be mounted read-only "
			"beside its origin (-o %s: %m); it is exposed as its device only",
			bus_safe_string(fstype), dev, opts);
		return 0;
	}
}

/* The mount point vssd chooses itself: VSSD_EXPOSE_DIR/<id, 32 hex digits> */
static char *auto_dir(Snapshot *s)
{
	char id[VSSID_PATH_MAX];
	char *p;

	if (asprintf(&p, VSSD_EXPOSE_DIR "/%s", vssid_to_path(&s->id, id)) < 0)
		return NULL;
	return p;
}

static bool is_auto_dir(Snapshot *s, const char *path)
{
	_cleanup_free_ char *a = auto_dir(s);

	return a && path && streq(a, path);
}

/* Creates the directory vssd chooses (and its parents), root's and 0755 */
static int make_auto_dir(Snapshot *s, const char *path, VssErr *err)
{
	_cleanup_free_ char *bad = NULL;
	int r = host_of(s)->ops->dir_make(host_of(s)->userdata, path, &bad);

	if (r < 0)
		return safedir_refusal(err, "vssd's own mount point", path, bad, r);
	return 0;
}

static void remove_auto_dir(Snapshot *s, const char *path)
{
	int r;

	if (!is_auto_dir(s, path))
		return;
	r = host_of(s)->ops->dir_remove(host_of(s)->userdata, path);
	if (r < 0 && r != -ENOENT)
		log_snap_warning_errno(s->id_str, NULL, r, "cannot remove its mount point %s: %m",
		                       path);
}

int expose_mount(Snapshot *s, const char *path, char **ret, VssErr *err)
{
	return expose_mount_flags(s, path, 0, ret, err);
}

int expose_mount_flags(Snapshot *s, const char *path, ExposeFlags flags, char **ret, VssErr *err)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int fd = -EBADF;
	char *empty;
	int r;

	switch (s->state) {
	case SNAPSHOT_STATE_CREATED:
		break;
	case SNAPSHOT_STATE_PREPARING:
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "shadow copy %s is not created yet", s->id_str);
	case SNAPSHOT_STATE_INVALID:
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "shadow copy %s is invalid (its storage overflowed or its "
		                   "device is missing): there is nothing to expose",
		                   s->id_str);
	case SNAPSHOT_STATE_MERGING:
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "shadow copy %s is being reverted into %s", s->id_str,
		                   s->volume);
	case SNAPSHOT_STATE_DELETING:
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "shadow copy %s is being deleted", s->id_str);
	case _SNAPSHOT_STATE_MAX:
	case _SNAPSHOT_STATE_INVALID:
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY, "shadow copy %s is unusable",
		                   s->id_str);
	}
	if (s->exposed_path)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EALREADY,
		                   "shadow copy %s is exposed at %s already; unexpose it first",
		                   s->id_str, s->exposed_path);
	if ((flags & EXPOSE_AUTO_MOUNT_POINT) && path[0])
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "give either a mount point or auto-mount-point, not both");
	if (!path[0] && !(flags & EXPOSE_AUTO_MOUNT_POINT)) {
		/* the device only: nothing to do, nothing to remember */
		empty = strdup("");
		if (!empty)
			return -ENOMEM;
		*ret = empty;
		return 0;
	}
	if (flags & EXPOSE_AUTO_MOUNT_POINT) {
		dir = auto_dir(s);
		if (!dir)
			return -ENOMEM;
		r = make_auto_dir(s, dir, err);
	} else {
		dir = strdup(path);
		r = dir ? 0 : -ENOMEM;
	}
	if (r >= 0)
		r = check_dir(s, dir, &fd, err);
	if (r < 0) {
		if (flags & EXPOSE_AUTO_MOUNT_POINT)
			remove_auto_dir(s, dir);
		return r;
	}

	/* intent first: a crash after the mount finds it in the state file */
	s->exposed_path = strdup(dir);
	if (!s->exposed_path)
		return -ENOMEM;
	(void)daemon_save_state(s->d);
	r = mount_on(s, fd, dir, err);
	if (r <= 0) {
		s->exposed_path = mfree(s->exposed_path);
		(void)daemon_save_state(s->d);
		remove_auto_dir(s, dir);
		if (r < 0)
			return r;
		empty = strdup("");
		if (!empty)
			return -ENOMEM;
		*ret = empty;
		return 0;
	}
	emit_changed(s);
	*ret = TAKE_PTR(dir);
	return 0;
}

/* Unmounts the exposure; -EBUSY (VolumeInUse) while busy. The exposure is forgotten on success,
 * and when the mount is gone already. */
static int unmount_exposure(Snapshot *s, VssErr *err)
{
	int r;

	dev_t devno;

	/* only what vssd mounted: a mount of the shadow copy's device, checked on the fd */
	if (!mounted_at(s, s->exposed_path) || snap_devno(s, &devno) < 0) {
		log_snap_notice(s->id_str, NULL, "%s was not mounted any more", s->exposed_path);
		r = 0;
	} else
		r = host_of(s)->ops->umount(host_of(s)->userdata, s->exposed_path, devno);
	if (r == -EBUSY)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, r,
		                   "shadow copy %s is exposed at %s and that mount is busy (open "
		                   "files, or a working directory below it); close them and try "
		                   "again",
		                   s->id_str, s->exposed_path);
	if (r < 0 && r != -EINVAL) /* EINVAL: not a mount point (any more) */
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot unmount %s: %s", s->exposed_path, strerror(-r));
	log_snap_notice(s->id_str, s->volume, "unexposed from %s", s->exposed_path);
	remove_auto_dir(s, s->exposed_path);
	s->exposed_path = mfree(s->exposed_path);
	emit_changed(s);
	return 0;
}

int expose_unmount(Snapshot *s, VssErr *err)
{
	int r;

	if (!s->exposed_path)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -ENOENT,
		                   "shadow copy %s is not exposed", s->id_str);
	r = unmount_exposure(s, err);
	if (r < 0)
		return r;
	(void)daemon_save_state(s->d);
	return 0;
}

int expose_release(Snapshot *s, VssErr *err)
{
	if (!s->exposed_path)
		return 0;
	return unmount_exposure(s, err);
}

void expose_recover(Daemon *d)
{
	for (size_t i = 0; i < d->n_sets; i++)
		for (size_t j = 0; j < d->sets[i]->n_snaps; j++) {
			Snapshot *s = d->sets[i]->snaps[j];
			_cleanup_free_ char *dir = NULL;
			_cleanup_close_ int fd = -EBADF;
			VssErr err = { 0 };
			int r;

			if (!s->exposed_path)
				continue;
			if (s->state == SNAPSHOT_STATE_CREATED && mounted_at(s, s->exposed_path)) {
				log_snap_debug(s->id_str, NULL, "still exposed at %s",
				               s->exposed_path);
				continue;
			}
			dir = TAKE_PTR(s->exposed_path);
			if (s->state != SNAPSHOT_STATE_CREATED) {
				log_warning("recovery: snap=%s is %s, not exposed at %s any more",
				            s->id_str, snapshot_state_to_string(s->state), dir);
				continue;
			}
			/* vssd's own mount point went with /run at a reboot */
			r = is_auto_dir(s, dir) ? make_auto_dir(s, dir, &err) : 0;
			if (r >= 0)
				r = check_dir(s, dir, &fd, &err);
			if (r >= 0) {
				s->exposed_path = strdup(dir);
				r = s->exposed_path ? mount_on(s, fd, dir, &err) : -ENOMEM;
				if (r <= 0) {
					s->exposed_path = mfree(s->exposed_path);
					remove_auto_dir(s, dir);
				}
			}
			if (r > 0)
				log_notice("recovery: snap=%s: exposed again at %s", s->id_str,
				           s->exposed_path);
			else
				log_error(
					"recovery: snap=%s: cannot expose it again at %s, it is "
					"no longer exposed: %s",
					s->id_str, dir,
					r < 0 ? (vss_err_is_set(&err) ? err.message : strerror(-r))
					      : "not mountable beside its origin");
		}
}
