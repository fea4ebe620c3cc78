/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bus.c - libdbus inside sd-event: loop glue, routing, signature and access checks, replies */
#include <inttypes.h>

#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "common/vssid.h"
#include "daemon/bus.h"

#define BUS_DISPATCH_BATCH 64

/* ---- event loop glue ------------------------------------------------------------------------- */

static int bus_on_dispatch(sd_event_source *s, void *userdata)
{
	Bus *bus = userdata;

	for (unsigned i = 0; i < BUS_DISPATCH_BATCH; i++)
		if (dbus_connection_dispatch(bus->conn) != DBUS_DISPATCH_DATA_REMAINS)
			return 0;
	return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT); /* the rest: next iteration */
}

/* libdbus may be mid-call here: only re-arm the defer source, never dispatch. */
static void bus_on_dispatch_status(DBusConnection *c, DBusDispatchStatus status, void *userdata)
{
	Bus *bus = userdata;

	if (status == DBUS_DISPATCH_DATA_REMAINS && bus->dispatch)
		(void)sd_event_source_set_enabled(bus->dispatch, SD_EVENT_ONESHOT);
}

/* libdbus gives a connection a read and a write watch on the same socket, but sd-event takes one
 * io source per fd (a second sd_event_add_io() or enabling a second source of the fd fails with
 * EEXIST): the write watch could never be enabled while the read one was, and a reply larger
 * than the socket buffer stalled after its first write until the next message came in. So the
 * loop keeps one source per fd, listening for the events of all the enabled watches of the fd. */
static bool watch_known(const Bus *b, const DBusWatch *w)
{
	for (size_t i = 0; i < b->n_watches; i++)
		if (b->watches[i] == w)
			return true;
	return false;
}

static int bus_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Bus *bus = userdata;
	DBusWatch *ws[BUS_WATCHES_MAX];
	size_t n = 0;

	/* handling a watch may remove or add watches: work on a copy, skip those gone since */
	for (size_t i = 0; i < bus->n_watches; i++)
		if (dbus_watch_get_unix_fd(bus->watches[i]) == fd &&
		    dbus_watch_get_enabled(bus->watches[i]))
			ws[n++] = bus->watches[i];
	for (size_t i = 0; i < n; i++) {
		unsigned want, flags = 0;

		if (!watch_known(bus, ws[i]) || !dbus_watch_get_enabled(ws[i]))
			continue;
		want = dbus_watch_get_flags(ws[i]);
		if ((revents & EPOLLIN) && (want & DBUS_WATCH_READABLE))
			flags |= DBUS_WATCH_READABLE;
		if ((revents & EPOLLOUT) && (want & DBUS_WATCH_WRITABLE))
			flags |= DBUS_WATCH_WRITABLE;
		if (revents & EPOLLHUP)
			flags |= DBUS_WATCH_HANGUP;
		if (revents & EPOLLERR)
			flags |= DBUS_WATCH_ERROR;
		if (flags)
			(void)dbus_watch_handle(ws[i], flags);
	}
	return 0;
}

static uint32_t watch_events(DBusWatch *w)
{
	unsigned f = dbus_watch_get_flags(w);
	uint32_t ev = 0;

	if (f & DBUS_WATCH_READABLE)
		ev |= EPOLLIN;
	if (f & DBUS_WATCH_WRITABLE)
		ev |= EPOLLOUT;
	return ev;
}

/* Makes the io source of fd match its watches: created, updated, disabled or freed */
static int bus_io_update(Bus *b, int fd)
{
	BusIo *io = NULL;
	bool used = false;
	uint32_t ev = 0;
	int r;

	for (size_t i = 0; i < b->n_watches; i++) {
		if (dbus_watch_get_unix_fd(b->watches[i]) != fd)
			continue;
		used = true;
		if (dbus_watch_get_enabled(b->watches[i]))
			ev |= watch_events(b->watches[i]);
	}
	for (size_t i = 0; i < b->n_io; i++)
		if (b->io[i].fd == fd)
			io = &b->io[i];
	if (!used) {
		if (io) {
			sd_event_source_disable_unref(io->source);
			*io = b->io[--b->n_io];
		}
		return 0;
	}
	if (!io) {
		sd_event_source *s = NULL;

		if (b->n_io >= BUS_WATCHES_MAX)
			return -ENOBUFS;
		r = sd_event_add_io(b->event, &s, fd, ev ? ev : EPOLLIN, bus_on_io, b);
		if (r < 0)
			return r;
		io = &b->io[b->n_io++];
		*io = (BusIo){ .fd = fd, .source = s };
	} else if (ev) {
		r = sd_event_source_set_io_events(io->source, ev);
		if (r < 0)
			return r;
	}
	return sd_event_source_set_enabled(io->source, ev ? SD_EVENT_ON : SD_EVENT_OFF);
}

static void watch_forget(Bus *b, DBusWatch *w)
{
	for (size_t i = 0; i < b->n_watches; i++)
		if (b->watches[i] == w) {
			b->watches[i] = b->watches[--b->n_watches];
			return;
		}
}

static dbus_bool_t bus_add_watch(DBusWatch *w, void *userdata)
{
	Bus *bus = userdata;

	if (bus->n_watches >= BUS_WATCHES_MAX)
		return FALSE;
	bus->watches[bus->n_watches++] = w;
	if (bus_io_update(bus, dbus_watch_get_unix_fd(w)) < 0) {
		watch_forget(bus, w);
		(void)bus_io_update(bus, dbus_watch_get_unix_fd(w));
		return FALSE;
	}
	return TRUE;
}

static void bus_remove_watch(DBusWatch *w, void *userdata)
{
	Bus *bus = userdata;

	watch_forget(bus, w);
	(void)bus_io_update(bus, dbus_watch_get_unix_fd(w));
}

static void bus_toggle_watch(DBusWatch *w, void *userdata)
{
	int r = bus_io_update(userdata, dbus_watch_get_unix_fd(w));

	if (r < 0)
		log_warning_errno(r, "cannot update the bus watch of fd %d: %m",
		                  dbus_watch_get_unix_fd(w));
}

static int bus_on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void)dbus_timeout_handle(userdata);
	return 0;
}

static int timeout_arm(Bus *bus, DBusTimeout *t)
{
	sd_event_source *s = dbus_timeout_get_data(t);
	uint64_t usec = (uint64_t)dbus_timeout_get_interval(t) * USEC_PER_MSEC;

	if (!s) {
		if (sd_event_add_time_relative(bus->event, &s, CLOCK_MONOTONIC, usec, 1000,
		                               bus_on_timeout, t) < 0)
			return -ENOMEM;
		dbus_timeout_set_data(t, s, NULL);
	} else
		(void)sd_event_source_set_time_relative(s, usec);
	return sd_event_source_set_enabled(s, dbus_timeout_get_enabled(t) ? SD_EVENT_ONESHOT
	                                                                  : SD_EVENT_OFF);
}

static dbus_bool_t bus_add_timeout(DBusTimeout *t, void *userdata)
{
	return timeout_arm(userdata, t) >= 0;
}

static void bus_remove_timeout(DBusTimeout *t, void *userdata)
{
	sd_event_source *s = dbus_timeout_get_data(t);

	dbus_timeout_set_data(t, NULL, NULL);
	sd_event_source_disable_unref(s);
}

static void bus_toggle_timeout(DBusTimeout *t, void *userdata)
{
	(void)timeout_arm(userdata, t);
}

/* ---- replies --------------------------------------------------------------------------------- */

int bus_emit_signal(Bus *b, DBusMessage *signal)
{
	if (b->tap)
		b->tap(b->tap_userdata, signal);
	if (!b->conn)
		return -ENOTCONN;
	if (!dbus_connection_send(b->conn, signal, NULL))
		return -ENOMEM;
	return 0;
}

int bus_send(Bus *b, DBusMessage *reply)
{
	int r = 0;

	if (!reply)
		return -ENOMEM;
	if (b->tap)
		b->tap(b->tap_userdata, reply);
	if (b->conn && !dbus_connection_send(b->conn, reply, NULL))
		r = -ENOMEM;
	dbus_message_unref(reply);
	return r;
}

int bus_reply_empty(Bus *b, DBusMessage *m)
{
	return bus_send(b, dbus_message_new_method_return(m));
}

int bus_reply_error(Bus *b, DBusMessage *m, const VssErr *err, int error)
{
	char name[128], text[700];
	VssError kind;
	const char *msg;

	if (vss_err_is_set(err) && err->code_name) {
		snprintf(name, sizeof(name), VSS_ERROR_PREFIX "%s",
		         vss_error_info(err->kind)->name);
		vss_err_format_err(err, text, sizeof(text));
		return bus_send(b, dbus_message_new_error(m, name, bus_safe_string(text)));
	}
	if (vss_err_is_set(err)) {
		kind = err->kind;
		msg = err->message;
	} else {
		kind = vss_error_from_errno(error);
		msg = strerror(error < 0 ? -error : error);
	}
	if (kind == VSS_ERROR_NONE)
		kind = VSS_ERROR_UNEXPECTED_PROVIDER_ERROR;
	snprintf(name, sizeof(name), VSS_ERROR_PREFIX "%s", vss_error_info(kind)->name);
	vss_err_format(kind, bus_safe_string(msg), text, sizeof(text));
	return bus_send(b, dbus_message_new_error(m, name, text));
}

/* ---- option dictionaries --------------------------------------------------------------------- */

static const char *type_name(char t)
{
	switch (t) {
	case 's':
		return "a string (s)";
	case 'b':
		return "a boolean (b)";
	case 'u':
		return "an unsigned 32-bit integer (u)";
	case 't':
		return "an unsigned 64-bit integer (t)";
	case 'A':
		return "an array of dictionaries (aa{sv})";
	case 'D':
		return "a dictionary (a{sv})";
	default:
		return "a string array (as)";
	}
}

int bus_read_strv(DBusMessageIter *it, size_t max, size_t max_n, char ***ret, VssErr *err)
{
	_cleanup_strv_free_ char **l = NULL;
	DBusMessageIter a;
	size_t n, i = 0;

	if (dbus_message_iter_get_arg_type(it) != DBUS_TYPE_ARRAY ||
	    dbus_message_iter_get_element_type(it) != DBUS_TYPE_STRING)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "expected an array of strings");
	/* counted before anything is read: a huge array costs one walk, not n copies */
	n = bus_array_count(it);
	if (n > max_n)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -E2BIG,
		                   "%zu strings given; at most %zu are allowed here", n, max_n);
	l = calloc(n + 1, sizeof(char *)); /* one allocation, NULL-terminated as it fills */
	if (!l)
		return -ENOMEM;
	dbus_message_iter_recurse(it, &a);
	for (; i < n && dbus_message_iter_get_arg_type(&a) == DBUS_TYPE_STRING;
	     dbus_message_iter_next(&a), i++) {
		const char *s;

		dbus_message_iter_get_basic(&a, &s);
		if (!valid_text(s, max))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "\"%.64s\" is empty, too long or contains control "
			                   "characters",
			                   s);
		l[i] = strdup(s);
		if (!l[i])
			return -ENOMEM;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

int bus_read_options(DBusMessageIter *it, const BusOption *opts, VssErr *err)
{
	DBusMessageIter dict, v;
	const char *key;

	if (busmsg_dict_enter(it, &dict) < 0)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "options must be a dictionary a{sv}");
	while (busmsg_dict_next(&dict, &key, &v) > 0) {
		const BusOption *o;
		int vt;

		vt = dbus_message_iter_get_arg_type(&v);

		for (o = opts; o->key; o++)
			if (streq(o->key, key))
				break;
		if (!o->key) {
			char known[512] = "";

			for (const BusOption *k = opts; k->key; k++) {
				strncat(known, k->key, sizeof(known) - strlen(known) - 3);
				if (k[1].key)
					strncat(known, ", ", sizeof(known) - strlen(known) - 1);
			}
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "unknown option \"%.64s\"; known options: %s",
			                   bus_safe_string(key), known[0] ? known : "none");
		}
		if (o->seen && *o->seen)
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "option \"%s\" is given twice", o->key);
		if ((o->type == 'a' &&
		     (vt != DBUS_TYPE_ARRAY ||
		      dbus_message_iter_get_element_type(&v) != DBUS_TYPE_STRING)) ||
		    (o->type == 'A' &&
		     (vt != DBUS_TYPE_ARRAY || !busmsg_has_signature(&v, "aa{sv}"))) ||
		    (o->type == 'D' && !busmsg_has_signature(&v, "a{sv}")) ||
		    (o->type != 'a' && o->type != 'A' && o->type != 'D' && vt != o->type))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "option \"%s\" must be %s", o->key, type_name(o->type));
		if (o->type == 'a' || o->type == 'A') {
			size_t max = o->max ? o->max : VSSD_OPTION_ARRAY_MAX;
			size_t n = bus_array_count(&v);

			if (n > max)
				return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -E2BIG,
				                   "option \"%s\" has %zu elements; at most %zu "
				                   "are allowed",
				                   o->key, n, max);
		}
		switch (o->type) {
		case 's':
			dbus_message_iter_get_basic(&v, (const char **)o->dest);
			break;
		case 'b': {
			dbus_bool_t bv;

			dbus_message_iter_get_basic(&v, &bv);
			*(bool *)o->dest = bv;
			break;
		}
		case 'u':
			dbus_message_iter_get_basic(&v, (uint32_t *)o->dest);
			break;
		case 't':
			dbus_message_iter_get_basic(&v, (uint64_t *)o->dest);
			break;
		case 'A': /* an array of arrays (aa{sv}): the caller walks it */
		case 'D': /* a dictionary (a{sv}): likewise */
			*(DBusMessageIter *)o->dest = v;
			break;
		default: {
			char ***dest = o->dest;
			int r;

			*dest = strv_free(*dest);
			r = bus_read_strv(&v, VSSD_PATH_MAX, SIZE_MAX, dest,
			                  err);             /* counted above */
			if (r < 0 && err && r != -ENOMEM) { /* which option it was */
				char what[sizeof(err->message)];
				VssError kind = err->kind;

				snprintf(what, sizeof(what), "%s", err->message);
				err->kind = VSS_ERROR_NONE; /* the first error wins: say it again */
				vss_err_set(err, kind, r, "option \"%s\": %s", o->key, what);
			}
			if (r < 0)
				return r;
			break;
		}
		}
		if (o->seen)
			*o->seen = true;
	}
	return 0;
}

/* ---- building messages ----------------------------------------------------------------------- */

int bus_dict_add_strv(DBusMessageIter *dict, const char *key, char *const *value)
{
	DBusMessageIter e, v, a;
	int r;

	r = busmsg_entry_open(dict, key, "as", &e, &v);
	if (r < 0)
		return r;
	if (!dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "s", &a))
		return busmsg_entry_close(dict, &e, &v, -ENOMEM);
	for (char *const *i = value; i && *i && r >= 0; i++)
		r = bus_append_string(&a, *i);
	if (r < 0)
		dbus_message_iter_abandon_container(&v, &a);
	else if (!dbus_message_iter_close_container(&v, &a))
		r = -ENOMEM;
	return busmsg_entry_close(dict, &e, &v, r);
}

/* ---- routing --------------------------------------------------------------------------------- */

static const BusMethod *method_find(const BusInterface *iface, const char *member)
{
	for (const BusMethod *x = iface ? iface->methods : NULL; x && x->name; x++)
		if (streq(x->name, member))
			return x;
	return NULL;
}

/* Finds the object and method; NULL method for standard interfaces. */
static int route(Bus *b, DBusMessage *m, BusObject **ret_o, const BusMethod **ret_m)
{
	const char *path = dbus_message_get_path(m), *iface = dbus_message_get_interface(m);
	const char *member = dbus_message_get_member(m);
	BusObject *o = path ? bus_object_find(b, path) : NULL;

	*ret_o = o;
	*ret_m = NULL;
	if (!o)
		return -ENOENT;
	if (iface && (streq(iface, DBUS_PROPS) || streq(iface, DBUS_INTROSPECT) ||
	              streq(iface, DBUS_OBJMGR)))
		return 0;
	if (iface) {
		*ret_m = method_find(bus_object_iface(o, iface), member);
	} else
		for (const BusInterface *const *i = o->ifaces; *i && !*ret_m; i++)
			*ret_m = method_find(*i, member);
	return *ret_m ? 0 : -ENOSYS;
}

void bus_handle_call(Bus *b, DBusMessage *m, const BusCaller *c)
{
	const char *iface = dbus_message_get_interface(m);
	const char *member = dbus_message_get_member(m);
	const BusMethod *meth;
	VssErr err = { 0 };
	BusObject *o;
	int r;

	r = route(b, m, &o, &meth);
	if (r == -ENOENT && iface && streq(iface, DBUS_INTROSPECT)) {
		r = bus_object_introspect(b, m, dbus_message_get_path(m));
		if (r == -ENOENT)
			(void)bus_send(b, dbus_message_new_error(m, DBUS_ERROR_UNKNOWN_OBJECT,
			                                         "no such object"));
		return;
	}
	if (r == -ENOENT) {
		/* a set, shadow copy or writer that is gone (or never was): vssd's own error name,
		 * as when its id is passed as an argument */
		const char *path = dbus_message_get_path(m), *rest = NULL, *kind = "object";
		char id[VSSID_STRING_MAX] = "";
		VssId v;

		if ((rest = startswith(path, VSSD_ROOT_PATH "/set/")))
			kind = "shadow copy set";
		else if ((rest = startswith(path, VSSD_ROOT_PATH "/snapshot/")))
			kind = "shadow copy";
		else if ((rest = startswith(path, VSSD_ROOT_PATH "/writer/")))
			kind = "writer";
		if (rest && vssid_from_path(rest, &v) >= 0)
			vssid_to_string(&v, id);
		vss_err_set(&err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
		            "no %s %s (GetManagedObjects lists those that exist)", kind,
		            id[0] ? id : bus_safe_string(path));
		(void)bus_reply_error(b, m, &err, -ENOENT);
		return;
	}
	if (r == -ENOSYS) {
		(void)bus_send(b, dbus_message_new_error_printf(m, DBUS_ERROR_UNKNOWN_METHOD,
		                                                "unknown method %s", member));
		return;
	}
	if (!meth) { /* standard interfaces */
		bool open = streq(iface, DBUS_INTROSPECT) ||
		            (streq(iface, DBUS_PROPS) && streq(o->path, VSSD_ROOT_PATH));

		if (!open && !bus_caller_allowed(b, c, BUS_ACCESS_ADMIN))
			r = vss_err_set(&err, VSS_ERROR_ACCESS_DENIED, -EACCES,
			                "only root and members of group %s may read vssd objects",
			                b->group_admin);
		else
			r = bus_object_call_standard(b, m, o, &err);
		if (r < 0)
			(void)bus_reply_error(b, m, &err, r);
		return;
	}
	if (!bus_caller_allowed(b, c, meth->access)) {
		vss_err_set(&err, VSS_ERROR_ACCESS_DENIED, -EACCES,
		            "%s is not allowed for uid %u: only root and group %s%s%s may call it",
		            member, (unsigned)c->uid, b->group_admin,
		            meth->access == BUS_ACCESS_WRITER ? " or " : "",
		            meth->access == BUS_ACCESS_WRITER ? b->group_writer : "");
		(void)bus_reply_error(b, m, &err, -EACCES);
		return;
	}
	if (!dbus_message_has_signature(m, meth->in_sig)) {
		vss_err_set(&err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		            "%s takes arguments of type \"%s\", not \"%s\"", member, meth->in_sig,
		            dbus_message_get_signature(m));
		(void)bus_reply_error(b, m, &err, -EINVAL);
		return;
	}
	r = meth->fn(b, m, o->userdata, c, &err);
	if (r < 0) {
		if (vss_err_is_set(&err))
			log_debug("%s from %s failed: %s", member, c->name, err.message);
		(void)bus_reply_error(b, m, &err, r);
	}
}

/* ---- the filter: every incoming message ------------------------------------------------------ */

static DBusHandlerResult bus_filter(DBusConnection *conn, DBusMessage *m, void *userdata)
{
	Bus *b = userdata;

	if (dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected")) {
		log_error("lost the connection to the bus, stopping");
		(void)sd_event_exit(b->event, -ECONNRESET);
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	if (dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged")) {
		const char *name, *old_owner, *new_owner;

		/* Only the bus itself says who left: any peer may send a signal of this name
		 * to us directly (the match rule filters broadcasts only), and believing it
		 * would release another requester's sets and writers. */
		if (!streq_ptr(dbus_message_get_sender(m), DBUS_SERVICE_DBUS)) {
			log_warning("a NameOwnerChanged signal from %s, not from the bus, ignoring",
			            bus_safe_string(dbus_message_get_sender(m)));
			return DBUS_HANDLER_RESULT_HANDLED;
		}
		if (dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING,
		                          &old_owner, DBUS_TYPE_STRING, &new_owner,
		                          DBUS_TYPE_INVALID) &&
		    name[0] == ':' && !new_owner[0]) {
			bus_caller_forget(b, name);
			if (b->peer_gone)
				b->peer_gone(b->userdata, name);
		}
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	}
	if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL)
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	if (bus_caller_lookup(b, m) < 0)
		(void)bus_send(b, dbus_message_new_error(m, DBUS_ERROR_NO_MEMORY, "out of memory"));
	return DBUS_HANDLER_RESULT_HANDLED;
}

/* ---- lifetime -------------------------------------------------------------------------------- */

int bus_init(Bus *b, sd_event *e, const char *address, BusPeerGoneFn peer_gone, void *userdata)
{
	DBusError err;
	int r;

	*b = (Bus){ .event = sd_event_ref(e),
		    .peer_gone = peer_gone,
		    .userdata = userdata,
		    .group_admin = "vssadmin",
		    .group_writer = "vsswriters" };
	dbus_error_init(&err);
	if (address) {
		b->conn = dbus_connection_open_private(address, &err);
		if (b->conn && !dbus_bus_register(b->conn, &err)) {
			dbus_connection_close(b->conn);
			dbus_connection_unref(b->conn);
			b->conn = NULL;
		}
	} else
		b->conn = dbus_bus_get_private(DBUS_BUS_SYSTEM, &err);
	if (!b->conn) {
		r = log_error_errno(-ECONNREFUSED, "cannot connect to the bus %s: %s",
		                    address ? address : "(system)", err.message);
		dbus_error_free(&err);
		return r;
	}
	dbus_connection_set_exit_on_disconnect(b->conn, FALSE);

	r = sd_event_add_defer(e, &b->dispatch, bus_on_dispatch, b);
	if (r < 0)
		return r;
	(void)sd_event_source_set_enabled(b->dispatch, SD_EVENT_ONESHOT);
	if (!dbus_connection_set_watch_functions(b->conn, bus_add_watch, bus_remove_watch,
	                                         bus_toggle_watch, b, NULL) ||
	    !dbus_connection_set_timeout_functions(b->conn, bus_add_timeout, bus_remove_timeout,
	                                           bus_toggle_timeout, b, NULL) ||
	    !dbus_connection_add_filter(b->conn, bus_filter, b, NULL))
		return -ENOMEM;
	dbus_connection_set_dispatch_status_function(b->conn, bus_on_dispatch_status, b, NULL);

	dbus_bus_add_match(b->conn,
	                   "type='signal',sender='org.freedesktop.DBus',"
	                   "interface='org.freedesktop.DBus',member='NameOwnerChanged'",
	                   &err);
	if (dbus_error_is_set(&err)) {
		r = log_error_errno(-EIO, "cannot watch bus names: %s", err.message);
		dbus_error_free(&err);
		return r;
	}
	return 0;
}

int bus_request_name(Bus *b, const char *name)
{
	DBusError err;
	int r;

	dbus_error_init(&err);
	/* Blocking once at start-up, before the loop serves anyone: nothing else to wait for. */
	r = dbus_bus_request_name(b->conn, name, DBUS_NAME_FLAG_DO_NOT_QUEUE, &err);
	if (dbus_error_is_set(&err)) {
		r = log_error_errno(-EACCES, "cannot own %s: %s", name, err.message);
		dbus_error_free(&err);
		return r;
	}
	if (r != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
		return log_error_errno(-EEXIST, "%s is owned by another process already", name);
	return 0;
}

void bus_done(Bus *b)
{
	bus_objects_free(b);
	bus_callers_free(b);
	if (b->conn) {
		dbus_connection_flush(b->conn);
		dbus_connection_close(b->conn);
		dbus_connection_unref(b->conn);
		b->conn = NULL;
	}
	for (size_t i = 0; i < b->n_io; i++) /* watches libdbus did not remove */
		sd_event_source_disable_unref(b->io[i].source);
	b->n_io = b->n_watches = 0;
	b->dispatch = sd_event_source_disable_unref(b->dispatch);
	b->event = sd_event_unref(b->event);
}
