/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssd-hook-writer.c - a vssd writer that runs the executables of a directory on each event */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "client/libvsswriter/vss-writer.h"
#include "common/escape.h"
#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"

#define HOOKS_DIR_DEFAULT       "/etc/vssd/writers.d"
#define HOOK_TIMEOUT_MS_DEFAULT 30000
#define NAME_DEFAULT            "vssd-hook-writer"
#define CLASS_ID_DEFAULT        "6853966b-ce5f-489e-bca1-61da65022eb0"
#define HOOKS_MAX               256
#define HOOK_LINE_MAX                                                  \
	8192 /* longer output lines are logged in pieces (a stamp line \
	      * holds up to 4096 bytes of value) */
#define COMPONENTS_MAX 256

extern char **environ;

static const char *arg_hooks = HOOKS_DIR_DEFAULT;
static const char *arg_name = NAME_DEFAULT;
static const char *arg_class_id = CLASS_ID_DEFAULT;
static const char *arg_instance_name;
static const char *arg_bus;
static uint32_t arg_hook_timeout_ms = HOOK_TIMEOUT_MS_DEFAULT;
static uint32_t arg_freeze_timeout_ms;
static char *arg_components[COMPONENTS_MAX + 1]; /* --component NAME=PATH[:PATH...] */
static size_t arg_n_components;

/* The one mutable static beyond arg_*: the signal handler's way to end vss_writer_run(). */
static struct vss_writer *stop_target;

typedef enum HookOrder {
	HOOK_ORDER_FORWARD, /* name order: prepare, freeze, ... */
	HOOK_ORDER_REVERSE, /* thaw and abort undo in reverse */
} HookOrder;

typedef struct HookWriter {
	struct vss_writer *w;
	const char *dir;
	usec_t timeout_usec;
	char *set_id; /* the set the volumes belong to */
	char **volumes;
	char **frozen_hooks; /* the hooks a successful freeze ran: thaw and abort undo exactly these
	                      */
	bool buffering;      /* logs held in memory while a freeze may hold file systems */
} HookWriter;

/* How one hook ended. */
typedef struct HookResult {
	int spawn_error; /* negative errno when it did not start */
	int status;      /* wait status */
	bool timed_out;
	char last_err[512]; /* its last non-empty stderr line */
} HookResult;

typedef struct HookStream {
	int fd;
	bool is_err;
	struct vss_writer *w; /* stdout: where the hook's stamp lines go */
	bool cut;             /* the line under way was longer than buf */
	char buf[HOOK_LINE_MAX];
	size_t len;
} HookStream;

/*
 * A hook's stdout line "backup-stamp COMPONENT VALUE", "backup-metadata COMPONENT VALUE" or
 * "component-failed COMPONENT MESSAGE" (one space after each of the first two words; VALUE is the
 * rest of the line, MESSAGE not empty) sets that on the component for the event being handled,
 * as the library's setters do (which check the component and the text). Only a whole line
 * counts; a line with control characters, invalid UTF-8 or an unknown component is refused and
 * logged, never altered. Returns whether the line was one of these.
 */
static bool hook_stamp_line(struct vss_writer *w, const char *line, const char *set,
                            const char *hook)
{
	static const char *const words[] = { "backup-stamp ", "backup-metadata ",
		                             "component-failed " };
	_cleanup_free_ char *component = NULL;
	const char *rest = NULL, *value;
	size_t which;
	char buf[64];
	int r;

	for (which = 0; which < ELEMENTSOF(words) && !rest; which++)
		rest = startswith(line, words[which]);
	if (!rest)
		return false;
	which--;
	value = strchr(rest, ' ');
	component = value ? strndup(rest, (size_t)(value - rest)) : NULL;
	if (!component) {
		log_warning("set=%s hook=%s: %sneeds a component and a value, ignored", set, hook,
		            words[which]);
		return true;
	}
	value++;
	r = which == 0   ? vss_writer_set_backup_stamp(w, component, value)
	    : which == 1 ? vss_writer_set_backup_metadata(w, component, value)
	                 : vss_writer_fail_component(w, component, "%s", value);
	if (r < 0) {
		_cleanup_free_ char *esc = NULL;

		(void)text_escape(component, 0, &esc);
		log_warning("set=%s hook=%s: %sfor component \"%s\" refused: %s", set, hook,
		            words[which], strempty(esc),
		            r == -ENOENT   ? "not one of this writer's components in the backup"
		            : r == -EBUSY  ? "only from prepare-backup to post-snapshot"
		            : r == -E2BIG  ? "too long"
		            : r == -EINVAL ? "not UTF-8 text without control characters"
		                           : strerror_r(-r, buf, sizeof(buf)));
	} else
		log_info("set=%s hook=%s: %sset for component %s", set, hook, words[which],
		         component);
	return true;
}

static void hook_emit_line(HookStream *s, const char *set, const char *hook, HookResult *res,
                           bool whole)
{
	s->buf[s->len] = 0;
	if (whole && s->w && hook_stamp_line(s->w, s->buf, set, hook)) {
		s->len = 0;
		return;
	}
	for (char *p = s->buf; *p; p++) /* no control characters into the journal */
		if ((unsigned char)*p < 0x20 && *p != '\t')
			*p = ' ';
	log_full(s->is_err ? LOG_NOTICE : LOG_INFO, "set=%s hook=%s: %s", set, hook, s->buf);
	if (s->is_err && s->len > 0) { /* cut: the library repairs a split UTF-8 character */
		size_t n = MIN(s->len, sizeof(res->last_err) - 1);

		memcpy(res->last_err, s->buf, n);
		res->last_err[n] = 0;
	}
	s->len = 0;
}

/* Reads once: > 0 data, 0 end of file, -EAGAIN nothing now, or another negative errno. */
static int hook_read(HookStream *s, const char *set, const char *hook, HookResult *res)
{
	char chunk[4096];
	ssize_t n;

	n = read(s->fd, chunk, sizeof(chunk));
	if (n < 0)
		return errno == EINTR ? -EAGAIN : -errno;
	if (n == 0) {
		if (s->len > 0)
			hook_emit_line(s, set, hook, res, !s->cut);
		return 0;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (chunk[i] == '\n') {
			hook_emit_line(s, set, hook, res, !s->cut);
			s->cut = false;
			continue;
		}
		s->buf[s->len++] = chunk[i];
		if (s->len == sizeof(s->buf) - 1) {
			hook_emit_line(s, set, hook, res, false);
			s->cut = true; /* the rest of this line is not a whole line either */
		}
	}
	return 1;
}

/* After the hook ended: what it wrote just before. Its children may keep the pipe open and
 * write on, so read only what is there, and not forever. */
static void hook_drain(HookStream *s, const char *set, const char *hook, HookResult *res)
{
	if (s->fd >= 0) {
		(void)fcntl(s->fd, F_SETFL, O_NONBLOCK);
		for (int i = 0; i < 64 && hook_read(s, set, hook, res) > 0; i++)
			;
	}
	if (s->len > 0)
		hook_emit_line(s, set, hook, res, !s->cut);
}

static int pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
#else
	return -ENOSYS;
#endif
}

/* VSSD_BACKUP_TYPE and VSSD_PREVIOUS_BACKUP_STAMPS (one "COMPONENT<TAB>STAMP" line per
 * component that has one) of the backup under way, when there is one */
static int backup_env(struct vss_writer *w, char ***env)
{
	_cleanup_free_ char *stamps = NULL;
	const char *type = w ? vss_writer_get_backup_type(w) : NULL;
	char *s;

	if (!type)
		return 0;
	if (asprintf(&s, "VSSD_BACKUP_TYPE=%s", type) < 0 || strv_push(env, s) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < arg_n_components; i++) {
		_cleanup_free_ char *name =
			strndup(arg_components[i], strcspn(arg_components[i], "="));
		const char *p = name ? vss_writer_get_previous_backup_stamp(w, name) : NULL;
		char *n;

		if (!name)
			return -ENOMEM;
		if (!p)
			continue;
		if (asprintf(&n, "%s%s%s\t%s", strempty(stamps), stamps ? "\n" : "", name, p) < 0)
			return -ENOMEM;
		free(stamps);
		stamps = n;
	}
	if (stamps &&
	    (asprintf(&s, "VSSD_PREVIOUS_BACKUP_STAMPS=%s", stamps) < 0 || strv_push(env, s) < 0))
		return -ENOMEM;
	return 0;
}

static char **hook_env(struct vss_writer *w, const char *event, const char *set, char *const *extra)
{
	_cleanup_strv_free_ char **env = NULL;
	char *s;

	for (char **e = environ; e && *e; e++)
		if (!startswith(*e, "VSSD_") && strv_extend(&env, *e) < 0)
			return NULL;
	if (asprintf(&s, "VSSD_EVENT=%s", event) < 0 || strv_push(&env, s) < 0)
		return NULL;
	if (asprintf(&s, "VSSD_SET_ID=%s", set) < 0 || strv_push(&env, s) < 0)
		return NULL;
	if (asprintf(&s, "VSSD_WRITER_NAME=%s", arg_name) < 0 || strv_push(&env, s) < 0)
		return NULL;
	if (backup_env(w, &env) < 0)
		return NULL;
	for (char *const *e = extra; e && *e; e++)
		if (strv_extend(&env, *e) < 0)
			return NULL;
	return TAKE_PTR(env);
}

static int hook_spawn(const char *path, char *const *argv, char *const *envp, int out_fd,
                      int err_fd, pid_t *ret)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	int r;

	sigfillset(&all);
	sigemptyset(&none);
	r = posix_spawn_file_actions_init(&fa);
	if (r != 0)
		return -r;
	r = posix_spawnattr_init(&attr);
	if (r != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -r;
	}
	/* own process group (killed as a whole on timeout), default signals, nothing blocked,
	 * stdin /dev/null, stdout and stderr to our pipes */
	r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	                                            POSIX_SPAWN_SETSIGDEF);
	if (r == 0)
		r = posix_spawnattr_setpgroup(&attr, 0);
	if (r == 0)
		r = posix_spawnattr_setsigmask(&attr, &none);
	if (r == 0)
		r = posix_spawnattr_setsigdefault(&attr, &all);
	if (r == 0)
		r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
	if (r == 0)
		r = posix_spawn(ret, path, &fa, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

/*
 * Trust. The hook writer runs as root: a hook runs only if nobody but root (or the user the
 * writer runs as) could have put it there or changed it. Every component of the hook's resolved
 * path (symlinks followed, so a link's target is judged, not the link) must be owned by root or
 * by us and writable by nobody else, except a sticky directory such as /tmp, where others cannot
 * rename or remove what is ours; the hook itself must be a regular executable file. Because no
 * one else can change any component, running the hook by its path after the check runs what was
 * checked. The check is made when the directory is listed and again right before each run.
 */
static void closedir_safe(DIR *d)
{
	if (d)
		closedir(d);
}
DEFINE_POINTER_CLEANUP(closedirp, DIR *, closedir_safe)

static bool owner_ok(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

/* One component: owned by root or us, writable by nobody else (a sticky directory that is not
 * the last component excepted). 0, or -EPERM with the reason in why. */
static int component_trusted(const char *path, bool last, struct stat *st, char *why,
                             size_t why_size)
{
	if (lstat(path, st) < 0) {
		snprintf(why, why_size, "%s: %s", path, strerror(errno));
		return -EPERM;
	}
	if (!owner_ok(st)) {
		snprintf(why, why_size, "%s is owned by uid %u, not by root", path,
		         (unsigned)st->st_uid);
		return -EPERM;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) &&
	    !(S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) && !last)) {
		snprintf(why, why_size, "%s is writable by %s", path,
		         st->st_mode & S_IWOTH ? "others" : "its group");
		return -EPERM;
	}
	return 0;
}

/* 0 if path (a directory when want_dir, else an executable file) may be trusted, or a negative
 * errno with the reason in why */
static int path_trusted(const char *path, bool want_dir, char *why, size_t why_size)
{
	_cleanup_free_ char *real = realpath(path, NULL);
	struct stat st;
	size_t len;
	int r;

	if (!real) {
		r = -errno;
		snprintf(why, why_size, "%s cannot be resolved: %s", path, strerror(-r));
		return r;
	}
	r = component_trusted("/", streq(real, "/"), &st, why, why_size);
	len = strlen(real);
	for (size_t i = 1; r >= 0 && i <= len; i++) {
		char c = real[i];

		if (c != '/' && c != 0)
			continue;
		real[i] = 0; /* the prefix up to this component */
		r = component_trusted(real, i == len, &st, why, why_size);
		real[i] = c;
	}
	if (r < 0)
		return r;
	if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
		snprintf(why, why_size, "%s is not %s", real,
		         want_dir ? "a directory" : "an executable regular file");
		return -EPERM;
	}
	return 0;
}

/* The hook's processes that outlived it: ones still in its process group, and ones that left
 * the group (setsid, double fork) and were reparented to us, the child subreaper. None may
 * keep running past its event: each is killed and reaped. Returns how many there were. */
static unsigned reap_leftovers(pid_t pgid)
{
	unsigned n = 0;

	(void)kill(-pgid, SIGKILL);
	/* a killed child's own children come to us in turn: a few rounds */
	for (int round = 0; round < 64; round++) {
		_cleanup_(closedirp) DIR *d = opendir("/proc");
		struct dirent *de;
		bool any = false;

		while (d && (de = readdir(d))) {
			char path[64], buf[512], *e;
			_cleanup_close_ int fd = -EBADF;
			ssize_t len;
			long ppid;
			pid_t pid;

			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			pid = (pid_t)strtol(de->d_name, NULL, 10);
			snprintf(path, sizeof(path), "/proc/%d/stat", pid);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			len = read(fd, buf, sizeof(buf) - 1);
			if (len <= 0)
				continue;
			buf[len] = 0;
			e = strrchr(buf, ')'); /* "pid (comm) state ppid ..." */
			if (!e || sscanf(e + 1, " %*c %ld", &ppid) != 1 || ppid != getpid())
				continue;
			(void)kill(pid, SIGKILL);
			any = true;
			n++;
		}
		while (waitpid(-1, NULL, any ? 0 : WNOHANG) > 0)
			;
		if (!any)
			break;
	}
	return n;
}

/* Runs one hook to its end or its timeout, logging its output line by line. */
static void hook_run(HookWriter *hw, const char *name, char *const *argv, char *const *envp,
                     HookResult *res)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int pidfd = -EBADF;
	HookStream out = { .fd = -EBADF, .w = hw->w }, err = { .fd = -EBADF, .is_err = true };
	int out_pipe[2] = { -EBADF, -EBADF }, err_pipe[2] = { -EBADF, -EBADF };
	usec_t end = now_usec(CLOCK_MONOTONIC) + hw->timeout_usec;
	const char *set = argv[2];
	bool exited = false;
	pid_t pid = 0;
	int r;

	*res = (HookResult){ 0 };
	if (asprintf(&path, "%s/%s", hw->dir, name) < 0) {
		res->spawn_error = -ENOMEM;
		return;
	}
	{
		char why[PATH_MAX + 128];

		/* again, right before it runs: the directory may have changed since the list */
		r = path_trusted(path, false, why, sizeof(why));
		if (r < 0) {
			log_error("set=%s hook=%s: not run: %s", set, name, why);
			res->spawn_error = r;
			return;
		}
	}
	if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
		res->spawn_error = -errno;
		goto done;
	}
	r = hook_spawn(path, argv, envp, out_pipe[1], err_pipe[1], &pid);
	closep(&out_pipe[1]);
	closep(&err_pipe[1]);
	if (r < 0) {
		res->spawn_error = r;
		goto done;
	}
	out.fd = out_pipe[0];
	err.fd = err_pipe[0];
	pidfd = pidfd_open_compat(pid); /* without it: poll waitpid() every 20 ms */

	while (!exited) {
		struct pollfd p[3] = {
			{ .fd = out.fd, .events = POLLIN },
			{ .fd = err.fd, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
		};
		usec_t now = now_usec(CLOCK_MONOTONIC);
		int ms;

		if (now >= end) {
			res->timed_out = true;
			(void)kill(-pid, SIGKILL); /* the hook and whatever it started */
			while (waitpid(pid, &res->status, 0) < 0 && errno == EINTR)
				;
			break;
		}
		ms = (int)MIN((end - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC, (usec_t)INT32_MAX);
		if (pidfd < 0)
			ms = MIN(ms, 20);
		if (poll(p, 3, ms) < 0 && errno != EINTR) {
			res->spawn_error = -errno;
			(void)kill(-pid, SIGKILL);
			(void)waitpid(pid, &res->status, 0);
			break;
		}
		for (int i = 0; i < 2; i++) {
			HookStream *st = i == 0 ? &out : &err;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = hook_read(st, set, name, res);
			if (r != -EAGAIN && r <= 0)
				st->fd = -EBADF; /* closed with its pipe below */
		}
		if (pidfd < 0 || (p[2].revents & POLLIN)) {
			pid_t w = waitpid(pid, &res->status, pidfd < 0 ? WNOHANG : 0);

			exited = w == pid;
		}
	}
	hook_drain(&out, set, name, res);
	hook_drain(&err, set, name, res);
	if (pid > 0) {
		unsigned left = reap_leftovers(pid);

		if (left > 0)
			log_warning("set=%s hook=%s: left %u processes running after it ended; "
			            "killed them",
			            set, name, left);
	}
done:
	closep(&out_pipe[0]);
	closep(&out_pipe[1]);
	closep(&err_pipe[0]);
	closep(&err_pipe[1]);
}

static bool hook_name_ok(const char *name)
{
	static const char *const skip[] = { ".dpkg-", ".rpmnew", ".rpmsave", ".ucf-", ".swp" };
	size_t n = strlen(name);

	if (name[0] == '.' || n == 0 || name[n - 1] == '~')
		return false;
	for (size_t i = 0; i < ELEMENTSOF(skip); i++)
		if (strstr(name, skip[i]))
			return false;
	return true;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The executable regular files (symlinks followed) of dir, in strcmp() order. A missing directory
 * has no hooks. */
static int hooks_list(const char *dir, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	DIR *d;
	struct dirent *de;
	int r = 0;

	d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			return -errno;
		*ret = NULL;
		return 0;
	}
	{
		char why[PATH_MAX + 128];

		r = path_trusted(dir, true, why, sizeof(why));
		if (r < 0) {
			closedir(d);
			log_error("no hooks run from %s: %s", dir, why);
			return r;
		}
	}
	while ((de = readdir(d))) {
		_cleanup_free_ char *path = NULL;
		char why[PATH_MAX + 128];
		struct stat st;

		if (!hook_name_ok(de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode) ||
		    faccessat(dirfd(d), de->d_name, X_OK, 0) < 0) {
			log_debug("hook=%s: not an executable file, skipped", de->d_name);
			continue;
		}
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		if (path_trusted(path, false, why, sizeof(why)) < 0) {
			log_error("hook=%s: skipped, it is not safe to run as uid %u: %s",
			          de->d_name, (unsigned)geteuid(), why);
			continue;
		}
		if (strv_length(l) >= HOOKS_MAX) {
			log_warning("more than %d hooks in %s, ignoring %s", HOOKS_MAX, dir,
			            de->d_name);
			continue;
		}
		r = strv_extend(&l, de->d_name);
		if (r < 0)
			break;
	}
	closedir(d);
	if (r < 0)
		return r;
	if (l)
		qsort(l, strv_length(l), sizeof(char *), cmp_names);
	*ret = TAKE_PTR(l);
	return 0;
}

/* argv: the hook path's last element (for ps), the event, the set id, then args. */
static char **hook_argv(const char *name, const char *event, const char *set, char *const *args)
{
	_cleanup_strv_free_ char **argv = NULL;

	if (strv_extend(&argv, name) < 0 || strv_extend(&argv, event) < 0 ||
	    strv_extend(&argv, set) < 0)
		return NULL;
	for (char *const *a = args; a && *a; a++)
		if (strv_extend(&argv, *a) < 0)
			return NULL;
	return TAKE_PTR(argv);
}

/* Veto arguments for a failed hook; returns the vss_writer_veto() result. */
static int hook_veto(struct vss_writer *w, const char *name, const HookResult *res)
{
	const char *sep = res->last_err[0] ? ": " : "";
	char buf[64];

	if (res->spawn_error < 0)
		return vss_writer_veto(w, VSS_WRITER_ERROR_RETRYABLE, "hook %s could not run: %s",
		                       name, strerror_r(-res->spawn_error, buf, sizeof(buf)));
	if (res->timed_out)
		return vss_writer_veto(w, VSS_WRITER_ERROR_TIMEOUT,
		                       "hook %s timed out after %" PRIu32 " ms%s%s", name,
		                       arg_hook_timeout_ms, sep, res->last_err);
	if (WIFSIGNALED(res->status))
		return vss_writer_veto(w, VSS_WRITER_ERROR_RETRYABLE,
		                       "hook %s was killed by signal %d%s%s", name,
		                       WTERMSIG(res->status), sep, res->last_err);
	return vss_writer_veto(w, VSS_WRITER_ERROR_RETRYABLE,
	                       "hook %s failed with exit status %d%s%s", name,
	                       WEXITSTATUS(res->status), sep, res->last_err);
}

static bool hook_failed(const HookResult *res)
{
	return res->spawn_error < 0 || res->timed_out || !WIFEXITED(res->status) ||
	       WEXITSTATUS(res->status) != 0;
}

static void hook_log_result(const char *set, const char *event, const char *name,
                            const HookResult *res)
{
	if (!hook_failed(res))
		log_debug("set=%s hook=%s: %s succeeded", set, name, event);
	else if (res->spawn_error < 0)
		log_error_errno(res->spawn_error, "set=%s hook=%s: %s: cannot run: %m", set, name,
		                event);
	else if (res->timed_out)
		log_error("set=%s hook=%s: %s timed out after %" PRIu32 " ms, killed", set, name,
		          event, arg_hook_timeout_ms);
	else if (WIFSIGNALED(res->status))
		log_error("set=%s hook=%s: %s killed by signal %d", set, name, event,
		          WTERMSIG(res->status));
	else
		log_error("set=%s hook=%s: %s failed with exit status %d", set, name, event,
		          WEXITSTATUS(res->status));
}

/*
 * Runs the hooks for event. Forward events stop at the first failure and veto with it; when that
 * was a freeze, the hooks that froze already get "abort" (in reverse) at once, so nothing stays
 * frozen on a vetoed freeze even if vssd never sends Abort. Reverse events (thaw, abort) run every
 * hook and report the first failure afterwards.
 */
static int hooks_run(struct vss_writer *w, HookWriter *hw, const char *event, const char *set,
                     HookOrder order, char *const *args, char *const *extra_env)
{
	_cleanup_strv_free_ char **names = NULL, **envp = NULL;
	_cleanup_free_ char *failed_name = NULL;
	HookResult res, first_failure = { 0 };
	size_t n;
	int r = 0;

	/* thaw and abort undo the hooks that froze, even if the directory changed since */
	if (order == HOOK_ORDER_REVERSE && hw->frozen_hooks)
		names = TAKE_PTR(hw->frozen_hooks);
	else
		r = hooks_list(hw->dir, &names);
	if (r < 0) {
		log_error_errno(r, "set=%s: cannot list the hooks in %s: %m", set, hw->dir);
		return vss_writer_veto(w, VSS_WRITER_ERROR_RETRYABLE, "cannot list the hooks in %s",
		                       hw->dir);
	}
	n = strv_length(names);
	if (n == 0) {
		log_debug("set=%s: %s: no hooks in %s", set, event, hw->dir);
		return 0;
	}
	envp = hook_env(w, event, set, extra_env);
	if (!envp)
		return log_oom();
	log_info("set=%s: %s: running %zu hooks", set, event, n);

	for (size_t k = 0; k < n; k++) {
		size_t i = order == HOOK_ORDER_FORWARD ? k : n - 1 - k;
		_cleanup_strv_free_ char **argv = hook_argv(names[i], event, set, args);

		if (!argv)
			return log_oom();
		hook_run(hw, names[i], argv, envp, &res);
		hook_log_result(set, event, names[i], &res);
		if (!hook_failed(&res))
			continue;
		if (order == HOOK_ORDER_REVERSE) {
			if (!failed_name) {
				failed_name = strdup(names[i]);
				first_failure = res;
			}
			continue;
		}
		if (streq(event, "freeze") && i > 0) {
			_cleanup_strv_free_ char **abort_env = hook_env(w, "abort", set, NULL);

			log_notice("set=%s: freeze failed at hook %s, aborting the %zu before it",
			           set, names[i], i);
			for (size_t j = i; abort_env && j-- > 0;) {
				_cleanup_strv_free_ char **aargv =
					hook_argv(names[j], "abort", set, args);
				HookResult ares;

				if (!aargv)
					break;
				hook_run(hw, names[j], aargv, abort_env, &ares);
				hook_log_result(set, "abort", names[j], &ares);
			}
		}
		return hook_veto(w, names[i], &res);
	}
	if (failed_name)
		return hook_veto(w, failed_name, &first_failure);
	if (streq(event, "freeze"))
		hw->frozen_hooks = TAKE_PTR(names);
	return 0;
}

/* The volumes of the set being created: PrepareForSnapshot names them, later events reuse them. */
static char *const *hw_volumes(HookWriter *hw, const char *set)
{
	return streq_ptr(hw->set_id, set) ? hw->volumes : NULL;
}

static void hw_forget_set(HookWriter *hw)
{
	free(hw->set_id);
	hw->set_id = NULL;
	hw->volumes = strv_free(hw->volumes);
}

static void hw_end_buffering(HookWriter *hw)
{
	if (!hw->buffering)
		return;
	hw->buffering = false;
	log_flush_buffer();
}

static int on_prepare_backup(struct vss_writer *w, const char *set_id, const char *backup_type,
                             const char *context, const char *const *components, void *userdata)
{
	_cleanup_strv_free_ char **env = NULL;
	char *s;

	/* VSSD_BACKUP_TYPE: hook_env(), from the backup under way */
	if (asprintf(&s, "VSSD_CONTEXT=%s", context) < 0 || strv_push(&env, s) < 0)
		return log_oom();
	return hooks_run(w, userdata, "prepare-backup", set_id, HOOK_ORDER_FORWARD, NULL, env);
}

static int on_prepare_snapshot(struct vss_writer *w, const char *set_id, const char *const *volumes,
                               void *userdata)
{
	HookWriter *hw = userdata;

	hw_forget_set(hw);
	hw->set_id = strdup(set_id);
	if (!hw->set_id)
		return log_oom();
	for (const char *const *v = volumes; *v; v++)
		if (strv_extend(&hw->volumes, *v) < 0)
			return log_oom();
	return hooks_run(w, hw, "prepare-snapshot", set_id, HOOK_ORDER_FORWARD, hw->volumes, NULL);
}

static int on_freeze(struct vss_writer *w, const char *set_id, void *userdata)
{
	HookWriter *hw = userdata;
	int r;

	/* From here until thaw, stderr may lead to a frozen file system (the journal's): keep log
	 * lines in memory. */
	log_info("set=%s: freeze", set_id);
	log_begin_buffering();
	hw->buffering = true;
	r = hooks_run(w, hw, "freeze", set_id, HOOK_ORDER_FORWARD, hw_volumes(hw, set_id), NULL);
	if (r < 0)
		hw_end_buffering(hw); /* the frozen ones were aborted already */
	return r;
}

static int on_thaw(struct vss_writer *w, const char *set_id, void *userdata)
{
	HookWriter *hw = userdata;
	int r;

	r = hooks_run(w, hw, "thaw", set_id, HOOK_ORDER_REVERSE, hw_volumes(hw, set_id), NULL);
	hw_end_buffering(hw);
	return r;
}

static int on_abort(struct vss_writer *w, const char *set_id, void *userdata)
{
	HookWriter *hw = userdata;
	int r;

	r = hooks_run(w, hw, "abort", set_id, HOOK_ORDER_REVERSE, hw_volumes(hw, set_id), NULL);
	hw_end_buffering(hw);
	return r;
}

static int on_post_snapshot(struct vss_writer *w, const char *set_id, const char *const *volumes,
                            const char *const *devices, void *userdata)
{
	_cleanup_strv_free_ char **pairs = NULL;

	for (size_t i = 0; volumes[i]; i++) {
		char *s;

		if (asprintf(&s, "%s=%s", volumes[i], devices[i]) < 0 || strv_push(&pairs, s) < 0)
			return log_oom();
	}
	return hooks_run(w, userdata, "post-snapshot", set_id, HOOK_ORDER_FORWARD, pairs, NULL);
}

static int on_backup_complete(struct vss_writer *w, const char *set_id, bool success,
                              void *userdata)
{
	char *const env[] = { success ? "VSSD_BACKUP_SUCCEEDED=1" : "VSSD_BACKUP_SUCCEEDED=0",
		              NULL };
	HookWriter *hw = userdata;

	return hooks_run(w, hw, "backup-complete", set_id, HOOK_ORDER_FORWARD,
	                 hw_volumes(hw, set_id), env);
}

/* backup-results: VSSD_BACKUP_RESULTS holds one "COMPONENT<TAB>succeeded|failed[<TAB>MESSAGE]"
 * line per component of this writer in the backup; not run when it has none */
static int on_backup_results(struct vss_writer *w, const char *set_id,
                             const struct vss_writer_component_result *results, size_t n,
                             void *userdata)
{
	_cleanup_free_ char *lines = NULL;
	char *env[2] = { NULL, NULL };
	HookWriter *hw = userdata;
	int r;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char *l;

		if (asprintf(&l, "%s%s%s\t%s%s%s", strempty(lines), lines ? "\n" : "",
		             results[i].name, results[i].succeeded ? "succeeded" : "failed",
		             results[i].failure_message ? "\t" : "",
		             strempty(results[i].failure_message)) < 0)
			return log_oom();
		free(lines);
		lines = l;
	}
	if (asprintf(&env[0], "VSSD_BACKUP_RESULTS=%s", lines) < 0)
		return log_oom();
	r = hooks_run(w, hw, "backup-results", set_id, HOOK_ORDER_FORWARD, hw_volumes(hw, set_id),
	              env);
	free(env[0]);
	return r;
}

/* pre-restore and post-restore: the hooks run with the backup's set id as SET, and
 * VSSD_RESTORE_ID, VSSD_BACKUP_SET_ID, VSSD_RESTORE_BACKUP_TYPE, and VSSD_RESTORE_COMPONENTS: one
 * "COMPONENT<TAB>STAMP<TAB>RESTORE-TYPE<TAB>NEW-TARGET<TAB>FILE-STATUS" line per component of this
 * writer being restored ("-" for what the document or the requester does not say). A hook that
 * fails vetoes: this writer's components fail the restore, not the others. */
static int restore_hooks_run(struct vss_writer *w, HookWriter *hw, const char *event,
                             const struct vss_writer_restore_info *info)
{
	_cleanup_free_ char *lines = NULL;
	char *env[5] = { NULL };
	int r = -ENOMEM;

	for (size_t i = 0; i < info->n_components; i++) {
		const struct vss_writer_restore_component *c = info->components[i];
		char *l;

		if (asprintf(&l, "%s%s%s\t%s\t%s\t%s\t%s", strempty(lines), lines ? "\n" : "",
		             c->name, c->backup_stamp ? c->backup_stamp : "-",
		             c->restore_type ? c->restore_type : "-",
		             c->new_target ? c->new_target : "-",
		             c->file_restore_status ? c->file_restore_status : "-") < 0)
			return log_oom();
		free(lines);
		lines = l;
	}
	if (asprintf(&env[0], "VSSD_RESTORE_ID=%s", info->session_id) >= 0 &&
	    asprintf(&env[1], "VSSD_BACKUP_SET_ID=%s", info->backup_set_id) >= 0 &&
	    asprintf(&env[2], "VSSD_RESTORE_BACKUP_TYPE=%s", strempty(info->backup_type)) >= 0 &&
	    asprintf(&env[3], "VSSD_RESTORE_COMPONENTS=%s", strempty(lines)) >= 0)
		r = hooks_run(w, hw, event, info->backup_set_id, HOOK_ORDER_FORWARD, NULL, env);
	else
		r = log_oom();
	for (size_t i = 0; i < ELEMENTSOF(env); i++)
		free(env[i]);
	return r;
}

static int on_pre_restore(struct vss_writer *w, const struct vss_writer_restore_info *info,
                          void *userdata)
{
	return restore_hooks_run(w, userdata, "pre-restore", info);
}

static int on_post_restore(struct vss_writer *w, const struct vss_writer_restore_info *info,
                           void *userdata)
{
	return restore_hooks_run(w, userdata, "post-restore", info);
}

static int on_backup_shutdown(struct vss_writer *w, const char *set_id, void *userdata)
{
	HookWriter *hw = userdata;
	int r;

	r = hooks_run(w, hw, "backup-shutdown", set_id, HOOK_ORDER_FORWARD, hw_volumes(hw, set_id),
	              NULL);
	if (streq_ptr(hw->set_id, set_id))
		hw_forget_set(hw);
	return r;
}

static void on_log(struct vss_writer *w, int priority, const char *message, void *userdata)
{
	log_full(priority, "%s", message);
}

static void on_signal(int sig)
{
	vss_writer_stop(stop_target);
}

static void help(void)
{
	printf("Usage: %s [OPTIONS]\n"
	       "A vssd writer that runs the executables in a directory on snapshot events.\n\n"
	       "  -d --hooks DIR              hook directory (default %s)\n"
	       "  -t --hook-timeout-ms MS     time each hook may take (default %d)\n"
	       "  -n --name NAME              writer name (default %s)\n"
	       "  -c --class-id UUID          writer class id (default %s)\n"
	       "  -i --instance-name NAME     writer instance name\n"
	       "  -b --bus ADDRESS            D-Bus address (default: the system bus)\n"
	       "  -f --freeze-timeout-ms MS   longest freeze (default 60000)\n"
	       "  -C --component NAME=PATH[:PATH...]\n"
	       "                              a component (repeatable); hooks may set its\n"
	       "                              backup stamp (see vssd-hook-writer(8))\n"
	       "  -l --log-level LEVEL        err, warning, notice, info (default), debug\n"
	       "  -h --help                   this text\n",
	       program_invocation_short_name, HOOKS_DIR_DEFAULT, HOOK_TIMEOUT_MS_DEFAULT,
	       NAME_DEFAULT, CLASS_ID_DEFAULT);
}

static int parse_ms(const char *s, uint32_t *ret)
{
	uint64_t v;

	if (parse_u64(s, &v) < 0 || v == 0 || v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

/* Returns 1 to run, 0 to exit successfully (--help), or a negative errno. */
static int parse_argv(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "hooks", required_argument, NULL, 'd' },
		{ "hook-timeout-ms", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'n' },
		{ "class-id", required_argument, NULL, 'c' },
		{ "instance-name", required_argument, NULL, 'i' },
		{ "bus", required_argument, NULL, 'b' },
		{ "freeze-timeout-ms", required_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "component", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "d:t:n:c:i:b:f:l:C:h", options, NULL)) >= 0)
		switch (c) {
		case 'd':
			if (!valid_abs_path(optarg))
				return log_error_errno(-EINVAL, "--hooks needs an absolute path");
			arg_hooks = optarg;
			break;
		case 't':
			if (parse_ms(optarg, &arg_hook_timeout_ms) < 0)
				return log_error_errno(-EINVAL, "bad --hook-timeout-ms: %s",
				                       optarg);
			break;
		case 'n':
			arg_name = optarg;
			break;
		case 'c':
			arg_class_id = optarg;
			break;
		case 'i':
			arg_instance_name = optarg;
			break;
		case 'b':
			arg_bus = optarg;
			break;
		case 'f':
			if (parse_ms(optarg, &arg_freeze_timeout_ms) < 0)
				return log_error_errno(-EINVAL, "bad --freeze-timeout-ms: %s",
				                       optarg);
			break;
		case 'l':
			r = log_level_from_string(optarg);
			if (r < 0)
				return log_error_errno(r, "bad --log-level: %s", optarg);
			log_set_max_level(r);
			break;
		case 'C': {
			size_t k = strcspn(optarg, "=");

			/* the name: no spaces (the stamp lines are split at spaces) */
			if (optarg[k] != '=' || k == 0 || memchr(optarg, ' ', k) ||
			    optarg[k + 1] != '/')
				return log_error_errno(-EINVAL,
				                       "--component needs NAME=PATH[:PATH...], a "
				                       "name without spaces and absolute paths");
			if (arg_n_components >= COMPONENTS_MAX)
				return log_error_errno(-E2BIG, "at most %d components",
				                       COMPONENTS_MAX);
			arg_components[arg_n_components++] = optarg;
			break;
		}
		case 'h':
			help();
			return 0;
		default:
			return -EINVAL;
		}
	if (optind < argc)
		return log_error_errno(-EINVAL, "unexpected argument: %s", argv[optind]);
	return 1;
}

static void writer_unrefp(struct vss_writer **w)
{
	vss_writer_unref(*w);
}

static int run(int argc, char *argv[])
{
	static const struct vss_writer_handlers handlers = {
		.prepare_backup = on_prepare_backup,
		.prepare_snapshot = on_prepare_snapshot,
		.freeze = on_freeze,
		.thaw = on_thaw,
		.post_snapshot = on_post_snapshot,
		.abort = on_abort,
		.backup_complete = on_backup_complete,
		.backup_shutdown = on_backup_shutdown,
		.backup_results = on_backup_results,
	};
	static const struct vss_writer_restore_handlers restore_handlers = {
		.pre_restore = on_pre_restore,
		.post_restore = on_post_restore,
	};
	_cleanup_(writer_unrefp) struct vss_writer *w = NULL;
	HookWriter hw = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	int r;

	r = parse_argv(argc, argv);
	if (r <= 0)
		return r;
	hw.dir = arg_hooks;
	hw.timeout_usec = (usec_t)arg_hook_timeout_ms * USEC_PER_MSEC;

	r = vss_writer_new(arg_name, arg_class_id, &w);
	if (r < 0)
		return log_error_errno(r, "bad --name or --class-id: %m");
	(void)vss_writer_set_log_fn(w, on_log, NULL);
	r = vss_writer_set_handlers(w, &handlers, sizeof(handlers), &hw);
	if (r >= 0)
		r = vss_writer_set_restore_handlers(w, &restore_handlers, sizeof(restore_handlers),
		                                    &hw);
	if (r >= 0 && arg_instance_name)
		r = vss_writer_set_instance_name(w, arg_instance_name);
	if (r >= 0 && arg_freeze_timeout_ms)
		r = vss_writer_set_freeze_timeout(w, arg_freeze_timeout_ms);
	if (r >= 0 && arg_bus)
		r = vss_writer_set_bus_address(w, arg_bus);
	for (size_t i = 0; r >= 0 && i < arg_n_components; i++) {
		_cleanup_free_ char *name =
			strndup(arg_components[i], strcspn(arg_components[i], "="));
		_cleanup_strv_free_ char **paths = NULL;
		const char *p = arg_components[i] + strcspn(arg_components[i], "=") + 1;

		if (!name)
			return log_oom();
		while (r >= 0 && *p) {
			size_t k = strcspn(p, ":");
			char *one = strndup(p, k);

			r = one ? strv_push(&paths, one) : -ENOMEM;
			p += k + (p[k] == ':');
		}
		if (r >= 0)
			r = vss_writer_add_component(w, name, (const char *const *)paths);
		if (r < 0)
			return log_error_errno(r, "bad --component %s: %m", arg_components[i]);
	}
	hw.w = w;
	if (r < 0)
		return log_error_errno(r, "cannot set up the writer: %m");

	stop_target = w;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	/* what a hook starts and leaves behind comes back to us to be killed (reap_leftovers) */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warning_errno(-errno, "cannot become a child subreaper: %m; processes that "
		                          "leave a hook's process group are not cleaned up");
	(void)signal(SIGPIPE, SIG_IGN); /* hooks get default signals back from posix_spawn */

	r = vss_writer_start(w);
	if (r < 0)
		return log_error_errno(r, "cannot connect to %s: %m", arg_bus ?: "the system bus");
	log_info("writer %s started, hooks in %s", arg_name, hw.dir);
	r = vss_writer_run(w);
	if (r < 0)
		log_error_errno(r, "writer loop ended: %m");
	else
		log_info("stopping");
	w = vss_writer_unref(w); /* thaws through the hooks if still frozen */
	stop_target = NULL;
	hw_end_buffering(&hw);
	hw_forget_set(&hw);
	strv_free(hw.frozen_hooks);
	return r;
}

int main(int argc, char *argv[])
{
	return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
