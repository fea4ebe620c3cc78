/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vss-writer.h - libvsswriter: take part in vssd snapshots as an application writer (public API) */
#pragma once

/*
 * A writer is an application that vssd asks to bring its data into a consistent state before a
 * snapshot (Windows VSS CVssWriter semantics). The library connects to the bus, exports the
 * org.vssd.ShadowCopy1.Writer object, registers with vssd (again whenever vssd restarts), and
 * turns vssd's calls into the handlers below.
 *
 * Usage:
 *	vss_writer_new("mydb", "4c4f1a3e-...", &w);
 *	vss_writer_set_handlers(w, &handlers, sizeof(handlers), my_data);
 *	vss_writer_start(w);
 *	vss_writer_run(w);    (or poll vss_writer_get_fd() and call vss_writer_dispatch())
 *	vss_writer_unref(w);
 *
 * Conventions: functions returning int return >= 0 on success and a negative errno on failure.
 * Strings passed in are copied; strings passed to handlers are valid only during the call. The
 * library keeps no global state and never prints: messages go to vss_writer_set_log_fn().
 * A handle may be used by one thread at a time; only vss_writer_stop() may be called from any
 * thread or from a signal handler.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vss_writer;

/* One component's result in the backup, as the backup_results handler gets it (since
 * LIBVSSWRITER_1.2) */
struct vss_writer_component_result {
	const char *name;
	const char *logical_path;    /* "" when the component has none */
	bool succeeded;              /* the requester's word (SetBackupSucceeded or BackupComplete),
	                              * false when the writer failed the component itself */
	const char *failure_message; /* the writer's own failure (vss_writer_fail_component()), or
	                              * NULL */
};

/* What the writer's data is (VSS_USAGE_TYPE); sent to vssd as "usage". */
enum vss_writer_usage {
	VSS_WRITER_USAGE_USER_DATA,             /* "user-data": the default */
	VSS_WRITER_USAGE_BOOTABLE_SYSTEM_STATE, /* "bootable-system-state" */
	VSS_WRITER_USAGE_SYSTEM_SERVICE,        /* "system-service" */
	VSS_WRITER_USAGE_OTHER,                 /* "other" */
};

/* How a writer refuses an event (the VSS_E_WRITERERROR_* family). The D-Bus error name sent to
 * vssd is org.vssd.ShadowCopy1.Writer.Error.<Name>. */
enum vss_writer_error {
	VSS_WRITER_ERROR_RETRYABLE = 1,         /* Retryable, 0x800423F3: may succeed if retried */
	VSS_WRITER_ERROR_NON_RETRYABLE,         /* NonRetryable, 0x800423F4: will fail again */
	VSS_WRITER_ERROR_OUT_OF_RESOURCES,      /* OutOfResources, 0x800423F1 */
	VSS_WRITER_ERROR_INCONSISTENT_SNAPSHOT, /* InconsistentSnapshot, 0x800423F0: volumes missing
	                                         */
	VSS_WRITER_ERROR_TIMEOUT,               /* Timeout, 0x800423F2: the freeze window expired */
};

/*
 * Event handlers; any may be NULL (the event then succeeds). Each returns >= 0 to accept the
 * event, or vetoes it: by returning vss_writer_veto(...), or by returning a negative errno, which
 * maps to OutOfResources (-ENOMEM, -ENOSPC, -ENOBUFS, -EMFILE, -ENFILE, -EDQUOT), Timeout
 * (-ETIMEDOUT) or Retryable (anything else) with strerror() as the reason.
 *
 * Handlers run inside vss_writer_dispatch() or vss_writer_run() and block the writer's loop while
 * they run; vssd applies its own deadline to each event. set_id is the snapshot set's UUID
 * (8-4-4-4-12, lower case). Arrays are NULL-terminated. Identify is answered by the library from
 * the registered information.
 */
struct vss_writer_handlers {
	/* PrepareForBackup. backup_type: "full", "copy", "incremental", "differential" or "log";
	 * context: "backup", "file-share-backup", ...; components: names of the writer's components
	 * the requester selected (empty: none were selected explicitly). */
	int (*prepare_backup)(struct vss_writer *w, const char *set_id, const char *backup_type,
	                      const char *context, const char *const *components, void *userdata);
	/* PrepareForSnapshot: the heavy work (drain queues, checkpoint). volumes: the set's volume
	 * paths. */
	int (*prepare_snapshot)(struct vss_writer *w, const char *set_id,
	                        const char *const *volumes, void *userdata);
	/* Freeze: stop writing and make the on-disk state consistent; short. After success the
	 * writer is frozen until thaw or abort, or until the freeze timeout expires (see
	 * vss_writer_set_freeze_timeout()). */
	int (*freeze)(struct vss_writer *w, const char *set_id, void *userdata);
	/* Thaw: resume writing. Also called by the library itself when the writer has been frozen
	 * too long, when vssd leaves the bus, when the bus connection drops, or when the last
	 * reference is dropped while frozen; a veto is then only logged. */
	int (*thaw)(struct vss_writer *w, const char *set_id, void *userdata);
	/* PostSnapshot: volumes[i] was snapshotted as devices[i]. */
	int (*post_snapshot)(struct vss_writer *w, const char *set_id, const char *const *volumes,
	                     const char *const *devices, void *userdata);
	/* Abort: return to normal running (resume writing if frozen). May arrive more than once and
	 * without a preceding freeze. */
	int (*abort)(struct vss_writer *w, const char *set_id, void *userdata);
	/* BackupComplete: success tells whether the requester's backup succeeded. */
	int (*backup_complete)(struct vss_writer *w, const char *set_id, bool success,
	                       void *userdata);
	/* BackupShutdown: the requester released the set (or left the bus); clean up. */
	int (*backup_shutdown)(struct vss_writer *w, const char *set_id, void *userdata);
	/* Since LIBVSSWRITER_1.2 (an application built against an older header passes a smaller
	 * size to vss_writer_set_handlers() and never gets it). BackupResults, just before
	 * BackupComplete: results[0..n-1] are the writer's components in the backup and whether
	 * each was backed up (VSS: IVssComponent::GetBackupSucceeded in OnBackupComplete). A veto
	 * is only logged by vssd: BackupComplete follows. */
	int (*backup_results)(struct vss_writer *w, const char *set_id,
	                      const struct vss_writer_component_result *results, size_t n,
	                      void *userdata);
};

/*
 * Creates a writer handle with one reference. name: the writer's name (printable, at most 255
 * bytes); class_id: the writer class UUID (8-4-4-4-12), the same for every instance of the
 * application. Nothing is connected until vss_writer_start().
 * Returns 0 and *ret (owned by the caller), -EINVAL for a bad name or class id, -ENOMEM, or
 * another negative errno if the internal file descriptors cannot be created.
 */
int vss_writer_new(const char *name, const char *class_id, struct vss_writer **ret);

/* Takes a reference; returns w. */
struct vss_writer *vss_writer_ref(struct vss_writer *w);

/*
 * Drops a reference; the last one disconnects (vssd unregisters a writer that leaves the bus) and
 * frees the handle. If the writer is frozen then, the thaw handler is called first. Accepts NULL;
 * returns NULL.
 */
struct vss_writer *vss_writer_unref(struct vss_writer *w);

/*
 * Log messages (connection, registration, vetoes, safety thaws) go to fn, which receives a
 * syslog(3) priority (LOG_ERR ... LOG_DEBUG) and one formatted line without a newline. Without a
 * log function the library is silent. fn may be NULL. Always returns 0.
 */
int vss_writer_set_log_fn(struct vss_writer *w,
                          void (*fn)(struct vss_writer *w, int priority, const char *message,
                                     void *userdata),
                          void *userdata);

/*
 * Installs the event handlers. size must be sizeof(struct vss_writer_handlers) as the application
 * was compiled (so the structure may grow in later versions). The table is copied; userdata is
 * passed to every handler. Returns 0, -EINVAL if size is 0 or larger than this library knows, or
 * -EBUSY after vss_writer_start().
 */
int vss_writer_set_handlers(struct vss_writer *w, const struct vss_writer_handlers *handlers,
                            size_t size, void *userdata);

/*
 * The following setters describe the writer to vssd; they return 0, -EINVAL for a bad value,
 * -ENOMEM, or -EBUSY after vss_writer_start().
 */

/* The instance name (printable, at most 255 bytes), to tell several instances apart; NULL unsets.
 */
int vss_writer_set_instance_name(struct vss_writer *w, const char *instance_name);

/* The usage type; VSS_WRITER_USAGE_USER_DATA by default. */
int vss_writer_set_usage(struct vss_writer *w, enum vss_writer_usage usage);

/*
 * The longest time the writer stays frozen, in milliseconds (> 0; default 60000, VSS's
 * dwTimeoutFreeze). vssd may cap it. Counted from the moment the freeze handler returned success:
 * if neither Thaw nor Abort arrives in time, the library calls the thaw handler itself, logs it,
 * and answers a late Thaw with the Timeout error.
 */
int vss_writer_set_freeze_timeout(struct vss_writer *w, uint32_t timeout_msec);

/*
 * Adds a component: name (printable, at most 255 bytes, unique within the writer) and the absolute
 * paths of its files or directories (NULL-terminated, at least one). Returns -EEXIST for a
 * duplicate name and -E2BIG beyond 256 components or 256 paths per component.
 */
int vss_writer_add_component(struct vss_writer *w, const char *name, const char *const *paths);

/*
 * The VSS writer metadata model (IVssCreateWriterMetadata), since LIBVSSWRITER_1.1. Like the
 * setters above these return 0, -EINVAL for a bad value, -ENOMEM, or -EBUSY after
 * vss_writer_start(); what is not set is not sent (so a writer that uses none of them registers
 * exactly as with version 1). vssd returns the whole model to requesters (GatherWriterMetadata,
 * vssctl list writers --detailed) and checks it as these functions do.
 */

/* VSS_COMPONENT_TYPE */
enum vss_writer_component_type {
	VSS_WRITER_COMPONENT_FILEGROUP, /* "filegroup": files of kind VSS_WRITER_FILE_PLAIN */
	VSS_WRITER_COMPONENT_DATABASE,  /* "database": database and log files */
};

/* What a component's file set holds (AddFilesToFileGroup, AddDatabaseFiles,
 * AddDatabaseLogFiles) */
enum vss_writer_file_kind {
	VSS_WRITER_FILE_PLAIN,    /* "file": the files of a filegroup */
	VSS_WRITER_FILE_DATABASE, /* "database" */
	VSS_WRITER_FILE_LOG,      /* "log" */
};

/* VSS_RESTOREMETHOD_ENUM, same numbers */
enum vss_writer_restore_method {
	VSS_WRITER_RESTORE_IF_NOT_THERE = 1,          /* "restore-if-not-there" */
	VSS_WRITER_RESTORE_IF_CAN_REPLACE = 2,        /* "restore-if-can-replace" */
	VSS_WRITER_RESTORE_STOP_RESTORE_START = 3,    /* "stop-restore-start" (service) */
	VSS_WRITER_RESTORE_TO_ALTERNATE_LOCATION = 4, /* "restore-to-alternate-location" */
	VSS_WRITER_RESTORE_AT_REBOOT = 5,             /* "restore-at-reboot" */
	VSS_WRITER_RESTORE_AT_REBOOT_IF_CANNOT_REPLACE =
		6,                                 /* "restore-at-reboot-if-cannot-replace" */
	VSS_WRITER_RESTORE_CUSTOM = 7,             /* "custom" */
	VSS_WRITER_RESTORE_RESTORE_STOP_START = 8, /* "restore-stop-start" (service) */
};

/* VSS_WRITERRESTORE_ENUM, same numbers: is the writer told about a restore? */
enum vss_writer_restore_events {
	VSS_WRITER_RESTORE_EVENTS_NEVER = 1,            /* "never" */
	VSS_WRITER_RESTORE_EVENTS_IF_REPLACE_FAILS = 2, /* "if-replace-fails" */
	VSS_WRITER_RESTORE_EVENTS_ALWAYS = 3,           /* "always" */
};

/* VSS_BACKUP_SCHEMA bits, same values, for vss_writer_set_backup_schema() */
enum vss_writer_backup_schema {
	VSS_WRITER_SCHEMA_DIFFERENTIAL = 0x1,
	VSS_WRITER_SCHEMA_INCREMENTAL = 0x2,
	VSS_WRITER_SCHEMA_EXCLUSIVE_INCREMENTAL_DIFFERENTIAL = 0x4,
	VSS_WRITER_SCHEMA_LOG = 0x8,
	VSS_WRITER_SCHEMA_COPY = 0x10,
	VSS_WRITER_SCHEMA_TIMESTAMPED = 0x20,
	VSS_WRITER_SCHEMA_LAST_MODIFY = 0x40,
	VSS_WRITER_SCHEMA_LSN = 0x80,
	VSS_WRITER_SCHEMA_WRITER_SUPPORTS_NEW_TARGET = 0x100,
	VSS_WRITER_SCHEMA_WRITER_SUPPORTS_RESTORE_WITH_MOVE = 0x200,
	VSS_WRITER_SCHEMA_INDEPENDENT_SYSTEM_STATE = 0x400,
	VSS_WRITER_SCHEMA_ROLLFORWARD_RESTORE = 0x1000,
	VSS_WRITER_SCHEMA_RESTORE_RENAME = 0x2000,
	VSS_WRITER_SCHEMA_AUTHORITATIVE_RESTORE = 0x4000,
	VSS_WRITER_SCHEMA_WRITER_SUPPORTS_PARALLEL_RESTORES = 0x8000,
};

/*
 * Adds a component with its place in the model (VSS's AddComponent): type; logical_path (its
 * place in the writer's tree, NULL or "" for none); name (unique within the writer); caption
 * (NULL: none); selectable (false: always part of the writer's backup); paths as for
 * vss_writer_add_component() but possibly NULL or empty (the files added below then say where
 * it lies). Texts are printable, at most 255 bytes. -EEXIST, -E2BIG as
 * vss_writer_add_component().
 */
int vss_writer_add_component_ex(struct vss_writer *w, enum vss_writer_component_type type,
                                const char *logical_path, const char *name, const char *caption,
                                bool selectable, const char *const *paths);

/*
 * Adds a file set to the component named component (added by either function; -ENOENT when
 * there is none): the files matching filespec (a file name pattern without '/', NULL: "*") in
 * the directory path (absolute), and below it when recursive; alternate_path (absolute, NULL:
 * none) is where they are restored instead. A filegroup takes VSS_WRITER_FILE_PLAIN only; a
 * database takes VSS_WRITER_FILE_DATABASE and VSS_WRITER_FILE_LOG, neither recursive nor with an
 * alternate path (as in VSS). At most 256 per component (-E2BIG).
 */
int vss_writer_component_add_file(struct vss_writer *w, const char *component, const char *path,
                                  const char *filespec, bool recursive, const char *alternate_path,
                                  enum vss_writer_file_kind kind);

/* The component needs another writer's component, named by its logical path (text, at most 255
 * bytes; AddComponentDependency). At most 64 per component (-E2BIG); -ENOENT as above. */
int vss_writer_component_add_dependency(struct vss_writer *w, const char *component,
                                        const char *logical_path);

/* Files never to back up (AddExcludeFiles): path, filespec and recursive as above; at most 256. */
int vss_writer_add_exclude_files(struct vss_writer *w, const char *path, const char *filespec,
                                 bool recursive);

/* Where files are restored when they cannot go back in place (AddAlternateLocationMapping):
 * path, filespec and recursive as above, destination absolute; at most 256. */
int vss_writer_add_alternate_location_mapping(struct vss_writer *w, const char *path,
                                              const char *filespec, bool recursive,
                                              const char *destination);

/* The writer's restore method (SetRestoreMethod; setting it again replaces it): service (the
 * unit to stop and start; required by the two *_STOP_* methods, else NULL or a name),
 * events (whether the writer takes part in a restore), reboot_required. */
int vss_writer_set_restore_method(struct vss_writer *w, enum vss_writer_restore_method method,
                                  const char *service, enum vss_writer_restore_events events,
                                  bool reboot_required);

/* The backup schemas the writer supports (SetBackupSchema): an OR of enum
 * vss_writer_backup_schema bits (0: none); an unknown bit is -EINVAL. */
int vss_writer_set_backup_schema(struct vss_writer *w, uint32_t schema);

/*
 * Backup stamps, backup metadata and component failures (IVssComponent::SetBackupStamp,
 * SetBackupMetadata, GetPreviousBackupStamp, IVssComponentEx2::SetFailure), since
 * LIBVSSWRITER_1.2.
 *
 * The setters are called from the handler of PrepareForBackup, PrepareForSnapshot, Freeze, Thaw
 * or PostSnapshot (anywhere else: -EBUSY) for a component of this writer that is part of the
 * backup (one the requester selected, or any when it selected none explicitly; else -ENOENT).
 * What they set is sent to vssd with the handler's answer (nothing is sent when the handler
 * vetoes) and lands in the set's backup document; a later call for the same component and key
 * replaces the value. Texts are UTF-8 without control characters: -EINVAL otherwise, -E2BIG
 * beyond 4096 bytes (a stamp or metadata) or 1020 bytes (a failure message). A stamp is what
 * the writer needs at the next incremental or differential backup to know what changed since
 * this one (an LSN, a WAL position, a time); the requester keeps the document and hands it back
 * as previous-document, and the writer reads it with vss_writer_get_previous_backup_stamp().
 * vssd before 1.2's protocol ignores what is sent.
 */
int vss_writer_set_backup_stamp(struct vss_writer *w, const char *component, const char *stamp);
int vss_writer_set_backup_metadata(struct vss_writer *w, const char *component,
                                   const char *metadata);
/* The component fails (its backup-succeeded becomes false, with this message in the document and
 * in BackupResults), while the writer does not veto the event and the set goes on. */
int vss_writer_fail_component(struct vss_writer *w, const char *component, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The backup under way, from PrepareForBackup until BackupShutdown (or the next
 * PrepareForBackup): the stamp component had in the requester's previous-document, or NULL when
 * there is none (a full backup, or no stamp then); and the backup type ("full", "copy",
 * "incremental", "differential" or "log"), or NULL outside a backup. The strings are valid until
 * the next vss_writer_dispatch() that handles an event.
 */
const char *vss_writer_get_previous_backup_stamp(struct vss_writer *w, const char *component);
const char *vss_writer_get_backup_type(struct vss_writer *w);

/*
 * The D-Bus address to connect to (e.g. "unix:path=/run/test/bus"); NULL means the system bus,
 * whose address libdbus takes from DBUS_SYSTEM_BUS_ADDRESS when set.
 */
int vss_writer_set_bus_address(struct vss_writer *w, const char *address);

/*
 * Connects to the bus, exports the writer object, and registers with vssd as soon as
 * org.vssd.ShadowCopy1 is on the bus (vssd is not started for it); whenever vssd leaves and comes
 * back, the writer registers again. Registration happens asynchronously while the loop runs.
 * Returns 0, -EALREADY if started before, -ECONNREFUSED (or another negative errno) if the bus
 * cannot be reached, -ENOMEM.
 */
int vss_writer_start(struct vss_writer *w);

/*
 * Runs the writer's own loop: starts the writer if needed, then dispatches until
 * vss_writer_stop() is called (returns 0) or the bus connection is lost (-ECONNRESET) or another
 * error occurs (a negative errno).
 */
int vss_writer_run(struct vss_writer *w);

/*
 * Makes vss_writer_run() return 0 (now, or at its next call if it is not running). Async-signal-
 * safe and callable from any thread: it only writes to an eventfd.
 */
void vss_writer_stop(struct vss_writer *w);

/*
 * Integration with the application's own poll loop. vss_writer_get_fd() returns one file
 * descriptor (owned by the handle, stable for its lifetime) to watch for POLLIN; it also becomes
 * readable when a timeout is due, so watching it is enough. vss_writer_get_timeout_usec() stores
 * in *ret_usec how long the application may wait at most before calling vss_writer_dispatch()
 * (0: at once; UINT64_MAX: no deadline), for loops that prefer explicit timeouts.
 * vss_writer_dispatch() handles everything that is ready without blocking (handlers run inside
 * it) and returns 0; -ENOTCONN before vss_writer_start(); -EBUSY when called from a handler;
 * -ECONNRESET once the bus connection is lost (the handle cannot reconnect: create a new one).
 */
int vss_writer_get_fd(struct vss_writer *w);
int vss_writer_get_timeout_usec(struct vss_writer *w, uint64_t *ret_usec);
int vss_writer_dispatch(struct vss_writer *w);

/*
 * Vetoes the event being handled: the reply to vssd becomes the error for code, with the formatted
 * reason (at most 1023 bytes; invalid UTF-8 and control characters are replaced) as its message.
 * Call it from a handler and return its result: -ECANCELED, or -EINVAL for an unknown code, or
 * -EBUSY outside a handler (nothing is recorded then).
 */
int vss_writer_veto(struct vss_writer *w, enum vss_writer_error code, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

/* The instance id vssd assigned at the last registration, or NULL while not registered. Valid
 * until the next vss_writer_dispatch(). */
const char *vss_writer_get_instance_id(struct vss_writer *w);

/*
 * Restore (LIBVSSWRITER_1.3): VSS's PreRestore and PostRestore. A requester restores files from a
 * backup through vssd (RestoreSession); each writer whose components are restored is told before
 * the files are copied (pre_restore: stop using the files, e.g. close the database) and after
 * (post_restore: take the restored files back, e.g. open and check the database).
 *
 * One restored component, as the backup document describes it and the requester chose it. Strings
 * are valid during the handler only; NULL means absent.
 */
struct vss_writer_restore_component {
	const char *name;
	const char *backup_stamp;    /* what the writer recorded at backup, or NULL */
	const char *backup_metadata; /* likewise */
	int backup_succeeded;        /* 1, 0, or -1 when the document does not say */
	const char *restore_options; /* the requester's options for the writer, or NULL */
	const char *new_target;      /* files restored elsewhere: this directory, or NULL */
	const char *restore_type;    /* "by-copy", "import" or "other" */
	/* post_restore: "all" (every file restored), "none" (none restored, the originals are
	 * intact), "failed" (some restored: the component is damaged) or "undefined" (the requester
	 * did not say); pre_restore: NULL */
	const char *file_restore_status;
};

/* What a restore event carries; components: those of this writer being restored (for
 * post_restore, those whose pre_restore did not fail), NULL-terminated. New fields are only ever
 * added at the end. */
struct vss_writer_restore_info {
	const char *session_id;         /* the restore session (UUID) */
	const char *backup_set_id;      /* the set the backup was taken from */
	const char *backup_type;        /* "full", "copy", "incremental", "differential", "log" */
	const char *context;            /* the backup's context */
	const char *backup_instance_id; /* this writer's instance id at backup time */
	const struct vss_writer_restore_component *const *components;
	size_t n_components;
};

/*
 * The restore handlers; either may be NULL. A handler accepts with >= 0 or vetoes as the other
 * handlers do (vss_writer_veto() or a negative errno). A veto fails this writer's components only
 * (VSS states 13, failed at pre-restore, and 14, failed at post-restore): vssd tells the
 * requester, the other writers go on. A writer without a restore handler answers the event as an
 * unknown method, which vssd takes as "nothing to do". size: sizeof(struct
 * vss_writer_restore_handlers) as the application was compiled; call before vss_writer_start().
 * Returns 0, -EINVAL or -EBUSY (started already).
 */
struct vss_writer_restore_handlers {
	int (*pre_restore)(struct vss_writer *w, const struct vss_writer_restore_info *info,
	                   void *userdata);
	int (*post_restore)(struct vss_writer *w, const struct vss_writer_restore_info *info,
	                    void *userdata);
};
int vss_writer_set_restore_handlers(struct vss_writer *w,
                                    const struct vss_writer_restore_handlers *handlers, size_t size,
                                    void *userdata);

#ifdef __cplusplus
}
#endif
