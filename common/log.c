/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.c - leveled logging to stderr with journald <N> prefixes, and a buffer for the hold window */
#include <stdarg.h>

#include "common/escape.h"
#include "common/log.h"

/* The only mutable globals besides the daemon context (STYLE §8): level, prefix, buffer. */
static int log_max_level = LOG_INFO;
static const char *log_prefix;
static bool log_buffering;
static char *log_buf;
static size_t log_buf_len;
static size_t log_buf_dropped;

#define LOG_BUF_MAX (256 * 1024)

void log_set_max_level(int level)
{
	log_max_level = level;
}

int log_get_max_level(void)
{
	return log_max_level;
}

void log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

int log_level_from_string(const char *s)
{
	static const char *const names[] = { "emerg",   "alert",  "crit", "err",
		                             "warning", "notice", "info", "debug" };

	if (!s)
		return -EINVAL;
	for (int i = 0; i < (int)ELEMENTSOF(names); i++)
		if (streq(s, names[i]))
			return i;
	if (streq(s, "error"))
		return LOG_ERR;
	if (s[0] >= '0' && s[0] <= '7' && s[1] == 0)
		return s[0] - '0';
	return -EINVAL;
}

void log_begin_buffering(void)
{
	log_buffering = true;
}

void log_flush_buffer(void)
{
	log_buffering = false;
	if (log_buf_len > 0)
		fwrite(log_buf, 1, log_buf_len, stderr);
	if (log_buf_dropped > 0)
		fprintf(stderr, "<4>%zu log lines dropped while I/O was held\n", log_buf_dropped);
	fflush(stderr);
	free(log_buf);
	log_buf = NULL;
	log_buf_len = 0;
	log_buf_dropped = 0;
}

static void log_buffer_append(const char *line, size_t len)
{
	char *n;

	if (log_buf_len + len > LOG_BUF_MAX) {
		log_buf_dropped++;
		return;
	}
	n = realloc(log_buf, log_buf_len + len);
	if (!n) {
		log_buf_dropped++;
		return;
	}
	memcpy(n + log_buf_len, line, len);
	log_buf = n;
	log_buf_len += len;
}

void log_keys_format(const LogKeys *keys, char *buf, size_t size)
{
	static const char *const names[] = { "set", "snap", "vol", "writer" };
	const char *values[4];
	size_t len = 0;

	buf[0] = 0;
	if (!keys)
		return;
	values[0] = keys->set;
	values[1] = keys->snap;
	values[2] = keys->vol;
	values[3] = keys->writer;
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		int n;

		if (!values[i])
			continue;
		n = snprintf(buf + len, size - len, "%s%s=%s", len > 0 ? " " : "", names[i],
		             values[i]);
		if (n < 0 || (size_t)n >= size - len) {
			buf[len] = 0; /* a key that does not fit is left out whole */
			break;
		}
		len += (size_t)n;
	}
	if (len > 0 && len + 2 < size) {
		buf[len++] = ':';
		buf[len++] = ' ';
		buf[len] = 0;
	}
}

static int log_emit(int level, int error, const LogKeys *keys, const char *file, int line,
                    const char *fmt, va_list ap) _printf_(6, 0);

static int log_emit(int level, int error, const LogKeys *keys, const char *file, int line,
                    const char *fmt, va_list ap)
{
	char msg[2048];
	char esc[2048];
	char out[2200];
	int saved = errno;
	int e = error < 0 ? -error : error;
	size_t k;
	int n;

	if ((level & LOG_PRIMASK) > log_max_level)
		return error == 0 ? 0 : -e;

	log_keys_format(keys, msg, sizeof(msg) / 4);
	k = strlen(msg);
	errno = e;
	vsnprintf(msg + k, sizeof(msg) - k, fmt, ap); /* a long message is cut, never overrun */
	/* One call, one line: a newline, "<0>" or a terminal escape in text that came from a writer
	 * or a caller must not forge a line of its own or reach a terminal. Backslashes are kept,
	 * since what vssd relays is escaped already (DESIGN §6). */
	(void)text_escape_buf(msg, ESCAPE_KEEP_BACKSLASH, esc, sizeof(esc));

	if (log_prefix) /* a command-line tool: a person reads this, not journald */
		n = snprintf(out, sizeof(out), "%s%s\n", log_prefix, esc);
	else if (log_max_level >= LOG_DEBUG)
		n = snprintf(out, sizeof(out), "<%d>%s (%s:%d)\n", level, esc, file, line);
	else
		n = snprintf(out, sizeof(out), "<%d>%s\n", level, esc);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(out)) { /* cut, but still one whole line */
		n = sizeof(out) - 1;
		out[n - 1] = '\n';
	}

	if (log_buffering)
		log_buffer_append(out, (size_t)n);
	else {
		fwrite(out, 1, (size_t)n, stderr);
		fflush(stderr);
	}
	errno = saved;
	return error == 0 ? 0 : -e;
}

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = log_emit(level, error, NULL, file, line, fmt, ap);
	va_end(ap);
	return r;
}

int log_internal_keys(int level, int error, const LogKeys *keys, const char *file, int line,
                      const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = log_emit(level, error, keys, file, line, fmt, ap);
	va_end(ap);
	return r;
}

void log_direct(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int saved = errno;

	if ((level & LOG_PRIMASK) > log_max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* stdio locks the stream: a line from the loop's thread is never cut by this one */
	if (log_prefix)
		fprintf(stderr, "%s%s\n", log_prefix, msg);
	else
		fprintf(stderr, "<%d>%s\n", level, msg);
	fflush(stderr);
	errno = saved;
}
