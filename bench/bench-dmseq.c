/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench-dmseq.c - the bare snapshot sequence in one process on libdevmapper, LVM's order, for
 * make bench to compare against; and the teardown of it and of the dmsetup version */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <linux/dm-ioctl.h>
#include <linux/loop.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "common/valid.h"

/* Every device of this program: <origin>-real, <origin>-snap (the names bench/run uses for the
 * dmsetup sequence too). */
#define REAL_SUFFIX "-real"
#define SNAP_SUFFIX "-snap"

typedef struct Vol {
	const char *origin;
	char real[128];
	char snap[128];
	char cow_path[4096];
	char *table_type;
	char *table_params;
	uint64_t sectors;
	dev_t real_devno;
	dev_t cow_devno;
	int loop_fd;
} Vol;

static void usage(void)
{
	printf("usage: bench-dmseq create --cow-dir DIR [--cow-size BYTES] [--chunk SECTORS]\n"
	       "                         [--nolockfs] [--parallel] ORIGIN...\n"
	       "       bench-dmseq restore ORIGIN...\n"
	       "\n"
	       "create: for each dm ORIGIN (one linear target), a sparse COW file on a loop\n"
	       "  device (autoclear), ORIGIN-real with the origin's table, ORIGIN-snap created\n"
	       "  and its snapshot table loaded, the origin's snapshot-origin table loaded; then\n"
	       "  suspend every origin (the kernel freezes the file system unless --nolockfs),\n"
	       "  resume every snapshot, then every origin. Prints held_us and total_us.\n"
	       "  --parallel: the N suspends are issued at once from N threads (raw ioctls on\n"
	       "  the control node, started before the window), the resumes as above.\n"
	       "restore: removes ORIGIN-snap (detaching its COW loop device), gives the origin\n"
	       "  ORIGIN-real's table back and removes ORIGIN-real.\n");
}

/* libdm's 1/0 ends here */
static int task_run(struct dm_task *t)
{
	int r = dm_task_run(t) ? 0 : (dm_task_get_errno(t) ? -dm_task_get_errno(t) : -EIO);

	return r;
}

static int dm_simple(int type, const char *name, bool skip_lockfs)
{
	struct dm_task *t = dm_task_create(type);
	int r;

	if (!t)
		return -ENOMEM;
	if (!dm_task_set_name(t, name) || (skip_lockfs && !dm_task_skip_lockfs(t))) {
		dm_task_destroy(t);
		return -ENOMEM;
	}
	r = task_run(t);
	dm_task_destroy(t);
	return r;
}

/* A one-target table: type, params, length; dm_task_create(type) with one target */
static int dm_with_table(int type, const char *name, uint64_t sectors, const char *ttype,
                         const char *params, dev_t *ret_devno)
{
	struct dm_task *t = dm_task_create(type);
	struct dm_info info;
	int r;

	if (!t)
		return -ENOMEM;
	if (!dm_task_set_name(t, name) ||
	    (ttype && !dm_task_add_target(t, 0, sectors, ttype, params))) {
		dm_task_destroy(t);
		return -ENOMEM;
	}
	r = task_run(t);
	if (r >= 0 && ret_devno) {
		if (dm_task_get_info(t, &info) && info.exists)
			*ret_devno = makedev(info.major, info.minor);
		else
			r = -ENODEV;
	}
	dm_task_destroy(t);
	return r;
}

/* The live table of name, which must have exactly one target. */
static int dm_one_target(const char *name, uint64_t *ret_len, char **ret_type, char **ret_params)
{
	struct dm_task *t = dm_task_create(DM_DEVICE_TABLE);
	uint64_t start, len;
	char *type = NULL, *params = NULL;
	void *next;
	int r;

	if (!t)
		return -ENOMEM;
	if (!dm_task_set_name(t, name)) {
		dm_task_destroy(t);
		return -ENOMEM;
	}
	r = task_run(t);
	if (r >= 0) {
		next = dm_get_next_target(t, NULL, &start, &len, &type, &params);
		if (!type || next || start != 0)
			r = -EMEDIUMTYPE;
	}
	if (r >= 0) {
		*ret_len = len;
		*ret_type = strdup(type);
		*ret_params = strdup(params ? params : "");
		if (!*ret_type || !*ret_params)
			r = -ENOMEM;
	}
	dm_task_destroy(t);
	return r;
}

static int loop_attach(const char *path, uint64_t bytes, dev_t *ret_devno, int *ret_fd)
{
	_cleanup_close_ int ctl = -EBADF, file = -EBADF, loop = -EBADF;
	struct loop_config cfg = { 0 };
	char dev[64];
	struct stat st;
	int n;

	file = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (file < 0)
		return -errno;
	if (ftruncate(file, (off_t)bytes) < 0)
		return -errno;
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	for (unsigned tries = 0;; tries++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			return -errno;
		snprintf(dev, sizeof(dev), "/dev/loop%d", n);
		closep(&loop);
		loop = open(dev, O_RDWR | O_CLOEXEC);
		if (loop < 0)
			return -errno;
		cfg.fd = (uint32_t)file;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		if (ioctl(loop, LOOP_CONFIGURE, &cfg) >= 0)
			break;
		if (errno != EBUSY || tries > 8) /* someone else took it: the next free one */
			return -errno;
	}
	if (fstat(loop, &st) < 0)
		return -errno;
	*ret_devno = st.st_rdev;
	*ret_fd = TAKE_FD(loop);
	return 0;
}

static int vol_prepare(Vol *v, const char *cow_dir, uint64_t cow_bytes, unsigned chunk)
{
	char params[256];
	int r;

	r = dm_one_target(v->origin, &v->sectors, &v->table_type, &v->table_params);
	if (r < 0)
		return r;
	snprintf(v->cow_path, sizeof(v->cow_path), "%s/%s.cow", cow_dir, v->origin);
	r = loop_attach(v->cow_path, cow_bytes, &v->cow_devno, &v->loop_fd);
	if (r < 0)
		return r;
	r = dm_with_table(DM_DEVICE_CREATE, v->real, v->sectors, v->table_type, v->table_params,
	                  &v->real_devno);
	if (r < 0)
		return r;
	r = dm_with_table(DM_DEVICE_CREATE, v->snap, 0, NULL, NULL, NULL);
	if (r < 0)
		return r;
	snprintf(params, sizeof(params), "%u:%u %u:%u N %u", major(v->real_devno),
	         minor(v->real_devno), major(v->cow_devno), minor(v->cow_devno), chunk);
	r = dm_with_table(DM_DEVICE_RELOAD, v->snap, v->sectors, "snapshot", params, NULL);
	if (r < 0)
		return r;
	closep(&v->loop_fd); /* the snapshot table holds the loop device now */
	snprintf(params, sizeof(params), "%u:%u", major(v->real_devno), minor(v->real_devno));
	return dm_with_table(DM_DEVICE_RELOAD, v->origin, v->sectors, "snapshot-origin", params,
	                     NULL);
}

/* --parallel: one thread per origin, started before the window, released at once */
typedef struct Suspender {
	const char *name;
	bool nolockfs;
	pthread_barrier_t *go;
	pthread_t thread;
	int r;
} Suspender;

static void *suspender_main(void *p)
{
	Suspender *s = p;
	struct dm_ioctl io = { .version = { DM_VERSION_MAJOR, 0, 0 },
		               .data_size = sizeof(io),
		               .data_start = sizeof(io),
		               .flags = DM_SUSPEND_FLAG | (s->nolockfs ? DM_SKIP_LOCKFS_FLAG : 0) };
	int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);

	pthread_barrier_wait(s->go);
	if (fd < 0) {
		s->r = -errno;
		return NULL;
	}
	snprintf(io.name, sizeof(io.name), "%s", s->name);
	s->r = ioctl(fd, DM_DEV_SUSPEND, &io) < 0 ? -errno : 0;
	close(fd);
	return NULL;
}

/* Suspends every origin at once; threads and their control fds exist before this is called
 * with started = true (the caller's clock starts between the two calls) */
static int suspend_parallel(Vol *vols, size_t n, bool nolockfs, Suspender *s, pthread_barrier_t *go,
                            bool started)
{
	int r = 0;

	if (!started) {
		if (pthread_barrier_init(go, NULL, (unsigned)n + 1) != 0)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			s[i] = (Suspender){ .name = vols[i].origin,
				            .nolockfs = nolockfs,
				            .go = go };
			if (pthread_create(&s[i].thread, NULL, suspender_main, &s[i]) != 0)
				return -EAGAIN; /* (a benchmark: the others stay parked, we exit) */
		}
		return 0;
	}
	pthread_barrier_wait(go);
	for (size_t i = 0; i < n; i++) {
		pthread_join(s[i].thread, NULL);
		if (s[i].r < 0 && r == 0)
			r = s[i].r;
	}
	pthread_barrier_destroy(go);
	return r;
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cow-dir", required_argument, NULL, 'd' },
		{ "cow-size", required_argument, NULL, 's' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "nolockfs", no_argument, NULL, 'n' },
		{ "parallel", no_argument, NULL, 'p' },
		{},
	};
	const char *cow_dir = NULL;
	uint64_t cow_bytes = 8ULL << 20;
	unsigned chunk = 32;
	bool nolockfs = false, parallel = false;
	_cleanup_free_ Vol *vols = NULL;
	_cleanup_free_ Suspender *sus = NULL;
	pthread_barrier_t go;
	usec_t t0, t1, t2;
	size_t n;
	int o, r = 0;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) >= 0)
		switch (o) {
		case 'd':
			cow_dir = optarg;
			break;
		case 's':
			if (parse_size(optarg, &cow_bytes) < 0)
				cow_bytes = 0; /* refused below */
			break;
		case 'c': {
			uint64_t v;

			chunk = parse_u64(optarg, &v) < 0 || v > UINT_MAX ? 0 : (unsigned)v;
			break;
		}
		case 'n':
			nolockfs = true;
			break;
		case 'p':
			parallel = true;
			break;
		default:
			return -EINVAL;
		}
	if (!cow_dir || optind >= argc || cow_bytes == 0 || chunk == 0) {
		usage();
		return -EINVAL;
	}
	n = (size_t)(argc - optind);
	vols = calloc(n, sizeof(Vol));
	sus = calloc(n, sizeof(Suspender));
	if (!vols || !sus)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		Vol *v = &vols[i];

		v->origin = argv[optind + (int)i];
		v->loop_fd = -EBADF;
		if ((size_t)snprintf(v->real, sizeof(v->real), "%s" REAL_SUFFIX, v->origin) >=
		            sizeof(v->real) ||
		    (size_t)snprintf(v->snap, sizeof(v->snap), "%s" SNAP_SUFFIX, v->origin) >=
		            sizeof(v->snap))
			return -ENAMETOOLONG;
	}

	t0 = now_usec(CLOCK_MONOTONIC);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = vol_prepare(&vols[i], cow_dir, cow_bytes, chunk);
		if (r < 0)
			fprintf(stderr, "bench-dmseq: %s: %s\n", vols[i].origin, strerror(-r));
	}
	/* no rollback: bench/run tears down with "restore" (this is a benchmark, not vssd) */
	if (r >= 0 && parallel)
		r = suspend_parallel(vols, n, nolockfs, sus, &go, false);
	t1 = now_usec(CLOCK_MONOTONIC);
	if (r >= 0 && parallel)
		r = suspend_parallel(vols, n, nolockfs, sus, &go, true);
	for (size_t i = 0; r >= 0 && !parallel && i < n; i++)
		r = dm_simple(DM_DEVICE_SUSPEND, vols[i].origin, nolockfs);
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = dm_simple(DM_DEVICE_RESUME, vols[i].snap, false);
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = dm_simple(DM_DEVICE_RESUME, vols[i].origin, false);
	t2 = now_usec(CLOCK_MONOTONIC);
	dm_task_update_nodes();
	for (size_t i = 0; i < n; i++) {
		closep(&vols[i].loop_fd);
		free(vols[i].table_type);
		free(vols[i].table_params);
	}
	if (r < 0) {
		fprintf(stderr, "bench-dmseq: create failed: %s\n", strerror(-r));
		return r;
	}
	printf("held_us %" PRIu64 "\ntotal_us %" PRIu64 "\n", t2 - t1,
	       now_usec(CLOCK_MONOTONIC) - t0);
	return 0;
}

/* LOOP_CLR_FD on the loop device behind devno, when it is one (the dmsetup sequence's) */
static void loop_detach(dev_t devno)
{
	_cleanup_close_ int fd = -EBADF;
	char dev[64];

	if (major(devno) != 7) /* LOOP_MAJOR */
		return;
	snprintf(dev, sizeof(dev), "/dev/loop%u", minor(devno));
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		(void)ioctl(fd, LOOP_CLR_FD, 0); /* autoclear ones are gone already: ENXIO */
}

static int restore_one(const char *origin)
{
	char real[128], snap[128];
	_cleanup_free_ char *type = NULL, *params = NULL;
	_cleanup_free_ char *rtype = NULL, *rparams = NULL;
	uint64_t len, rlen;
	unsigned rmaj, rmin, cmaj, cmin;
	int r;

	snprintf(real, sizeof(real), "%s" REAL_SUFFIX, origin);
	snprintf(snap, sizeof(snap), "%s" SNAP_SUFFIX, origin);
	r = dm_one_target(snap, &len, &type, &params);
	if (r >= 0) {
		r = dm_simple(DM_DEVICE_REMOVE, snap, false);
		if (r < 0)
			return r;
		if (sscanf(params, "%u:%u %u:%u", &rmaj, &rmin, &cmaj, &cmin) == 4)
			loop_detach(makedev(cmaj, cmin));
	} else if (r != -ENXIO && r != -ENODEV) {
		(void)dm_simple(DM_DEVICE_REMOVE, snap, false); /* created, never loaded */
	}
	r = dm_one_target(real, &rlen, &rtype, &rparams);
	if (r < 0)
		return 0; /* nothing converted */
	r = dm_with_table(DM_DEVICE_RELOAD, origin, rlen, rtype, rparams, NULL);
	if (r >= 0)
		r = dm_simple(DM_DEVICE_SUSPEND, origin, false);
	if (r >= 0)
		r = dm_simple(DM_DEVICE_RESUME, origin, false);
	if (r >= 0)
		r = dm_simple(DM_DEVICE_REMOVE, real, false);
	return r;
}

static int cmd_restore(int argc, char **argv)
{
	int ret = 0;

	for (int i = 1; i < argc; i++) {
		int r = restore_one(argv[i]);

		if (r < 0) {
			fprintf(stderr, "bench-dmseq: restore %s: %s\n", argv[i], strerror(-r));
			ret = r;
		}
	}
	dm_task_update_nodes();
	return ret;
}

static void quiet_log(int level, const char *file, int line, int dm_errno, const char *f, ...)
{
}

int main(int argc, char **argv)
{
	int r;

	if (argc < 2 || streq(argv[1], "--help")) {
		usage();
		return argc < 2 ? 2 : 0;
	}
	if (!getenv("VSSD_DEBUG"))
		dm_log_with_errno_init(quiet_log);
	dm_udev_set_sync_support(0);
	if (streq(argv[1], "create"))
		r = cmd_create(argc - 1, argv + 1);
	else if (streq(argv[1], "restore"))
		r = cmd_restore(argc - 1, argv + 1);
	else {
		usage();
		return 2;
	}
	dm_lib_release();
	return r == -EINVAL ? 2 : r < 0 ? 1 : 0;
}
