/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-writer.c - the writer state machine (VSS_WRITER_STATE), error mapping of writer answers,
 * and RegisterWriter's validation */
#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/writer.h"
#include "tests/lib/check-main.h"
#include "tests/lib/fake-vssd.h"
#include "tests/lib/test-daemon.h"

#define CLASS_ID     "5a1b2c3d-0000-4000-8000-00000000c1a5"
#define WRITER_ERROR "org.vssd.ShadowCopy1.Writer.Error."

static const char *kind(const VssErr *e)
{
	return vss_error_info(e->kind)->name;
}

/* ---- answers -------------------------------------------------------------------------------- */

/* The call vssd would have sent for ev, so that replies can be made to it */
static DBusMessage *event_call(WriterEvent ev)
{
	DBusMessage *m = dbus_message_new_method_call(":1.50", "/w/db", VSSD_IFACE_WRITER,
	                                              writer_event_to_string(ev));

	ck_assert_ptr_nonnull(m);
	dbus_message_set_serial(m, 7);
	ck_assert(dbus_message_set_sender(m, ":1.1"));
	return m;
}

/* The writer's answer to ev: success (error NULL), or the error name with a message (NULL: none) */
static int answer(Writer *w, WriterEvent ev, const char *error, const char *message, VssErr *err)
{
	DBusMessage *call = event_call(ev), *reply;
	int r;

	if (!error)
		reply = dbus_message_new_method_return(call);
	else if (message)
		reply = dbus_message_new_error(call, error, message);
	else {
		/* an error without a text argument */
		reply = dbus_message_new(DBUS_MESSAGE_TYPE_ERROR);
		ck_assert_ptr_nonnull(reply);
		ck_assert(dbus_message_set_error_name(reply, error));
		ck_assert(dbus_message_set_reply_serial(reply, 7));
	}
	ck_assert_ptr_nonnull(reply);
	r = writer_apply_reply(w, ev, "6f1c2d3e-0000-4000-8000-00000000000a", reply, err);
	dbus_message_unref(reply);
	dbus_message_unref(call);
	return r;
}

static const struct {
	WriterEvent ev;
	WriterState ok;     /* UNKNOWN: unchanged */
	WriterState failed; /* UNKNOWN: unchanged */
} table[] = {
	/* Identify changes nothing in a session under way; a failed writer recovers (below) */
	{ WRITER_EVENT_IDENTIFY, WRITER_STATE_UNKNOWN, WRITER_STATE_FAILED_AT_IDENTIFY },
	{ WRITER_EVENT_PREPARE_BACKUP, WRITER_STATE_STABLE, WRITER_STATE_FAILED_AT_PREPARE_BACKUP },
	{ WRITER_EVENT_PREPARE_SNAPSHOT, WRITER_STATE_WAITING_FOR_FREEZE,
	  WRITER_STATE_FAILED_AT_PREPARE_SNAPSHOT },
	{ WRITER_EVENT_FREEZE, WRITER_STATE_WAITING_FOR_THAW, WRITER_STATE_FAILED_AT_FREEZE },
	{ WRITER_EVENT_THAW, WRITER_STATE_WAITING_FOR_POST_SNAPSHOT, WRITER_STATE_FAILED_AT_THAW },
	{ WRITER_EVENT_POST_SNAPSHOT, WRITER_STATE_WAITING_FOR_BACKUP_COMPLETE,
	  WRITER_STATE_FAILED_AT_POST_SNAPSHOT },
	{ WRITER_EVENT_ABORT, WRITER_STATE_STABLE, WRITER_STATE_UNKNOWN },
	{ WRITER_EVENT_BACKUP_COMPLETE, WRITER_STATE_STABLE,
	  WRITER_STATE_FAILED_AT_BACKUP_COMPLETE },
	{ WRITER_EVENT_BACKUP_SHUTDOWN, WRITER_STATE_UNKNOWN,
	  WRITER_STATE_FAILED_AT_BACKUPSHUTDOWN },
};

START_TEST(state_numbers_and_names_are_vss_writer_state)
{
	static const char *const names[] = {
		"Unknown",
		"Stable",
		"Waiting for freeze",
		"Waiting for thaw",
		"Waiting for post snapshot",
		"Waiting for completion",
		"Failed at identify",
		"Failed at prepare backup",
		"Failed at prepare snapshot",
		"Failed at freeze",
		"Failed at thaw",
		"Failed at post snapshot",
		"Failed at backup complete",
		"Failed at pre restore",
		"Failed at post restore",
		"Failed at backup shutdown",
	};

	ck_assert_int_eq(_WRITER_STATE_MAX, 16);
	ck_assert_int_eq(WRITER_STATE_STABLE, 1);
	ck_assert_int_eq(WRITER_STATE_WAITING_FOR_BACKUP_COMPLETE, 5);
	ck_assert_int_eq(WRITER_STATE_FAILED_AT_IDENTIFY, 6);
	ck_assert_int_eq(WRITER_STATE_FAILED_AT_BACKUPSHUTDOWN, 15);
	for (int i = 0; i < _WRITER_STATE_MAX; i++)
		ck_assert_str_eq(writer_state_to_string((WriterState)i), names[i]);
	ck_assert_ptr_null(writer_state_to_string(_WRITER_STATE_MAX));
	ck_assert_ptr_null(writer_state_to_string(_WRITER_STATE_INVALID));
	ck_assert_str_eq(writer_event_to_string(WRITER_EVENT_PREPARE_SNAPSHOT),
	                 "PrepareForSnapshot");
	ck_assert_str_eq(writer_event_to_string(WRITER_EVENT_BACKUP_SHUTDOWN), "BackupShutdown");
	ck_assert_ptr_null(writer_event_to_string(_WRITER_EVENT_MAX));
}
END_TEST

START_TEST(success_moves_to_the_event_state)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	for (size_t i = 0; i < ELEMENTSOF(table); i++) {
		Writer *w = test_writer(t, "db", NULL);
		VssErr err = { 0 };

		ck_assert_int_eq(w->state, WRITER_STATE_STABLE); /* as registered */
		writer_set_state(w, WRITER_STATE_WAITING_FOR_FREEZE);
		ck_assert_int_eq(answer(w, table[i].ev, NULL, NULL, &err), 0);
		ck_assert_msg(!vss_err_is_set(&err), "%s", err.message);
		ck_assert_msg(w->state ==
		                      (table[i].ok ? table[i].ok : WRITER_STATE_WAITING_FOR_FREEZE),
		              "%s: state %d", writer_event_to_string(table[i].ev), w->state);
		ck_assert_str_eq(w->last_error, "");
		writer_free(w);
	}
	ck_assert_uint_eq(t->d.n_writers, 0);
}
END_TEST

START_TEST(failure_moves_to_the_event_failed_state)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	for (size_t i = 0; i < ELEMENTSOF(table); i++) {
		Writer *w = test_writer(t, "db", NULL);
		VssErr err = { 0 };

		writer_set_state(w, WRITER_STATE_WAITING_FOR_THAW);
		ck_assert_int_eq(answer(w, table[i].ev, DBUS_ERROR_FAILED, "disk on fire", &err),
		                 -ECANCELED);
		ck_assert_msg(w->state == (table[i].failed ? table[i].failed
		                                           : WRITER_STATE_WAITING_FOR_THAW),
		              "%s: state %d", writer_event_to_string(table[i].ev), w->state);
		/* not a veto: the writer did not answer the event properly */
		ck_assert_str_eq(kind(&err), "WriterNotResponding");
		ck_assert_str_eq(w->last_error, "VSS_E_WRITER_NOT_RESPONDING");
		ck_assert_str_eq(w->failure_message, "disk on fire");
		ck_assert_ptr_nonnull(strstr(err.message, "\"db\""));
		ck_assert_ptr_nonnull(strstr(err.message, writer_event_to_string(table[i].ev)));
		ck_assert_ptr_nonnull(strstr(err.message, DBUS_ERROR_FAILED));
		writer_free(w);
	}
}
END_TEST

START_TEST(vetoes_map_to_writer_veto_with_their_code)
{
	static const struct {
		const char *name;
		const char *code_name;
		uint32_t code;
	} vetoes[] = {
		{ "Retryable", "VSS_E_WRITERERROR_RETRYABLE", 0x800423F3 },
		{ "NonRetryable", "VSS_E_WRITERERROR_NONRETRYABLE", 0x800423F4 },
		{ "OutOfResources", "VSS_E_WRITERERROR_OUTOFRESOURCES", 0x800423F1 },
		{ "InconsistentSnapshot", "VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT", 0x800423F0 },
		{ "Timeout", "VSS_E_WRITERERROR_TIMEOUT", 0x800423F2 },
	};
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	for (size_t i = 0; i < ELEMENTSOF(vetoes); i++) {
		Writer *w = test_writer(t, "db", NULL);
		char name[128], text[700];
		VssErr err = { 0 };

		snprintf(name, sizeof(name), WRITER_ERROR "%s", vetoes[i].name);
		writer_set_state(w, WRITER_STATE_WAITING_FOR_FREEZE);
		ck_assert_int_eq(answer(w, WRITER_EVENT_FREEZE, name, "log full", &err),
		                 -ECANCELED);
		ck_assert_str_eq(kind(&err), "WriterVeto");
		ck_assert_int_eq(err.error, -ECANCELED);
		ck_assert_str_eq(err.code_name, vetoes[i].code_name);
		ck_assert_uint_eq(err.code, vetoes[i].code);
		ck_assert_ptr_nonnull(strstr(err.message, "\"db\""));
		ck_assert_ptr_nonnull(strstr(err.message, w->id_str));
		ck_assert_ptr_nonnull(strstr(err.message, "vetoed Freeze"));
		ck_assert_ptr_nonnull(strstr(err.message, "log full"));
		/* the reply names WriterVeto, the text starts with the writer's own code */
		vss_err_format_err(&err, text, sizeof(text));
		ck_assert_ptr_nonnull(startswith(text, vetoes[i].code_name));
		ck_assert_int_eq(w->state, WRITER_STATE_FAILED_AT_FREEZE);
		ck_assert_str_eq(w->last_error, vetoes[i].code_name);
		ck_assert_str_eq(w->failure_message, "log full");
		writer_free(w);
	}
}
END_TEST

START_TEST(veto_at_prepare_snapshot_and_without_a_message)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Writer *w;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	w = test_writer(t, "db", NULL);
	ck_assert_int_eq(
		answer(w, WRITER_EVENT_PREPARE_SNAPSHOT, WRITER_ERROR "NonRetryable", NULL, &err),
		-ECANCELED);
	ck_assert_str_eq(kind(&err), "WriterVeto");
	ck_assert_str_eq(err.code_name, "VSS_E_WRITERERROR_NONRETRYABLE");
	ck_assert_ptr_nonnull(strstr(err.message, "vetoed PrepareForSnapshot"));
	ck_assert_int_eq(w->state, WRITER_STATE_FAILED_AT_PREPARE_SNAPSHOT);
	ck_assert_str_eq(w->failure_message, "");
}
END_TEST

START_TEST(veto_message_is_escaped_and_bounded)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	_cleanup_free_ char *huge = NULL;
	VssErr err = { 0 };
	Writer *w;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	w = test_writer(t, "db", NULL);
	ck_assert_int_eq(answer(w, WRITER_EVENT_FREEZE, WRITER_ERROR "Retryable",
	                        "full\n<0>forged \x1b[31mred\x1b[0m C:\\tmp \xc2\x9b", &err),
	                 -ECANCELED);
	/* kept for GatherWriterStatus, ListWriters, the document; relayed in the error reply */
	ck_assert_str_eq(w->failure_message,
	                 "full\\n<0>forged \\x1b[31mred\\x1b[0m C:\\\\tmp \\xc2\\x9b");
	ck_assert_ptr_nonnull(strstr(err.message, w->failure_message));
	ck_assert_ptr_null(strchr(err.message, '\n'));
	ck_assert_ptr_null(strchr(err.message, '\x1b'));
	writer_free(w);

	huge = malloc(100000);
	ck_assert_ptr_nonnull(huge);
	memset(huge, '\a', 99999);
	huge[99999] = 0;
	w = test_writer(t, "db", NULL);
	err = (VssErr){ 0 };
	ck_assert_int_eq(answer(w, WRITER_EVENT_FREEZE, WRITER_ERROR "Retryable", huge, &err),
	                 -ECANCELED);
	ck_assert_uint_lt(strlen(w->failure_message), 1024);
	ck_assert(startswith(w->failure_message, "\\x07\\x07"));
}
END_TEST

START_TEST(unknown_writer_error_is_not_a_veto)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Writer *w;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	w = test_writer(t, "db", NULL);
	ck_assert_int_eq(answer(w, WRITER_EVENT_FREEZE, WRITER_ERROR "Bogus", "?", &err),
	                 -ECANCELED);
	ck_assert_str_eq(kind(&err), "WriterNotResponding");
	ck_assert_ptr_null(err.code_name);
	ck_assert_str_eq(w->last_error, "VSS_E_WRITER_NOT_RESPONDING");
	ck_assert_int_eq(w->state, WRITER_STATE_FAILED_AT_FREEZE);
}
END_TEST

START_TEST(no_reply_to_freeze_is_writer_timeout)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Writer *w;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	w = test_writer(t, "db", NULL);
	writer_set_state(w, WRITER_STATE_WAITING_FOR_FREEZE);
	ck_assert_int_eq(answer(w, WRITER_EVENT_FREEZE, DBUS_ERROR_NO_REPLY,
	                        "Did not receive a reply", &err),
	                 -ECANCELED);
	ck_assert_str_eq(kind(&err), "WriterTimeout");
	ck_assert_int_eq(err.error, -ETIME);
	ck_assert_ptr_nonnull(strstr(err.message, "freeze window of 60000 ms"));
	ck_assert_ptr_nonnull(strstr(err.message, "\"db\""));
	ck_assert_str_eq(w->last_error, "VSS_E_WRITERERROR_TIMEOUT");
	ck_assert_int_eq(w->state, WRITER_STATE_FAILED_AT_FREEZE);

	/* a reply lost altogether counts as no reply */
	w = test_writer(t, "db2", NULL);
	err = (VssErr){ 0 };
	ck_assert_int_eq(writer_apply_reply(w, WRITER_EVENT_FREEZE, "x", NULL, &err), -ECANCELED);
	ck_assert_str_eq(kind(&err), "WriterTimeout");
	ck_assert_int_eq(w->state, WRITER_STATE_FAILED_AT_FREEZE);
}
END_TEST

START_TEST(no_reply_to_other_events_is_writer_not_responding)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	for (size_t i = 0; i < ELEMENTSOF(table); i++) {
		Writer *w;
		VssErr err = { 0 };

		if (table[i].ev == WRITER_EVENT_FREEZE)
			continue;
		w = test_writer(t, "db", NULL);
		ck_assert_int_eq(answer(w, table[i].ev, DBUS_ERROR_NO_REPLY, "no reply", &err),
		                 -ECANCELED);
		ck_assert_msg(streq(kind(&err), "WriterNotResponding"), "%s: %s",
		              writer_event_to_string(table[i].ev), kind(&err));
		ck_assert_str_eq(w->last_error, "VSS_E_WRITER_NOT_RESPONDING");
		ck_assert_ptr_nonnull(strstr(err.message, "did not answer"));
		writer_free(w);
	}
}
END_TEST

START_TEST(a_writer_gone_is_writer_not_responding)
{
	VssErr err = { 0 };

	ck_assert_int_eq(writer_apply_reply(NULL, WRITER_EVENT_THAW, "x", NULL, &err), -ETIMEDOUT);
	ck_assert_str_eq(kind(&err), "WriterNotResponding");
	ck_assert_ptr_nonnull(strstr(err.message, "left the bus during Thaw"));
}
END_TEST

START_TEST(failed_state_recovers_on_the_next_identify)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Writer *w;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	w = test_writer(t, "db", NULL);
	ck_assert_int_eq(answer(w, WRITER_EVENT_FREEZE, WRITER_ERROR "Retryable", "busy", NULL),
	                 -ECANCELED);
	ck_assert_int_eq(w->state, WRITER_STATE_FAILED_AT_FREEZE);
	ck_assert_str_eq(w->last_error, "VSS_E_WRITERERROR_RETRYABLE");
	/* BackupShutdown's success changes nothing */
	ck_assert_int_eq(answer(w, WRITER_EVENT_BACKUP_SHUTDOWN, NULL, NULL, NULL), 0);
	ck_assert_int_eq(w->state, WRITER_STATE_FAILED_AT_FREEZE);
	ck_assert_str_eq(w->last_error, "VSS_E_WRITERERROR_RETRYABLE");
	/* the next Identify (a new backup, or vssctl list writers) clears it */
	ck_assert_int_eq(answer(w, WRITER_EVENT_IDENTIFY, NULL, NULL, NULL), 0);
	ck_assert_int_eq(w->state, WRITER_STATE_STABLE);
	ck_assert_str_eq(w->last_error, "");
}
END_TEST

START_TEST(abort_keeps_a_failed_state)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Writer *w;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	w = test_writer(t, "db", NULL);
	ck_assert_int_eq(answer(w, WRITER_EVENT_PREPARE_SNAPSHOT, NULL, NULL, NULL), 0);
	ck_assert_int_eq(w->state, WRITER_STATE_WAITING_FOR_FREEZE);
	ck_assert_int_eq(answer(w, WRITER_EVENT_FREEZE, DBUS_ERROR_NO_REPLY, "late", NULL),
	                 -ECANCELED);
	ck_assert_int_eq(w->state, WRITER_STATE_FAILED_AT_FREEZE);
	/* Abort, answered: the failure stays visible */
	ck_assert_int_eq(answer(w, WRITER_EVENT_ABORT, NULL, NULL, NULL), 0);
	ck_assert_int_eq(w->state, WRITER_STATE_FAILED_AT_FREEZE);
	ck_assert_str_eq(w->last_error, "VSS_E_WRITERERROR_TIMEOUT");
	/* Abort failing: nothing changes either */
	ck_assert_int_eq(answer(w, WRITER_EVENT_ABORT, DBUS_ERROR_NO_REPLY, "gone", NULL),
	                 -ECANCELED);
	ck_assert_int_eq(w->state, WRITER_STATE_FAILED_AT_FREEZE);

	/* a writer that was not failed is stable after Abort */
	w = test_writer(t, "db2", NULL);
	ck_assert_int_eq(answer(w, WRITER_EVENT_FREEZE, NULL, NULL, NULL), 0);
	ck_assert_int_eq(w->state, WRITER_STATE_WAITING_FOR_THAW);
	ck_assert_int_eq(answer(w, WRITER_EVENT_ABORT, NULL, NULL, NULL), 0);
	ck_assert_int_eq(w->state, WRITER_STATE_STABLE);
}
END_TEST

START_TEST(a_full_backup_walks_the_states)
{
	static const WriterEvent order[] = {
		WRITER_EVENT_IDENTIFY,
		WRITER_EVENT_PREPARE_BACKUP,
		WRITER_EVENT_PREPARE_SNAPSHOT,
		WRITER_EVENT_FREEZE,
		WRITER_EVENT_THAW,
		WRITER_EVENT_POST_SNAPSHOT,
		WRITER_EVENT_BACKUP_COMPLETE,
		WRITER_EVENT_BACKUP_SHUTDOWN,
	};
	static const WriterState want[] = { 1, 1, 2, 3, 4, 5, 1, 1 };
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Writer *w;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	w = test_writer(t, "db", NULL);
	for (size_t i = 0; i < ELEMENTSOF(order); i++) {
		ck_assert_int_eq(answer(w, order[i], NULL, NULL, NULL), 0);
		ck_assert_int_eq(w->state, want[i]);
	}
}
END_TEST

/* ---- RegisterWriter ------------------------------------------------------------------------- */

typedef struct Info {
	DBusMessage *m;
	DBusMessageIter it, dict;
} Info;

static void info_open(Info *i)
{
	i->m = dbus_message_new_method_call(VSSD_BUS_NAME, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER,
	                                    "RegisterWriter");
	ck_assert_ptr_nonnull(i->m);
	dbus_message_iter_init_append(i->m, &i->it);
	ck_assert_int_eq(bus_dict_open(&i->it, &i->dict), 0);
}

/* name and class id (either NULL: left out) */
static void info_basic(Info *i, const char *name, const char *class_id)
{
	info_open(i);
	if (name)
		ck_assert_int_eq(bus_dict_add_string(&i->dict, "name", name), 0);
	if (class_id)
		ck_assert_int_eq(bus_dict_add_string(&i->dict, "class-id", class_id), 0);
}

/* "components": one component with the given name (NULL: none) and paths */
static void info_component(Info *i, const char *name, char *const *paths)
{
	DBusMessageIter e, v, a, c;
	const char *key = "components";

	ck_assert(dbus_message_iter_open_container(&i->dict, DBUS_TYPE_DICT_ENTRY, NULL, &e));
	ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key));
	ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "aa{sv}", &v));
	ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a));
	ck_assert(dbus_message_iter_open_container(&a, DBUS_TYPE_ARRAY, "{sv}", &c));
	if (name)
		ck_assert_int_eq(bus_dict_add_string(&c, "name", name), 0);
	ck_assert_int_eq(bus_dict_add_strv(&c, "paths", paths), 0);
	ck_assert(dbus_message_iter_close_container(&a, &c));
	ck_assert(dbus_message_iter_close_container(&v, &a));
	ck_assert(dbus_message_iter_close_container(&e, &v));
	ck_assert(dbus_message_iter_close_container(&i->dict, &e));
}

/* "components": n components "c0", "c1"... each with the same paths */
static void info_components(Info *i, size_t n, char *const *paths)
{
	DBusMessageIter e, v, a, c;
	const char *key = "components";

	ck_assert(dbus_message_iter_open_container(&i->dict, DBUS_TYPE_DICT_ENTRY, NULL, &e));
	ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key));
	ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "aa{sv}", &v));
	ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a));
	for (size_t k = 0; k < n; k++) {
		char name[24]; /* "c" and any size_t */

		snprintf(name, sizeof(name), "c%zu", k);
		ck_assert(dbus_message_iter_open_container(&a, DBUS_TYPE_ARRAY, "{sv}", &c));
		ck_assert_int_eq(bus_dict_add_string(&c, "name", name), 0);
		ck_assert_int_eq(bus_dict_add_strv(&c, "paths", paths), 0);
		ck_assert(dbus_message_iter_close_container(&a, &c));
	}
	ck_assert(dbus_message_iter_close_container(&v, &a));
	ck_assert(dbus_message_iter_close_container(&e, &v));
	ck_assert(dbus_message_iter_close_container(&i->dict, &e));
}

/* n paths "/<k>/xxx...", each len bytes long; strv_free() it */
static char **long_paths(size_t n, size_t len)
{
	char **l = calloc(n + 1, sizeof(char *));

	ck_assert_ptr_nonnull(l);
	for (size_t k = 0; k < n; k++) {
		l[k] = malloc(len + 1);
		ck_assert_ptr_nonnull(l[k]);
		memset(l[k], 'x', len);
		l[k][len] = 0;
		ck_assert_int_lt(snprintf(l[k], len, "/%zu/", k), (int)len);
		l[k][strlen(l[k])] = 'x';
	}
	return l;
}

static int info_register_uid(TestDaemon *t, Info *i, const char *owner, uid_t uid,
                             const char *object, Writer **ret, VssErr *err)
{
	BusCaller c = test_caller(owner, uid);
	DBusMessageIter it;
	Writer *w = NULL;
	int r;

	ck_assert_int_eq(bus_dict_close(&i->it, &i->dict), 0);
	ck_assert(dbus_message_iter_init(i->m, &it));
	r = writer_register(&t->d, &c, object, &it, &w, err);
	dbus_message_unref(i->m);
	if (r < 0)
		ck_assert_ptr_null(w);
	if (ret)
		*ret = w;
	return r;
}

static int info_register(TestDaemon *t, Info *i, const char *owner, const char *object,
                         Writer **ret, VssErr *err)
{
	return info_register_uid(t, i, owner, 0, object, ret, err);
}

/* Registering fails with InvalidArgument and a message that contains what */
static void assert_invalid(TestDaemon *t, Info *i, int error, const char *what)
{
	VssErr err = { 0 };

	ck_assert_int_eq(info_register(t, i, ":1.50", "/w", NULL, &err), error);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	ck_assert_msg(strstr(err.message, what), "\"%s\" lacks \"%s\"", err.message, what);
	ck_assert_uint_eq(t->d.n_writers, 0);
}

START_TEST(register_makes_a_stable_exported_writer)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	char *paths[] = { (char *)"/srv/db", NULL };
	Writer *w = NULL;
	Info i;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(bus_dict_add_string(&i.dict, "instance-name", "main"), 0);
	ck_assert_int_eq(bus_dict_add_string(&i.dict, "usage", "system-service"), 0);
	ck_assert_int_eq(bus_dict_add_u32(&i.dict, "freeze-timeout-ms", 5000), 0);
	info_component(&i, "data", paths);
	ck_assert_int_eq(info_register(t, &i, ":1.50", "/w", &w, NULL), 0);
	ck_assert_ptr_eq(writer_find(&t->d, &w->instance_id), w);
	ck_assert_int_eq(w->state, WRITER_STATE_STABLE);
	ck_assert_str_eq(w->name, "db");
	ck_assert_str_eq(w->class_id, CLASS_ID);
	ck_assert_str_eq(w->instance_name, "main");
	ck_assert_str_eq(w->usage, "system-service");
	ck_assert_uint_eq(w->freeze_timeout_ms, 5000);
	ck_assert_str_eq(w->owner, ":1.50");
	ck_assert_str_eq(w->object, "/w");
	ck_assert_str_eq(w->last_error, "");
	ck_assert_uint_eq(w->n_components, 1);
	ck_assert_str_eq(w->components[0].name, "data");
	ck_assert_str_eq(w->components[0].paths[0], "/srv/db");
	ck_assert(bus_has_object(&t->d.bus, w->path));
	ck_assert_ptr_nonnull(startswith(w->path, VSSD_ROOT_PATH "/writer/"));

	/* defaults: usage user-data, the configured freeze window */
	info_basic(&i, "fs", CLASS_ID);
	ck_assert_int_eq(info_register(t, &i, ":1.50", "/w2", &w, NULL), 0);
	ck_assert_str_eq(w->usage, "user-data");
	ck_assert_str_eq(w->instance_name, "");
	ck_assert_uint_eq(w->freeze_timeout_ms, VSSD_FREEZE_TIMEOUT_DEFAULT_MSEC);
	ck_assert_uint_eq(w->n_components, 0);
	ck_assert_uint_eq(t->d.n_writers, 2);
}
END_TEST

/* PropertiesChanged only when State or LastError changes: an Identify broadcast to writers
 * already stable sends no signal per writer. */
START_TEST(properties_changed_only_on_a_change)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Writer *w = NULL;
	VssErr err = { 0 };
	size_t n0;
	Info i;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(info_register(t, &i, ":1.50", "/w", &w, NULL), 0);
	n0 = test_daemon_count_sent(t, DBUS_MESSAGE_TYPE_SIGNAL, "PropertiesChanged");

	ck_assert_int_eq(answer(w, WRITER_EVENT_IDENTIFY, NULL, NULL, NULL), 0);
	ck_assert_int_eq(answer(w, WRITER_EVENT_PREPARE_BACKUP, NULL, NULL, NULL), 0);
	ck_assert_uint_eq(test_daemon_count_sent(t, DBUS_MESSAGE_TYPE_SIGNAL, "PropertiesChanged"),
	                  n0);
	ck_assert_int_eq(answer(w, WRITER_EVENT_PREPARE_SNAPSHOT, NULL, NULL, NULL), 0);
	ck_assert_uint_eq(test_daemon_count_sent(t, DBUS_MESSAGE_TYPE_SIGNAL, "PropertiesChanged"),
	                  n0 + 1);
	/* a veto changes State and LastError: one signal for both */
	ck_assert_int_lt(
		answer(w, WRITER_EVENT_FREEZE, VSSD_WRITER_ERROR_PREFIX "Retryable", "busy", &err),
		0);
	ck_assert_uint_eq(test_daemon_count_sent(t, DBUS_MESSAGE_TYPE_SIGNAL, "PropertiesChanged"),
	                  n0 + 2);
	ck_assert_str_eq(w->last_error, "VSS_E_WRITERERROR_RETRYABLE");
	/* Abort keeps the failure: nothing changes */
	ck_assert_int_eq(answer(w, WRITER_EVENT_ABORT, NULL, NULL, NULL), 0);
	ck_assert_uint_eq(test_daemon_count_sent(t, DBUS_MESSAGE_TYPE_SIGNAL, "PropertiesChanged"),
	                  n0 + 2);
	/* the next Identify brings it back to Stable and clears the error */
	ck_assert_int_eq(answer(w, WRITER_EVENT_IDENTIFY, NULL, NULL, NULL), 0);
	ck_assert_uint_eq(test_daemon_count_sent(t, DBUS_MESSAGE_TYPE_SIGNAL, "PropertiesChanged"),
	                  n0 + 3);
	ck_assert_str_eq(w->last_error, "");
}
END_TEST

START_TEST(register_needs_a_name)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Info i;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	info_basic(&i, NULL, CLASS_ID);
	assert_invalid(t, &i, -EINVAL, "\"name\"");
	info_basic(&i, "", CLASS_ID);
	assert_invalid(t, &i, -EINVAL, "\"name\"");
	info_basic(&i, "tab\there", CLASS_ID);
	assert_invalid(t, &i, -EINVAL, "\"name\"");
}
END_TEST

START_TEST(register_needs_a_uuid_class_id)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Info i;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	info_basic(&i, "db", NULL);
	assert_invalid(t, &i, -EINVAL, "class-id");
	info_basic(&i, "db", "not-a-uuid");
	assert_invalid(t, &i, -EINVAL, "class-id");
	info_basic(&i, "db", "5a1b2c3d-0000-4000-8000-00000000c1a"); /* one digit short */
	assert_invalid(t, &i, -EINVAL, "class-id");
}
END_TEST

START_TEST(register_refuses_unknown_usage_keys_and_types)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Info i;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	/* BUG found here: writer_register() computed usage_ok = !usage at its declaration, before
	 * bus_read_options() read "usage", so any usage was accepted (this assertion failed with
	 * "info_register(...) == 0, error == -22"); fixed in daemon/writer.c with this test */
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(bus_dict_add_string(&i.dict, "usage", "database"), 0);
	assert_invalid(t, &i, -EINVAL, "unknown usage \"database\"");

	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(bus_dict_add_string(&i.dict, "colour", "blue"), 0);
	assert_invalid(t, &i, -EINVAL, "colour");

	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(bus_dict_add_string(&i.dict, "freeze-timeout-ms", "5000"), 0);
	assert_invalid(t, &i, -EINVAL, "freeze-timeout-ms");
}
END_TEST

/* "components" with the given variant signature, one element of element_sig holding one entry
 * key -> "x" (a string): a wrongly typed nested dictionary, which the method's own signature
 * check never sees (it sits inside a variant) */
static void info_bad_components(Info *i, const char *variant_sig, const char *dict_sig,
                                const char *entry_sig, int key_type)
{
	DBusMessageIter e, v, a, c, d;
	const char *key = "components", *s = "x";
	dbus_int32_t n = 7;

	ck_assert(dbus_message_iter_open_container(&i->dict, DBUS_TYPE_DICT_ENTRY, NULL, &e));
	ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key));
	ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, variant_sig, &v));
	ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, dict_sig, &a));
	ck_assert(dbus_message_iter_open_container(&a, DBUS_TYPE_ARRAY, entry_sig, &c));
	ck_assert(dbus_message_iter_open_container(&c, DBUS_TYPE_DICT_ENTRY, NULL, &d));
	if (key_type == DBUS_TYPE_INT32)
		ck_assert(dbus_message_iter_append_basic(&d, DBUS_TYPE_INT32, &n));
	else
		ck_assert(dbus_message_iter_append_basic(&d, DBUS_TYPE_STRING, &s));
	if (entry_sig[2] == 'v') {
		DBusMessageIter x;

		ck_assert(dbus_message_iter_open_container(&d, DBUS_TYPE_VARIANT, "s", &x));
		ck_assert(dbus_message_iter_append_basic(&x, DBUS_TYPE_STRING, &s));
		ck_assert(dbus_message_iter_close_container(&d, &x));
	} else
		ck_assert(dbus_message_iter_append_basic(&d, DBUS_TYPE_STRING, &s));
	ck_assert(dbus_message_iter_close_container(&c, &d));
	ck_assert(dbus_message_iter_close_container(&a, &c));
	ck_assert(dbus_message_iter_close_container(&v, &a));
	ck_assert(dbus_message_iter_close_container(&e, &v));
	ck_assert(dbus_message_iter_close_container(&i->dict, &e));
}

/* A component as a{ss} or a{iv} is InvalidArgument (it once reached get_basic unchecked) */
START_TEST(register_refuses_wrongly_typed_components)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Info i;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	info_basic(&i, "db", CLASS_ID);
	info_bad_components(&i, "aa{ss}", "a{ss}", "{ss}", DBUS_TYPE_STRING);
	assert_invalid(t, &i, -EINVAL, "components");

	info_basic(&i, "db", CLASS_ID);
	info_bad_components(&i, "aa{iv}", "a{iv}", "{iv}", DBUS_TYPE_INT32);
	assert_invalid(t, &i, -EINVAL, "components");
}
END_TEST

/* Identify answered with components: they replace the registered ones; unusable ones do not */
START_TEST(identify_answer_updates_the_components)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	char *paths[] = { (char *)"/srv/db", NULL };
	DBusMessage *call, *reply;
	DBusMessageIter it, d;
	Writer *w = NULL;
	Info i;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	info_basic(&i, "db", CLASS_ID);
	info_component(&i, "data", paths);
	ck_assert_int_eq(info_register(t, &i, ":1.50", "/w", &w, NULL), 0);
	ck_assert_uint_eq(w->n_components, 1);

	for (int round = 0; round < 2; round++) {
		Info a;

		call = event_call(WRITER_EVENT_IDENTIFY);
		reply = dbus_message_new_method_return(call);
		ck_assert_ptr_nonnull(reply);
		dbus_message_iter_init_append(reply, &it);
		ck_assert_int_eq(bus_dict_open(&it, &d), 0);
		ck_assert_int_eq(bus_dict_add_string(&d, "name", "db"), 0);
		ck_assert_int_eq(bus_dict_add_string(&d, "vendor-key", "skipped"), 0);
		a.dict = d;
		if (round == 0) {
			char *p2[] = { (char *)"/srv/db", (char *)"/srv/wal", NULL };

			info_component(&a, "wal", p2);
		} else
			info_bad_components(&a, "aa{ss}", "a{ss}", "{ss}", DBUS_TYPE_STRING);
		d = a.dict;
		ck_assert_int_eq(bus_dict_close(&it, &d), 0);
		ck_assert_int_eq(writer_apply_reply(w, WRITER_EVENT_IDENTIFY, NULL, reply, NULL),
		                 0);
		dbus_message_unref(reply);
		dbus_message_unref(call);
		/* round 0's replace the registered "data"; round 1's unusable ones leave them */
		ck_assert_uint_eq(w->n_components, 1);
		ck_assert_str_eq(w->components[0].name, "wal");
		ck_assert_str_eq(w->components[0].paths[1], "/srv/wal");
	}
}
END_TEST

START_TEST(register_checks_component_paths)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	char *relative[] = { (char *)"/srv/db", (char *)"srv/log", NULL };
	char *fine[] = { (char *)"/srv/db", NULL };
	Info i;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	info_basic(&i, "db", CLASS_ID);
	info_component(&i, "data", relative);
	assert_invalid(t, &i, -EINVAL, "not an absolute path");

	info_basic(&i, "db", CLASS_ID);
	info_component(&i, NULL, fine);
	assert_invalid(t, &i, -EINVAL, "needs a name");
}
END_TEST

START_TEST(register_bounds_the_freeze_timeout)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Writer *w = NULL;
	Info i;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(bus_dict_add_u32(&i.dict, "freeze-timeout-ms", 99), 0);
	assert_invalid(t, &i, -ERANGE, "at least 100");

	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(bus_dict_add_u32(&i.dict, "freeze-timeout-ms", 100), 0);
	ck_assert_int_eq(info_register(t, &i, ":1.50", "/w1", &w, NULL), 0);
	ck_assert_uint_eq(w->freeze_timeout_ms, 100);

	/* the configured maximum caps what a writer asks for, and the default */
	t->d.config.writer_freeze_max = 5 * USEC_PER_SEC;
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(bus_dict_add_u32(&i.dict, "freeze-timeout-ms", 600000), 0);
	ck_assert_int_eq(info_register(t, &i, ":1.50", "/w2", &w, NULL), 0);
	ck_assert_uint_eq(w->freeze_timeout_ms, 5000);
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(info_register(t, &i, ":1.50", "/w3", &w, NULL), 0);
	ck_assert_uint_eq(w->freeze_timeout_ms, 5000);
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(bus_dict_add_u32(&i.dict, "freeze-timeout-ms", 4000), 0);
	ck_assert_int_eq(info_register(t, &i, ":1.50", "/w4", &w, NULL), 0);
	ck_assert_uint_eq(w->freeze_timeout_ms, 4000);
}
END_TEST

START_TEST(register_limits_writers_per_connection)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Info i;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	t->d.config.writers_per_connection = 2;
	for (int n = 0; n < 2; n++) {
		char object[16];

		snprintf(object, sizeof(object), "/w%d", n);
		info_basic(&i, "db", CLASS_ID);
		ck_assert_int_eq(info_register(t, &i, ":1.50", object, NULL, NULL), 0);
	}
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(info_register(t, &i, ":1.50", "/w2", NULL, &err), -E2BIG);
	ck_assert_str_eq(kind(&err), "AccessDenied");
	ck_assert_ptr_nonnull(strstr(err.message, "at most 2 writers"));
	ck_assert_uint_eq(t->d.n_writers, 2);
	/* another connection has its own count */
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(info_register(t, &i, ":1.51", "/w2", NULL, NULL), 0);
	ck_assert_uint_eq(t->d.n_writers, 3);
}
END_TEST

START_TEST(register_limits_writers_per_uid)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Info i;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	t->d.config.writers_per_uid = 3;
	/* uid 1000: two connections, three writers */
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(info_register_uid(t, &i, ":1.50", 1000, "/w0", NULL, NULL), 0);
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(info_register_uid(t, &i, ":1.50", 1000, "/w1", NULL, NULL), 0);
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(info_register_uid(t, &i, ":1.51", 1000, "/w0", NULL, NULL), 0);
	/* a fourth, from a third connection: refused, naming the limit */
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(info_register_uid(t, &i, ":1.52", 1000, "/w0", NULL, &err), -E2BIG);
	ck_assert_str_eq(kind(&err), "AccessDenied");
	ck_assert_str_eq(err.message,
	                 "uid 1000 has 3 writers registered already (writers-per-uid); "
	                 "unregister some first");
	ck_assert_uint_eq(t->d.n_writers, 3);
	/* another uid has its own count */
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(info_register_uid(t, &i, ":1.53", 1001, "/w0", NULL, NULL), 0);
	/* a connection of uid 1000 leaving makes room */
	writers_peer_gone(&t->d, ":1.50");
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(info_register_uid(t, &i, ":1.52", 1000, "/w0", NULL, NULL), 0);
	ck_assert_uint_eq(t->d.n_writers, 3);
}
END_TEST

START_TEST(register_limits_writers_in_all)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	VssErr err = { 0 };
	Info i;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	for (unsigned n = 0; n < VSSD_WRITERS_MAX; n++) {
		char owner[16], object[16];

		snprintf(owner, sizeof(owner), ":1.%u", 100 + n / VSSD_WRITERS_PER_CONNECTION_MAX);
		snprintf(object, sizeof(object), "/w%u", n % VSSD_WRITERS_PER_CONNECTION_MAX);
		info_basic(&i, "db", CLASS_ID);
		ck_assert_int_eq(info_register_uid(t, &i, owner, n / VSSD_WRITERS_PER_UID_MAX,
		                                   object, NULL, NULL),
		                 0);
	}
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(info_register_uid(t, &i, ":1.99", 4242, "/w", NULL, &err), -E2BIG);
	ck_assert_str_eq(kind(&err), "AccessDenied");
	ck_assert_msg(strstr(err.message, "1024 writers registered, the most it keeps"), "%s",
	              err.message);
	ck_assert_uint_eq(t->d.n_writers, VSSD_WRITERS_MAX);
}
END_TEST

/* components and paths: counted before they are read */
START_TEST(register_counts_components_and_paths)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	_cleanup_strv_free_ char **many = long_paths(VSSD_PATHS_PER_COMPONENT_MAX + 1, 8);
	_cleanup_strv_free_ char **one = long_paths(1, 8);
	Writer *w = NULL;
	Info i;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	info_basic(&i, "db", CLASS_ID);
	info_components(&i, VSSD_COMPONENTS_PER_WRITER_MAX + 1, one);
	assert_invalid(t, &i, -E2BIG, "\"components\" has 257 elements; at most 256");

	info_basic(&i, "db", CLASS_ID);
	info_component(&i, "data", many);
	assert_invalid(t, &i, -E2BIG, "\"paths\" has 257 elements; at most 256");

	/* at the limits: taken */
	free(many[VSSD_PATHS_PER_COMPONENT_MAX]);
	many[VSSD_PATHS_PER_COMPONENT_MAX] = NULL;
	info_basic(&i, "db", CLASS_ID);
	info_components(&i, 2, many);
	ck_assert_int_eq(info_register(t, &i, ":1.50", "/w1", &w, NULL), 0);
	ck_assert_uint_eq(w->n_components, 2);
	ck_assert_uint_eq(strv_length(w->components[1].paths), VSSD_PATHS_PER_COMPONENT_MAX);
	info_basic(&i, "db", CLASS_ID);
	info_components(&i, VSSD_COMPONENTS_PER_WRITER_MAX, one);
	ck_assert_int_eq(info_register(t, &i, ":1.50", "/w2", &w, NULL), 0);
	ck_assert_uint_eq(w->n_components, VSSD_COMPONENTS_PER_WRITER_MAX);
}
END_TEST

/* the bytes of metadata vssd keeps: per uid, and for all writers */
START_TEST(register_limits_writer_metadata)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	/* 256 paths of 4000 bytes: about 1 MiB per component */
	_cleanup_strv_free_ char **paths = long_paths(VSSD_PATHS_PER_COMPONENT_MAX, 4000);
	Writer *w = NULL;
	VssErr err = { 0 };
	Info i;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	/* one writer over the per-uid limit alone */
	info_basic(&i, "huge", CLASS_ID);
	info_components(&i, 5, paths);
	ck_assert_int_eq(info_register_uid(t, &i, ":1.50", 1000, "/w", NULL, &err), -E2BIG);
	ck_assert_str_eq(kind(&err), "AccessDenied");
	ck_assert_msg(strstr(err.message, "writer \"huge\" would take the writer metadata vssd "
	                                  "keeps past 4194304 bytes for uid 1000"),
	              "%s", err.message);
	ck_assert_uint_eq(t->d.n_writers, 0);

	/* 3 MiB for uid 1000, then 2 more are over its 4 MiB; another uid still has room */
	info_basic(&i, "big", CLASS_ID);
	info_components(&i, 3, paths);
	ck_assert_int_eq(info_register_uid(t, &i, ":1.50", 1000, "/w", &w, NULL), 0);
	ck_assert_uint_gt(w->metadata_bytes, 3 * 1000000);
	info_basic(&i, "big2", CLASS_ID);
	info_components(&i, 2, paths);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(info_register_uid(t, &i, ":1.51", 1000, "/w", NULL, &err), -E2BIG);
	ck_assert_str_eq(kind(&err), "AccessDenied");
	ck_assert_uint_eq(t->d.n_writers, 1);

	/* uids 1001..1004 take 3 MiB each: 15 MiB in all, so 2 more of uid 1005 are refused */
	for (uid_t u = 1001; u <= 1004; u++) {
		char owner[16];

		snprintf(owner, sizeof(owner), ":1.%u", (unsigned)u);
		info_basic(&i, "big", CLASS_ID);
		info_components(&i, 3, paths);
		ck_assert_int_eq(info_register_uid(t, &i, owner, u, "/w", NULL, NULL), 0);
	}
	info_basic(&i, "big", CLASS_ID);
	info_components(&i, 2, paths);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(info_register_uid(t, &i, ":1.2000", 1005, "/w", NULL, &err), -E2BIG);
	ck_assert_str_eq(kind(&err), "AccessDenied");
	ck_assert_msg(strstr(err.message, "or 16777216 bytes in all"), "%s", err.message);
	ck_assert_uint_eq(t->d.n_writers, 5);

	/* uid 1000's writer leaving gives its bytes back */
	writers_peer_gone(&t->d, ":1.50");
	info_basic(&i, "big", CLASS_ID);
	info_components(&i, 2, paths);
	ck_assert_int_eq(info_register_uid(t, &i, ":1.2000", 1005, "/w", NULL, NULL), 0);
}
END_TEST

START_TEST(register_refuses_a_duplicate_object_path)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Writer *first = NULL;
	VssErr err = { 0 };
	Info i;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(info_register(t, &i, ":1.50", "/w", &first, NULL), 0);
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(info_register(t, &i, ":1.50", "/w", NULL, &err), -EEXIST);
	ck_assert_str_eq(kind(&err), "ObjectAlreadyExists");
	ck_assert_ptr_nonnull(strstr(err.message, first->id_str));
	ck_assert_uint_eq(t->d.n_writers, 1);
	/* the same path on another connection is another writer */
	info_basic(&i, "db", CLASS_ID);
	ck_assert_int_eq(info_register(t, &i, ":1.51", "/w", NULL, NULL), 0);
	ck_assert_uint_eq(t->d.n_writers, 2);
}
END_TEST

START_TEST(a_connection_leaving_unregisters_its_writers)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	char path[128];
	Writer *a, *c;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	a = test_writer(t, "a", ":1.50");
	(void)test_writer(t, "b", ":1.51");
	c = test_writer(t, "c", ":1.50");
	snprintf(path, sizeof(path), "%s", a->path);
	(void)c;
	writers_peer_gone(&t->d, ":1.50");
	ck_assert_uint_eq(t->d.n_writers, 1);
	ck_assert_str_eq(t->d.writers[0]->name, "b");
	ck_assert(!bus_has_object(&t->d.bus, path));
	writers_peer_gone(&t->d, ":1.99");
	ck_assert_uint_eq(t->d.n_writers, 1);
}
END_TEST

static void count_done(WriterBroadcast *b, int r, const VssErr *err, void *userdata)
{
	(*(unsigned *)userdata)++;
}

/* dbus-daemon refuses more than 128 pending replies per connection: the calls in flight are
 * capped for all broadcasts together, and a broadcast that waits for room goes on when another
 * one ends. The writers here never answer, so every call sent stays in flight. */
START_TEST(broadcasts_share_one_cap_of_calls_in_flight)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	_cleanup_(fake_bus_freep) FakeBus *bus = NULL;
	WriterBroadcast *a = NULL, *b = NULL;
	WriterEventArgs args = { .set_id = "6f1c2d3e-0000-4000-8000-00000000000a" };
	VssId ids[50];
	DBusConnection *conn;
	unsigned done = 0;
	Info i;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	ck_assert_int_eq(fake_bus_start(&bus), 0);
	conn = dbus_connection_open_private(fake_bus_address(bus), NULL);
	ck_assert_ptr_nonnull(conn);
	ck_assert(dbus_bus_register(conn, NULL));
	t->d.bus.conn = conn;
	for (unsigned k = 0; k < ELEMENTSOF(ids); k++) {
		char owner[32];
		Writer *w;

		snprintf(owner, sizeof(owner), ":1.%u", 100 + k);
		info_basic(&i, "db", CLASS_ID);
		ck_assert_int_eq(info_register_uid(t, &i, owner, 0, "/w0", &w, NULL), 0);
		ids[k] = w->instance_id;
	}
	ck_assert_int_eq(writer_broadcast_start(&t->d, WRITER_EVENT_IDENTIFY, ids, 50, &args,
	                                        count_done, &done, &a),
	                 0);
	ck_assert_uint_eq(t->d.writer_calls, 50);
	/* the second broadcast gets the room that is left, not 64 of its own */
	ck_assert_int_eq(writer_broadcast_start(&t->d, WRITER_EVENT_IDENTIFY, ids, 50, &args,
	                                        count_done, &done, &b),
	                 0);
	ck_assert_uint_eq(t->d.writer_calls, VSSD_PENDING_CALLS_MAX);
	/* a notification nobody waits for waits its turn too */
	args.set_id = "6f1c2d3e-0000-4000-8000-00000000000b";
	ck_assert_int_eq(
		writer_broadcast_start(&t->d, WRITER_EVENT_ABORT, ids, 50, &args, NULL, NULL, NULL),
		0);
	ck_assert_uint_eq(t->d.writer_calls, VSSD_PENDING_CALLS_MAX);
	ck_assert_uint_eq(t->d.n_bcasts, 3);
	/* the first one ends: the others go on, oldest first, up to the cap again */
	writer_broadcast_cancel(a);
	ck_assert_uint_eq(t->d.writer_calls, VSSD_PENDING_CALLS_MAX - 50);
	ck_assert_int_ge(sd_event_run(t->d.event, 0), 0);
	ck_assert_uint_eq(t->d.writer_calls, VSSD_PENDING_CALLS_MAX);
	writer_broadcast_cancel(b);
	ck_assert_int_ge(sd_event_run(t->d.event, 0), 0);
	ck_assert_uint_eq(t->d.writer_calls, 50); /* all of the notification */
	ck_assert_uint_eq(t->d.n_bcasts, 1);
	ck_assert_uint_eq(done, 0);
	/* shutdown frees what nobody waits for */
	writer_broadcasts_done(&t->d);
	ck_assert_uint_eq(t->d.writer_calls, 0);
	ck_assert_uint_eq(t->d.n_bcasts, 0);
	t->d.bus.conn = NULL;
	dbus_connection_close(conn);
	dbus_connection_unref(conn);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("writer",
	TEST(broadcasts_share_one_cap_of_calls_in_flight)
	TEST(state_numbers_and_names_are_vss_writer_state)
	TEST(success_moves_to_the_event_state)
	TEST(failure_moves_to_the_event_failed_state)
	TEST(vetoes_map_to_writer_veto_with_their_code)
	TEST(veto_at_prepare_snapshot_and_without_a_message)
	TEST(veto_message_is_escaped_and_bounded)
	TEST(unknown_writer_error_is_not_a_veto)
	TEST(no_reply_to_freeze_is_writer_timeout)
	TEST(no_reply_to_other_events_is_writer_not_responding)
	TEST(a_writer_gone_is_writer_not_responding)
	TEST(failed_state_recovers_on_the_next_identify)
	TEST(abort_keeps_a_failed_state)
	TEST(a_full_backup_walks_the_states)
	TEST(register_makes_a_stable_exported_writer) TEST(properties_changed_only_on_a_change) TEST(identify_answer_updates_the_components)
	TEST(register_needs_a_name)
	TEST(register_needs_a_uuid_class_id)
	TEST(register_refuses_unknown_usage_keys_and_types) TEST(register_refuses_wrongly_typed_components)
	TEST(register_checks_component_paths)
	TEST(register_bounds_the_freeze_timeout)
	TEST(register_limits_writers_per_connection)
	TEST(register_limits_writers_per_uid)
	TEST(register_limits_writers_in_all)
	TEST(register_counts_components_and_paths)
	TEST(register_limits_writer_metadata)
	TEST(register_refuses_a_duplicate_object_path)
	TEST(a_connection_leaving_unregisters_its_writers))
/* clang-format on */
