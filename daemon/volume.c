/* SPDX-License-Identifier: GPL-2.0-or-later */
/* volume.c - volumes vssd wraps itself: a plain block device behind a dm-linear device */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "common/valid.h"
#include "common/vssid.h"
#include "daemon/daemon.h"
#include "daemon/dmdev.h"
#include "daemon/dmsnap.h"
#include "daemon/hostops.h"
#include "daemon/snapshot.h"
#include "daemon/state.h"
#include "daemon/volume.h"

ManagedVolume *volume_find(Daemon *d, const char *name)
{
	for (size_t i = 0; i < d->n_volumes; i++)
		if (streq(d->volumes[i].name, name))
			return &d->volumes[i];
	return NULL;
}

static void managed_done(ManagedVolume *v)
{
	free(v->name);
	free(v->device);
	*v = (ManagedVolume){ 0 };
}

void volumes_done(Daemon *d)
{
	for (size_t i = 0; i < d->n_volumes; i++)
		managed_done(&d->volumes[i]);
	free(d->volumes);
	d->volumes = NULL;
	d->n_volumes = 0;
}

static int managed_add(Daemon *d, const char *name, const char *device, uint64_t sectors)
{
	ManagedVolume *n = reallocarray(d->volumes, d->n_volumes + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	d->volumes = n;
	n[d->n_volumes] = (ManagedVolume){ .name = strdup(name),
		                           .device = strdup(device),
		                           .sectors = sectors };
	if (!n[d->n_volumes].name || !n[d->n_volumes].device) {
		managed_done(&n[d->n_volumes]);
		return -ENOMEM;
	}
	d->n_volumes++;
	return 0;
}

/* A name that survives a reboot: a /dev/disk/by-id (or by-partuuid) link to devno, if udev
 * made one; else the path as given. */
static char *stable_path(const char *given, dev_t devno)
{
	static const char *const dirs[] = { "/dev/disk/by-id", "/dev/disk/by-partuuid" };

	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		DIR *dir = opendir(dirs[i]);
		struct dirent *e;

		if (!dir)
			continue;
		while ((e = readdir(dir))) {
			char p[512];
			struct stat st;

			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", dirs[i], e->d_name);
			if (stat(p, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == devno) {
				closedir(dir);
				return strdup(p);
			}
		}
		closedir(dir);
	}
	return strdup(given);
}

static int create_linear(Daemon *d, const char *name, dev_t devno, uint64_t sectors)
{
	DmdevTable t = DMDEV_TABLE_NULL;
	char uuid[64], id32[VSSID_PATH_MAX];
	VssId id;
	int r;

	vssid_generate(&id);
	snprintf(uuid, sizeof(uuid), VOLUME_UUID_PREFIX "%s", vssid_to_path(&id, id32));
	r = dmdev_table_add(&t, 0, sectors, "linear", "%u:%u 0", major(devno), minor(devno));
	if (r >= 0)
		r = dmdev_create(d->dm, name, uuid, &t, NULL);
	dmdev_table_done(&t);
	(void)dmdev_settle(d->dm);
	return r;
}

int volume_create(Daemon *d, const char *device, const char *name, char **ret_volume, VssErr *err)
{
	_cleanup_free_ char *dflt = NULL, *stable = NULL, *volume = NULL;
	_cleanup_close_ int fd = -EBADF;
	const char *kname;
	uint64_t bytes;
	struct stat st;
	DmdevInfo info;
	int r;

	if (!valid_abs_path(device))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "\"%.64s\" is not an absolute device path", device);
	if (stat(device, &st) < 0)
		return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -errno, "%s: %s", device,
		                   strerror(errno));
	if (!S_ISBLK(st.st_mode))
		return vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -ENOTBLK,
		                   "%s is not a block device", device);
	if (dmdev_is_dm_major(d->dm, major(st.st_rdev)))
		return vss_err_set(err, VSS_ERROR_OBJECT_ALREADY_EXISTS, -EEXIST,
		                   "%s is a device-mapper device already: snapshot it directly",
		                   device);
	/* O_EXCL on a block device fails with EBUSY while it is mounted or claimed */
	fd = open(device, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0)
		return vss_err_set(err,
		                   errno == EBUSY ? VSS_ERROR_VOLUME_IN_USE
		                                  : VSS_ERROR_UNEXPECTED_PROVIDER_ERROR,
		                   -errno, "%s %s", device,
		                   errno == EBUSY ? "is mounted or in use; unmount it first"
		                                  : strerror(errno));
	if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, -errno,
		                   "cannot read the size of %s: %s", device, strerror(errno));
	if (bytes < 512 * 1024)
		return vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -ERANGE,
		                   "%s is too small to hold a volume", device);
	if (!name || !name[0]) {
		kname = strrchr(device, '/') + 1;
		if (asprintf(&dflt, "vssd-%s", kname) < 0)
			return -ENOMEM;
		name = dflt;
	}
	if (!valid_dm_name(name) || strlen(name) > 100)
		return vss_err_set(
			err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			"\"%.64s\" is not a usable device-mapper name ([A-Za-z0-9#+-.:=@_], "
			"at most 100 characters)",
			name);
	r = dmdev_info(d->dm, name, &info);
	if (r >= 0 && info.exists)
		return vss_err_set(err, VSS_ERROR_OBJECT_ALREADY_EXISTS, -EEXIST,
		                   "a device-mapper device named %s exists already", name);
	closep(&fd); /* our own claim would make the table load fail */
	r = create_linear(d, name, st.st_rdev, bytes / 512);
	if (r < 0)
		return vss_err_set(err,
		                   r == -EBUSY ? VSS_ERROR_VOLUME_IN_USE
		                               : VSS_ERROR_UNEXPECTED_PROVIDER_ERROR,
		                   r, "cannot create %s over %s: %s", name, device, strerror(-r));
	stable = stable_path(device, st.st_rdev);
	if (!stable || asprintf(&volume, "/dev/mapper/%s", name) < 0 ||
	    managed_add(d, name, stable, bytes / 512) < 0) {
		(void)dmdev_remove(d->dm, name);
		return -ENOMEM;
	}
	(void)daemon_save_state(d);
	log_vol_notice(volume, "created over %s (%s), %" PRIu64 " bytes", device, stable, bytes);
	*ret_volume = TAKE_PTR(volume);
	return 0;
}

int volume_remove(Daemon *d, const char *volume, VssErr *err)
{
	_cleanup_free_ Snapshot **l = NULL;
	const char *name = startswith(volume, "/dev/mapper/");
	ManagedVolume *v;
	DmdevInfo info;
	size_t n = 0;
	int r;

	v = name ? volume_find(d, name) : NULL;
	if (!v) {
		/* any path of the same block device names the same volume (/dev/dm-N, by-id) */
		dev_t devno;

		if (d->host->ops->stat_block(d->host->userdata, volume, &devno) >= 0 &&
		    dmdev_is_dm_major(d->dm, major(devno)) &&
		    dmdev_info_devno(d->dm, devno, &info) >= 0 && info.exists)
			v = volume_find(d, info.name);
	}
	if (!v)
		return vss_err_set(
			err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
			"%s is not a volume vssd created (vssctl list volumes shows them)", volume);
	r = daemon_volume_snapshots(d, v->name, &l, &n);
	if (r < 0)
		return r;
	if (n > 0)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
		                   "%s has %zu shadow copies; delete them first", volume, n);
	r = dmdev_info(d->dm, v->name, &info);
	if (r >= 0 && info.exists && info.open_count > 0)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
		                   "%s is open (mounted or in use); close it first", volume);
	if (r >= 0 && info.exists) {
		r = dmdev_remove(d->dm, v->name);
		(void)dmdev_settle(d->dm);
		if (r < 0)
			return vss_err_set(err,
			                   r == -EBUSY ? VSS_ERROR_VOLUME_IN_USE
			                               : VSS_ERROR_UNEXPECTED_PROVIDER_ERROR,
			                   r, "cannot remove %s: %s", volume, strerror(-r));
	}
	log_vol_notice(volume, "removed; %s is a plain device again", v->device);
	managed_done(v);
	*v = d->volumes[--d->n_volumes];
	(void)daemon_save_state(d);
	return 0;
}

int volumes_restore(Daemon *d, const State *st)
{
	for (size_t i = 0; i < st->n_volumes; i++) {
		const StateVolume *x = &st->volumes[i];
		DmdevInfo info;
		struct stat s;
		int r;

		r = managed_add(d, x->name, x->device, x->sectors);
		if (r < 0)
			return r;
		if (dmdev_info(d->dm, x->name, &info) >= 0 && info.exists)
			continue;
		if (stat(x->device, &s) < 0 || !S_ISBLK(s.st_mode)) {
			log_error("recovery: vol=/dev/mapper/%s: its device %s is gone; not "
			          "re-created",
			          x->name, x->device);
			continue;
		}
		r = create_linear(d, x->name, s.st_rdev, x->sectors);
		if (r < 0)
			log_error_errno(
				r, "recovery: vol=/dev/mapper/%s: cannot re-create over %s: %m",
				x->name, x->device);
		else
			log_notice("recovery: vol=/dev/mapper/%s: re-created over %s", x->name,
			           x->device);
	}
	return 0;
}

int volumes_save(Daemon *d, State *st)
{
	for (size_t i = 0; i < d->n_volumes; i++) {
		StateVolume x = { .sectors = d->volumes[i].sectors };
		int r;

		x.name = strdup(d->volumes[i].name);
		x.device = strdup(d->volumes[i].device);
		r = x.name && x.device ? state_add_volume(st, &x) : -ENOMEM;
		if (r < 0) {
			state_volume_done(&x);
			return r;
		}
	}
	return 0;
}
