/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-pathres.c - paths looked up off the loop with their owner's credentials */
#include <fcntl.h>
#include <sys/stat.h>

#include "daemon/pathres.h"
#include "tests/lib/check-main.h"

static const dev_t *result(PathJob *j, size_t want_n)
{
	const dev_t *devs = NULL;
	size_t n = 0;

	ck_assert_int_eq(
		path_job_result(j, now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC, &devs, &n), 0);
	ck_assert_uint_eq(n, want_n);
	return devs;
}

START_TEST(paths_map_to_their_devices)
{
	_cleanup_(path_job_unrefp) PathJob *j = NULL;
	char *paths[] = { "/", "/proc/self", "/nonexistent/x", "/dev/null", NULL };
	struct stat root, proc;
	const dev_t *d;

	ck_assert_int_eq(stat("/", &root), 0);
	ck_assert_int_eq(stat("/proc/self", &proc), 0);
	ck_assert_int_eq(path_job_start(getuid(), NULL, 0, paths, &j), 0);
	d = result(j, 4);
	ck_assert_uint_eq(d[0], root.st_dev);
	ck_assert_uint_eq(d[1], proc.st_dev);
	ck_assert_uint_eq(d[2], 0); /* not there */
	/* a character device is a file like any other: the device of its file system */
	ck_assert_uint_ne(d[3], 0);
}
END_TEST

START_TEST(no_paths_is_done_at_once)
{
	_cleanup_(path_job_unrefp) PathJob *j = NULL;
	const dev_t *d;
	size_t n = 1;

	ck_assert_int_eq(path_job_start(0, NULL, 0, NULL, &j), 0);
	ck_assert_int_eq(path_job_result(j, 0, &d, &n), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

/* As root, a path only root can reach is not looked up for another uid: vssd learns nothing
 * about it on a writer's behalf. (Needs root to make such a path; as any other user the first
 * part still runs.) */
START_TEST(a_path_the_owner_cannot_reach_is_unknown)
{
	_cleanup_(path_job_unrefp) PathJob *j = NULL, *k = NULL;
	char dir[] = "/tmp/test-pathres.XXXXXX", file[64], *paths[] = { file, NULL };
	gid_t gids[] = { 65534 };
	struct stat st;
	const dev_t *d;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/secret", dir);
	ck_assert_int_eq(close(open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_int_eq(stat(file, &st), 0);
	/* its owner reaches it */
	ck_assert_int_eq(path_job_start(getuid(), NULL, 0, paths, &j), 0);
	d = result(j, 1);
	ck_assert_uint_eq(d[0], st.st_dev);
	if (geteuid() == 0) {
		/* nobody does not: 0, although root could stat it */
		ck_assert_int_eq(path_job_start(65534, gids, 1, paths, &k), 0);
		d = result(k, 1);
		ck_assert_uint_eq(d[0], 0);
		/* and the daemon thread kept its own identity */
		ck_assert_int_eq(access(file, R_OK), 0);
	}
	ck_assert_int_eq(unlink(file), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("pathres",
	TEST(paths_map_to_their_devices)
	TEST(no_paths_is_done_at_once)
	TEST(a_path_the_owner_cannot_reach_is_unknown))
/* clang-format on */
