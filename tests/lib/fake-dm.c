/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fake-dm.c - an in-memory device-mapper for unit tests: records calls, keeps state, injects errors
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/eventfd.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "tests/lib/fake-dm.h"

typedef struct FakeDev {
	char *name;
	char *uuid;
	unsigned minor;
	bool suspended;
	DmdevTable live;
	DmdevTable inactive;
	bool has_live, has_inactive;
	char *status;
	char live_line[512];
	int32_t open_count; /* fake_dm_set_open_count() */
} FakeDev;

struct FakeDm {
	Dmdev dm;
	FakeDev *devs;
	size_t n_devs;
	unsigned next_minor;
	char **calls;
	unsigned fail_nth[_FAKE_DM_OP_MAX];
	unsigned n_ops[_FAKE_DM_OP_MAX]; /* calls since the last fake_dm_clear_calls() */
	int fail_error[_FAKE_DM_OP_MAX];
	usec_t *clock;
	usec_t step;
	int event_fd;
	/* fake_dm_hang_nth(): the lock orders the hung call against emergency_resume() */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	FakeDmOp hang_op;
	unsigned hang_nth;
	unsigned hang_release_after;
	unsigned n_emergency;
	bool hang_released;
};

static FakeDev *find(FakeDm *f, const char *name)
{
	for (size_t i = 0; i < f->n_devs; i++)
		if (streq(f->devs[i].name, name))
			return &f->devs[i];
	return NULL;
}

static FakeDev *find_minor(FakeDm *f, unsigned minor)
{
	for (size_t i = 0; i < f->n_devs; i++)
		if (f->devs[i].minor == minor)
			return &f->devs[i];
	return NULL;
}

_printf_(2, 3) static void record(FakeDm *f, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) >= 0)
		(void)strv_push(&f->calls, s);
	va_end(ap);
}

/* The hung call of fake_dm_hang_nth() */
static void hang(FakeDm *f)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&f->lock);
	while (f->n_emergency < f->hang_release_after)
		if (pthread_cond_timedwait(&f->cond, &f->lock, &until) == ETIMEDOUT)
			break;
	f->hang_released = f->n_emergency >= f->hang_release_after;
	pthread_mutex_unlock(&f->lock);
}

/* Injected failure and clock advance for every call */
static int enter(FakeDm *f, FakeDmOp op)
{
	if (f->hang_nth > 0 && f->hang_op == op && --f->hang_nth == 0)
		hang(f);
	if (f->clock)
		*f->clock += f->step;
	f->n_ops[op]++;
	if (f->fail_nth[op] > 0 && --f->fail_nth[op] == 0)
		return f->fail_error[op];
	return 0;
}

/* Does any table (live or inactive) of another device reference minor? */
static bool referenced(FakeDm *f, unsigned minor)
{
	char needle[32];

	snprintf(needle, sizeof(needle), "%u:%u", FAKE_DM_MAJOR, minor);
	for (size_t i = 0; i < f->n_devs; i++) {
		DmdevTable *ts[2] = { &f->devs[i].live, &f->devs[i].inactive };

		if (f->devs[i].minor == minor)
			continue;
		for (int k = 0; k < 2; k++)
			for (size_t j = 0; j < ts[k]->n; j++) {
				const char *p = ts[k]->targets[j].params;
				size_t l = strlen(needle);

				for (const char *q = strstr(p, needle); q;
				     q = strstr(q + 1, needle))
					if ((q == p || q[-1] == ' ') && (q[l] == ' ' || q[l] == 0))
						return true;
			}
	}
	return false;
}

/* Every device a table refers to must exist (the kernel opens them at load time). */
static int check_refs(FakeDm *f, const DmdevTable *t)
{
	for (size_t j = 0; j < t->n; j++) {
		const char *p = t->targets[j].params;

		for (const char *q = p; *q; q++) {
			unsigned ma, mi;
			int n = 0;

			if ((q != p && q[-1] != ' ') || sscanf(q, "%u:%u%n", &ma, &mi, &n) != 2)
				continue;
			if (ma == FAKE_DM_MAJOR && !find_minor(f, mi))
				return -ENXIO;
			q += n - 1;
		}
	}
	return 0;
}

static void update_line(FakeDev *d)
{
	if (d->has_live && d->live.n > 0)
		snprintf(d->live_line, sizeof(d->live_line), "%s %s", d->live.targets[0].type,
		         d->live.targets[0].params);
	else
		d->live_line[0] = 0;
}

static int f_create(void *ud, const char *name, const char *uuid, const DmdevTable *t,
                    dev_t *ret_devno)
{
	FakeDm *f = ud;
	FakeDev *n;
	int r;

	record(f, "create %s%s", name, t ? " table" : "");
	r = enter(f, FAKE_DM_CREATE);
	if (r < 0)
		return r;
	if (find(f, name))
		return -EBUSY;
	if (t && (r = check_refs(f, t)) < 0)
		return r;
	n = reallocarray(f->devs, f->n_devs + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	f->devs = n;
	n = &f->devs[f->n_devs++];
	*n = (FakeDev){ .name = strdup(name),
		        .uuid = strdup(strempty(uuid)),
		        .minor = f->next_minor++ };
	if (t) {
		(void)dmdev_table_copy(t, &n->live);
		n->has_live = true;
	}
	update_line(n);
	if (ret_devno)
		*ret_devno = makedev(FAKE_DM_MAJOR, n->minor);
	return 0;
}

static int f_load(void *ud, const char *name, const DmdevTable *t)
{
	FakeDm *f = ud;
	FakeDev *d;
	int r;

	record(f, "load %s %s", name, t->n ? t->targets[0].type : "");
	r = enter(f, FAKE_DM_LOAD);
	if (r < 0)
		return r;
	d = find(f, name);
	if (!d)
		return -ENXIO;
	r = check_refs(f, t);
	if (r < 0)
		return r;
	dmdev_table_done(&d->inactive);
	(void)dmdev_table_copy(t, &d->inactive);
	d->has_inactive = true;
	return 0;
}

static int f_clear(void *ud, const char *name)
{
	FakeDm *f = ud;
	FakeDev *d;
	int r;

	record(f, "clear %s", name);
	r = enter(f, FAKE_DM_CLEAR);
	if (r < 0)
		return r;
	d = find(f, name);
	if (!d)
		return -ENXIO;
	dmdev_table_done(&d->inactive);
	d->has_inactive = false;
	return 0;
}

static int f_suspend(void *ud, const char *name, unsigned flags)
{
	FakeDm *f = ud;
	FakeDev *d;
	int r;

	record(f, "suspend %s%s", name, flags & DMDEV_SUSPEND_SKIP_LOCKFS ? " skip_lockfs" : "");
	r = enter(f, FAKE_DM_SUSPEND);
	if (r < 0)
		return r;
	d = find(f, name);
	if (!d)
		return -ENXIO;
	d->suspended = true;
	return 0;
}

static int f_resume(void *ud, const char *name)
{
	FakeDm *f = ud;
	FakeDev *d;
	int r;

	record(f, "resume %s", name);
	r = enter(f, FAKE_DM_RESUME);
	if (r < 0)
		return r;
	d = find(f, name);
	if (!d)
		return -ENXIO;
	if (d->has_inactive) {
		dmdev_table_done(&d->live);
		d->live = d->inactive;
		d->inactive = DMDEV_TABLE_NULL;
		d->has_inactive = false;
		d->has_live = true;
	}
	d->suspended = false;
	update_line(d);
	return 0;
}

static int f_remove(void *ud, const char *name)
{
	FakeDm *f = ud;
	FakeDev *d;
	int r;

	record(f, "remove %s", name);
	r = enter(f, FAKE_DM_REMOVE);
	if (r < 0)
		return r;
	d = find(f, name);
	if (!d)
		return -ENXIO;
	if (referenced(f, d->minor))
		return -EBUSY;
	free(d->name);
	free(d->uuid);
	free(d->status);
	dmdev_table_done(&d->live);
	dmdev_table_done(&d->inactive);
	*d = f->devs[--f->n_devs];
	return 0;
}

static void fill_info(FakeDev *d, DmdevInfo *ret)
{
	*ret = (DmdevInfo){ .exists = true,
		            .suspended = d->suspended,
		            .live_table = d->has_live,
		            .inactive_table = d->has_inactive,
		            .major = FAKE_DM_MAJOR,
		            .minor = d->minor,
		            .open_count = d->open_count };
	snprintf(ret->name, sizeof(ret->name), "%s", d->name);
	snprintf(ret->uuid, sizeof(ret->uuid), "%s", d->uuid);
}

static int f_info(void *ud, const char *name, DmdevInfo *ret)
{
	FakeDm *f = ud;
	FakeDev *d;
	int r = enter(f, FAKE_DM_INFO);

	if (r < 0)
		return r;
	d = find(f, name);
	if (!d) {
		*ret = (DmdevInfo){ .exists = false };
		return 0;
	}
	fill_info(d, ret);
	return 0;
}

static int f_info_devno(void *ud, dev_t devno, DmdevInfo *ret)
{
	FakeDm *f = ud;
	FakeDev *d;
	int r = enter(f, FAKE_DM_INFO);

	if (r < 0)
		return r;
	if (major(devno) != FAKE_DM_MAJOR)
		return -ENODEV;
	d = find_minor(f, minor(devno));
	if (!d) {
		*ret = (DmdevInfo){ .exists = false };
		return 0;
	}
	fill_info(d, ret);
	return 0;
}

static int f_table(void *ud, const char *name, bool inactive, DmdevTable *ret)
{
	FakeDm *f = ud;
	FakeDev *d;
	int r = enter(f, FAKE_DM_TABLE);

	if (r < 0)
		return r;
	d = find(f, name);
	if (!d)
		return -ENXIO;
	if (inactive)
		return d->has_inactive ? dmdev_table_copy(&d->inactive, ret)
		                       : (*ret = DMDEV_TABLE_NULL, 0);
	return d->has_live ? dmdev_table_copy(&d->live, ret) : (*ret = DMDEV_TABLE_NULL, 0);
}

static int f_status(void *ud, const char *name, DmdevTable *ret)
{
	FakeDm *f = ud;
	FakeDev *d;
	int r = enter(f, FAKE_DM_STATUS);

	if (r < 0)
		return r;
	d = find(f, name);
	if (!d)
		return -ENXIO;
	*ret = DMDEV_TABLE_NULL;
	if (!d->has_live || d->live.n == 0)
		return 0;
	if (d->status)
		return dmdev_table_add(ret, 0, d->live.targets[0].length, d->live.targets[0].type,
		                       "%s", d->status);
	if (startswith(d->live.targets[0].type, "snapshot"))
		return dmdev_table_add(ret, 0, d->live.targets[0].length, d->live.targets[0].type,
		                       "16/%" PRIu64 " 16", d->live.targets[0].length);
	return dmdev_table_add(ret, 0, d->live.targets[0].length, d->live.targets[0].type, "%s",
	                       "");
}

static int f_list(void *ud, char ***ret)
{
	FakeDm *f = ud;
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
	int r = enter(f, FAKE_DM_LIST);

	if (r < 0)
		return r;
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < f->n_devs; i++)
		if ((r = strv_extend(&l, f->devs[i].name)) < 0)
			return r;
	*ret = TAKE_PTR(l);
	return 0;
}

static int f_message(void *ud, const char *name, const char *msg)
{
	FakeDm *f = ud;

	record(f, "message %s %s", name, msg);
	return enter(f, FAKE_DM_MESSAGE);
}

static bool f_is_dm_major(void *ud, uint32_t major)
{
	return major == FAKE_DM_MAJOR;
}

static int f_settle(void *ud)
{
	return 0;
}

static int f_event_open(void *ud)
{
	FakeDm *f = ud;
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	f->event_fd = fd;
	return fd;
}

static int f_event_arm(void *ud, int fd)
{
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
	return 0;
}

/* Not through record() and enter(): the main thread may be inside a hung call, which owns the
 * call log; this one only changes the device and counts, under the lock. */
static int f_emergency_resume(void *ud, const char *name)
{
	FakeDm *f = ud;
	FakeDev *d;
	int r = 0;

	pthread_mutex_lock(&f->lock);
	d = find(f, name);
	if (!d)
		r = -ENXIO;
	else if (d->suspended) {
		dmdev_table_done(&d->inactive);
		d->has_inactive = false;
		d->suspended = false;
		r = 1;
	}
	f->n_emergency++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	return r;
}

/* The thread-safe pair: the same as suspend() and resume(), under the lock; a hang (which waits
 * under the lock for emergency resumes) happens before taking it. */
static bool raw_hangs(FakeDm *f, FakeDmOp op)
{
	bool h;

	pthread_mutex_lock(&f->lock);
	h = f->hang_nth == 1 && f->hang_op == op;
	if (h)
		f->hang_nth = 0;
	pthread_mutex_unlock(&f->lock);
	return h;
}

static int f_suspend_raw(void *ud, const char *name, unsigned flags)
{
	FakeDm *f = ud;
	int r;

	if (raw_hangs(f, FAKE_DM_SUSPEND))
		hang(f);
	pthread_mutex_lock(&f->lock);
	r = f_suspend(f, name, flags);
	pthread_mutex_unlock(&f->lock);
	return r;
}

static int f_resume_raw(void *ud, const char *name)
{
	FakeDm *f = ud;
	int r;

	if (raw_hangs(f, FAKE_DM_RESUME))
		hang(f);
	pthread_mutex_lock(&f->lock);
	r = f_resume(f, name);
	pthread_mutex_unlock(&f->lock);
	return r;
}

static const DmdevOps fake_ops = {
	.create = f_create,
	.load = f_load,
	.clear = f_clear,
	.suspend = f_suspend,
	.resume = f_resume,
	.remove = f_remove,
	.info = f_info,
	.info_devno = f_info_devno,
	.table = f_table,
	.status = f_status,
	.list = f_list,
	.message = f_message,
	.is_dm_major = f_is_dm_major,
	.settle = f_settle,
	.event_open = f_event_open,
	.event_arm = f_event_arm,
	.emergency_resume = f_emergency_resume,
	.suspend_raw = f_suspend_raw,
	.resume_raw = f_resume_raw,
};

int fake_dm_new(FakeDm **ret)
{
	FakeDm *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->dm = (Dmdev){ .ops = &fake_ops, .userdata = f };
	f->next_minor = 0;
	f->event_fd = -EBADF;
	f->calls = calloc(1, sizeof(char *));
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	*ret = f;
	return 0;
}

FakeDm *fake_dm_free(FakeDm *f)
{
	if (!f)
		return NULL;
	for (size_t i = 0; i < f->n_devs; i++) {
		free(f->devs[i].name);
		free(f->devs[i].uuid);
		free(f->devs[i].status);
		dmdev_table_done(&f->devs[i].live);
		dmdev_table_done(&f->devs[i].inactive);
	}
	free(f->devs);
	strv_free(f->calls);
	if (f->event_fd >= 0)
		close(f->event_fd);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f);
	return NULL;
}

Dmdev *fake_dm_dmdev(FakeDm *f)
{
	return &f->dm;
}

dev_t fake_dm_add(FakeDm *f, const char *name, const char *uuid, uint64_t sectors, const char *type,
                  const char *params)
{
	DmdevTable t = DMDEV_TABLE_NULL;
	FakeDev *d;

	(void)dmdev_table_add(&t, 0, sectors, type, "%s", params);
	(void)f_create(f, name, uuid, &t, NULL);
	dmdev_table_done(&t);
	fake_dm_clear_calls(f);
	d = find(f, name);
	return d ? makedev(FAKE_DM_MAJOR, d->minor) : 0;
}

void fake_dm_fail_nth(FakeDm *f, FakeDmOp op, unsigned nth, int error)
{
	f->fail_nth[op] = nth;
	f->fail_error[op] = error;
}

void fake_dm_hang_nth(FakeDm *f, FakeDmOp op, unsigned nth, unsigned release_after)
{
	f->hang_op = op;
	f->hang_nth = nth;
	f->hang_release_after = release_after;
}

bool fake_dm_hang_released(FakeDm *f)
{
	bool r;

	pthread_mutex_lock(&f->lock);
	r = f->hang_released;
	pthread_mutex_unlock(&f->lock);
	return r;
}

unsigned fake_dm_emergency_resumes(FakeDm *f)
{
	unsigned n;

	pthread_mutex_lock(&f->lock);
	n = f->n_emergency;
	pthread_mutex_unlock(&f->lock);
	return n;
}

void fake_dm_set_clock(FakeDm *f, usec_t *clock, usec_t step)
{
	f->clock = clock;
	f->step = step;
}

int fake_dm_set_status(FakeDm *f, const char *name, const char *status)
{
	FakeDev *d = find(f, name);

	if (!d)
		return -ENXIO;
	free(d->status);
	d->status = strdup(status);
	return d->status ? 0 : -ENOMEM;
}

char *const *fake_dm_calls(FakeDm *f)
{
	return f->calls;
}

void fake_dm_clear_calls(FakeDm *f)
{
	strv_free(f->calls);
	f->calls = calloc(1, sizeof(char *));
	memset(f->n_ops, 0, sizeof(f->n_ops));
}

dev_t fake_dm_devno(FakeDm *f, const char *name)
{
	FakeDev *d = find(f, name);

	return d ? makedev(FAKE_DM_MAJOR, d->minor) : 0;
}

unsigned fake_dm_count_ops(FakeDm *f, FakeDmOp op)
{
	unsigned n = 0;

	for (int i = 0; i < _FAKE_DM_OP_MAX; i++)
		if (op == _FAKE_DM_OP_MAX || (int)op == i)
			n += f->n_ops[i];
	return n;
}

char *fake_dm_calls_filtered(FakeDm *f, const char *verbs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	bool first = true;

	if (!m)
		return NULL;
	for (char **c = f->calls; c && *c; c++) {
		size_t vl = strcspn(*c, " ");
		const char *p = verbs;
		bool match = false;

		while (*p) {
			size_t l = strcspn(p, " ");

			if (l == vl && strncmp(p, *c, l) == 0)
				match = true;
			p += l;
			while (*p == ' ')
				p++;
		}
		if (!match)
			continue;
		fprintf(m, "%s%s", first ? "" : "\n", *c);
		first = false;
	}
	fclose(m);
	return buf;
}

unsigned fake_dm_count_suspended(FakeDm *f)
{
	unsigned n = 0;

	for (size_t i = 0; i < f->n_devs; i++)
		n += f->devs[i].suspended;
	return n;
}

unsigned fake_dm_count_devices(FakeDm *f)
{
	return (unsigned)f->n_devs;
}

unsigned fake_dm_count_uuid_prefix(FakeDm *f, const char *prefix)
{
	unsigned n = 0;

	for (size_t i = 0; i < f->n_devs; i++)
		n += startswith(f->devs[i].uuid, prefix) != NULL;
	return n;
}

bool fake_dm_exists(FakeDm *f, const char *name)
{
	return find(f, name) != NULL;
}

const char *fake_dm_live(FakeDm *f, const char *name)
{
	FakeDev *d = find(f, name);

	return d && d->live_line[0] ? d->live_line : NULL;
}

bool fake_dm_has_inactive(FakeDm *f, const char *name)
{
	FakeDev *d = find(f, name);

	return d && d->has_inactive;
}

void fake_dm_fire_event(FakeDm *f)
{
	uint64_t one = 1;

	if (f->event_fd >= 0)
		(void)!write(f->event_fd, &one, sizeof(one));
}

int fake_dm_set_open_count(FakeDm *f, const char *name, int32_t n)
{
	FakeDev *d = find(f, name);

	if (!d)
		return -ENXIO;
	d->open_count = n;
	return 0;
}
