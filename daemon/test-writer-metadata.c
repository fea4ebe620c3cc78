/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-writer-metadata.c - the VSS writer metadata model: RegisterWriter, Identify, the dicts */
#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/writer.h"
#include "tests/lib/check-main.h"
#include "tests/lib/fake-vssd.h"
#include "tests/lib/test-daemon.h"

#define CLASS_ID "5a1b2c3d-0000-4000-8000-00000000c1a5"

static const char *kind(const VssErr *e)
{
	return vss_error_info(e->kind)->name;
}

/* ---- building infos ------------------------------------------------------------------------- */

/* A file set; recursive -1: left out; NULL strings: left out */
typedef struct TFile {
	const char *path, *filespec;
	int recursive;
	const char *alt, *kind;
} TFile;

/* A component; selectable -1: left out; NULL strings and lists: left out */
typedef struct TComp {
	const char *name;
	const char *const *paths;
	const char *logical_path, *type, *caption;
	int selectable;
	const TFile *files;
	size_t n_files;
	const char *const *deps;
	const char *extra_key; /* one more string entry, e.g. a typo */
} TComp;

/* The writer-wide keys; method NULL: no restore-method (empty_restore: an empty one) */
typedef struct TModel {
	const TFile *exclude;
	size_t n_exclude;
	const char *method, *service, *writer_restore;
	int reboot;
	bool empty_restore;
	const TFile *mappings;
	size_t n_mappings;
	const char *const *schema;
} TModel;

static void add_files(DBusMessageIter *dict, const char *key, const TFile *f, size_t n)
{
	DBusMessageIter e, v, a, d;

	ck_assert_int_eq(busmsg_entry_open(dict, key, "aa{sv}", &e, &v), 0);
	ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a));
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(bus_dict_open(&a, &d), 0);
		if (f[i].path)
			ck_assert_int_eq(bus_dict_add_string(&d, "path", f[i].path), 0);
		if (f[i].filespec)
			ck_assert_int_eq(bus_dict_add_string(&d, "filespec", f[i].filespec), 0);
		if (f[i].recursive >= 0)
			ck_assert_int_eq(bus_dict_add_bool(&d, "recursive", f[i].recursive), 0);
		if (f[i].alt)
			ck_assert_int_eq(bus_dict_add_string(&d, "alternate-path", f[i].alt), 0);
		if (f[i].kind)
			ck_assert_int_eq(bus_dict_add_string(&d, "kind", f[i].kind), 0);
		ck_assert_int_eq(bus_dict_close(&a, &d), 0);
	}
	ck_assert(dbus_message_iter_close_container(&v, &a));
	ck_assert_int_eq(busmsg_entry_close(dict, &e, &v, 0), 0);
}

static void add_components(DBusMessageIter *dict, const TComp *c, size_t n)
{
	DBusMessageIter e, v, a, d;

	ck_assert_int_eq(busmsg_entry_open(dict, "components", "aa{sv}", &e, &v), 0);
	ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a));
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(bus_dict_open(&a, &d), 0);
		if (c[i].name)
			ck_assert_int_eq(bus_dict_add_string(&d, "name", c[i].name), 0);
		if (c[i].paths)
			ck_assert_int_eq(bus_dict_add_strv(&d, "paths", (char **)c[i].paths), 0);
		if (c[i].logical_path)
			ck_assert_int_eq(bus_dict_add_string(&d, "logical-path", c[i].logical_path),
			                 0);
		if (c[i].type)
			ck_assert_int_eq(bus_dict_add_string(&d, "type", c[i].type), 0);
		if (c[i].caption)
			ck_assert_int_eq(bus_dict_add_string(&d, "caption", c[i].caption), 0);
		if (c[i].selectable >= 0)
			ck_assert_int_eq(bus_dict_add_bool(&d, "selectable", c[i].selectable), 0);
		if (c[i].files)
			add_files(&d, "files", c[i].files, c[i].n_files);
		if (c[i].deps)
			ck_assert_int_eq(bus_dict_add_strv(&d, "dependencies", (char **)c[i].deps),
			                 0);
		if (c[i].extra_key)
			ck_assert_int_eq(bus_dict_add_string(&d, c[i].extra_key, "x"), 0);
		ck_assert_int_eq(bus_dict_close(&a, &d), 0);
	}
	ck_assert(dbus_message_iter_close_container(&v, &a));
	ck_assert_int_eq(busmsg_entry_close(dict, &e, &v, 0), 0);
}

static void add_model(DBusMessageIter *dict, const TModel *m)
{
	if (m->exclude)
		add_files(dict, "exclude-files", m->exclude, m->n_exclude);
	if (m->method || m->empty_restore || m->service || m->writer_restore) {
		DBusMessageIter e, v, d;

		ck_assert_int_eq(busmsg_entry_open(dict, "restore-method", "a{sv}", &e, &v), 0);
		ck_assert_int_eq(bus_dict_open(&v, &d), 0);
		if (m->method)
			ck_assert_int_eq(bus_dict_add_string(&d, "method", m->method), 0);
		if (m->service)
			ck_assert_int_eq(bus_dict_add_string(&d, "service", m->service), 0);
		if (m->writer_restore)
			ck_assert_int_eq(
				bus_dict_add_string(&d, "writer-restore", m->writer_restore), 0);
		if (m->reboot >= 0)
			ck_assert_int_eq(bus_dict_add_bool(&d, "reboot-required", m->reboot), 0);
		ck_assert_int_eq(bus_dict_close(&v, &d), 0);
		ck_assert_int_eq(busmsg_entry_close(dict, &e, &v, 0), 0);
	}
	if (m->mappings)
		add_files(dict, "alternate-location-mappings", m->mappings, m->n_mappings);
	if (m->schema)
		ck_assert_int_eq(bus_dict_add_strv(dict, "backup-schema", (char **)m->schema), 0);
}

/* RegisterWriter's info: name "db", CLASS_ID, the components and the model (either NULL) */
static DBusMessage *info_new(const TComp *c, size_t n, const TModel *m)
{
	DBusMessage *msg = dbus_message_new_method_call(VSSD_BUS_NAME, VSSD_ROOT_PATH,
	                                                VSSD_IFACE_MANAGER, "RegisterWriter");
	DBusMessageIter it, d;

	ck_assert_ptr_nonnull(msg);
	dbus_message_iter_init_append(msg, &it);
	ck_assert_int_eq(bus_dict_open(&it, &d), 0);
	ck_assert_int_eq(bus_dict_add_string(&d, "name", "db"), 0);
	ck_assert_int_eq(bus_dict_add_string(&d, "class-id", CLASS_ID), 0);
	if (c)
		add_components(&d, c, n);
	if (m)
		add_model(&d, m);
	ck_assert_int_eq(bus_dict_close(&it, &d), 0);
	return msg;
}

static int do_register(TestDaemon *t, DBusMessage *msg, const char *object, Writer **ret,
                       VssErr *err)
{
	BusCaller c = test_caller(":1.50", 0);
	DBusMessageIter it;
	Writer *w = NULL;
	int r;

	ck_assert(dbus_message_iter_init(msg, &it));
	r = writer_register(&t->d, &c, object, &it, &w, err);
	dbus_message_unref(msg);
	if (r < 0)
		ck_assert_ptr_null(w);
	if (ret)
		*ret = w;
	return r;
}

/* Registering fails with InvalidArgument (error) and a message that contains what */
static void assert_invalid(TestDaemon *t, DBusMessage *msg, int error, const char *what)
{
	VssErr err = { 0 };

	ck_assert_int_eq(do_register(t, msg, "/w", NULL, &err), error);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	ck_assert_msg(strstr(err.message, what), "\"%s\" lacks \"%s\"", err.message, what);
	ck_assert_uint_eq(t->d.n_writers, 0);
}

/* ---- reading dicts back --------------------------------------------------------------------- */

/* The value of key in the a{sv} at dict (entered afresh); false when it is not there */
static bool lookup(DBusMessageIter *dict, const char *key, DBusMessageIter *ret)
{
	DBusMessageIter d, v;
	const char *k;

	ck_assert_int_eq(busmsg_dict_enter(dict, &d), 0);
	while (busmsg_dict_next(&d, &k, &v) > 0)
		if (streq(k, key)) {
			*ret = v;
			return true;
		}
	return false;
}

static const char *get_str(DBusMessageIter *dict, const char *key)
{
	DBusMessageIter v;
	const char *s;

	ck_assert_msg(lookup(dict, key, &v), "no key %s", key);
	ck_assert_int_eq(busmsg_get_string(&v, &s), 0);
	return s;
}

static bool get_bool(DBusMessageIter *dict, const char *key)
{
	DBusMessageIter v;
	bool b;

	ck_assert_msg(lookup(dict, key, &v), "no key %s", key);
	ck_assert_int_eq(busmsg_get_bool(&v, &b), 0);
	return b;
}

/* The index-th element of the array under key; the array's length */
static size_t get_elem(DBusMessageIter *dict, const char *key, size_t index, DBusMessageIter *ret)
{
	DBusMessageIter v, a;
	size_t n;

	ck_assert_msg(lookup(dict, key, &v), "no key %s", key);
	ck_assert_int_eq(dbus_message_iter_get_arg_type(&v), DBUS_TYPE_ARRAY);
	n = bus_array_count(&v);
	dbus_message_iter_recurse(&v, &a);
	for (size_t i = 0; i < index && i < n; i++)
		dbus_message_iter_next(&a);
	if (ret && index < n)
		*ret = a;
	return n;
}

/* w's dictionary as GatherWriterMetadata gives it (free the message) */
static DBusMessage *metadata_of(Writer *w, DBusMessageIter *ret)
{
	DBusMessage *m = dbus_message_new_method_call(VSSD_BUS_NAME, "/x", VSSD_IFACE_SET, "X");
	DBusMessageIter it, a;

	ck_assert_ptr_nonnull(m);
	dbus_message_iter_init_append(m, &it);
	ck_assert(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "a{sv}", &a));
	ck_assert_int_eq(writer_append_dict(w, &a, true), 0);
	ck_assert(dbus_message_iter_close_container(&it, &a));
	ck_assert(dbus_message_iter_init(m, &it));
	dbus_message_iter_recurse(&it, ret);
	return m;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static const char *const db_paths[] = { "/srv/db", NULL };

/* A writer of before the model (name and paths) keeps working, every new key at its default */
START_TEST(old_writers_get_the_defaults)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	const TComp c = { .name = "data", .paths = db_paths, .selectable = -1 };
	DBusMessageIter d, comp, x;
	DBusMessage *m;
	Writer *w = NULL;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	ck_assert_int_eq(do_register(t, info_new(&c, 1, NULL), "/w", &w, NULL), 0);
	ck_assert_uint_eq(w->n_components, 1);
	ck_assert_str_eq(w->components[0].name, "data");
	ck_assert_str_eq(w->components[0].paths[0], "/srv/db");
	ck_assert_str_eq(w->components[0].logical_path, "");
	ck_assert_str_eq(w->components[0].type, "filegroup");
	ck_assert_str_eq(w->components[0].caption, "");
	ck_assert(w->components[0].selectable);
	ck_assert_uint_eq(w->components[0].n_files, 0);
	ck_assert_ptr_null(w->model.restore_method);
	ck_assert_uint_eq(w->model.n_exclude_files, 0);

	m = metadata_of(w, &d);
	ck_assert_str_eq(get_str(&d, "name"), "db"); /* the keys of before stay */
	ck_assert_str_eq(get_str(&d, "class-id"), CLASS_ID);
	ck_assert_uint_eq(get_elem(&d, "components", 0, &comp), 1);
	ck_assert_str_eq(get_str(&comp, "name"), "data");
	ck_assert_uint_eq(get_elem(&comp, "paths", 0, NULL), 1);
	ck_assert(lookup(&comp, "volumes", &x));
	ck_assert_str_eq(get_str(&comp, "logical-path"), "");
	ck_assert_str_eq(get_str(&comp, "type"), "filegroup");
	ck_assert_str_eq(get_str(&comp, "caption"), "");
	ck_assert(get_bool(&comp, "selectable"));
	ck_assert_uint_eq(get_elem(&comp, "files", 0, NULL), 0);
	ck_assert_uint_eq(get_elem(&comp, "dependencies", 0, NULL), 0);
	ck_assert_uint_eq(get_elem(&d, "exclude-files", 0, NULL), 0);
	ck_assert_uint_eq(get_elem(&d, "restore-method", 0, NULL), 0); /* empty: none */
	ck_assert_uint_eq(get_elem(&d, "alternate-location-mappings", 0, NULL), 0);
	ck_assert_uint_eq(get_elem(&d, "backup-schema", 0, NULL), 0);
	dbus_message_unref(m);
}
END_TEST

static const TFile db_files[] = {
	{ "/srv/db", "*.db", -1, NULL, NULL }, /* kind: database by default in a database */
	{ "/srv/db/wal", "*.wal", 0, "", "log" },
};
static const TFile fg_files[] = {
	{ "/srv/conf", NULL, 1, "/srv/conf.restored", NULL },
};
static const char *const deps[] = { "Databases\\master", NULL };
static const TFile excl[] = { { "/srv/db", "*.tmp", 1, NULL, NULL } };
static const TFile maps[] = { { "/srv/conf", "*", 0, "/srv/elsewhere", NULL } };
static const char *const schema[] = { "incremental", "lsn", "writer-supports-new-target", NULL };

static const TComp full_components[] = {
	{ .name = "main",
	  .paths = db_paths,
	  .logical_path = "Databases",
	  .type = "database",
	  .caption = "Main database",
	  .selectable = 1,
	  .files = db_files,
	  .n_files = 2,
	  .deps = deps },
	{ .name = "config",
	  .logical_path = "",
	  .caption = "Configuration",
	  .selectable = 0,
	  .files = fg_files,
	  .n_files = 1 },
};
static const TModel full_model = { .exclude = excl,
	                           .n_exclude = 1,
	                           .method = "stop-restore-start",
	                           .service = "postgresql.service",
	                           .writer_restore = "if-replace-fails",
	                           .reboot = 1,
	                           .mappings = maps,
	                           .n_mappings = 1,
	                           .schema = schema };

/* Every key is kept, and GatherWriterMetadata gives the whole model back */
START_TEST(the_whole_model_round_trips)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	DBusMessageIter d, comp, f, rm;
	const WriterComponent *c;
	DBusMessage *m;
	Writer *w = NULL;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	ck_assert_int_eq(do_register(t, info_new(full_components, 2, &full_model), "/w", &w, NULL),
	                 0);
	c = &w->components[0];
	ck_assert_str_eq(c->type, "database");
	ck_assert_str_eq(c->logical_path, "Databases");
	ck_assert_uint_eq(c->n_files, 2);
	ck_assert_str_eq(c->files[0].kind, "database");
	ck_assert_str_eq(c->files[0].filespec, "*.db");
	ck_assert_str_eq(c->files[1].kind, "log");
	ck_assert_str_eq(c->dependencies[0], "Databases\\master");
	c = &w->components[1];
	ck_assert_str_eq(c->type, "filegroup");
	ck_assert(!c->selectable);
	ck_assert_ptr_null(c->paths);
	ck_assert_str_eq(c->files[0].filespec, "*");
	ck_assert_str_eq(c->files[0].kind, "file");
	ck_assert(c->files[0].recursive);
	ck_assert_str_eq(w->model.restore_method, "stop-restore-start");
	ck_assert_str_eq(w->model.writer_restore, "if-replace-fails");
	ck_assert(w->model.reboot_required);

	m = metadata_of(w, &d);
	ck_assert_uint_eq(get_elem(&d, "components", 0, &comp), 2);
	ck_assert_str_eq(get_str(&comp, "caption"), "Main database");
	ck_assert_str_eq(get_str(&comp, "type"), "database");
	ck_assert_uint_eq(get_elem(&comp, "files", 1, &f), 2);
	ck_assert_str_eq(get_str(&f, "path"), "/srv/db/wal");
	ck_assert_str_eq(get_str(&f, "filespec"), "*.wal");
	ck_assert_str_eq(get_str(&f, "kind"), "log");
	ck_assert_str_eq(get_str(&f, "alternate-path"), "");
	ck_assert(!get_bool(&f, "recursive"));
	ck_assert_uint_eq(get_elem(&comp, "dependencies", 0, NULL), 1);
	ck_assert_uint_eq(get_elem(&d, "components", 1, &comp), 2);
	ck_assert(!get_bool(&comp, "selectable"));
	ck_assert_uint_eq(get_elem(&comp, "files", 0, &f), 1);
	ck_assert_str_eq(get_str(&f, "alternate-path"), "/srv/conf.restored");
	ck_assert(get_bool(&f, "recursive"));
	ck_assert_uint_eq(get_elem(&d, "exclude-files", 0, &f), 1);
	ck_assert_str_eq(get_str(&f, "filespec"), "*.tmp");
	ck_assert(!lookup(&f, "kind", &rm)); /* exclude files have no kind */
	ck_assert(lookup(&d, "restore-method", &rm));
	{
		DBusMessageIter rmd = rm;

		ck_assert_str_eq(get_str(&rmd, "method"), "stop-restore-start");
		ck_assert_str_eq(get_str(&rmd, "service"), "postgresql.service");
		ck_assert_str_eq(get_str(&rmd, "writer-restore"), "if-replace-fails");
		ck_assert(get_bool(&rmd, "reboot-required"));
	}
	ck_assert_uint_eq(get_elem(&d, "alternate-location-mappings", 0, &f), 1);
	ck_assert_str_eq(get_str(&f, "alternate-path"), "/srv/elsewhere");
	ck_assert_uint_eq(get_elem(&d, "backup-schema", 0, NULL), 3);
	dbus_message_unref(m);

	/* the selection sent to writers at PrepareForBackup keeps its shape: name and paths */
	{
		DBusMessage *p =
			dbus_message_new_method_call(VSSD_BUS_NAME, "/x", VSSD_IFACE_SET, "X");
		char *sel[] = { w->id_str, (char *)"main", NULL };
		DBusMessageIter it, pd;

		dbus_message_iter_init_append(p, &it);
		ck_assert_int_eq(bus_dict_open(&it, &pd), 0);
		ck_assert_int_eq(writer_dict_add_components(&pd, w, sel, true), 0);
		ck_assert_int_eq(bus_dict_close(&it, &pd), 0);
		ck_assert(dbus_message_iter_init(p, &it));
		ck_assert_uint_eq(get_elem(&it, "components", 0, &comp), 1);
		ck_assert_str_eq(get_str(&comp, "name"), "main");
		ck_assert(!lookup(&comp, "files", &f));
		dbus_message_unref(p);
	}
}
END_TEST

/* Every field is validated, with a sentence naming it */
START_TEST(every_field_is_validated)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	static const TFile bad_path[] = { { "srv/db", NULL, -1, NULL, NULL } };
	static const TFile no_path[] = { { NULL, "*", -1, NULL, NULL } };
	static const TFile bad_spec[] = { { "/srv", "a/b", -1, NULL, NULL } };
	static const TFile ctl_spec[] = { { "/srv", "a\nb", -1, NULL, NULL } };
	static const TFile bad_alt[] = { { "/srv", NULL, -1, "rel", NULL } };
	static const TFile bad_kind[] = { { "/srv", NULL, -1, NULL, "journal" } };
	static const TFile db_in_fg[] = { { "/srv", NULL, -1, NULL, "database" } };
	static const TFile file_in_db[] = { { "/srv", NULL, -1, NULL, "file" } };
	static const TFile rec_in_db[] = { { "/srv", NULL, 1, NULL, "log" } };
	static const TFile alt_in_db[] = { { "/srv", NULL, -1, "/alt", NULL } };
	static const TFile kind_in_excl[] = { { "/srv", NULL, -1, NULL, "file" } };
	static const TFile no_alt_map[] = { { "/srv", NULL, -1, NULL, NULL } };
	static const char *const bad_schema[] = { "lsn", "snapshot-everything", NULL };
	static const char *const twice_schema[] = { "lsn", "lsn", NULL };
	static const char *const ctl_deps[] = { "a\tb", NULL };
	static const struct {
		TComp c;
		TModel m;
		const char *what;
	} cases[] = {
		{ { .name = "c", .type = "table", .selectable = -1 }, {}, "unknown type" },
		{ { .name = "c", .logical_path = "a\nb", .selectable = -1 }, {}, "logical-path" },
		{ { .name = "c", .caption = "\x1b[2J", .selectable = -1 }, {}, "caption" },
		{ { .name = "c", .selectable = -1, .files = bad_path, .n_files = 1 },
		  {},
		  "needs \"path\"" },
		{ { .name = "c", .selectable = -1, .files = no_path, .n_files = 1 },
		  {},
		  "needs \"path\"" },
		{ { .name = "c", .selectable = -1, .files = bad_spec, .n_files = 1 },
		  {},
		  "filespec" },
		{ { .name = "c", .selectable = -1, .files = ctl_spec, .n_files = 1 },
		  {},
		  "filespec" },
		{ { .name = "c", .selectable = -1, .files = bad_alt, .n_files = 1 },
		  {},
		  "alternate-path" },
		{ { .name = "c", .selectable = -1, .files = bad_kind, .n_files = 1 },
		  {},
		  "kind \"journal\"" },
		{ { .name = "c", .selectable = -1, .files = db_in_fg, .n_files = 1 },
		  {},
		  "filegroup component holds files of kind file" },
		{ { .name = "c",
		    .type = "database",
		    .selectable = -1,
		    .files = file_in_db,
		    .n_files = 1 },
		  {},
		  "database or log" },
		{ { .name = "c",
		    .type = "database",
		    .selectable = -1,
		    .files = rec_in_db,
		    .n_files = 1 },
		  {},
		  "neither recursive" },
		{ { .name = "c",
		    .type = "database",
		    .selectable = -1,
		    .files = alt_in_db,
		    .n_files = 1 },
		  {},
		  "neither recursive" },
		{ { .name = "c", .selectable = -1, .deps = ctl_deps },
		  {},
		  "option \"dependencies\"" },
		{ { .name = "c", .selectable = -1, .extra_key = "caption2" },
		  {},
		  "unknown option" },
		{ { .name = "c", .selectable = -1 },
		  { .exclude = kind_in_excl, .n_exclude = 1, .reboot = -1 },
		  "unknown option \"kind\"" },
		{ { .name = "c", .selectable = -1 },
		  { .mappings = no_alt_map, .n_mappings = 1, .reboot = -1 },
		  "needs \"alternate-path\"" },
		{ { .name = "c", .selectable = -1 },
		  { .method = "restore-if-possible", .reboot = -1 },
		  "unknown method" },
		{ { .name = "c", .selectable = -1 },
		  { .service = "x.service", .reboot = -1 },
		  "needs \"method\"" },
		{ { .name = "c", .selectable = -1 },
		  { .method = "restore-stop-start", .reboot = -1 },
		  "needs \"service\"" },
		{ { .name = "c", .selectable = -1 },
		  { .method = "custom", .writer_restore = "sometimes", .reboot = -1 },
		  "writer-restore" },
		{ { .name = "c", .selectable = -1 },
		  { .method = "custom", .service = "a\nb", .reboot = -1 },
		  "service must be text" },
		{ { .name = "c", .selectable = -1 },
		  { .schema = bad_schema, .reboot = -1 },
		  "unknown \"snapshot-everything\"" },
		{ { .name = "c", .selectable = -1 },
		  { .schema = twice_schema, .reboot = -1 },
		  "given twice" },
	};

	ck_assert_int_eq(test_daemon_new(&t), 0);
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		VssErr err = { 0 };

		ck_assert_int_eq(
			do_register(t, info_new(&cases[i].c, 1, &cases[i].m), "/w", NULL, &err),
			-EINVAL);
		ck_assert_str_eq(kind(&err), "InvalidArgument");
		ck_assert_msg(strstr(err.message, cases[i].what), "case %zu: \"%s\" lacks \"%s\"",
		              i, err.message, cases[i].what);
		ck_assert_uint_eq(t->d.n_writers, 0);
	}
	/* an empty restore-method is none */
	{
		const TComp c = { .name = "c", .selectable = -1 };
		const TModel m = { .empty_restore = true, .reboot = -1 };
		Writer *w = NULL;

		ck_assert_int_eq(do_register(t, info_new(&c, 1, &m), "/w", &w, NULL), 0);
		ck_assert_ptr_null(w->model.restore_method);
	}
}
END_TEST

/* Wrong types of the new keys are InvalidArgument naming the key */
START_TEST(wrong_types_name_the_key)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	static const char *const keys[] = { "exclude-files", "restore-method",
		                            "alternate-location-mappings", "backup-schema" };

	ck_assert_int_eq(test_daemon_new(&t), 0);
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		DBusMessage *m = info_new(NULL, 0, NULL);
		DBusMessageIter it, d;

		/* append the key as a string to a fresh info */
		dbus_message_unref(m);
		m = dbus_message_new_method_call(VSSD_BUS_NAME, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER,
		                                 "RegisterWriter");
		dbus_message_iter_init_append(m, &it);
		ck_assert_int_eq(bus_dict_open(&it, &d), 0);
		ck_assert_int_eq(bus_dict_add_string(&d, "name", "db"), 0);
		ck_assert_int_eq(bus_dict_add_string(&d, "class-id", CLASS_ID), 0);
		ck_assert_int_eq(bus_dict_add_string(&d, keys[i], "x"), 0);
		ck_assert_int_eq(bus_dict_close(&it, &d), 0);
		assert_invalid(t, m, -EINVAL, keys[i]);
	}
	/* component keys too */
	{
		DBusMessage *m = dbus_message_new_method_call(VSSD_BUS_NAME, VSSD_ROOT_PATH,
		                                              VSSD_IFACE_MANAGER, "RegisterWriter");
		DBusMessageIter it, d, e, v, a, c;

		dbus_message_iter_init_append(m, &it);
		ck_assert_int_eq(bus_dict_open(&it, &d), 0);
		ck_assert_int_eq(bus_dict_add_string(&d, "name", "db"), 0);
		ck_assert_int_eq(bus_dict_add_string(&d, "class-id", CLASS_ID), 0);
		ck_assert_int_eq(busmsg_entry_open(&d, "components", "aa{sv}", &e, &v), 0);
		ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a));
		ck_assert_int_eq(bus_dict_open(&a, &c), 0);
		ck_assert_int_eq(bus_dict_add_string(&c, "name", "c"), 0);
		ck_assert_int_eq(bus_dict_add_string(&c, "selectable", "yes"), 0);
		ck_assert_int_eq(bus_dict_close(&a, &c), 0);
		ck_assert(dbus_message_iter_close_container(&v, &a));
		ck_assert_int_eq(busmsg_entry_close(&d, &e, &v, 0), 0);
		ck_assert_int_eq(bus_dict_close(&it, &d), 0);
		assert_invalid(t, m, -EINVAL, "selectable");
	}
}
END_TEST

/* Counts are capped before anything is read; files count toward the metadata limit */
START_TEST(counts_and_bytes_are_bounded)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	TFile *files = calloc(VSSD_FILES_PER_LIST_MAX + 1, sizeof(TFile));
	const char **many_deps = calloc(VSSD_DEPS_PER_COMPONENT_MAX + 2, sizeof(char *));
	char *long_path = malloc(3001);
	TComp c = { .name = "c", .selectable = -1 };
	TComp *comps;
	TModel m = { .reboot = -1 };
	size_t before;
	Writer *w = NULL;
	VssErr err = { 0 };

	ck_assert_ptr_nonnull(files);
	ck_assert_ptr_nonnull(many_deps);
	ck_assert_ptr_nonnull(long_path);
	ck_assert_int_eq(test_daemon_new(&t), 0);
	for (size_t i = 0; i <= VSSD_FILES_PER_LIST_MAX; i++)
		files[i] = (TFile){ "/srv", NULL, -1, NULL, NULL };
	c.files = files;
	c.n_files = VSSD_FILES_PER_LIST_MAX + 1;
	assert_invalid(t, info_new(&c, 1, NULL), -E2BIG, "at most 256");
	c.n_files = 0;
	c.files = NULL;
	m.exclude = files;
	m.n_exclude = VSSD_FILES_PER_LIST_MAX + 1;
	assert_invalid(t, info_new(&c, 1, &m), -E2BIG, "exclude-files");
	m = (TModel){ .mappings = files, .n_mappings = VSSD_FILES_PER_LIST_MAX + 1, .reboot = -1 };
	assert_invalid(t, info_new(&c, 1, &m), -E2BIG, "alternate-location-mappings");
	for (size_t i = 0; i <= VSSD_DEPS_PER_COMPONENT_MAX; i++)
		many_deps[i] = "Other\\x";
	c.deps = many_deps;
	assert_invalid(t, info_new(&c, 1, NULL), -E2BIG, "dependencies");
	c.deps = NULL;

	/* bytes: what a writer keeps grows with its files */
	ck_assert_int_eq(do_register(t, info_new(&c, 1, NULL), "/w0", &w, NULL), 0);
	before = w->metadata_bytes;
	writer_free(w);
	c.files = fg_files;
	c.n_files = 1;
	ck_assert_int_eq(do_register(t, info_new(&c, 1, NULL), "/w0", &w, NULL), 0);
	ck_assert_uint_eq(w->metadata_bytes, before + strlen("/srv/conf") + 1 + strlen("*") + 1 +
	                                             strlen("/srv/conf.restored") + 1 +
	                                             strlen("file") + 1);
	writer_free(w);

	/* 8 components of 256 files with 3000-byte paths: past the 4 MiB per uid */
	memset(long_path, 'x', 3000);
	long_path[0] = '/';
	long_path[3000] = 0;
	for (size_t i = 0; i < VSSD_FILES_PER_LIST_MAX; i++)
		files[i] = (TFile){ long_path, NULL, -1, NULL, NULL };
	comps = calloc(8, sizeof(TComp));
	ck_assert_ptr_nonnull(comps);
	for (size_t i = 0; i < 8; i++)
		comps[i] = (TComp){ .name = "c",
			            .selectable = -1,
			            .files = files,
			            .n_files = VSSD_FILES_PER_LIST_MAX };
	ck_assert_int_eq(do_register(t, info_new(comps, 8, NULL), "/w", NULL, &err), -E2BIG);
	ck_assert_str_eq(kind(&err), "AccessDenied");
	ck_assert_ptr_nonnull(strstr(err.message, "files"));
	ck_assert_uint_eq(t->d.n_writers, 0);
	free(comps);
	free(files);
	free(many_deps);
	free(long_path);
}
END_TEST

/* Identify's answer: given writer-wide keys replace the model together; none: it stays;
 * unusable ones change nothing */
static void identify(Writer *w, const TComp *c, size_t n, const TModel *m)
{
	DBusMessage *call =
		dbus_message_new_method_call(":1.50", "/w", VSSD_IFACE_WRITER, "Identify");
	DBusMessage *reply;
	DBusMessageIter it, d;

	ck_assert_ptr_nonnull(call);
	dbus_message_set_serial(call, 1);
	reply = dbus_message_new_method_return(call);
	ck_assert_ptr_nonnull(reply);
	dbus_message_iter_init_append(reply, &it);
	ck_assert_int_eq(bus_dict_open(&it, &d), 0);
	ck_assert_int_eq(bus_dict_add_string(&d, "name", "db"), 0);
	if (c)
		add_components(&d, c, n);
	if (m)
		add_model(&d, m);
	ck_assert_int_eq(bus_dict_close(&it, &d), 0);
	ck_assert_int_eq(writer_apply_reply(w, WRITER_EVENT_IDENTIFY, NULL, reply, NULL), 0);
	dbus_message_unref(reply);
	dbus_message_unref(call);
}

START_TEST(identify_replaces_the_model)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	static const char *const log_only[] = { "log", NULL };
	static const char *const bad[] = { "nope", NULL };
	const TComp plain = { .name = "data", .paths = db_paths, .selectable = -1 };
	const TModel schema_only = { .schema = log_only, .reboot = -1 };
	const TModel bad_model = { .schema = bad, .reboot = -1 };
	size_t registered;
	Writer *w = NULL;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	ck_assert_int_eq(do_register(t, info_new(full_components, 2, &full_model), "/w", &w, NULL),
	                 0);
	registered = w->metadata_bytes;
	/* no model keys, no components: everything stays */
	identify(w, NULL, 0, NULL);
	ck_assert_str_eq(w->model.restore_method, "stop-restore-start");
	ck_assert_uint_eq(w->n_components, 2);
	/* the schema alone: the rest of the model is gone with it, components stay */
	identify(w, NULL, 0, &schema_only);
	ck_assert_ptr_null(w->model.restore_method);
	ck_assert_uint_eq(w->model.n_exclude_files, 0);
	ck_assert_uint_eq(strv_length(w->model.backup_schema), 1);
	ck_assert_uint_eq(w->n_components, 2);
	ck_assert_str_eq(w->components[0].type, "database");
	/* components of the old shape replace the registered ones */
	identify(w, &plain, 1, NULL);
	ck_assert_uint_eq(w->n_components, 1);
	ck_assert_str_eq(w->components[0].type, "filegroup");
	ck_assert_str_eq(w->model.backup_schema[0], "log");
	/* an unusable model changes nothing, components given beside it included */
	identify(w, full_components, 2, &bad_model);
	ck_assert_uint_eq(w->n_components, 1);
	ck_assert_str_eq(w->model.backup_schema[0], "log");
	/* and the whole model back */
	identify(w, full_components, 2, &full_model);
	ck_assert_uint_eq(w->n_components, 2);
	ck_assert_str_eq(w->model.restore_service, "postgresql.service");
	/* the bytes kept are counted again from what is kept */
	ck_assert_uint_eq(w->metadata_bytes, registered);
	identify(w, NULL, 0, &schema_only);
	ck_assert_uint_lt(w->metadata_bytes, registered);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("writer-metadata",
	TEST(old_writers_get_the_defaults)
	TEST(the_whole_model_round_trips)
	TEST(every_field_is_validated)
	TEST(wrong_types_name_the_key)
	TEST(counts_and_bytes_are_bounded)
	TEST(identify_replaces_the_model))
/* clang-format on */
