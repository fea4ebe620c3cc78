/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dmdev.c - device-mapper operations: table helpers and the libdevmapper adapter (its sole user) */
#include <fcntl.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <linux/dm-ioctl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "daemon/dmdev.h"

/* ---- tables ---------------------------------------------------------------------------------- */

void dmdev_table_done(DmdevTable *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->targets[i].type);
		free(t->targets[i].params);
	}
	free(t->targets);
	*t = DMDEV_TABLE_NULL;
}

static int table_push(DmdevTable *t, uint64_t start, uint64_t length, const char *type,
                      char *params)
{
	DmdevTarget *n;
	char *ty = strdup(type);

	if (!ty) {
		free(params);
		return -ENOMEM;
	}
	n = reallocarray(t->targets, t->n + 1, sizeof(*n));
	if (!n) {
		free(ty);
		free(params);
		return -ENOMEM;
	}
	t->targets = n;
	t->targets[t->n++] =
		(DmdevTarget){ .start = start, .length = length, .type = ty, .params = params };
	return 0;
}

int dmdev_table_add(DmdevTable *t, uint64_t start, uint64_t length, const char *type,
                    const char *params_fmt, ...)
{
	char *p = NULL;
	va_list ap;
	int r;

	va_start(ap, params_fmt);
	r = vasprintf(&p, params_fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	return table_push(t, start, length, type, p);
}

int dmdev_table_copy(const DmdevTable *t, DmdevTable *ret)
{
	DmdevTable c = DMDEV_TABLE_NULL;

	for (size_t i = 0; i < t->n; i++) {
		const DmdevTarget *x = &t->targets[i];
		int r = dmdev_table_add(&c, x->start, x->length, x->type, "%s",
		                        strempty(x->params));

		if (r < 0) {
			dmdev_table_done(&c);
			return r;
		}
	}
	*ret = c;
	return 0;
}

bool dmdev_table_equal(const DmdevTable *a, const DmdevTable *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const DmdevTarget *x = &a->targets[i], *y = &b->targets[i];

		if (x->start != y->start || x->length != y->length || !streq(x->type, y->type) ||
		    !streq(strempty(x->params), strempty(y->params)))
			return false;
	}
	return true;
}

uint64_t dmdev_table_sectors(const DmdevTable *t)
{
	uint64_t end = 0;

	for (size_t i = 0; i < t->n; i++)
		end = MAX(end, t->targets[i].start + t->targets[i].length);
	return end;
}

char *dmdev_table_to_string(const DmdevTable *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		fprintf(f, "%s%" PRIu64 " %" PRIu64 " %s %s", i ? "\n" : "", t->targets[i].start,
		        t->targets[i].length, t->targets[i].type, strempty(t->targets[i].params));
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int dmdev_parse_snapshot_status(const char *params, DmdevSnapshotStatus *ret)
{
	DmdevSnapshotStatus s = { 0 };
	unsigned long long used, total, meta;

	if (!params)
		return -EINVAL;
	if (startswith(params, "Invalid"))
		s.invalid = true;
	else if (startswith(params, "Overflow"))
		s.invalid = s.overflow = true;
	else if (startswith(params, "Merge failed"))
		s.merge_failed = true;
	else if (startswith(params, "Unknown"))
		return -EIO;
	else if (sscanf(params, "%llu/%llu %llu", &used, &total, &meta) == 3) {
		s.used_sectors = used;
		s.total_sectors = total;
		s.metadata_sectors = meta;
	} else
		return -EINVAL;
	*ret = s;
	return 0;
}

int dmdev_list_by_uuid_prefix(Dmdev *dm, const char *prefix, char ***ret_names)
{
	_cleanup_strv_free_ char **all = NULL, **out = NULL;
	int r;

	r = dmdev_list(dm, &all);
	if (r < 0)
		return r;
	for (char **n = all; n && *n; n++) {
		DmdevInfo info;

		r = dmdev_info(dm, *n, &info);
		if (r < 0)
			return r;
		if (!info.exists || !startswith(info.uuid, prefix))
			continue;
		r = strv_extend(&out, *n);
		if (r < 0)
			return r;
	}
	if (!out) {
		out = calloc(1, sizeof(char *));
		if (!out)
			return -ENOMEM;
	}
	*ret_names = TAKE_PTR(out);
	return 0;
}

int dmdev_snapshot_status(Dmdev *dm, const char *name, DmdevSnapshotStatus *ret)
{
	DmdevTable t = DMDEV_TABLE_NULL;
	int r;

	r = dmdev_get_status(dm, name, &t);
	if (r < 0)
		return r;
	if (t.n < 1 ||
	    (!streq(t.targets[0].type, "snapshot") && !streq(t.targets[0].type, "snapshot-merge")))
		r = -EMEDIUMTYPE;
	else
		r = dmdev_parse_snapshot_status(t.targets[0].params, ret);
	dmdev_table_done(&t);
	return r;
}

/* ---- libdevmapper adapter -------------------------------------------------------------------- */

typedef struct Libdm {
	Dmdev dm;
	int control_fd;  /* emergency_resume()'s own, opened at start; read-only afterwards */
	uint32_t cookie; /* accumulates udev events of create/resume/remove until settle() */
	bool pending;    /* node operations queued (the cookie stays 0 without udev sync) */
	bool udev_sync;
} Libdm;

DEFINE_POINTER_CLEANUP(dm_task_destroyp, struct dm_task *, dm_task_destroy)

static void libdm_log(int level, const char *file, int line, int dm_errno_or_class, const char *f,
                      ...)
{
	char buf[1024];
	va_list ap;

	if (log_get_max_level() < LOG_DEBUG)
		return;
	va_start(ap, f);
	vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	log_debug("libdm(%d) %s:%d: %s", level, file, line, buf);
}

/* libdm says 1/0; everything above this file sees 0 or -errno */
static int dmdev_run(struct dm_task *dmt)
{
	int e;

	if (dm_task_run(dmt))
		return 0;
	e = dm_task_get_errno(dmt);
	return e > 0 ? -e : -EIO; /* 0: libdm failed before reaching the kernel */
}

static int task_new(int type, const char *name, struct dm_task **ret)
{
	struct dm_task *dmt = dm_task_create(type);

	if (!dmt)
		return -ENOMEM;
	if (name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return -EINVAL;
	}
	*ret = dmt;
	return 0;
}

static int task_add_table(struct dm_task *dmt, const DmdevTable *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (!dm_task_add_target(dmt, t->targets[i].start, t->targets[i].length,
		                        t->targets[i].type, strempty(t->targets[i].params)))
			return -ENOMEM;
	return 0;
}

/* Runs a task that creates or removes device nodes (create, resume, remove) with the udev cookie
 * that settle() waits for */
static int dmdev_run_cookie(Libdm *l, struct dm_task *dmt)
{
	/* Outside udev (DM_DISABLE_UDEV=1) the cookie makes libdm create and remove the nodes
	 * itself when settle() runs dm_udev_wait(). */
	if (!dm_task_set_cookie(dmt, &l->cookie, 0))
		return -ENOMEM;
	l->pending = true;
	return dmdev_run(dmt);
}

static int libdm_create(void *ud, const char *name, const char *uuid, const DmdevTable *t,
                        dev_t *ret_devno)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	struct dm_info info;
	Libdm *l = ud;
	int r;

	r = task_new(DM_DEVICE_CREATE, name, &dmt);
	if (r < 0)
		return r;
	if (uuid && !dm_task_set_uuid(dmt, uuid))
		return -EINVAL;
	if (t) {
		r = task_add_table(dmt, t);
		if (r < 0)
			return r;
	}
	r = dmdev_run_cookie(l, dmt);
	if (r < 0 || !ret_devno)
		return r;
	/* the answer to the create ioctl carries the device number: no second ioctl (0 when it
	 * does not: the device exists, the caller asks) */
	*ret_devno =
		dm_task_get_info(dmt, &info) && info.exists ? makedev(info.major, info.minor) : 0;
	return 0;
}

/* A task with nothing but its type, its device and table t (none when NULL) */
static int libdm_simple(int type, const char *name, const DmdevTable *t)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	int r;

	r = task_new(type, name, &dmt);
	if (r < 0)
		return r;
	if (t) {
		r = task_add_table(dmt, t);
		if (r < 0)
			return r;
	}
	return dmdev_run(dmt);
}

static int libdm_load(void *ud, const char *name, const DmdevTable *t)
{
	return libdm_simple(DM_DEVICE_RELOAD, name, t);
}

static int libdm_clear(void *ud, const char *name)
{
	return libdm_simple(DM_DEVICE_CLEAR, name, NULL);
}

static int libdm_suspend(void *ud, const char *name, unsigned flags)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	int r;

	r = task_new(DM_DEVICE_SUSPEND, name, &dmt);
	if (r < 0)
		return r;
	if (!dm_task_no_open_count(dmt))
		return -ENOMEM;
	if ((flags & DMDEV_SUSPEND_SKIP_LOCKFS) && !dm_task_skip_lockfs(dmt))
		return -ENOMEM;
	if ((flags & DMDEV_SUSPEND_NOFLUSH) && !dm_task_no_flush(dmt))
		return -ENOMEM;
	return dmdev_run(dmt);
}

static int libdm_resume(void *ud, const char *name)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	Libdm *l = ud;
	int r;

	r = task_new(DM_DEVICE_RESUME, name, &dmt);
	if (r < 0)
		return r;
	if (!dm_task_no_open_count(dmt))
		return -ENOMEM;
	return dmdev_run_cookie(l, dmt);
}

static int libdm_remove(void *ud, const char *name)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	Libdm *l = ud;
	int r;

	r = task_new(DM_DEVICE_REMOVE, name, &dmt);
	if (r < 0)
		return r;
	if (!dm_task_retry_remove(dmt)) /* a short-lived opener (blkid) must not fail us */
		return -ENOMEM;
	return dmdev_run_cookie(l, dmt);
}

/* Runs the INFO task dmt and reads its answer into ret; a device that does not exist is
 * exists = false, not an error */
static int info_run(struct dm_task *dmt, DmdevInfo *ret)
{
	struct dm_info i;
	const char *s;
	int r;

	r = dmdev_run(dmt);
	if (r == -ENXIO || r == -ENODEV) {
		*ret = (DmdevInfo){ .exists = false };
		return 0;
	}
	if (r < 0)
		return r;
	if (!dm_task_get_info(dmt, &i))
		return -EIO;
	*ret = (DmdevInfo){ .exists = i.exists };
	if (!i.exists)
		return 0;
	ret->suspended = i.suspended;
	ret->live_table = i.live_table;
	ret->inactive_table = i.inactive_table;
	ret->read_only = i.read_only;
	ret->major = i.major;
	ret->minor = i.minor;
	ret->open_count = i.open_count;
	ret->event_nr = i.event_nr;
	s = dm_task_get_name(dmt);
	snprintf(ret->name, sizeof(ret->name), "%s", strempty(s));
	s = dm_task_get_uuid(dmt);
	snprintf(ret->uuid, sizeof(ret->uuid), "%s", strempty(s));
	return 0;
}

static int libdm_info(void *ud, const char *name, DmdevInfo *ret)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	int r;

	r = task_new(DM_DEVICE_INFO, name, &dmt);
	if (r < 0)
		return r;
	return info_run(dmt, ret);
}

static int libdm_info_devno(void *ud, dev_t devno, DmdevInfo *ret)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	int r;

	if (!dm_is_dm_major(major(devno)))
		return -ENODEV;
	r = task_new(DM_DEVICE_INFO, NULL, &dmt);
	if (r < 0)
		return r;
	if (!dm_task_set_major(dmt, major(devno)) || !dm_task_set_minor(dmt, minor(devno)))
		return -EINVAL;
	return info_run(dmt, ret);
}

static int table_or_status(int type, const char *name, bool inactive, DmdevTable *ret)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	DmdevTable t = DMDEV_TABLE_NULL;
	void *next = NULL;
	int r;

	r = task_new(type, name, &dmt);
	if (r < 0)
		return r;
	if (inactive && !dm_task_query_inactive_table(dmt))
		return -ENOTSUP;
	if (type == DM_DEVICE_STATUS && !dm_task_no_flush(dmt)) /* never flush to report usage */
		return -ENOMEM;
	r = dmdev_run(dmt);
	if (r < 0)
		return r;
	do {
		uint64_t start, length;
		char *ttype = NULL, *params = NULL;

		next = dm_get_next_target(dmt, next, &start, &length, &ttype, &params);
		if (!ttype)
			break;
		r = dmdev_table_add(&t, start, length, ttype, "%s", strempty(params));
		if (r < 0) {
			dmdev_table_done(&t);
			return r;
		}
	} while (next);
	*ret = t;
	return 0;
}

static int libdm_table(void *ud, const char *name, bool inactive, DmdevTable *ret)
{
	return table_or_status(DM_DEVICE_TABLE, name, inactive, ret);
}

static int libdm_status(void *ud, const char *name, DmdevTable *ret)
{
	return table_or_status(DM_DEVICE_STATUS, name, false, ret);
}

static int libdm_list(void *ud, char ***ret_names)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	_cleanup_strv_free_ char **l = NULL;
	struct dm_names *names;
	unsigned next = 0;
	int r;

	r = task_new(DM_DEVICE_LIST, NULL, &dmt);
	if (r < 0)
		return r;
	r = dmdev_run(dmt);
	if (r < 0)
		return r;
	l = calloc(1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	names = dm_task_get_names(dmt);
	if (names && names->dev)
		do {
			names = (struct dm_names *)((char *)names + next);
			r = strv_extend(&l, names->name);
			if (r < 0)
				return r;
			next = names->next;
		} while (next);
	*ret_names = TAKE_PTR(l);
	return 0;
}

static int libdm_message(void *ud, const char *name, const char *msg)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	int r;

	r = task_new(DM_DEVICE_TARGET_MSG, name, &dmt);
	if (r < 0)
		return r;
	if (!dm_task_set_sector(dmt, 0) || !dm_task_set_message(dmt, msg))
		return -ENOMEM;
	return dmdev_run(dmt);
}

static bool libdm_is_dm_major(void *ud, uint32_t major)
{
	return dm_is_dm_major(major);
}

#define SETTLE_TIMEOUT_USEC (10 * USEC_PER_SEC)

static int libdm_settle(void *ud)
{
	Libdm *l = ud;
	uint32_t c = l->cookie;
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + SETTLE_TIMEOUT_USEC;
	int ready = 0;

	if (!l->pending)
		return 0;
	l->cookie = 0;
	l->pending = false;
	if (c == 0) {
		/* No udev sync (DM_DISABLE_UDEV or no udev): libdm makes the nodes now and
		 * returns at once. dm_udev_wait_immediate() would never report "ready" here. */
		return dm_udev_wait(0) ? 0 : -EIO;
	}
	/* Without udev this creates and removes the /dev/mapper nodes at once; with udev it waits
	 * for udev's rules, bounded, never dm_udev_wait()'s unbounded sleep. */
	for (;;) {
		if (!dm_udev_wait_immediate(c, &ready))
			return -EIO;
		if (ready)
			return 0;
		if (now_usec(CLOCK_MONOTONIC) > deadline)
			return log_warning_errno(-ETIMEDOUT,
			                         "udev did not process dm events within %u s, "
			                         "ignoring: %m",
			                         (unsigned)(SETTLE_TIMEOUT_USEC / USEC_PER_SEC));
		usleep(2000);
	}
}

static int libdm_event_arm(void *ud, int fd)
{
	struct dm_ioctl io = { .version = { DM_VERSION_MAJOR, 0, 0 }, .data_size = sizeof(io) };

	/* The kernel remembers the global event counter per open file: poll() says readable
	 * once any dm device raised an event after this call. */
	if (ioctl(fd, DM_DEV_ARM_POLL, &io) < 0)
		return -errno;
	return 0;
}

static int libdm_event_open(void *ud)
{
	int fd = open("/dev/" DM_DIR "/" DM_CONTROL_NODE, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	int r;

	if (fd < 0)
		return -errno;
	r = libdm_event_arm(ud, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* One raw dm ioctl on a device by name: no libdm, so any thread may issue it. */
static int raw_ioctl_ev(int fd, unsigned long cmd, const char *name, uint32_t flags,
                        uint32_t event_nr, struct dm_ioctl *ret)
{
	struct dm_ioctl io = { .version = { DM_VERSION_MAJOR, 0, 0 },
		               .data_size = sizeof(io),
		               .data_start = sizeof(io),
		               .flags = flags,
		               .event_nr = event_nr };

	if (strlen(name) >= sizeof(io.name))
		return -ENAMETOOLONG;
	strcpy(io.name, name);
	if (ioctl(fd, cmd, &io) < 0)
		return -errno;
	if (ret)
		*ret = io;
	return 0;
}

static int raw_ioctl(int fd, unsigned long cmd, const char *name, uint32_t flags,
                     struct dm_ioctl *ret)
{
	return raw_ioctl_ev(fd, cmd, name, flags, 0, ret);
}

/* The control fd opened at start, or one of the call's own (in *own) */
static int control_fd(Libdm *l, int *own)
{
	if (l->control_fd >= 0)
		return l->control_fd;
	*own = open("/dev/" DM_DIR "/" DM_CONTROL_NODE, O_RDWR | O_CLOEXEC);
	return *own < 0 ? -errno : *own;
}

static int libdm_suspend_raw(void *ud, const char *name, unsigned flags)
{
	_cleanup_close_ int own = -EBADF;
	uint32_t f = DM_SUSPEND_FLAG | DM_SKIP_BDGET_FLAG;
	int fd = control_fd(ud, &own);

	if (fd < 0)
		return fd;
	if (flags & DMDEV_SUSPEND_SKIP_LOCKFS)
		f |= DM_SKIP_LOCKFS_FLAG;
	if (flags & DMDEV_SUSPEND_NOFLUSH)
		f |= DM_NOFLUSH_FLAG;
	return raw_ioctl(fd, DM_DEV_SUSPEND, name, f, NULL);
}

static int libdm_resume_raw(void *ud, const char *name)
{
	_cleanup_close_ int own = -EBADF;
	int fd = control_fd(ud, &own);

	if (fd < 0)
		return fd;
	/* libdm marks every uevent of its own "primary sourced" so that udev's dm rules treat it
	 * as the real thing, not a spurious event; no cookie: nobody waits for it */
	return raw_ioctl_ev(fd, DM_DEV_SUSPEND, name, DM_SKIP_BDGET_FLAG,
	                    DM_UDEV_PRIMARY_SOURCE_FLAG << DM_UDEV_FLAGS_SHIFT, NULL);
}

static int libdm_emergency_resume(void *ud, const char *name)
{
	_cleanup_close_ int own = -EBADF;
	struct dm_ioctl st;
	int fd = control_fd(ud, &own), r;

	if (fd < 0)
		return fd;
	r = raw_ioctl(fd, DM_DEV_STATUS, name, 0, &st);
	if (r < 0)
		return r;
	if (!(st.flags & DM_SUSPEND_FLAG))
		return 0;
	/* A staged table must not go live with this resume: the set is being given up. */
	if (st.flags & DM_INACTIVE_PRESENT_FLAG) {
		r = raw_ioctl(fd, DM_TABLE_CLEAR, name, 0, NULL);
		if (r < 0)
			return r;
	}
	r = raw_ioctl(fd, DM_DEV_SUSPEND, name, 0, NULL); /* no DM_SUSPEND_FLAG: resume */
	return r < 0 ? r : 1;
}

static const DmdevOps dmdev_libdm_ops = {
	.create = libdm_create,
	.load = libdm_load,
	.clear = libdm_clear,
	.suspend = libdm_suspend,
	.resume = libdm_resume,
	.remove = libdm_remove,
	.info = libdm_info,
	.info_devno = libdm_info_devno,
	.table = libdm_table,
	.status = libdm_status,
	.list = libdm_list,
	.message = libdm_message,
	.is_dm_major = libdm_is_dm_major,
	.settle = libdm_settle,
	.event_open = libdm_event_open,
	.event_arm = libdm_event_arm,
	.emergency_resume = libdm_emergency_resume,
	.suspend_raw = libdm_suspend_raw,
	.resume_raw = libdm_resume_raw,
};

int dmdev_libdm_new(Dmdev **ret)
{
	Libdm *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	dm_log_with_errno_init(libdm_log);
	l->udev_sync = dm_udev_get_sync_support();
	l->dm = (Dmdev){ .ops = &dmdev_libdm_ops, .userdata = l };
	/* opened now: when the watchdog needs it, /dev may be on a frozen file system */
	l->control_fd = open("/dev/" DM_DIR "/" DM_CONTROL_NODE, O_RDWR | O_CLOEXEC);
	if (l->control_fd < 0)
		l->control_fd = -EBADF; /* opened at the call instead */
	*ret = &l->dm;
	return 0;
}

Dmdev *dmdev_libdm_free(Dmdev *dm)
{
	Libdm *l;

	if (!dm)
		return NULL;
	l = (Libdm *)dm;
	(void)libdm_settle(l);
	if (l->control_fd >= 0)
		close(l->control_fd);
	free(l);
	return NULL;
}
