/* SPDX-License-Identifier: GPL-2.0-or-later */
/* restore.h - restore sessions (VSS's InitializeForRestore...PostRestore): the state machine, the
 * selection, the writers found again by class id and instance name, PreRestore and PostRestore */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "common/macro.h"
#include "common/vss-error.h"
#include "common/vssid.h"
#include "daemon/document.h"
#include "daemon/writer.h"

typedef struct Daemon Daemon;
typedef struct RestoreSession RestoreSession;
typedef struct WriterBroadcast WriterBroadcast;

/* Calls out of this order are BadState: Gather (again allowed) -> Select (any number) ->
 * PreRestore -> SetFileRestoreStatus (any number) -> PostRestore; Release at any time but while
 * PreRestore or PostRestore runs. GatherWriterStatus after PreRestore. */
typedef enum RestoreState {
	RESTORE_STATE_INITIALIZED, /* StartRestore */
	RESTORE_STATE_GATHERED,    /* GatherWriterMetadata: selecting */
	RESTORE_STATE_PRE_RESTORING,
	RESTORE_STATE_PRE_RESTORED, /* the requester copies the files */
	RESTORE_STATE_POST_RESTORING,
	RESTORE_STATE_POST_RESTORED,
	_RESTORE_STATE_MAX,
	_RESTORE_STATE_INVALID = -EINVAL,
} RestoreState;

/* SetFileRestoreStatus's status (VSS_FILE_RESTORE_STATUS); undefined until the requester says */
typedef enum RestoreFileStatus {
	RESTORE_FILE_STATUS_UNDEFINED,
	RESTORE_FILE_STATUS_NONE,
	RESTORE_FILE_STATUS_ALL,
	RESTORE_FILE_STATUS_FAILED,
	_RESTORE_FILE_STATUS_MAX,
	_RESTORE_FILE_STATUS_INVALID = -EINVAL,
} RestoreFileStatus;

typedef struct RestoreComponent {
	bool selected;
	char *restore_options; /* NULL: none */
	char *new_target;      /* NULL: none */
	char *restore_type;    /* by-copy (default), import or other */
	RestoreFileStatus file_status;
	bool failed; /* its writer vetoed PreRestore or PostRestore, or could not be reached */
} RestoreComponent;

/* One writer of the document, its components parallel to the document's */
typedef struct RestoreWriter {
	const DocWriter *doc;
	RestoreComponent *components;
	bool present;      /* a registered writer of the same class id and instance name */
	VssId current;     /* its instance id now */
	bool called;       /* PreRestore was sent to it */
	WriterState state; /* the session's view: what the writer answered to this session */
	char *last_error;
	char *failure_message;
} RestoreWriter;

/* Called once when PreRestore or PostRestore ends (writers' vetoes are not failures of the call) */
typedef void (*RestoreDoneFn)(RestoreSession *s, int r, const VssErr *err, void *userdata);

struct RestoreSession {
	Daemon *d;
	VssId id;
	char id_str[VSSID_STRING_MAX];
	char path[128];
	char *owner; /* unique bus name; NULL once released */
	uid_t owner_uid;
	RestoreState state;
	BackupDocument doc;
	RestoreWriter *writers; /* parallel to doc.writers */
	size_t n_writers;
	WriterBroadcast *bcast;
	RestoreDoneFn done;
	void *done_userdata;
	bool exported;
};

const char *restore_state_to_string(RestoreState s);
const char *restore_file_status_to_string(RestoreFileStatus s);
RestoreFileStatus restore_file_status_from_string(const char *s);
bool restore_type_valid(const char *s);

/* Parses and checks the document (InvalidArgument naming the field), counts the owner's sessions
 * (AccessDenied past VSSD_RESTORES_PER_UID_MAX), and adds the session to the daemon (not yet on
 * the bus: restore_export()). */
int restore_new(Daemon *d, const char *owner, uid_t uid, const char *document, RestoreSession **ret,
                VssErr *err);
/* Cancels a running PreRestore/PostRestore (its done is not called), unexports, unlinks, frees */
RestoreSession *restore_free(RestoreSession *s);
DEFINE_POINTER_CLEANUP(restore_freep, RestoreSession *, restore_free)
RestoreSession *restore_find(Daemon *d, const VssId *id);
/* Frees every session owned by name (every one when name is NULL) */
void restores_peer_gone(Daemon *d, const char *name);

/* The state machine; each returns BadState (-EBUSY) out of order */
int restore_gather(RestoreSession *s, VssErr *err); /* finds the writers again */
int restore_check_state(RestoreSession *s, const char *call, VssErr *err);
/* A component by the document's writer instance id and its name: the writer's index and the
 * component's, or InvalidArgument naming the pair */
int restore_find_component(RestoreSession *s, const char *instance_id, const char *name,
                           size_t *ret_writer, size_t *ret_component, VssErr *err);
/* The checks of restore_select() and restore_set_file_status() alone: nothing changes */
int restore_select_check(RestoreSession *s, size_t wi, size_t ci, const char *restore_options,
                         const char *new_target, const char *restore_type, VssErr *err);
int restore_file_status_check(RestoreSession *s, size_t wi, size_t ci, VssErr *err);
int restore_select(RestoreSession *s, size_t wi, size_t ci, const char *restore_options,
                   const char *new_target, const char *restore_type, VssErr *err);
int restore_set_file_status(RestoreSession *s, size_t wi, size_t ci, RestoreFileStatus st,
                            VssErr *err);
/* Sends PreRestore (PostRestore) to every present writer with a selected component (that did not
 * fail PreRestore); done is called when all answered. */
int restore_pre_restore(RestoreSession *s, RestoreDoneFn done, void *userdata, VssErr *err);
int restore_post_restore(RestoreSession *s, RestoreDoneFn done, void *userdata, VssErr *err);
int restore_release(RestoreSession *s, VssErr *err);

/* The info a writer gets with PreRestore and PostRestore (for the broadcast) */
int restore_append_writer_info(const Writer *w, DBusMessageIter *it, void *userdata);
