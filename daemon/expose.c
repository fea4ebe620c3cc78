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
	DmdevInfo info;
	int r;

	if (!s->dm.snap_name)
		return -ENODEV;
	r = dmdev_info(s->d->dm, s->dm.snap_name, &info);
	if (r < 0)
		return r;
	if (!info.exists)
		return -ENODEV;
	*ret = makedev(info.major, info.minor);
	return 0;
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
 * revert needs it unmounted) nor on a device vssd made (another shadow copy). */
static int check_placement(Snapshot *s, const char *dir, VssErr *err)
{
	Dmdev *dm = s->d->dm;
	DmdevInfo info;
	dev_t fs;
	int r;

	r = host_of(s)->ops->fs_devno(host_of(s)->userdata, dir, &fs);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, r, "cannot look at %s: %s", dir,
		                   strerror(-r));
	for (size_t i = 0; i < s->set->n_snaps; i++) {
		Snapshot *o = s->set->snaps[i];

		if (dmdev_info(dm, o->dm.volume_name, &info) < 0 || !info.exists ||
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

static int check_dir(Snapshot *s, const char *path, char **ret, VssErr *err)
{
	_cleanup_free_ char *canon = NULL;
	int r;

	if (!valid_abs_path(path))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "mount point \"%.64s\" is not an absolute path", path);
	r = host_of(s)->ops->dir_check(host_of(s)->userdata, path, &canon);
	switch (r) {
	case 0:
		break;
	case -ENOENT:
		return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, r,
		                   "mount point %s does not exist; create an empty directory "
		                   "first",
		                   path);
	case -ENOTDIR:
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, r,
		                   "mount point %s is not a directory", path);
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
	if (!valid_abs_path(canon))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "%s resolves to an unusable path", path);
	r = check_placement(s, canon, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(canon);
	return 0;
}

/* Mounts the shadow copy on dir (checked). 1: mounted; 0: the file system cannot be mounted
 * read-only beside its origin, the device alone is exposed (logged); <0: failure (err). */
static int mount_on(Snapshot *s, const char *dir, VssErr *err)
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
		log_notice("snap=%s: no file system recognised on %s; it is exposed as its device "
		           "only, not mounted on %s",
		           s->id_str, dev, dir);
		return 0;
	}
	opts = expose_mount_options(fstype);
	r = host_of(s)->ops->mount_ro(host_of(s)->userdata, dev, dir, fstype, opts);
	switch (r) {
	case 0:
		log_notice("snap=%s vol=%s: exposed at %s (%s, %s)", s->id_str, s->volume, dir,
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
		log_notice_errno(r,
		                 "snap=%s: the %s file system on %s cannot be mounted read-only "
		                 "beside its origin (-o %s: %m); it is exposed as its device only",
		                 s->id_str, bus_safe_string(fstype), dev, opts);
		return 0;
	}
}

int expose_mount(Snapshot *s, const char *path, char **ret, VssErr *err)
{
	_cleanup_free_ char *dir = NULL;
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
	if (!path[0]) { /* the device only: nothing to do, nothing to remember */
		empty = strdup("");
		if (!empty)
			return -ENOMEM;
		*ret = empty;
		return 0;
	}
	r = check_dir(s, path, &dir, err);
	if (r < 0)
		return r;

	/* intent first: a crash after the mount finds it in the state file */
	s->exposed_path = strdup(dir);
	if (!s->exposed_path)
		return -ENOMEM;
	(void)daemon_save_state(s->d);
	r = mount_on(s, dir, err);
	if (r <= 0) {
		s->exposed_path = mfree(s->exposed_path);
		(void)daemon_save_state(s->d);
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

	if (!mounted_at(s, s->exposed_path)) {
		log_notice("snap=%s: %s was not mounted any more", s->id_str, s->exposed_path);
		r = 0;
	} else
		r = host_of(s)->ops->umount(host_of(s)->userdata, s->exposed_path);
	if (r == -EBUSY)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, r,
		                   "shadow copy %s is exposed at %s and that mount is busy (open "
		                   "files, or a working directory below it); close them and try "
		                   "again",
		                   s->id_str, s->exposed_path);
	if (r < 0 && r != -EINVAL) /* EINVAL: not a mount point (any more) */
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot unmount %s: %s", s->exposed_path, strerror(-r));
	log_notice("snap=%s vol=%s: unexposed from %s", s->id_str, s->volume, s->exposed_path);
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
			VssErr err = { 0 };
			int r;

			if (!s->exposed_path)
				continue;
			if (s->state == SNAPSHOT_STATE_CREATED && mounted_at(s, s->exposed_path)) {
				log_debug("snap=%s: still exposed at %s", s->id_str,
				          s->exposed_path);
				continue;
			}
			dir = TAKE_PTR(s->exposed_path);
			if (s->state != SNAPSHOT_STATE_CREATED) {
				log_warning("recovery: snap=%s is %s, not exposed at %s any more",
				            s->id_str, snapshot_state_to_string(s->state), dir);
				continue;
			}
			r = check_dir(s, dir, &s->exposed_path, &err);
			if (r >= 0) {
				r = mount_on(s, s->exposed_path, &err);
				if (r <= 0)
					s->exposed_path = mfree(s->exposed_path);
			}
			if (r > 0)
				log_notice("recovery: snap=%s: exposed again at %s", s->id_str,
				           s->exposed_path);
			else
				log_error("recovery: snap=%s: cannot expose it again at %s, it is "
				          "no longer exposed: %s",
				          s->id_str, dir,
				          r < 0 ? err.message : "not mountable beside its origin");
		}
}

/* ---- bus ------------------------------------------------------------------------------------- */

int expose_method_expose(Bus *b, DBusMessage *m, void *userdata, const BusCaller *c, VssErr *err)
{
	const BusOption opts[] = { { NULL } }; /* none defined: any key is InvalidArgument */
	_cleanup_free_ char *exposed = NULL;
	DBusMessageIter it;
	DBusMessage *reply;
	const char *path;
	int r;

	dbus_message_iter_init(m, &it);
	dbus_message_iter_get_basic(&it, &path);
	dbus_message_iter_next(&it);
	r = bus_read_options(&it, opts, err);
	if (r < 0)
		return r;
	if (strlen(path) > VSSD_PATH_MAX)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -ENAMETOOLONG,
		                   "mount point is longer than %d bytes", VSSD_PATH_MAX);
	r = expose_mount(userdata, path, &exposed, err);
	if (r < 0)
		return r;
	reply = dbus_message_new_method_return(m);
	if (!reply || !dbus_message_append_args(reply, DBUS_TYPE_STRING,
	                                        &(const char *){ bus_safe_string(exposed) },
	                                        DBUS_TYPE_INVALID)) {
		if (reply)
			dbus_message_unref(reply);
		return -ENOMEM;
	}
	return bus_send(b, reply);
}

int expose_method_unexpose(Bus *b, DBusMessage *m, void *userdata, const BusCaller *c, VssErr *err)
{
	int r = expose_unmount(userdata, err);

	if (r < 0)
		return r;
	return bus_reply_empty(b, m);
}
