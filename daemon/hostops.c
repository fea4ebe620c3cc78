/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hostops.c - host operations behind an ops table: block devices, COW files, loops, mounts, freeze
 */
#include <blkid.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <libmount.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "common/vssd-limits.h"
#include "daemon/hostops.h"
#include "daemon/safedir.h"

static int real_stat_block(void *ud, const char *path, dev_t *ret)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	*ret = st.st_rdev;
	return 0;
}

static int real_fs_devno(void *ud, const char *path, dev_t *ret)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	*ret = st.st_dev;
	return 0;
}

/* The directory of a COW file, opened through safedir (root's, no symlink), and its name */
static int open_parent(const char *path, int *ret_dfd, const char **ret_name)
{
	int r = safedir_open_parent(path, 0, ret_dfd, ret_name, NULL);

	if (r < 0)
		log_warning("%s: its directory is not root's alone (%s); not used", path,
		            safedir_strerror(r));
	return r;
}

/* A COW file, opened O_NOFOLLOW below its checked directory */
static int open_cow(const char *path, int flags, struct stat *ret_st)
{
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF;
	const char *name;
	int r;

	r = open_parent(path, &dfd, &name);
	if (r < 0)
		return r;
	fd = openat(dfd, name, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, ret_st) < 0)
		return -errno;
	if (!S_ISREG(ret_st->st_mode))
		return -EINVAL;
	return TAKE_FD(fd);
}

static int real_file_create(void *ud, const char *path, uint64_t bytes, HostFileId *ret_id)
{
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF, rfd = -EBADF;
	const char *name;
	struct stat st;
	int r;

	r = open_parent(path, &dfd, &name);
	if (r < 0)
		return r;
	/* an O_PATH fd cannot be written through: reopen "." of the checked directory */
	rfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return -errno;
	fd = openat(rfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)bytes) < 0 || fstat(fd, &st) < 0) {
		int e = -errno;

		(void)unlinkat(rfd, name, 0);
		return e;
	}
	if (fsync(rfd) < 0)
		return -errno;
	*ret_id = (HostFileId){ .dev = st.st_dev, .ino = st.st_ino };
	return 0;
}

static int real_file_remove(void *ud, const char *path)
{
	_cleanup_close_ int dfd = -EBADF, rfd = -EBADF;
	const char *name;
	int r;

	r = open_parent(path, &dfd, &name);
	if (r < 0)
		return r;
	rfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return -errno;
	if (unlinkat(rfd, name, 0) < 0)
		return -errno;
	return fsync(rfd) < 0 ? -errno : 0;
}

static int real_file_grow(void *ud, const char *path, uint64_t bytes)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	fd = open_cow(path, O_RDWR, &st);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size >= bytes)
		return 0;
	if (ftruncate(fd, (off_t)bytes) < 0)
		return -errno;
	return 0;
}

static int real_file_allocated(void *ud, const char *path, uint64_t *ret)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return -errno;
	*ret = (uint64_t)st.st_blocks * 512;
	return 0;
}

static int real_loop_attach(void *ud, const char *file, const HostFileId *expect, dev_t *ret_devno,
                            int *ret_fd)
{
	_cleanup_close_ int ctl = -EBADF, ffd = -EBADF;
	struct stat st;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	ffd = open_cow(file, O_RDWR, &st);
	if (ffd < 0)
		return ffd;
	if (expect && (st.st_dev != expect->dev || st.st_ino != expect->ino))
		return -ESTALE; /* another file under the same name: not what vssd created */
	if (!expect && (st.st_uid != 0 || st.st_nlink != 1))
		return -EPERM;

	for (unsigned attempt = 0; attempt < 64; attempt++) {
		_cleanup_close_ int lfd = -EBADF;
		struct loop_config cfg = { 0 };
		char dev[64];
		int nr;

		nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0)
			return -errno;
		snprintf(dev, sizeof(dev), "/dev/loop%d", nr);
		lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0)
			return -errno;
		cfg.fd = (uint32_t)ffd;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", file);
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) < 0) {
			if (errno == EBUSY) /* another process took it first: ask again */
				continue;
			return -errno;
		}
		if (fstat(lfd, &st) < 0)
			return -errno;
		*ret_devno = st.st_rdev;
		*ret_fd = TAKE_FD(lfd);
		return 0;
	}
	return -EBUSY;
}

static int real_loop_backing_file(void *ud, dev_t devno, char **ret)
{
	char p[128], buf[VSSD_PATH_BUF];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	if (major(devno) != 7)
		return -ENXIO;
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/loop/backing_file", major(devno),
	         minor(devno));
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENXIO : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = 0;
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

static int real_loop_refresh(void *ud, dev_t devno)
{
	char dev[64];
	_cleanup_close_ int fd = -EBADF;

	snprintf(dev, sizeof(dev), "/dev/loop%u", minor(devno));
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, LOOP_SET_CAPACITY, 0) < 0)
		return -errno;
	return 0;
}

static int real_mountpoints(void *ud, dev_t devno, char ***ret)
{
	struct libmnt_table *tb = mnt_new_table();
	struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
	struct libmnt_fs *fs;
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
	int r = 0;

	if (!tb || !it || !l) {
		r = -ENOMEM;
		goto out;
	}
	r = mnt_table_parse_file(tb, "/proc/self/mountinfo");
	if (r < 0)
		goto out;
	while (mnt_table_next_fs(tb, it, &fs) == 0) {
		const char *t = mnt_fs_get_target(fs);

		if (mnt_fs_get_devno(fs) != devno || !t)
			continue;
		r = strv_extend(&l, t);
		if (r < 0)
			goto out;
	}
	*ret = TAKE_PTR(l);
	r = 0;
out:
	mnt_free_iter(it);
	mnt_unref_table(tb);
	return r;
}

static int fs_ioctl(const char *mountpoint, unsigned long req)
{
	_cleanup_close_ int fd = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, req, 0) < 0)
		return -errno;
	return 0;
}

static int real_freeze(void *ud, const char *mountpoint)
{
	return fs_ioctl(mountpoint, FIFREEZE);
}

static int real_thaw(void *ud, const char *mountpoint)
{
	return fs_ioctl(mountpoint, FITHAW);
}

static int real_sync(void *ud, const char *mountpoint)
{
	_cleanup_close_ int fd = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (syncfs(fd) < 0)
		return -errno;
	return 0;
}

static usec_t real_now(void *ud)
{
	return now_usec(CLOCK_MONOTONIC);
}

/* ---- exposure (daemon/expose.c) */

static int real_dir_open(void *ud, const char *path, int *ret_fd, struct stat *ret_st,
                         char **ret_bad)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	r = safedir_open(path, 0, &fd, ret_bad);
	if (r < 0)
		return r;
	if (fstat(fd, ret_st) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int real_dir_mountable(void *ud, int fd, const char *path)
{
	struct statx sx;
	struct dirent *de;
	DIR *dir;
	int dfd, r = 0;

	if (statx(fd, "", AT_EMPTY_PATH, 0, &sx) < 0)
		return -errno;
	if (sx.stx_attributes_mask & sx.stx_attributes & STATX_ATTR_MOUNT_ROOT)
		return -EBUSY;
	/* "." of the checked directory: the same inode, never a path walked again */
	dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	dir = fdopendir(dfd);
	if (!dir) {
		r = -errno;
		close(dfd);
		return r;
	}
	errno = 0;
	while ((de = readdir(dir)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
			r = -ENOTEMPTY;
			break;
		}
	if (r == 0 && errno > 0)
		r = -errno;
	closedir(dir);
	return r;
}

static int real_dir_make(void *ud, const char *path, char **ret_bad)
{
	_cleanup_close_ int fd = -EBADF;

	return safedir_make(path, 0, 0755, &fd, ret_bad);
}

static int real_dir_remove(void *ud, const char *path)
{
	_cleanup_close_ int fd = -EBADF;
	const char *name;
	int r;

	r = safedir_open_parent(path, 0, &fd, &name, NULL);
	if (r < 0)
		return r;
	if (unlinkat(fd, name, AT_REMOVEDIR) < 0)
		return -errno;
	return 0;
}

static int real_fs_type(void *ud, const char *device, char **ret)
{
	const char *type = NULL;
	blkid_probe pr;
	int r;

	pr = blkid_new_probe_from_filename(device);
	if (!pr)
		return errno > 0 ? -errno : -EIO;
	if (blkid_probe_enable_superblocks(pr, 1) < 0 ||
	    blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE) < 0 ||
	    blkid_probe_filter_superblocks_usage(pr, BLKID_FLTR_ONLYIN, BLKID_USAGE_FILESYSTEM) <
	            0) {
		blkid_free_probe(pr);
		return -ENOMEM;
	}
	r = blkid_do_safeprobe(pr);
	if (r == 0 && blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0 && type) {
		*ret = strdup(type);
		r = *ret ? 0 : -ENOMEM;
	} else if (r == 0 || r == 1 || r == -2) { /* nothing, or more than one: none */
		*ret = NULL;
		r = 0;
	} else
		r = -EIO;
	blkid_free_probe(pr);
	return r;
}

/* The fallback where the new mount API is missing: mount(2) onto the checked fd through
 * /proc/self/fd, which names the inode the fd holds, not a path walked again */
static int mount_ro_legacy(const char *device, int target_fd, const char *fstype,
                           unsigned long flags, const char *data)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/self/fd/%d", target_fd);
	if (mount(device, p, fstype, flags, data[0] ? data : NULL) < 0)
		return -errno;
	return 0;
}

static int real_mount_ro(void *ud, const char *device, int target_fd, const char *target,
                         const char *fstype, const char *options)
{
	_cleanup_close_ int fsfd = -EBADF, mfd = -EBADF;
	_cleanup_free_ char *opts = strdup(options), *data = calloc(1, strlen(options) + 1);
	unsigned long flags = MS_RDONLY;
	unsigned attr = MOUNT_ATTR_RDONLY;
	char *save = NULL;

	if (!opts || !data)
		return -ENOMEM;
	fsfd = fsopen(fstype, FSOPEN_CLOEXEC);
	if (fsfd < 0 && errno != ENOSYS)
		return -errno;
	if (fsfd >= 0 && fsconfig(fsfd, FSCONFIG_SET_STRING, "source", device, 0) < 0)
		return -errno;
	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (streq(o, "nodev")) {
			attr |= MOUNT_ATTR_NODEV;
			flags |= MS_NODEV;
		} else if (streq(o, "nosuid")) {
			attr |= MOUNT_ATTR_NOSUID;
			flags |= MS_NOSUID;
		} else if (fsfd >= 0) { /* "ro" (the superblock) and the file system's own */
			if (fsconfig(fsfd, FSCONFIG_SET_FLAG, o, NULL, 0) < 0)
				return -errno;
		} else if (!streq(o, "ro")) {
			if (data[0])
				strcat(data, ",");
			strcat(data, o);
		}
	}
	if (fsfd < 0)
		return mount_ro_legacy(device, target_fd, fstype, flags, data);
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, attr);
	if (mfd < 0)
		return -errno;
	/* onto the very directory that was checked: no path is resolved here */
	if (move_mount(mfd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
	    0)
		return -errno;
	return 0;
}

static int real_umount(void *ud, const char *target, dev_t devno)
{
	_cleanup_close_ int pfd = -EBADF, fd = -EBADF;
	struct statx sx;
	const char *name;
	char p[VSSD_PATH_BUF + 32];
	int r;

	/* the parent, checked: nobody but root can change what its name leads to */
	r = safedir_open_parent(target, 0, &pfd, &name, NULL);
	if (r < 0)
		return r == -ENOENT ? -EINVAL : r;
	fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -EINVAL : -errno;
	if (statx(fd, "", AT_EMPTY_PATH, 0, &sx) < 0)
		return -errno;
	/* only the mount vssd made: the root of a mount of the shadow copy's device */
	if (!S_ISDIR(sx.stx_mode) ||
	    !(sx.stx_attributes_mask & sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ||
	    makedev(sx.stx_dev_major, sx.stx_dev_minor) != devno)
		return -EINVAL;
	closep(&fd); /* an fd on the mount would keep it busy */
	snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", pfd, name);
	if (umount2(p, UMOUNT_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* ---- end exposure */

/* ---- revert (daemon/revert.c) */

static int real_claim(void *ud, const char *device, int *ret_fd)
{
	int fd = open(device, O_RDONLY | O_EXCL | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

static ssize_t real_file_read(void *ud, const char *path, uint64_t offset, void *buf, size_t size)
{
	struct stat st;
	_cleanup_close_ int fd = open_cow(path, O_RDONLY, &st);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = pread(fd, buf, size, (off_t)offset);
	return n < 0 ? -errno : n;
}

/* ---- end revert */

static const HostOps host_real_ops = {
	.stat_block = real_stat_block,
	.fs_devno = real_fs_devno,
	.file_create = real_file_create,
	.file_remove = real_file_remove,
	.file_grow = real_file_grow,
	.file_allocated = real_file_allocated,
	.loop_attach = real_loop_attach,
	.loop_backing_file = real_loop_backing_file,
	.loop_refresh = real_loop_refresh,
	.mountpoints = real_mountpoints,
	.freeze = real_freeze,
	.thaw = real_thaw,
	.sync = real_sync,
	.now = real_now,
	.dir_open = real_dir_open,
	.dir_mountable = real_dir_mountable,
	.dir_make = real_dir_make,
	.dir_remove = real_dir_remove,
	.fs_type = real_fs_type,
	.mount_ro = real_mount_ro,
	.umount = real_umount,
	.file_read = real_file_read,
	.claim = real_claim,
};

const Host host_real = { .ops = &host_real_ops, .userdata = NULL };
