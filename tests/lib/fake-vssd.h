/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fake-vssd.h - a private dbus-daemon and a fake vssd on it, for writer tests without root */
#pragma once

#include <dbus/dbus.h>
#include <sys/types.h>

#include "common/macro.h"

/* A dbus-daemon of our own (a temporary directory, a config that allows everything), killed
 * with the test process even when a test fails half-way. VSSD_TEST_KEEP=1 keeps the directory. */
typedef struct FakeBus FakeBus;
int fake_bus_start(FakeBus **ret);
FakeBus *fake_bus_free(FakeBus *b);
DEFINE_POINTER_CLEANUP(fake_bus_freep, FakeBus *, fake_bus_free)
const char *fake_bus_address(const FakeBus *b);
const char *fake_bus_dir(const FakeBus *b); /* the temporary directory, removed by the free */
void fake_bus_kill(FakeBus *b);             /* SIGKILL: every connection drops */

/* A connection that owns org.vssd.ShadowCopy1 (unless own_name is false), answers
 * Manager.RegisterWriter and UnregisterWriter, and calls the registered writer. While waiting it
 * also pumps a "peer" (the in-process writer): dispatch is called only when poll() says peer_fd is
 * readable, so waiting proves that the peer's fd alone is enough. */
typedef struct FakeVssd {
	DBusConnection *conn;
	unsigned n_register;
	DBusMessage *last_register; /* the last RegisterWriter call */
	char *writer;               /* its sender */
	char *writer_path;
	char instance_id[37];
	int peer_fd;
	int (*peer_dispatch)(void *userdata);
	void *peer_userdata;
	int peer_error; /* the first negative result of peer_dispatch */
} FakeVssd;

int fake_vssd_new(const char *address, bool own_name, FakeVssd **ret);
FakeVssd *fake_vssd_free(FakeVssd *f);
DEFINE_POINTER_CLEANUP(fake_vssd_freep, FakeVssd *, fake_vssd_free)
void fake_vssd_set_peer(FakeVssd *f, int fd, int (*dispatch)(void *userdata), void *userdata);
/* Releases the name and requests it again (NameOwnerChanged to "" and back). */
int fake_vssd_reown(FakeVssd *f);

/* One round: dispatch what is there, then poll at most max_wait_usec. */
void fake_vssd_pump(FakeVssd *f, usec_t max_wait_usec);
/* Pumps until cond(data) holds or timeout_usec passed; returns the last cond(data). */
bool fake_vssd_wait(FakeVssd *f, bool (*cond)(void *data), void *data, usec_t timeout_usec);
bool fake_vssd_wait_registered(FakeVssd *f, unsigned n, usec_t timeout_usec);

/* Calls method on the registered writer (arguments as dbus_message_append_args()) and waits for
 * the reply; returns it (a method return or an error; owned by the caller) or NULL. */
DBusMessage *fake_vssd_call(FakeVssd *f, const char *method, int first_arg_type, ...);
/* The same with a message built by the caller (destination and path are filled in). */
DBusMessage *fake_vssd_send(FakeVssd *f, DBusMessage *m);
/* A method call to the registered writer, to append arguments to before fake_vssd_send(). */
DBusMessage *fake_vssd_new_call(FakeVssd *f, const char *method);

/* Renders a message's arguments as text: 's' strings, <uint32 N>, true/false, [a, b],
 * {'key': value}, so tests can compare a whole dictionary at once. */
char *fake_render_args(DBusMessage *m);
/* "" for a method return, else the error name. */
const char *fake_reply_error(DBusMessage *m);
/* The first string argument of an error reply (its message) or "". */
const char *fake_reply_message(DBusMessage *m);

/* Starts argv[0] with argv (stdin /dev/null; stdout, stderr inherited or to out_path), killed
 * when the test process dies. Returns the pid or a negative errno. */
pid_t fake_spawn(char *const *argv, const char *out_path);
/* Sends sig (SIGTERM) and reaps; returns the wait status or a negative errno. */
int fake_stop(pid_t pid, int sig);
