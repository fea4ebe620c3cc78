/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-safedir.c - the component walk on real directories: symlinks, owners, modes, creation */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/safedir.h"
#include "tests/lib/check-main.h"

/* A private directory of ours under /tmp; the walk starts below it, with our own uid as owner */
typedef struct T {
	char dir[64];
	int fd;
} T;

static void t_init(T *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/test-safedir-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	t->fd = open(t->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(t->fd, 0);
}

static void t_done(T *t)
{
	char cmd[256];

	close(t->fd);
	snprintf(cmd, sizeof(cmd), "chmod -R u+w %s; rm -rf %s", t->dir, t->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void mk(T *t, const char *rel, mode_t mode)
{
	ck_assert_int_eq(mkdirat(t->fd, rel, mode), 0);
	ck_assert_int_eq(fchmodat(t->fd, rel, mode, 0), 0); /* past the umask */
}

/* The walk below t's directory: its result, and the component it names */
static int walk(T *t, const char *rel, uid_t owner, mode_t mkdir_mode, struct stat *ret_st,
                char **ret_bad)
{
	_cleanup_close_ int fd = -EBADF;
	int r = safedir_open_below(t->fd, rel, owner, mkdir_mode, &fd, ret_bad);

	if (r >= 0) {
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(fstat(fd, ret_st), 0);
	}
	return r;
}

static void refused(T *t, const char *rel, uid_t owner, int error, const char *bad_component)
{
	_cleanup_free_ char *bad = NULL;
	struct stat st;

	ck_assert_int_eq(walk(t, rel, owner, 0, &st, &bad), error);
	ck_assert_ptr_nonnull(bad);
	ck_assert_str_eq(bad, bad_component);
}

START_TEST(walks_to_the_checked_directory)
{
	T t;
	struct stat st, want;
	char *bad = NULL;

	t_init(&t);
	mk(&t, "a", 0755);
	mk(&t, "a/b", 0700);
	ck_assert_int_eq(walk(&t, "a/b", getuid(), 0, &st, &bad), 0);
	ck_assert_ptr_null(bad);
	ck_assert_int_eq(fstatat(t.fd, "a/b", &want, 0), 0);
	ck_assert(st.st_dev == want.st_dev && st.st_ino == want.st_ino);
	/* O_PATH: the fd is the directory itself, usable with openat */
	ck_assert_int_eq(walk(&t, "a", getuid(), 0, &st, &bad), 0);
	t_done(&t);
}
END_TEST

START_TEST(refuses_symlinks_anywhere)
{
	T t;

	t_init(&t);
	mk(&t, "a", 0755);
	mk(&t, "a/b", 0755);
	ck_assert_int_eq(symlinkat("a", t.fd, "link"), 0);
	ck_assert_int_eq(symlinkat("b", t.fd, "a/last"), 0);
	refused(&t, "link/b", getuid(), -ELOOP, "link");
	refused(&t, "a/last", getuid(), -ELOOP, "a/last");
	t_done(&t);
}
END_TEST

START_TEST(refuses_what_others_may_change)
{
	T t;

	t_init(&t);
	mk(&t, "a", 0755);
	mk(&t, "a/shared", 01777); /* sticky, as /tmp: not enough */
	mk(&t, "a/shared/x", 0755);
	mk(&t, "a/group", 0775);
	mk(&t, "a/group/x", 0755);
	refused(&t, "a/shared/x", getuid(), -EACCES, "a/shared");
	refused(&t, "a/group/x", getuid(), -EACCES, "a/group");
	/* owned by someone else than the expected owner (vssd: root) */
	refused(&t, "a", getuid() + 1, -EPERM, "a");
	t_done(&t);
}
END_TEST

START_TEST(refuses_missing_files_and_unclean_paths)
{
	T t;
	struct stat st;
	_cleanup_free_ char *bad = NULL;
	int fd;

	t_init(&t);
	mk(&t, "a", 0755);
	fd = openat(t.fd, "a/file", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	refused(&t, "a/nothing/deeper", getuid(), -ENOENT, "a/nothing");
	refused(&t, "a/file", getuid(), -ENOTDIR, "a/file");
	ck_assert_int_eq(walk(&t, "a/../a", getuid(), 0, &st, &bad), -EINVAL);
	ck_assert_int_eq(walk(&t, "a//a", getuid(), 0, &st, &bad), -EINVAL);
	ck_assert_int_eq(walk(&t, "/a", getuid(), 0, &st, &bad), -EINVAL);
	ck_assert_int_eq(safedir_open("relative", 0, &fd, &bad), -EINVAL);
	ck_assert_int_eq(safedir_open("/tmp/../etc", 0, &fd, &bad), -EINVAL);
	t_done(&t);
}
END_TEST

/* From "/": /tmp is sticky and writable by all, so nothing below it qualifies, whoever runs this */
START_TEST(tmp_does_not_qualify)
{
	T t;
	_cleanup_free_ char *bad = NULL;
	const char *name;
	int fd = -EBADF;

	t_init(&t);
	ck_assert_int_eq(safedir_open(t.dir, 0, &fd, &bad), -EACCES);
	ck_assert_str_eq(bad, "/tmp");
	ck_assert_int_eq(safedir_open_parent(t.dir, 0, &fd, &name, &bad), -EACCES);
	ck_assert_int_lt(fd, 0);
	t_done(&t);
}
END_TEST

START_TEST(root_qualifies_for_root)
{
	_cleanup_close_ int fd = -EBADF;
	const char *name = NULL;
	char *bad = NULL;

	/* "/" and /etc are root's and not writable by others on any sane system */
	ck_assert_int_eq(safedir_open("/", 0, &fd, &bad), 0);
	closep(&fd);
	ck_assert_int_eq(safedir_open_parent("/etc/passwd", 0, &fd, &name, &bad), 0);
	ck_assert_str_eq(name, "passwd");
	ck_assert_ptr_null(bad);
}
END_TEST

START_TEST(make_creates_and_checks)
{
	T t;
	struct stat st;
	_cleanup_free_ char *bad = NULL;

	t_init(&t);
	ck_assert_int_eq(walk(&t, "run/vssd/expose", getuid(), 0755, &st, &bad), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0022, 0);
	/* a component that is there already is checked as any other */
	mk(&t, "open", 0777);
	ck_assert_int_eq(walk(&t, "open/x", getuid(), 0755, &st, &bad), -EACCES);
	ck_assert_str_eq(bad, "open");
	ck_assert_int_eq(faccessat(t.fd, "open/x", F_OK, 0), -1);
	t_done(&t);
}
END_TEST

START_TEST(strerror_says_what_is_wrong)
{
	ck_assert_str_eq(safedir_strerror(-ELOOP), "is a symbolic link");
	ck_assert_str_eq(safedir_strerror(-EACCES), "is writable by users other than root");
	ck_assert_str_eq(safedir_strerror(-EPERM), "is not owned by root");
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("safedir",
	TEST(walks_to_the_checked_directory)
	TEST(refuses_symlinks_anywhere)
	TEST(refuses_what_others_may_change)
	TEST(refuses_missing_files_and_unclean_paths)
	TEST(tmp_does_not_qualify)
	TEST(root_qualifies_for_root)
	TEST(make_creates_and_checks)
	TEST(strerror_says_what_is_wrong))
/* clang-format on */
