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

/* ---- the journal: fields built without a journal (a fake send records each entry) */
static char fake_entries[8][1024];
static size_t n_fake_entries;
static bool fake_refuse;

static int fake_send(const struct iovec *iov, int n)
{
	char *e;
	size_t len = 0;

	if (fake_refuse)
		return -ECONNREFUSED;
	ck_assert_uint_lt(n_fake_entries, ELEMENTSOF(fake_entries));
	e = fake_entries[n_fake_entries++];
	e[0] = 0;
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(e + len, sizeof(fake_entries[0]) - len, "%.*s|",
		                        (int)iov[i].iov_len, (const char *)iov[i].iov_base);
	return 0;
}

static void journal_reset(void)
{
	n_fake_entries = 0;
	fake_refuse = false;
	log_set_journal(fake_send);
	log_set_max_level(LOG_INFO);
}

START_TEST(journal_record_has_the_fields)
{
	char rec[1024];
	struct iovec iov[LOG_JOURNAL_FIELDS_MAX];
	size_t len;
	int n;

	len = log_journal_record(LOG_WARNING, -ENOSPC,
	                         &(const LogKeys){ .set = "s1",
	                                           .snap = "p1",
	                                           .vol = "/dev/mapper/v\n1",
	                                           .writer = "w1",
	                                           .event = LOG_EVENT_SET_CREATED },
	                         "set=s1: created", "daemon/x.c", 42, rec, sizeof(rec));
	ck_assert_str_eq(rec, "MESSAGE=set=s1: created\n"
	                      "PRIORITY=4\n"
	                      "SET_ID=s1\n"
	                      "SNAPSHOT_ID=p1\n"
	                      "VOLUME=/dev/mapper/v\\n1\n"
	                      "WRITER_ID=w1\n"
	                      "MESSAGE_ID=1a0843a6b35d4d2286577cb2fa848a05\n"
	                      "ERRNO=28\n"
	                      "CODE_FILE=daemon/x.c\n"
	                      "CODE_LINE=42\n"
	                      "SYSLOG_IDENTIFIER=vssd\n");
	ck_assert_uint_eq(len, strlen(rec));
	n = log_journal_iovec(rec, len, iov, (int)ELEMENTSOF(iov));
	ck_assert_int_eq(n, 11);
	ck_assert_uint_eq(iov[0].iov_len, strlen("MESSAGE=set=s1: created"));
	ck_assert_uint_eq(iov[10].iov_len, strlen("SYSLOG_IDENTIFIER=vssd"));
	/* no keys, no event, no error: MESSAGE, PRIORITY and the identifier only */
	len = log_journal_record(LOG_INFO, 0, NULL, "plain", NULL, 0, rec, sizeof(rec));
	ck_assert_str_eq(rec, "MESSAGE=plain\nPRIORITY=6\nSYSLOG_IDENTIFIER=vssd\n");
	/* too small: whole fields only */
	len = log_journal_record(LOG_INFO, 0, NULL, "plain", NULL, 0, rec, 30);
	ck_assert_str_eq(rec, "MESSAGE=plain\nPRIORITY=6\n");
}
END_TEST

START_TEST(message_ids_are_distinct_128_bit_ids)
{
	for (LogEvent e = LOG_EVENT_NONE + 1; e < _LOG_EVENT_MAX; e++) {
		const char *id = log_event_message_id(e);

		ck_assert_ptr_nonnull(id);
		ck_assert_ptr_nonnull(log_event_to_string(e));
		ck_assert_uint_eq(strlen(id), 32);
		ck_assert_uint_eq(strspn(id, "0123456789abcdef"), 32);
		for (LogEvent f = LOG_EVENT_NONE + 1; f < e; f++) {
			ck_assert_str_ne(id, log_event_message_id(f));
			ck_assert_str_ne(log_event_to_string(e), log_event_to_string(f));
		}
	}
	ck_assert_ptr_null(log_event_message_id(LOG_EVENT_NONE));
	ck_assert_ptr_null(log_event_message_id(_LOG_EVENT_MAX));
}
END_TEST

static void log_to_journal(void)
{
	journal_reset();
	log_set_event(LOG_EVENT_SET_ABORTED, "s1", LOG_NOTICE, "aborted");
	log_recovery(LOG_NOTICE, "s2", "p2", NULL, "recovery: set=%s snap=%s: deleted", "s2", "p2");
	log_debug("filtered");
	log_begin_buffering(); /* the hold window: entries wait, fields and all */
	log_snap_event(LOG_EVENT_SNAPSHOT_DELETED, "p3", "/dev/mapper/v", LOG_NOTICE, "deleted");
	ck_assert_uint_eq(n_fake_entries, 2);
	log_writer_event(LOG_EVENT_WRITER_VETOED, "w4", "s4", LOG_WARNING, "Freeze failed: a\nb");
	log_flush_buffer();
	fake_refuse = true; /* a journal that refuses: the line goes to stderr */
	log_vol_event(LOG_EVENT_STORAGE_WARNING, "/dev/mapper/v", LOG_WARNING, "80%% full");
	log_set_journal(NULL);
	log_notice("stderr again");
}

START_TEST(journal_entries_carry_keys_and_message_ids)
{
	_cleanup_free_ char *out = capture(log_to_journal);

	ck_assert_uint_eq(n_fake_entries, 4);
	ck_assert(startswith(fake_entries[0], "MESSAGE=set=s1: aborted|PRIORITY=5|SET_ID=s1|"
	                                      "MESSAGE_ID=0d9956813bfc463c8a397260dec00363|"
	                                      "CODE_FILE=common/test-log.c|CODE_LINE="));
	ck_assert(strstr(fake_entries[0], "|SYSLOG_IDENTIFIER=vssd|"));
	/* fields only: the text stays as it was */
	ck_assert(startswith(fake_entries[1], "MESSAGE=recovery: set=s2 snap=p2: deleted|"
	                                      "PRIORITY=5|SET_ID=s2|SNAPSHOT_ID=p2|"
	                                      "MESSAGE_ID=529e16c34ecd4669be9ed0b01d622870|"));
	ck_assert(startswith(fake_entries[2], "MESSAGE=snap=p3 vol=/dev/mapper/v: deleted|"
	                                      "PRIORITY=5|SNAPSHOT_ID=p3|VOLUME=/dev/mapper/v|"
	                                      "MESSAGE_ID=d96831a251b64d0b860d2d9f108147dd|"));
	ck_assert(startswith(fake_entries[3], "MESSAGE=set=s4 writer=w4: Freeze failed: a\\nb|"
	                                      "PRIORITY=4|SET_ID=s4|WRITER_ID=w4|"
	                                      "MESSAGE_ID=70507c0cb30d4d6d8108ca8abb140849|"));
	ck_assert_str_eq(out, "<4>vol=/dev/mapper/v: 80% full\n<5>stderr again\n");
}
END_TEST

static void log_events_to_stderr(void)
{
	log_set_journal(NULL);
	log_set_max_level(LOG_INFO);
	log_set_event(LOG_EVENT_SET_CREATED, "s1", LOG_NOTICE, "created %d", 2);
	log_recovery(LOG_NOTICE, "s2", "p2", "v", "recovery: set=%s: deleted", "s2");
	log_event(LOG_EVENT_RECOVERY, LOG_WARNING, "plain");
}

START_TEST(events_do_not_change_the_stderr_text)
{
	_cleanup_free_ char *out = capture(log_events_to_stderr);

	ck_assert_str_eq(out, "<5>set=s1: created 2\n<5>recovery: set=s2: deleted\n<4>plain\n");
}
END_TEST

TEST_SUITE_MAIN("log",
                TEST(foreign_text_stays_on_one_line) TEST(buffered_lines_are_escaped_too)
                        TEST(prefixed_lines_are_escaped) TEST(a_cut_line_still_ends_its_line) TEST(
				keys_come_first_in_order) TEST(keyed_errno_forms_return_the_error)
                                TEST(journal_record_has_the_fields)
                                        TEST(message_ids_are_distinct_128_bit_ids)
                                                TEST(journal_entries_carry_keys_and_message_ids)
                                                        TEST(events_do_not_change_the_stderr_text))
