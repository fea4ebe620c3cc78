/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-vss-writer.c - libvsswriter against a fake vssd on a private dbus-daemon */
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <syslog.h>

#include "client/libvsswriter/vss-writer.h"
#include "common/busmsg.h"
#include "common/macro.h"
#include "tests/lib/check-main.h"
#include "tests/lib/fake-vssd.h"

#define CLASS_ID "4C4F1A3E-7A0B-4C6D-9E21-5B8F0A1C2D3E"
#define SET_A    "6f1c2d3e-0000-4000-8000-00000000000a"
#define SET_B    "6f1c2d3e-0000-4000-8000-00000000000b"
#define WAIT     (5 * USEC_PER_SEC) /* for things that happen at once: generous, never reached */

/* What the handlers saw, one line per event, and what they should answer. */
typedef struct Recorder {
	char lines[64][256];
	unsigned n;
	unsigned n_thaw;
	const char *veto_event;      /* vetoes this event ... */
	enum vss_writer_error veto;  /* ... with vss_writer_veto() when non-zero */
	int fail;                    /* ... or by returning this */
	char log[8192];              /* every log line */
	struct vss_writer *unref_in; /* dropped inside the freeze handler */
} Recorder;

static void recorder_add(Recorder *rec, const char *fmt, ...) _printf_(2, 3);
static void recorder_add(Recorder *rec, const char *fmt, ...)
{
	va_list ap;

	if (rec->n >= ELEMENTSOF(rec->lines))
		return;
	va_start(ap, fmt);
	vsnprintf(rec->lines[rec->n++], sizeof(rec->lines[0]), fmt, ap);
	va_end(ap);
}

static void join(char *buf, size_t size, const char *const *l)
{
	buf[0] = 0;
	for (; l && *l; l++) {
		strncat(buf, " ", size - strlen(buf) - 1);
		strncat(buf, *l, size - strlen(buf) - 1);
	}
}

static int answer(struct vss_writer *w, Recorder *rec, const char *event)
{
	if (!rec->veto_event || !streq(rec->veto_event, event))
		return 0;
	if (rec->veto)
		return vss_writer_veto(w, rec->veto, "%s refused: %s", event, "db busy");
	return rec->fail;
}

static int on_prepare_backup(struct vss_writer *w, const char *set_id, const char *backup_type,
                             const char *context, const char *const *components, void *userdata)
{
	char l[200];

	join(l, sizeof(l), components);
	recorder_add(userdata, "prepare-backup %s %s %s%s", set_id, backup_type, context, l);
	return answer(w, userdata, "prepare-backup");
}

static int on_prepare_snapshot(struct vss_writer *w, const char *set_id, const char *const *volumes,
                               void *userdata)
{
	char l[200];

	join(l, sizeof(l), volumes);
	recorder_add(userdata, "prepare-snapshot %s%s", set_id, l);
	return answer(w, userdata, "prepare-snapshot");
}

static int on_freeze(struct vss_writer *w, const char *set_id, void *userdata)
{
	Recorder *rec = userdata;

	recorder_add(rec, "freeze %s", set_id);
	if (rec->unref_in)
		vss_writer_unref(TAKE_PTR(rec->unref_in));
	return answer(w, rec, "freeze");
}

static int on_thaw(struct vss_writer *w, const char *set_id, void *userdata)
{
	Recorder *rec = userdata;

	rec->n_thaw++;
	recorder_add(rec, "thaw %s", set_id);
	return answer(w, rec, "thaw");
}

static int on_post_snapshot(struct vss_writer *w, const char *set_id, const char *const *volumes,
                            const char *const *devices, void *userdata)
{
	char l[200] = "";

	for (size_t i = 0; volumes[i]; i++) {
		ck_assert_ptr_nonnull(devices[i]);
		snprintf(l + strlen(l), sizeof(l) - strlen(l), " %s=%s", volumes[i], devices[i]);
	}
	recorder_add(userdata, "post-snapshot %s%s", set_id, l);
	return answer(w, userdata, "post-snapshot");
}

static int on_abort(struct vss_writer *w, const char *set_id, void *userdata)
{
	recorder_add(userdata, "abort %s", set_id);
	return answer(w, userdata, "abort");
}

static int on_backup_complete(struct vss_writer *w, const char *set_id, bool success,
                              void *userdata)
{
	recorder_add(userdata, "backup-complete %s %s", set_id, success ? "true" : "false");
	return answer(w, userdata, "backup-complete");
}

static int on_backup_shutdown(struct vss_writer *w, const char *set_id, void *userdata)
{
	recorder_add(userdata, "backup-shutdown %s", set_id);
	return answer(w, userdata, "backup-shutdown");
}

static const struct vss_writer_handlers handlers = {
	.prepare_backup = on_prepare_backup,
	.prepare_snapshot = on_prepare_snapshot,
	.freeze = on_freeze,
	.thaw = on_thaw,
	.post_snapshot = on_post_snapshot,
	.abort = on_abort,
	.backup_complete = on_backup_complete,
	.backup_shutdown = on_backup_shutdown,
};

static void on_log(struct vss_writer *w, int priority, const char *message, void *userdata)
{
	Recorder *rec = userdata;
	size_t n = strlen(rec->log);

	snprintf(rec->log + n, sizeof(rec->log) - n, "<%d>%s\n", priority, message);
}

static int writer_dispatch(void *userdata)
{
	return vss_writer_dispatch(userdata);
}

DEFINE_POINTER_CLEANUP(writer_unrefp, struct vss_writer *, vss_writer_unref)
DEFINE_POINTER_CLEANUP(message_unrefp, DBusMessage *, dbus_message_unref)

/* One test's world: a bus, a fake vssd, a started writer with the recording handlers. */
typedef struct World {
	FakeBus *bus;
	FakeVssd *vssd;
	struct vss_writer *w;
	Recorder rec;
} World;

static void world_done(World *t)
{
	t->w = vss_writer_unref(t->w);
	t->vssd = fake_vssd_free(t->vssd);
	t->bus = fake_bus_free(t->bus);
}

static void world_writer(World *t)
{
	ck_assert_int_eq(vss_writer_new("testdb", CLASS_ID, &t->w), 0);
	ck_assert_int_eq(vss_writer_set_handlers(t->w, &handlers, sizeof(handlers), &t->rec), 0);
	ck_assert_int_eq(vss_writer_set_log_fn(t->w, on_log, &t->rec), 0);
	ck_assert_int_eq(vss_writer_set_bus_address(t->w, fake_bus_address(t->bus)), 0);
}

/* bus + vssd + writer, registered */
static void world_start(World *t, uint32_t freeze_timeout_msec)
{
	ck_assert_int_eq(fake_bus_start(&t->bus), 0);
	ck_assert_int_eq(fake_vssd_new(fake_bus_address(t->bus), true, &t->vssd), 0);
	world_writer(t);
	if (freeze_timeout_msec)
		ck_assert_int_eq(vss_writer_set_freeze_timeout(t->w, freeze_timeout_msec), 0);
	ck_assert_int_eq(vss_writer_start(t->w), 0);
	fake_vssd_set_peer(t->vssd, vss_writer_get_fd(t->w), writer_dispatch, t->w);
	ck_assert(fake_vssd_wait_registered(t->vssd, 1, WAIT));
}

static DBusMessage *call_set(World *t, const char *method, const char *set)
{
	return fake_vssd_call(t->vssd, method, DBUS_TYPE_STRING, &set, DBUS_TYPE_INVALID);
}

static void assert_ok(DBusMessage *reply)
{
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(fake_reply_error(reply), "");
	dbus_message_unref(reply);
}

static bool instance_id_cond(void *data)
{
	return vss_writer_get_instance_id(data) != NULL;
}

START_TEST(registers_with_info)
{
	_cleanup_(world_done) World t = { 0 };
	_cleanup_free_ char *info = NULL;
	const char *const db_paths[] = { "/var/lib/testdb", "/var/log/testdb", NULL };
	const char *const cfg_paths[] = { "/etc/testdb", NULL };

	ck_assert_int_eq(fake_bus_start(&t.bus), 0);
	ck_assert_int_eq(fake_vssd_new(fake_bus_address(t.bus), true, &t.vssd), 0);
	world_writer(&t);
	ck_assert_int_eq(vss_writer_set_instance_name(t.w, "main"), 0);
	ck_assert_int_eq(vss_writer_set_usage(t.w, VSS_WRITER_USAGE_SYSTEM_SERVICE), 0);
	ck_assert_int_eq(vss_writer_set_freeze_timeout(t.w, 20000), 0);
	ck_assert_int_eq(vss_writer_add_component(t.w, "data", db_paths), 0);
	ck_assert_int_eq(vss_writer_add_component(t.w, "config", cfg_paths), 0);
	ck_assert_ptr_null(vss_writer_get_instance_id(t.w));
	ck_assert_int_eq(vss_writer_start(t.w), 0);
	fake_vssd_set_peer(t.vssd, vss_writer_get_fd(t.w), writer_dispatch, t.w);

	ck_assert(fake_vssd_wait_registered(t.vssd, 1, WAIT));
	info = fake_render_args(t.vssd->last_register);
	ck_assert_str_eq(info,
	                 "'/org/vssd/ShadowCopy1/Writer' {'name': 'testdb', 'class-id': "
	                 "'4c4f1a3e-7a0b-4c6d-9e21-5b8f0a1c2d3e', 'instance-name': 'main', "
	                 "'usage': 'system-service', 'freeze-timeout-ms': <uint32 20000>, "
	                 "'components': [{'name': 'data', 'paths': ['/var/lib/testdb', "
	                 "'/var/log/testdb']}, {'name': 'config', 'paths': ['/etc/testdb']}]}");
	ck_assert(!dbus_message_get_auto_start(t.vssd->last_register));
	ck_assert(fake_vssd_wait(t.vssd, instance_id_cond, t.w, WAIT));
	ck_assert_str_eq(vss_writer_get_instance_id(t.w), t.vssd->instance_id);
	ck_assert_ptr_nonnull(strstr(t.rec.log, "registered with vssd as writer instance"));
	ck_assert_uint_eq(t.vssd->n_register, 1);
}
END_TEST

START_TEST(identify_answers_from_registered_info)
{
	_cleanup_(world_done) World t = { 0 };
	_cleanup_(message_unrefp) DBusMessage *reply = NULL;
	_cleanup_free_ char *info = NULL;

	world_start(&t, 0);
	reply = fake_vssd_call(t.vssd, "Identify", DBUS_TYPE_INVALID);
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(fake_reply_error(reply), "");
	info = fake_render_args(reply);
	ck_assert_str_eq(info,
	                 "{'name': 'testdb', 'class-id': '4c4f1a3e-7a0b-4c6d-9e21-5b8f0a1c2d3e', "
	                 "'usage': 'user-data', 'components': []}");
	ck_assert_uint_eq(t.rec.n, 0); /* no handler involved */
}
END_TEST

/* The metadata model (LIBVSSWRITER_1.1): what is set is sent, at registration and in Identify */
static void add_model(struct vss_writer *w)
{
	const char *const db_paths[] = { "/var/lib/testdb", NULL };

	ck_assert_int_eq(vss_writer_add_component_ex(w, VSS_WRITER_COMPONENT_DATABASE, "Databases",
	                                             "main", "Main database", true, db_paths),
	                 0);
	ck_assert_int_eq(vss_writer_component_add_file(w, "main", "/var/lib/testdb", "*.db", false,
	                                               NULL, VSS_WRITER_FILE_DATABASE),
	                 0);
	ck_assert_int_eq(vss_writer_component_add_file(w, "main", "/var/lib/testdb/wal", NULL,
	                                               false, NULL, VSS_WRITER_FILE_LOG),
	                 0);
	ck_assert_int_eq(vss_writer_component_add_dependency(w, "main", "System\\registry"), 0);
	ck_assert_int_eq(vss_writer_add_component_ex(w, VSS_WRITER_COMPONENT_FILEGROUP, NULL,
	                                             "config", NULL, false, NULL),
	                 0);
	ck_assert_int_eq(vss_writer_component_add_file(w, "config", "/etc/testdb", NULL, true,
	                                               "/etc/testdb.restored",
	                                               VSS_WRITER_FILE_PLAIN),
	                 0);
	ck_assert_int_eq(vss_writer_add_exclude_files(w, "/var/lib/testdb", "*.tmp", true), 0);
	ck_assert_int_eq(vss_writer_add_alternate_location_mapping(w, "/etc/testdb", "*", false,
	                                                           "/srv/elsewhere"),
	                 0);
	ck_assert_int_eq(vss_writer_set_restore_method(w, VSS_WRITER_RESTORE_STOP_RESTORE_START,
	                                               "testdb.service",
	                                               VSS_WRITER_RESTORE_EVENTS_ALWAYS, false),
	                 0);
	ck_assert_int_eq(vss_writer_set_backup_schema(w, VSS_WRITER_SCHEMA_INCREMENTAL |
	                                                         VSS_WRITER_SCHEMA_LSN),
	                 0);
}

#define MODEL_RENDERED                                                                         \
	"'components': [{'name': 'main', 'paths': ['/var/lib/testdb'], 'logical-path': "       \
	"'Databases', 'type': 'database', 'caption': 'Main database', 'files': [{'path': "     \
	"'/var/lib/testdb', 'filespec': '*.db', 'kind': 'database'}, {'path': "                \
	"'/var/lib/testdb/wal', 'kind': 'log'}], 'dependencies': ['System\\registry']}, "      \
	"{'name': 'config', 'paths': [], 'selectable': false, 'files': [{'path': "             \
	"'/etc/testdb', 'recursive': true, 'alternate-path': '/etc/testdb.restored', 'kind': " \
	"'file'}]}], 'exclude-files': [{'path': '/var/lib/testdb', 'filespec': '*.tmp', "      \
	"'recursive': true}], 'restore-method': {'method': 'stop-restore-start', 'service': "  \
	"'testdb.service', 'writer-restore': 'always', 'reboot-required': false}, "            \
	"'alternate-location-mappings': [{'path': '/etc/testdb', 'filespec': '*', "            \
	"'alternate-path': '/srv/elsewhere'}], 'backup-schema': ['incremental', 'lsn']}"

START_TEST(registers_and_identifies_with_the_model)
{
	_cleanup_(world_done) World t = { 0 };
	_cleanup_(message_unrefp) DBusMessage *reply = NULL;
	_cleanup_free_ char *info = NULL, *ident = NULL;

	ck_assert_int_eq(fake_bus_start(&t.bus), 0);
	ck_assert_int_eq(fake_vssd_new(fake_bus_address(t.bus), true, &t.vssd), 0);
	world_writer(&t);
	add_model(t.w);
	ck_assert_int_eq(vss_writer_start(t.w), 0);
	fake_vssd_set_peer(t.vssd, vss_writer_get_fd(t.w), writer_dispatch, t.w);
	ck_assert(fake_vssd_wait_registered(t.vssd, 1, WAIT));
	info = fake_render_args(t.vssd->last_register);
	ck_assert_str_eq(info, "'/org/vssd/ShadowCopy1/Writer' {'name': 'testdb', 'class-id': "
	                       "'4c4f1a3e-7a0b-4c6d-9e21-5b8f0a1c2d3e', 'usage': 'user-data', "
	                       "'freeze-timeout-ms': <uint32 60000>, " MODEL_RENDERED);
	reply = fake_vssd_call(t.vssd, "Identify", DBUS_TYPE_INVALID);
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(fake_reply_error(reply), "");
	ident = fake_render_args(reply);
	ck_assert_str_eq(
		ident,
		"{'name': 'testdb', 'class-id': "
		"'4c4f1a3e-7a0b-4c6d-9e21-5b8f0a1c2d3e', 'usage': 'user-data', " MODEL_RENDERED);
	/* set once started: refused, nothing changes */
	ck_assert_int_eq(vss_writer_set_backup_schema(t.w, 0), -EBUSY);
	ck_assert_int_eq(vss_writer_add_exclude_files(t.w, "/x", NULL, false), -EBUSY);
}
END_TEST

/* The model's setters check what vssd checks */
START_TEST(model_setters_check_their_arguments)
{
	struct vss_writer *w = NULL;
	const char *const paths[] = { "/srv", NULL };
	char long_text[300];

	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = 0;
	ck_assert_int_eq(vss_writer_new("testdb", CLASS_ID, &w), 0);
	ck_assert_int_eq(vss_writer_add_component_ex(w, (enum vss_writer_component_type)2, NULL,
	                                             "c", NULL, true, paths),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_add_component_ex(w, VSS_WRITER_COMPONENT_DATABASE, "a\nb", "c",
	                                             NULL, true, paths),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_add_component_ex(w, VSS_WRITER_COMPONENT_DATABASE, NULL, "c",
	                                             long_text, true, paths),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_add_component_ex(w, VSS_WRITER_COMPONENT_DATABASE, NULL, "db",
	                                             NULL, true, NULL),
	                 0);
	ck_assert_int_eq(vss_writer_add_component_ex(w, VSS_WRITER_COMPONENT_DATABASE, NULL, "db",
	                                             NULL, true, NULL),
	                 -EEXIST);
	ck_assert_int_eq(vss_writer_add_component(w, "files", paths), 0);
	/* files: where, which kind, what a database may have */
	ck_assert_int_eq(vss_writer_component_add_file(w, "nope", "/srv", NULL, false, NULL,
	                                               VSS_WRITER_FILE_PLAIN),
	                 -ENOENT);
	ck_assert_int_eq(vss_writer_component_add_file(w, "files", "srv", NULL, false, NULL,
	                                               VSS_WRITER_FILE_PLAIN),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_component_add_file(w, "files", "/srv", "a/b", false, NULL,
	                                               VSS_WRITER_FILE_PLAIN),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_component_add_file(w, "files", "/srv", NULL, false, "rel",
	                                               VSS_WRITER_FILE_PLAIN),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_component_add_file(w, "files", "/srv", NULL, false, NULL,
	                                               VSS_WRITER_FILE_LOG),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_component_add_file(w, "db", "/srv", NULL, false, NULL,
	                                               VSS_WRITER_FILE_PLAIN),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_component_add_file(w, "db", "/srv", NULL, true, NULL,
	                                               VSS_WRITER_FILE_LOG),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_component_add_file(w, "db", "/srv", NULL, false, "/alt",
	                                               VSS_WRITER_FILE_DATABASE),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_component_add_file(w, "db", "/srv", NULL, false, NULL,
	                                               (enum vss_writer_file_kind)3),
	                 -EINVAL);
	for (int i = 0; i < 256; i++)
		ck_assert_int_eq(vss_writer_component_add_file(w, "db", "/srv", NULL, false, NULL,
		                                               VSS_WRITER_FILE_LOG),
		                 0);
	ck_assert_int_eq(vss_writer_component_add_file(w, "db", "/srv", NULL, false, NULL,
	                                               VSS_WRITER_FILE_LOG),
	                 -E2BIG);
	/* dependencies */
	ck_assert_int_eq(vss_writer_component_add_dependency(w, "db", ""), -EINVAL);
	ck_assert_int_eq(vss_writer_component_add_dependency(w, "nope", "X"), -ENOENT);
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(vss_writer_component_add_dependency(w, "db", "X"), 0);
	ck_assert_int_eq(vss_writer_component_add_dependency(w, "db", "X"), -E2BIG);
	/* writer-wide */
	ck_assert_int_eq(vss_writer_add_exclude_files(w, "relative", NULL, false), -EINVAL);
	ck_assert_int_eq(vss_writer_add_alternate_location_mapping(w, "/a", NULL, false, NULL),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_set_restore_method(w, (enum vss_writer_restore_method)0, NULL,
	                                               VSS_WRITER_RESTORE_EVENTS_NEVER, false),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_set_restore_method(w, (enum vss_writer_restore_method)9, NULL,
	                                               VSS_WRITER_RESTORE_EVENTS_NEVER, false),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_set_restore_method(w, VSS_WRITER_RESTORE_CUSTOM, NULL,
	                                               (enum vss_writer_restore_events)0, false),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_set_restore_method(w, VSS_WRITER_RESTORE_RESTORE_STOP_START,
	                                               NULL, VSS_WRITER_RESTORE_EVENTS_NEVER,
	                                               false),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_set_restore_method(w, VSS_WRITER_RESTORE_CUSTOM, "a\tb",
	                                               VSS_WRITER_RESTORE_EVENTS_NEVER, false),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_set_restore_method(w, VSS_WRITER_RESTORE_IF_CAN_REPLACE, NULL,
	                                               VSS_WRITER_RESTORE_EVENTS_NEVER, true),
	                 0);
	ck_assert_int_eq(vss_writer_set_backup_schema(w, 0x800), -EINVAL); /* no such bit */
	ck_assert_int_eq(vss_writer_set_backup_schema(w, 0x10000), -EINVAL);
	ck_assert_int_eq(vss_writer_set_backup_schema(w, 0xF7FF), 0);
	ck_assert_int_eq(vss_writer_set_backup_schema(NULL, 0), -EINVAL);
	vss_writer_unref(w);
}
END_TEST

static DBusMessage *prepare_backup_call(World *t)
{
	DBusMessage *m = fake_vssd_new_call(t->vssd, "PrepareForBackup");
	DBusMessageIter it, d, e, v, a, c, ce, cv;
	const char *k_set = "set", *set = SET_A, *k_type = "backup-type", *type = "copy";
	const char *k_comp = "components", *k_name = "name", *k_future = "future-key";
	const char *names[] = { "data", "config" };
	dbus_uint32_t future = 7;

	ck_assert_ptr_nonnull(m);
	dbus_message_iter_init_append(m, &it);
	ck_assert(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &d));
	/* set */
	ck_assert(dbus_message_iter_open_container(&d, DBUS_TYPE_DICT_ENTRY, NULL, &e));
	ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &k_set));
	ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "s", &v));
	ck_assert(dbus_message_iter_append_basic(&v, DBUS_TYPE_STRING, &set));
	ck_assert(dbus_message_iter_close_container(&e, &v));
	ck_assert(dbus_message_iter_close_container(&d, &e));
	/* backup-type */
	ck_assert(dbus_message_iter_open_container(&d, DBUS_TYPE_DICT_ENTRY, NULL, &e));
	ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &k_type));
	ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "s", &v));
	ck_assert(dbus_message_iter_append_basic(&v, DBUS_TYPE_STRING, &type));
	ck_assert(dbus_message_iter_close_container(&e, &v));
	ck_assert(dbus_message_iter_close_container(&d, &e));
	/* an unknown key is skipped */
	ck_assert(dbus_message_iter_open_container(&d, DBUS_TYPE_DICT_ENTRY, NULL, &e));
	ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &k_future));
	ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "u", &v));
	ck_assert(dbus_message_iter_append_basic(&v, DBUS_TYPE_UINT32, &future));
	ck_assert(dbus_message_iter_close_container(&e, &v));
	ck_assert(dbus_message_iter_close_container(&d, &e));
	/* components */
	ck_assert(dbus_message_iter_open_container(&d, DBUS_TYPE_DICT_ENTRY, NULL, &e));
	ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &k_comp));
	ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "aa{sv}", &v));
	ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a));
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		ck_assert(dbus_message_iter_open_container(&a, DBUS_TYPE_ARRAY, "{sv}", &c));
		ck_assert(dbus_message_iter_open_container(&c, DBUS_TYPE_DICT_ENTRY, NULL, &ce));
		ck_assert(dbus_message_iter_append_basic(&ce, DBUS_TYPE_STRING, &k_name));
		ck_assert(dbus_message_iter_open_container(&ce, DBUS_TYPE_VARIANT, "s", &cv));
		ck_assert(dbus_message_iter_append_basic(&cv, DBUS_TYPE_STRING, &names[i]));
		ck_assert(dbus_message_iter_close_container(&ce, &cv));
		ck_assert(dbus_message_iter_close_container(&c, &ce));
		ck_assert(dbus_message_iter_close_container(&a, &c));
	}
	ck_assert(dbus_message_iter_close_container(&v, &a));
	ck_assert(dbus_message_iter_close_container(&e, &v));
	ck_assert(dbus_message_iter_close_container(&d, &e));
	ck_assert(dbus_message_iter_close_container(&it, &d));
	return m;
}

static DBusMessage *post_snapshot_call(World *t)
{
	DBusMessage *m = fake_vssd_new_call(t->vssd, "PostSnapshot");
	const char *set = SET_A;
	const char *pairs[][2] = { { "/dev/mapper/data", "/dev/mapper/vssd-snap1" },
		                   { "/dev/mapper/logs", "/dev/mapper/vssd-snap2" } };
	DBusMessageIter it, a, e;

	ck_assert_ptr_nonnull(m);
	dbus_message_iter_init_append(m, &it);
	ck_assert(dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &set));
	ck_assert(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{ss}", &a));
	for (size_t i = 0; i < ELEMENTSOF(pairs); i++) {
		ck_assert(dbus_message_iter_open_container(&a, DBUS_TYPE_DICT_ENTRY, NULL, &e));
		ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &pairs[i][0]));
		ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &pairs[i][1]));
		ck_assert(dbus_message_iter_close_container(&a, &e));
	}
	ck_assert(dbus_message_iter_close_container(&it, &a));
	return m;
}

START_TEST(every_event_reaches_its_handler)
{
	_cleanup_(world_done) World t = { 0 };
	const char *set = SET_A, *vols[] = { "/dev/mapper/data", "/dev/mapper/logs" };
	const char **pvols = vols;
	dbus_bool_t success = TRUE;
	static const char *const want[] = {
		"prepare-backup " SET_A " copy backup data config",
		"prepare-snapshot " SET_A " /dev/mapper/data /dev/mapper/logs",
		"freeze " SET_A,
		"thaw " SET_A,
		"post-snapshot " SET_A " /dev/mapper/data=/dev/mapper/vssd-snap1 "
		"/dev/mapper/logs=/dev/mapper/vssd-snap2",
		"backup-complete " SET_A " true",
		"abort " SET_A,
		"backup-shutdown " SET_A,
	};

	world_start(&t, 0);
	assert_ok(fake_vssd_send(t.vssd, prepare_backup_call(&t)));
	assert_ok(fake_vssd_call(t.vssd, "PrepareForSnapshot", DBUS_TYPE_STRING, &set,
	                         DBUS_TYPE_ARRAY, DBUS_TYPE_STRING, &pvols, (int)ELEMENTSOF(vols),
	                         DBUS_TYPE_INVALID));
	assert_ok(call_set(&t, "Freeze", SET_A));
	assert_ok(call_set(&t, "Thaw", SET_A));
	assert_ok(fake_vssd_send(t.vssd, post_snapshot_call(&t)));
	assert_ok(fake_vssd_call(t.vssd, "BackupComplete", DBUS_TYPE_STRING, &set,
	                         DBUS_TYPE_BOOLEAN, &success, DBUS_TYPE_INVALID));
	assert_ok(call_set(&t, "Abort", SET_A));
	assert_ok(call_set(&t, "BackupShutdown", SET_A));

	ck_assert_uint_eq(t.rec.n, ELEMENTSOF(want));
	for (size_t i = 0; i < ELEMENTSOF(want); i++)
		ck_assert_str_eq(t.rec.lines[i], want[i]);
}
END_TEST

START_TEST(veto_becomes_the_writer_error)
{
	static const struct {
		enum vss_writer_error code;
		int fail;
		const char *name;
		const char *message;
	} cases[] = {
		{ VSS_WRITER_ERROR_RETRYABLE, 0, "Retryable", "freeze refused: db busy" },
		{ VSS_WRITER_ERROR_NON_RETRYABLE, 0, "NonRetryable", "freeze refused: db busy" },
		{ VSS_WRITER_ERROR_OUT_OF_RESOURCES, 0, "OutOfResources",
		  "freeze refused: db busy" },
		{ VSS_WRITER_ERROR_INCONSISTENT_SNAPSHOT, 0, "InconsistentSnapshot",
		  "freeze refused: db busy" },
		{ VSS_WRITER_ERROR_TIMEOUT, 0, "Timeout", "freeze refused: db busy" },
		{ 0, -ENOMEM, "OutOfResources", "Cannot allocate memory" },
		{ 0, -ETIMEDOUT, "Timeout", "Connection timed out" },
		{ 0, -EIO, "Retryable", "Input/output error" },
	};
	_cleanup_(world_done) World t = { 0 };

	world_start(&t, 0);
	t.rec.veto_event = "freeze";
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(message_unrefp) DBusMessage *reply = NULL;
		char name[128];

		t.rec.veto = cases[i].code;
		t.rec.fail = cases[i].fail;
		reply = call_set(&t, "Freeze", SET_A);
		snprintf(name, sizeof(name), "org.vssd.ShadowCopy1.Writer.Error.%s", cases[i].name);
		ck_assert_str_eq(fake_reply_error(reply), name);
		ck_assert_str_eq(fake_reply_message(reply), cases[i].message);
	}
	/* a vetoed freeze leaves the writer thawed: a later freeze works and no safety thaw ran */
	t.rec.veto_event = NULL;
	assert_ok(call_set(&t, "Freeze", SET_A));
	assert_ok(call_set(&t, "Thaw", SET_A));
	ck_assert_uint_eq(t.rec.n_thaw, 1);
	ck_assert_ptr_nonnull(
		strstr(t.rec.log, "vetoed Freeze: Retryable: freeze refused: db busy"));
}
END_TEST

static bool thawed_cond(void *data)
{
	return ((Recorder *)data)->n_thaw > 0;
}

START_TEST(freeze_timeout_thaws_without_thaw)
{
	_cleanup_(world_done) World t = { 0 };
	_cleanup_(message_unrefp) DBusMessage *late = NULL;
	uint64_t timeout;
	usec_t frozen_at, elapsed;

	world_start(&t, 200);
	frozen_at = now_usec(CLOCK_MONOTONIC); /* before the writer can start its clock */
	assert_ok(call_set(&t, "Freeze", SET_A));
	ck_assert_int_eq(vss_writer_get_timeout_usec(t.w, &timeout), 0);
	/* UINT64_MAX: under load, the window may have expired (and thawed) before this look */
	if (timeout != UINT64_MAX)
		ck_assert_uint_le(timeout, 200 * USEC_PER_MSEC);

	/* the one test that waits on real time: nobody sends Thaw */
	ck_assert(fake_vssd_wait(t.vssd, thawed_cond, &t.rec, 5 * USEC_PER_SEC));
	elapsed = now_usec(CLOCK_MONOTONIC) - frozen_at;
	ck_assert_uint_ge(elapsed, 200 * USEC_PER_MSEC);
	ck_assert_str_eq(t.rec.lines[t.rec.n - 1], "thaw " SET_A);
	ck_assert_ptr_nonnull(strstr(t.rec.log, "no Thaw or Abort within the freeze timeout"));

	/* the late Thaw learns that the window expired; the handler does not run again */
	late = call_set(&t, "Thaw", SET_A);
	ck_assert_str_eq(fake_reply_error(late), "org.vssd.ShadowCopy1.Writer.Error.Timeout");
	ck_assert_uint_eq(t.rec.n_thaw, 1);
	/* Abort still reaches the application, and a new freeze works */
	assert_ok(call_set(&t, "Abort", SET_A));
	assert_ok(call_set(&t, "Freeze", SET_B));
	assert_ok(call_set(&t, "Thaw", SET_B));
	ck_assert_uint_eq(t.rec.n_thaw, 2);
}
END_TEST

START_TEST(registers_again_when_vssd_comes_back)
{
	_cleanup_(world_done) World t = { 0 };
	_cleanup_(fake_vssd_freep) FakeVssd *second = NULL;

	world_start(&t, 0);
	/* same connection releases and takes the name again */
	ck_assert_int_eq(fake_vssd_reown(t.vssd), 0);
	ck_assert(fake_vssd_wait_registered(t.vssd, 2, WAIT));

	/* vssd exits, another one starts */
	t.vssd = fake_vssd_free(t.vssd);
	ck_assert_int_eq(fake_vssd_new(fake_bus_address(t.bus), true, &second), 0);
	fake_vssd_set_peer(second, vss_writer_get_fd(t.w), writer_dispatch, t.w);
	ck_assert(fake_vssd_wait_registered(second, 1, WAIT));
	ck_assert(fake_vssd_wait(second, instance_id_cond, t.w, WAIT));
	ck_assert_str_eq(vss_writer_get_instance_id(t.w), second->instance_id);
	ck_assert_ptr_nonnull(strstr(t.rec.log, "left the bus"));
	/* the new vssd may drive the writer */
	t.vssd = TAKE_PTR(second);
	assert_ok(call_set(&t, "Freeze", SET_A));
	assert_ok(call_set(&t, "Thaw", SET_A));
}
END_TEST

START_TEST(starts_before_vssd)
{
	_cleanup_(world_done) World t = { 0 };

	ck_assert_int_eq(fake_bus_start(&t.bus), 0);
	world_writer(&t);
	ck_assert_int_eq(vss_writer_start(t.w), 0);
	ck_assert_int_eq(vss_writer_start(t.w), -EALREADY);
	/* let the writer learn that nobody owns the name */
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(vss_writer_dispatch(t.w), 0);
	ck_assert_int_eq(fake_vssd_new(fake_bus_address(t.bus), true, &t.vssd), 0);
	fake_vssd_set_peer(t.vssd, vss_writer_get_fd(t.w), writer_dispatch, t.w);
	ck_assert(fake_vssd_wait_registered(t.vssd, 1, WAIT));
}
END_TEST

START_TEST(thaws_when_vssd_leaves_while_frozen)
{
	_cleanup_(world_done) World t = { 0 };
	_cleanup_(fake_vssd_freep) FakeVssd *watcher = NULL;

	world_start(&t, 0); /* 60 s freeze timeout: only vssd's departure can thaw */
	assert_ok(call_set(&t, "Freeze", SET_A));
	ck_assert_int_eq(fake_vssd_new(fake_bus_address(t.bus), false, &watcher), 0);
	fake_vssd_set_peer(watcher, vss_writer_get_fd(t.w), writer_dispatch, t.w);
	t.vssd = fake_vssd_free(t.vssd);
	ck_assert(fake_vssd_wait(watcher, thawed_cond, &t.rec, WAIT));
	ck_assert_ptr_nonnull(strstr(t.rec.log, "vssd left the bus while frozen, thawing"));
}
END_TEST

START_TEST(thaws_when_the_bus_drops_while_frozen)
{
	_cleanup_(world_done) World t = { 0 };

	world_start(&t, 0);
	assert_ok(call_set(&t, "Freeze", SET_A));
	fake_bus_kill(t.bus);
	ck_assert(fake_vssd_wait(t.vssd, thawed_cond, &t.rec, WAIT));
	ck_assert_int_eq(t.vssd->peer_error, -ECONNRESET);
	ck_assert_int_eq(vss_writer_dispatch(t.w), -ECONNRESET);
	ck_assert_ptr_nonnull(strstr(t.rec.log, "lost the bus connection while frozen, thawing"));
	ck_assert_ptr_null(vss_writer_get_instance_id(t.w));
}
END_TEST

START_TEST(unref_while_frozen_thaws)
{
	_cleanup_(world_done) World t = { 0 };

	world_start(&t, 0);
	assert_ok(call_set(&t, "Freeze", SET_A));
	t.w = vss_writer_unref(t.w);
	ck_assert_uint_eq(t.rec.n_thaw, 1);
	ck_assert_str_eq(t.rec.lines[t.rec.n - 1], "thaw " SET_A);
}
END_TEST

START_TEST(handler_may_drop_the_last_reference)
{
	_cleanup_(world_done) World t = { 0 };
	_cleanup_(message_unrefp) DBusMessage *reply = NULL;

	world_start(&t, 0);
	t.rec.unref_in = TAKE_PTR(t.w); /* the handler owns the only reference now */
	t.vssd->peer_dispatch = NULL;   /* the handle dies inside this dispatch */
	reply = fake_vssd_new_call(t.vssd, "Freeze");
	ck_assert_ptr_nonnull(reply);
	{
		const char *set = SET_A;
		struct vss_writer *w = t.rec.unref_in;

		ck_assert(
			dbus_message_append_args(reply, DBUS_TYPE_STRING, &set, DBUS_TYPE_INVALID));
		ck_assert(dbus_connection_send(t.vssd->conn, reply, NULL));
		dbus_connection_flush(t.vssd->conn);
		for (int i = 0; i < 100 && t.rec.unref_in; i++) {
			struct pollfd p = { .fd = vss_writer_get_fd(w), .events = POLLIN };

			(void)poll(&p, 1, 50);
			ck_assert_int_eq(vss_writer_dispatch(w), 0);
		}
	}
	ck_assert_ptr_null(t.rec.unref_in);
	/* freed after the freeze succeeded: the release thawed it */
	ck_assert_uint_eq(t.rec.n_thaw, 1);
}
END_TEST

START_TEST(refuses_callers_other_than_vssd)
{
	_cleanup_(world_done) World t = { 0 };
	_cleanup_(fake_vssd_freep) FakeVssd *stranger = NULL;
	_cleanup_(message_unrefp) DBusMessage *reply = NULL;
	const char *set = SET_A;

	world_start(&t, 0);
	ck_assert_int_eq(fake_vssd_new(fake_bus_address(t.bus), false, &stranger), 0);
	fake_vssd_set_peer(stranger, vss_writer_get_fd(t.w), writer_dispatch, t.w);
	stranger->writer = strdup(t.vssd->writer);
	stranger->writer_path = strdup(t.vssd->writer_path);
	reply = fake_vssd_call(stranger, "Freeze", DBUS_TYPE_STRING, &set, DBUS_TYPE_INVALID);
	ck_assert_str_eq(fake_reply_error(reply), DBUS_ERROR_ACCESS_DENIED);
	ck_assert_uint_eq(t.rec.n, 0);
	dbus_message_unref(TAKE_PTR(reply));
	/* introspection is for everybody */
	reply = fake_vssd_send(stranger, dbus_message_new_method_call(
						 t.vssd->writer, t.vssd->writer_path,
						 DBUS_INTERFACE_INTROSPECTABLE, "Introspect"));
	ck_assert_str_eq(fake_reply_error(reply), "");
}
END_TEST

START_TEST(rejects_bad_arguments)
{
	_cleanup_(world_done) World t = { 0 };
	_cleanup_(message_unrefp) DBusMessage *reply = NULL;
	const char *const rel[] = { "relative/path", NULL }, *const ok[] = { "/srv", NULL };
	const char *const none[] = { NULL };
	struct vss_writer *w = NULL;
	dbus_uint32_t n = 1;

	ck_assert_int_eq(vss_writer_new("x", "not-a-uuid", &w), -EINVAL);
	ck_assert_int_eq(vss_writer_new("", CLASS_ID, &w), -EINVAL);
	ck_assert_int_eq(vss_writer_new("bad\nname", CLASS_ID, &w), -EINVAL);
	ck_assert_int_eq(vss_writer_new("ok", CLASS_ID, NULL), -EINVAL);
	ck_assert_ptr_null(w);

	ck_assert_int_eq(fake_bus_start(&t.bus), 0);
	ck_assert_int_eq(fake_vssd_new(fake_bus_address(t.bus), true, &t.vssd), 0);
	world_writer(&t);
	ck_assert_int_eq(vss_writer_get_timeout_usec(t.w, &(uint64_t){ 0 }), -ENOTCONN);
	ck_assert_int_eq(vss_writer_dispatch(t.w), -ENOTCONN);
	ck_assert_int_eq(vss_writer_add_component(t.w, "c", rel), -EINVAL);
	ck_assert_int_eq(vss_writer_add_component(t.w, "c", none), -EINVAL);
	ck_assert_int_eq(vss_writer_add_component(t.w, "c", ok), 0);
	ck_assert_int_eq(vss_writer_add_component(t.w, "c", ok), -EEXIST);
	ck_assert_int_eq(vss_writer_set_freeze_timeout(t.w, 0), -EINVAL);
	ck_assert_int_eq(vss_writer_set_usage(t.w, (enum vss_writer_usage)42), -EINVAL);
	ck_assert_int_eq(vss_writer_set_handlers(t.w, &handlers, sizeof(handlers) + 8, NULL),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_veto(t.w, VSS_WRITER_ERROR_RETRYABLE, "outside"), -EBUSY);
	ck_assert_int_eq(vss_writer_veto(t.w, (enum vss_writer_error)99, "x"), -EINVAL);
	ck_assert_int_eq(vss_writer_start(t.w), 0);
	ck_assert_int_eq(vss_writer_set_instance_name(t.w, "late"), -EBUSY);
	ck_assert_int_eq(vss_writer_set_freeze_timeout(t.w, 5), -EBUSY);
	ck_assert_int_eq(vss_writer_add_component(t.w, "d", ok), -EBUSY);
	fake_vssd_set_peer(t.vssd, vss_writer_get_fd(t.w), writer_dispatch, t.w);
	ck_assert(fake_vssd_wait_registered(t.vssd, 1, WAIT));

	reply = call_set(&t, "Freeze", "not-a-set-id");
	ck_assert_str_eq(fake_reply_error(reply), DBUS_ERROR_INVALID_ARGS);
	dbus_message_unref(TAKE_PTR(reply));
	reply = fake_vssd_call(t.vssd, "Freeze", DBUS_TYPE_UINT32, &n, DBUS_TYPE_INVALID);
	ck_assert_str_eq(fake_reply_error(reply), DBUS_ERROR_INVALID_ARGS);
	dbus_message_unref(TAKE_PTR(reply));
	reply = call_set(&t, "NoSuchMethod", SET_A);
	ck_assert_str_eq(fake_reply_error(reply), DBUS_ERROR_UNKNOWN_METHOD);
	ck_assert_uint_eq(t.rec.n, 0);
}
END_TEST

START_TEST(second_freeze_while_frozen)
{
	_cleanup_(world_done) World t = { 0 };
	_cleanup_(message_unrefp) DBusMessage *reply = NULL;

	world_start(&t, 0);
	assert_ok(call_set(&t, "Freeze", SET_A));
	assert_ok(call_set(&t, "Freeze", SET_A)); /* repeated: no second handler call */
	reply = call_set(&t, "Freeze", SET_B);
	ck_assert_str_eq(fake_reply_error(reply), "org.vssd.ShadowCopy1.Writer.Error.Retryable");
	ck_assert_uint_eq(t.rec.n, 1);
	assert_ok(call_set(&t, "Abort", SET_A));
	ck_assert_str_eq(t.rec.lines[1], "abort " SET_A);
}
END_TEST

START_TEST(system_bus_from_environment)
{
	_cleanup_(world_done) World t = { 0 };

	ck_assert_int_eq(fake_bus_start(&t.bus), 0);
	ck_assert_int_eq(fake_vssd_new(fake_bus_address(t.bus), true, &t.vssd), 0);
	ck_assert_int_eq(setenv("DBUS_SYSTEM_BUS_ADDRESS", fake_bus_address(t.bus), 1), 0);
	ck_assert_int_eq(vss_writer_new("envwriter", CLASS_ID, &t.w), 0);
	ck_assert_int_eq(vss_writer_start(t.w), 0); /* no address: the "system" bus */
	fake_vssd_set_peer(t.vssd, vss_writer_get_fd(t.w), writer_dispatch, t.w);
	ck_assert(fake_vssd_wait_registered(t.vssd, 1, WAIT));
	assert_ok(call_set(&t, "Freeze", SET_A)); /* no handlers: every event succeeds */
	assert_ok(call_set(&t, "Thaw", SET_A));
}
END_TEST

START_TEST(start_fails_without_a_bus)
{
	_cleanup_(writer_unrefp) struct vss_writer *w = NULL;

	ck_assert_int_eq(vss_writer_new("nobus", CLASS_ID, &w), 0);
	ck_assert_int_eq(vss_writer_set_bus_address(w, "unix:path=/nonexistent/vssd-test-bus"), 0);
	ck_assert_int_lt(vss_writer_start(w), 0);
	ck_assert_int_eq(vss_writer_dispatch(w), -ENOTCONN);
	ck_assert_int_lt(vss_writer_run(w), 0);
}
END_TEST

static void *run_thread(void *p)
{
	return (void *)(intptr_t)vss_writer_run(p);
}

START_TEST(run_mode_until_stop)
{
	_cleanup_(world_done) World t = { 0 };
	pthread_t th;
	void *ret;

	ck_assert_int_eq(fake_bus_start(&t.bus), 0);
	ck_assert_int_eq(fake_vssd_new(fake_bus_address(t.bus), true, &t.vssd), 0);
	world_writer(&t);
	/* a stop that comes first ends the next run at once */
	vss_writer_stop(t.w);
	ck_assert_int_eq(vss_writer_run(t.w), 0);

	/* the writer's own loop in a thread; this thread plays vssd (no peer pumping) */
	ck_assert_int_eq(pthread_create(&th, NULL, run_thread, t.w), 0);
	ck_assert(fake_vssd_wait_registered(t.vssd, 1, WAIT));
	assert_ok(call_set(&t, "Freeze", SET_A));
	assert_ok(call_set(&t, "Thaw", SET_A));
	vss_writer_stop(t.w);
	ck_assert_int_eq(pthread_join(th, &ret), 0);
	ck_assert_int_eq((int)(intptr_t)ret, 0);
	ck_assert_uint_eq(t.rec.n, 2);
}
END_TEST

/* ---- LIBVSSWRITER_1.2: stamps, metadata, component failures, results */

typedef struct StampWorld {
	char seen[8][256];
	unsigned n;
} StampWorld;

static void stamp_seen(StampWorld *sw, const char *fmt, ...) _printf_(2, 3);
static void stamp_seen(StampWorld *sw, const char *fmt, ...)
{
	va_list ap;

	if (sw->n >= ELEMENTSOF(sw->seen))
		return;
	va_start(ap, fmt);
	vsnprintf(sw->seen[sw->n++], sizeof(sw->seen[0]), fmt, ap);
	va_end(ap);
}

static int st_prepare_backup(struct vss_writer *w, const char *set_id, const char *backup_type,
                             const char *context, const char *const *components, void *userdata)
{
	char big[4098];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	stamp_seen(userdata, "prepare %s prev=%s/%s", vss_writer_get_backup_type(w),
	           strempty(vss_writer_get_previous_backup_stamp(w, "data")),
	           strempty(vss_writer_get_previous_backup_stamp(w, "config")));
	ck_assert_int_eq(vss_writer_set_backup_stamp(w, "data", "lsn 1"), 0);
	ck_assert_int_eq(vss_writer_set_backup_metadata(w, "config", "m=1"), 0);
	ck_assert_int_eq(vss_writer_set_backup_stamp(w, "logs", "x"), -ENOENT); /* not selected */
	ck_assert_int_eq(vss_writer_set_backup_stamp(w, "nope", "x"), -ENOENT);
	ck_assert_int_eq(vss_writer_set_backup_stamp(w, "data", "a\nb"), -EINVAL);
	ck_assert_int_eq(vss_writer_set_backup_stamp(w, "data", "\xff"), -EINVAL);
	ck_assert_int_eq(vss_writer_set_backup_stamp(w, "data", big), -E2BIG);
	big[4096] = 0;
	ck_assert_int_eq(vss_writer_set_backup_metadata(w, "data", big), 0);
	ck_assert_int_eq(vss_writer_set_backup_metadata(w, "data", ""), 0); /* replaces */
	ck_assert_int_eq(vss_writer_fail_component(w, "data", "%s", ""), -EINVAL);
	ck_assert_int_eq(vss_writer_set_backup_stamp(NULL, "data", "x"), -EINVAL);
	ck_assert_int_eq(vss_writer_set_backup_stamp(w, NULL, "x"), -EINVAL);
	return 0;
}

static int st_freeze(struct vss_writer *w, const char *set_id, void *userdata)
{
	ck_assert_int_eq(vss_writer_set_backup_stamp(w, "data", "vetoed"), 0);
	return vss_writer_veto(w, VSS_WRITER_ERROR_RETRYABLE, "busy");
}

static int st_post_snapshot(struct vss_writer *w, const char *set_id, const char *const *volumes,
                            const char *const *devices, void *userdata)
{
	ck_assert_int_eq(vss_writer_set_backup_stamp(w, "data", "lsn 2"), 0);
	ck_assert_int_eq(vss_writer_fail_component(w, "config", "disk %d gone", 3), 0);
	return 0;
}

static int st_backup_complete(struct vss_writer *w, const char *set_id, bool success,
                              void *userdata)
{
	ck_assert_int_eq(vss_writer_set_backup_stamp(w, "data", "late"), -EBUSY);
	stamp_seen(userdata, "complete type=%s", strempty(vss_writer_get_backup_type(w)));
	return 0;
}

static int st_backup_results(struct vss_writer *w, const char *set_id,
                             const struct vss_writer_component_result *results, size_t n,
                             void *userdata)
{
	char l[200] = "";

	for (size_t i = 0; i < n; i++)
		snprintf(l + strlen(l), sizeof(l) - strlen(l), " %s(%s)=%s%s%s", results[i].name,
		         results[i].logical_path, results[i].succeeded ? "ok" : "failed",
		         results[i].failure_message ? ":" : "",
		         strempty(results[i].failure_message));
	stamp_seen(userdata, "results %s%s", set_id, l);
	return 0;
}

static const struct vss_writer_handlers stamp_handlers = {
	.prepare_backup = st_prepare_backup,
	.freeze = st_freeze,
	.post_snapshot = st_post_snapshot,
	.backup_complete = st_backup_complete,
	.backup_results = st_backup_results,
};

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

static DBusMessage *stamps_prepare_call(FakeVssd *vssd)
{
	DBusMessage *m = fake_vssd_new_call(vssd, "PrepareForBackup");
	DBusMessageIter it, d, e, v, a, c, kv;
	const char *k = "components", *kp = "previous-backup-stamps", *name = "data",
		   *stamp = "lsn 0";
	const char *names[] = { "data", "config" };

	dbus_message_iter_init_append(m, &it);
	ck_assert(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &d));
	dict_string(&d, "set", SET_A);
	dict_string(&d, "backup-type", "incremental");
	ck_assert(dbus_message_iter_open_container(&d, DBUS_TYPE_DICT_ENTRY, NULL, &e));
	ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &k));
	ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "aa{sv}", &v));
	ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a));
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		ck_assert(dbus_message_iter_open_container(&a, DBUS_TYPE_ARRAY, "{sv}", &c));
		dict_string(&c, "name", names[i]);
		ck_assert(dbus_message_iter_close_container(&a, &c));
	}
	ck_assert(dbus_message_iter_close_container(&v, &a));
	ck_assert(dbus_message_iter_close_container(&e, &v));
	ck_assert(dbus_message_iter_close_container(&d, &e));
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

static DBusMessage *stamps_results_call(FakeVssd *vssd)
{
	DBusMessage *m = fake_vssd_new_call(vssd, "BackupResults");
	DBusMessageIter it, a, c, e, v;
	const char *set = SET_A, *ks = "succeeded";
	dbus_bool_t yes = TRUE, no = FALSE;

	dbus_message_iter_init_append(m, &it);
	ck_assert(dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &set));
	ck_assert(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "a{sv}", &a));
	for (int i = 0; i < 2; i++) {
		ck_assert(dbus_message_iter_open_container(&a, DBUS_TYPE_ARRAY, "{sv}", &c));
		dict_string(&c, "name", i == 0 ? "data" : "config");
		dict_string(&c, "logical-path", i == 0 ? "db" : "");
		ck_assert(dbus_message_iter_open_container(&c, DBUS_TYPE_DICT_ENTRY, NULL, &e));
		ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &ks));
		ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "b", &v));
		ck_assert(
			dbus_message_iter_append_basic(&v, DBUS_TYPE_BOOLEAN, i == 0 ? &yes : &no));
		ck_assert(dbus_message_iter_close_container(&e, &v));
		ck_assert(dbus_message_iter_close_container(&c, &e));
		if (i == 1)
			dict_string(&c, "failure-message", "disk 3 gone");
		dict_string(&c, "future-key", "skipped");
		ck_assert(dbus_message_iter_close_container(&a, &c));
	}
	ck_assert(dbus_message_iter_close_container(&it, &a));
	return m;
}

START_TEST(handlers_set_stamps_and_learn_results)
{
	_cleanup_(world_done) World t = { 0 };
	StampWorld sw = { 0 };
	const char *paths[] = { "/srv", NULL }, *set = SET_A;
	dbus_bool_t success = TRUE;
	DBusMessage *reply;
	_cleanup_free_ char *body = NULL, *post = NULL;

	ck_assert_int_eq(fake_bus_start(&t.bus), 0);
	ck_assert_int_eq(fake_vssd_new(fake_bus_address(t.bus), true, &t.vssd), 0);
	ck_assert_int_eq(vss_writer_new("testdb", CLASS_ID, &t.w), 0);
	ck_assert_int_eq(vss_writer_set_handlers(t.w, &stamp_handlers, sizeof(stamp_handlers), &sw),
	                 0);
	ck_assert_int_eq(vss_writer_set_bus_address(t.w, fake_bus_address(t.bus)), 0);
	ck_assert_int_eq(vss_writer_add_component(t.w, "data", paths), 0);
	ck_assert_int_eq(vss_writer_add_component(t.w, "config", paths), 0);
	ck_assert_int_eq(vss_writer_add_component(t.w, "logs", paths), 0);
	/* outside a handler: nothing to set, no backup under way */
	ck_assert_int_eq(vss_writer_set_backup_stamp(t.w, "data", "x"), -EBUSY);
	ck_assert_ptr_null(vss_writer_get_backup_type(t.w));
	ck_assert_int_eq(vss_writer_start(t.w), 0);
	fake_vssd_set_peer(t.vssd, vss_writer_get_fd(t.w), writer_dispatch, t.w);
	ck_assert(fake_vssd_wait_registered(t.vssd, 1, WAIT));

	reply = fake_vssd_send(t.vssd, stamps_prepare_call(t.vssd));
	ck_assert_str_eq(fake_reply_error(reply), "");
	body = fake_render_args(reply);
	dbus_message_unref(reply);
	ck_assert_str_eq(body, "{'components': [{'name': 'data', 'backup-stamp': 'lsn 1', "
	                       "'backup-metadata': ''}, {'name': 'config', 'backup-metadata': "
	                       "'m=1'}]}");
	ck_assert_str_eq(sw.seen[0], "prepare incremental prev=lsn 0/");
	ck_assert_str_eq(vss_writer_get_backup_type(t.w), "incremental");
	ck_assert_str_eq(vss_writer_get_previous_backup_stamp(t.w, "data"), "lsn 0");
	ck_assert_ptr_null(vss_writer_get_previous_backup_stamp(t.w, "config"));

	/* a veto sends nothing of what the handler set */
	reply = call_set(&t, "Freeze", SET_A);
	ck_assert_str_eq(fake_reply_error(reply), "org.vssd.ShadowCopy1.Writer.Error.Retryable");
	dbus_message_unref(reply);

	reply = fake_vssd_send(t.vssd, post_snapshot_call(&t));
	ck_assert_str_eq(fake_reply_error(reply), "");
	post = fake_render_args(reply);
	dbus_message_unref(reply);
	ck_assert_str_eq(post, "{'components': [{'name': 'data', 'backup-stamp': 'lsn 2'}, "
	                       "{'name': 'config', 'failure-message': 'disk 3 gone'}]}");

	assert_ok(fake_vssd_send(t.vssd, stamps_results_call(t.vssd)));
	ck_assert_str_eq(sw.seen[1], "results " SET_A " data(db)=ok config()=failed:disk 3 gone");
	assert_ok(fake_vssd_call(t.vssd, "BackupComplete", DBUS_TYPE_STRING, &set,
	                         DBUS_TYPE_BOOLEAN, &success, DBUS_TYPE_INVALID));
	ck_assert_str_eq(sw.seen[2], "complete type=incremental");
	/* BackupShutdown ends the backup */
	assert_ok(call_set(&t, "BackupShutdown", SET_A));
	ck_assert_ptr_null(vss_writer_get_backup_type(t.w));
	ck_assert_ptr_null(vss_writer_get_previous_backup_stamp(t.w, "data"));
}
END_TEST

START_TEST(backup_results_without_a_handler_succeeds)
{
	_cleanup_(world_done) World t = { 0 };

	world_start(&t, 0);
	assert_ok(fake_vssd_send(t.vssd, stamps_results_call(t.vssd)));
	ck_assert_uint_eq(t.rec.n, 0);
}
END_TEST

/* ---- restore (LIBVSSWRITER_1.3) -------------------------------------------------------------- */

static int on_restore(struct vss_writer *w, const struct vss_writer_restore_info *info,
                      void *userdata, const char *event)
{
	char l[512] = "";

	for (size_t i = 0; i < info->n_components; i++) {
		const struct vss_writer_restore_component *c = info->components[i];

		snprintf(l + strlen(l), sizeof(l) - strlen(l), " %s[%s|%s|%d|%s|%s|%s]", c->name,
		         c->backup_stamp ? c->backup_stamp : "-",
		         c->new_target ? c->new_target : "-", c->backup_succeeded, c->restore_type,
		         c->restore_options ? c->restore_options : "-",
		         c->file_restore_status ? c->file_restore_status : "-");
	}
	ck_assert_ptr_null(info->components[info->n_components]);
	recorder_add(userdata, "%s %s %s %s %s%s", event, info->session_id, info->backup_set_id,
	             info->backup_type, info->backup_instance_id, l);
	return answer(w, userdata, event);
}

static int on_pre_restore(struct vss_writer *w, const struct vss_writer_restore_info *info,
                          void *userdata)
{
	return on_restore(w, info, userdata, "pre-restore");
}

static int on_post_restore(struct vss_writer *w, const struct vss_writer_restore_info *info,
                           void *userdata)
{
	return on_restore(w, info, userdata, "post-restore");
}

/* PreRestore/PostRestore(session, info) as vssd sends them: one component "data" with a stamp
 * and a new target, and for PostRestore the file status */
static DBusMessage *restore_call(World *t, const char *method)
{
	DBusMessage *m = fake_vssd_new_call(t->vssd, method);
	DBusMessageIter it, d, e, v, arr, c;
	const char *session = SET_B;

	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(busmsg_append_string(&it, session), 0);
	ck_assert_int_eq(busmsg_dict_open(&it, &d), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&d, "backup-set", SET_A), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&d, "backup-type", "full"), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&d, "context", "backup"), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&d, "backup-instance-id", SET_A), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&d, "some-future-key", "skipped"), 0);
	ck_assert_int_eq(busmsg_entry_open(&d, "components", "aa{sv}", &e, &v), 0);
	ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &arr));
	ck_assert_int_eq(busmsg_dict_open(&arr, &c), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&c, "name", "data"), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&c, "backup-stamp", "lsn=7"), 0);
	ck_assert_int_eq(busmsg_dict_append_bool(&c, "backup-succeeded", true), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&c, "new-target", "/srv/new"), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&c, "restore-type", "by-copy"), 0);
	if (streq(method, "PostRestore"))
		ck_assert_int_eq(busmsg_dict_append_string(&c, "file-restore-status", "all"), 0);
	ck_assert_int_eq(busmsg_dict_close(&arr, &c), 0);
	ck_assert(dbus_message_iter_close_container(&v, &arr));
	ck_assert_int_eq(busmsg_entry_close(&d, &e, &v, 0), 0);
	ck_assert_int_eq(busmsg_dict_close(&it, &d), 0);
	return m;
}

START_TEST(restore_events_reach_their_handlers)
{
	static const struct vss_writer_restore_handlers rh = {
		.pre_restore = on_pre_restore,
		.post_restore = on_post_restore,
	};
	_cleanup_(world_done) World t = { 0 };
	DBusMessage *reply;

	ck_assert_int_eq(fake_bus_start(&t.bus), 0);
	ck_assert_int_eq(fake_vssd_new(fake_bus_address(t.bus), true, &t.vssd), 0);
	world_writer(&t);
	ck_assert_int_eq(vss_writer_set_restore_handlers(t.w, &rh, 0, &t.rec), -EINVAL);
	ck_assert_int_eq(vss_writer_set_restore_handlers(t.w, &rh, sizeof(rh) + 1, &t.rec),
	                 -EINVAL);
	ck_assert_int_eq(vss_writer_set_restore_handlers(t.w, &rh, sizeof(rh), &t.rec), 0);
	ck_assert_int_eq(vss_writer_start(t.w), 0);
	ck_assert_int_eq(vss_writer_set_restore_handlers(t.w, &rh, sizeof(rh), &t.rec), -EBUSY);
	fake_vssd_set_peer(t.vssd, vss_writer_get_fd(t.w), writer_dispatch, t.w);
	ck_assert(fake_vssd_wait_registered(t.vssd, 1, WAIT));

	assert_ok(fake_vssd_send(t.vssd, restore_call(&t, "PreRestore")));
	assert_ok(fake_vssd_send(t.vssd, restore_call(&t, "PostRestore")));
	ck_assert_uint_eq(t.rec.n, 2);
	ck_assert_str_eq(t.rec.lines[0], "pre-restore " SET_B " " SET_A " full " SET_A
	                                 " data[lsn=7|/srv/new|1|by-copy|-|-]");
	ck_assert_str_eq(t.rec.lines[1], "post-restore " SET_B " " SET_A " full " SET_A
	                                 " data[lsn=7|/srv/new|1|by-copy|-|all]");
	/* a veto is the writer error, as for the other events */
	t.rec.veto_event = "pre-restore";
	t.rec.veto = VSS_WRITER_ERROR_NON_RETRYABLE;
	reply = fake_vssd_send(t.vssd, restore_call(&t, "PreRestore"));
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(fake_reply_error(reply), "org.vssd.ShadowCopy1.Writer.Error.NonRetryable");
	dbus_message_unref(reply);
}
END_TEST

START_TEST(restore_without_handlers_is_an_unknown_method)
{
	_cleanup_(world_done) World t = { 0 };
	DBusMessage *reply;

	world_start(&t, 0);
	reply = fake_vssd_send(t.vssd, restore_call(&t, "PreRestore"));
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(fake_reply_error(reply), DBUS_ERROR_UNKNOWN_METHOD);
	dbus_message_unref(reply);
	ck_assert_uint_eq(t.rec.n, 0);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("vss-writer",
	TEST(restore_events_reach_their_handlers)
	TEST(restore_without_handlers_is_an_unknown_method)
	TEST(registers_with_info)
	TEST(identify_answers_from_registered_info)
	TEST(registers_and_identifies_with_the_model)
	TEST(model_setters_check_their_arguments)
	TEST(every_event_reaches_its_handler)
	TEST(veto_becomes_the_writer_error)
	TEST(freeze_timeout_thaws_without_thaw)
	TEST(registers_again_when_vssd_comes_back)
	TEST(starts_before_vssd)
	TEST(thaws_when_vssd_leaves_while_frozen)
	TEST(thaws_when_the_bus_drops_while_frozen)
	TEST(unref_while_frozen_thaws)
	TEST(handler_may_drop_the_last_reference)
	TEST(refuses_callers_other_than_vssd)
	TEST(rejects_bad_arguments)
	TEST(second_freeze_while_frozen)
	TEST(system_bus_from_environment)
	TEST(start_fails_without_a_bus)
	TEST(run_mode_until_stop)
	TEST(handlers_set_stamps_and_learn_results)
	TEST(backup_results_without_a_handler_succeeds))
/* clang-format on */
