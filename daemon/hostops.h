/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hostops.h - host operations behind an ops table: block devices, COW files, loops, mounts, freeze
 */
#pragma once

#include <sys/types.h>

#include "common/macro.h"

typedef struct HostOps {
	/* stat() of a path that must be a block device: -ENOENT, -ENOTBLK, ... */
	int (*stat_block)(void *ud, const char *path, dev_t *ret);
	/* st_dev of the file system holding path (an existing file or directory) */
	int (*fs_devno)(void *ud, const char *path, dev_t *ret);
	/* Creates a new sparse file of bytes (O_EXCL), fsyncs its directory */
	int (*file_create)(void *ud, const char *path, uint64_t bytes);
	int (*file_remove)(void *ud, const char *path);
	/* Grows a sparse file */
	int (*file_grow)(void *ud, const char *path, uint64_t bytes);
	/* The space a (sparse) file takes on its file system: st_blocks in bytes */
	int (*file_allocated)(void *ud, const char *path, uint64_t *ret);
	/* Attaches file to a free loop device with autoclear. The returned fd keeps it attached
	 * until a device-mapper table holds it; closing it then leaves the loop to the kernel. */
	int (*loop_attach)(void *ud, const char *file, dev_t *ret_devno, int *ret_fd);
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
	/* ---- exposure (daemon/expose.c) */
	/* The canonical path of an existing, empty directory that is not a mount point itself:
	 * -ENOENT, -ENOTDIR, -ENOTEMPTY, -EBUSY (a mount point) otherwise */
	int (*dir_check)(void *ud, const char *path, char **ret_canonical);
	/* File-system type on a block device (libblkid); *ret NULL when none is recognised */
	int (*fs_type)(void *ud, const char *device, char **ret);
	/* Mounts device on target (libmount, no helpers) with options such as "ro,noload" */
	int (*mount_ro)(void *ud, const char *device, const char *target, const char *fstype,
	                const char *options);
	/* Unmounts target (not following a symlink): -EBUSY while it is busy */
	int (*umount)(void *ud, const char *target);
	/* ---- end exposure */
	/* ---- revert (daemon/revert.c) */
	/* Reads up to size bytes of a file at offset: the number read, or -errno */
	ssize_t (*file_read)(void *ud, const char *path, uint64_t offset, void *buf, size_t size);
	/* ---- end revert */
} HostOps;

typedef struct Host {
	const HostOps *ops;
	void *userdata;
} Host;

extern const Host host_real;
