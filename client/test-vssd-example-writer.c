/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-vssd-example-writer.c - the example writer pauses between Freeze and Thaw, logs events */
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <sys/wait.h>

#include "common/macro.h"
#include "tests/lib/check-main.h"
#include "tests/lib/fake-vssd.h"

#define SET  "6f1c2d3e-0000-4000-8000-00000000000a"
#define WAIT (10 * USEC_PER_SEC) /* bounded waits for a program that appends every 2 ms */

DEFINE_POINTER_CLEANUP(message_unrefp, DBusMessage *, dbus_message_unref)

typedef struct ExampleWorld {
	FakeBus *bus;
	FakeVssd *vssd;
	pid_t pid;
	char *files[2];
	char *events;
} ExampleWorld;

static void world_done(ExampleWorld *t)
{
	if (t->pid > 0)
		(void)fake_stop(t->pid, SIGKILL);
	t->vssd = fake_vssd_free(t->vssd);
	t->bus = fake_bus_free(t->bus);
	free(t->files[0]);
	free(t->files[1]);
	free(t->events);
}

static char *program_path(void)
{
	char exe[4096], *p;
	ssize_t n;

	if (getenv("VSSD_EXAMPLE_WRITER"))
		return strdup(getenv("VSSD_EXAMPLE_WRITER"));
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = 0;
	ck_assert_int_ge(asprintf(&p, "%s/../vssd-example-writer", dirname(exe)), 0);
	return p;
}

static void world_start(ExampleWorld *t, const char *opt, const char *value)
{
	_cleanup_free_ char *prog = program_path(), *out = NULL;
	const char *dir;
	char *argv[16];
	int n = 0;

	ck_assert_int_eq(fake_bus_start(&t->bus), 0);
	ck_assert_int_eq(fake_vssd_new(fake_bus_address(t->bus), true, &t->vssd), 0);
	dir = fake_bus_dir(t->bus);
	ck_assert_int_ge(asprintf(&t->files[0], "%s/a", dir), 0);
	ck_assert_int_ge(asprintf(&t->files[1], "%s/b", dir), 0);
	ck_assert_int_ge(asprintf(&t->events, "%s/events", dir), 0);
	ck_assert_int_ge(asprintf(&out, "%s/writer.log", dir), 0);
	argv[n++] = prog;
	argv[n++] = "--bus";
	argv[n++] = (char *)fake_bus_address(t->bus);
	argv[n++] = "--event-log";
	argv[n++] = t->events;
	argv[n++] = "--interval-ms";
	argv[n++] = "2";
	if (opt) {
		argv[n++] = (char *)opt;
		argv[n++] = (char *)value;
	}
	argv[n++] = t->files[0];
	argv[n++] = t->files[1];
	argv[n] = NULL;
	t->pid = fake_spawn(argv, out);
	ck_assert_int_gt(t->pid, 0);
	ck_assert(fake_vssd_wait_registered(t->vssd, 1, WAIT));
}

/* Checks the two files hold exactly 1..N, odd numbers in a, even in b, in order; returns N.
 * settled: the writer is not appending (frozen or gone), so the two files agree. */
static uint64_t check_records(ExampleWorld *t, bool settled)
{
	uint64_t want[2] = { 1, 2 }, n = 0;

	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(t->files[i], "re");
		uint64_t v;

		ck_assert_ptr_nonnull(f);
		while (fscanf(f, "%" SCNu64, &v) == 1) {
			ck_assert_uint_eq(v, want[i]);
			want[i] += 2;
		}
		fclose(f);
	}
	n = MAX(want[0], want[1]) - 2;
	if (settled) /* alternation: a is one ahead of b, or b has caught up */
		ck_assert(want[0] == want[1] + 1 || want[0] + 1 == want[1]);
	return n;
}

typedef struct MoreThan {
	ExampleWorld *t;
	uint64_t n;
} MoreThan;

static bool more_records(void *data)
{
	MoreThan *m = data;

	return check_records(m->t, false) > m->n;
}

static DBusMessage *call_set(ExampleWorld *t, const char *method)
{
	const char *set = SET;

	return fake_vssd_call(t->vssd, method, DBUS_TYPE_STRING, &set, DBUS_TYPE_INVALID);
}

static void assert_ok(DBusMessage *reply)
{
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(fake_reply_error(reply), "");
	dbus_message_unref(reply);
}

/* The event log's events, without the timestamps (which must not decrease). */
static char *read_events(ExampleWorld *t)
{
	char *buf = NULL, event[64], set[64];
	size_t size = 0;
	FILE *f = fopen(t->events, "re"), *out = open_memstream(&buf, &size);
	uint64_t ts, last = 0;

	ck_assert_ptr_nonnull(f);
	while (fscanf(f, "%" SCNu64 " %63s %63s", &ts, event, set) == 3) {
		ck_assert_uint_ge(ts, last);
		last = ts;
		fprintf(out, "%s %s\n", event, set);
	}
	fclose(f);
	fclose(out);
	return buf;
}

START_TEST(pauses_between_freeze_and_thaw)
{
	_cleanup_(world_done) ExampleWorld t = { 0 };
	_cleanup_free_ char *events = NULL;
	uint64_t frozen_at;
	MoreThan m = { .t = &t };
	int status;

	world_start(&t, NULL, NULL);
	m.n = 4;
	ck_assert(fake_vssd_wait(t.vssd, more_records, &m, WAIT));

	assert_ok(call_set(&t, "Freeze"));
	frozen_at = check_records(&t, true);
	/* while frozen nothing is appended: several round trips, each longer than the interval */
	for (int i = 0; i < 10; i++) {
		assert_ok(fake_vssd_call(t.vssd, "Identify", DBUS_TYPE_INVALID));
		fake_vssd_pump(t.vssd, 3 * USEC_PER_MSEC);
	}
	ck_assert_uint_eq(check_records(&t, true), frozen_at);

	assert_ok(call_set(&t, "Thaw"));
	m.n = frozen_at;
	ck_assert(fake_vssd_wait(t.vssd, more_records, &m, WAIT));
	assert_ok(call_set(&t, "Abort"));

	events = read_events(&t);
	ck_assert_str_eq(events, "freeze " SET "\nthaw " SET "\nabort " SET "\n");
	status = fake_stop(t.pid, SIGTERM);
	t.pid = 0;
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	check_records(&t, true);
}
END_TEST

START_TEST(vetoes_the_chosen_event)
{
	_cleanup_(world_done) ExampleWorld t = { 0 };
	_cleanup_(message_unrefp) DBusMessage *reply = NULL;

	world_start(&t, "--veto", "freeze");
	reply = call_set(&t, "Freeze");
	ck_assert_str_eq(fake_reply_error(reply), "org.vssd.ShadowCopy1.Writer.Error.Retryable");
	ck_assert_str_eq(fake_reply_message(reply), "vetoed by --veto freeze");
}
END_TEST

static bool events_contain(void *data)
{
	ExampleWorld *t = ((void **)data)[0];
	const char *what = ((void **)data)[1];
	_cleanup_free_ char *events = NULL;

	if (access(t->events, F_OK) < 0)
		return false;
	events = read_events(t);
	return strstr(events, what) != NULL;
}

START_TEST(thaws_by_itself_after_the_freeze_timeout)
{
	_cleanup_(world_done) ExampleWorld t = { 0 };
	void *args[] = { &t, "thaw " SET };
	MoreThan m = { .t = &t };

	world_start(&t, "--freeze-timeout-ms", "200");
	assert_ok(call_set(&t, "Freeze"));
	m.n = check_records(&t, true);
	/* real time: nobody sends Thaw, the library's safety thaw must */
	ck_assert(fake_vssd_wait(t.vssd, events_contain, args, WAIT));
	ck_assert(fake_vssd_wait(t.vssd, more_records, &m, WAIT));
}
END_TEST

static bool pending_done(void *data)
{
	return dbus_pending_call_get_completed(data);
}

START_TEST(hangs_in_the_chosen_event_until_sigterm)
{
	_cleanup_(world_done) ExampleWorld t = { 0 };
	_cleanup_(message_unrefp) DBusMessage *m = NULL, *reply = NULL;
	void *args[] = { &t, "freeze " SET };
	DBusPendingCall *call = NULL;
	const char *set = SET;
	int status;

	world_start(&t, "--hang-in", "freeze");
	m = fake_vssd_new_call(t.vssd, "Freeze");
	ck_assert(dbus_message_append_args(m, DBUS_TYPE_STRING, &set, DBUS_TYPE_INVALID));
	ck_assert(dbus_connection_send_with_reply(t.vssd->conn, m, &call, 10000));
	ck_assert_ptr_nonnull(call);
	ck_assert(fake_vssd_wait(t.vssd, events_contain, args, WAIT));
	fake_vssd_pump(t.vssd, 50 * USEC_PER_MSEC);
	ck_assert(!dbus_pending_call_get_completed(call)); /* still hanging */

	ck_assert_int_eq(kill(t.pid, SIGTERM), 0);
	ck_assert(fake_vssd_wait(t.vssd, pending_done, call, WAIT));
	reply = dbus_pending_call_steal_reply(call);
	dbus_pending_call_unref(call);
	ck_assert_str_eq(fake_reply_error(reply), "org.vssd.ShadowCopy1.Writer.Error.Retryable");
	status = fake_stop(t.pid, 0);
	t.pid = 0;
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("vssd-example-writer",
	TEST(pauses_between_freeze_and_thaw)
	TEST(vetoes_the_chosen_event)
	TEST(thaws_by_itself_after_the_freeze_timeout)
	TEST(hangs_in_the_chosen_event_until_sigterm))
/* clang-format on */
