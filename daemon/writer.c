/* SPDX-License-Identifier: GPL-2.0-or-later */
/* writer.c - registered writers: registry, VSS_WRITER_STATE, and events sent to many in parallel */
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/escape.h"
#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/writer-internal.h"
#include "daemon/writer.h"

static const char *const state_names[_WRITER_STATE_MAX] = {
	[WRITER_STATE_UNKNOWN] = "Unknown",
	[WRITER_STATE_STABLE] = "Stable",
	[WRITER_STATE_WAITING_FOR_FREEZE] = "Waiting for freeze",
	[WRITER_STATE_WAITING_FOR_THAW] = "Waiting for thaw",
	[WRITER_STATE_WAITING_FOR_POST_SNAPSHOT] = "Waiting for post snapshot",
	[WRITER_STATE_WAITING_FOR_BACKUP_COMPLETE] = "Waiting for completion",
	[WRITER_STATE_FAILED_AT_IDENTIFY] = "Failed at identify",
	[WRITER_STATE_FAILED_AT_PREPARE_BACKUP] = "Failed at prepare backup",
	[WRITER_STATE_FAILED_AT_PREPARE_SNAPSHOT] = "Failed at prepare snapshot",
	[WRITER_STATE_FAILED_AT_FREEZE] = "Failed at freeze",
	[WRITER_STATE_FAILED_AT_THAW] = "Failed at thaw",
	[WRITER_STATE_FAILED_AT_POST_SNAPSHOT] = "Failed at post snapshot",
	[WRITER_STATE_FAILED_AT_BACKUP_COMPLETE] = "Failed at backup complete",
	[WRITER_STATE_FAILED_AT_PRE_RESTORE] = "Failed at pre restore",
	[WRITER_STATE_FAILED_AT_POST_RESTORE] = "Failed at post restore",
	[WRITER_STATE_FAILED_AT_BACKUPSHUTDOWN] = "Failed at backup shutdown",
};

/* Bytes of a writer's failure message as vssd keeps and relays it, escaped, NUL included */
#define WRITER_MESSAGE_MAX 1024

static const struct {
	const char *method;
	const char *sig;
	WriterState ok;     /* state after success (UNKNOWN: unchanged) */
	WriterState failed; /* state after failure */
	bool strict;        /* the first failure ends the broadcast */
} events[_WRITER_EVENT_MAX] = {
	[WRITER_EVENT_IDENTIFY] = { "Identify", "", WRITER_STATE_STABLE,
	                            WRITER_STATE_FAILED_AT_IDENTIFY, false },
	[WRITER_EVENT_PREPARE_BACKUP] = { "PrepareForBackup", "a{sv}", WRITER_STATE_STABLE,
	                                  WRITER_STATE_FAILED_AT_PREPARE_BACKUP, true },
	[WRITER_EVENT_PREPARE_SNAPSHOT] = { "PrepareForSnapshot", "sas",
	                                    WRITER_STATE_WAITING_FOR_FREEZE,
	                                    WRITER_STATE_FAILED_AT_PREPARE_SNAPSHOT, true },
	[WRITER_EVENT_FREEZE] = { "Freeze", "s", WRITER_STATE_WAITING_FOR_THAW,
	                          WRITER_STATE_FAILED_AT_FREEZE, true },
	[WRITER_EVENT_THAW] = { "Thaw", "s", WRITER_STATE_WAITING_FOR_POST_SNAPSHOT,
	                        WRITER_STATE_FAILED_AT_THAW, true },
	[WRITER_EVENT_POST_SNAPSHOT] = { "PostSnapshot", "sa{ss}",
	                                 WRITER_STATE_WAITING_FOR_BACKUP_COMPLETE,
	                                 WRITER_STATE_FAILED_AT_POST_SNAPSHOT, true },
	[WRITER_EVENT_ABORT] = { "Abort", "s", WRITER_STATE_STABLE, WRITER_STATE_UNKNOWN, false },
	[WRITER_EVENT_BACKUP_COMPLETE] = { "BackupComplete", "sb", WRITER_STATE_STABLE,
	                                   WRITER_STATE_FAILED_AT_BACKUP_COMPLETE, false },
	[WRITER_EVENT_BACKUP_SHUTDOWN] = { "BackupShutdown", "s", WRITER_STATE_UNKNOWN,
	                                   WRITER_STATE_FAILED_AT_BACKUPSHUTDOWN, false },
	/* optional, and never a failure: BackupComplete follows (writer_apply_reply()) */
	[WRITER_EVENT_BACKUP_RESULTS] = { "BackupResults", "saa{sv}", WRITER_STATE_UNKNOWN,
	                                  WRITER_STATE_UNKNOWN, false },
	/* a restore: a veto fails that writer's components, not the others (daemon/restore.c) */
	[WRITER_EVENT_PRE_RESTORE] = { "PreRestore", "sa{sv}", WRITER_STATE_STABLE,
	                               WRITER_STATE_FAILED_AT_PRE_RESTORE, false },
	[WRITER_EVENT_POST_RESTORE] = { "PostRestore", "sa{sv}", WRITER_STATE_STABLE,
	                                WRITER_STATE_FAILED_AT_POST_RESTORE, false },
};

/* The VSS_E_WRITERERROR_* a writer may veto with */
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

const char *writer_state_to_string(WriterState s)
{
	return s >= 0 && s < _WRITER_STATE_MAX ? state_names[s] : NULL;
}

const char *writer_event_to_string(WriterEvent e)
{
	return e >= 0 && e < _WRITER_EVENT_MAX ? events[e].method : NULL;
}

/* ---- registry -------------------------------------------------------------------------------- */

Writer *writer_find(Daemon *d, const VssId *instance_id)
{
	for (size_t i = 0; i < d->n_writers; i++)
		if (vssid_equal(&d->writers[i]->instance_id, instance_id))
			return d->writers[i];
	return NULL;
}

Writer *writer_free(Writer *w)
{
	if (!w)
		return NULL;
	for (size_t i = 0; i < w->d->n_writers; i++)
		if (w->d->writers[i] == w) {
			memmove(w->d->writers + i, w->d->writers + i + 1,
			        (w->d->n_writers - i - 1) * sizeof(Writer *));
			w->d->n_writers--;
			break;
		}
	if (w->exported)
		bus_remove_object(&w->d->bus, w->path);
	writer_components_free(w->components, w->n_components);
	writer_model_done(&w->model);
	w->paths_job = path_job_unref(w->paths_job);
	free(w->gids);
	free(w->owner);
	free(w->object);
	free(w->name);
	free(w->class_id);
	free(w->instance_name);
	free(w->usage);
	free(w->last_error);
	free(w->failure_message);
	free(w);
	return NULL;
}

void writers_peer_gone(Daemon *d, const char *name)
{
	for (size_t i = d->n_writers; i-- > 0;)
		if (streq(d->writers[i]->owner, name)) {
			log_writer_notice(d->writers[i]->id_str, NULL,
			                  "%s left the bus, unregistered", d->writers[i]->name);
			writer_free(d->writers[i]);
		}
}

/* writer_update: the new state and, unless NULL, the new last error; one PropertiesChanged
 * when either differs (a broadcast to 200 writers that changes nothing emits nothing). */
void writer_update(Writer *w, WriterState s, const char *last_error)
{
	static const char *const changed[] = { "State", "StateName", "LastError", NULL };
	bool differs = w->state != s;

	w->state = s;
	if (last_error && !streq_ptr(w->last_error, last_error)) {
		free(w->last_error);
		w->last_error = strdup(last_error);
		differs = true;
	}
	if (differs && w->exported)
		bus_emit_properties_changed(&w->d->bus, w->path, VSSD_IFACE_WRITER, changed);
}

void writer_set_state(Writer *w, WriterState s)
{
	writer_update(w, s, NULL);
}

/* (Re)starts the look-up of the devices of w's component paths and files, as w's owner. */
int writer_resolve_paths(Writer *w)
{
	_cleanup_strv_free_ char **all = calloc(1, sizeof(char *));
	int r;

	if (!all)
		return -ENOMEM;
	/* per component: its paths, then the paths of its files (writer-dbus.c counts on it) */
	for (size_t i = 0; i < w->n_components; i++) {
		for (char **p = w->components[i].paths; p && *p; p++) {
			r = strv_extend(&all, *p); /* bounded: VSSD_PATHS_PER_COMPONENT_MAX each */
			if (r < 0)
				return r;
		}
		for (size_t f = 0; f < w->components[i].n_files; f++) {
			r = strv_extend(&all, w->components[i].files[f].path); /* likewise */
			if (r < 0)
				return r;
		}
	}
	w->paths_job = path_job_unref(w->paths_job);
	return path_job_start(w->uid, w->gids, w->n_gids, all, &w->paths_job);
}

int writer_path_devices(Writer *w, usec_t deadline, const dev_t **ret_devs, size_t *ret_n)
{
	if (!w->paths_job)
		return -EINPROGRESS;
	return path_job_result(w->paths_job, deadline, ret_devs, ret_n);
}

bool writer_has_component(const Writer *w, const char *name)
{
	for (size_t i = 0; i < w->n_components; i++)
		if (streq(w->components[i].name, name))
			return true;
	return false;
}

/* ---- broadcasts ------------------------------------------------------------------------------ */

typedef struct Call {
	WriterBroadcast *b;
	size_t idx;
} Call;

struct WriterBroadcast {
	Daemon *d;
	WriterEvent ev;
	char *set_id;
	char *backup_type;
	char *context;
	char **volumes;
	char **devices;
	char **components;      /* PrepareForBackup: the selection, pairs (instance id, name) */
	char **previous_stamps; /* PrepareForBackup: (instance id, name, stamp) */
	char **results;         /* BackupResults: (instance id, name, "1"/"0", failure message) */
	WriterAnswerFn answer;
	bool success;
	bool lenient; /* continue_on_failure */
	int (*append_info)(const Writer *w, DBusMessageIter *it, void *info_userdata);
	void *info_userdata;
	VssId *ids;
	size_t n;
	size_t next;
	unsigned in_flight;
	size_t answered;
	DBusPendingCall **pending;
	WriterDoneFn done;
	void *userdata;
	bool finished;
};

static void broadcast_send_more(WriterBroadcast *b);

/* Calls in flight are capped for all broadcasts together, oldest broadcast first: when one
 * ends or gets an answer, the pump (deferred, so that no callback runs inside another) lets
 * the waiting ones send. */
static int on_pump(sd_event_source *es, void *userdata)
{
	Daemon *d = userdata;
	bool progress = true;

	while (progress && d->writer_calls < VSSD_PENDING_CALLS_MAX) {
		progress = false;
		for (size_t i = 0; i < d->n_bcasts; i++) {
			WriterBroadcast *b = d->bcasts[i];

			if (b->finished || b->next >= b->n)
				continue;
			broadcast_send_more(b); /* may end broadcasts: start over */
			progress = true;
			break;
		}
	}
	return 0;
}

static void pump_schedule(Daemon *d)
{
	if (!d->event || d->stopping)
		return;
	if (d->bcast_pump)
		(void)sd_event_source_set_enabled(d->bcast_pump, SD_EVENT_ONESHOT);
	else if (sd_event_add_defer(d->event, &d->bcast_pump, on_pump, d) < 0)
		log_error("cannot schedule the writer calls that wait for room");
}

static void broadcast_register(WriterBroadcast *b)
{
	Daemon *d = b->d;
	WriterBroadcast **n = reallocarray(d->bcasts, d->n_bcasts + 1, sizeof(*n));

	if (!n)
		return; /* it still runs; only the pump does not see it */
	d->bcasts = n;
	d->bcasts[d->n_bcasts++] = b;
}

static void broadcast_unregister(WriterBroadcast *b)
{
	Daemon *d = b->d;

	for (size_t i = 0; i < d->n_bcasts; i++)
		if (d->bcasts[i] == b) {
			memmove(d->bcasts + i, d->bcasts + i + 1,
			        (d->n_bcasts - i - 1) * sizeof(*d->bcasts));
			d->n_bcasts--;
			break;
		}
}

static void broadcast_free(WriterBroadcast *b)
{
	bool freed = false;

	broadcast_unregister(b);
	for (size_t i = 0; i < b->n; i++)
		if (b->pending && b->pending[i]) {
			dbus_pending_call_cancel(b->pending[i]);
			dbus_pending_call_unref(b->pending[i]);
			b->d->writer_calls--;
			freed = true;
		}
	if (freed && b->d->n_bcasts > 0)
		pump_schedule(b->d);
	free(b->pending);
	free(b->ids);
	free(b->set_id);
	free(b->backup_type);
	free(b->context);
	strv_free(b->volumes);
	strv_free(b->components);
	strv_free(b->previous_stamps);
	strv_free(b->results);
	strv_free(b->devices);
	free(b);
}

WriterEvent writer_broadcast_event(const WriterBroadcast *b)
{
	return b->ev;
}

void writer_broadcast_cancel(WriterBroadcast *b)
{
	if (b)
		broadcast_free(b);
}

void writer_broadcasts_done(Daemon *d)
{
	d->stopping = true;
	/* what is left is nobody's: the owners of the others freed theirs with their sets */
	while (d->n_bcasts > 0)
		broadcast_free(d->bcasts[d->n_bcasts - 1]);
	free(d->bcasts);
	d->bcasts = NULL;
	d->bcast_pump = sd_event_source_disable_unref(d->bcast_pump);
}

/* "previous-backup-stamps" a{ss}: component name -> the stamp previous-document has for it, for
 * w's components only (none: the key is left out, as older vssd did) */
static int dict_add_previous_stamps(DBusMessageIter *dict, const WriterBroadcast *b,
                                    const Writer *w)
{
	DBusMessageIter e, v, a, kv;
	const char *key = "previous-backup-stamps";
	bool any = false;

	for (char **p = b->previous_stamps; p && p[0] && p[1] && p[2]; p += 3)
		any = any || streq(p[0], w->id_str);
	if (!any)
		return 0;
	if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
	    !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key) ||
	    !dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "a{ss}", &v) ||
	    !dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "{ss}", &a))
		return -ENOMEM;
	for (char **p = b->previous_stamps; p && p[0] && p[1] && p[2]; p += 3)
		if (streq(p[0], w->id_str) &&
		    (!dbus_message_iter_open_container(&a, DBUS_TYPE_DICT_ENTRY, NULL, &kv) ||
		     bus_append_string(&kv, p[1]) < 0 || bus_append_string(&kv, p[2]) < 0 ||
		     !dbus_message_iter_close_container(&a, &kv)))
			return -ENOMEM;
	if (!dbus_message_iter_close_container(&v, &a) ||
	    !dbus_message_iter_close_container(&e, &v) ||
	    !dbus_message_iter_close_container(dict, &e))
		return -ENOMEM;
	return 0;
}

/* BackupResults' aa{sv}: w's components in the backup, each with name, logical-path,
 * succeeded and, when the component failed with a message, failure-message */
static int append_results(DBusMessageIter *it, const WriterBroadcast *b, const Writer *w)
{
	DBusMessageIter a, c;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "a{sv}", &a))
		return -ENOMEM;
	for (char **p = b->results; p && p[0] && p[1] && p[2] && p[3]; p += 4) {
		const char *lp = "";

		if (!streq(p[0], w->id_str))
			continue;
		for (size_t i = 0; i < w->n_components; i++)
			if (streq(w->components[i].name, p[1]))
				lp = strempty(w->components[i].logical_path);
		if (bus_dict_open(&a, &c) < 0 || bus_dict_add_string(&c, "name", p[1]) < 0 ||
		    bus_dict_add_string(&c, "logical-path", lp) < 0 ||
		    bus_dict_add_bool(&c, "succeeded", streq(p[2], "1")) < 0 ||
		    (p[3][0] && bus_dict_add_string(&c, "failure-message", p[3]) < 0) ||
		    bus_dict_close(&a, &c) < 0)
			return -ENOMEM;
	}
	return dbus_message_iter_close_container(it, &a) ? 0 : -ENOMEM;
}

static int append_args(WriterBroadcast *b, const Writer *w, DBusMessage *m)
{
	DBusMessageIter it, a, e;
	const char *set = b->set_id;

	dbus_message_iter_init_append(m, &it);
	switch (b->ev) {
	case WRITER_EVENT_IDENTIFY:
		return 0;
	case WRITER_EVENT_PREPARE_BACKUP:
		if (bus_dict_open(&it, &a) < 0 || bus_dict_add_string(&a, "set", set) < 0 ||
		    bus_dict_add_string(&a, "backup-type", b->backup_type) < 0 ||
		    bus_dict_add_string(&a, "context", b->context) < 0 ||
		    writer_dict_add_components(&a, w, b->components, true) < 0 ||
		    dict_add_previous_stamps(&a, b, w) < 0 || bus_dict_close(&it, &a) < 0)
			return -ENOMEM;
		return 0;
	case WRITER_EVENT_PREPARE_SNAPSHOT:
		if (bus_append_string(&it, set) < 0 ||
		    !dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "s", &a))
			return -ENOMEM;
		for (char **v = b->volumes; v && *v; v++)
			if (bus_append_string(&a, *v) < 0)
				return -ENOMEM;
		return dbus_message_iter_close_container(&it, &a) ? 0 : -ENOMEM;
	case WRITER_EVENT_POST_SNAPSHOT:
		if (bus_append_string(&it, set) < 0 ||
		    !dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{ss}", &a))
			return -ENOMEM;
		for (char **v = b->devices; v && v[0] && v[1]; v += 2)
			if (!dbus_message_iter_open_container(&a, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
			    bus_append_string(&e, v[0]) < 0 || bus_append_string(&e, v[1]) < 0 ||
			    !dbus_message_iter_close_container(&a, &e))
				return -ENOMEM;
		return dbus_message_iter_close_container(&it, &a) ? 0 : -ENOMEM;
	case WRITER_EVENT_BACKUP_COMPLETE:
		if (bus_append_string(&it, set) < 0 || bus_append_bool(&it, b->success) < 0)
			return -ENOMEM;
		return 0;
	case WRITER_EVENT_BACKUP_RESULTS:
		if (bus_append_string(&it, set) < 0)
			return -ENOMEM;
		return append_results(&it, b, w);
	case WRITER_EVENT_PRE_RESTORE:
	case WRITER_EVENT_POST_RESTORE:
		if (bus_append_string(&it, set) < 0)
			return -ENOMEM;
		if (b->append_info)
			return b->append_info(w, &it, b->info_userdata);
		return bus_dict_open(&it, &a) < 0 || bus_dict_close(&it, &a) < 0 ? -ENOMEM : 0;
	case WRITER_EVENT_FREEZE:
	case WRITER_EVENT_THAW:
	case WRITER_EVENT_ABORT:
	case WRITER_EVENT_BACKUP_SHUTDOWN:
		return bus_append_string(&it, set);
	case _WRITER_EVENT_MAX:
	case _WRITER_EVENT_INVALID:
		break;
	}
	return -EINVAL;
}

static void broadcast_send_more(WriterBroadcast *b);

static void broadcast_finish(WriterBroadcast *b, int r, const VssErr *err)
{
	if (b->finished)
		return;
	b->finished = true;
	if (b->done)
		b->done(b, r, err, b->userdata); /* may cancel (free) b */
	else
		broadcast_free(b);
}

int writer_answer_unusable(Writer *w, WriterEvent event, const char *set_id, VssErr *err)
{
	char msg[WRITER_MESSAGE_MAX];

	(void)text_escape_buf(err->message, 0, msg, sizeof(msg));
	free(w->failure_message);
	w->failure_message = strdup(msg);
	writer_update(
		w, events[event].failed != WRITER_STATE_UNKNOWN ? events[event].failed : w->state,
		"VSS_E_WRITERERROR_NONRETRYABLE");
	*err = (VssErr){ 0 }; /* what was wrong (kept in msg) becomes the writer's veto */
	vss_err_set(err, VSS_ERROR_WRITER_VETO, -ECANCELED,
	            "writer \"%s\" (%s) answered %s with unusable component data: %s", w->name,
	            w->id_str, events[event].method, msg);
	err->code_name = "VSS_E_WRITERERROR_NONRETRYABLE";
	err->code = 0x800423F4;
	(void)log_writer_full_errno(w->id_str, set_id, LOG_WARNING, 0, "%s failed: %s",
	                            events[event].method, err->message);
	return -ECANCELED;
}

int writer_apply_reply(Writer *w, WriterEvent event, const char *set_id, DBusMessage *reply,
                       VssErr *err)
{
	const char *ev = events[event].method;
	const char *ename, *emsg = NULL, *code = NULL;
	char msg[WRITER_MESSAGE_MAX];

	if (!w)
		return vss_err_set(err, VSS_ERROR_WRITER_NOT_RESPONDING, -ETIMEDOUT,
		                   "a writer left the bus during %s", ev);
	/* a writer without restore handlers has nothing to do at a restore */
	if ((event == WRITER_EVENT_PRE_RESTORE || event == WRITER_EVENT_POST_RESTORE) && reply &&
	    dbus_message_is_error(reply, DBUS_ERROR_UNKNOWN_METHOD)) {
		writer_update(w, WRITER_STATE_STABLE, "");
		return 0;
	}
	if (reply && dbus_message_get_type(reply) != DBUS_MESSAGE_TYPE_ERROR) {
		/* Identify changes nothing in a session under way (as in VSS, where it must not
		 * change state): it only brings a failed writer back to Stable. Abort keeps a
		 * failure visible to the requester's next GatherWriterStatus. */
		bool failed = w->state >= WRITER_STATE_FAILED_AT_IDENTIFY;
		bool keep = (event == WRITER_EVENT_ABORT && failed) ||
		            (event == WRITER_EVENT_IDENTIFY && !failed &&
		             w->state != WRITER_STATE_UNKNOWN);

		bool clear = (event == WRITER_EVENT_IDENTIFY && failed) ||
		             event == WRITER_EVENT_PREPARE_BACKUP ||
		             event == WRITER_EVENT_PRE_RESTORE;

		if (event == WRITER_EVENT_IDENTIFY && reply)
			writer_identify_update(w, reply);

		writer_update(w,
		              events[event].ok != WRITER_STATE_UNKNOWN && !keep ? events[event].ok
		                                                                : w->state,
		              clear ? "" : NULL);
		return 0;
	}
	ename = reply ? dbus_message_get_error_name(reply) : DBUS_ERROR_NO_REPLY;
	if (reply)
		(void)dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &emsg,
		                            DBUS_TYPE_INVALID);
	if (event == WRITER_EVENT_BACKUP_RESULTS) {
		/* optional: a writer without it (UnknownMethod) has nothing to do, and any other
		 * error is only logged: BackupComplete follows and decides */
		(void)text_escape_buf(bus_safe_string(emsg), 0, msg, sizeof(msg));
		if (!streq(ename, DBUS_ERROR_UNKNOWN_METHOD))
			log_writer_notice(w->id_str, set_id, "BackupResults failed: %s: %s",
			                  bus_safe_string(ename), msg);
		return 0;
	}
	/* The writer's words go to the log, to requesters (the error reply, GatherWriterStatus,
	 * ListWriters, the backup document): escaped once, here, and bounded (DESIGN §6). */
	(void)text_escape_buf(bus_safe_string(emsg), 0, msg, sizeof(msg));
	free(w->failure_message);
	w->failure_message = strdup(msg);

	if (startswith(ename, VSSD_WRITER_ERROR_PREFIX)) {
		const char *kind = ename + strlen(VSSD_WRITER_ERROR_PREFIX);

		for (size_t i = 0; i < ELEMENTSOF(vetoes); i++)
			if (streq(kind, vetoes[i].name)) {
				code = vetoes[i].code_name;
				vss_err_set(err, VSS_ERROR_WRITER_VETO, -ECANCELED,
				            "writer \"%s\" (%s) vetoed %s: %s", w->name, w->id_str,
				            ev, msg);
				if (err) {
					err->code_name = vetoes[i].code_name;
					err->code = vetoes[i].code;
				}
				break;
			}
	}
	if (!code && streq(ename, DBUS_ERROR_NO_REPLY) && event == WRITER_EVENT_FREEZE) {
		code = "VSS_E_WRITERERROR_TIMEOUT";
		vss_err_set(err, VSS_ERROR_WRITER_TIMEOUT, -ETIME,
		            "writer \"%s\" (%s) did not finish Freeze within its freeze window of "
		            "%u ms",
		            w->name, w->id_str, w->freeze_timeout_ms);
	}
	if (!code) {
		code = "VSS_E_WRITER_NOT_RESPONDING";
		vss_err_set(err, VSS_ERROR_WRITER_NOT_RESPONDING, -ETIMEDOUT,
		            "writer \"%s\" (%s) did not answer %s: %s%s%s", w->name, w->id_str, ev,
		            ename, emsg ? ": " : "", msg);
	}
	writer_update(
		w, events[event].failed != WRITER_STATE_UNKNOWN ? events[event].failed : w->state,
		code);
	log_writer_event(LOG_EVENT_WRITER_VETOED, w->id_str, set_id,
	                 events[event].strict ? LOG_WARNING : LOG_NOTICE, "%s failed: %s", ev,
	                 err ? err->message : ename);
	return -ECANCELED;
}

static void on_reply(DBusPendingCall *pending, void *userdata)
{
	Call *c = userdata;
	WriterBroadcast *b = c->b;
	DBusMessage *reply = dbus_pending_call_steal_reply(pending);
	Writer *w = writer_find(b->d, &b->ids[c->idx]);
	VssErr err = { 0 };
	int r;

	dbus_pending_call_unref(pending);
	b->pending[c->idx] = NULL;
	b->in_flight--;
	b->d->writer_calls--;
	if (b->d->n_bcasts > 1) /* another broadcast may wait for this room */
		pump_schedule(b->d);
	b->answered++;
	r = writer_apply_reply(w, b->ev, b->set_id, reply, &err);
	/* what a writer's answer sets on its components (backup stamps...) */
	if (r >= 0 && w && reply && b->answer && b->userdata &&
	    dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_METHOD_RETURN) {
		r = b->answer(b->userdata, w, b->ev, reply, &err);
		if (r == -ENOMEM)
			vss_err_set(&err, VSS_ERROR_WRITER_NOT_RESPONDING, r,
			            "out of memory reading writer \"%s\"'s answer to %s", w->name,
			            events[b->ev].method);
		else if (r < 0)
			r = writer_answer_unusable(w, b->ev, b->set_id, &err);
	}
	if (reply)
		dbus_message_unref(reply);
	if (r < 0 && events[b->ev].strict && !b->lenient) {
		broadcast_finish(b, r, &err);
		return;
	}
	if (b->answered == b->n) {
		broadcast_finish(b, 0, NULL);
		return;
	}
	broadcast_send_more(b);
}

static int send_one(WriterBroadcast *b, size_t idx)
{
	Writer *w = writer_find(b->d, &b->ids[idx]);
	DBusMessage *m;
	DBusPendingCall *pending = NULL;
	Call *c;
	int timeout_ms;

	if (!w)
		return -ENOENT;
	if (!b->d->bus.conn) /* a daemon without a bus (unit tests) reaches no writer */
		return -ENOTCONN;
	m = dbus_message_new_method_call(w->owner, w->object, VSSD_IFACE_WRITER,
	                                 events[b->ev].method);
	if (!m)
		return -ENOMEM;
	dbus_message_set_auto_start(m, FALSE);
	if (append_args(b, w, m) < 0) {
		dbus_message_unref(m);
		return -ENOMEM;
	}
	timeout_ms = b->ev == WRITER_EVENT_FREEZE
	                     ? (int)w->freeze_timeout_ms
	                     : (int)(b->d->config.writer_event_timeout / USEC_PER_MSEC);
	c = calloc(1, sizeof(*c));
	if (!c || !dbus_connection_send_with_reply(b->d->bus.conn, m, &pending, timeout_ms) ||
	    !pending) {
		free(c);
		dbus_message_unref(m);
		return -ENOMEM;
	}
	dbus_message_unref(m);
	*c = (Call){ .b = b, .idx = idx };
	if (!dbus_pending_call_set_notify(pending, on_reply, c, free)) {
		dbus_pending_call_cancel(pending);
		dbus_pending_call_unref(pending);
		free(c);
		return -ENOMEM;
	}
	b->pending[idx] = pending;
	b->in_flight++;
	b->d->writer_calls++;
	log_writer_debug(w->id_str, b->set_id, "%s sent", events[b->ev].method);
	return 0;
}

static void broadcast_send_more(WriterBroadcast *b)
{
	while (b->next < b->n && b->d->writer_calls < VSSD_PENDING_CALLS_MAX) {
		size_t idx = b->next++;
		int r = send_one(b, idx);

		if (r < 0) {
			VssErr err = { 0 };

			b->answered++;
			if (r == -ENOENT)
				vss_err_set(&err, VSS_ERROR_WRITER_NOT_RESPONDING, -ETIMEDOUT,
				            "a writer left the bus before %s",
				            events[b->ev].method);
			else
				vss_err_set(&err, VSS_ERROR_WRITER_NOT_RESPONDING, r,
				            "cannot send %s: %s", events[b->ev].method,
				            strerror(-r));
			if (events[b->ev].strict && !b->lenient) {
				broadcast_finish(b, -ECANCELED, &err);
				return;
			}
			if (b->lenient) /* the writer fails, the others go on */
				(void)writer_apply_reply(writer_find(b->d, &b->ids[idx]), b->ev,
				                         b->set_id, NULL, NULL);
		}
	}
	if (b->answered == b->n)
		broadcast_finish(b, 0, NULL);
}

static int strv_copy(char **src, char ***ret)
{
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

	if (!l)
		return -ENOMEM;
	for (char **i = src; i && *i; i++)
		if (strv_extend(&l, *i) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(l);
	return 0;
}

int writer_broadcast_start(Daemon *d, WriterEvent ev, const VssId *ids, size_t n,
                           const WriterEventArgs *args, WriterDoneFn done, void *userdata,
                           WriterBroadcast **ret)
{
	WriterBroadcast *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	*b = (WriterBroadcast){ .d = d,
		                .ev = ev,
		                .n = n,
		                .done = done,
		                .userdata = userdata,
		                .success = args->success,
		                .answer = args->answer,
		                .lenient = args->continue_on_failure,
		                .append_info = args->append_info,
		                .info_userdata = args->info_userdata };
	b->ids = calloc(n ? n : 1, sizeof(VssId));
	b->pending = calloc(n ? n : 1, sizeof(DBusPendingCall *));
	b->set_id = strdup(strempty(args->set_id));
	b->backup_type = strdup(strempty(args->backup_type));
	b->context = strdup(strempty(args->context));
	if (!b->ids || !b->pending || !b->set_id || !b->backup_type || !b->context ||
	    strv_copy(args->volumes, &b->volumes) < 0 ||
	    strv_copy(args->devices, &b->devices) < 0 ||
	    strv_copy(args->components, &b->components) < 0 ||
	    strv_copy(args->previous_stamps, &b->previous_stamps) < 0 ||
	    strv_copy(args->results, &b->results) < 0) {
		broadcast_free(b);
		return -ENOMEM;
	}
	if (n)
		memcpy(b->ids, ids, n * sizeof(VssId));
	broadcast_register(b);
	if (ret)
		*ret = b;
	log_set_debug(b->set_id, "%s to %zu writers", events[ev].method, n);
	broadcast_send_more(b); /* with no writers this finishes at once */
	return 0;
}
