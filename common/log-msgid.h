/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log-msgid.h - the journal MESSAGE_ID of each event kind vssd logs (vssd(8), JOURNAL FIELDS) */
#pragma once

/* A line about one of these events carries MESSAGE_ID=<id> in the journal, so that
 * "journalctl MESSAGE_ID=<id>" finds every such event whatever its text says. The ids are fixed
 * forever (administrators put them in filters and alerts): a new kind gets a new id at the end,
 * and vssd(8) lists each one. */
typedef enum LogEvent {
	LOG_EVENT_NONE = 0,         /* no MESSAGE_ID */
	LOG_EVENT_SET_STARTED,      /* a set was started (StartSnapshotSet, CreateSnapshotSet) */
	LOG_EVENT_SET_CREATED,      /* a set's shadow copies were created */
	LOG_EVENT_SET_FAILED,       /* a set's creation failed and was rolled back */
	LOG_EVENT_SET_ABORTED,      /* a set was aborted by its owner or because the owner left */
	LOG_EVENT_SET_RELEASED,     /* a set was released (its session ended) */
	LOG_EVENT_IO_HELD,          /* the instant of a set: when I/O was held, in monotonic µs */
	LOG_EVENT_SNAPSHOT_DELETED, /* a shadow copy was deleted */
	LOG_EVENT_STORAGE_WARNING,  /* shadow storage passed its warning threshold */
	LOG_EVENT_STORAGE_FULL_DELETED, /* the oldest shadow copy deleted: storage full */
	LOG_EVENT_WRITER_VETOED,        /* a writer failed or vetoed an event */
	LOG_EVENT_RECOVERY,             /* start-up recovery did something */
	_LOG_EVENT_MAX,
	_LOG_EVENT_INVALID = -22, /* -EINVAL */
} LogEvent;

/* clang-format off */
#define LOG_MESSAGE_IDS_TABLE                                                          \
	X(LOG_EVENT_SET_STARTED,          "set-started",          "7b0e2952269047f88fc19ccb178610ae") \
	X(LOG_EVENT_SET_CREATED,          "set-created",          "1a0843a6b35d4d2286577cb2fa848a05") \
	X(LOG_EVENT_SET_FAILED,           "set-failed",           "c34ad37261e44586b35af431e78015d9") \
	X(LOG_EVENT_SET_ABORTED,          "set-aborted",          "0d9956813bfc463c8a397260dec00363") \
	X(LOG_EVENT_SET_RELEASED,         "set-released",         "41fc22594fc34e88ba8c76734eb984a0") \
	X(LOG_EVENT_IO_HELD,              "io-held",              "24febe32bffe487a9a963c8176191af3") \
	X(LOG_EVENT_SNAPSHOT_DELETED,     "snapshot-deleted",     "d96831a251b64d0b860d2d9f108147dd") \
	X(LOG_EVENT_STORAGE_WARNING,      "storage-warning",      "32d6081453354a2cb5a9678a622de336") \
	X(LOG_EVENT_STORAGE_FULL_DELETED, "storage-full-deleted", "f9db854b070845429c0cd627b98d3adf") \
	X(LOG_EVENT_WRITER_VETOED,        "writer-vetoed",        "70507c0cb30d4d6d8108ca8abb140849") \
	X(LOG_EVENT_RECOVERY,             "recovery",             "529e16c34ecd4669be9ed0b01d622870")
/* clang-format on */

/* The id (32 lowercase hex digits) of an event kind; NULL for LOG_EVENT_NONE or out of range */
const char *log_event_message_id(LogEvent e);
/* Its short name ("set-created"); NULL likewise */
const char *log_event_to_string(LogEvent e);
