/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssctl-verbs.h - vssctl's verbs: each one conversation with vssd over D-Bus */
#pragma once

#include <dbus/dbus.h>
#include <stdio.h>

#include "client/busutil.h"
#include "client/vssctl-args.h"

/* One run of vssctl: what every verb needs, shared with vssctl-backup.c */
typedef struct Vssctl {
	const VssctlArgs *args;
	DBusConnection *conn;
	int interrupt_fd; /* a signalfd while backup runs, else -1 */
	FILE *out;
} Vssctl;

/* Opens a private connection to address (NULL: the system bus) and registers on it. */
int vssctl_connect(const char *address, DBusConnection **ret);
void vssctl_connection_closep(DBusConnection **c);

/* All of vssctl: parse, run, map to the exit status: 0 success, 1 failure (printed), 2 usage
 * error (printed to err), or CMD's status for backup. */
int vssctl_main(int argc, char *argv[], FILE *out, FILE *err);

/* Runs args->verb against vssd: the exit status (0, or CMD's for backup), or a negative errno
 * after the reason was printed (exit status 1). */
int vssctl_run(const VssctlArgs *args, FILE *out);

/* --timeout-ms, or the default for an ordinary call or one that waits for writers/a commit */
int vssctl_timeout(const Vssctl *v, bool long_call);
/* busutil_call() that prints what went wrong as "vssctl: <message>" (the daemon's message
 * starts with the VSS code). */
int vssctl_call(Vssctl *v, DBusMessage *m, int timeout_ms, DBusMessage **ret_reply);
/* A method without arguments on path; the reply is dropped when ret_reply is NULL. */
int vssctl_call_simple(Vssctl *v, const char *path, const char *iface, const char *member,
                       int timeout_ms, DBusMessage **ret_reply);
/* Properties.GetAll(iface) of path */
int vssctl_get_all(Vssctl *v, const char *path, const char *iface, BusValue **ret);
/* The id (8-4-4-4-12) of a set or snapshot object path, from its last element */
int vssctl_id_from_path(const char *path, char ret[static VSSID_STRING_MAX]);
/* ObjectManager.GetManagedObjects of vssd: (*ret)->items[0] is the a{oa{sa{sv}}} */
int vssctl_managed_objects(Vssctl *v, BusValue **ret);
/* create shadow with v->args (its schedule tag too); prints the new set; its id in ret_set_id
 * unless NULL */
int vssctl_create_shadow(Vssctl *v, char *ret_set_id);
