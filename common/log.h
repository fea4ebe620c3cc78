/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.h - leveled logging to stderr with journald <N> prefixes, and a buffer for the hold window */
#pragma once

#include <sys/uio.h>
#include <syslog.h>

#include "common/log-msgid.h"
#include "common/macro.h"

void log_set_max_level(int level);
int log_get_max_level(void);
int log_level_from_string(const char *s); /* "err", "warning", "notice", "info", "debug" or 0-7 */
/* A prefix such as "vssctl: " makes output plain text for people, without <N> level marks. */
void log_set_prefix(const char *prefix);

/* While buffered, lines go to memory (bounded) instead of stderr: used while I/O is held, since
 * stderr may lead to a file system that is frozen. log_flush_buffer() writes them out. */
void log_begin_buffering(void);
void log_flush_buffer(void);
/* One line straight to stderr, buffered or not, without touching the buffer: the only log call
 * a thread other than the loop's may make (the hold watchdog, after it released I/O). */
void log_direct(int level, const char *fmt, ...) _printf_(2, 3);

/* Returns -abs(error) (or 0 when error is 0) so that logging and returning are one statement.
 * errno is set to abs(error) first, so %m prints it. */
int log_internal(int level, int error, const char *file, int line, const char *fmt, ...)
	_printf_(5, 6);

/* What a line is about. Its keys come first, "set=<id> snap=<id> vol=<name> writer=<id>: ", in
 * that order and each only when not NULL, so that one set's, volume's or writer's story greps out
 * of the log with one pattern (STYLE: the keys first, written once, not by hand at every call). */
typedef struct LogKeys {
	const char *set;
	const char *snap;
	const char *vol;
	const char *writer;
	LogEvent event; /* the journal's MESSAGE_ID (common/log-msgid.h); never in the text */
	/* The keys go to the journal fields only, not into the text: for lines whose text names
	 * them its own way already ("recovery: set=... snap=...") and must stay as it is. */
	bool fields_only;
} LogKeys;

int log_internal_keys(int level, int error, const LogKeys *keys, const char *file, int line,
                      const char *fmt, ...) _printf_(6, 7);
/* "set=a snap=b: " into buf (size bytes, at least 1); "" when no key is set */
void log_keys_format(const LogKeys *keys, char *buf, size_t size);

/* The journal. Under systemd (vssd's stderr is the journal stream, $JOURNAL_STREAM) each line is
 * sent as one journal entry with fields instead of a "<N>text" line: MESSAGE= (the text stderr
 * would show, keys first, escaped), PRIORITY=, SET_ID=, SNAPSHOT_ID=, VOLUME=, WRITER_ID= (those
 * of its LogKeys that are set), MESSAGE_ID= (its event), ERRNO=, CODE_FILE=, CODE_LINE= and
 * SYSLOG_IDENTIFIER=vssd. send is sd_journal_sendv() in vssd; NULL (the default) is stderr. A
 * line the journal refuses goes to stderr as before. */
typedef int (*LogJournalSendFn)(const struct iovec *iov, int n);
void log_set_journal(LogJournalSendFn send);
/* JOURNAL_STREAM names the device and inode of fd (as systemd sets it for a service whose
 * output goes to the journal): fd is connected to the journal. */
bool log_stream_is_journal(int fd);

#define LOG_JOURNAL_FIELDS_MAX 12
/* One entry's fields as "KEY=value\n" lines into buf (size bytes); message is escaped text
 * already, key values are escaped here. Returns the length, without the NUL; a field that does
 * not fit is left out whole (MESSAGE and PRIORITY come first). */
size_t log_journal_record(int level, int error, const LogKeys *keys, const char *message,
                          const char *file, int line, char *buf, size_t size);
/* Splits such a record into iov (at most max entries, each field without its newline); returns
 * the number of fields. */
int log_journal_iovec(const char *rec, size_t len, struct iovec *iov, int max);

#define log_full_errno(level, error, ...) \
	log_internal((level), (error), __FILE__, __LINE__, __VA_ARGS__)
#define log_full(level, ...) (void)log_full_errno((level), 0, __VA_ARGS__)

#define log_error_errno(error, ...)   log_full_errno(LOG_ERR, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_notice_errno(error, ...)  log_full_errno(LOG_NOTICE, (error), __VA_ARGS__)
#define log_debug_errno(error, ...)   log_full_errno(LOG_DEBUG, (error), __VA_ARGS__)
#define log_error(...)                log_full(LOG_ERR, __VA_ARGS__)
#define log_warning(...)              log_full(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)               log_full(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)                 log_full(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                log_full(LOG_DEBUG, __VA_ARGS__)
#define log_oom()                     log_error_errno(-ENOMEM, "out of memory")

/* The keyed forms: log_set_*(set_id, ...), log_vol_*(volume, ...), log_snap_*(snap_id, volume,
 * ...) (volume may be NULL) and log_writer_*(writer_id, set_id, ...) (set_id may be NULL). */
#define log_keys_full_errno(keys, level, error, ...) \
	log_internal_keys((level), (error), (keys), __FILE__, __LINE__, __VA_ARGS__)
#define log_set_full_errno(id, level, error, ...) \
	log_keys_full_errno((&(const LogKeys){ .set = (id) }), (level), (error), __VA_ARGS__)
#define log_vol_full_errno(name, level, error, ...) \
	log_keys_full_errno((&(const LogKeys){ .vol = (name) }), (level), (error), __VA_ARGS__)
#define log_snap_full_errno(id, vol_name, level, error, ...)                                \
	log_keys_full_errno((&(const LogKeys){ .snap = (id), .vol = (vol_name) }), (level), \
	                    (error), __VA_ARGS__)
#define log_writer_full_errno(id, set_id, level, error, ...)                                \
	log_keys_full_errno((&(const LogKeys){ .set = (set_id), .writer = (id) }), (level), \
	                    (error), __VA_ARGS__)

/* An event kind's line (MESSAGE_ID in the journal): the same text as the forms above. */
#define log_event_full_errno(ev, level, error, ...) \
	log_keys_full_errno((&(const LogKeys){ .event = (ev) }), (level), (error), __VA_ARGS__)
#define log_event(ev, level, ...) (void)log_event_full_errno(ev, level, 0, __VA_ARGS__)
#define log_set_event_errno(ev, id, level, error, ...)                                          \
	log_keys_full_errno((&(const LogKeys){ .set = (id), .event = (ev) }), (level), (error), \
	                    __VA_ARGS__)
#define log_set_event(ev, id, level, ...) (void)log_set_event_errno(ev, id, level, 0, __VA_ARGS__)
#define log_vol_event(ev, name, level, ...)                                                       \
	(void)log_keys_full_errno((&(const LogKeys){ .vol = (name), .event = (ev) }), (level), 0, \
	                          __VA_ARGS__)
#define log_snap_event(ev, id, vol_name, level, ...)                                              \
	(void)log_keys_full_errno(                                                                \
		(&(const LogKeys){ .snap = (id), .vol = (vol_name), .event = (ev) }), (level), 0, \
		__VA_ARGS__)
#define log_writer_event(ev, id, set_id, level, ...)                                              \
	(void)log_keys_full_errno(                                                                \
		(&(const LogKeys){ .set = (set_id), .writer = (id), .event = (ev) }), (level), 0, \
		__VA_ARGS__)
/* Recovery's lines, whose text names set, snap and vol itself: the keys go to the fields only */
#define log_recovery_errno(level, error, set_id, snap_id, vol_name, ...)    \
	log_keys_full_errno((&(const LogKeys){ .set = (set_id),             \
	                                       .snap = (snap_id),           \
	                                       .vol = (vol_name),           \
	                                       .event = LOG_EVENT_RECOVERY, \
	                                       .fields_only = true }),      \
	                    (level), (error), __VA_ARGS__)
#define log_recovery(level, set_id, snap_id, vol_name, ...) \
	(void)log_recovery_errno(level, 0, set_id, snap_id, vol_name, __VA_ARGS__)

#define log_set_error_errno(id, error, ...) log_set_full_errno(id, LOG_ERR, (error), __VA_ARGS__)
#define log_set_error(id, ...)              (void)log_set_full_errno(id, LOG_ERR, 0, __VA_ARGS__)
#define log_set_warning_errno(id, error, ...) \
	log_set_full_errno(id, LOG_WARNING, (error), __VA_ARGS__)
#define log_set_warning(id, ...) (void)log_set_full_errno(id, LOG_WARNING, 0, __VA_ARGS__)
#define log_set_notice_errno(id, error, ...) \
	log_set_full_errno(id, LOG_NOTICE, (error), __VA_ARGS__)
#define log_set_notice(id, ...)             (void)log_set_full_errno(id, LOG_NOTICE, 0, __VA_ARGS__)
#define log_set_info(id, ...)               (void)log_set_full_errno(id, LOG_INFO, 0, __VA_ARGS__)
#define log_set_debug_errno(id, error, ...) log_set_full_errno(id, LOG_DEBUG, (error), __VA_ARGS__)
#define log_set_debug(id, ...)              (void)log_set_full_errno(id, LOG_DEBUG, 0, __VA_ARGS__)

#define log_vol_error_errno(name, error, ...) \
	log_vol_full_errno(name, LOG_ERR, (error), __VA_ARGS__)
#define log_vol_error(name, ...) (void)log_vol_full_errno(name, LOG_ERR, 0, __VA_ARGS__)
#define log_vol_warning_errno(name, error, ...) \
	log_vol_full_errno(name, LOG_WARNING, (error), __VA_ARGS__)
#define log_vol_warning(name, ...) (void)log_vol_full_errno(name, LOG_WARNING, 0, __VA_ARGS__)
#define log_vol_notice_errno(name, error, ...) \
	log_vol_full_errno(name, LOG_NOTICE, (error), __VA_ARGS__)
#define log_vol_notice(name, ...) (void)log_vol_full_errno(name, LOG_NOTICE, 0, __VA_ARGS__)
#define log_vol_info(name, ...)   (void)log_vol_full_errno(name, LOG_INFO, 0, __VA_ARGS__)
#define log_vol_debug_errno(name, error, ...) \
	log_vol_full_errno(name, LOG_DEBUG, (error), __VA_ARGS__)
#define log_vol_debug(name, ...) (void)log_vol_full_errno(name, LOG_DEBUG, 0, __VA_ARGS__)

#define log_snap_error_errno(id, vol_name, error, ...) \
	log_snap_full_errno(id, vol_name, LOG_ERR, (error), __VA_ARGS__)
#define log_snap_error(id, vol_name, ...) \
	(void)log_snap_full_errno(id, vol_name, LOG_ERR, 0, __VA_ARGS__)
#define log_snap_warning_errno(id, vol_name, error, ...) \
	log_snap_full_errno(id, vol_name, LOG_WARNING, (error), __VA_ARGS__)
#define log_snap_warning(id, vol_name, ...) \
	(void)log_snap_full_errno(id, vol_name, LOG_WARNING, 0, __VA_ARGS__)
#define log_snap_notice_errno(id, vol_name, error, ...) \
	log_snap_full_errno(id, vol_name, LOG_NOTICE, (error), __VA_ARGS__)
#define log_snap_notice(id, vol_name, ...) \
	(void)log_snap_full_errno(id, vol_name, LOG_NOTICE, 0, __VA_ARGS__)
#define log_snap_info(id, vol_name, ...) \
	(void)log_snap_full_errno(id, vol_name, LOG_INFO, 0, __VA_ARGS__)
#define log_snap_debug_errno(id, vol_name, error, ...) \
	log_snap_full_errno(id, vol_name, LOG_DEBUG, (error), __VA_ARGS__)
#define log_snap_debug(id, vol_name, ...) \
	(void)log_snap_full_errno(id, vol_name, LOG_DEBUG, 0, __VA_ARGS__)

#define log_writer_error_errno(id, set_id, error, ...) \
	log_writer_full_errno(id, set_id, LOG_ERR, (error), __VA_ARGS__)
#define log_writer_error(id, set_id, ...) \
	(void)log_writer_full_errno(id, set_id, LOG_ERR, 0, __VA_ARGS__)
#define log_writer_warning_errno(id, set_id, error, ...) \
	log_writer_full_errno(id, set_id, LOG_WARNING, (error), __VA_ARGS__)
#define log_writer_warning(id, set_id, ...) \
	(void)log_writer_full_errno(id, set_id, LOG_WARNING, 0, __VA_ARGS__)
#define log_writer_notice_errno(id, set_id, error, ...) \
	log_writer_full_errno(id, set_id, LOG_NOTICE, (error), __VA_ARGS__)
#define log_writer_notice(id, set_id, ...) \
	(void)log_writer_full_errno(id, set_id, LOG_NOTICE, 0, __VA_ARGS__)
#define log_writer_info(id, set_id, ...) \
	(void)log_writer_full_errno(id, set_id, LOG_INFO, 0, __VA_ARGS__)
#define log_writer_debug_errno(id, set_id, error, ...) \
	log_writer_full_errno(id, set_id, LOG_DEBUG, (error), __VA_ARGS__)
#define log_writer_debug(id, set_id, ...) \
	(void)log_writer_full_errno(id, set_id, LOG_DEBUG, 0, __VA_ARGS__)
