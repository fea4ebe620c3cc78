/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vss-writer-internal.h - libvsswriter's private header: the handle and the modules' functions */
#pragma once

/*
 * The library by concern, each file owning its part of struct vss_writer:
 *   vss-writer.c           the handle: life cycle, settings, start, veto (public entry points)
 *   vss-writer-loop.c      libdbus's watches and timeouts on one epoll fd; the loop's entry
 *                          points (get_fd, get_timeout_usec, dispatch, run, stop)
 *   vss-writer-register.c  the bus connection, vssd's owner, RegisterWriter
 *   vss-writer-event.c     the Writer object: routing, access check, the events' state
 *                          machine, freeze safety
 *   vss-writer-msg.c       message encoding and decoding (on common/busmsg): the info
 *                          dictionary, the events' arguments
 *   vss-writer-metadata.c  the VSS writer metadata model: components' files, restore method,
 *                          exclude files, mappings, backup schema (LIBVSSWRITER_1.1)
 *   vss-writer-restore.c   PreRestore and PostRestore: their info and the restore handlers
 *                          (LIBVSSWRITER_1.3)
 * Nothing here is exported: the library is built with -fvisibility=hidden, and
 * libvsswriter.sym is its export list.
 */

#include <dbus/dbus.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/libvsswriter/vss-writer.h"
#include "common/macro.h"
#include "common/vssd-bus-names.h"

#define _public_ __attribute__((visibility("default")))

#define WRITER_OBJECT_PATH   "/org/vssd/ShadowCopy1/Writer"
#define WRITER_CALL_MSEC     30000 /* RegisterWriter, GetNameOwner: explicit, not libdbus's 25 s */
#define WRITER_REASON_MAX    1024  /* bytes of a veto reason, NUL included */
#define WRITER_LOG_LINE_MAX  2048
#define WRITER_EPOLL_BATCH   8
#define WRITER_DISPATCH_MAX  64 /* messages per vss_writer_dispatch(); the rest: next call */
#define WRITER_DEFAULT_USAGE VSS_WRITER_USAGE_USER_DATA

/* A file set: a component's files, an exclude-files or an alternate-location-mappings entry */
typedef struct WriterFileSet {
	char *path;
	char *filespec; /* NULL: not sent (vssd's default "*") */
	bool recursive;
	char *alternate; /* NULL: none */
	int kind;        /* enum vss_writer_file_kind; -1: not sent (exclude files, mappings) */
} WriterFileSet;

typedef struct WriterComponent {
	char *name;
	char **paths;
	/* LIBVSSWRITER_1.1: sent only when set, so that version 1's messages stay as they were */
	char *logical_path; /* NULL: none */
	enum vss_writer_component_type type;
	char *caption; /* NULL: none */
	bool selectable;
	WriterFileSet *files;
	size_t n_files;
	char **dependencies;
} WriterComponent;

typedef struct WriterTimeout {
	DBusTimeout *timeout;
	usec_t deadline; /* CLOCK_MONOTONIC; USEC_INFINITY while disabled */
} WriterTimeout;

typedef struct WriterFd {
	int fd;
	uint32_t events; /* as registered with epoll */
} WriterFd;

struct vss_writer {
	unsigned n_ref;

	/* What vssd learns at registration and from Identify */
	char *name;
	char *class_id;
	char *instance_name;
	enum vss_writer_usage usage;
	uint32_t freeze_timeout_msec;
	WriterComponent *components;
	size_t n_components;
	WriterFileSet *exclude_files;
	size_t n_exclude_files;
	WriterFileSet *mappings;
	size_t n_mappings;
	int restore_method; /* enum vss_writer_restore_method; 0: none */
	char *restore_service;
	enum vss_writer_restore_events restore_events;
	bool reboot_required;
	uint32_t backup_schema;
	char *address; /* NULL: the system bus */

	struct vss_writer_handlers handlers;
	void *userdata;
	struct vss_writer_restore_handlers restore_handlers; /* vss-writer-restore.c */
	void *restore_userdata;
	void (*log_fn)(struct vss_writer *w, int priority, const char *message, void *userdata);
	void *log_userdata;

	/* The loop: epoll_fd watches libdbus's sockets, timer_fd (the next deadline) and wake_fd
	 * (libdbus queued messages without the socket being readable). stop_fd ends run(). */
	int epoll_fd;
	int timer_fd;
	int wake_fd;
	int stop_fd;
	DBusConnection *conn;
	bool dispatching;
	bool disconnected;
	DBusWatch **watches;
	size_t n_watches;
	WriterFd *fds;
	size_t n_fds;
	WriterTimeout *timeouts;
	size_t n_timeouts;

	/* Registration: the current owner of org.vssd.ShadowCopy1 and our instance id there */
	char *vssd_owner;
	DBusPendingCall *owner_call;
	DBusPendingCall *register_call;
	char *instance_id;

	/* The event being handled, and its veto */
	bool in_handler;
	enum vss_writer_error veto_code;
	char *veto_reason;

	/* Freeze safety */
	bool frozen;
	char *frozen_set;
	usec_t freeze_deadline;
	char *timed_out_set; /* thawed by the library: a late Thaw gets Timeout */

	/* LIBVSSWRITER_1.2 (vss-writer-stamps.c): the backup under way, from PrepareForBackup to
	 * BackupShutdown, and what the handler being run sets on components */
	WriterEvent event; /* the event being handled */
	char *backup_set;
	char *backup_type;
	char **backup_selection; /* the components selected; empty: all */
	char **previous_stamps;  /* pairs: component name, previous stamp */
	struct WriterStamp *stamps;
	size_t n_stamps;
};

DEFINE_POINTER_CLEANUP(message_unrefp, DBusMessage *, dbus_message_unref)

/* ---- vss-writer.c: the handle */
void _printf_(3, 4) writer_log(struct vss_writer *w, int priority, const char *fmt, ...);
/* The set as the line's key (STYLE: keys first): "set=<id>: ..." */
#define writer_log_set(w, priority, set_id, fmt, ...) \
	writer_log(w, priority, "set=%s: " fmt, set_id, ##__VA_ARGS__)
const char *writer_errno_name(int error, char *buf, size_t size);
/* vss_writer_add_component(); paths may be empty unless paths_required */
int writer_add_component(struct vss_writer *w, const char *name, const char *const *paths,
                         bool paths_required);

/* ---- vss-writer-loop.c */
/* Makes epoll_fd, timer_fd, wake_fd and stop_fd (all -EBADF before); on failure
 * writer_loop_done() frees what was made. writer_loop_done() is idempotent. */
int writer_loop_init(struct vss_writer *w);
void writer_loop_done(struct vss_writer *w);
/* Hands libdbus's watches, timeouts and dispatch status to the loop; detach undoes it, removing
 * every watch and timeout through the loop's functions. */
int writer_loop_attach(struct vss_writer *w);
void writer_loop_detach(struct vss_writer *w);
/* Makes the next dispatch run at once (libdbus has queued messages) */
void writer_wake(struct vss_writer *w);
/* Sets timer_fd to the nearest deadline: libdbus's timeouts, the freeze timeout */
void writer_arm_timer(struct vss_writer *w);

/* ---- vss-writer-register.c */
int writer_connect(struct vss_writer *w); /* on failure, writer_disconnect() undoes the rest */
void writer_disconnect(struct vss_writer *w);
void writer_on_disconnected(struct vss_writer *w);

/* ---- vss-writer-event.c */
/* The Writer object's message function */
DBusHandlerResult writer_on_message(DBusConnection *c, DBusMessage *m, void *userdata);
/* Thaws the application on its own: nobody is left to send Thaw or Abort. */
void writer_safety_thaw(struct vss_writer *w, const char *why);
/* Thaws the application when the freeze timeout has passed */
void writer_check_freeze_timeout(struct vss_writer *w);

/* ---- vss-writer-metadata.c: the metadata model */
void writer_metadata_free(struct vss_writer *w); /* components included */
/* The model's keys of a component / of the writer, those that were set (busmsg a{sv}) */
int writer_append_component_model(DBusMessageIter *dict, const WriterComponent *c);
int writer_append_writer_model(DBusMessageIter *dict, const struct vss_writer *w);

/* ---- vss-writer-restore.c: PreRestore and PostRestore (LIBVSSWRITER_1.3) */
/* Runs the restore handler of ev; NULL reply with *unhandled: no handler, answer UnknownMethod */
DBusMessage *writer_handle_restore(struct vss_writer *w, DBusMessage *m, WriterEvent ev,
                                   bool *unhandled);

/* ---- vss-writer-msg.c */
/* The event's D-Bus member and argument signature; NULL when ev is out of range */
const char *writer_event_member(WriterEvent ev);
WriterEvent writer_event_from_member(const char *member);
/* "user-data", ...; NULL when usage is out of range */
const char *writer_usage_to_string(enum vss_writer_usage usage);
/* org.vssd.ShadowCopy1.Writer.Error.<Name>; NULL when code is out of range */
const char *writer_error_name(enum vss_writer_error code);

/* The info dictionary: RegisterWriter's (with freeze-timeout-ms) or Identify's; 0 or -errno. */
int writer_append_info(const struct vss_writer *w, DBusMessageIter *it, bool registration);

/* Arguments of one incoming event; strings point into the message. */
typedef struct WriterArgs {
	const char *set_id;
	const char *backup_type;
	const char *context;
	const char **list;    /* components or volumes */
	const char **devices; /* PostSnapshot */
	size_t n_list;
	dbus_bool_t success;
	const char **previous_stamps; /* PrepareForBackup: pairs (component, stamp) */
	size_t n_previous_stamps;     /* entries of the array, names and stamps */
	struct vss_writer_component_result *results; /* BackupResults */
	size_t n_results;
} WriterArgs;

void writer_args_done(WriterArgs *a);
/* Checks m's signature for ev and reads its arguments into a: -EINVAL with *why, -E2BIG, or
 * -ENOMEM. Handlers always get lists, possibly empty. */
int writer_args_parse(DBusMessage *m, WriterEvent ev, WriterArgs *a, const char **why);

/* ---- vss-writer-stamps.c: backup stamps, metadata, component failures, the backup under way */
/* Before the handler of ev runs: PrepareForBackup starts a backup (set, type, selection and
 * previous stamps copied from a), BackupShutdown of that set ends it after the handler */
int writer_backup_begin(struct vss_writer *w, WriterEvent ev, const WriterArgs *a);
void writer_backup_end(struct vss_writer *w, WriterEvent ev, const char *set_id);
/* The answer to m: a method return carrying what the handler set on components, if anything
 * (NULL: out of memory); writer_stamps_discard() forgets it (a veto) */
DBusMessage *writer_stamps_reply(struct vss_writer *w, DBusMessage *m);
void writer_stamps_discard(struct vss_writer *w);
void writer_backup_free(struct vss_writer *w);
