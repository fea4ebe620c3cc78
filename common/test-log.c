/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-log.c - one log call is one line: foreign text cannot forge "<N>" lines or escapes */
#include "common/log.h"
#include "tests/lib/check-main.h"

/* Runs the logging in fn with stderr going to a file; returns what was written. */
static char *capture(void (*fn)(void))
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	char *s;
	long n;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(saved, 0);
	fflush(stderr);
	ck_assert_int_ge(dup2(fileno(f), STDERR_FILENO), 0);
	fn();
	fflush(stderr);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	s = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(s);
	rewind(f);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static bool has_raw_control(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\n') || *s == 0x7f)
			return true;
	return false;
}

static const char veto[] = "disk full\n<0>forged emergency\x1b]0;owned\x07\x1b[2J";

static void log_veto(void)
{
	log_set_max_level(LOG_INFO);
	log_notice("writer=x: vetoed Freeze: %s", veto);
}

START_TEST(foreign_text_stays_on_one_line)
{
	_cleanup_free_ char *out = capture(log_veto);

	ck_assert_uint_eq(count_lines(out), 1);
	ck_assert(startswith(out, "<5>writer=x: vetoed Freeze: disk full\\n<0>forged emergency"));
	ck_assert(!strstr(out, "\n<0>"));
	ck_assert(!has_raw_control(out));
	ck_assert(strstr(out, "\\x1b]0;owned\\x07\\x1b[2J\n"));
}
END_TEST

static void log_veto_buffered(void)
{
	log_set_max_level(LOG_INFO);
	log_begin_buffering(); /* the hold window: lines wait in memory */
	log_warning("a\n<0>b");
	log_warning("c\rd");
	log_flush_buffer();
}

START_TEST(buffered_lines_are_escaped_too)
{
	_cleanup_free_ char *out = capture(log_veto_buffered);

	ck_assert_str_eq(out, "<4>a\\n<0>b\n<4>c\\rd\n");
}
END_TEST

static void log_for_people(void)
{
	log_set_max_level(LOG_INFO);
	log_set_prefix("vssctl: ");
	log_error("%s", "VSS_E_WRITERERROR_RETRYABLE (0x800423F3): \x1b[31mred\n<0>x");
	log_set_prefix(NULL);
}

START_TEST(prefixed_lines_are_escaped)
{
	_cleanup_free_ char *out = capture(log_for_people);

	ck_assert_str_eq(out,
	                 "vssctl: VSS_E_WRITERERROR_RETRYABLE (0x800423F3): \\x1b[31mred\\n<0>x\n");
}
END_TEST

static void log_long(void)
{
	char big[3000];

	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	log_set_max_level(LOG_DEBUG); /* adds " (file:line)" */
	log_error("%s", big);
	log_error("next");
}

START_TEST(a_cut_line_still_ends_its_line)
{
	_cleanup_free_ char *out = capture(log_long);

	ck_assert_uint_eq(count_lines(out), 2);
	ck_assert(strstr(out, "\n<3>next ("));
	ck_assert(!has_raw_control(out));
}
END_TEST

static void log_keyed(void)
{
	int r;

	log_set_max_level(LOG_INFO);
	log_set_notice("1111", "started by %s", "x");
	log_snap_warning("2222", "vol0", "deleted");
	log_snap_info("3333", NULL, "no volume");
	log_writer_error("4444", "1111", "vetoed");
	log_writer_notice("4444", NULL, "registered");
	log_vol_notice("evil\n<0>vol", "created");
	errno = 0;
	r = log_vol_error_errno("vol1", -ENOSPC, "cannot grow: %m");
	ck_assert_int_eq(r, -ENOSPC);
	log_set_debug("1111", "not shown at info");
	log_keys_full_errno(&(const LogKeys){ 0 }, LOG_NOTICE, 0, "no keys");
}

START_TEST(keys_come_first_in_order)
{
	_cleanup_free_ char *out = capture(log_keyed);

	ck_assert_str_eq(out, "<5>set=1111: started by x\n"
	                      "<4>snap=2222 vol=vol0: deleted\n"
	                      "<6>snap=3333: no volume\n"
	                      "<3>set=1111 writer=4444: vetoed\n"
	                      "<5>writer=4444: registered\n"
	                      "<5>vol=evil\\n<0>vol: created\n"
	                      "<3>vol=vol1: cannot grow: No space left on device\n"
	                      "<5>no keys\n");
}
END_TEST

static void log_keyed_errno(void)
{
	log_set_max_level(LOG_INFO);
	errno = 0;
	ck_assert_int_eq(log_set_warning_errno("1111", ENOENT, "gone"), -ENOENT);
	ck_assert_int_eq(errno, 0); /* errno is the caller's again */
	ck_assert_int_eq(log_set_debug_errno("1111", -EIO, "filtered, still returned"), -EIO);
}

START_TEST(keyed_errno_forms_return_the_error)
{
	_cleanup_free_ char *out = capture(log_keyed_errno);

	ck_assert_str_eq(out, "<4>set=1111: gone\n");
}
END_TEST

TEST_SUITE_MAIN("log", TEST(foreign_text_stays_on_one_line) TEST(buffered_lines_are_escaped_too)
                               TEST(prefixed_lines_are_escaped) TEST(a_cut_line_still_ends_its_line)
                                       TEST(keys_come_first_in_order)
                                               TEST(keyed_errno_forms_return_the_error))
