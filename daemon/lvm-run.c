/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lvm-run.c - lvm2 commands as child processes from the event loop, with a deadline */
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/lvm-run.h"

void lvm_result_done(LvmResult *r)
{
	free(r->out);
	free(r->err);
	*r = (LvmResult){ 0 };
}

int lvm_result_errno(const LvmResult *r)
{
	if (r->error < 0)
		return r->error;
	if (r->timed_out)
		return -ETIME;
	if (r->status != 0)
		return -EIO;
	return 0;
}

char *lvm_argv_join(char *const *argv)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	if (!f)
		return NULL;
	for (size_t i = 0; argv[i]; i++)
		fprintf(f, "%s%s", i ? " " : "", argv[i]);
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* ---- the real runner ------------------------------------------------------------------------- */

typedef struct Job Job;

typedef struct RealRunner {
	LvmRunner base;
	char *binary;
	char *config;
	Job *jobs; /* under way */
} RealRunner;

typedef struct Buf {
	char *p;
	size_t n, cap;
} Buf;

struct Job {
	RealRunner *rr;
	Job *prev, *next;
	LvmRunDone done;
	void *userdata;
	pid_t pid;
	int pidfd;
	int out_fd, err_fd;
	sd_event_source *out_src, *err_src, *pid_src, *timer;
	Buf out, err;
	bool exited, timed_out, killed;
	int status;
	int error;
};

static void job_unlink(Job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else if (j->rr && j->rr->jobs == j)
		j->rr->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	j->prev = j->next = NULL;
}

static void job_close(Job *j)
{
	j->out_src = sd_event_source_disable_unref(j->out_src);
	j->err_src = sd_event_source_disable_unref(j->err_src);
	j->pid_src = sd_event_source_disable_unref(j->pid_src);
	j->timer = sd_event_source_disable_unref(j->timer);
	if (j->out_fd >= 0)
		close(j->out_fd);
	if (j->err_fd >= 0)
		close(j->err_fd);
	if (j->pidfd >= 0)
		close(j->pidfd);
	j->out_fd = j->err_fd = j->pidfd = -EBADF;
}

static int buf_take(Buf *b, char **ret, size_t *ret_len)
{
	if (!b->p) {
		b->p = strdup("");
		if (!b->p)
			return -ENOMEM;
	} else
		b->p[b->n] = 0;
	*ret = TAKE_PTR(b->p);
	*ret_len = b->n;
	*b = (Buf){ 0 };
	return 0;
}

static void job_kill(Job *j)
{
	if (!j->exited && !j->killed && j->pidfd >= 0) {
		(void)syscall(SYS_pidfd_send_signal, j->pidfd, SIGKILL, NULL, 0);
		(void)kill(-j->pid, SIGKILL); /* and what it started: its own process group */
		j->killed = true;
	}
}

/* What is left in a pipe once the child is gone; a grandchild that kept the pipe open (a
 * daemon lvm started) must not hold the completion */
static void drain(Job *j, int fd, Buf *b)
{
	for (;;) {
		ssize_t n;

		if (b->cap - b->n < 4097) {
			size_t cap = MAX(b->cap * 2, (size_t)16384);
			char *p = realloc(b->p, cap);

			if (!p)
				return;
			b->p = p;
			b->cap = cap;
		}
		n = read(fd, b->p + b->n, b->cap - b->n - 1);
		if (n <= 0 || b->n + (size_t)n > LVM_OUTPUT_MAX)
			return;
		b->n += (size_t)n;
	}
}

/* Finished when both pipes are at their end and the child is reaped. */
static void job_maybe_finish(Job *j)
{
	LvmResult res = { .status = -1 };

	if (j->out_src || j->err_src || !j->exited)
		return;
	res.timed_out = j->timed_out;
	res.error = j->error;
	if (!j->killed || j->status >= 0)
		res.status = j->status;
	if (j->killed)
		res.status = -1;
	if (buf_take(&j->out, &res.out, &res.out_len) < 0 ||
	    buf_take(&j->err, &res.err, &res.err_len) < 0)
		res.error = -ENOMEM;
	job_close(j);
	job_unlink(j);
	j->done(j->userdata, &res);
	lvm_result_done(&res);
	free(j->out.p);
	free(j->err.p);
	free(j);
}

static int on_pipe(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
	Job *j = userdata;
	bool is_out = es == j->out_src;
	Buf *b = is_out ? &j->out : &j->err;
	ssize_t n;

	if (b->cap - b->n < 4097) {
		size_t cap = MAX(b->cap * 2, (size_t)16384);
		char *p = realloc(b->p, cap);

		if (!p) {
			j->error = -ENOMEM;
			job_kill(j);
			n = 0;
			goto eof;
		}
		b->p = p;
		b->cap = cap;
	}
	n = read(fd, b->p + b->n, b->cap - b->n - 1);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n > 0) {
		b->n += (size_t)n;
		if (b->n > LVM_OUTPUT_MAX) {
			j->error = -EFBIG;
			job_kill(j);
			goto eof;
		}
		return 0;
	}
	if (n < 0 && !j->error)
		j->error = -errno;
eof:
	if (is_out)
		j->out_src = sd_event_source_disable_unref(j->out_src);
	else
		j->err_src = sd_event_source_disable_unref(j->err_src);
	job_maybe_finish(j);
	return 0;
}

static int on_exit_fd(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
	Job *j = userdata;
	siginfo_t si = { 0 };

	if (waitid(P_PID, (id_t)j->pid, &si, WEXITED | WNOHANG) < 0) {
		if (errno == EINTR)
			return 0;
		j->error = -errno;
	} else if (si.si_pid == 0)
		return 0; /* not yet */
	j->exited = true;
	j->status = si.si_code == CLD_EXITED ? si.si_status : -1;
	j->pid_src = sd_event_source_disable_unref(j->pid_src);
	if (j->killed)
		(void)kill(-j->pid, SIGKILL);
	if (j->out_src)
		drain(j, j->out_fd, &j->out);
	if (j->err_src)
		drain(j, j->err_fd, &j->err);
	j->out_src = sd_event_source_disable_unref(j->out_src);
	j->err_src = sd_event_source_disable_unref(j->err_src);
	job_maybe_finish(j);
	return 0;
}

static int on_deadline(sd_event_source *es, usec_t usec, void *userdata)
{
	Job *j = userdata;

	j->timed_out = true;
	job_kill(j);
	return 0;
}

static int real_start(LvmRunner *base, sd_event *event, char *const *argv, usec_t timeout,
                      LvmRunDone done, void *userdata)
{
	RealRunner *rr = (RealRunner *)base;
	char *envp[8];
	size_t ne = 0, na = 0;
	_cleanup_free_ char **args = NULL;
	int out[2] = { -EBADF, -EBADF }, err[2] = { -EBADF, -EBADF }, devnull = -EBADF;
	_cleanup_free_ char *dis = NULL, *sysdir = NULL;
	const char *e;
	Job *j;
	int r;

	for (na = 0; argv[na]; na++)
		;
	args = calloc(na + 4, sizeof(*args));
	if (!args)
		return -ENOMEM;
	/* lvm <command> [--config <text>] <arguments> */
	na = 0;
	args[na++] = rr->binary;
	args[na++] = argv[0];
	if (rr->config) {
		args[na++] = (char *)"--config";
		args[na++] = rr->config;
	}
	for (size_t i = 1; argv[i]; i++)
		args[na++] = argv[i];
	args[na] = NULL;

	/* a clean environment: what lvm needs, and the two settings a test system passes on */
	envp[ne++] = (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	envp[ne++] = (char *)"LC_ALL=C";
	envp[ne++] = (char *)"LVM_SUPPRESS_FD_WARNINGS=1";
	if ((e = getenv("DM_DISABLE_UDEV")) && asprintf(&dis, "DM_DISABLE_UDEV=%s", e) >= 0)
		envp[ne++] = dis;
	if ((e = getenv("LVM_SYSTEM_DIR")) && asprintf(&sysdir, "LVM_SYSTEM_DIR=%s", e) >= 0)
		envp[ne++] = sysdir;
	envp[ne] = NULL;

	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	*j = (Job){ .done = done,
		    .userdata = userdata,
		    .pid = -1,
		    .pidfd = -EBADF,
		    .out_fd = -EBADF,
		    .err_fd = -EBADF };
	if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = -errno;
		goto fail;
	}
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0) {
		r = -errno;
		goto fail;
	}
	j->pid = fork();
	if (j->pid < 0) {
		r = -errno;
		goto fail;
	}
	if (j->pid == 0) {
		/* the child: async-signal-safe calls only */
		sigset_t all;

		sigemptyset(&all);
		(void)sigprocmask(SIG_SETMASK, &all, NULL);
		(void)setpgid(0, 0); /* a group of its own, killed whole at the deadline */
		if (dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(127);
		(void)fcntl(1, F_SETFL, 0); /* the child writes blocking */
		(void)fcntl(2, F_SETFL, 0);
		(void)syscall(SYS_close_range, 3U, ~0U, 0U);
		execve(rr->binary, args, envp);
		_exit(127);
	}
	close(devnull);
	close(out[1]);
	close(err[1]);
	j->out_fd = out[0];
	j->err_fd = err[0];
	j->pidfd = (int)syscall(SYS_pidfd_open, j->pid, 0);
	if (j->pidfd < 0) {
		r = -errno;
		(void)kill(j->pid, SIGKILL);
		(void)waitpid(j->pid, NULL, 0);
		job_close(j);
		free(j);
		return r;
	}
	r = sd_event_add_io(event, &j->out_src, j->out_fd, EPOLLIN, on_pipe, j);
	if (r >= 0)
		r = sd_event_add_io(event, &j->err_src, j->err_fd, EPOLLIN, on_pipe, j);
	if (r >= 0)
		r = sd_event_add_io(event, &j->pid_src, j->pidfd, EPOLLIN, on_exit_fd, j);
	if (r >= 0 && timeout != USEC_INFINITY)
		r = sd_event_add_time_relative(event, &j->timer, CLOCK_MONOTONIC, timeout, 1000,
		                               on_deadline, j);
	if (r < 0) {
		(void)syscall(SYS_pidfd_send_signal, j->pidfd, SIGKILL, NULL, 0);
		(void)waitpid(j->pid, NULL, 0);
		job_close(j);
		free(j);
		return r;
	}
	j->rr = rr;
	j->next = rr->jobs;
	if (rr->jobs)
		rr->jobs->prev = j;
	rr->jobs = j;
	return 0;
fail:
	for (size_t i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	if (devnull >= 0)
		close(devnull);
	free(j);
	return r;
}

static void real_cancel(LvmRunner *base, void *userdata)
{
	RealRunner *rr = (RealRunner *)base;

	for (Job *j = rr->jobs, *next; j; j = next) {
		next = j->next;
		if (j->userdata != userdata)
			continue;
		if (!j->exited) {
			job_kill(j);
			(void)waitpid(j->pid, NULL, 0); /* killed: it ends now */
		}
		(void)kill(-j->pid, SIGKILL); /* what it left in its group */
		job_close(j);
		job_unlink(j);
		free(j->out.p);
		free(j->err.p);
		free(j);
	}
}

static void real_free(LvmRunner *base)
{
	RealRunner *rr = (RealRunner *)base;

	free(rr->binary);
	free(rr->config);
	free(rr);
}

int lvm_runner_new(const char *binary, const char *config, LvmRunner **ret)
{
	RealRunner *rr = calloc(1, sizeof(*rr));

	if (!rr)
		return -ENOMEM;
	rr->base = (LvmRunner){ .start = real_start, .cancel = real_cancel, .free = real_free };
	rr->binary = strdup(binary);
	rr->config = config && config[0] ? strdup(config) : NULL;
	if (!rr->binary || (config && config[0] && !rr->config)) {
		real_free(&rr->base);
		return -ENOMEM;
	}
	*ret = &rr->base;
	return 0;
}

LvmRunner *lvm_runner_free(LvmRunner *r)
{
	if (r)
		r->free(r);
	return NULL;
}

/* ---- synchronous use ------------------------------------------------------------------------- */

typedef struct SyncWait {
	bool finished;
	LvmResult *ret;
} SyncWait;

static void sync_done(void *userdata, const LvmResult *res)
{
	SyncWait *w = userdata;

	*w->ret = *res;
	w->ret->out = strdup(strempty(res->out));
	w->ret->err = strdup(strempty(res->err));
	if (!w->ret->out || !w->ret->err)
		w->ret->error = -ENOMEM;
	w->finished = true;
}

int lvm_run_sync(LvmRunner *r, char *const *argv, usec_t timeout, LvmResult *ret)
{
	sd_event *e = NULL;
	SyncWait w = { .ret = ret };
	int k;

	*ret = (LvmResult){ .status = -1 };
	k = sd_event_new(&e);
	if (k < 0)
		return k;
	k = r->start(r, e, argv, timeout, sync_done, &w);
	while (k >= 0 && !w.finished)
		k = sd_event_run(e, USEC_INFINITY);
	sd_event_unref(e);
	if (k < 0 && !w.finished)
		return k;
	return 0;
}

/* ---- the fake runner ------------------------------------------------------------------------- */

typedef struct FakeRunner {
	LvmRunner base;
	const LvmFakeEntry *table;
	bool reuse;
	bool *used;
	size_t n;
	char **log;
	size_t cancelled;
	bool hold; /* calls wait for lvm_fake_release() */
	struct FakeCall *calls;
} FakeRunner;

typedef struct FakeCall {
	FakeRunner *f;
	struct FakeCall *next;
	LvmRunDone done;
	void *userdata;
	LvmResult res;
	sd_event_source *src;
} FakeCall;

static void fake_unlink(FakeCall *c)
{
	for (FakeCall **p = &c->f->calls; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
}

static int fake_fire(sd_event_source *es, void *userdata)
{
	FakeCall *c = userdata;

	fake_unlink(c);
	c->done(c->userdata, &c->res);
	lvm_result_done(&c->res);
	sd_event_source_disable_unref(c->src);
	free(c);
	return 0;
}

static int fake_start(LvmRunner *base, sd_event *event, char *const *argv, usec_t timeout,
                      LvmRunDone done, void *userdata)
{
	FakeRunner *f = (FakeRunner *)base;
	_cleanup_free_ char *j = lvm_argv_join(argv);
	const LvmFakeEntry *hit = NULL;
	FakeCall *c;
	int r;

	if (!j)
		return -ENOMEM;
	for (size_t i = 0; i < f->n && !hit; i++)
		if ((f->reuse || !f->used[i]) && streq(f->table[i].argv, j)) {
			hit = &f->table[i];
			f->used[i] = true;
		}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->done = done;
	c->userdata = userdata;
	c->res.status = hit ? hit->status : 99;
	c->res.out = strdup(hit ? strempty(hit->out) : "");
	c->res.err = strdup(hit ? strempty(hit->err) : "unexpected command\n");
	if (c->res.out)
		c->res.out_len = strlen(c->res.out);
	if (c->res.err)
		c->res.err_len = strlen(c->res.err);
	r = strv_push(&f->log, TAKE_PTR(j));
	if (r >= 0 && (!c->res.out || !c->res.err))
		r = -ENOMEM;
	if (r >= 0)
		r = sd_event_add_defer(event, &c->src, fake_fire, c);
	if (r >= 0 && f->hold)
		r = sd_event_source_set_enabled(c->src, SD_EVENT_OFF);
	if (r < 0) {
		sd_event_source_disable_unref(c->src);
		lvm_result_done(&c->res);
		free(c);
		return r;
	}
	c->f = f;
	c->next = f->calls;
	f->calls = c;
	return 0;
}

static void fake_cancel(LvmRunner *base, void *userdata)
{
	FakeRunner *f = (FakeRunner *)base;

	for (FakeCall **p = &f->calls; *p;) {
		FakeCall *c = *p;

		if (c->userdata != userdata) {
			p = &c->next;
			continue;
		}
		*p = c->next;
		sd_event_source_disable_unref(c->src);
		lvm_result_done(&c->res);
		free(c);
		f->cancelled++;
	}
}

void lvm_fake_hold(LvmRunner *r, bool hold)
{
	((FakeRunner *)r)->hold = hold;
}

size_t lvm_fake_release(LvmRunner *r)
{
	FakeRunner *f = (FakeRunner *)r;
	size_t n = 0;

	for (FakeCall *c = f->calls; c; c = c->next)
		if (sd_event_source_set_enabled(c->src, SD_EVENT_ONESHOT) >= 0)
			n++;
	return n;
}

size_t lvm_fake_pending(LvmRunner *r)
{
	size_t n = 0;

	for (FakeCall *c = ((FakeRunner *)r)->calls; c; c = c->next)
		n++;
	return n;
}

size_t lvm_fake_cancelled(LvmRunner *r)
{
	return ((FakeRunner *)r)->cancelled;
}

static void fake_free(LvmRunner *base)
{
	FakeRunner *f = (FakeRunner *)base;

	while (f->calls) {
		FakeCall *c = f->calls;

		f->calls = c->next;
		sd_event_source_disable_unref(c->src);
		lvm_result_done(&c->res);
		free(c);
	}

	free(f->used);
	strv_free(f->log);
	free(f);
}

int lvm_fake_new(const LvmFakeEntry *table, bool reuse, LvmRunner **ret)
{
	FakeRunner *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->base = (LvmRunner){ .start = fake_start, .cancel = fake_cancel, .free = fake_free };
	f->table = table;
	f->reuse = reuse;
	while (table[f->n].argv)
		f->n++;
	f->used = calloc(f->n + 1, sizeof(bool));
	if (!f->used) {
		free(f);
		return -ENOMEM;
	}
	*ret = &f->base;
	return 0;
}

char *const *lvm_fake_log(LvmRunner *r)
{
	static char *const empty[] = { NULL };
	FakeRunner *f = (FakeRunner *)r;

	return f->log ? f->log : empty;
}
