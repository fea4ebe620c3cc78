/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vss-writer-register.c - libvsswriter: the bus connection, vssd's owner, RegisterWriter */
#include <dbus/dbus.h>
#include <errno.h>
#include <stdlib.h>
#include <syslog.h>

#include "client/libvsswriter/vss-writer-internal.h"
#include "common/valid.h"
#include "common/vssd-limits.h"

#define VSSD_OWNER_MATCH                                                     \
	"type='signal',sender='" DBUS_SERVICE_DBUS "',path='" DBUS_PATH_DBUS \
	"',interface='" DBUS_INTERFACE_DBUS "',member='NameOwnerChanged',arg0='" VSSD_BUS_NAME "'"

static int dbus_error_to_errno(const DBusError *e)
{
	if (dbus_error_has_name(e, DBUS_ERROR_NO_MEMORY))
		return -ENOMEM;
	if (dbus_error_has_name(e, DBUS_ERROR_BAD_ADDRESS))
		return -EINVAL;
	if (dbus_error_has_name(e, DBUS_ERROR_ACCESS_DENIED) ||
	    dbus_error_has_name(e, DBUS_ERROR_AUTH_FAILED))
		return -EACCES;
	if (dbus_error_has_name(e, DBUS_ERROR_TIMEOUT) ||
	    dbus_error_has_name(e, DBUS_ERROR_NO_REPLY))
		return -ETIMEDOUT;
	if (dbus_error_has_name(e, DBUS_ERROR_OBJECT_PATH_IN_USE))
		return -EEXIST;
	return -ECONNREFUSED;
}

/* ---- registration */

static void writer_cancel_call(DBusPendingCall **call)
{
	if (!*call)
		return;
	dbus_pending_call_cancel(*call);
	dbus_pending_call_unref(*call);
	*call = NULL;
}

static void writer_on_register_reply(DBusPendingCall *call, void *userdata)
{
	_cleanup_(message_unrefp) DBusMessage *reply = dbus_pending_call_steal_reply(call);
	struct vss_writer *w = userdata;
	const char *id;
	DBusError e;

	if (call == w->register_call) {
		w->register_call = NULL;
		dbus_pending_call_unref(call);
	}
	if (!reply)
		return;
	dbus_error_init(&e);
	if (dbus_set_error_from_message(&e, reply)) {
		writer_log(w, LOG_ERR, "vssd refused the registration: %s: %s", e.name,
		           strempty(e.message));
		dbus_error_free(&e);
		return;
	}
	if (!dbus_message_get_args(reply, &e, DBUS_TYPE_STRING, &id, DBUS_TYPE_INVALID) ||
	    !valid_text(id, VSSD_STRING_MAX)) {
		writer_log(w, LOG_ERR, "vssd answered RegisterWriter with a malformed reply");
		dbus_error_free(&e);
		return;
	}
	free(w->instance_id);
	w->instance_id = strdup(id);
	if (!w->instance_id) {
		writer_log(w, LOG_ERR, "out of memory storing the instance id");
		return;
	}
	writer_log(w, LOG_INFO, "registered with vssd as writer instance %s", id);
}

static void writer_register_start(struct vss_writer *w)
{
	_cleanup_(message_unrefp) DBusMessage *m = NULL;
	const char *path = WRITER_OBJECT_PATH;
	DBusPendingCall *call = NULL;
	DBusMessageIter it;

	writer_cancel_call(&w->register_call);
	m = dbus_message_new_method_call(VSSD_BUS_NAME, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER,
	                                 "RegisterWriter");
	if (!m)
		goto oom;
	dbus_message_set_auto_start(m, FALSE); /* a writer never starts vssd */
	dbus_message_iter_init_append(m, &it);
	if (!dbus_message_iter_append_basic(&it, DBUS_TYPE_OBJECT_PATH, &path) ||
	    writer_append_info(w, &it, true) < 0)
		goto oom;
	if (!dbus_connection_send_with_reply(w->conn, m, &call, WRITER_CALL_MSEC))
		goto oom;
	if (!call)
		return; /* disconnected: the Disconnected message follows */
	if (!dbus_pending_call_set_notify(call, writer_on_register_reply, w, NULL)) {
		dbus_pending_call_cancel(call);
		dbus_pending_call_unref(call);
		goto oom;
	}
	w->register_call = call;
	writer_log(w, LOG_DEBUG, "registering with vssd (%s)", w->vssd_owner);
	return;
oom:
	writer_log(w, LOG_ERR, "out of memory registering with vssd");
}

/* owner: the unique name now owning org.vssd.ShadowCopy1; NULL or "" when vssd is gone. */
static void writer_set_vssd_owner(struct vss_writer *w, const char *owner)
{
	if (owner && !owner[0])
		owner = NULL;
	if (streq_ptr(owner, w->vssd_owner))
		return;

	if (w->vssd_owner) {
		writer_log(w, LOG_NOTICE, "vssd (%s) left the bus", w->vssd_owner);
		free(w->vssd_owner);
		w->vssd_owner = NULL;
		free(w->instance_id);
		w->instance_id = NULL;
		writer_cancel_call(&w->register_call);
		writer_safety_thaw(w, "vssd left the bus");
	}
	if (!owner)
		return;
	w->vssd_owner = strdup(owner);
	if (!w->vssd_owner) {
		writer_log(w, LOG_ERR, "out of memory tracking vssd");
		return;
	}
	writer_register_start(w);
}

static void writer_on_owner_reply(DBusPendingCall *call, void *userdata)
{
	_cleanup_(message_unrefp) DBusMessage *reply = dbus_pending_call_steal_reply(call);
	struct vss_writer *w = userdata;
	const char *owner;
	DBusError e;

	if (call == w->owner_call) {
		w->owner_call = NULL;
		dbus_pending_call_unref(call);
	}
	if (!reply)
		return;
	dbus_error_init(&e);
	if (dbus_set_error_from_message(&e, reply)) {
		/* NameHasNoOwner: vssd is not running; NameOwnerChanged tells when it is */
		if (!dbus_error_has_name(&e, DBUS_ERROR_NAME_HAS_NO_OWNER))
			writer_log(w, LOG_WARNING, "cannot look up vssd, waiting for it: %s: %s",
			           e.name, strempty(e.message));
		else
			writer_log(w, LOG_DEBUG, "vssd is not running, waiting for it");
		dbus_error_free(&e);
		return;
	}
	if (dbus_message_get_args(reply, &e, DBUS_TYPE_STRING, &owner, DBUS_TYPE_INVALID))
		writer_set_vssd_owner(w, owner);
	dbus_error_free(&e);
}

void writer_on_disconnected(struct vss_writer *w)
{
	if (w->disconnected)
		return;
	w->disconnected = true;
	writer_log(w, LOG_ERR, "lost the bus connection");
	writer_safety_thaw(w, "lost the bus connection");
	free(w->vssd_owner);
	w->vssd_owner = NULL;
	free(w->instance_id);
	w->instance_id = NULL;
}

static DBusHandlerResult writer_on_filter(DBusConnection *c, DBusMessage *m, void *userdata)
{
	struct vss_writer *w = userdata;
	const char *name, *old_owner, *new_owner;

	if (dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected")) {
		writer_on_disconnected(w);
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	if (dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged") &&
	    streq_ptr(dbus_message_get_sender(m), DBUS_SERVICE_DBUS) &&
	    dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner,
	                          DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID) &&
	    streq(name, VSSD_BUS_NAME))
		writer_set_vssd_owner(w, new_owner);
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static int writer_lookup_owner(struct vss_writer *w)
{
	_cleanup_(message_unrefp) DBusMessage *m = NULL;
	const char *name = VSSD_BUS_NAME;
	DBusPendingCall *call = NULL;

	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS,
	                                 "GetNameOwner");
	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID))
		return -ENOMEM;
	if (!dbus_connection_send_with_reply(w->conn, m, &call, WRITER_CALL_MSEC))
		return -ENOMEM;
	if (!call)
		return -ECONNRESET;
	if (!dbus_pending_call_set_notify(call, writer_on_owner_reply, w, NULL)) {
		dbus_pending_call_cancel(call);
		dbus_pending_call_unref(call);
		return -ENOMEM;
	}
	w->owner_call = call;
	return 0;
}

/* ---- the connection */

int writer_connect(struct vss_writer *w)
{
	static const DBusObjectPathVTable vtable = { .message_function = writer_on_message };
	DBusConnection *conn;
	DBusError e;
	int r;

	dbus_error_init(&e);
	if (w->address) {
		conn = dbus_connection_open_private(w->address, &e);
		if (conn && !dbus_bus_register(conn, &e)) {
			dbus_connection_close(conn);
			dbus_connection_unref(conn);
			conn = NULL;
		}
	} else
		conn = dbus_bus_get_private(DBUS_BUS_SYSTEM, &e); /* DBUS_SYSTEM_BUS_ADDRESS */
	if (!conn) {
		r = dbus_error_to_errno(&e);
		writer_log(w, LOG_DEBUG, "cannot connect to %s: %s", w->address ?: "the system bus",
		           strempty(e.message));
		dbus_error_free(&e);
		return r;
	}
	w->conn = conn; /* from here on writer_disconnect() undoes everything */
	dbus_connection_set_exit_on_disconnect(conn, FALSE);

	r = writer_loop_attach(w);
	if (r < 0)
		return r;
	if (!dbus_connection_add_filter(conn, writer_on_filter, w, NULL))
		return -ENOMEM;

	if (!dbus_connection_try_register_object_path(conn, WRITER_OBJECT_PATH, &vtable, w, &e)) {
		r = dbus_error_to_errno(&e);
		dbus_error_free(&e);
		return r;
	}
	/* Without an error argument AddMatch does not block; it reaches the bus before
	 * GetNameOwner, so no change of owner can fall between the two. */
	dbus_bus_add_match(conn, VSSD_OWNER_MATCH, NULL);
	r = writer_lookup_owner(w);
	if (r < 0)
		return r;
	if (dbus_connection_get_dispatch_status(conn) != DBUS_DISPATCH_COMPLETE)
		writer_wake(w); /* messages read while connecting (NameAcquired) */
	writer_arm_timer(w);
	writer_log(w, LOG_DEBUG, "connected to %s as %s", w->address ?: "the system bus",
	           dbus_bus_get_unique_name(conn));
	return 0;
}

void writer_disconnect(struct vss_writer *w)
{
	if (!w->conn)
		return;
	writer_cancel_call(&w->owner_call);
	writer_cancel_call(&w->register_call);
	(void)dbus_connection_unregister_object_path(w->conn, WRITER_OBJECT_PATH);
	dbus_connection_remove_filter(w->conn, writer_on_filter, w);
	writer_loop_detach(w);
	dbus_connection_close(w->conn);
	dbus_connection_unref(w->conn);
	w->conn = NULL;
	free(w->vssd_owner);
	w->vssd_owner = NULL;
	free(w->instance_id);
	w->instance_id = NULL;
}
