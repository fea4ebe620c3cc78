/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-vssd-hook-writer.c - the hook writer's order, vetoes and timeouts against a fake vssd */
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/busmsg.h"
#include "common/macro.h"
#include "tests/lib/check-main.h"
#include "tests/lib/fake-vssd.h"

#define SET  "6f1c2d3e-0000-4000-8000-00000000000a"
#define VOL  "/dev/mapper/data"
#define WAIT (10 * USEC_PER_SEC) /* for the program to start and register */

DEFINE_POINTER_CLEANUP(message_unrefp, DBusMessage *, dbus_message_unref)

typedef struct HookWorld {
	FakeBus *bus;
	FakeVssd *vssd;
	pid_t pid;
	char *hooks;
	char *log;
} HookWorld;

static void world_done(HookWorld *t)
{
	if (t->pid > 0)
		(void)fake_stop(t->pid, SIGKILL);
	t->vssd = fake_vssd_free(t->vssd);
	t->bus = fake_bus_free(t->bus);
	free(t->hooks);
	free(t->log);
}

/* build/unit/test-vssd-hook-writer -> build/vssd-hook-writer, or $VSSD_HOOK_WRITER */
static char *program_path(void)
{
	char exe[4096], *p;
	ssize_t n;

	if (getenv("VSSD_HOOK_WRITER"))
		return strdup(getenv("VSSD_HOOK_WRITER"));
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = 0;
	ck_assert_int_ge(asprintf(&p, "%s/../vssd-hook-writer", dirname(exe)), 0);
	return p;
}

/* A hook that appends "<name> <args> [$VSSD_EVENT]" to the log, then runs extra shell code. */
static void write_hook(HookWorld *t, const char *name, const char *extra, mode_t mode)
{
	_cleanup_free_ char *path = NULL;
	FILE *f;

	ck_assert_int_ge(asprintf(&path, "%s/%s", t->hooks, name), 0);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "#!/bin/sh\necho \"${0##*/} $* [$VSSD_EVENT]\" >>'%s'\n%s\n", t->log,
	        extra ? extra : "");
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* extra: more arguments (up to 4), NULL-terminated, or NULL */
static void world_start_with(HookWorld *t, const char *hook_timeout_ms, char *const *extra)
{
	_cleanup_free_ char *prog = program_path(), *out = NULL;
	char *argv[] = { prog,
		         "--bus",
		         NULL,
		         "--hooks",
		         NULL,
		         "--hook-timeout-ms",
		         (char *)hook_timeout_ms,
		         "--log-level",
		         "debug",
		         NULL,
		         NULL,
		         NULL,
		         NULL,
		         NULL };

	argv[2] = (char *)fake_bus_address(t->bus);
	argv[4] = t->hooks;
	for (size_t i = 0; extra && extra[i] && i < 4; i++)
		argv[9 + i] = extra[i];
	ck_assert_int_ge(asprintf(&out, "%s/writer.log", fake_bus_dir(t->bus)), 0);
	t->pid = fake_spawn(argv, out);
	ck_assert_int_gt(t->pid, 0);
	ck_assert(fake_vssd_wait_registered(t->vssd, 1, WAIT));
}

static void world_start(HookWorld *t, const char *hook_timeout_ms)
{
	world_start_with(t, hook_timeout_ms, NULL);
}

static void world_init(HookWorld *t)
{
	ck_assert_int_eq(fake_bus_start(&t->bus), 0);
	ck_assert_int_eq(fake_vssd_new(fake_bus_address(t->bus), true, &t->vssd), 0);
	ck_assert_int_ge(asprintf(&t->hooks, "%s/writers.d", fake_bus_dir(t->bus)), 0);
	ck_assert_int_ge(asprintf(&t->log, "%s/hooks.log", fake_bus_dir(t->bus)), 0);
	ck_assert_int_eq(mkdir(t->hooks, 0755), 0);
}

static char *read_log(HookWorld *t)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = fopen(t->log, "re"), *out = open_memstream(&buf, &size);
	int c;

	ck_assert_ptr_nonnull(out);
	while (f && (c = fgetc(f)) != EOF)
		fputc(c, out);
	if (f)
		fclose(f);
	fclose(out);
	return buf;
}

static DBusMessage *call_set(HookWorld *t, const char *method)
{
	const char *set = SET;

	return fake_vssd_call(t->vssd, method, DBUS_TYPE_STRING, &set, DBUS_TYPE_INVALID);
}

static DBusMessage *prepare_snapshot(HookWorld *t)
{
	const char *set = SET, *vols[] = { VOL }, **pvols = vols;

	return fake_vssd_call(t->vssd, "PrepareForSnapshot", DBUS_TYPE_STRING, &set,
	                      DBUS_TYPE_ARRAY, DBUS_TYPE_STRING, &pvols, 1, DBUS_TYPE_INVALID);
}

static void assert_ok(DBusMessage *reply)
{
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(fake_reply_error(reply), "");
	dbus_message_unref(reply);
}

static void stop_cleanly(HookWorld *t)
{
	int status = fake_stop(t->pid, SIGTERM);

	t->pid = 0;
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}

START_TEST(freeze_in_name_order_thaw_in_reverse)
{
	_cleanup_(world_done) HookWorld t = { 0 };
	_cleanup_free_ char *log = NULL;

	world_init(&t);
	write_hook(&t, "20-b", NULL, 0755);
	write_hook(&t, "10-a", NULL, 0755);
	write_hook(&t, "30-c", NULL, 0755);
	write_hook(&t, "15-not-executable", NULL, 0644);
	write_hook(&t, ".05-hidden", NULL, 0755);
	write_hook(&t, "25-old~", NULL, 0755);
	write_hook(&t, "26-x.dpkg-old", NULL, 0755);
	world_start(&t, "10000");

	assert_ok(prepare_snapshot(&t));
	assert_ok(call_set(&t, "Freeze"));
	assert_ok(call_set(&t, "Thaw"));
	assert_ok(call_set(&t, "Abort"));
	log = read_log(&t);
	ck_assert_str_eq(log, "10-a prepare-snapshot " SET " " VOL " [prepare-snapshot]\n"
	                      "20-b prepare-snapshot " SET " " VOL " [prepare-snapshot]\n"
	                      "30-c prepare-snapshot " SET " " VOL " [prepare-snapshot]\n"
	                      "10-a freeze " SET " " VOL " [freeze]\n"
	                      "20-b freeze " SET " " VOL " [freeze]\n"
	                      "30-c freeze " SET " " VOL " [freeze]\n"
	                      "30-c thaw " SET " " VOL " [thaw]\n"
	                      "20-b thaw " SET " " VOL " [thaw]\n"
	                      "10-a thaw " SET " " VOL " [thaw]\n"
	                      "30-c abort " SET " " VOL " [abort]\n"
	                      "20-b abort " SET " " VOL " [abort]\n"
	                      "10-a abort " SET " " VOL " [abort]\n");
	stop_cleanly(&t);
}
END_TEST

START_TEST(failing_hook_vetoes_and_aborts_the_frozen_ones)
{
	_cleanup_(world_done) HookWorld t = { 0 };
	_cleanup_(message_unrefp) DBusMessage *reply = NULL;
	_cleanup_free_ char *log = NULL;

	world_init(&t);
	write_hook(&t, "10-a", NULL, 0755);
	write_hook(&t, "20-b",
	           "[ \"$1\" = freeze ] || exit 0\necho starting >&2\necho 'disk on fire' >&2\n"
	           "echo to-stdout\nexit 3",
	           0755);
	write_hook(&t, "30-c", NULL, 0755);
	world_start(&t, "10000");

	reply = call_set(&t, "Freeze");
	ck_assert_str_eq(fake_reply_error(reply), "org.vssd.ShadowCopy1.Writer.Error.Retryable");
	ck_assert_str_eq(fake_reply_message(reply),
	                 "hook 20-b failed with exit status 3: disk on fire");
	log = read_log(&t);
	/* no volumes: no PrepareForSnapshot named them */
	ck_assert_str_eq(log, "10-a freeze " SET " [freeze]\n"
	                      "20-b freeze " SET " [freeze]\n"
	                      "10-a abort " SET " [abort]\n");
	stop_cleanly(&t);
}
END_TEST

START_TEST(thaw_runs_every_hook_despite_a_failure)
{
	_cleanup_(world_done) HookWorld t = { 0 };
	_cleanup_(message_unrefp) DBusMessage *reply = NULL;
	_cleanup_free_ char *log = NULL;

	world_init(&t);
	write_hook(&t, "10-a", NULL, 0755);
	write_hook(&t, "20-b", "[ \"$1\" = thaw ] && { echo 'cannot thaw' >&2; exit 1; }\nexit 0",
	           0755);
	write_hook(&t, "30-c", NULL, 0755);
	world_start(&t, "10000");

	assert_ok(call_set(&t, "Freeze"));
	reply = call_set(&t, "Thaw");
	ck_assert_str_eq(fake_reply_error(reply), "org.vssd.ShadowCopy1.Writer.Error.Retryable");
	ck_assert_str_eq(fake_reply_message(reply),
	                 "hook 20-b failed with exit status 1: cannot thaw");
	log = read_log(&t);
	ck_assert_str_eq(log, "10-a freeze " SET " [freeze]\n"
	                      "20-b freeze " SET " [freeze]\n"
	                      "30-c freeze " SET " [freeze]\n"
	                      "30-c thaw " SET " [thaw]\n"
	                      "20-b thaw " SET " [thaw]\n"
	                      "10-a thaw " SET " [thaw]\n");
	stop_cleanly(&t);
}
END_TEST

static bool process_gone(pid_t pid)
{
	char path[64], state = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
		state = 'Z';
	fclose(f);
	return state == 'Z' || state == 'X';
}

START_TEST(hook_timeout_kills_its_process_group)
{
	_cleanup_(world_done) HookWorld t = { 0 };
	_cleanup_(message_unrefp) DBusMessage *reply = NULL;
	_cleanup_free_ char *pidfile = NULL, *hook = NULL;
	FILE *f;
	int child = 0;

	world_init(&t);
	ck_assert_int_ge(asprintf(&pidfile, "%s/child.pid", fake_bus_dir(t.bus)), 0);
	ck_assert_int_ge(asprintf(&hook,
	                          "[ \"$1\" = freeze ] || exit 0\necho stuck >&2\n"
	                          "sleep 30 & echo $! >'%s'\nwait",
	                          pidfile),
	                 0);
	write_hook(&t, "10-slow", hook, 0755);
	write_hook(&t, "20-never", NULL, 0755);
	world_start(&t,
	            "2000"); /* time for the hook to start and say "stuck" on a loaded machine */

	/* real time: the hook's timeout has to pass */
	reply = call_set(&t, "Freeze");
	ck_assert_str_eq(fake_reply_error(reply), "org.vssd.ShadowCopy1.Writer.Error.Timeout");
	ck_assert_str_eq(fake_reply_message(reply), "hook 10-slow timed out after 2000 ms: stuck");
	f = fopen(pidfile, "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &child), 1);
	fclose(f);
	for (int i = 0; i < 100 && !process_gone(child); i++)
		usleep(10000); /* init reaps the orphan; bounded */
	ck_assert(process_gone(child));
	stop_cleanly(&t);
}
END_TEST

START_TEST(missing_directory_means_no_hooks)
{
	_cleanup_(world_done) HookWorld t = { 0 };

	world_init(&t);
	ck_assert_int_eq(rmdir(t.hooks), 0);
	world_start(&t, "10000");
	assert_ok(call_set(&t, "Freeze"));
	assert_ok(call_set(&t, "Thaw"));
	stop_cleanly(&t);
}
END_TEST

static void copy_example(HookWorld *t, const char *name)
{
	_cleanup_free_ char *from = NULL, *to = NULL, *cmd = NULL;
	const char *src = getenv("VSSD_SOURCE_DIR") ?: "."; /* make runs tests from the top */

	ck_assert_int_ge(asprintf(&from, "%s/doc/examples/hooks/%s", src, name), 0);
	ck_assert_msg(access(from, R_OK) == 0, "%s not found: run from the source tree", from);
	ck_assert_int_ge(asprintf(&to, "%s/%s", t->hooks, name), 0);
	ck_assert_int_ge(asprintf(&cmd, "cp '%s' '%s' && chmod 755 '%s'", from, to, to), 0);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_conf(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(example_hooks_flush_and_veto)
{
	_cleanup_(world_done) HookWorld t = { 0 };
	_cleanup_(message_unrefp) DBusMessage *reply = NULL;
	_cleanup_free_ char *conf = NULL, *text = NULL, *log = NULL;

	world_init(&t);
	copy_example(&t, "10-fsfreeze");
	copy_example(&t, "20-db-flush");
	ck_assert_int_ge(asprintf(&conf, "%s/db-flush.conf", fake_bus_dir(t.bus)), 0);
	ck_assert_int_ge(asprintf(&text,
	                          "DB_FLUSH_COMMAND='echo flush \"$VSSD_SET_ID\" >>%s'\n"
	                          "DB_THAW_COMMAND='echo thaw >>%s'\n",
	                          t.log, t.log),
	                 0);
	write_conf(conf, text);
	/* the program passes its environment on to the hooks */
	ck_assert_int_eq(setenv("DB_FLUSH_CONF", conf, 1), 0);
	ck_assert_int_eq(setenv("FSFREEZE_CONF", "/nonexistent", 1), 0); /* 10-fsfreeze: idle */
	ck_assert_int_eq(unsetenv("FSFREEZE_DIR"), 0);
	world_start(&t, "10000");

	assert_ok(call_set(&t, "Freeze"));
	assert_ok(call_set(&t, "Thaw"));
	log = read_log(&t);
	ck_assert_str_eq(log, "flush " SET "\nthaw\n");

	write_conf(conf, "DB_FLUSH_COMMAND='echo \"database says no\" >&2; exit 4'\n");
	reply = call_set(&t, "Freeze");
	ck_assert_str_eq(fake_reply_error(reply), "org.vssd.ShadowCopy1.Writer.Error.Retryable");
	ck_assert_str_eq(fake_reply_message(reply),
	                 "hook 20-db-flush failed with exit status 4: database says no");
	stop_cleanly(&t);
}
END_TEST

START_TEST(thaw_undoes_the_hooks_that_froze)
{
	_cleanup_(world_done) HookWorld t = { 0 };
	_cleanup_free_ char *log = NULL;

	world_init(&t);
	write_hook(&t, "10-a", NULL, 0755);
	write_hook(&t, "20-b", NULL, 0755);
	world_start(&t, "10000");
	assert_ok(call_set(&t, "Freeze"));
	/* a hook installed while frozen never froze: thaw leaves it out */
	write_hook(&t, "15-new", NULL, 0755);
	assert_ok(call_set(&t, "Thaw"));
	log = read_log(&t);
	ck_assert_str_eq(log, "10-a freeze " SET " [freeze]\n"
	                      "20-b freeze " SET " [freeze]\n"
	                      "20-b thaw " SET " [thaw]\n"
	                      "10-a thaw " SET " [thaw]\n");
	stop_cleanly(&t);
}
END_TEST

/* A hook that others could have written or changed is not run: a group- or world-writable
 * hook is skipped (the others run), and a world-writable hook directory runs nothing and vetoes. */
START_TEST(hooks_others_could_change_are_not_run)
{
	_cleanup_(world_done) HookWorld t = { 0 };
	_cleanup_(message_unrefp) DBusMessage *reply = NULL;
	_cleanup_free_ char *log = NULL, *wlog = NULL, *out = NULL;

	world_init(&t);
	write_hook(&t, "10-a", NULL, 0755);
	write_hook(&t, "20-group-writable", NULL, 0775);
	write_hook(&t, "30-world-writable", NULL, 0757);
	write_hook(&t, "40-d", NULL, 0755);
	world_start(&t, "10000");

	assert_ok(call_set(&t, "Freeze"));
	log = read_log(&t);
	ck_assert_str_eq(log, "10-a freeze " SET " [freeze]\n"
	                      "40-d freeze " SET " [freeze]\n");
	assert_ok(call_set(&t, "Thaw"));
	ck_assert_int_ge(asprintf(&out, "%s/writer.log", fake_bus_dir(t.bus)), 0);
	{
		FILE *f = fopen(out, "re");
		size_t n = 0;

		ck_assert_ptr_nonnull(f);
		ck_assert_int_ge(getdelim(&wlog, &n, 0, f), 0);
		fclose(f);
	}
	ck_assert_ptr_nonnull(strstr(wlog, "hook=20-group-writable: skipped"));
	ck_assert_ptr_nonnull(strstr(wlog, "20-group-writable is writable by its group"));
	ck_assert_ptr_nonnull(strstr(wlog, "30-world-writable is writable by others"));

	/* the directory itself writable by others: nothing runs, the freeze is vetoed */
	ck_assert_int_eq(chmod(t.hooks, 0777), 0);
	reply = call_set(&t, "Freeze");
	ck_assert_str_eq(fake_reply_error(reply), "org.vssd.ShadowCopy1.Writer.Error.Retryable");
	free(log);
	log = read_log(&t);
	ck_assert_str_eq(log, "10-a freeze " SET " [freeze]\n"
	                      "40-d freeze " SET " [freeze]\n"
	                      "40-d thaw " SET " [thaw]\n"
	                      "10-a thaw " SET " [thaw]\n");
	ck_assert_int_eq(chmod(t.hooks, 0755), 0);
	stop_cleanly(&t);
}
END_TEST

/* A hook that ends while something it started runs on, even out of its process group
 * (setsid), leaves nothing behind: the writer, a child subreaper, kills and reaps it. */
START_TEST(processes_a_hook_leaves_behind_are_killed)
{
	_cleanup_(world_done) HookWorld t = { 0 };
	_cleanup_free_ char *pidfile = NULL, *hook = NULL;
	FILE *f = NULL;
	int child = 0;

	world_init(&t);
	ck_assert_int_ge(asprintf(&pidfile, "%s/escaped.pid", fake_bus_dir(t.bus)), 0);
	ck_assert_int_ge(asprintf(&hook,
	                          "[ \"$1\" = freeze ] || exit 0\n"
	                          "setsid sh -c 'echo $$ >\"%s.tmp\"; mv \"%s.tmp\" \"%s\"; "
	                          "exec sleep 60' </dev/null >/dev/null 2>&1 &\n"
	                          "while [ ! -s '%s' ]; do sleep 0.05; done\nexit 0",
	                          pidfile, pidfile, pidfile, pidfile),
	                 0);
	write_hook(&t, "10-escapes", hook, 0755);
	world_start(&t, "10000");

	assert_ok(call_set(&t, "Freeze"));
	f = fopen(pidfile, "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &child), 1);
	fclose(f);
	/* killed and reaped before the answer to Freeze */
	ck_assert(process_gone(child));
	assert_ok(call_set(&t, "Thaw"));
	stop_cleanly(&t);
}
END_TEST

static void dict_string(DBusMessageIter *d, const char *key, const char *value)
{
	DBusMessageIter e, v;

	ck_assert(dbus_message_iter_open_container(d, DBUS_TYPE_DICT_ENTRY, NULL, &e));
	ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key));
	ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "s", &v));
	ck_assert(dbus_message_iter_append_basic(&v, DBUS_TYPE_STRING, &value));
	ck_assert(dbus_message_iter_close_container(&e, &v));
	ck_assert(dbus_message_iter_close_container(d, &e));
}

/* PrepareForBackup, incremental, no selection, data's previous stamp "lsn 7" */
static DBusMessage *prepare_backup(HookWorld *t)
{
	DBusMessage *m = fake_vssd_new_call(t->vssd, "PrepareForBackup");
	DBusMessageIter it, d, e, v, a, kv;
	const char *kp = "previous-backup-stamps", *name = "data", *stamp = "lsn 7";

	dbus_message_iter_init_append(m, &it);
	ck_assert(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &d));
	dict_string(&d, "set", SET);
	dict_string(&d, "backup-type", "incremental");
	ck_assert(dbus_message_iter_open_container(&d, DBUS_TYPE_DICT_ENTRY, NULL, &e));
	ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &kp));
	ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "a{ss}", &v));
	ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "{ss}", &a));
	ck_assert(dbus_message_iter_open_container(&a, DBUS_TYPE_DICT_ENTRY, NULL, &kv));
	ck_assert(dbus_message_iter_append_basic(&kv, DBUS_TYPE_STRING, &name));
	ck_assert(dbus_message_iter_append_basic(&kv, DBUS_TYPE_STRING, &stamp));
	ck_assert(dbus_message_iter_close_container(&a, &kv));
	ck_assert(dbus_message_iter_close_container(&v, &a));
	ck_assert(dbus_message_iter_close_container(&e, &v));
	ck_assert(dbus_message_iter_close_container(&d, &e));
	ck_assert(dbus_message_iter_close_container(&it, &d));
	return m;
}

static DBusMessage *backup_results(HookWorld *t)
{
	DBusMessage *m = fake_vssd_new_call(t->vssd, "BackupResults");
	DBusMessageIter it, a, c, e, v;
	const char *set = SET, *ks = "succeeded";
	dbus_bool_t yes = TRUE, no = FALSE;

	dbus_message_iter_init_append(m, &it);
	ck_assert(dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &set));
	ck_assert(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "a{sv}", &a));
	for (int i = 0; i < 2; i++) {
		ck_assert(dbus_message_iter_open_container(&a, DBUS_TYPE_ARRAY, "{sv}", &c));
		dict_string(&c, "name", i == 0 ? "data" : "logs");
		ck_assert(dbus_message_iter_open_container(&c, DBUS_TYPE_DICT_ENTRY, NULL, &e));
		ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &ks));
		ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "b", &v));
		ck_assert(
			dbus_message_iter_append_basic(&v, DBUS_TYPE_BOOLEAN, i == 0 ? &yes : &no));
		ck_assert(dbus_message_iter_close_container(&e, &v));
		ck_assert(dbus_message_iter_close_container(&c, &e));
		if (i == 1)
			dict_string(&c, "failure-message", "tape full");
		ck_assert(dbus_message_iter_close_container(&a, &c));
	}
	ck_assert(dbus_message_iter_close_container(&it, &a));
	return m;
}

/* A hook sets stamps with stdout lines (checked: a wrong one is refused, not altered), sees the
 * previous stamps and the backup type in its environment, and gets backup-results */
START_TEST(hooks_set_stamps_and_see_results)
{
	_cleanup_(world_done) HookWorld t = { 0 };
	_cleanup_free_ char *log = NULL, *body = NULL, *body2 = NULL;
	char *extra[] = { "--component", "data=/srv/db", "--component", "logs=/srv/db:/srv/wal",
		          NULL };
	DBusMessage *reply;

	world_init(&t);
	write_hook(&t, "10-db",
	           "case $1 in\n"
	           "prepare-backup) printf 'type=%s prev=%s\\n' \"$VSSD_BACKUP_TYPE\" "
	           "\"$VSSD_PREVIOUS_BACKUP_STAMPS\" >>\"$0.env\";;\n"
	           "post-snapshot)\n"
	           "  echo 'backup-stamp data lsn 8'\n"
	           "  echo 'backup-metadata logs wal 0/16'\n"
	           "  printf 'backup-stamp logs a\\tb\\n'\n"
	           "  echo 'backup-stamp nope x'\n"
	           "  echo 'component-failed logs'\n"
	           "  echo 'just a line';;\n"
	           "backup-results) printf '%s\\n' \"$VSSD_BACKUP_RESULTS\" >>\"$0.env\";;\n"
	           "esac",
	           0755);
	world_start_with(&t, "10000", extra);

	reply = fake_vssd_send(t.vssd, prepare_backup(&t));
	ck_assert_str_eq(fake_reply_error(reply), "");
	body = fake_render_args(reply);
	dbus_message_unref(reply);
	ck_assert_str_eq(body, ""); /* nothing set: an empty answer, as before stamps */
	assert_ok(prepare_snapshot(&t));
	{
		const char *set = SET, *vol = VOL, *dev = "/dev/mapper/vssd-x";
		DBusMessage *m = fake_vssd_new_call(t.vssd, "PostSnapshot");
		DBusMessageIter it, a, e;

		dbus_message_iter_init_append(m, &it);
		ck_assert(dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &set));
		ck_assert(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{ss}", &a));
		ck_assert(dbus_message_iter_open_container(&a, DBUS_TYPE_DICT_ENTRY, NULL, &e));
		ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &vol));
		ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &dev));
		ck_assert(dbus_message_iter_close_container(&a, &e));
		ck_assert(dbus_message_iter_close_container(&it, &a));
		reply = fake_vssd_send(t.vssd, m);
	}
	ck_assert_str_eq(fake_reply_error(reply), "");
	body2 = fake_render_args(reply);
	dbus_message_unref(reply);
	ck_assert_str_eq(body2, "{'components': [{'name': 'data', 'backup-stamp': 'lsn 8'}, "
	                        "{'name': 'logs', 'backup-metadata': 'wal 0/16'}]}");
	assert_ok(fake_vssd_send(t.vssd, backup_results(&t)));
	{
		_cleanup_free_ char *envlog = NULL, *path = NULL;
		char buf[512] = "";
		FILE *f;
		size_t n;

		ck_assert_int_ge(asprintf(&path, "%s/10-db.env", t.hooks), 0);
		f = fopen(path, "re");
		ck_assert_ptr_nonnull(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = 0;
		fclose(f);
		ck_assert_str_eq(buf, "type=incremental prev=data\tlsn 7\n"
		                      "data\tsucceeded\nlogs\tfailed\ttape full\n");
	}
	stop_cleanly(&t);
}
END_TEST

#define RESTORE_ID "5e551011-0000-4000-8000-0000000000b1"

static DBusMessage *restore_event(HookWorld *t, const char *method)
{
	DBusMessage *m = fake_vssd_new_call(t->vssd, method);
	DBusMessageIter it, d, e, v, arr, c;

	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(busmsg_append_string(&it, RESTORE_ID), 0);
	ck_assert_int_eq(busmsg_dict_open(&it, &d), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&d, "backup-set", SET), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&d, "backup-type", "incremental"), 0);
	ck_assert_int_eq(busmsg_entry_open(&d, "components", "aa{sv}", &e, &v), 0);
	ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &arr));
	ck_assert_int_eq(busmsg_dict_open(&arr, &c), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&c, "name", "data"), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&c, "backup-stamp", "lsn 8"), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&c, "restore-type", "by-copy"), 0);
	if (streq(method, "PostRestore"))
		ck_assert_int_eq(busmsg_dict_append_string(&c, "file-restore-status", "all"), 0);
	ck_assert_int_eq(busmsg_dict_close(&arr, &c), 0);
	ck_assert_int_eq(busmsg_dict_open(&arr, &c), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&c, "name", "logs"), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&c, "new-target", "/srv/elsewhere"), 0);
	if (streq(method, "PostRestore"))
		ck_assert_int_eq(busmsg_dict_append_string(&c, "file-restore-status", "failed"), 0);
	ck_assert_int_eq(busmsg_dict_close(&arr, &c), 0);
	ck_assert(dbus_message_iter_close_container(&v, &arr));
	ck_assert_int_eq(busmsg_entry_close(&d, &e, &v, 0), 0);
	ck_assert_int_eq(busmsg_dict_close(&it, &d), 0);
	return m;
}

/* PreRestore and PostRestore reach the hooks with the restore's data in the environment; a hook
 * that fails vetoes the event */
START_TEST(restore_events_reach_the_hooks)
{
	_cleanup_(world_done) HookWorld t = { 0 };
	_cleanup_free_ char *path = NULL;
	char *extra[] = { "--component", "data=/srv/db", "--component", "logs=/srv/wal", NULL };
	char buf[1024] = "";
	DBusMessage *reply;
	FILE *f;
	size_t n;

	world_init(&t);
	write_hook(&t, "10-db",
	           "printf '%s %s %s %s %s\\n%s\\n' \"$1\" \"$2\" \"$VSSD_RESTORE_ID\" "
	           "\"$VSSD_BACKUP_SET_ID\" \"$VSSD_RESTORE_BACKUP_TYPE\" "
	           "\"$VSSD_RESTORE_COMPONENTS\" >>\"$0.env\"\n"
	           "[ \"$1\" != post-restore ] || exit 3",
	           0755);
	world_start_with(&t, "10000", extra);

	assert_ok(fake_vssd_send(t.vssd, restore_event(&t, "PreRestore")));
	reply = fake_vssd_send(t.vssd, restore_event(&t, "PostRestore"));
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_ne(fake_reply_error(reply), ""); /* the failed hook vetoes */
	dbus_message_unref(reply);

	ck_assert_int_ge(asprintf(&path, "%s/10-db.env", t.hooks), 0);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	ck_assert_str_eq(buf, "pre-restore " SET " " RESTORE_ID " " SET " incremental\n"
	                      "data\tlsn 8\tby-copy\t-\t-\n"
	                      "logs\t-\tby-copy\t/srv/elsewhere\t-\n"
	                      "post-restore " SET " " RESTORE_ID " " SET " incremental\n"
	                      "data\tlsn 8\tby-copy\t-\tall\n"
	                      "logs\t-\tby-copy\t/srv/elsewhere\tfailed\n");
	stop_cleanly(&t);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("vssd-hook-writer",
	TEST(hooks_others_could_change_are_not_run)
	TEST(processes_a_hook_leaves_behind_are_killed)
	TEST(freeze_in_name_order_thaw_in_reverse)
	TEST(failing_hook_vetoes_and_aborts_the_frozen_ones)
	TEST(thaw_runs_every_hook_despite_a_failure)
	TEST(hook_timeout_kills_its_process_group)
	TEST(missing_directory_means_no_hooks)
	TEST(example_hooks_flush_and_veto)
	TEST(thaw_undoes_the_hooks_that_froze)
	TEST(hooks_set_stamps_and_see_results)
	TEST(restore_events_reach_the_hooks))
/* clang-format on */
