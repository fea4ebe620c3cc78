/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* valid.h - checks for strings that arrive from the bus, the command line or a file */
#pragma once

#include "common/macro.h"

/* Printable text: 1..max bytes, no control characters (C0, DEL, C1 U+0080..U+009F); UTF-8
 * itself is checked by libdbus. */
bool valid_text(const char *s, size_t max);
/* Like valid_text() but the empty string is allowed too. */
bool valid_text_or_empty(const char *s, size_t max);
/* An absolute path without control characters, "//" or "/../" tricks, at most VSSD_PATH_MAX. */
bool valid_abs_path(const char *s);
/* A device-mapper device name we would create or accept: [A-Za-z0-9#+-.:=@_], 1..127 bytes. */
bool valid_dm_name(const char *s);
/* A schedule's name (vssd-snapshot@NAME.timer, /etc/vssd/schedule.d/NAME.conf):
 * [A-Za-z0-9_.-], 1..VSSD_SCHEDULE_NAME_MAX bytes, not starting with "." or "-". */
bool valid_schedule_name(const char *s);
/* A whole decimal number: digits only (no sign, blank, base prefix or unit). -ERANGE above
 * UINT64_MAX, -EINVAL otherwise. */
int parse_u64(const char *s, uint64_t *ret);
/* Parses a size with an optional K, M, G, T suffix (powers of 1024) and optional "B"/"iB". */
int parse_size(const char *s, uint64_t *ret);
/* Formats bytes as a short human string ("1.5G"). */
char *format_size(uint64_t bytes, char *buf, size_t size);
