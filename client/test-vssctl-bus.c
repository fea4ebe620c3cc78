/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-vssctl-bus.c - vssctl's verbs against a fake vssd on a private dbus-daemon (no root) */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "client/busutil.h"
#include "client/vssctl-format.h"
#include "client/vssctl-verbs.h"
#include "common/log.h"
#include "common/vssd-bus-names.h"
#include "tests/lib/check-main.h"

#define SET  "11111111-1111-1111-1111-111111111111"
#define SETP VSSD_ROOT_PATH "/set/11111111111111111111111111111111"
#define S1   "aaaaaaaa-0000-0000-0000-000000000001"
#define S1P  VSSD_ROOT_PATH "/snapshot/aaaaaaaa000000000000000000000001"
#define S2   "aaaaaaaa-0000-0000-0000-000000000002"
#define S2P  VSSD_ROOT_PATH "/snapshot/aaaaaaaa000000000000000000000002"
#define VOLA "/dev/mapper/a"
#define VOLB "/dev/mapper/b"

#define SET_IN_PROGRESS \
	"VSS_E_SNAPSHOT_SET_IN_PROGRESS (0x80042316): another snapshot set is being created"

/* What the fake vssd does differently in a test */
typedef struct FakeConfig {
	const char *fail_member; /* reply to this method with fail_name/fail_message */
	const char *fail_name;
	const char *fail_message;
	const char *hang_member; /* never reply to this one */
	bool failed_writer;      /* GatherWriterStatus reports a writer that failed */
} FakeConfig;

typedef struct T {
	char dir[64];
	char address[512];
	char log_path[128];
	pid_t bus_pid;
	pid_t fake_pid;
	char *out, *err;
	size_t out_size;
	int status;
} T;

/* ---- the fake vssd: a child process, logging each call as "Member path [json args]" ----- */

static void put_string(DBusMessageIter *d, const char *key, const char *value)
{
	ck_assert_int_eq(busmsg_dict_append_string(d, key, value), 0);
}

static void snapshot_props(DBusMessageIter *it, int i)
{
	DBusMessageIter d;

	ck_assert_int_eq(busmsg_dict_open(it, &d), 0);
	put_string(&d, "Id", i ? S2 : S1);
	put_string(&d, "SetId", SET);
	put_string(&d, "Volume", i ? VOLB : VOLA);
	put_string(&d, "OriginalDevice", i ? "/dev/dm-1" : "/dev/dm-0");
	put_string(&d, "Device", i ? "/dev/mapper/vssd-s2" : "/dev/mapper/vssd-s1");
	put_string(&d, "Provider", "dm-snapshot");
	put_string(&d, "Context", "backup");
	ck_assert_int_eq(busmsg_dict_append_u32(&d, "Attributes", 0x20000), 0);
	ck_assert_int_eq(busmsg_dict_append_u64(&d, "CreationTime", 1700000000000000ULL), 0);
	put_string(&d, "State", "created");
	ck_assert_int_eq(busmsg_dict_append_u64(&d, "StorageUsed", 0), 0);
	ck_assert_int_eq(busmsg_dict_append_u64(&d, "StorageSize", 1ULL << 30), 0);
	put_string(&d, "ExposedPath", "");
	ck_assert_int_eq(busmsg_dict_close(it, &d), 0);
}

static void managed_objects(DBusMessageIter *it)
{
	DBusMessageIter objs, o, ifaces, iface;

	ck_assert(dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "{oa{sa{sv}}}", &objs));
	for (int i = 0; i < 2; i++) {
		const char *path = i ? S2P : S1P, *name = VSSD_IFACE_SNAP;

		ck_assert(dbus_message_iter_open_container(&objs, DBUS_TYPE_DICT_ENTRY, NULL, &o));
		ck_assert(dbus_message_iter_append_basic(&o, DBUS_TYPE_OBJECT_PATH, &path));
		ck_assert(
			dbus_message_iter_open_container(&o, DBUS_TYPE_ARRAY, "{sa{sv}}", &ifaces));
		ck_assert(dbus_message_iter_open_container(&ifaces, DBUS_TYPE_DICT_ENTRY, NULL,
		                                           &iface));
		ck_assert(dbus_message_iter_append_basic(&iface, DBUS_TYPE_STRING, &name));
		snapshot_props(&iface, i);
		ck_assert(dbus_message_iter_close_container(&ifaces, &iface));
		ck_assert(dbus_message_iter_close_container(&o, &ifaces));
		ck_assert(dbus_message_iter_close_container(&objs, &o));
	}
	ck_assert(dbus_message_iter_close_container(it, &objs));
}

/* aa{sv} with n dictionaries of one kind */
static void list(DBusMessageIter *it, const char *kind, int n, const FakeConfig *cfg)
{
	DBusMessageIter a, d;

	ck_assert(dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "a{sv}", &a));
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(busmsg_dict_open(&a, &d), 0);
		if (streq(kind, "volume")) {
			put_string(&d, "volume", VOLA);
			put_string(&d, "device", "/dev/dm-0");
			ck_assert_int_eq(busmsg_dict_append_u64(&d, "size-bytes", 1ULL << 30), 0);
		} else if (streq(kind, "writer")) {
			put_string(&d, "name", "PostgreSQL");
			ck_assert_int_eq(
				busmsg_dict_append_u32(&d, "state", cfg->failed_writer ? 8 : 1), 0);
			put_string(&d, "state-name",
			           cfg->failed_writer ? "Failed at freeze" : "Stable");
			if (cfg->failed_writer)
				put_string(&d, "failure-message", "checkpoint failed");
		}
		ck_assert_int_eq(busmsg_dict_close(&a, &d), 0);
	}
	ck_assert(dbus_message_iter_close_container(it, &a));
}

/* JSON with the keys as sent (vssctl_value_to_json() would turn them to snake_case) */
static void json_raw(FILE *f, const BusValue *v)
{
	switch (v->type) {
	case DBUS_TYPE_STRING:
	case DBUS_TYPE_OBJECT_PATH:
	case DBUS_TYPE_SIGNATURE:
		fprintf(f, "\"%s\"", v->str);
		return;
	case DBUS_TYPE_BOOLEAN:
		fputs(v->b ? "true" : "false", f);
		return;
	case DBUS_TYPE_DOUBLE:
		fprintf(f, "%g", v->d);
		return;
	case DBUS_TYPE_INT16:
	case DBUS_TYPE_INT32:
	case DBUS_TYPE_INT64:
		fprintf(f, "%lld", (long long)v->i);
		return;
	case BUSUTIL_DICT:
		fputc('{', f);
		for (size_t i = 0; i < v->n; i++) {
			fprintf(f, "%s\"%s\":", i ? "," : "", v->keys[i]);
			json_raw(f, &v->items[i]);
		}
		fputc('}', f);
		return;
	case DBUS_TYPE_ARRAY:
	case DBUS_TYPE_STRUCT:
		fputc('[', f);
		for (size_t i = 0; i < v->n; i++) {
			fputs(i ? "," : "", f);
			json_raw(f, &v->items[i]);
		}
		fputc(']', f);
		return;
	default: /* unsigned */
		fprintf(f, "%llu", (unsigned long long)v->u);
		return;
	}
}

static void fake_log(FILE *log, DBusMessage *m)
{
	_cleanup_(busutil_value_freep) BusValue *args = NULL;

	ck_assert_int_eq(busutil_message_read(m, &args), 0);
	fprintf(log, "%s %s ", dbus_message_get_member(m), dbus_message_get_path(m));
	json_raw(log, args);
	fputc('\n', log);
	fflush(log);
}

typedef struct Fake {
	const FakeConfig *cfg;
	FILE *log;
	int added;
} Fake;

static DBusHandlerResult fake_on_message(DBusConnection *c, DBusMessage *m, void *userdata)
{
	Fake *f = userdata;
	const char *member = dbus_message_get_member(m), *path = dbus_message_get_path(m);
	DBusMessage *reply;
	DBusMessageIter it;

	if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL)
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	fake_log(f->log, m);
	if (streq_ptr(member, f->cfg->hang_member))
		return DBUS_HANDLER_RESULT_HANDLED;
	if (startswith(path, VSSD_ROOT_PATH "/snapshot/") && !streq(path, S1P) && !streq(path, S2P))
		reply = dbus_message_new_error(m, DBUS_ERROR_UNKNOWN_OBJECT, "no such object");
	else if (streq_ptr(member, f->cfg->fail_member))
		reply = dbus_message_new_error(m, f->cfg->fail_name, f->cfg->fail_message);
	else
		reply = dbus_message_new_method_return(m);
	ck_assert_ptr_nonnull(reply);
	dbus_message_iter_init_append(reply, &it);

	if (dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR)
		; /* as it is */
	else if (streq(member, "GetManagedObjects"))
		managed_objects(&it);
	else if (streq(member, "GetAll"))
		snapshot_props(&it, streq(path, S2P));
	else if (streq(member, "CreateSnapshotSet")) {
		const char *set = SETP;
		char *snaps[] = { (char *)S1P, (char *)S2P };
		DBusMessageIter a;

		ck_assert(dbus_message_iter_append_basic(&it, DBUS_TYPE_OBJECT_PATH, &set));
		ck_assert(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "o", &a));
		for (int i = 0; i < 2; i++)
			ck_assert(dbus_message_iter_append_basic(&a, DBUS_TYPE_OBJECT_PATH,
			                                         &snaps[i]));
		ck_assert(dbus_message_iter_close_container(&it, &a));
	} else if (streq(member, "StartSnapshotSet")) {
		const char *set = SETP;

		ck_assert(dbus_message_iter_append_basic(&it, DBUS_TYPE_OBJECT_PATH, &set));
	} else if (streq(member, "AddVolume")) {
		const char *snap = f->added++ ? S2P : S1P;

		ck_assert(dbus_message_iter_append_basic(&it, DBUS_TYPE_OBJECT_PATH, &snap));
	} else if (streq(member, "DeleteSnapshots")) {
		dbus_uint32_t n = 1;

		ck_assert(dbus_message_iter_append_basic(&it, DBUS_TYPE_UINT32, &n));
	} else if (streq(member, "Expose")) {
		DBusMessageIter in, opts;
		const char *p;

		/* vssd's answer to auto-mount-point (any option, here): a directory of its own */
		ck_assert(dbus_message_iter_init(m, &in));
		dbus_message_iter_get_basic(&in, &p);
		ck_assert(dbus_message_iter_next(&in));
		dbus_message_iter_recurse(&in, &opts);
		if (!p[0] && dbus_message_iter_get_arg_type(&opts) != DBUS_TYPE_INVALID)
			p = streq(dbus_message_get_path(m), S1P) ? "/run/vssd/expose/s1"
			                                         : "/run/vssd/expose/s2";
		ck_assert(dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &p));
	} else if (streq(member, "CreateVolume")) {
		const char *v = "/dev/mapper/vssd-sdb";

		ck_assert(dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &v));
	} else if (streq(member, "ListVolumes"))
		list(&it, "volume", 1, f->cfg);
	else if (streq(member, "GetBackupDocument")) {
		const char *doc = "{\"format\":\"vssd-backup/1\"}";

		ck_assert(dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &doc));
	} else if (streq(member, "ListWriters") || streq(member, "GatherWriterStatus"))
		list(&it, "writer", 1, f->cfg);
	else if (streq(member, "GatherWriterMetadata") || streq(member, "ListStorage") ||
	         streq(member, "ListProviders"))
		list(&it, "none", 0, f->cfg);
	/* the rest return nothing */

	ck_assert(dbus_connection_send(c, reply, NULL));
	dbus_message_unref(reply);
	return DBUS_HANDLER_RESULT_HANDLED;
}

_noreturn_ static void fake_run(const char *address, const char *log_path, const FakeConfig *cfg,
                                int ready_fd)
{
	static const DBusObjectPathVTable vtable = { .message_function = fake_on_message };
	DBusError e = DBUS_ERROR_INIT;
	Fake f = { .cfg = cfg };
	DBusConnection *c;

	f.log = fopen(log_path, "ae"); /* append: the test truncates it */
	c = dbus_connection_open_private(address, &e);
	if (!f.log || !c || !dbus_bus_register(c, &e) ||
	    dbus_bus_request_name(c, VSSD_BUS_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE, &e) !=
	            DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER ||
	    !dbus_connection_register_fallback(c, VSSD_ROOT_PATH, &vtable, &f))
		_exit(1);
	if (write(ready_fd, "x", 1) != 1)
		_exit(1);
	close(ready_fd);
	while (dbus_connection_read_write_dispatch(c, -1))
		;
	_exit(0);
}

/* ---- per test: a private bus, the fake, vssctl in this process ---------------------------- */

static void t_start_bus(T *t)
{
	char conf[128], line[512];
	int p[2];
	FILE *f;
	ssize_t n;

	*t = (T){ .bus_pid = -1, .fake_pid = -1 };
	snprintf(t->dir, sizeof(t->dir), "/tmp/test-vssctl-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	snprintf(conf, sizeof(conf), "%s/bus.conf", t->dir);
	snprintf(t->log_path, sizeof(t->log_path), "%s/calls", t->dir);
	f = fopen(conf, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
	        "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration "
	        "1.0//EN\" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
	        "<busconfig><type>session</type><listen>unix:dir=%s</listen>\n"
	        "<auth>EXTERNAL</auth><policy context=\"default\">\n"
	        "<allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/>\n"
	        "<allow own=\"*\"/></policy></busconfig>\n",
	        t->dir);
	ck_assert_int_eq(fclose(f), 0);

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	t->bus_pid = fork();
	ck_assert_int_ge(t->bus_pid, 0);
	if (t->bus_pid == 0) {
		char cf[160], log[160];
		int fd;

		snprintf(cf, sizeof(cf), "--config-file=%s", conf);
		snprintf(log, sizeof(log), "%s/bus.log", t->dir);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC,
		          0600); /* its complaints, e.g. rlimits */
		if (fd < 0 || dup2(fd, STDERR_FILENO) < 0 ||
		    dup2(p[1], 3) < 0) /* dup2: no CLOEXEC */
			_exit(127);
		execlp("dbus-daemon", "dbus-daemon", cf, "--nofork", "--print-address=3",
		       (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	n = read(p[0], line, sizeof(line) - 1); /* the address, once it listens */
	close(p[0]);
	ck_assert_msg(n > 1, "dbus-daemon did not start (is the dbus package installed?)");
	line[n] = 0;
	line[strcspn(line, "\n")] = 0;
	snprintf(t->address, sizeof(t->address), "%s", line);
}

static void t_start_fake(T *t, const FakeConfig *cfg)
{
	int p[2];
	char c;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	t->fake_pid = fork();
	ck_assert_int_ge(t->fake_pid, 0);
	if (t->fake_pid == 0) {
		sigset_t none;

		/* Check's runner handler, inherited, would pass a SIGTERM on to the test */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(p[0]);
		fake_run(t->address, t->log_path, cfg, p[1]);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1); /* it owns the name */
	close(p[0]);
}

static void t_init(T *t, const FakeConfig *cfg)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(null, 0);
	ck_assert_int_eq(dup2(null, STDIN_FILENO), STDIN_FILENO); /* no questions asked */
	close(null);
	log_set_prefix("vssctl: ");
	t_start_bus(t);
	if (cfg)
		t_start_fake(t, cfg);
}

static void t_done(T *t)
{
	char cmd[128];

	/* SIGKILL: with CK_FORK=no a backup test leaves SIGTERM blocked, and children inherit it */
	if (t->fake_pid > 0) {
		kill(t->fake_pid, SIGKILL);
		waitpid(t->fake_pid, NULL, 0);
	}
	if (t->bus_pid > 0) {
		kill(t->bus_pid, SIGKILL);
		waitpid(t->bus_pid, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	ck_assert_int_eq(system(cmd), 0);
	free(t->out);
	free(t->err);
}

/* vssctl --bus ADDRESS args...: exit status, stdout and stderr */
#define VSSCTL(t, ...) t_vssctl((t), (const char *const[]){ __VA_ARGS__, NULL })
static int t_vssctl(T *t, const char *const *args)
{
	char *argv[64] = { (char *)"vssctl", (char *)"--bus", t->address };
	char err_path[128];
	int argc = 3, saved, fd;
	FILE *out, *e;
	long l;

	for (; *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	free(t->out);
	free(t->err);
	t->out = t->err = NULL;

	snprintf(err_path, sizeof(err_path), "%s/stderr", t->dir);
	fd = open(err_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	out = open_memstream(&t->out, &t->out_size);
	t->status = vssctl_main(argc, argv, out, stderr);
	fclose(out);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);

	e = fdopen(fd, "r");
	fseek(e, 0, SEEK_END);
	l = ftell(e);
	rewind(e);
	t->err = calloc(1, (size_t)l + 1);
	ck_assert_int_eq(fread(t->err, 1, (size_t)l, e), (size_t)l);
	fclose(e);
	return t->status;
}

/* The fake's log: every call so far, one per line */
static char *t_calls(T *t)
{
	static char buf[16384];
	FILE *f = fopen(t->log_path, "re");
	size_t n;

	if (!f)
		return strcpy(buf, "");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* The members called, in order, space-separated (Properties.GetAll and the bus's own left out) */
static char *t_members(T *t)
{
	static char buf[2048];
	char *calls = t_calls(t), *save = NULL;
	size_t o = 0;

	buf[0] = 0;
	for (char *l = strtok_r(calls, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		size_t n = strcspn(l, " ");

		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%.*s", o ? " " : "", (int)n, l);
	}
	return buf;
}

#define assert_contains(hay, needle) \
	ck_assert_msg(strstr((hay), (needle)), "\"%s\" lacks \"%s\"", (hay), (needle))

START_TEST(list_shadows_over_the_bus)
{
	T t;

	t_init(&t, &(FakeConfig){ 0 });
	ck_assert_int_eq(VSSCTL(&t, "list", "shadows"), 0);
	ck_assert_str_eq(t.err, "");
	assert_contains(t.out, "Contents of shadow copy set ID: " SET "\n"
	                       "   Contained 2 shadow copies at creation time: ");
	assert_contains(t.out, "      Shadow Copy ID: " S2 "\n"
	                       "         Original Volume: /dev/mapper/b (/dev/dm-1)\n");
	assert_contains(t_calls(&t), "GetManagedObjects " VSSD_ROOT_PATH " []\n");

	ck_assert_int_eq(VSSCTL(&t, "list", "shadows", "--json", "--volume", VOLB), 0);
	assert_contains(t.out, "\"id\": \"" S2 "\"");
	ck_assert_ptr_null(strstr(t.out, S1));
	t_done(&t);
}
END_TEST

START_TEST(list_verbs_call_the_manager)
{
	T t;

	t_init(&t, &(FakeConfig){ 0 });
	ck_assert_int_eq(VSSCTL(&t, "list", "writers"), 0);
	assert_contains(t.out, "Writer name: 'PostgreSQL'\n");
	assert_contains(t.out, "   State: [1] Stable\n");
	assert_contains(t_calls(&t), "ListWriters " VSSD_ROOT_PATH " [true]\n"); /* refresh */
	ck_assert_int_eq(VSSCTL(&t, "list", "volumes", "--json"), 0);
	assert_contains(t.out, "\"size_bytes\": 1073741824");
	ck_assert_int_eq(VSSCTL(&t, "list", "providers"), 0);
	ck_assert_str_eq(t.out, "No items found that satisfy the query.\n");
	ck_assert_int_eq(VSSCTL(&t, "list", "storage", "--json"), 0);
	ck_assert_str_eq(t.out, "[\n]\n");
	ck_assert_str_eq(t_members(&t), "ListWriters ListVolumes ListProviders ListStorage");
	t_done(&t);
}
END_TEST

START_TEST(create_shadow_over_the_bus)
{
	T t;

	t_init(&t, &(FakeConfig){ 0 });
	ck_assert_int_eq(
		VSSCTL(&t, "create", "shadow", "--volume", VOLA, "--volume", VOLB, "--json"), 0);
	ck_assert_str_eq(t.err, "");
	/* vssadmin's default: a client-accessible-writers (persistent, writers frozen) copy */
	assert_contains(t_calls(&t), "CreateSnapshotSet " VSSD_ROOT_PATH " [[\"" VOLA "\",\"" VOLB
	                             "\"],{\"context\":\"client-accessible-writers\"}]\n");
	assert_contains(t_calls(&t), "GetAll " S1P " [\"" VSSD_IFACE_SNAP "\"]\n");
	assert_contains(t.out, "\"set_id\": \"" SET "\"");
	assert_contains(t.out, "\"device\": \"/dev/mapper/vssd-s2\"");

	ck_assert_int_eq(VSSCTL(&t, "create", "shadow", "--volume", VOLA, "--context", "backup",
	                        "--no-writers", "--no-auto-release", "--type", "copy",
	                        "--description", "nightly"),
	                 0);
	assert_contains(t_calls(&t), "[[\"" VOLA "\"],{\"context\":\"backup\",\"no-writers\":true,"
	                             "\"no-auto-release\":true,\"backup-type\":\"copy\","
	                             "\"description\":\"nightly\"}]\n");
	assert_contains(t.out, "Successfully created shadow copy set " SET "\n"
	                       "   Shadow Copy ID: " S1 "\n"
	                       "      Original Volume: " VOLA "\n"
	                       "      Shadow Copy Volume: /dev/mapper/vssd-s1\n");
	ck_assert_str_eq(t.err, "");

	/* an auto-release context alone would lose the copies: said, then done as asked */
	ck_assert_int_eq(VSSCTL(&t, "create", "shadow", "--volume", VOLA, "--context", "backup"),
	                 0);
	assert_contains(t.err, "vssctl: warning: context backup releases the shadow copies when "
	                       "vssctl exits");
	t_done(&t);
}
END_TEST

START_TEST(daemon_errors_are_printed_as_they_are)
{
	T t;

	t_init(&t, &(FakeConfig){ .fail_member = "CreateSnapshotSet",
	                          .fail_name = "org.vssd.ShadowCopy1.Error.SnapshotSetInProgress",
	                          .fail_message = SET_IN_PROGRESS });
	ck_assert_int_eq(VSSCTL(&t, "create", "shadow", "--volume", VOLA), 1);
	ck_assert_str_eq(t.err, "vssctl: " SET_IN_PROGRESS "\n");
	ck_assert_str_eq(t.out, "");

	/* a snapshot vssd does not have */
	ck_assert_int_eq(VSSCTL(&t, "expose", "bbbbbbbb-0000-0000-0000-000000000009", "/mnt"), 1);
	ck_assert_str_eq(t.err, "vssctl: VSS_E_OBJECT_NOT_FOUND (0x80042308): no shadow copy "
	                        "bbbbbbbb-0000-0000-0000-000000000009\n");
	t_done(&t);
}
END_TEST

START_TEST(vssd_not_running)
{
	T t;

	t_init(&t, NULL);
	ck_assert_int_eq(VSSCTL(&t, "list", "volumes"), 1);
	assert_contains(t.err, "vssctl: vssd is not running (org.freedesktop.DBus.Error."
	                       "ServiceUnknown: ");
	t_done(&t);
}
END_TEST

START_TEST(call_timeout)
{
	T t;

	t_init(&t, &(FakeConfig){ .hang_member = "ListVolumes" });
	ck_assert_int_eq(VSSCTL(&t, "--timeout-ms", "100", "list", "volumes"), 1);
	ck_assert_str_eq(t.err, "vssctl: no reply to ListVolumes within 100 ms\n");
	t_done(&t);
}
END_TEST

START_TEST(delete_and_storage_and_volume_verbs)
{
	T t;

	t_init(&t, &(FakeConfig){ 0 });
	ck_assert_int_eq(VSSCTL(&t, "delete", "shadows", "--volume", VOLA, "--oldest"), 0);
	ck_assert_str_eq(t.out, "Deleted 1 shadow copy.\n");
	assert_contains(t_calls(&t), "DeleteSnapshots " VSSD_ROOT_PATH " [{\"volume\":\"" VOLA
	                             "\",\"oldest\":true}]\n");
	ck_assert_int_eq(VSSCTL(&t, "delete", "shadows", "--all", "--json"), 0);
	assert_contains(t_calls(&t), "DeleteSnapshots " VSSD_ROOT_PATH " [{\"all\":true}]\n");
	assert_contains(t.out, "\"deleted\": 1");
	ck_assert_int_eq(VSSCTL(&t, "delete", "shadows", "--set", SET), 0);
	assert_contains(t_calls(&t), "[{\"set\":\"" SET "\"}]\n");
	ck_assert_int_eq(VSSCTL(&t, "delete", "shadows", "--shadow", S2), 0);
	assert_contains(t_calls(&t), "[{\"snapshot\":\"" S2 "\"}]\n");

	/* 10 % of the 1 GiB volume, from ListVolumes */
	ck_assert_int_eq(
		VSSCTL(&t, "add", "storage", "--for", VOLA, "--on", "/srv/cow", "--maxsize", "10%"),
		0);
	assert_contains(t_calls(&t), "ListVolumes " VSSD_ROOT_PATH " []\nAddStorage " VSSD_ROOT_PATH
	                             " [\"" VOLA "\",\"/srv/cow\",107374182]\n");
	ck_assert_int_eq(
		VSSCTL(&t, "add", "storage", "--for", VOLB, "--on", "/srv/cow", "--maxsize", "10%"),
		1);
	ck_assert_str_eq(t.err, "vssctl: " VOLB " is not among the volumes vssd lists\n");
	ck_assert_int_eq(VSSCTL(&t, "add", "storage", "--for", VOLB, "--on", "/srv/cow"), 0);
	assert_contains(t_calls(&t), "[\"" VOLB "\",\"/srv/cow\",0]\n"); /* vssd's default */
	ck_assert_int_eq(VSSCTL(&t, "resize", "storage", "--for", VOLA, "--maxsize", "2G"), 0);
	assert_contains(t_calls(&t),
	                "ResizeStorage " VSSD_ROOT_PATH " [\"" VOLA "\",2147483648]\n");
	ck_assert_int_eq(VSSCTL(&t, "delete", "storage", "--for", VOLA, "--delete-snapshots"), 0);
	assert_contains(t_calls(&t), "DeleteStorage " VSSD_ROOT_PATH " [\"" VOLA
	                             "\",{\"delete-snapshots\":true}]\n");
	ck_assert_int_eq(VSSCTL(&t, "delete", "storage", "--for", VOLB), 0);
	assert_contains(t_calls(&t), "[\"" VOLB "\",{}]\n");

	ck_assert_int_eq(VSSCTL(&t, "add", "volume", "/dev/sdb", "--name", "vssd-sdb"), 0);
	ck_assert_str_eq(t.out, "/dev/mapper/vssd-sdb\n");
	assert_contains(t_calls(&t),
	                "CreateVolume " VSSD_ROOT_PATH " [\"/dev/sdb\",{\"name\":\"vssd-sdb\"}]\n");
	ck_assert_int_eq(VSSCTL(&t, "delete", "volume", "/dev/mapper/vssd-sdb"), 0);
	assert_contains(t_calls(&t),
	                "RemoveVolume " VSSD_ROOT_PATH " [\"/dev/mapper/vssd-sdb\"]\n");
	t_done(&t);
}
END_TEST

START_TEST(snapshot_verbs_over_the_bus)
{
	T t;

	t_init(&t, &(FakeConfig){ 0 });
	ck_assert_int_eq(VSSCTL(&t, "expose", S1, "/mnt/s1"), 0);
	ck_assert_str_eq(t.out, "/mnt/s1\n");
	assert_contains(t_calls(&t), "Expose " S1P " [\"/mnt/s1\",{}]\n");
	ck_assert_int_eq(VSSCTL(&t, "expose", S2, "--device-only"), 0);
	ck_assert_str_eq(t.out, "/dev/mapper/vssd-s2\n");
	assert_contains(t_calls(&t), "Expose " S2P " [\"\",{}]\n");
	ck_assert_int_eq(VSSCTL(&t, "unexpose", S1), 0);
	assert_contains(t_calls(&t), "Unexpose " S1P " []\n");
	ck_assert_int_eq(VSSCTL(&t, "revert", "{" S2 "}"), 0); /* no terminal: no question */
	assert_contains(t_calls(&t), "Revert " S2P " [{}]\n");
	assert_contains(t.out, "Reverting " VOLB " to shadow copy " S2);
	ck_assert_int_eq(VSSCTL(&t, "query", "reverts"), 0);
	ck_assert_str_eq(t.out, "No reverts in progress.\n");
	t_done(&t);
}
END_TEST

static char *t_read_file(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "re");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

START_TEST(backup_runs_the_command_between_snapshot_and_complete)
{
	char env[256], script[512], base[256];
	T t;

	t_init(&t, &(FakeConfig){ 0 });
	snprintf(env, sizeof(env), "%s/env", t.dir);
	setenv("VSSD_BACKUP_DIR", t.dir, 1);
	snprintf(script, sizeof(script),
	         "echo \"$VSSD_SET_ID|$VSSD_SNAPSHOT_IDS|$VSSD_SNAPSHOT_DEVICES|"
	         "$VSSD_SNAPSHOT_MOUNTS\" > %s; exit 3",
	         env);
	ck_assert_int_eq(VSSCTL(&t, "backup", "--volume", VOLA, "--volume", VOLB, "--mount", "--",
	                        "sh", "-c", script),
	                 3); /* CMD's status */
	ck_assert_str_eq(t_members(&t), "StartSnapshotSet AddVolume AddVolume GatherWriterMetadata "
	                                "PrepareForBackup DoSnapshotSet GatherWriterStatus GetAll "
	                                "GetAll Expose Expose Unexpose Unexpose BackupComplete "
	                                "Release");
	assert_contains(t_calls(&t), "StartSnapshotSet " VSSD_ROOT_PATH
	                             " [{\"context\":\"backup\",\"backup-type\":\"full\"}]\n");
	assert_contains(t_calls(&t), "AddVolume " SETP " [\"" VOLA "\",\"\"]\n");
	assert_contains(t_calls(&t), "BackupComplete " SETP " [false]\n");
	snprintf(base, sizeof(base), "%s/vssd-backup-" SET, t.dir);
	/* VSSD_SNAPSHOT_MOUNTS: the fresh directories under the set's, in volume order */
	{
		char want[1024];

		snprintf(want, sizeof(want),
		         SET "|" S1 " " S2 "|" VOLA "=/dev/mapper/vssd-s1 " VOLB
		             "=/dev/mapper/vssd-s2|" VOLA "=%s/a-",
		         base);
		assert_contains(t_read_file(env), want);
		snprintf(want, sizeof(want), " " VOLB "=%s/b-", base);
		assert_contains(t_read_file(env), want);
	}
	ck_assert_int_eq(access(base, F_OK), -1); /* removed again */

	/* success, without --mount: no VSSD_SNAPSHOT_MOUNTS */
	ck_assert_int_eq(truncate(t.log_path, 0), 0);
	snprintf(script, sizeof(script), "echo \"${VSSD_SNAPSHOT_MOUNTS-unset}\" > %s", env);
	ck_assert_int_eq(VSSCTL(&t, "backup", "--volume", VOLA, "--type", "copy", "--no-writers",
	                        "sh", "-c", script),
	                 0);
	ck_assert_str_eq(t_read_file(env), "unset\n");
	assert_contains(t_calls(&t), "[{\"context\":\"backup\",\"backup-type\":\"copy\","
	                             "\"no-writers\":true}]\n");
	assert_contains(t_calls(&t), "BackupComplete " SETP " [true]\nRelease " SETP " []\n");
	ck_assert_str_eq(t.err, "");
	t_done(&t);
}
END_TEST

/* Without VSSD_BACKUP_DIR, backup --mount asks vssd for mount points of its own, which a
 * vssadmin member who is not root can use: no directory of vssctl's */
START_TEST(backup_mount_lets_vssd_choose)
{
	char env[256], script[512];
	T t;

	t_init(&t, &(FakeConfig){ 0 });
	snprintf(env, sizeof(env), "%s/env", t.dir);
	unsetenv("VSSD_BACKUP_DIR");
	snprintf(script, sizeof(script), "echo \"$VSSD_SNAPSHOT_MOUNTS\" > %s", env);
	ck_assert_int_eq(VSSCTL(&t, "backup", "--volume", VOLA, "--volume", VOLB, "--mount",
	                        "--no-writers", "--", "sh", "-c", script),
	                 0);
	assert_contains(t_calls(&t), "Expose " S1P " [\"\",{\"auto-mount-point\":true}]\n");
	assert_contains(t_calls(&t), "Expose " S2P " [\"\",{\"auto-mount-point\":true}]\n");
	ck_assert_str_eq(t_read_file(env),
	                 VOLA "=/run/vssd/expose/s1 " VOLB "=/run/vssd/expose/s2\n");
	assert_contains(t_calls(&t), "Unexpose " S2P " []\nUnexpose " S1P " []\n");
	t_done(&t);
}
END_TEST

START_TEST(backup_aborts_when_the_set_fails)
{
	T t;

	t_init(&t, &(FakeConfig){ .fail_member = "DoSnapshotSet",
	                          .fail_name = "org.vssd.ShadowCopy1.Error.WriterVeto",
	                          .fail_message = "VSS_E_WRITERERROR_RETRYABLE (0x800423F3): "
	                                          "writer PostgreSQL vetoed" });
	ck_assert_int_eq(VSSCTL(&t, "backup", "--volume", VOLA, "--", "sh", "-c", "exit 0"), 1);
	ck_assert_str_eq(t.err, "vssctl: VSS_E_WRITERERROR_RETRYABLE (0x800423F3): writer "
	                        "PostgreSQL vetoed\n");
	ck_assert_str_eq(t_members(&t), "StartSnapshotSet AddVolume GatherWriterMetadata "
	                                "PrepareForBackup DoSnapshotSet Abort Release");
	t_done(&t);
}
END_TEST

START_TEST(backup_reports_failed_writers_and_missing_commands)
{
	T t;

	t_init(&t, &(FakeConfig){ .failed_writer = true });
	ck_assert_int_eq(VSSCTL(&t, "backup", "--volume", VOLA, "--", "/nonexistent/cmd"), 127);
	assert_contains(t.err, "vssctl: warning: writer 'PostgreSQL' is in state [8] Failed at "
	                       "freeze: checkpoint failed\n");
	assert_contains(t.err, "vssctl: cannot run /nonexistent/cmd: No such file or directory\n");
	assert_contains(t_calls(&t), "BackupComplete " SETP " [false]\n");
	t_done(&t);
}
END_TEST

START_TEST(backup_passes_signals_on_and_aborts)
{
	T t;

	t_init(&t, &(FakeConfig){ 0 });
	/* CMD signals vssctl (its parent), then waits to be stopped */
	ck_assert_int_eq(VSSCTL(&t, "backup", "--volume", VOLA, "--", "sh", "-c",
	                        "kill -TERM $PPID; exec tail -f /dev/null"),
	                 128 + SIGTERM);
	assert_contains(t.err, "vssctl: got Terminated, aborting the backup\n");
	assert_contains(t_members(&t), "GetAll Abort Release");
	ck_assert_ptr_null(strstr(t_calls(&t), "BackupComplete"));
	t_done(&t);
}
END_TEST

/* --document FILE: the document after BackupComplete, written whole; a failure to get it fails
 * the backup (exit status) but the set is still released */
START_TEST(backup_writes_the_document)
{
	char file[128], leftover[160];
	struct stat st;
	T t;

	t_init(&t, &(FakeConfig){ 0 });
	snprintf(file, sizeof(file), "%s/doc.json", t.dir);
	ck_assert_int_eq(VSSCTL(&t, "backup", "--volume", VOLA, "--document", file, "--", "true"),
	                 0);
	ck_assert_str_eq(t.err, "");
	ck_assert_str_eq(t_read_file(file), "{\"format\":\"vssd-backup/1\"}\n");
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	assert_contains(t_members(&t), "BackupComplete GetBackupDocument Release");
	t_done(&t);

	t_init(&t, &(FakeConfig){ .fail_member = "GetBackupDocument",
	                          .fail_name = "org.vssd.ShadowCopy1.Error.BadState",
	                          .fail_message = "VSS_E_BAD_STATE (0x80042301): no" });
	snprintf(file, sizeof(file), "%s/doc2.json", t.dir);
	ck_assert_int_eq(VSSCTL(&t, "backup", "--volume", VOLA, "--document", file, "--", "true"),
	                 1);
	assert_contains(t.err, "VSS_E_BAD_STATE (0x80042301): no");
	assert_contains(t_members(&t), "BackupComplete GetBackupDocument Release");
	ck_assert_int_eq(access(file, F_OK), -1);
	snprintf(leftover, sizeof(leftover), "%s/doc2.json.tmp", t.dir);
	ck_assert_int_eq(access(leftover, F_OK), -1);
	t_done(&t);
}
END_TEST

/* --previous FILE: its text is the previous-document option; a file that cannot be read starts
 * nothing */
START_TEST(backup_passes_the_previous_document)
{
	char file[128];
	FILE *f;
	T t;

	t_init(&t, &(FakeConfig){ 0 });
	snprintf(file, sizeof(file), "%s/prev.json", t.dir);
	f = fopen(file, "we");
	ck_assert_ptr_nonnull(f);
	fputs("{\"format\":\"vssd-backup/1\"}", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(VSSCTL(&t, "backup", "--volume", VOLA, "--type", "incremental",
	                        "--previous", file, "--", "true"),
	                 0);
	/* (the fake logs strings as they are) */
	assert_contains(t_calls(&t), "\"backup-type\":\"incremental\",\"previous-document\":"
	                             "\"{\"format\":\"vssd-backup/1\"}\"}]");
	t_done(&t);

	t_init(&t, &(FakeConfig){ 0 });
	ck_assert_int_eq(VSSCTL(&t, "backup", "--volume", VOLA, "--previous", "/nonexistent/doc",
	                        "--", "true"),
	                 1);
	assert_contains(t.err,
	                "vssctl: cannot read the previous document /nonexistent/doc: No such "
	                "file or directory\n");
	ck_assert_ptr_null(strstr(t_calls(&t), "StartSnapshotSet"));
	t_done(&t);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("vssctl-bus",
	TEST(list_shadows_over_the_bus)
	TEST(list_verbs_call_the_manager)
	TEST(create_shadow_over_the_bus)
	TEST(daemon_errors_are_printed_as_they_are)
	TEST(vssd_not_running)
	TEST(call_timeout)
	TEST(delete_and_storage_and_volume_verbs)
	TEST(snapshot_verbs_over_the_bus)
	TEST(backup_runs_the_command_between_snapshot_and_complete)
	TEST(backup_mount_lets_vssd_choose)
	TEST(backup_aborts_when_the_set_fails)
	TEST(backup_reports_failed_writers_and_missing_commands)
	TEST(backup_passes_signals_on_and_aborts)
	TEST(backup_writes_the_document)
	TEST(backup_passes_the_previous_document)
)
/* clang-format on */
