/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bus-creds.c - callers on the bus: credentials (GetConnectionCredentials), access checks */
#include <grp.h>
#include <pwd.h>

#include "common/log.h"
#include "daemon/bus.h"

/* libdbus's default reply timeout: the bus answers at once, but a loop kept busy for seconds
 * (an LVM provider's lvm command still runs synchronously) would otherwise see its own
 * timeout fire before it reads the answer waiting in the socket */
#define CREDS_TIMEOUT_MS 25000

/* ---- callers and access ---------------------------------------------------------------------- */

static BusCaller *caller_find(Bus *b, const char *name)
{
	for (size_t i = 0; i < b->n_callers; i++)
		if (streq(b->callers[i]->name, name))
			return b->callers[i];
	return NULL;
}

static void caller_free(BusCaller *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_queue; i++)
		dbus_message_unref(c->queue[i]);
	free(c->queue);
	free(c->gids);
	free(c->name);
	free(c);
}

void bus_caller_forget(Bus *b, const char *name)
{
	for (size_t i = 0; i < b->n_callers; i++)
		if (streq(b->callers[i]->name, name)) {
			caller_free(b->callers[i]);
			b->callers[i] = b->callers[--b->n_callers];
			return;
		}
}

static bool caller_in_group(const BusCaller *c, const char *group)
{
	struct group *g = group ? getgrnam(group) : NULL;

	if (!g)
		return false;
	for (size_t i = 0; i < c->n_gids; i++)
		if (c->gids[i] == g->gr_gid)
			return true;
	return false;
}

bool bus_caller_allowed(Bus *b, const BusCaller *c, BusAccess access)
{
	switch (access) {
	case BUS_ACCESS_OPEN:
		return true;
	case BUS_ACCESS_WRITER:
		if (caller_in_group(c, b->group_writer))
			return true;
		_fallthrough_;
	case BUS_ACCESS_ADMIN:
		return c->uid == b->uid_admin || caller_in_group(c, b->group_admin);
	case _BUS_ACCESS_MAX:
	case _BUS_ACCESS_INVALID:
		break;
	}
	return false;
}

/* ---- credentials ----------------------------------------------------------------------------- */

static void caller_on_creds(DBusPendingCall *pending, void *userdata)
{
	Bus *b = ((void **)userdata)[0];
	char *name = ((void **)userdata)[1];
	DBusMessage *reply = dbus_pending_call_steal_reply(pending);
	BusCaller *c = caller_find(b, name);
	DBusMessageIter it, dict, v;
	const char *key;

	dbus_pending_call_unref(pending);
	if (!c || !reply)
		goto out;
	if (dbus_message_get_type(reply) != DBUS_MESSAGE_TYPE_METHOD_RETURN) {
		/* No answer (a timeout while the loop was busy) or an error: the waiting calls are
		 * refused with the reason, and the caller is forgotten, so that its next call asks
		 * the bus again instead of being taken for an unknown uid for good. */
		const char *why = dbus_message_get_error_name(reply);
		VssErr err = { 0 };

		log_notice("cannot learn the credentials of %s from the bus: %s; refusing its %zu "
		           "waiting calls",
		           bus_safe_string(name), bus_safe_string(strempty(why)), c->n_queue);
		vss_err_set(&err, VSS_ERROR_ACCESS_DENIED, 0,
		            "vssd could not learn the caller's credentials from the bus (%s): try "
		            "again",
		            bus_safe_string(strempty(why)));
		for (size_t i = 0; i < c->n_queue; i++) {
			(void)bus_reply_error(b, c->queue[i], &err, -EACCES);
			dbus_message_unref(c->queue[i]);
		}
		c->n_queue = 0;
		bus_caller_forget(b, name);
		goto out;
	}
	c->uid = (uid_t)-1;
	if (dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_METHOD_RETURN &&
	    dbus_message_iter_init(reply, &it) && busmsg_dict_enter(&it, &dict) >= 0) {
		bool have_groups = false;

		while (busmsg_dict_next(&dict, &key, &v) > 0) {
			uint32_t u;

			if (streq(key, "UnixUserID") && busmsg_get_u32(&v, &u) >= 0)
				c->uid = u;
			else if (streq(key, "ProcessID") && busmsg_get_u32(&v, &u) >= 0)
				c->pid = (pid_t)u;
			else if (streq(key, "UnixGroupIDs") &&
			         dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_ARRAY) {
				DBusMessageIter a;

				have_groups = true;
				dbus_message_iter_recurse(&v, &a);
				while (dbus_message_iter_get_arg_type(&a) == DBUS_TYPE_UINT32) {
					uint32_t g;
					gid_t *n =
						reallocarray(c->gids, c->n_gids + 1, sizeof(gid_t));

					if (!n)
						break;
					dbus_message_iter_get_basic(&a, &g);
					c->gids = n;
					c->gids[c->n_gids++] = g;
					dbus_message_iter_next(&a);
				}
			}
		}
		if (!have_groups && c->uid != (uid_t)-1) {
			/* an older bus: the user's groups from the user database */
			struct passwd *pw = getpwuid(c->uid);
			int n = 64;

			if (pw) {
				c->gids = calloc((size_t)n, sizeof(gid_t));
				if (c->gids &&
				    getgrouplist(pw->pw_name, pw->pw_gid, c->gids, &n) >= 0)
					c->n_gids = (size_t)n;
			}
		}
	}
	c->ready = true;
	/* The calls that waited, in their order */
	for (size_t i = 0; i < c->n_queue; i++) {
		bus_handle_call(b, c->queue[i], c);
		dbus_message_unref(c->queue[i]);
	}
	c->n_queue = 0;
out:
	if (reply)
		dbus_message_unref(reply);
}

static void creds_userdata_free(void *p)
{
	void **ud = p;

	free(ud[1]);
	free(ud);
}

int bus_caller_lookup(Bus *b, DBusMessage *m)
{
	const char *sender = dbus_message_get_sender(m);
	BusCaller *c = sender ? caller_find(b, sender) : NULL;
	DBusMessage *q = NULL;
	DBusPendingCall *pending = NULL;
	DBusMessage **nq;
	void **ud;

	if (!sender)
		return -EINVAL;
	if (c && c->ready) {
		bus_handle_call(b, m, c);
		return 0;
	}
	if (!c) {
		BusCaller **n = reallocarray(b->callers, b->n_callers + 1, sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->callers = n;
		c = calloc(1, sizeof(*c));
		if (!c || !(c->name = strdup(sender))) {
			free(c);
			return -ENOMEM;
		}
		b->callers[b->n_callers++] = c;

		q = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
		                                 DBUS_INTERFACE_DBUS, "GetConnectionCredentials");
		ud = calloc(2, sizeof(void *));
		if (!q || !ud ||
		    !dbus_message_append_args(q, DBUS_TYPE_STRING, &sender, DBUS_TYPE_INVALID) ||
		    !dbus_connection_send_with_reply(b->conn, q, &pending, CREDS_TIMEOUT_MS) ||
		    !pending) {
			if (q)
				dbus_message_unref(q);
			free(ud);
			bus_caller_forget(b, sender);
			return -ENOMEM;
		}
		dbus_message_unref(q);
		ud[0] = b;
		ud[1] = strdup(sender);
		if (!ud[1] || !dbus_pending_call_set_notify(pending, caller_on_creds, ud,
		                                            creds_userdata_free)) {
			dbus_pending_call_cancel(pending);
			dbus_pending_call_unref(pending);
			creds_userdata_free(ud);
			bus_caller_forget(b, sender);
			return -ENOMEM;
		}
	}
	nq = reallocarray(c->queue, c->n_queue + 1, sizeof(*nq));
	if (!nq)
		return -ENOMEM;
	c->queue = nq;
	c->queue[c->n_queue++] = dbus_message_ref(m);
	return 0;
}

void bus_callers_free(Bus *b)
{
	for (size_t i = 0; i < b->n_callers; i++)
		caller_free(b->callers[i]);
	free(b->callers);
	b->callers = NULL;
	b->n_callers = 0;
}
