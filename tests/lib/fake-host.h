/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fake-host.h - in-memory host operations for unit tests: block paths, files, loops, mounts, freeze
 */
#pragma once

#include <sys/sysmacros.h>
#include <sys/types.h>

#include "daemon/hostops.h"

typedef enum FakeHostOp {
	FAKE_HOST_FILE_CREATE,
	FAKE_HOST_LOOP_ATTACH,
	FAKE_HOST_FREEZE,
	FAKE_HOST_THAW,
	FAKE_HOST_MOUNT, /* mount_ro */
	FAKE_HOST_UMOUNT,
	FAKE_HOST_FILE_GROW, /* storage growth */
	FAKE_HOST_CLAIM,     /* revert: the O_EXCL open of a device */
	_FAKE_HOST_OP_MAX,
} FakeHostOp;

typedef struct FakeHost FakeHost;

int fake_host_new(FakeHost **ret);
FakeHost *fake_host_free(FakeHost *f);
DEFINE_POINTER_CLEANUP(fake_host_freep, FakeHost *, fake_host_free)
const Host *fake_host_host(FakeHost *f);

void fake_host_add_block(FakeHost *f, const char *path, dev_t devno);
void fake_host_add_file(FakeHost *f, const char *path); /* a path that exists, not a block dev */
void fake_host_add_dir(FakeHost *f, const char *path, dev_t fs_devno);
void fake_host_add_mount(FakeHost *f, dev_t devno, const char *mountpoint);
void fake_host_fail_nth(FakeHost *f, FakeHostOp op, unsigned nth, int error);
usec_t *fake_host_clock(FakeHost *f);

unsigned fake_host_count_files(FakeHost *f);  /* COW files existing now */
unsigned fake_host_count_frozen(FakeHost *f); /* file systems frozen now */
unsigned fake_host_freezes(FakeHost *f);      /* FIFREEZE calls so far */

/* ---- exposure: dir_open, dir_mountable, dir_make, dir_remove, fs_type, mount_ro, umount */
/* dir_mountable: a directory added with fake_host_add_dir() is empty unless a file or directory
 * was added below it; one with a mount on it is a mount point (-EBUSY). dir_make adds a directory
 * on FAKE_HOST_RUN_DEVNO. */
#define FAKE_HOST_RUN_DEVNO makedev(0, 25)
/* dir_open() and dir_make() of path or anything below fail with error (-ELOOP, -EACCES ...),
 * naming path as the refused component: what safedir refuses on a real host */
void fake_host_set_unsafe(FakeHost *f, const char *path, int error);
bool fake_host_dir_exists(FakeHost *f, const char *path);
/* The file-system type fs_type() reports for a block device path (none by default) */
void fake_host_set_fstype(FakeHost *f, const char *device, const char *fstype);
/* umount() of mountpoint fails with -EBUSY while busy */
void fake_host_set_busy(FakeHost *f, const char *mountpoint, bool busy);
/* The options of the mount on mountpoint made by mount_ro(), or NULL. Borrowed. */
const char *fake_host_mount_options(FakeHost *f, const char *mountpoint);
/* ---- end exposure */

/* ---- revert: what file_read() returns for a COW file (zeros beyond it, and by default) */
int fake_host_set_file_content(FakeHost *f, const char *path, const void *data, size_t size);
/* ---- end revert */

/* ---- storage growth: file_grow (FAKE_HOST_FILE_GROW may fail), loop_refresh */
/* The size of a COW file as created and grown so far, 0 when there is none */
uint64_t fake_host_file_size(FakeHost *f, const char *path);
unsigned fake_host_loop_refreshes(FakeHost *f); /* loop_refresh() calls so far */
unsigned fake_host_claims(FakeHost *f);         /* revert: claim() calls that succeeded */
/* What file_allocated() reports for a COW file from now on */
void fake_host_set_allocated(FakeHost *f, const char *path, uint64_t bytes);
/* ---- end storage growth */
