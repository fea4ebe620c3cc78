/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bus-creds.h - callers on the bus: credentials (GetConnectionCredentials), access checks */
#pragma once

#include <dbus/dbus.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct Bus Bus;
typedef struct BusCaller BusCaller;

/* Who may call a method (checked by the daemon itself, on top of the bus policy). */
typedef enum BusAccess {
	BUS_ACCESS_ADMIN,  /* root (Bus.uid_admin) or group vssadmin */
	BUS_ACCESS_WRITER, /* root, vssadmin or vsswriters */
	BUS_ACCESS_OPEN,
	_BUS_ACCESS_MAX,
	_BUS_ACCESS_INVALID = -EINVAL,
} BusAccess;

struct BusCaller {
	char *name; /* unique name */
	uid_t uid;
	pid_t pid;
	gid_t *gids;
	size_t n_gids;
	bool ready;
	DBusMessage **queue; /* calls waiting for the credentials */
	size_t n_queue;
};

/* May c call a method of this access? Root is Bus.uid_admin, the groups Bus.group_admin and
 * Bus.group_writer (names, looked up in the group database). */
bool bus_caller_allowed(Bus *b, const BusCaller *c, BusAccess access);

/* For bus.c: hands m to bus_handle_call() with its caller, at once when the sender's credentials
 * are known, else once the bus has told them (calls from one sender keep their order). */
int bus_caller_lookup(Bus *b, DBusMessage *m);
/* A unique name left the bus: its credentials and waiting calls go */
void bus_caller_forget(Bus *b, const char *name);
void bus_callers_free(Bus *b);
