/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fake-host.c - in-memory host operations for unit tests: block paths, files, loops, mounts, freeze
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "tests/lib/fake-host.h"

typedef struct Entry {
	char *path;
	dev_t devno;
	int kind; /* 0 block, 1 file, 2 dir, 3 cow file, 4 mount, 5 fs type of a block path,
	           * 6 an unsafe component (devno: the error) */
	bool frozen;
	bool busy;  /* mount: umount fails with -EBUSY */
	char *data; /* mount: its options; fs type: the type */
	/* cow file: bytes, from file_create and file_grow (storage growth) */
	uint64_t size;
	uint64_t allocated; /* cow file: what file_allocated() reports (0 at first) */
} Entry;

struct FakeHost {
	Host host;
	pthread_mutex_t lock;
	Entry *e;
	size_t n;
	unsigned next_loop;
	unsigned fail_nth[_FAKE_HOST_OP_MAX];
	int fail_error[_FAKE_HOST_OP_MAX];
	usec_t clock;
	unsigned freezes;
	unsigned loop_refreshes; /* storage growth: loop_refresh() calls */
	unsigned claims;         /* revert: claim() calls that succeeded */
};

static void add(FakeHost *f, const char *path, dev_t devno, int kind)
{
	Entry *n = reallocarray(f->e, f->n + 1, sizeof(*n));

	if (!n)
		return;
	f->e = n;
	f->e[f->n++] = (Entry){ .path = strdup(path), .devno = devno, .kind = kind };
}

static Entry *find(FakeHost *f, const char *path, int kind)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->e[i].path && streq(f->e[i].path, path) && (kind < 0 || f->e[i].kind == kind))
			return &f->e[i];
	return NULL;
}

static int enter(FakeHost *f, FakeHostOp op)
{
	if (f->fail_nth[op] > 0 && --f->fail_nth[op] == 0)
		return f->fail_error[op];
	return 0;
}

static int h_stat_block(void *ud, const char *path, dev_t *ret)
{
	FakeHost *f = ud;
	Entry *e = find(f, path, -1);

	if (!e)
		return -ENOENT;
	if (e->kind != 0)
		return -ENOTBLK;
	*ret = e->devno;
	return 0;
}

static int h_fs_devno(void *ud, const char *path, dev_t *ret)
{
	FakeHost *f = ud;
	Entry *e = find(f, path, 2);

	if (!e)
		return -ENOENT;
	*ret = e->devno;
	return 0;
}

static int h_file_create(void *ud, const char *path, uint64_t bytes, HostFileId *ret_id)
{
	FakeHost *f = ud;
	int r = enter(f, FAKE_HOST_FILE_CREATE);

	if (r < 0)
		return r;
	if (find(f, path, -1))
		return -EEXIST;
	add(f, path, 0, 3);
	if (find(f, path, 3))
		find(f, path, 3)->size = bytes;
	*ret_id = (HostFileId){ .dev = 0xfe01, .ino = f->n };
	return 0;
}

static int h_file_remove(void *ud, const char *path)
{
	FakeHost *f = ud;
	Entry *e = find(f, path, 3);

	if (!e)
		return -ENOENT;
	free(e->path);
	e->path = NULL;
	return 0;
}

static int h_file_grow(void *ud, const char *path, uint64_t bytes)
{
	Entry *e = find(ud, path, 3);
	int r = enter(ud, FAKE_HOST_FILE_GROW);

	if (r < 0)
		return r;
	if (!e)
		return -ENOENT;
	e->size = bytes;
	return 0;
}

static int h_file_allocated(void *ud, const char *path, uint64_t *ret)
{
	Entry *e = find(ud, path, 3);

	if (!e)
		return -ENOENT;
	*ret = e->allocated;
	return 0;
}

static int h_loop_attach(void *ud, const char *file, const HostFileId *expect, dev_t *ret_devno,
                         int *ret_fd)
{
	FakeHost *f = ud;
	int r = enter(f, FAKE_HOST_LOOP_ATTACH), fd;
	Entry *e;

	if (r < 0)
		return r;
	e = find(f, file, 3);
	if (!e)
		return -ENOENT;
	/* the identity file_create() gave: its index (a replaced file has another one) */
	if (expect && (expect->dev != 0xfe01 || expect->ino != (uint64_t)(e - f->e) + 1))
		return -ESTALE;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*ret_devno = makedev(7, f->next_loop++);
	*ret_fd = fd;
	return 0;
}

static int h_loop_backing_file(void *ud, dev_t devno, char **ret)
{
	return -ENXIO;
}

static int h_loop_refresh(void *ud, dev_t devno)
{
	FakeHost *f = ud;

	f->loop_refreshes++;
	return 0;
}

static int h_mountpoints(void *ud, dev_t devno, char ***ret)
{
	FakeHost *f = ud;
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < f->n; i++)
		if (f->e[i].kind == 4 && f->e[i].devno == devno && f->e[i].path)
			if (strv_extend(&l, f->e[i].path) < 0)
				return -ENOMEM;
	*ret = TAKE_PTR(l);
	return 0;
}

static int h_freeze(void *ud, const char *mountpoint)
{
	FakeHost *f = ud;
	Entry *e;
	int r;

	pthread_mutex_lock(&f->lock);
	f->freezes++;
	r = enter(f, FAKE_HOST_FREEZE);
	e = find(f, mountpoint, 4);
	if (r >= 0 && !e)
		r = -ENOENT;
	else if (r >= 0 && e->frozen)
		r = -EBUSY;
	else if (r >= 0)
		e->frozen = true;
	pthread_mutex_unlock(&f->lock);
	return r;
}

static int h_thaw(void *ud, const char *mountpoint)
{
	FakeHost *f = ud;
	Entry *e;
	int r;

	pthread_mutex_lock(&f->lock);
	r = enter(f, FAKE_HOST_THAW);
	e = find(f, mountpoint, 4);
	if (r >= 0 && (!e || !e->frozen))
		r = -EINVAL;
	else if (r >= 0)
		e->frozen = false;
	pthread_mutex_unlock(&f->lock);
	return r;
}

static int h_sync(void *ud, const char *mountpoint)
{
	return 0;
}

static usec_t h_now(void *ud)
{
	FakeHost *f = ud;

	return f->clock;
}

/* ---- exposure */

/* A component marked unsafe (kind 6, devno: the error) refuses dir_open() at and below it */
static int unsafe_prefix(FakeHost *f, const char *path, char **ret_bad)
{
	for (size_t i = 0; i < f->n; i++) {
		const char *p = f->e[i].path;
		size_t l = p ? strlen(p) : 0;

		if (f->e[i].kind == 6 && p && strncmp(path, p, l) == 0 &&
		    (path[l] == 0 || path[l] == '/')) {
			if (ret_bad)
				*ret_bad = strdup(p);
			return -(int)f->e[i].devno;
		}
	}
	return 0;
}

static int h_dir_open(void *ud, const char *path, int *ret_fd, struct stat *ret_st, char **ret_bad)
{
	FakeHost *f = ud;
	Entry *e = find(f, path, 2);
	int r = unsafe_prefix(f, path, ret_bad), fd;

	if (r < 0)
		return r;
	if (!e) {
		if (ret_bad)
			*ret_bad = strdup(path);
		return find(f, path, -1) ? -ENOTDIR : -ENOENT;
	}
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*ret_st = (struct stat){ .st_dev = e->devno,
		                 .st_ino = (ino_t)(e - f->e) + 1,
		                 .st_mode = S_IFDIR | 0755 };
	*ret_fd = fd;
	return 0;
}

static int h_dir_mountable(void *ud, int fd, const char *path)
{
	FakeHost *f = ud;
	size_t l = strlen(path);

	if (find(f, path, 4))
		return -EBUSY;
	for (size_t i = 0; i < f->n; i++)
		if (f->e[i].path && (f->e[i].kind == 1 || f->e[i].kind == 2) &&
		    strncmp(f->e[i].path, path, l) == 0 && f->e[i].path[l] == '/')
			return -ENOTEMPTY;
	return 0;
}

static int h_dir_make(void *ud, const char *path, char **ret_bad)
{
	FakeHost *f = ud;
	int r = unsafe_prefix(f, path, ret_bad);

	if (r < 0)
		return r;
	if (!find(f, path, 2))
		add(f, path, FAKE_HOST_RUN_DEVNO, 2);
	return 0;
}

static int h_dir_remove(void *ud, const char *path)
{
	FakeHost *f = ud;
	Entry *e = find(f, path, 2);

	if (!e)
		return -ENOENT;
	if (h_dir_mountable(ud, -EBADF, path) < 0)
		return -EBUSY;
	free(e->path);
	e->path = NULL;
	return 0;
}

static int h_fs_type(void *ud, const char *device, char **ret)
{
	Entry *e = find(ud, device, 5);

	*ret = NULL;
	if (e && !(*ret = strdup(e->data)))
		return -ENOMEM;
	return 0;
}

static int h_mount_ro(void *ud, const char *device, int target_fd, const char *target,
                      const char *fstype, const char *options)
{
	FakeHost *f = ud;
	dev_t devno;
	int r = enter(f, FAKE_HOST_MOUNT);

	if (r < 0)
		return r;
	r = h_stat_block(f, device, &devno);
	if (r < 0)
		return r;
	if (!find(f, target, 2))
		return -ENOENT;
	add(f, target, devno, 4);
	f->e[f->n - 1].data = strdup(options);
	return 0;
}

static int h_umount(void *ud, const char *target, dev_t devno)
{
	FakeHost *f = ud;
	Entry *e;
	int r = enter(f, FAKE_HOST_UMOUNT);

	if (r < 0)
		return r;
	/* the last mount on target is the visible one */
	for (size_t i = f->n; i-- > 0;)
		if (f->e[i].kind == 4 && f->e[i].path && streq(f->e[i].path, target)) {
			e = &f->e[i];
			if (e->devno != devno) /* not the shadow copy's mount */
				return -EINVAL;
			if (e->busy)
				return -EBUSY;
			free(e->path);
			e->path = NULL;
			return 0;
		}
	return -EINVAL;
}

/* ---- end exposure */

/* ---- revert: file_read of a COW file (zeros, as a new sparse file, unless content was set) */

static ssize_t h_file_read(void *ud, const char *path, uint64_t offset, void *buf, size_t size)
{
	Entry *e = find(ud, path, 3);

	if (!e)
		return -ENOENT;
	memset(buf, 0, size);
	if (e->data && offset < e->devno) /* devno: the length of data */
		memcpy(buf, e->data + offset, MIN(size, (size_t)(e->devno - offset)));
	return (ssize_t)size;
}

/* A claim is an fd of /dev/null; FAKE_HOST_CLAIM fails it (-EBUSY: somebody holds it) */
static int h_claim(void *ud, const char *device, int *ret_fd)
{
	FakeHost *f = ud;
	int r = enter(f, FAKE_HOST_CLAIM), fd;

	if (r < 0)
		return r;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	f->claims++;
	*ret_fd = fd;
	return 0;
}

unsigned fake_host_claims(FakeHost *f)
{
	return f->claims;
}

/* ---- end revert */

static const HostOps fake_host_ops = {
	.stat_block = h_stat_block,
	.fs_devno = h_fs_devno,
	.file_create = h_file_create,
	.file_remove = h_file_remove,
	.file_grow = h_file_grow,
	.file_allocated = h_file_allocated,
	.loop_attach = h_loop_attach,
	.loop_backing_file = h_loop_backing_file,
	.loop_refresh = h_loop_refresh,
	.mountpoints = h_mountpoints,
	.freeze = h_freeze,
	.thaw = h_thaw,
	.sync = h_sync,
	.now = h_now,
	.dir_open = h_dir_open,
	.dir_mountable = h_dir_mountable,
	.dir_make = h_dir_make,
	.dir_remove = h_dir_remove,
	.fs_type = h_fs_type,
	.mount_ro = h_mount_ro,
	.umount = h_umount,
	.file_read = h_file_read,
	.claim = h_claim,
};

int fake_host_new(FakeHost **ret)
{
	FakeHost *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->host = (Host){ .ops = &fake_host_ops, .userdata = f };
	pthread_mutex_init(&f->lock, NULL);
	f->clock = 1000000;
	*ret = f;
	return 0;
}

FakeHost *fake_host_free(FakeHost *f)
{
	if (!f)
		return NULL;
	for (size_t i = 0; i < f->n; i++) {
		free(f->e[i].path);
		free(f->e[i].data);
	}
	free(f->e);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return NULL;
}

const Host *fake_host_host(FakeHost *f)
{
	return &f->host;
}

void fake_host_add_block(FakeHost *f, const char *path, dev_t devno)
{
	add(f, path, devno, 0);
}

void fake_host_add_file(FakeHost *f, const char *path)
{
	add(f, path, 0, 1);
}

void fake_host_add_dir(FakeHost *f, const char *path, dev_t fs_devno)
{
	add(f, path, fs_devno, 2);
}

void fake_host_add_mount(FakeHost *f, dev_t devno, const char *mountpoint)
{
	add(f, mountpoint, devno, 4);
}

void fake_host_fail_nth(FakeHost *f, FakeHostOp op, unsigned nth, int error)
{
	f->fail_nth[op] = nth;
	f->fail_error[op] = error;
}

usec_t *fake_host_clock(FakeHost *f)
{
	return &f->clock;
}

unsigned fake_host_count_files(FakeHost *f)
{
	unsigned n = 0;

	for (size_t i = 0; i < f->n; i++)
		n += f->e[i].kind == 3 && f->e[i].path;
	return n;
}

unsigned fake_host_count_frozen(FakeHost *f)
{
	unsigned n = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n; i++)
		n += f->e[i].kind == 4 && f->e[i].frozen;
	pthread_mutex_unlock(&f->lock);
	return n;
}

unsigned fake_host_freezes(FakeHost *f)
{
	return f->freezes;
}

/* ---- exposure */

void fake_host_set_unsafe(FakeHost *f, const char *path, int error)
{
	add(f, path, (dev_t)-error, 6);
}

bool fake_host_dir_exists(FakeHost *f, const char *path)
{
	return find(f, path, 2) != NULL;
}

void fake_host_set_fstype(FakeHost *f, const char *device, const char *fstype)
{
	add(f, device, 0, 5);
	f->e[f->n - 1].data = strdup(fstype);
}

void fake_host_set_busy(FakeHost *f, const char *mountpoint, bool busy)
{
	Entry *e = find(f, mountpoint, 4);

	if (e)
		e->busy = busy;
}

const char *fake_host_mount_options(FakeHost *f, const char *mountpoint)
{
	Entry *e = find(f, mountpoint, 4);

	return e ? e->data : NULL;
}

/* ---- end exposure */

/* ---- storage growth (daemon/test-monitor.c) */

uint64_t fake_host_file_size(FakeHost *f, const char *path)
{
	Entry *e = find(f, path, 3);

	return e ? e->size : 0;
}

unsigned fake_host_loop_refreshes(FakeHost *f)
{
	return f->loop_refreshes;
}

void fake_host_set_allocated(FakeHost *f, const char *path, uint64_t bytes)
{
	Entry *e = find(f, path, 3);

	if (e)
		e->allocated = bytes;
}

/* ---- end storage growth */

/* ---- revert */

int fake_host_set_file_content(FakeHost *f, const char *path, const void *data, size_t size)
{
	Entry *e = find(f, path, 3);

	if (!e)
		return -ENOENT;
	free(e->data);
	e->data = malloc(size ? size : 1);
	if (!e->data)
		return -ENOMEM;
	memcpy(e->data, data, size);
	e->devno = (dev_t)size;
	return 0;
}

/* ---- end revert */
