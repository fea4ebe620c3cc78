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

static int fsync_parent(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int dfd = -EBADF;

	if (!copy)
		return -ENOMEM;
	dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (fsync(dfd) < 0)
		return -errno;
	return 0;
}

static int real_file_create(void *ud, const char *path, uint64_t bytes)
{
	_cleanup_close_ int fd = -EBADF;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)bytes) < 0) {
		int e = -errno;

		(void)unlink(path);
		return e;
	}
	return fsync_parent(path);
}

static int real_file_remove(void *ud, const char *path)
{
	if (unlink(path) < 0)
		return -errno;
	return fsync_parent(path);
}

static int real_file_grow(void *ud, const char *path, uint64_t bytes)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
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

static int real_loop_attach(void *ud, const char *file, dev_t *ret_devno, int *ret_fd)
{
	_cleanup_close_ int ctl = -EBADF, ffd = -EBADF;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	ffd = open(file, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (ffd < 0)
		return -errno;

	for (unsigned attempt = 0; attempt < 64; attempt++) {
		_cleanup_close_ int lfd = -EBADF;
		struct loop_config cfg = { 0 };
		char dev[64];
		struct stat st;
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

static int real_dir_check(void *ud, const char *path, char **ret)
{
	_cleanup_free_ char *canon = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct statx sx;
	struct dirent *de;
	DIR *dir;
	int r = 0;

	canon = realpath(path, NULL);
	if (!canon)
		return -errno;
	fd = open(canon, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (statx(fd, "", AT_EMPTY_PATH, 0, &sx) < 0)
		return -errno;
	if (sx.stx_attributes_mask & sx.stx_attributes & STATX_ATTR_MOUNT_ROOT)
		return -EBUSY;
	dir = fdopendir(fd);
	if (!dir)
		return -errno;
	fd = -EBADF; /* the DIR owns it now */
	errno = 0;
	while ((de = readdir(dir)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
			r = -ENOTEMPTY;
			break;
		}
	if (r == 0 && errno > 0)
		r = -errno;
	closedir(dir);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(canon);
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

static int real_mount_ro(void *ud, const char *device, const char *target, const char *fstype,
                         const char *options)
{
	struct libmnt_context *cxt = mnt_new_context();
	int r;

	if (!cxt)
		return -ENOMEM;
	/* exactly this mount: no fstab, no /sbin/mount.<type> helper, no utab entry */
	r = mnt_context_set_optsmode(cxt, MNT_OMODE_IGNORE);
	if (r >= 0)
		r = mnt_context_disable_helpers(cxt, 1);
	if (r >= 0)
		r = mnt_context_disable_mtab(cxt, 1);
	if (r >= 0)
		r = mnt_context_disable_canonicalize(cxt, 1);
	if (r >= 0)
		r = mnt_context_set_source(cxt, device);
	if (r >= 0)
		r = mnt_context_set_target(cxt, target);
	if (r >= 0)
		r = mnt_context_set_fstype(cxt, fstype);
	if (r >= 0)
		r = mnt_context_set_options(cxt, options);
	if (r >= 0) {
		r = mnt_context_mount(cxt);
		if (r > 0) /* mount(2) failed: its errno */
			r = mnt_context_syscall_called(cxt) &&
			                    mnt_context_get_syscall_errno(cxt) > 0
			            ? -mnt_context_get_syscall_errno(cxt)
			            : -EIO;
		else if (r < -4095) /* a libmount MNT_ERR_* code */
			r = -EINVAL;
	}
	mnt_free_context(cxt);
	return r < 0 ? r : 0;
}

static int real_umount(void *ud, const char *target)
{
	if (umount2(target, UMOUNT_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* ---- end exposure */

/* ---- revert (daemon/revert.c) */

static ssize_t real_file_read(void *ud, const char *path, uint64_t offset, void *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
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
	.dir_check = real_dir_check,
	.fs_type = real_fs_type,
	.mount_ro = real_mount_ro,
	.umount = real_umount,
	.file_read = real_file_read,
};

const Host host_real = { .ops = &host_real_ops, .userdata = NULL };
