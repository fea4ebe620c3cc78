/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-daemon.h - a fresh Daemon for unit tests: sd-event, default config, fake dm and host, no bus
 */
#pragma once

#include <dbus/dbus.h>
#include <stddef.h>
#include <sys/sysmacros.h>

#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/provider-dmsnap.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "daemon/writer.h"
#include "tests/lib/fake-dm.h"
#include "tests/lib/fake-host.h"

/* The dm-snapshot provider's object of a shadow copy (the daemon's tests run that provider) */
static inline DmsnapSnapshot *test_dm(Snapshot *s)
{
	return provider_dmsnap_snap(s->ps);
}

#define TEST_DAEMON_STORAGE_DEVNO makedev(8, 1) /* the file system of config.storage_dir */
#define TEST_DAEMON_SECTORS       131072ULL     /* 64 MiB volumes */
#define TEST_DAEMON_VOLUMES_MAX   80
#define TEST_DAEMON_OWNER         ":1.42" /* the default requester's unique name */

/* A Daemon as daemon_init() builds it, minus libdm, the bus connection and root:
 * - d.event from sd_event_new(), d.config the defaults, d.dm and d.host the fakes, d.env as
 *   daemon_init() fills it;
 * - volumes "a", "b", "c", ... (dm-linear over 7:<i>, /dev/mapper/<name> in the fake host),
 *   nothing mounted, config.storage_dir a directory on TEST_DAEMON_STORAGE_DEVNO;
 * - no state file (d.state_path NULL: daemon_save_state() does nothing) unless asked for: then a
 *   private directory under /tmp, removed by test_daemon_free();
 * - d.bus zeroed (no connection: replies and signals are dropped), with a tap that keeps a
 *   reference to every message the daemon sends, in order. */
typedef struct TestDaemon {
	Daemon d;
	FakeDm *dm;
	FakeHost *host;
	char volume[TEST_DAEMON_VOLUMES_MAX][24]; /* dm names */
	dev_t devno[TEST_DAEMON_VOLUMES_MAX];
	size_t n_volumes;
	char state_dir[64]; /* "" without a state file */
	DBusMessage **sent;
	size_t n_sent;
	uint32_t serial; /* of the last call made by test_call_new() */
} TestDaemon;

/* The TestDaemon of a Daemon made by test_daemon_new() (d is its first member) */
#define TEST_DAEMON(daemon) ((TestDaemon *)(void *)(daemon))
_Static_assert(offsetof(TestDaemon, d) == 0, "TEST_DAEMON() needs d first");

typedef struct TestDaemonOptions {
	size_t n_volumes; /* 0: 3 */
	bool state_file;
} TestDaemonOptions;

int test_daemon_new(TestDaemon **ret);
int test_daemon_new_opts(TestDaemon **ret, const TestDaemonOptions *o);
/* Frees in dependency order: monitor, sets (rolling back any creation), writers, storage, bus
 * objects, config, the state directory, the loop, then the fakes. Never touches a set's
 * committed devices: what the test left in the fake dm is freed with it. */
TestDaemon *test_daemon_free(TestDaemon *t);
DEFINE_POINTER_CLEANUP(test_daemon_freep, TestDaemon *, test_daemon_free)

/* "/dev/mapper/<name of volume i>" into buf (64 bytes) */
const char *test_daemon_volume_path(TestDaemon *t, size_t i, char buf[static 64]);
/* The origin's table as created: "linear 7:<i> 0" */
const char *test_daemon_volume_table(TestDaemon *t, size_t i, char buf[static 64]);

/* A caller as the bus would describe it (uid 0, no groups needed). */
BusCaller test_caller(const char *name, uid_t uid);

/* A method call with a serial and a sender, as the bus would deliver it; caller unrefs. */
DBusMessage *test_call_new(TestDaemon *t, const char *path, const char *iface, const char *member,
                           const char *sender);
/* Calls the handler of member in iface directly (no access or signature checks): what
 * bus.c's dispatch does once the caller is known. Returns the handler's result. */
int test_daemon_call(TestDaemon *t, const BusInterface *iface, void *userdata, DBusMessage *m,
                     const BusCaller *c, VssErr *err);

/* Messages the daemon sent so far (borrowed) */
size_t test_daemon_count_sent(TestDaemon *t, int type, const char *name);
/* The reply (method return or error) to call m, or NULL; borrowed */
DBusMessage *test_daemon_reply_to(TestDaemon *t, DBusMessage *m);
void test_daemon_clear_sent(TestDaemon *t);

/* StartSnapshotSet through the Manager's handler, as owner (NULL: TEST_DAEMON_OWNER): context
 * NULL for the default. Returns the handler's result; *ret is the new set. */
int test_start_set(TestDaemon *t, const char *owner, const char *context, bool no_writers,
                   bool no_auto_release, Snapset **ret, VssErr *err);
/* The same, asserting success */
Snapset *test_set(TestDaemon *t, const char *context, bool no_writers);
/* AddVolume of volume i by snapset_add_volume(), asserting success */
Snapshot *test_add(Snapset *s, size_t i);
/* DoSnapshotSet by snapset_create() with a call message; returns its result. Without writers
 * and without mounts the creation ends before it returns. */
int test_create(Snapset *s, VssErr *err);
/* A created set (StartSnapshotSet with no-writers, AddVolume of volumes [0, n), DoSnapshotSet),
 * asserting success */
Snapset *test_created_set(TestDaemon *t, const char *context, size_t n);
/* The shadow copy of volume i alone in a created set whose requester asked for no-auto-release
 * and released it: the set has no owner any more, so it goes with its last shadow copy. The
 * shadow copy's device path goes into dev and, as a block device, into the fake host; the fake
 * dm's call log is cleared. Asserting success. */
Snapshot *test_released_snapshot(TestDaemon *t, const char *context, size_t i,
                                 char dev[static 160]);

/* RegisterWriter's work: a writer named name of class 00000000-0000-4000-8000-000000000001,
 * registered by owner (NULL: ":1.50") at /w/<name>, no components; asserting success */
Writer *test_writer(TestDaemon *t, const char *name, const char *owner);
/* The same with components of these names (NULL-terminated), each without paths */
Writer *test_writer_with_components(TestDaemon *t, const char *name, const char *owner,
                                    const char *const *components);
