/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-config.c - vssd.conf: defaults, every key, the example file, each error with file:line */
#include "daemon/config.h"
#include "tests/lib/check-main.h"

#define EXAMPLE "doc/vssd.conf.example" /* make check-unit runs from the top directory */

/* Every key, in file order: the example must show each of them exactly once. */
static const char *const all_keys[] = {
	"directory",
	"default-percent",
	"minimum",
	"initial",
	"grow-step",
	"warning-percent",
	"chunk-size",
	"hold-ms",
	"flush-ms",
	"writer-freeze-ms",
	"writer-freeze-max-ms",
	"writer-event-ms",
	"set-idle-ms",
	"max-shadow-copies",
	"writers-per-connection",
	"writers-per-uid",
	"sets-per-uid",
	"freeze",
	"binary",
	/* [lvm] config: "#config =" (empty by default), no " = " to match */
};

static void assert_config_eq(const Config *a, const Config *b)
{
	ck_assert_str_eq(a->storage_dir, b->storage_dir);
	ck_assert_uint_eq(a->storage_default_percent, b->storage_default_percent);
	ck_assert_uint_eq(a->storage_min_bytes, b->storage_min_bytes);
	ck_assert_uint_eq(a->storage_initial_bytes, b->storage_initial_bytes);
	ck_assert_uint_eq(a->storage_grow_bytes, b->storage_grow_bytes);
	ck_assert_uint_eq(a->storage_warn_percent, b->storage_warn_percent);
	ck_assert_uint_eq(a->chunk_kib, b->chunk_kib);
	ck_assert_uint_eq(a->hold_timeout, b->hold_timeout);
	ck_assert_uint_eq(a->flush_timeout, b->flush_timeout);
	ck_assert_uint_eq(a->writer_freeze_default, b->writer_freeze_default);
	ck_assert_uint_eq(a->writer_freeze_max, b->writer_freeze_max);
	ck_assert_uint_eq(a->writer_event_timeout, b->writer_event_timeout);
	ck_assert_uint_eq(a->set_idle_timeout, b->set_idle_timeout);
	ck_assert_uint_eq(a->max_shadow_copies, b->max_shadow_copies);
	ck_assert_uint_eq(a->writers_per_connection, b->writers_per_connection);
	ck_assert_uint_eq(a->writers_per_uid, b->writers_per_uid);
	ck_assert_uint_eq(a->sets_per_uid, b->sets_per_uid);
	ck_assert_int_eq(a->parallel_freeze, b->parallel_freeze);
	ck_assert_str_eq(a->lvm_binary, b->lvm_binary);
	ck_assert_str_eq(strempty(a->lvm_config), strempty(b->lvm_config));
}

/* text must fail with -EINVAL and exactly this message; the Config passed in stays as it was. */
static void assert_error(const char *text, const char *message)
{
	_cleanup_(config_done) Config c = { 0 }, d = { 0 };
	_cleanup_free_ char *error = NULL;

	ck_assert_int_eq(config_init_defaults(&c), 0);
	ck_assert_int_eq(config_init_defaults(&d), 0);
	ck_assert_int_eq(config_load_string(text, "vssd.conf", &c, &error), -EINVAL);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, message);
	assert_config_eq(&c, &d);
}

START_TEST(defaults)
{
	_cleanup_(config_done) Config c = { 0 }, d = { 0 };

	ck_assert_int_eq(config_init_defaults(&c), 0);
	ck_assert_str_eq(c.storage_dir, "/var/lib/vssd/storage");
	ck_assert_uint_eq(c.storage_default_percent, 10);
	ck_assert_uint_eq(c.storage_min_bytes, 320ULL << 20);
	ck_assert_uint_eq(c.storage_initial_bytes, 64ULL << 20);
	ck_assert_uint_eq(c.storage_grow_bytes, 64ULL << 20);
	ck_assert_uint_eq(c.storage_warn_percent, 80);
	ck_assert_uint_eq(c.chunk_kib, 16);
	ck_assert_uint_eq(c.hold_timeout, 10 * USEC_PER_SEC);
	ck_assert_uint_eq(c.flush_timeout, 10 * USEC_PER_SEC);
	ck_assert_uint_eq(c.writer_freeze_default, 60 * USEC_PER_SEC);
	ck_assert_uint_eq(c.writer_freeze_max, 60 * USEC_PER_SEC);
	ck_assert_uint_eq(c.writer_event_timeout, 60 * USEC_PER_SEC);
	ck_assert_uint_eq(c.max_shadow_copies, 64);
	ck_assert_uint_eq(c.writers_per_connection, 16);
	ck_assert_uint_eq(c.writers_per_uid, 256);
	ck_assert_uint_eq(c.sets_per_uid, 16);
	ck_assert(c.parallel_freeze);

	/* an empty file and one with comments only are all defaults */
	ck_assert_int_eq(config_load_string("", "vssd.conf", &d, NULL), 0);
	assert_config_eq(&c, &d);
	ck_assert_int_eq(config_load_string("# nothing\n\n; here\n[storage]\n", "x", &d, NULL), 0);
	assert_config_eq(&c, &d);
	config_done(&c);
	config_done(&c); /* idempotent */
}
END_TEST

START_TEST(every_key_parsed)
{
	static const char text[] = "\xef\xbb\xbf"
				   "# every key, none at its default\n"
				   "[storage]\n"
				   "directory = /srv/vssd storage\n"
				   "  default-percent = 20%\n" /* indented: not a continuation */
				   "\tminimum = 1G\n"
				   "initial=128M\n"
				   "grow-step = 32MiB ; an inline comment\n"
				   "warning-percent = 95\r\n"
				   "[snapshot]\n"
				   "chunk-size = 64K\n"
				   "[timeouts]\n"
				   "hold-ms = 5000\n"
				   "flush-ms = 3000\n"
				   "writer-freeze-ms = 20000\n"
				   "writer-freeze-max-ms = 120000\n"
				   "writer-event-ms = 90000\n"
				   "set-idle-ms = 2000\n"
				   "[limits]\n"
				   "max-shadow-copies = 512\n"
				   "writers-per-connection = 4\n"
				   "sets-per-uid = 1\n"
				   "[commit]\n"
				   "freeze = lockfs\n"
				   "[timeouts] ; a section may come back\n";
	_cleanup_(config_done) Config c = { 0 };
	_cleanup_free_ char *error = NULL;

	ck_assert_int_eq(config_load_string(text, "vssd.conf", &c, &error), 0);
	ck_assert_ptr_null(error);
	ck_assert_str_eq(c.storage_dir, "/srv/vssd storage");
	ck_assert_uint_eq(c.storage_default_percent, 20);
	ck_assert_uint_eq(c.storage_min_bytes, 1ULL << 30);
	ck_assert_uint_eq(c.storage_initial_bytes, 128ULL << 20);
	ck_assert_uint_eq(c.storage_grow_bytes, 32ULL << 20);
	ck_assert_uint_eq(c.storage_warn_percent, 95);
	ck_assert_uint_eq(c.chunk_kib, 64);
	ck_assert_uint_eq(c.hold_timeout, 5 * USEC_PER_SEC);
	ck_assert_uint_eq(c.flush_timeout, 3 * USEC_PER_SEC);
	ck_assert_uint_eq(c.writer_freeze_default, 20 * USEC_PER_SEC);
	ck_assert_uint_eq(c.writer_freeze_max, 120 * USEC_PER_SEC);
	ck_assert_uint_eq(c.writer_event_timeout, 90 * USEC_PER_SEC);
	ck_assert_uint_eq(c.set_idle_timeout, 2 * USEC_PER_SEC);
	ck_assert_uint_eq(c.max_shadow_copies, 512);
	ck_assert_uint_eq(c.writers_per_connection, 4);
	ck_assert_uint_eq(c.sets_per_uid, 1);
	ck_assert(!c.parallel_freeze);
}
END_TEST

/* The example, with every "#key = value" line uncommented, sets each key once, to its default. */
START_TEST(example_shows_every_key_with_its_default)
{
	_cleanup_(config_done) Config c = { 0 }, d = { 0 };
	_cleanup_fclose_ FILE *f = fopen(EXAMPLE, "re");
	_cleanup_free_ char *text = NULL, *line = NULL, *error = NULL;
	size_t text_size = 0, line_size = 0, n_keys = 0;
	FILE *out;

	ck_assert_ptr_nonnull(f);
	out = open_memstream(&text, &text_size);
	ck_assert_ptr_nonnull(out);
	while (getline(&line, &line_size, f) > 0) {
		const char *key = line[0] == '#' ? line + 1 : NULL;
		size_t n = key ? strcspn(key, " =") : 0;

		if (n > 0 && startswith(key + n, " = ")) {
			ck_assert_uint_lt(n_keys, ELEMENTSOF(all_keys));
			ck_assert_int_eq(strncmp(key, all_keys[n_keys], n), 0);
			ck_assert_uint_eq(strlen(all_keys[n_keys]), n);
			n_keys++;
			fputs(key, out);
		} else
			fputs(line, out);
	}
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_uint_eq(n_keys, ELEMENTSOF(all_keys));

	ck_assert_int_eq(config_load_string(text, EXAMPLE, &c, &error), 0);
	ck_assert_int_eq(config_init_defaults(&d), 0);
	assert_config_eq(&c, &d);
	/* and the file as shipped is valid too */
	ck_assert_int_eq(config_load(EXAMPLE, &c, &error), 0);
	assert_config_eq(&c, &d);
}
END_TEST

START_TEST(lvm_keys)
{
	_cleanup_(config_done) Config c = { 0 };
	_cleanup_free_ char *error = NULL;

	ck_assert_int_eq(config_load_string("[lvm]\nbinary = /usr/sbin/lvm\nconfig = "
	                                    "activation{udev_sync=0} devices{filter=[\"a|.*|\"]}\n",
	                                    "vssd.conf", &c, &error),
	                 0);
	ck_assert_str_eq(c.lvm_binary, "/usr/sbin/lvm");
	ck_assert_str_eq(c.lvm_config, "activation{udev_sync=0} devices{filter=[\"a|.*|\"]}");
	assert_error(
		"[lvm]\nbinary = lvm\n",
		"vssd.conf:2: binary = \"lvm\" is not a clean absolute path of a program (such "
		"as /sbin/lvm)");
	assert_error("[lvm]\nbinary = /sbin/\n",
	             "vssd.conf:2: binary = \"/sbin/\" is not a clean absolute path of a program "
	             "(such as /sbin/lvm)");
}
END_TEST

START_TEST(error_unknown_section)
{
	assert_error("[storage]\n\n[snapshots]\n",
	             "vssd.conf:3: unknown section [snapshots]; known sections: [storage], "
	             "[snapshot], [timeouts], [limits], [commit], [lvm]");
	assert_error("hold-ms = 1000\n",
	             "vssd.conf:1: key \"hold-ms\" comes before any section; known sections: "
	             "[storage], [snapshot], [timeouts], [limits], [commit], [lvm]");
	assert_error("[timeouts\nhold-ms = 1000\n",
	             "vssd.conf:1: missing \"]\" after the section name");
	assert_error("[timeouts] hold-ms = 1000\n",
	             "vssd.conf:1: unexpected text after \"[timeouts]\"");
}
END_TEST

START_TEST(error_unknown_key)
{
	assert_error(
		"# timeouts\n[timeouts]\nhold-ms = 1000\n\n\n\nhold-timeout = 5\n",
		"vssd.conf:7: unknown key \"hold-timeout\" in [timeouts]; known keys: hold-ms, "
		"flush-ms, writer-freeze-ms, writer-freeze-max-ms, writer-event-ms, set-idle-ms");
	assert_error("[commit]\nHold-ms = 1\n",
	             "vssd.conf:2: unknown key \"Hold-ms\" in [commit]; known keys: freeze");
	assert_error("[commit]\n= parallel\n", "vssd.conf:2: missing key name before \"=\"");
}
END_TEST

START_TEST(error_duplicate_key)
{
	assert_error(
		"[limits]\nsets-per-uid = 2\n[storage]\n[limits]\nsets-per-uid = 2\n",
		"vssd.conf:5: duplicate key \"sets-per-uid\" in [limits] (first set on line 2)");
}
END_TEST

START_TEST(error_syntax)
{
	assert_error("[storage]\ndirectory\n",
	             "vssd.conf:2: expected \"[section]\", \"key = value\" or a comment");
	assert_error("[storage]\ndirectory = /a\x01\n",
	             "vssd.conf:2: control character 0x01; only text is allowed");
	assert_error("[storage]\ndirectory =\n", "vssd.conf:2: directory has no value");
}
END_TEST

START_TEST(error_line_too_long)
{
	char text[512];

	snprintf(text, sizeof(text), "[storage]\ndirectory = /%0*d\n", 250, 0);
	assert_error(text, "vssd.conf:2: line longer than 197 characters");
}
END_TEST

START_TEST(error_bad_values)
{
	static const struct {
		const char *text, *message;
	} cases[] = {
		{ "[storage]\nminimum = 12X\n",
		  "vssd.conf:2: minimum = \"12X\" is not a size: a whole number of bytes with an "
		  "optional K, M, G or T suffix (powers of 1024)" },
		{ "[storage]\nminimum = 1.5G\n",
		  "vssd.conf:2: minimum = \"1.5G\" is not a size: a whole number of bytes with an "
		  "optional K, M, G or T suffix (powers of 1024)" },
		{ "[storage]\nminimum = 512K\n",
		  "vssd.conf:2: minimum = 512K is out of range: allowed 1.0M..64T" },
		{ "[storage]\ngrow-step = 99999999999999999999T\n",
		  "vssd.conf:2: grow-step = 99999999999999999999T is out of range: allowed "
		  "1.0M..64T" },
		{ "[storage]\ninitial = 18446744073709551615\n",
		  "vssd.conf:2: initial = 18446744073709551615 is out of range: allowed "
		  "1.0M..64T" },
		{ "[storage]\nminimum = 9223372036854775808\n",
		  "vssd.conf:2: minimum = 9223372036854775808 is out of range: allowed 1.0M..64T" },
		{ "[storage]\ndefault-percent = 101%\n",
		  "vssd.conf:2: default-percent = 101% is out of range: allowed 1..100" },
		{ "[storage]\nwarning-percent = 0\n",
		  "vssd.conf:2: warning-percent = 0 is out of range: allowed 1..100" },
		{ "[storage]\nwarning-percent = 8O\n",
		  "vssd.conf:2: warning-percent = \"8O\" is not a whole percentage such as 10 or "
		  "10%" },
		{ "[timeouts]\nhold-ms = 500\n",
		  "vssd.conf:2: hold-ms = 500 is out of range: allowed 1000..60000" },
		{ "[timeouts]\nhold-ms = 10s\n",
		  "vssd.conf:2: hold-ms = \"10s\" is not a whole number of milliseconds (durations "
		  "are plain milliseconds: 10 s is 10000)" },
		{ "[timeouts]\nflush-ms = 0x100\n",
		  "vssd.conf:2: flush-ms = \"0x100\" is not a whole number of milliseconds "
		  "(durations are plain milliseconds: 10 s is 10000)" },
		{ "[timeouts]\nwriter-event-ms = 18446744073709551616\n",
		  "vssd.conf:2: writer-event-ms = 18446744073709551616 is out of range: allowed "
		  "1000..3600000" },
		{ "[limits]\nmax-shadow-copies = -1\n",
		  "vssd.conf:2: max-shadow-copies = -1: must not be negative" },
		{ "[limits]\nmax-shadow-copies = +1\n",
		  "vssd.conf:2: max-shadow-copies = \"+1\" is not a whole number" },
		{ "[limits]\nmax-shadow-copies = 513\n",
		  "vssd.conf:2: max-shadow-copies = 513 is out of range: allowed 1..512" },
		{ "[limits]\nwriters-per-connection = 17\n",
		  "vssd.conf:2: writers-per-connection = 17 is out of range: allowed 1..16" },
		{ "[snapshot]\nchunk-size = 24K\n",
		  "vssd.conf:2: chunk-size = 24K is not a power of two: use 4K, 8K, 16K, 32K, 64K, "
		  "128K, 256K or 512K" },
		{ "[snapshot]\nchunk-size = 1M\n",
		  "vssd.conf:2: chunk-size = 1M is out of range: allowed 4.0K..512K" },
		{ "[commit]\nfreeze = fast\n",
		  "vssd.conf:2: freeze = \"fast\": use \"parallel\" or \"lockfs\"" },
		{ "[commit]\nfreeze = parallel # comments are whole lines\n",
		  "vssd.conf:2: freeze = \"parallel # comments are whole lines\": use \"parallel\" "
		  "or \"lockfs\"" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		assert_error(cases[i].text, cases[i].message);
}
END_TEST

START_TEST(error_directory)
{
	assert_error("[storage]\ndirectory = var/lib/vssd\n",
	             "vssd.conf:2: directory = \"var/lib/vssd\" is relative; use an absolute path "
	             "such as /var/lib/vssd/storage");
	assert_error(
		"[storage]\ndirectory = /var/lib/../tmp\n",
		"vssd.conf:2: directory = \"/var/lib/../tmp\" is not a clean absolute path (no "
		"\"//\", \"/./\" or \"/../\", at most 4095 bytes)");
}
END_TEST

START_TEST(error_cross_field)
{
	/* reported at the later of the two lines; a key left at its default has no line */
	assert_error("[timeouts]\nwriter-freeze-max-ms = 30000\n",
	             "vssd.conf:2: writer-freeze-ms (60000) is larger than writer-freeze-max-ms "
	             "(30000)");
	assert_error("[timeouts]\nwriter-freeze-ms = 90000\n\nwriter-freeze-max-ms = 80000\n",
	             "vssd.conf:4: writer-freeze-ms (90000) is larger than writer-freeze-max-ms "
	             "(80000)");
	assert_error(
		"[storage]\nminimum = 32M\n",
		"vssd.conf:2: initial (64M) is larger than minimum (32M): the first allocation "
		"must fit in the smallest storage of a volume");
	assert_error("[storage]\ninitial = 10000000\n",
	             "vssd.conf:2: initial (10000000 bytes) is not a multiple of chunk-size (16K): "
	             "COW files grow by whole chunks");
	assert_error(
		"[storage]\ngrow-step = 1280K\n[snapshot]\nchunk-size = 512K\n[storage]\n",
		"vssd.conf:4: grow-step (1310720 bytes) is not a multiple of chunk-size (512K): "
		"COW files grow by whole chunks");
	/* the equal case is fine */
	{
		_cleanup_(config_done) Config c = { 0 };

		ck_assert_int_eq(config_load_string("[storage]\nminimum = 64M\n", "x", &c, NULL),
		                 0);
		ck_assert_uint_eq(c.storage_min_bytes, 64ULL << 20);
	}
}
END_TEST

START_TEST(load_file)
{
	char dir[] = "/tmp/test-config-XXXXXX", path[64];
	_cleanup_(config_done) Config c = { 0 };
	_cleanup_free_ char *error = NULL, *expected = NULL;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vssd.conf", dir);

	ck_assert_int_eq(config_load(path, &c, &error), -ENOENT);
	ck_assert_ptr_null(c.storage_dir); /* untouched */
	ck_assert_int_gt(asprintf(&expected, "%s: No such file or directory", path), 0);
	ck_assert_str_eq(error, expected);
	free(TAKE_PTR(error));
	free(TAKE_PTR(expected));

	ck_assert_int_eq(config_load(dir, &c, &error), -EINVAL);
	ck_assert_int_gt(asprintf(&expected, "%s: not a regular file", dir), 0);
	ck_assert_str_eq(error, expected);
	free(TAKE_PTR(error));
	free(TAKE_PTR(expected));

	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs("[limits]\nsets-per-uid = 3\n\n[limits]\nsets-per-uid = 4\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(config_load(path, &c, &error), -EINVAL);
	ck_assert_int_gt(asprintf(&expected,
	                          "%s:5: duplicate key \"sets-per-uid\" in [limits] (first set on "
	                          "line 2)",
	                          path),
	                 0);
	ck_assert_str_eq(error, expected);

	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs("[limits]\nsets-per-uid = 3\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(config_load(path, &c, &error), 0);
	ck_assert_uint_eq(c.sets_per_uid, 3);
	ck_assert_str_eq(c.storage_dir, "/var/lib/vssd/storage");
	/* loading again replaces the previous content without leaking it */
	ck_assert_int_eq(config_load(path, &c, NULL), 0);

	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("config",
	TEST(defaults)
	TEST(every_key_parsed)
	TEST(example_shows_every_key_with_its_default)
	TEST(lvm_keys)
	TEST(error_unknown_section)
	TEST(error_unknown_key)
	TEST(error_duplicate_key)
	TEST(error_syntax)
	TEST(error_line_too_long)
	TEST(error_bad_values)
	TEST(error_directory)
	TEST(error_cross_field)
	TEST(load_file))
/* clang-format on */
