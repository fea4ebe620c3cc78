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

#ifdef __cplusplus
}
#endif
