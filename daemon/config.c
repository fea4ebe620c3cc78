/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config.c - /etc/vssd/vssd.conf: defaults, strict parsing, errors that name file and line */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <ini.h>

#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/config.h"

/* How a value is written in the file, and where it goes in Config. */
typedef enum ConfigType {
	CONFIG_DIRECTORY, /* char *: an absolute path */
	CONFIG_PERCENT,   /* uint32_t: a whole number, "%" allowed */
	CONFIG_COUNT,     /* uint32_t: a whole number */
	CONFIG_SIZE,      /* uint64_t: bytes, parse_size() */
	CONFIG_CHUNK,     /* uint32_t: KiB, written as a size that is a power of two */
	CONFIG_MSEC,      /* usec_t: written as whole milliseconds */
	CONFIG_FREEZE,    /* bool: "parallel" (true) or "lockfs" (false) */
	CONFIG_PROGRAM,   /* char *: an absolute path of a program */
	CONFIG_TEXT,      /* char *: one line of text, at most max bytes; "" clears it */
} ConfigType;

typedef struct ConfigKey {
	const char *section;
	const char *name;
	ConfigType type;
	size_t offset;     /* of the field in Config */
	uint64_t min, max; /* numbers: allowed range in the unit of the file (bytes, %, ms) */
} ConfigKey;

#define SIZE_LO (1ULL << 20) /* dmsnap's floor for a COW file */
#define SIZE_HI (64ULL << 40)
#define MS_LO   1000ULL
#define KEY(s, n, t, field, lo, hi)                                                               \
	{                                                                                         \
		.section = s, .name = n, .type = t, .offset = offsetof(Config, field), .min = lo, \
		.max = hi                                                                         \
	}

/* Grouped by section, in the order of doc/vssd.conf.example. */
static const ConfigKey config_keys[] = {
	KEY("storage", "directory", CONFIG_DIRECTORY, storage_dir, 0, 0),
	KEY("storage", "default-percent", CONFIG_PERCENT, storage_default_percent, 1, 100),
	KEY("storage", "minimum", CONFIG_SIZE, storage_min_bytes, SIZE_LO, SIZE_HI),
	KEY("storage", "initial", CONFIG_SIZE, storage_initial_bytes, SIZE_LO, SIZE_HI),
	KEY("storage", "grow-step", CONFIG_SIZE, storage_grow_bytes, SIZE_LO, SIZE_HI),
	KEY("storage", "warning-percent", CONFIG_PERCENT, storage_warn_percent, 1, 100),
	KEY("snapshot", "chunk-size", CONFIG_CHUNK, chunk_kib, 4096, 512 * 1024),
	KEY("timeouts", "hold-ms", CONFIG_MSEC, hold_timeout, MS_LO, 60000),
	KEY("timeouts", "flush-ms", CONFIG_MSEC, flush_timeout, MS_LO, 60000),
	KEY("timeouts", "writer-freeze-ms", CONFIG_MSEC, writer_freeze_default, MS_LO, 600000),
	KEY("timeouts", "writer-freeze-max-ms", CONFIG_MSEC, writer_freeze_max, MS_LO, 600000),
	KEY("timeouts", "writer-event-ms", CONFIG_MSEC, writer_event_timeout, MS_LO, 3600000),
	KEY("timeouts", "set-idle-ms", CONFIG_MSEC, set_idle_timeout, MS_LO, 86400000),
	KEY("limits", "max-shadow-copies", CONFIG_COUNT, max_shadow_copies, 1,
	    VSSD_SNAPSHOTS_PER_VOLUME_MAX),
	KEY("limits", "writers-per-connection", CONFIG_COUNT, writers_per_connection, 1,
	    VSSD_WRITERS_PER_CONNECTION_MAX),
	KEY("limits", "writers-per-uid", CONFIG_COUNT, writers_per_uid, 1,
	    VSSD_WRITERS_PER_UID_MAX),
	KEY("limits", "sets-per-uid", CONFIG_COUNT, sets_per_uid, 1, VSSD_SETS_PER_UID_MAX),
	KEY("commit", "freeze", CONFIG_FREEZE, parallel_freeze, 0, 0),
	KEY("lvm", "binary", CONFIG_PROGRAM, lvm_binary, 0, 0),
	KEY("lvm", "config", CONFIG_TEXT, lvm_config, 0, 1024),
};

int config_init_defaults(Config *c)
{
	char *dir = strdup(CONFIG_STORAGE_DIR_DEFAULT), *lvm = strdup(CONFIG_LVM_BINARY_DEFAULT);

	if (!dir || !lvm) {
		free(dir);
		free(lvm);
		return -ENOMEM;
	}
	*c = (Config){
		.storage_dir = dir,
		.lvm_binary = lvm,
		.storage_default_percent = 10,
		.storage_min_bytes = VSSD_STORAGE_MIN_BYTES,
		.storage_initial_bytes = 64ULL << 20,
		.storage_grow_bytes = 64ULL << 20,
		.storage_warn_percent = 80,
		.chunk_kib = VSSD_CHUNK_SECTORS_DEFAULT / 2,
		.hold_timeout = VSSD_HOLD_TIMEOUT_USEC,
		.flush_timeout = VSSD_FLUSH_TIMEOUT_USEC,
		.writer_freeze_default = VSSD_FREEZE_TIMEOUT_DEFAULT_MSEC * USEC_PER_MSEC,
		.writer_freeze_max = VSSD_FREEZE_TIMEOUT_DEFAULT_MSEC * USEC_PER_MSEC,
		.writer_event_timeout = 60 * USEC_PER_SEC,
		.set_idle_timeout = VSSD_SET_IDLE_TIMEOUT_USEC,
		.max_shadow_copies = VSSD_MAX_SHADOW_COPIES_DEFAULT,
		.writers_per_connection = VSSD_WRITERS_PER_CONNECTION_MAX,
		.writers_per_uid = VSSD_WRITERS_PER_UID_MAX,
		.sets_per_uid = VSSD_SETS_PER_UID_MAX,
		.parallel_freeze = true,
	};
	return 0;
}

void config_done(Config *c)
{
	free(c->storage_dir);
	free(c->lvm_binary);
	free(c->lvm_config);
	*c = (Config){ 0 };
}

/* ---- the parser ------------------------------------------------------------------------------ */

typedef struct ConfigParser {
	FILE *f;
	const char *name; /* for messages */
	Config config;    /* defaults, then overwritten key by key */
	unsigned line;    /* the line inih is working on: the reader counts them */
	unsigned seen[ELEMENTSOF(config_keys)]; /* line that set each key, 0: default */
	int error;                              /* the first failure; the rest are not reported */
	char *message;
} ConfigParser;

static void config_parser_done(ConfigParser *p)
{
	config_done(&p->config);
	free(p->message);
}

/* Records the first failure as "<name>:<line>: <reason>" (no line when line is 0). */
_printf_(4, 5) static int config_fail_at(ConfigParser *p, unsigned line, int error, const char *fmt,
                                         ...)
{
	_cleanup_free_ char *reason = NULL;
	va_list ap;
	int r;

	if (p->error < 0)
		return p->error;
	va_start(ap, fmt);
	r = vasprintf(&reason, fmt, ap);
	va_end(ap);
	if (r < 0) { /* the pointer is undefined after a failure */
		reason = NULL;
		return p->error = -ENOMEM;
	}
	if (line > 0)
		r = asprintf(&p->message, "%s:%u: %s", p->name, line, reason);
	else
		r = asprintf(&p->message, "%s: %s", p->name, reason);
	if (r < 0) {
		p->message = NULL;
		return p->error = -ENOMEM;
	}
	return p->error = error;
}

#define config_fail(p, ...) config_fail_at((p), (p)->line, -EINVAL, __VA_ARGS__)

static bool config_section_known(const char *section)
{
	for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
		if (streq(config_keys[i].section, section))
			return true;
	return false;
}

static const ConfigKey *config_key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
		if (streq(config_keys[i].section, section) && streq(config_keys[i].name, name))
			return &config_keys[i];
	return NULL;
}

/* "[storage], [snapshot], ..." or, with a section, "directory, default-percent, ...", for
 * messages; NULL when out of memory. */
static char *config_list(const char *section)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	const char *sep = "";

	if (!f)
		return NULL;
	for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
		const ConfigKey *k = &config_keys[i];

		if (section && streq(k->section, section))
			fprintf(f, "%s%s", sep, k->name);
		else if (!section && (i == 0 || !streq(k->section, config_keys[i - 1].section)))
			fprintf(f, "%s[%s]", sep, k->section);
		else
			continue;
		sep = ", ";
	}
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

static int config_fail_unknown_section(ConfigParser *p, const char *section)
{
	_cleanup_free_ char *known = config_list(NULL);

	return config_fail(p, "unknown section [%s]; known sections: %s", section, strempty(known));
}

/* A section header, checked when read so that an empty misspelt section is caught too. */
static int config_check_header(ConfigParser *p, const char *line)
{
	_cleanup_free_ char *section = NULL;
	const char *end = strchr(line, ']'), *rest;

	if (!end)
		return config_fail(p, "missing \"]\" after the section name");
	rest = end + 1 + strspn(end + 1, " \t\r");
	if (*rest && *rest != '#' && *rest != ';')
		return config_fail(p, "unexpected text after \"%.*s\"", (int)(end + 1 - line),
		                   line);
	section = strndup(line + 1, end - line - 1);
	if (!section)
		return p->error = -ENOMEM;
	if (!config_section_known(section))
		return config_fail_unknown_section(p, section);
	return 0;
}

/* inih's reader: one line per call, so that p->line is the line the handler sees. Leading
 * blanks are dropped, which turns off inih's continuation lines (an indented "key = value"
 * would otherwise be appended to the previous value). Returns NULL at the end or on the first
 * failure, which stops inih. */
static char *config_read_line(char *buf, int size, void *userdata)
{
	ConfigParser *p = userdata;
	bool any = false;
	size_t n = 0;
	int c;

	if (p->error < 0)
		return NULL;
	while ((c = getc(p->f)) != EOF) {
		if (!any) {
			any = true;
			p->line++;
		}
		if (c == '\n')
			break;
		if (n == 0 && (c == ' ' || c == '\t'))
			continue;
		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
			config_fail(p, "control character 0x%02x; only text is allowed", c);
			return NULL;
		}
		if (n + 3 > (size_t)size) { /* room for inih's "\n\0" convention and ours */
			config_fail(p, "line longer than %d characters", size - 3);
			return NULL;
		}
		buf[n++] = (char)c;
	}
	if (ferror(p->f)) {
		config_fail_at(p, p->line, -EIO, "read error");
		return NULL;
	}
	if (!any)
		return NULL;
	buf[n] = 0;
	if (p->line == 1 && startswith(buf, "\xef\xbb\xbf")) /* a UTF-8 byte order mark */
		memmove(buf, buf + 3, n - 2);
	if (buf[0] == '[' && config_check_header(p, buf) < 0)
		return NULL;
	return buf;
}

static int config_parse_number(const ConfigKey *k, const char *value, uint64_t *ret)
{
	_cleanup_free_ char *copy = NULL;
	size_t n = strlen(value);

	switch (k->type) {
	case CONFIG_PERCENT:
		if (n > 1 && value[n - 1] == '%') {
			copy = strndup(value, n - 1);
			if (!copy)
				return -ENOMEM;
			value = copy;
		}
		return parse_u64(value, ret);
	case CONFIG_COUNT:
	case CONFIG_MSEC:
		return parse_u64(value, ret);
	case CONFIG_SIZE:
	case CONFIG_CHUNK:
		return parse_size(value, ret);
	case CONFIG_DIRECTORY:
	case CONFIG_FREEZE:
	case CONFIG_PROGRAM:
	case CONFIG_TEXT:
		break;
	}
	return -EINVAL;
}

/* What a number of this key looks like, for "not a ..." messages. */
static const char *config_number_hint(ConfigType type)
{
	switch (type) {
	case CONFIG_PERCENT:
		return "a whole percentage such as 10 or 10%";
	case CONFIG_COUNT:
		return "a whole number";
	case CONFIG_MSEC:
		return "a whole number of milliseconds (durations are plain milliseconds: 10 s is "
		       "10000)";
	case CONFIG_SIZE:
	case CONFIG_CHUNK:
		return "a size: a whole number of bytes with an optional K, M, G or T suffix "
		       "(powers of 1024)";
	case CONFIG_DIRECTORY:
	case CONFIG_FREEZE:
	case CONFIG_PROGRAM:
	case CONFIG_TEXT:
		break;
	}
	return "a number";
}

static char *config_format_number(ConfigType type, uint64_t v, char *buf, size_t size)
{
	if (type == CONFIG_SIZE || type == CONFIG_CHUNK)
		return format_size(v, buf, size);
	snprintf(buf, size, "%" PRIu64, v);
	return buf;
}

static int config_set_number(ConfigParser *p, const ConfigKey *k, const char *value, void *field)
{
	char lo[32], hi[32];
	uint64_t v = 0;
	int r;

	r = config_parse_number(k, value, &v);
	if (r == -ENOMEM)
		return p->error = r;
	if (r == -EINVAL && value[0] == '-')
		return config_fail(p, "%s = %s: must not be negative", k->name, value);
	if (r == -EINVAL)
		return config_fail(p, "%s = \"%s\" is not %s", k->name, value,
		                   config_number_hint(k->type));
	if (r < 0 || v < k->min || v > k->max)
		return config_fail(p, "%s = %s is out of range: allowed %s..%s", k->name, value,
		                   config_format_number(k->type, k->min, lo, sizeof(lo)),
		                   config_format_number(k->type, k->max, hi, sizeof(hi)));

	switch (k->type) {
	case CONFIG_PERCENT:
	case CONFIG_COUNT:
		*(uint32_t *)field = (uint32_t)v;
		break;
	case CONFIG_SIZE:
		*(uint64_t *)field = v;
		break;
	case CONFIG_CHUNK:
		if (v & (v - 1))
			return config_fail(p,
			                   "%s = %s is not a power of two: use 4K, 8K, 16K, 32K, "
			                   "64K, 128K, 256K or 512K",
			                   k->name, value);
		*(uint32_t *)field = (uint32_t)(v >> 10);
		break;
	case CONFIG_MSEC:
		*(usec_t *)field = v * USEC_PER_MSEC;
		break;
	case CONFIG_DIRECTORY:
	case CONFIG_FREEZE:
	case CONFIG_PROGRAM:
	case CONFIG_TEXT:
		return -EINVAL;
	}
	return 0;
}

static int config_set(ConfigParser *p, const ConfigKey *k, const char *value)
{
	void *field = (uint8_t *)&p->config + k->offset;
	char *dir;

	if (!value[0] && k->type != CONFIG_TEXT)
		return config_fail(p, "%s has no value", k->name);

	switch (k->type) {
	case CONFIG_PROGRAM:
		if (!valid_abs_path(value) || value[strlen(value) - 1] == '/')
			return config_fail(p,
			                   "%s = \"%s\" is not a clean absolute path of a program "
			                   "(such as %s)",
			                   k->name, value, CONFIG_LVM_BINARY_DEFAULT);
		_fallthrough_;
	case CONFIG_TEXT:
		if (strlen(value) > (k->max ? k->max : VSSD_PATH_MAX) ||
		    !valid_text_or_empty(value, k->max ? k->max : VSSD_PATH_MAX))
			return config_fail(
				p, "%s is not one line of text of at most %" PRIu64 " bytes",
				k->name, k->max ? k->max : VSSD_PATH_MAX);
		dir = value[0] ? strdup(value) : NULL;
		if (value[0] && !dir)
			return p->error = -ENOMEM;
		free(*(char **)field);
		*(char **)field = dir;
		return 0;
	case CONFIG_DIRECTORY:
		if (value[0] != '/')
			return config_fail(
				p, "%s = \"%s\" is relative; use an absolute path such as %s",
				k->name, value, CONFIG_STORAGE_DIR_DEFAULT);
		if (!valid_abs_path(value))
			return config_fail(p,
			                   "%s = \"%s\" is not a clean absolute path (no \"//\", "
			                   "\"/./\" or \"/../\", at most %d bytes)",
			                   k->name, value, VSSD_PATH_MAX);
		dir = strdup(value);
		if (!dir)
			return p->error = -ENOMEM;
		free(*(char **)field);
		*(char **)field = dir;
		return 0;
	case CONFIG_FREEZE:
		if (!streq(value, "parallel") && !streq(value, "lockfs"))
			return config_fail(p, "%s = \"%s\": use \"parallel\" or \"lockfs\"",
			                   k->name, value);
		*(bool *)field = streq(value, "parallel");
		return 0;
	case CONFIG_PERCENT:
	case CONFIG_COUNT:
	case CONFIG_SIZE:
	case CONFIG_CHUNK:
	case CONFIG_MSEC:
		return config_set_number(p, k, value, field);
	}
	return -EINVAL;
}

/* inih's handler, once per "key = value". */
static int config_on_key(void *userdata, const char *section, const char *name, const char *value)
{
	ConfigParser *p = userdata;
	_cleanup_free_ char *known = NULL;
	const ConfigKey *k;
	size_t i;

	if (p->error < 0)
		return 0;
	if (!section[0]) {
		known = config_list(NULL);
		return config_fail(p, "key \"%s\" comes before any section; known sections: %s",
		                   name, strempty(known)) == 0;
	}
	if (!config_section_known(section)) /* the reader checked headers; kept for safety */
		return config_fail_unknown_section(p, section) == 0;
	if (!name[0])
		return config_fail(p, "missing key name before \"=\"") == 0;
	k = config_key_find(section, name);
	if (!k) {
		known = config_list(section);
		return config_fail(p, "unknown key \"%s\" in [%s]; known keys: %s", name, section,
		                   strempty(known)) == 0;
	}
	i = (size_t)(k - config_keys);
	if (p->seen[i])
		return config_fail(p, "duplicate key \"%s\" in [%s] (first set on line %u)", name,
		                   section, p->seen[i]) == 0;
	p->seen[i] = p->line;
	return config_set(p, k, value) == 0;
}

/* The line that set a field, 0 when it kept its default. */
static unsigned config_line_of(const ConfigParser *p, size_t offset)
{
	for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
		if (config_keys[i].offset == offset)
			return p->seen[i];
	return 0;
}

/* A rule between two keys is reported at the later of the two lines that set them. */
#define LINE_OF(p, a, b) \
	MAX(config_line_of((p), offsetof(Config, a)), config_line_of((p), offsetof(Config, b)))

static int config_check_chunk_multiple(ConfigParser *p, const char *name, uint64_t bytes,
                                       unsigned line)
{
	const Config *c = &p->config;

	if (bytes % ((uint64_t)c->chunk_kib << 10) == 0)
		return 0;
	return config_fail_at(p, line, -EINVAL,
	                      "%s (%" PRIu64 " bytes) is not a multiple of chunk-size (%" PRIu32
	                      "K): COW files grow by whole chunks",
	                      name, bytes, c->chunk_kib);
}

/* Rules between keys, once the whole file is read. */
static int config_check(ConfigParser *p)
{
	const Config *c = &p->config;
	char a[32], b[32];
	int r;

	if (c->writer_freeze_default > c->writer_freeze_max)
		return config_fail_at(p, LINE_OF(p, writer_freeze_default, writer_freeze_max),
		                      -EINVAL,
		                      "writer-freeze-ms (%" PRIu64 ") is larger than "
		                      "writer-freeze-max-ms (%" PRIu64 ")",
		                      c->writer_freeze_default / USEC_PER_MSEC,
		                      c->writer_freeze_max / USEC_PER_MSEC);
	if (c->storage_initial_bytes > c->storage_min_bytes)
		return config_fail_at(p, LINE_OF(p, storage_initial_bytes, storage_min_bytes),
		                      -EINVAL,
		                      "initial (%s) is larger than minimum (%s): the first "
		                      "allocation must fit in the smallest storage of a volume",
		                      format_size(c->storage_initial_bytes, a, sizeof(a)),
		                      format_size(c->storage_min_bytes, b, sizeof(b)));
	r = config_check_chunk_multiple(p, "initial", c->storage_initial_bytes,
	                                LINE_OF(p, storage_initial_bytes, chunk_kib));
	if (r < 0)
		return r;
	return config_check_chunk_multiple(p, "grow-step", c->storage_grow_bytes,
	                                   LINE_OF(p, storage_grow_bytes, chunk_kib));
}

static int config_parse(FILE *f, const char *name, Config *c, char **ret_error)
{
	_cleanup_(config_parser_done) ConfigParser p = { .f = f, .name = name };
	int r;

	r = config_init_defaults(&p.config);
	if (r < 0)
		return r;
	r = ini_parse_stream(config_read_line, &p, config_on_key, &p);
	if (p.error >= 0 && r > 0)
		config_fail_at(&p, (unsigned)r, -EINVAL,
		               "expected \"[section]\", \"key = value\" or a comment");
	else if (p.error >= 0 && r < 0)
		p.error = -ENOMEM;
	if (p.error >= 0)
		config_check(&p);
	if (p.error < 0) {
		if (ret_error)
			*ret_error = TAKE_PTR(p.message);
		return p.error;
	}
	config_done(c);
	*c = p.config;
	p.config = (Config){ 0 };
	return 0;
}

int config_load_string(const char *text, const char *name, Config *c, char **ret_error)
{
	_cleanup_fclose_ FILE *f = fmemopen((void *)text, strlen(text), "r");

	if (!f)
		return -errno;
	return config_parse(f, name, c, ret_error);
}

int config_load(const char *path, Config *c, char **ret_error)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	struct stat st;
	int r;

	if (!f || fstat(fileno(f), &st) < 0) {
		r = -errno;
		if (ret_error && asprintf(ret_error, "%s: %s", path, strerror(-r)) < 0)
			*ret_error = NULL;
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		if (ret_error && asprintf(ret_error, "%s: not a regular file", path) < 0)
			*ret_error = NULL;
		return -EINVAL;
	}
	return config_parse(f, path, c, ret_error);
}
