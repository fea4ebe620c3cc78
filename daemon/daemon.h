/* SPDX-License-Identifier: GPL-2.0-or-later */
/* daemon.h - the one daemon context: loop, bus, configuration, engine, registries */
#pragma once

#include <systemd/sd-event.h>

#include "common/macro.h"
#include "daemon/bus.h"
#include "daemon/config.h"
#include "daemon/provider.h"

typedef struct Snapset Snapset;
typedef struct Snapshot Snapshot;
typedef struct Writer Writer;
typedef struct RestoreSession RestoreSession;
typedef struct WriterBroadcast WriterBroadcast;
typedef struct StorageAssoc StorageAssoc;
typedef struct Monitor Monitor;
typedef struct ManagedVolume ManagedVolume;
typedef struct Dmdev Dmdev;
typedef struct Host Host;
typedef struct FaultPoints FaultPoints;

#define VSSD_STATE_DIR_DEFAULT "/var/lib/vssd"

typedef struct DaemonOptions {
	const char *bus_address; /* NULL: system bus */
	const char *config_path;
	const char *state_dir;
} DaemonOptions;

typedef struct Daemon {
	sd_event *event;
	Bus bus; /* embedded: bus_init() / bus_done() */
	Config config;
	Dmdev *dm;
	bool own_dm; /* dm was made by daemon_init() (libdm), not given by a test */
	const Host *host;
	ProviderRegistry providers; /* daemon_register_providers(): in pick order */
	char *state_dir;
	char *state_path;
	char *freeze_ledger; /* <state_dir>/frozen: see freeze.h (the set writes it, recovery reads
	                        it) */
	Snapset **sets;
	size_t n_sets;
	Snapset *creating; /* the one set between StartSnapshotSet and the end of DoSnapshotSet */
	Writer **writers;
	size_t n_writers;
	StorageAssoc *storage; /* explicit shadow storage associations */
	size_t n_storage;
	Monitor *monitor;       /* storage fill level, overflow */
	ManagedVolume *volumes; /* CreateVolume's */
	size_t n_volumes;
	RestoreSession **restores; /* daemon/restore.h */
	size_t n_restores;
	/* writer.c: every broadcast under way, oldest first, and the calls in flight of all of
	 * them together (dbus-daemon refuses more than 128 pending replies per connection) */
	WriterBroadcast **bcasts;
	size_t n_bcasts;
	unsigned writer_calls;
	sd_event_source *bcast_pump;
	bool stopping;
	/* A set's file systems are frozen or its origins suspended: nothing may write to a file
	 * system then (the monitor puts off growing COW files until the set is done) */
	bool io_held;
	FaultPoints *faults;    /* VSSD_TEST_FAULT, read at start (daemon/fault.h); NULL: none */
	unsigned n_state_saves; /* state files written: when they are written is tested */
} Daemon;

#define DAEMON_NULL ((Daemon){ 0 })

/* The order of init, reversed by daemon_done(): config, engine, state and recovery, bus,
 * objects, name. */
int daemon_init(Daemon *d, const DaemonOptions *o);
void daemon_done(Daemon *d);

/* Registers the built-in providers with the daemon's dm, host, configuration, fault points and
 * freeze ledger (again: the earlier registration is dropped). */
int daemon_register_providers(Daemon *d);

/* A signal of the Manager interface with the arguments given (NULL: absent), in this order: the
 * strings a, b, c, then the u64s u1, u2 */
void daemon_emit_manager_signal(Daemon *d, const char *member, const char *a, const char *b,
                                const char *c, const uint64_t *u1, const uint64_t *u2);
/* After a reboot: the provider re-creates s's devices from its storage (same id and names) and
 * makes its volume an origin again. Returns 0, or a negative errno (logged). */
int daemon_reactivate_snapshot(Daemon *d, Snapshot *s);
int daemon_save_state(Daemon *d);

/* The set in creation (NULL: none); emits PropertiesChanged of SetInProgress */
void daemon_set_creating(Daemon *d, Snapset *s);
int daemon_add_set(Daemon *d, Snapset *s);
void daemon_remove_set(Daemon *d, Snapset *s);
Snapset *daemon_find_set(Daemon *d, const VssId *id);
Snapshot *daemon_find_snapshot(Daemon *d, const VssId *id);
/* The created (not preparing) snapshots that match; caller frees the array. */
int daemon_snapshots(Daemon *d, bool (*match)(Snapshot *s, const void *arg), const void *arg,
                     Snapshot ***ret, size_t *ret_n);
/* All committed snapshots of a volume (by dm name), oldest first; caller frees the array. */
int daemon_volume_snapshots(Daemon *d, const char *volume_name, Snapshot ***ret, size_t *ret_n);

extern const BusInterface daemon_manager_interface;
