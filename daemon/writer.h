/* SPDX-License-Identifier: GPL-2.0-or-later */
/* writer.h - registered writers: objects, VSS_WRITER_STATE, and events sent to many in parallel */
#pragma once

#include <dbus/dbus.h>
#include <sys/types.h>

#include "common/macro.h"
#include "common/vss-error.h"
#include "common/vssd-bus-names.h"
#include "common/vssid.h"
#include "daemon/pathres.h"

typedef struct Daemon Daemon;
typedef struct BusInterface BusInterface;
typedef struct BusCaller BusCaller;

/* VSS_WRITER_STATE, same numbers and names */
typedef enum WriterState {
	WRITER_STATE_UNKNOWN = 0,
	WRITER_STATE_STABLE = 1,
	WRITER_STATE_WAITING_FOR_FREEZE = 2,
	WRITER_STATE_WAITING_FOR_THAW = 3,
	WRITER_STATE_WAITING_FOR_POST_SNAPSHOT = 4,
	WRITER_STATE_WAITING_FOR_BACKUP_COMPLETE = 5,
	WRITER_STATE_FAILED_AT_IDENTIFY = 6,
	WRITER_STATE_FAILED_AT_PREPARE_BACKUP = 7,
	WRITER_STATE_FAILED_AT_PREPARE_SNAPSHOT = 8,
	WRITER_STATE_FAILED_AT_FREEZE = 9,
	WRITER_STATE_FAILED_AT_THAW = 10,
	WRITER_STATE_FAILED_AT_POST_SNAPSHOT = 11,
	WRITER_STATE_FAILED_AT_BACKUP_COMPLETE = 12,
	WRITER_STATE_FAILED_AT_PRE_RESTORE = 13,
	WRITER_STATE_FAILED_AT_POST_RESTORE = 14,
	WRITER_STATE_FAILED_AT_BACKUPSHUTDOWN = 15,
	_WRITER_STATE_MAX,
	_WRITER_STATE_INVALID = -EINVAL,
} WriterState;

/* A file set of the VSS component model (IVssWMFiledesc): files, exclude-files and
 * alternate-location-mappings entries */
typedef struct WriterFile {
	char *path;
	char *filespec;
	bool recursive;
	char *alternate_path; /* "": none */
	char *kind;           /* a component's files: file, database or log; else NULL */
} WriterFile;

typedef struct WriterComponent {
	char *name;
	char **paths;
	char *logical_path; /* "": none */
	char *type;         /* database or filegroup */
	char *caption;
	bool selectable;
	WriterFile *files;
	size_t n_files;
	char **dependencies; /* logical paths of other writers' components */
} WriterComponent;

/* The writer-wide part of the VSS writer metadata (daemon/writer-metadata.c) */
typedef struct WriterModel {
	WriterFile *exclude_files;
	size_t n_exclude_files;
	char *restore_method; /* VSS_RESTOREMETHOD_ENUM in kebab-case; NULL: none given */
	char *restore_service;
	char *writer_restore; /* never, if-replace-fails or always */
	bool reboot_required;
	WriterFile *mappings; /* alternate-location-mappings */
	size_t n_mappings;
	char **backup_schema;
} WriterModel;

typedef struct Writer {
	Daemon *d;
	VssId instance_id;
	char id_str[VSSID_STRING_MAX];
	char path[128];        /* our object */
	char *owner;           /* unique bus name of the writer */
	uid_t uid;             /* of the owner: the per-uid limits count it */
	size_t metadata_bytes; /* what vssd keeps of its strings: the metadata limits count it */
	char *object;          /* the path it exports the Writer interface at */
	char *name;
	char *class_id;
	char *instance_name;
	char *usage;
	uint32_t freeze_timeout_ms;
	WriterComponent *components;
	size_t n_components;
	WriterModel model;
	gid_t *gids; /* of the owner: its paths are looked up with its credentials */
	size_t n_gids;
	PathJob *paths_job; /* the devices of the components' paths */
	WriterState state;
	char *last_error;      /* "" or a VSS_E_* name */
	char *failure_message; /* what the writer said */
	bool exported;
} Writer;

const char *writer_state_to_string(WriterState s);
const char *writer_event_to_string(WriterEvent e);

int writer_register(Daemon *d, const BusCaller *c, const char *object, DBusMessageIter *info,
                    Writer **ret, VssErr *err);
Writer *writer_free(Writer *w); /* unexports and removes it from the daemon */
DEFINE_POINTER_CLEANUP(writer_freep, Writer *, writer_free)
Writer *writer_find(Daemon *d, const VssId *instance_id);
void writer_set_state(Writer *w, WriterState s);
/* Appends the writer's dictionary (ListWriters / GatherWriterStatus / metadata). */
int writer_append_dict(Writer *w, DBusMessageIter *arr, bool with_components);
/* Forgets every writer of this unique name. */
void writers_peer_gone(Daemon *d, const char *name);

/* A writer's answer (a method return) to an event of a set, which may carry what the writer
 * sets on its components (backup stamps, backup metadata, failures; snapset-document.c):
 * 0, or a negative errno with err saying what is wrong with it (the writer then fails the
 * event). Called with the broadcast's userdata. */
typedef int (*WriterAnswerFn)(void *userdata, Writer *w, WriterEvent ev, DBusMessage *reply,
                              VssErr *err);

/* The arguments an event carries. */
typedef struct WriterEventArgs {
	const char *set_id;
	const char *backup_type;
	const char *context;
	char **volumes; /* PrepareForSnapshot */
	char **devices; /* PostSnapshot: volume, device, volume, device, ... */
	/* PrepareForBackup: the components SetComponents selected, as pairs (writer instance id,
	 * component name); each writer is sent its own (none selected: an empty list) */
	char **components;
	bool success; /* BackupComplete */
	/* PrepareForBackup: triples (writer instance id, component name, previous backup stamp)
	 * from previous-document; each writer is sent its own as "previous-backup-stamps" */
	char **previous_stamps;
	/* BackupResults: quadruples (writer instance id, component name, "1" or "0", failure
	 * message or ""); each writer is sent its own */
	char **results;
	/* not NULL: told of every writer's method return (the broadcast's userdata not NULL) */
	WriterAnswerFn answer;
	/* writer-failures=continue: a failure does not end the broadcast; each failing writer
	 * is left in its failed state (a writer that cannot be reached too) */
	bool continue_on_failure;
	/* PreRestore, PostRestore: appends writer w's a{sv} info (daemon/restore.c); info_userdata
	 * must outlive the broadcast */
	int (*append_info)(const Writer *w, DBusMessageIter *it, void *info_userdata);
	void *info_userdata;
} WriterEventArgs;

typedef struct WriterBroadcast WriterBroadcast;
/* Called once: when every writer answered, or at the first failure (err says who and how). */
typedef void (*WriterDoneFn)(WriterBroadcast *b, int r, const VssErr *err, void *userdata);

/* Sends ev to every writer in ids, in parallel (at most VSSD_PENDING_CALLS_MAX at once), each
 * with its own deadline (Freeze: the writer's freeze timeout; others: writer-event-ms). done may
 * be NULL (fire and forget: the broadcast frees itself). */
int writer_broadcast_start(Daemon *d, WriterEvent ev, const VssId *ids, size_t n,
                           const WriterEventArgs *args, WriterDoneFn done, void *userdata,
                           WriterBroadcast **ret);
/* The event b sends */
WriterEvent writer_broadcast_event(const WriterBroadcast *b);
/* Stops waiting; replies still on the way are ignored. Idempotent; frees b. */
void writer_broadcast_cancel(WriterBroadcast *b);
/* Frees the broadcasts nobody waits for (Abort, BackupShutdown) at shutdown. */
void writer_broadcasts_done(Daemon *d);
/* Records writer w's answer to event (reply: a method return or an error, NoReply included;
 * w NULL: the writer left the bus) in its state, last error and failure message. Returns 0, or
 * a negative errno with err naming the writer, the event and the VSS error. set_id is for the
 * log. */
int writer_apply_reply(Writer *w, WriterEvent event, const char *set_id, DBusMessage *reply,
                       VssErr *err);

/* Writer w's answer to event was a method return whose component data err describes as wrong:
 * the writer fails the event (VSS_E_WRITERERROR_NONRETRYABLE, err's text as its failure
 * message); err becomes the WriterVeto the requester sees. Returns -ECANCELED. */
int writer_answer_unusable(Writer *w, WriterEvent event, const char *set_id, VssErr *err);

/* Adds "components" aa{sv} (name s, paths as) to dict: all of w's components, or when selected
 * only those of w in selection (pairs: instance id, component name), maybe none */
int writer_dict_add_components(DBusMessageIter *dict, const Writer *w, char *const *selection,
                               bool selected);
/* The devices w's component paths lie on, in component then path order (0: the writer's own
 * credentials cannot reach the path), looked up off the loop as the writer (daemon/pathres.h).
 * Waits until deadline (CLOCK_MONOTONIC µs) at most: -EINPROGRESS when not known by then. */
int writer_path_devices(Writer *w, usec_t deadline, const dev_t **ret_devs, size_t *ret_n);
/* Does writer w declare a component of that name? */
bool writer_has_component(const Writer *w, const char *name);

extern const BusInterface writer_interface;
