/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.h - leveled logging to stderr with journald <N> prefixes, and a buffer for the hold window */
#pragma once

#include <syslog.h>

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
