/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapset.h - shadow copy sets: the requester session, its state machine, creation and release */
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include "common/macro.h"
#include "common/vss-error.h"
#include "common/vssid.h"

typedef struct Daemon Daemon;
typedef struct Snapshot Snapshot;
typedef struct ProviderSet ProviderSet;
typedef struct Provider Provider;
typedef struct WriterBroadcast WriterBroadcast;
typedef struct FreezeGroup FreezeGroup;
typedef struct BusInterface BusInterface;
typedef struct Snapset Snapset;
typedef struct Writer Writer;
typedef struct BackupDocument BackupDocument;
typedef struct Watchdog Watchdog;

/* The end of an asynchronous operation on a set: r < 0 and err (may be unset) on failure,
 * also when the set goes away before it ends (-ECANCELED). */
typedef void (*SnapsetDoneFn)(Snapset *s, int r, const VssErr *err, void *userdata);

typedef enum SnapsetState {
	SNAPSET_STATE_STARTED,   /* StartSnapshotSet: volumes may be added */
	SNAPSET_STATE_GATHERED,  /* GatherWriterMetadata done */
	SNAPSET_STATE_PREPARED,  /* PrepareForBackup done */
	SNAPSET_STATE_CREATING,  /* DoSnapshotSet under way */
	SNAPSET_STATE_CREATED,   /* the snapshots exist */
	SNAPSET_STATE_COMPLETED, /* BackupComplete */
	SNAPSET_STATE_ABORTED,
	SNAPSET_STATE_FAILED,
	_SNAPSET_STATE_MAX,
	_SNAPSET_STATE_INVALID = -EINVAL,
} SnapsetState;

typedef enum SnapsetContext {
	SNAPSET_CONTEXT_BACKUP,
	SNAPSET_CONTEXT_FILE_SHARE_BACKUP,
	SNAPSET_CONTEXT_PERSISTENT,
	SNAPSET_CONTEXT_APP_ROLLBACK,
	SNAPSET_CONTEXT_CLIENT_ACCESSIBLE,
	SNAPSET_CONTEXT_NAS_ROLLBACK,
	SNAPSET_CONTEXT_CLIENT_ACCESSIBLE_WRITERS,
	_SNAPSET_CONTEXT_MAX,
	_SNAPSET_CONTEXT_INVALID = -EINVAL,
} SnapsetContext;

/* VSS_VOLUME_SNAPSHOT_ATTRIBUTES */
#define VSS_ATTR_PERSISTENT        0x1u
#define VSS_ATTR_NO_AUTORECOVERY   0x2u
#define VSS_ATTR_CLIENT_ACCESSIBLE 0x4u
#define VSS_ATTR_NO_AUTO_RELEASE   0x8u
#define VSS_ATTR_NO_WRITERS        0x10u
#define VSS_ATTR_DIFFERENTIAL      0x20000u
#define VSS_ATTR_EXPOSED_LOCALLY   0x100000u

typedef struct SnapsetOptions {
	SnapsetContext context;
	bool no_writers;
	bool no_auto_release;
	const char *backup_type;
	const char *description;
	char **exclude_writer_classes;
	char **exclude_writer_instances; /* DisableWriterInstances */
	char **include_writer_classes;   /* EnableWriterClasses: when given, only these */
	bool writer_failures_continue;   /* writer-failures: abort (false) or continue */
	BackupDocument *previous;        /* previous-document, parsed; snapset_new() takes it */
} SnapsetOptions;
/* Frees the option lists (bus-manager.c reads them) */
void snapset_options_done(SnapsetOptions *o);

/* One provider's part of a set under creation: a set holds one per provider it uses
 * (DESIGN.md §4b), in pick order (lvm-thin, lvm, dm-snapshot) */
#define SNAPSET_ENGINES_MAX 8 /* PROVIDERS_MAX */

typedef struct SnapsetEngine {
	Snapset *set;
	Provider *provider;
	ProviderSet *ps;
	bool frozen_ok; /* commits inside the frozen window (ops->set_commit_frozen_ok) */
	bool pending;   /* an asynchronous prepare or commit of it is under way */
	usec_t held;    /* what its commit reported holding I/O */
} SnapsetEngine;

/* Where the creation's provider steps stand (what an engine's completion continues) */
typedef enum SnapsetStep {
	SNAPSET_STEP_NONE,
	SNAPSET_STEP_PREPARE,      /* every provider prepares, in parallel */
	SNAPSET_STEP_COMMIT_FIRST, /* frozen window: every frozen commit but the last, in parallel
	                            */
	SNAPSET_STEP_COMMIT_LAST,  /* frozen window: the last frozen commit (it may thaw) */
	SNAPSET_STEP_COMMIT_AFTER, /* thawed: providers that cannot commit frozen, in turn */
} SnapsetStep;

struct Snapset {
	Daemon *d;
	VssId id;
	char id_str[VSSID_STRING_MAX];
	char path[128];
	char *owner; /* unique bus name; NULL once released or after a restart */
	uid_t owner_uid;
	SnapsetContext context;
	uint32_t attributes;
	char *backup_type;
	char *description;
	char **exclude_writer_classes;
	char **exclude_writer_instances;
	char **include_writer_classes; /* NULL: every class not excluded */
	char **components;   /* SetComponents: pairs (writer instance id, component name) */
	bool components_set; /* SetComponents was called (else every component takes part) */
	char **results;      /* SetBackupSucceeded: triples (writer instance id, name, "0"/"1") */
	BackupDocument *previous; /* previous-document: where previous backup stamps come from */
	bool backup_success;      /* BackupComplete's argument */
	bool writers;             /* writers take part */
	bool auto_release;        /* snapshots go with the session */
	SnapsetState state;
	usec_t creation_time;
	Snapshot **snaps;
	size_t n_snaps;
	SnapsetEngine engines[SNAPSET_ENGINES_MAX]; /* until created: one per provider */
	size_t n_engines;
	SnapsetStep step;          /* the provider step under way */
	size_t step_next;          /* SNAPSET_STEP_COMMIT_AFTER: the next engine to commit */
	unsigned pending;          /* engines whose step is still under way */
	bool starting;             /* the step's operations are being started */
	int step_error;            /* the step's first failure (rolled back once pending is 0) */
	VssErr step_err;           /* and its error */
	bool instant_per_volume;   /* Instant: "per-volume" (some volumes cut outside the freeze) */
	Watchdog *freeze_watchdog; /* several frozen commits: the set's own bound of the window */
	usec_t frozen_start;       /* CLOCK_MONOTONIC: the freeze done (0: nothing frozen) */
	SnapsetDoneFn create_done; /* DoSnapshotSet or CreateSnapshotSet, told at the end */
	void *create_userdata;
	FreezeGroup *sync;     /* the syncfs pass before Freeze */
	FreezeGroup *fsfreeze; /* the FIFREEZE of the set's file systems, lent to the providers */
	sd_event_source *sync_io;
	sd_event_source *freeze_io;
	sd_event_source *flush_timer;
	sd_event_source *freeze_window; /* the shortest writer freeze window */
	usec_t held_usec;
	VssId *involved; /* writers taking part (instance ids) */
	size_t n_involved;
	/* writer-failures=continue: a writer that fails leaves involved for failed; it keeps its
	 * failed state and error for GatherWriterStatus, and its components leave the selection */
	bool writer_failures_continue;
	VssId *failed;
	size_t n_failed;
	WriterBroadcast *bcast;  /* the writer event under way */
	SnapsetDoneFn call_done; /* GatherWriterMetadata, PrepareForBackup, BackupComplete */
	void *call_userdata;
	bool one_call; /* CreateSnapshotSet: gather, prepare and create in a row */
	bool exported;
	usec_t last_call;            /* CLOCK_MONOTONIC of the owner's last call */
	sd_event_source *idle_timer; /* while it holds the creation slot: set-idle-ms */
};

const char *snapset_state_to_string(SnapsetState s);
SnapsetState snapset_state_from_string(const char *s);
const char *snapset_context_to_string(SnapsetContext c);
SnapsetContext snapset_context_from_string(const char *s);
bool snapset_context_persistent(SnapsetContext c);
bool snapset_context_writers(SnapsetContext c);
/* The context's attributes include VSS_ATTR_CLIENT_ACCESSIBLE (max-shadow-copies counts it) */
bool snapset_context_client_accessible(SnapsetContext c);
/* The writer class and instance options leave writer w out of the set */
bool snapset_writer_excluded(const Snapset *s, const Writer *w);
uint32_t snapset_context_attributes(SnapsetContext c);

/* A new set owned by owner (a unique bus name), not exported yet. */
int snapset_new(Daemon *d, const VssId *id, const char *owner, uid_t uid, const SnapsetOptions *o,
                Snapset **ret);
/* Unexports, frees its snapshots' objects (not their devices) and itself. */
Snapset *snapset_free(Snapset *s);
DEFINE_POINTER_CLEANUP(snapset_freep, Snapset *, snapset_free)
int snapset_export(Snapset *s);
void snapset_set_state(Snapset *s, SnapsetState state);

/* SetComponents: the selection, pairs (writer instance id, component name) in a strv of n
 * pairs, replaces the set's (err says what is wrong) */
int snapset_set_components(Snapset *s, char **pairs, size_t n, VssErr *err);
/* One entry of it: writer wid (spelt id by the caller) takes part and has component name */
int snapset_check_component(Snapset *s, const VssId *wid, const char *id, const char *name,
                            VssErr *err);
int snapset_add_volume(Snapset *s, const char *volume, const char *provider, Snapshot **ret,
                       VssErr *err);
/* The asynchronous operations below: on a return < 0 done is never called (the caller keeps
 * userdata); otherwise done is called exactly once, maybe before they return. */
/* Starts DoSnapshotSet; done is called when the set exists or has failed. */
int snapset_create(Snapset *s, SnapsetDoneFn done, void *userdata, VssErr *err);
/* GatherWriterMetadata (done NULL: nobody waits, as part of CreateSnapshotSet); on success the
 * involved writers are s->involved. */
int snapset_gather(Snapset *s, SnapsetDoneFn done, void *userdata, VssErr *err);
int snapset_prepare(Snapset *s, SnapsetDoneFn done, void *userdata);
/* CreateSnapshotSet after the volumes are added: gather, prepare, create; done at the end */
int snapset_create_all(Snapset *s, SnapsetDoneFn done, void *userdata, VssErr *err);
/* BackupComplete(success): done when the writers answered */
int snapset_backup_complete(Snapset *s, bool success, SnapsetDoneFn done, void *userdata,
                            VssErr *err);
int snapset_abort(Snapset *s, VssErr *err);
/* SetBackupSucceeded, one entry: component name of writer id (spelt as given); check_only:
 * says whether the entry would be taken, changes nothing */
int snapset_set_backup_succeeded(Snapset *s, const char *id, const char *name, bool succeeded,
                                 bool check_only, VssErr *err);
/* GetBackupDocument: the document as JSON text (DESIGN §3b; daemon/document.h) */
int snapset_backup_document(Snapset *s, char **ret, VssErr *err);
/* The set holds the creation slot (Manager.SetInProgress) and nothing of it is under way: no
 * call, no writer event, not in DoSnapshotSet. Such a set may be aborted to free the slot. */
bool snapset_idle(const Snapset *s);
/* Starts the idle limit of a set that has just taken the creation slot: an owner who leaves it
 * untouched for set-idle-ms ([timeouts]) gets it aborted, so that the slot is free again. */
int snapset_watch_idle(Snapset *s);
/* The owner is done (Release) or gone: BackupShutdown, auto-release, forget the owner. The set
 * may be freed: do not use s afterwards. */
void snapset_release(Snapset *s);
/* Deletes one snapshot (devices, object, state); frees the set when nothing keeps it. */
int snapset_delete_snapshot(Snapset *s, Snapshot *snap, const char *reason, VssErr *err);
int snapset_add_snapshot(Snapset *s, Snapshot *snap);
/* The Instant property: "one" (every shadow copy of the set holds the same instant) or
 * "per-volume" (a provider that cannot commit while the set's file systems are frozen, or
 * several providers without the set's freeze: each of those volumes is cut at its own
 * moment, covered by the writers only) */
const char *snapset_instant(const Snapset *s);

extern const BusInterface snapset_interface;
