/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.c - leveled logging to stderr with journald <N> prefixes, and a buffer for the hold window */
#include <stdarg.h>
#include <sys/stat.h>

#include "common/escape.h"
#include "common/log.h"

/* The only mutable globals besides the daemon context (STYLE §8): level, prefix, journal,
 * buffer. */
static int log_max_level = LOG_INFO;
static const char *log_prefix;
static LogJournalSendFn log_journal_send;
static bool log_buffering;
static char *log_buf;
static size_t log_buf_len;
static size_t log_buf_dropped;

#define LOG_BUF_MAX (256 * 1024)

static const char *const log_event_ids[_LOG_EVENT_MAX] = {
#define X(e, name, id) [e] = id,
	LOG_MESSAGE_IDS_TABLE
#undef X
};
static const char *const log_event_names[_LOG_EVENT_MAX] = {
#define X(e, name, id) [e] = name,
	LOG_MESSAGE_IDS_TABLE
#undef X
};

const char *log_event_message_id(LogEvent e)
{
	return e > LOG_EVENT_NONE && e < _LOG_EVENT_MAX ? log_event_ids[e] : NULL;
}

const char *log_event_to_string(LogEvent e)
{
	return e > LOG_EVENT_NONE && e < _LOG_EVENT_MAX ? log_event_names[e] : NULL;
}

void log_set_journal(LogJournalSendFn send)
{
	log_journal_send = send;
}

bool log_stream_is_journal(int fd)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int n = 0;

	if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &n) != 2 || e[n] != 0)
		return false;
	if (fstat(fd, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

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

static void log_journal_write(const char *rec, size_t len, int level, const char *line);

/* Buffered journal entries are records (log_journal_record()) each ended by an empty line */
static void log_flush_journal(void)
{
	size_t i = 0;

	while (i < log_buf_len) {
		const char *end = memmem(log_buf + i, log_buf_len - i, "\n\n", 2);
		size_t len = end ? (size_t)(end - (log_buf + i)) + 1 : log_buf_len - i;

		log_journal_write(log_buf + i, len, LOG_INFO, NULL);
		i += len + 1;
	}
}

void log_flush_buffer(void)
{
	log_buffering = false;
	if (log_buf_len > 0) {
		if (log_journal_send && !log_prefix)
			log_flush_journal();
		else
			fwrite(log_buf, 1, log_buf_len, stderr);
	}
	if (log_buf_dropped > 0) {
		char rec[256], line[128];
		size_t n;

		snprintf(line, sizeof(line), "%zu log lines dropped while I/O was held",
		         log_buf_dropped);
		if (log_journal_send && !log_prefix) {
			n = log_journal_record(LOG_WARNING, 0, NULL, line, NULL, 0, rec,
			                       sizeof(rec));
			log_journal_write(rec, n, LOG_WARNING, line);
		} else
			fprintf(stderr, "<4>%s\n", line);
	}
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

/* One "KEY=value\n" field into buf at *len, whole or not at all */
static void field_add(char *buf, size_t size, size_t *len, const char *key, const char *value)
{
	int n;

	if (*len >= size)
		return;
	n = snprintf(buf + *len, size - *len, "%s=%s\n", key, value);
	if (n < 0 || (size_t)n >= size - *len) {
		buf[*len] = 0;
		return;
	}
	*len += (size_t)n;
}

static void field_add_escaped(char *buf, size_t size, size_t *len, const char *key,
                              const char *value)
{
	char esc[512];

	if (!value)
		return;
	(void)text_escape_buf(value, 0, esc, sizeof(esc));
	field_add(buf, size, len, key, esc);
}

size_t log_journal_record(int level, int error, const LogKeys *keys, const char *message,
                          const char *file, int line, char *buf, size_t size)
{
	char num[32];
	size_t len = 0;
	const char *id;

	if (size == 0)
		return 0;
	buf[0] = 0;
	field_add(buf, size, &len, "MESSAGE", message);
	snprintf(num, sizeof(num), "%d", level & LOG_PRIMASK);
	field_add(buf, size, &len, "PRIORITY", num);
	if (keys) {
		field_add_escaped(buf, size, &len, "SET_ID", keys->set);
		field_add_escaped(buf, size, &len, "SNAPSHOT_ID", keys->snap);
		field_add_escaped(buf, size, &len, "VOLUME", keys->vol);
		field_add_escaped(buf, size, &len, "WRITER_ID", keys->writer);
		id = log_event_message_id(keys->event);
		if (id)
			field_add(buf, size, &len, "MESSAGE_ID", id);
	}
	if (error != 0) {
		snprintf(num, sizeof(num), "%d", error < 0 ? -error : error);
		field_add(buf, size, &len, "ERRNO", num);
	}
	if (file) {
		field_add_escaped(buf, size, &len, "CODE_FILE", file);
		snprintf(num, sizeof(num), "%d", line);
		field_add(buf, size, &len, "CODE_LINE", num);
	}
	field_add(buf, size, &len, "SYSLOG_IDENTIFIER", "vssd");
	return len;
}

int log_journal_iovec(const char *rec, size_t len, struct iovec *iov, int max)
{
	int n = 0;
	size_t i = 0;

	while (i < len && n < max) {
		const char *nl = memchr(rec + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (rec + i)) : len - i;

		if (l > 0)
			iov[n++] = (struct iovec){ .iov_base = (void *)(rec + i), .iov_len = l };
		i += l + 1;
	}
	return n;
}

/* One entry to the journal; when it refuses, the text to stderr (line: the text, or NULL to
 * take it from the record's MESSAGE=) */
static void log_journal_write(const char *rec, size_t len, int level, const char *line)
{
	struct iovec iov[LOG_JOURNAL_FIELDS_MAX];
	int n = log_journal_iovec(rec, len, iov, (int)ELEMENTSOF(iov));

	if (n > 0 && log_journal_send(iov, n) >= 0)
		return;
	if (n > 0 && !line && iov[0].iov_len >= 8 && memcmp(iov[0].iov_base, "MESSAGE=", 8) == 0)
		fprintf(stderr, "<%d>%.*s\n", level, (int)iov[0].iov_len - 8,
		        (const char *)iov[0].iov_base + 8);
	else if (line)
		fprintf(stderr, "<%d>%s\n", level, line);
	fflush(stderr);
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

	if (keys && keys->fields_only)
		msg[0] = 0;
	else
		log_keys_format(keys, msg, sizeof(msg) / 4);
	k = strlen(msg);
	errno = e;
	vsnprintf(msg + k, sizeof(msg) - k, fmt, ap); /* a long message is cut, never overrun */
	/* One call, one line: a newline, "<0>" or a terminal escape in text that came from a writer
	 * or a caller must not forge a line of its own or reach a terminal. Backslashes are kept,
	 * since what vssd relays is escaped already (DESIGN §6). */
	(void)text_escape_buf(msg, ESCAPE_KEEP_BACKSLASH, esc, sizeof(esc));

	if (log_journal_send && !log_prefix) {
		char rec[sizeof(esc) + 1024];
		size_t len = log_journal_record(level, error, keys, esc, file, line, rec,
		                                sizeof(rec) - 1);

		if (log_buffering) {
			rec[len] = '\n'; /* the record's end: an empty line */
			log_buffer_append(rec, len + 1);
		} else
			log_journal_write(rec, len, level, esc);
		errno = saved;
		return error == 0 ? 0 : -e;
	}

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
