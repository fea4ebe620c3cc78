/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* escape.h - text from other processes made safe for a log line, a D-Bus peer or a terminal */
#pragma once

#include "common/macro.h"

typedef enum EscapeFlags {
	/* Leave "\" as it is, for text that may have been escaped already (a log line, what vssd
	 * relays): nothing is escaped twice, at the price of "\n" in the input looking like an
	 * escaped newline. Without it "\" becomes "\\" and the result unescapes exactly. */
	ESCAPE_KEEP_BACKSLASH = 1 << 0,
} EscapeFlags;

/* C-style escaping, as systemd's cescape(): "\n", "\t", "\r", "\\" (see above), and "\xNN" for
 * every other C0 control character, DEL, each byte of a C1 control character (U+0080..U+009F,
 * e.g. CSI) and each byte that is not valid UTF-8. Valid printable UTF-8 is kept as it is, so
 * the result is one line of valid UTF-8 that no terminal takes as a command. */
int text_escape(const char *s, EscapeFlags flags, char **ret);
/* The same into buf (size >= 1): always NUL-terminated, cut only between whole escapes and
 * whole characters, never overrun. Returns the length written. */
size_t text_escape_buf(const char *s, EscapeFlags flags, char *buf, size_t size);
