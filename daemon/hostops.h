/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hostops.h - host operations behind an ops table: block devices, COW files, loops, mounts, freeze
 */
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include "common/macro.h"

/* Which file: st_dev and st_ino, as vssd saw the file it created */
typedef struct HostFileId {
	uint64_t dev;
	uint64_t ino;
} HostFileId;

typedef struct HostOps {
	/* stat() of a path that must be a block device: -ENOENT, -ENOTBLK, ... */
	int (*stat_block)(void *ud, const char *path, dev_t *ret);
	/* st_dev of the file system holding path (an existing file or directory) */
	int (*fs_devno)(void *ud, const char *path, dev_t *ret);
	/* Creates a new sparse file of bytes (O_EXCL), fsyncs its directory; *ret_id: which file
	 * it is. COW files are always reached through their directory opened by safedir_open()
	 * (root's components, no symlink) and O_NOFOLLOW, here and in every op below. */
	int (*file_create)(void *ud, const char *path, uint64_t bytes, HostFileId *ret_id);
	int (*file_remove)(void *ud, const char *path);
	/* Grows a sparse file */
	int (*file_grow)(void *ud, const char *path, uint64_t bytes);
	/* The space a (sparse) file takes on its file system: st_blocks in bytes */
	int (*file_allocated)(void *ud, const char *path, uint64_t *ret);
	/* Attaches file to a free loop device with autoclear. The returned fd keeps it attached
	 * until a device-mapper table holds it; closing it then leaves the loop to the kernel.
	 * expect: the file must be that one (-ESTALE otherwise); NULL: one whose identity was not
	 * recorded, which must be a regular file owned by root with one link (-EPERM otherwise). */
	int (*loop_attach)(void *ud, const char *file, const HostFileId *expect, dev_t *ret_devno,
	                   int *ret_fd);
	/* Backing file of a loop device, or -ENXIO when devno is not an attached loop device */
	int (*loop_backing_file)(void *ud, dev_t devno, char **ret);
	/* Tells a loop device its backing file changed size (LOOP_SET_CAPACITY) */
	int (*loop_refresh)(void *ud, dev_t devno);
	/* Mount points of the file systems on devno (empty list if none) */
	int (*mountpoints)(void *ud, dev_t devno, char ***ret);
	/* FIFREEZE / FITHAW / syncfs of the file system mounted at path. freeze and sync block
	 * and are called from worker threads: implementations must be thread-safe. */
	int (*freeze)(void *ud, const char *mountpoint);
	int (*thaw)(void *ud, const char *mountpoint);
	int (*sync)(void *ud, const char *mountpoint);
	usec_t (*now)(void *ud); /* CLOCK_MONOTONIC */
	/* ---- exposure (daemon/expose.c); shadow storage locations (daemon/storage.c) */
	/* Opens an existing directory through safedir_open() (owner root: every component root's,
	 * not writable by others, no symlink): *ret_fd is the O_PATH fd that was checked, *ret_st
	 * its stat. On failure *ret_bad (may be NULL) may name the refused component. */
	int (*dir_open)(void *ud, const char *path, int *ret_fd, struct stat *ret_st,
	                char **ret_bad);
	/* Is the directory fd (dir_open() of path) fit to mount on: 0; -ENOTEMPTY; -EBUSY when it
	 * is a mount point already */
	int (*dir_mountable)(void *ud, int fd, const char *path);
	/* Creates path and any missing parent, 0755 and root's (safedir_make()) */
	int (*dir_make)(void *ud, const char *path, char **ret_bad);
	/* Removes the empty directory path through its checked parent; -ENOENT when gone */
	int (*dir_remove)(void *ud, const char *path);
	/* File-system type on a block device (libblkid); *ret NULL when none is recognised */
	int (*fs_type)(void *ud, const char *device, char **ret);
	/* Mounts device read-only onto the directory target_fd (dir_open()'s fd: the mount lands
	 * on the checked inode, whatever the path means meanwhile) with options such as
	 * "ro,nodev,nosuid,noload"; target is for messages and fakes only */
	int (*mount_ro)(void *ud, const char *device, int target_fd, const char *target,
	                const char *fstype, const char *options);
	/* Unmounts target only when it is the root of a mount of devno: target is opened through
	 * dir_open() and unmounted through that fd. -EINVAL when it is not such a mount (any
	 * more), -EBUSY while it is busy */
	int (*umount)(void *ud, const char *target, dev_t devno);
	/* ---- end exposure */
	/* ---- revert (daemon/revert.c) */
	/* Reads up to size bytes of a file at offset: the number read, or -errno */
	ssize_t (*file_read)(void *ud, const char *path, uint64_t offset, void *buf, size_t size);
	/* Opens a block device O_EXCL: while the fd is open nobody can mount it or claim it
	 * (-EBUSY when somebody has already) */
	int (*claim)(void *ud, const char *device, int *ret_fd);
	/* ---- end revert */
} HostOps;

typedef struct Host {
	const HostOps *ops;
	void *userdata;
} Host;

extern const Host host_real;
