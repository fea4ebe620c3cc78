/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vss-writer-event.c - libvsswriter: the Writer object, its event state machine, freeze safety */
#include <dbus/dbus.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "client/libvsswriter/vss-writer-internal.h"

/* clang-format off */
#define ARG_IN(name, type)  "<arg name=\"" name "\" type=\"" type "\"/>"
#define ARG_OUT(name, type) "<arg name=\"" name "\" type=\"" type "\" direction=\"out\"/>"
#define METHOD(name, args)  "  <method name=\"" name "\">" args "</method>\n"

static const char writer_introspection[] =
	DBUS_INTROSPECT_1_0_XML_DOCTYPE_DECL_NODE
	"<node>\n"
	" <interface name=\"" VSSD_IFACE_WRITER "\">\n"
	METHOD("Identify", ARG_OUT("info", "a{sv}"))
	METHOD("PrepareForBackup", ARG_IN("options", "a{sv}"))
	METHOD("PrepareForSnapshot", ARG_IN("set", "s") ARG_IN("volumes", "as"))
	METHOD("Freeze", ARG_IN("set", "s"))
	METHOD("Thaw", ARG_IN("set", "s"))
	METHOD("PostSnapshot", ARG_IN("set", "s") ARG_IN("devices", "a{ss}"))
	METHOD("Abort", ARG_IN("set", "s"))
	METHOD("BackupComplete", ARG_IN("set", "s") ARG_IN("success", "b"))
	METHOD("BackupShutdown", ARG_IN("set", "s"))
	METHOD("BackupResults", ARG_IN("set", "s") ARG_IN("components", "aa{sv}"))
	METHOD("PreRestore", ARG_IN("session", "s") ARG_IN("info", "a{sv}"))
	METHOD("PostRestore", ARG_IN("session", "s") ARG_IN("info", "a{sv}"))
	" </interface>\n"
	" <interface name=\"" DBUS_INTERFACE_INTROSPECTABLE "\">\n"
	METHOD("Introspect", ARG_OUT("xml", "s"))
	" </interface>\n"
	" <interface name=\"" DBUS_INTERFACE_PEER "\">\n"
	METHOD("Ping", "")
	METHOD("GetMachineId", ARG_OUT("id", "s"))
	" </interface>\n"
	"</node>\n";
/* clang-format on */

/* ---- freeze safety */

static int writer_call_thaw(struct vss_writer *w, const char *set_id)
{
	int r = 0;

	if (!w->handlers.thaw)
		return 0;
	w->in_handler = true;
	w->veto_code = 0;
	r = w->handlers.thaw(w, set_id, w->userdata);
	w->in_handler = false;
	if (w->veto_code && r >= 0)
		r = -ECANCELED;
	return r;
}

static void writer_clear_frozen(struct vss_writer *w)
{
	w->frozen = false;
	w->freeze_deadline = USEC_INFINITY;
	free(w->frozen_set);
	w->frozen_set = NULL;
}

/* Thaws the application on its own: nobody is left to send Thaw or Abort. */
void writer_safety_thaw(struct vss_writer *w, const char *why)
{
	_cleanup_free_ char *set = NULL;
	char buf[64];
	int r;

	if (!w->frozen)
		return;
	set = TAKE_PTR(w->frozen_set);
	writer_clear_frozen(w);
	writer_log_set(w, LOG_WARNING, set, "%s while frozen, thawing", why);
	r = writer_call_thaw(w, set);
	if (r < 0)
		writer_log_set(w, LOG_WARNING, set, "thaw handler failed, ignoring: %s",
		               w->veto_reason ? w->veto_reason
		                              : writer_errno_name(r, buf, sizeof(buf)));
	free(w->veto_reason);
	w->veto_reason = NULL;
	w->veto_code = 0;
	free(w->timed_out_set);
	w->timed_out_set = TAKE_PTR(set);
}

void writer_check_freeze_timeout(struct vss_writer *w)
{
	char why[96];

	if (!w->frozen || now_usec(CLOCK_MONOTONIC) < w->freeze_deadline)
		return;
	(void)snprintf(why, sizeof(why),
	               "no Thaw or Abort within the freeze timeout of %" PRIu32 " ms",
	               w->freeze_timeout_msec);
	writer_safety_thaw(w, why);
}

/* ---- events */

static int writer_invoke(struct vss_writer *w, WriterEvent ev, const WriterArgs *a)
{
	const struct vss_writer_handlers *h = &w->handlers;
	const char *const *list = (const char *const *)a->list;
	void *ud = w->userdata;

	switch (ev) {
	case WRITER_EVENT_PREPARE_BACKUP:
		return h->prepare_backup ? h->prepare_backup(w, a->set_id, a->backup_type,
		                                             a->context, list, ud)
		                         : 0;
	case WRITER_EVENT_PREPARE_SNAPSHOT:
		return h->prepare_snapshot ? h->prepare_snapshot(w, a->set_id, list, ud) : 0;
	case WRITER_EVENT_FREEZE:
		return h->freeze ? h->freeze(w, a->set_id, ud) : 0;
	case WRITER_EVENT_THAW:
		return h->thaw ? h->thaw(w, a->set_id, ud) : 0;
	case WRITER_EVENT_POST_SNAPSHOT:
		return h->post_snapshot ? h->post_snapshot(w, a->set_id, list,
		                                           (const char *const *)a->devices, ud)
		                        : 0;
	case WRITER_EVENT_ABORT:
		return h->abort ? h->abort(w, a->set_id, ud) : 0;
	case WRITER_EVENT_BACKUP_COMPLETE:
		return h->backup_complete ? h->backup_complete(w, a->set_id, a->success, ud) : 0;
	case WRITER_EVENT_BACKUP_SHUTDOWN:
		return h->backup_shutdown ? h->backup_shutdown(w, a->set_id, ud) : 0;
	case WRITER_EVENT_BACKUP_RESULTS:
		return h->backup_results
		               ? h->backup_results(w, a->set_id, a->results, a->n_results, ud)
		               : 0;
	case WRITER_EVENT_IDENTIFY:
	case WRITER_EVENT_PRE_RESTORE:  /* vss-writer-restore.c */
	case WRITER_EVENT_POST_RESTORE: /* likewise */
	case _WRITER_EVENT_MAX:
	case _WRITER_EVENT_INVALID:
		break;
	}
	return 0;
}

static enum vss_writer_error error_from_errno(int r)
{
	switch (-r) {
	case ENOMEM:
	case ENOSPC:
	case ENOBUFS:
	case EMFILE:
	case ENFILE:
	case EDQUOT:
		return VSS_WRITER_ERROR_OUT_OF_RESOURCES;
	case ETIMEDOUT:
		return VSS_WRITER_ERROR_TIMEOUT;
	}
	return VSS_WRITER_ERROR_RETRYABLE;
}

static DBusMessage *writer_veto_reply(struct vss_writer *w, DBusMessage *m, const char *set_id,
                                      enum vss_writer_error code, const char *reason)
{
	const char *name = writer_error_name(code);

	writer_log_set(w, LOG_NOTICE, set_id, "vetoed %s: %s: %s", dbus_message_get_member(m),
	               name + strlen(VSSD_WRITER_ERROR_PREFIX), reason);
	return dbus_message_new_error(m, name, reason);
}

static DBusMessage *writer_handle_event(struct vss_writer *w, DBusMessage *m, WriterEvent ev)
{
	_cleanup_(writer_args_done) WriterArgs a = { 0 };
	DBusMessage *reply;
	const char *why;
	char buf[WRITER_REASON_MAX];
	int r;

	r = writer_args_parse(m, ev, &a, &why);
	if (r == -ENOMEM)
		return NULL;
	if (r < 0)
		return dbus_message_new_error(m, DBUS_ERROR_INVALID_ARGS,
		                              r == -E2BIG ? "too many entries" : why);

	if (ev == WRITER_EVENT_IDENTIFY) {
		DBusMessageIter it;

		reply = dbus_message_new_method_return(m);
		if (!reply)
			return NULL;
		dbus_message_iter_init_append(reply, &it);
		if (writer_append_info(w, &it, false) < 0) {
			dbus_message_unref(reply);
			return NULL;
		}
		return reply;
	}

	writer_log_set(w, LOG_DEBUG, a.set_id, "%s", writer_event_member(ev));

	if (ev == WRITER_EVENT_FREEZE && w->frozen) {
		if (streq(w->frozen_set, a.set_id))
			return dbus_message_new_method_return(m); /* a repeated Freeze */
		(void)snprintf(buf, sizeof(buf), "frozen for set %s already", w->frozen_set);
		return writer_veto_reply(w, m, a.set_id, VSS_WRITER_ERROR_RETRYABLE, buf);
	}
	if (ev == WRITER_EVENT_THAW && !w->frozen && streq_ptr(w->timed_out_set, a.set_id)) {
		(void)snprintf(buf, sizeof(buf),
		               "thawed already: no Thaw within the freeze timeout of %" PRIu32
		               " ms",
		               w->freeze_timeout_msec);
		return writer_veto_reply(w, m, a.set_id, VSS_WRITER_ERROR_TIMEOUT, buf);
	}

	if (writer_backup_begin(w, ev, &a) < 0)
		return NULL;
	w->in_handler = true;
	w->veto_code = 0;
	r = writer_invoke(w, ev, &a);
	w->in_handler = false;
	writer_backup_end(w, ev, a.set_id);

	switch (ev) {
	case WRITER_EVENT_FREEZE:
		free(w->timed_out_set);
		w->timed_out_set = NULL;
		if (r >= 0 && !w->veto_code) {
			w->frozen_set = strdup(a.set_id);
			if (!w->frozen_set) {
				/* we cannot track it: thaw rather than stay frozen unguarded */
				(void)writer_call_thaw(w, a.set_id);
				r = -ENOMEM;
				break;
			}
			w->frozen = true;
			w->freeze_deadline = now_usec(CLOCK_MONOTONIC) +
			                     (usec_t)w->freeze_timeout_msec * USEC_PER_MSEC;
		}
		break;
	case WRITER_EVENT_THAW:
	case WRITER_EVENT_ABORT:
		/* thawing is always the safe direction: whatever the result, not frozen now */
		writer_clear_frozen(w);
		if (ev == WRITER_EVENT_ABORT && streq_ptr(w->timed_out_set, a.set_id)) {
			free(w->timed_out_set);
			w->timed_out_set = NULL;
		}
		break;
	case WRITER_EVENT_IDENTIFY:
	case WRITER_EVENT_PREPARE_BACKUP:
	case WRITER_EVENT_PREPARE_SNAPSHOT:
	case WRITER_EVENT_POST_SNAPSHOT:
	case WRITER_EVENT_BACKUP_COMPLETE:
	case WRITER_EVENT_BACKUP_SHUTDOWN:
	case WRITER_EVENT_BACKUP_RESULTS:
	case WRITER_EVENT_PRE_RESTORE:
	case WRITER_EVENT_POST_RESTORE:
	case _WRITER_EVENT_MAX:
	case _WRITER_EVENT_INVALID:
		break;
	}

	if (w->veto_code || r < 0)
		writer_stamps_discard(w); /* a veto sets nothing */
	if (w->veto_code) {
		reply = writer_veto_reply(w, m, a.set_id, w->veto_code,
		                          w->veto_reason ? w->veto_reason : "vetoed by the writer");
		free(w->veto_reason);
		w->veto_reason = NULL;
		w->veto_code = 0;
		return reply;
	}
	if (r < 0)
		return writer_veto_reply(w, m, a.set_id, error_from_errno(r),
		                         writer_errno_name(r, buf, sizeof(buf)));
	return writer_stamps_reply(w, m);
}

DBusHandlerResult writer_on_message(DBusConnection *c, DBusMessage *m, void *userdata)
{
	_cleanup_(message_unrefp) DBusMessage *reply = NULL;
	struct vss_writer *w = userdata;
	const char *iface = dbus_message_get_interface(m);
	WriterEvent ev;

	if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL)
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;

	if (dbus_message_is_method_call(m, DBUS_INTERFACE_INTROSPECTABLE, "Introspect")) {
		const char *xml = writer_introspection;

		reply = dbus_message_new_method_return(m);
		if (reply &&
		    !dbus_message_append_args(reply, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID)) {
			dbus_message_unref(reply);
			reply = NULL;
		}
	} else {
		if (iface && !streq(iface, VSSD_IFACE_WRITER))
			return DBUS_HANDLER_RESULT_NOT_YET_HANDLED; /* libdbus: UnknownMethod */
		ev = writer_event_from_member(dbus_message_get_member(m));
		if (ev < 0)
			return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
		/* Only vssd may drive the writer: anyone else could freeze the application. */
		if (!w->vssd_owner || !streq_ptr(dbus_message_get_sender(m), w->vssd_owner)) {
			writer_log(w, LOG_WARNING, "refused %s from %s: not vssd",
			           writer_event_member(ev), strempty(dbus_message_get_sender(m)));
			reply = dbus_message_new_error(
				m, DBUS_ERROR_ACCESS_DENIED,
				"only org.vssd.ShadowCopy1 may call writers");
		} else if (ev == WRITER_EVENT_PRE_RESTORE || ev == WRITER_EVENT_POST_RESTORE) {
			bool unhandled = false;

			reply = writer_handle_restore(w, m, ev, &unhandled);
			if (unhandled)
				return DBUS_HANDLER_RESULT_NOT_YET_HANDLED; /* UnknownMethod */
		} else
			reply = writer_handle_event(w, m, ev);
	}

	if (!reply) {
		/* NEED_MEMORY would re-run the handler later: answer nothing, vssd times out */
		writer_log(w, LOG_ERR, "out of memory answering %s", dbus_message_get_member(m));
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	if (!dbus_message_get_no_reply(m) && !dbus_connection_send(c, reply, NULL))
		writer_log(w, LOG_ERR, "out of memory sending the reply to %s",
		           dbus_message_get_member(m));
	return DBUS_HANDLER_RESULT_HANDLED;
}
