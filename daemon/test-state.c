/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-state.c - state.json: round trip, atomic save, every kind of corruption, quarantine */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "common/vssd-limits.h"
#include "daemon/state.h"
#include "tests/lib/check-main.h"

#define SET_A  "6f1c2d3e-0000-4000-8000-00000000000a"
#define SET_B  "6f1c2d3e-0000-4000-8000-00000000000b"
#define SNAP_1 "0d5e7f11-0000-4000-8000-000000000001"
#define SNAP_2 "0d5e7f12-0000-4000-8000-000000000002"
#define SNAP_3 "0d5e7f13-0000-4000-8000-000000000003"
#define TIME   1700000000123456ULL

/* A private directory under /tmp with state.json in it. */
typedef struct T {
	char dir[32];
	char path[64];
} T;

static void t_init(T *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/test-state-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/state.json", t->dir);
}

/* Removes the directory and everything in it (files, or an empty directory). */
static void t_done(T *t)
{
	DIR *d = opendir(t->dir);
	struct dirent *de;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			ck_assert_int_eq(unlinkat(dirfd(d), de->d_name,
			                          de->d_type == DT_DIR ? AT_REMOVEDIR : 0),
			                 0);
	closedir(d);
	ck_assert_int_eq(rmdir(t->dir), 0);
}

/* Every name in the directory (hidden ones too), sorted, joined by spaces. */
static char *t_list(T *t)
{
	struct dirent **names;
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	int count = scandir(t->dir, &names, NULL, alphasort);
	const char *sep = "";

	ck_assert_int_ge(count, 0);
	for (int i = 0; i < count; i++) {
		if (!streq(names[i]->d_name, ".") && !streq(names[i]->d_name, "..")) {
			fprintf(f, "%s%s", sep, names[i]->d_name);
			sep = " ";
		}
		free(names[i]);
	}
	free(names);
	ck_assert_int_eq(fclose(f), 0);
	return s;
}

static void write_text(const char *path, const char *text, size_t size)
{
	FILE *f = fopen(path, "we");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, size, f), size);
	ck_assert_int_eq(fclose(f), 0);
}

static char *read_text(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char *s = NULL;
	size_t n = 0;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(getdelim(&s, &n, 0, f), 0);
	return s;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	ck_assert_ptr_nonnull(p);
	return p;
}

static VssId id(const char *s)
{
	VssId v;

	ck_assert_int_eq(vssid_from_string(s, &v), 0);
	return v;
}

/* Sets a member of a snapshot's provider object (NULL value: removes it) */
static void pd_set_string(StateSnapshot *snap, const char *key, const char *value)
{
	ck_assert_int_eq(
		json_object_object_add(snap->provider_data, key, json_object_new_string(value)), 0);
}

static void pd_set_u64(StateSnapshot *snap, const char *key, uint64_t value)
{
	if (value == 0) {
		json_object_object_del(snap->provider_data, key);
		return;
	}
	ck_assert_int_eq(
		json_object_object_add(snap->provider_data, key, json_object_new_uint64(value)), 0);
}

static void add_snapshot(StateSet *set, const char *snap_id, const char *volume, bool persistent,
                         const char *exposed)
{
	char buf[256];
	StateSnapshot *snap;

	set->snapshots = reallocarray(set->snapshots, set->n_snapshots + 1, sizeof(StateSnapshot));
	ck_assert_ptr_nonnull(set->snapshots);
	snap = &set->snapshots[set->n_snapshots++];
	*snap = (StateSnapshot){ .id = id(snap_id),
		                 .sectors = 131072,
		                 .persistent = persistent,
		                 .creation_time = TIME,
		                 .state = xstrdup("created"),
		                 .exposed_path = exposed ? xstrdup(exposed) : NULL };
	snprintf(buf, sizeof(buf), "/dev/mapper/%s", volume);
	snap->volume = xstrdup(buf);
	snap->volume_name = xstrdup(volume);
	snap->provider = xstrdup("dm-snapshot");
	snap->provider_data = json_object_new_object();
	ck_assert_ptr_nonnull(snap->provider_data);
	snprintf(buf, sizeof(buf), "vssd-%.8s-%s", snap_id, volume);
	pd_set_string(snap, "snap_name", buf);
	snprintf(buf, sizeof(buf), "/var/lib/vssd/storage/vssd-%s-%.8s.cow", volume, snap_id);
	pd_set_string(snap, "cow_path", buf);
	pd_set_u64(snap, "cow_bytes", 64ULL << 20);
	pd_set_u64(snap, "chunk_sectors", 32);
}

/* Two sets (three snapshots, one exposed), two wrapped volumes, two storage entries. */
static void build_state(State *s)
{
	StateSet a = { .id = id(SET_A),
		       .context = xstrdup("backup"),
		       .attributes = 0,
		       .backup_type = xstrdup("full"),
		       .description = xstrdup("nightly"),
		       .state = xstrdup("completed"),
		       .creation_time = TIME };
	StateSet b = { .id = id(SET_B),
		       .context = xstrdup("client-accessible"),
		       .attributes = 0x9,
		       .backup_type = xstrdup("copy"),
		       .description = xstrdup(""),
		       .state = xstrdup("created"),
		       .creation_time = TIME + 1 };
	StateVolume v1 = { xstrdup("vssd-sdb"), xstrdup("/dev/disk/by-id/ata-DISK_1"), 2097152 };
	StateVolume v2 = { xstrdup("vssd-sdc"), xstrdup("/dev/sdc"), 1 };
	StateStorage st1 = { xstrdup("/dev/mapper/data"), xstrdup("/srv/vssd"), 0 };
	StateStorage st2 = { xstrdup("/dev/mapper/logs"), xstrdup("/srv/vssd 2"), 1ULL << 30 };

	*s = STATE_NULL;
	add_snapshot(&a, SNAP_1, "data", false, NULL);
	add_snapshot(&a, SNAP_2, "logs", false, NULL);
	add_snapshot(&b, SNAP_3, "data", true, "/mnt/snap shot");
	pd_set_u64(&b.snapshots[0], "chunk_sectors", 1024);
	pd_set_u64(&b.snapshots[0], "cow_dev", 0xfe01);
	pd_set_u64(&b.snapshots[0], "cow_ino", 1234567);
	free(b.snapshots[0].state);
	b.snapshots[0].state = xstrdup("merging");
	ck_assert_int_eq(state_add_set(s, &a), 0);
	ck_assert_int_eq(state_add_set(s, &b), 0);
	ck_assert_int_eq(state_add_volume(s, &v1), 0);
	ck_assert_int_eq(state_add_volume(s, &v2), 0);
	ck_assert_int_eq(state_add_storage(s, &st1), 0);
	ck_assert_int_eq(state_add_storage(s, &st2), 0);
	ck_assert_ptr_null(a.context); /* moved in */
}

static void assert_snapshot_eq(const StateSnapshot *a, const StateSnapshot *b)
{
	ck_assert(vssid_equal(&a->id, &b->id));
	ck_assert(vssid_equal(&a->set_id, &b->set_id));
	ck_assert_str_eq(a->volume, b->volume);
	ck_assert_str_eq(a->volume_name, b->volume_name);
	ck_assert_str_eq(a->provider, b->provider);
	ck_assert_str_eq(state_provider_string(a, "snap_name"),
	                 state_provider_string(b, "snap_name"));
	ck_assert_str_eq(state_provider_string(a, "cow_path"),
	                 state_provider_string(b, "cow_path"));
	ck_assert_uint_eq(a->sectors, b->sectors);
	ck_assert_uint_eq(state_provider_u64(a, "cow_bytes"), state_provider_u64(b, "cow_bytes"));
	ck_assert_uint_eq(state_provider_u64(a, "chunk_sectors"),
	                  state_provider_u64(b, "chunk_sectors"));
	ck_assert_int_eq(a->persistent, b->persistent);
	ck_assert_uint_eq(a->creation_time, b->creation_time);
	ck_assert_str_eq(a->state, b->state);
	ck_assert_pstr_eq(a->exposed_path, b->exposed_path);
	ck_assert_uint_eq(state_provider_u64(a, "cow_dev"), state_provider_u64(b, "cow_dev"));
	ck_assert_uint_eq(state_provider_u64(a, "cow_ino"), state_provider_u64(b, "cow_ino"));
	/* and nothing else in the provider's object */
	ck_assert(json_object_equal(a->provider_data, b->provider_data));
}

static void assert_state_eq(const State *a, const State *b)
{
	ck_assert_uint_eq(a->version, b->version);
	ck_assert_uint_eq(a->n_sets, b->n_sets);
	for (size_t i = 0; i < a->n_sets; i++) {
		const StateSet *x = &a->sets[i], *y = &b->sets[i];

		ck_assert(vssid_equal(&x->id, &y->id));
		ck_assert_str_eq(x->context, y->context);
		ck_assert_uint_eq(x->attributes, y->attributes);
		ck_assert_str_eq(x->backup_type, y->backup_type);
		ck_assert_str_eq(x->description, y->description);
		ck_assert_str_eq(x->state, y->state);
		ck_assert_uint_eq(x->creation_time, y->creation_time);
		ck_assert_uint_eq(x->n_snapshots, y->n_snapshots);
		for (size_t j = 0; j < x->n_snapshots; j++)
			assert_snapshot_eq(&x->snapshots[j], &y->snapshots[j]);
	}
	ck_assert_uint_eq(a->n_volumes, b->n_volumes);
	for (size_t i = 0; i < a->n_volumes; i++) {
		ck_assert_str_eq(a->volumes[i].name, b->volumes[i].name);
		ck_assert_str_eq(a->volumes[i].device, b->volumes[i].device);
		ck_assert_uint_eq(a->volumes[i].sectors, b->volumes[i].sectors);
	}
	ck_assert_uint_eq(a->n_storage, b->n_storage);
	for (size_t i = 0; i < a->n_storage; i++) {
		ck_assert_str_eq(a->storage[i].volume, b->storage[i].volume);
		ck_assert_str_eq(a->storage[i].location, b->storage[i].location);
		ck_assert_uint_eq(a->storage[i].max_bytes, b->storage[i].max_bytes);
	}
}

/* Loading the file fails with -EBADMSG and "<path><suffix>"; nothing is written to *ret. */
static void assert_corrupt(T *t, const char *suffix)
{
	_cleanup_free_ char *error = NULL, *expected = NULL;
	State s = { .version = 77 };

	ck_assert_int_eq(state_load(t->path, &s, &error), -EBADMSG);
	ck_assert_int_gt(asprintf(&expected, "%s%s", t->path, suffix), 0);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, expected);
	ck_assert_uint_eq(s.version, 77);
}

static void assert_corrupt_text(T *t, const char *text, size_t size, const char *suffix)
{
	write_text(t->path, text, size);
	assert_corrupt(t, suffix);
}

/* The reference state saved, with the first "find" replaced by "replace", must fail so. */
static void assert_corrupt_edit(T *t, const char *find, const char *replace, const char *suffix)
{
	_cleanup_(state_done) State s = STATE_NULL;
	_cleanup_free_ char *text = NULL, *edited = NULL;
	char *at;

	build_state(&s);
	ck_assert_int_eq(state_save(t->path, &s, NULL), 0);
	text = read_text(t->path);
	at = strstr(text, find);
	ck_assert_msg(at, "\"%s\" not in the saved file", find);
	ck_assert_int_gt(
		asprintf(&edited, "%.*s%s%s", (int)(at - text), text, replace, at + strlen(find)),
		0);
	assert_corrupt_text(t, edited, strlen(edited), suffix);
}

START_TEST(round_trip)
{
	_cleanup_(state_done) State s = STATE_NULL, loaded = STATE_NULL, empty = STATE_NULL;
	_cleanup_free_ char *error = NULL, *text = NULL;
	struct stat st;
	T t;

	t_init(&t);
	build_state(&s);
	ck_assert_int_eq(state_save(t.path, &s, &error), 0);
	ck_assert_msg(!error, "%s", error);
	ck_assert_int_eq(state_load(t.path, &loaded, &error), 0);
	assert_state_eq(&s, &loaded);
	ck_assert(vssid_equal(&loaded.sets[1].snapshots[0].set_id, &loaded.sets[1].id));

	ck_assert_int_eq(stat(t.path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	text = read_text(t.path);
	ck_assert_ptr_nonnull(strstr(text, "\"exposed_path\":\"/mnt/snap shot\""));
	ck_assert_ptr_nonnull(strstr(text, "\"exposed_path\":null"));
	ck_assert_ptr_null(strstr(text, "set_id")); /* implied by nesting */
	ck_assert_int_eq(text[strlen(text) - 1], '\n');

	/* the empty state too */
	ck_assert_int_eq(state_save(t.path, &empty, NULL), 0);
	state_done(&loaded);
	ck_assert_int_eq(state_load(t.path, &loaded, NULL), 0);
	assert_state_eq(&empty, &loaded);
	t_done(&t);
}
END_TEST

/* The COW file's identity is written when known; a file without it (older vssd) still loads,
 * its snapshots unverified (0) */
START_TEST(cow_identity_optional)
{
	_cleanup_(state_done) State s = STATE_NULL, loaded = STATE_NULL;
	_cleanup_free_ char *text = NULL, *error = NULL;
	T t;

	t_init(&t);
	build_state(&s);
	ck_assert_int_eq(state_save(t.path, &s, NULL), 0);
	text = read_text(t.path);
	ck_assert_ptr_nonnull(strstr(text, "\"cow_dev\":65025"));
	ck_assert_ptr_nonnull(strstr(text, "\"cow_ino\":1234567"));
	/* only the snapshot that has one */
	ck_assert_ptr_null(strstr(strstr(text, "\"cow_ino\"") + 1, "\"cow_ino\""));
	/* as an older vssd wrote it: no such keys at all */
	pd_set_u64(&s.sets[1].snapshots[0], "cow_dev", 0);
	pd_set_u64(&s.sets[1].snapshots[0], "cow_ino", 0);
	ck_assert_int_eq(state_save(t.path, &s, NULL), 0);
	free(text);
	text = read_text(t.path);
	ck_assert_ptr_null(strstr(text, "cow_ino"));
	ck_assert_int_eq(state_load(t.path, &loaded, &error), 0);
	ck_assert_msg(!error, "%s", error);
	ck_assert_uint_eq(state_provider_u64(&loaded.sets[1].snapshots[0], "cow_ino"), 0);
	ck_assert_uint_eq(state_provider_u64(&loaded.sets[1].snapshots[0], "cow_dev"), 0);
	t_done(&t);
}
END_TEST

/* A set whose shadow copies were not all cut at one instant says so in the file (Instant);
 * the key is absent for one instant, so files written before it load the same */
START_TEST(per_volume_instant_optional)
{
	_cleanup_(state_done) State s = STATE_NULL, loaded = STATE_NULL;
	_cleanup_free_ char *text = NULL, *error = NULL;
	T t;

	t_init(&t);
	build_state(&s);
	s.sets[1].per_volume_instant = 1;
	ck_assert_int_eq(state_save(t.path, &s, NULL), 0);
	text = read_text(t.path);
	ck_assert_ptr_nonnull(strstr(text, "\"per_volume_instant\":1"));
	ck_assert_ptr_null(strstr(strstr(text, "per_volume_instant") + 1, "per_volume_instant"));
	ck_assert_int_eq(state_load(t.path, &loaded, &error), 0);
	ck_assert_msg(!error, "%s", error);
	ck_assert_uint_eq(loaded.sets[0].per_volume_instant, 0);
	ck_assert_uint_eq(loaded.sets[1].per_volume_instant, 1);
	assert_corrupt_edit(&t, "\"state\":\"completed\"",
	                    "\"state\":\"completed\",\"per_volume_instant\":2",
	                    ": sets[0].per_volume_instant: 2 is out of range 0..1");
	t_done(&t);
}
END_TEST

/* A format-1 file as vssd a7d25be wrote it (its state_save() with this file's reference state)
 * loads as the same state in format 2, is written as format 2, and loads again the same. */
#define FORMAT1_FIXTURE "daemon/test-state-format1.json"

START_TEST(format1_migrated)
{
	_cleanup_(state_done) State s = STATE_NULL, loaded = STATE_NULL, again = STATE_NULL;
	_cleanup_free_ char *error = NULL, *text = NULL, *old = NULL, *edited = NULL;
	const char *at;
	T t;

	t_init(&t);
	build_state(&s);
	ck_assert_int_eq(state_load(FORMAT1_FIXTURE, &loaded, &error), 0);
	ck_assert_msg(!error, "%s", error);
	ck_assert_uint_eq(loaded.file_version, 1);
	ck_assert_uint_eq(loaded.version, STATE_VERSION);
	assert_state_eq(&s, &loaded);
	ck_assert_str_eq(loaded.sets[0].snapshots[0].provider, "dm-snapshot");

	/* saved as format 2: every dm-snapshot member inside the provider's object */
	ck_assert_int_eq(state_save(t.path, &loaded, &error), 0);
	text = read_text(t.path);
	ck_assert_ptr_nonnull(strstr(text, "\"version\":2,"));
	ck_assert_ptr_nonnull(strstr(text, "\"provider\":\"dm-snapshot\""));
	at = strstr(text, "\"provider_data\":{");
	ck_assert_ptr_nonnull(at);
	ck_assert_ptr_nonnull(strstr(at, "\"snap_name\":\"vssd-0d5e7f11-data\""));
	ck_assert(strstr(text, "\"snap_name\"") > at); /* not a member of the snapshot itself */
	ck_assert_int_eq(state_load(t.path, &again, &error), 0);
	ck_assert_uint_eq(again.file_version, 2);
	assert_state_eq(&s, &again);

	/* a bad member of a format-1 file is reported where the provider reads it */
	old = read_text(FORMAT1_FIXTURE);
	at = strstr(old, "\"chunk_sectors\":32");
	ck_assert_ptr_nonnull(at);
	ck_assert_int_gt(asprintf(&edited, "%.*s\"chunk_sectors\":33%s", (int)(at - old), old,
	                          at + strlen("\"chunk_sectors\":32")),
	                 0);
	assert_corrupt_text(&t, edited, strlen(edited),
	                    ": sets[0].snapshots[0].provider_data.chunk_sectors: 33 is not a power "
	                    "of two");
	/* and a format-1 snapshot without its COW file is missing it */
	free(edited);
	at = strstr(old, "\"cow_path\":");
	ck_assert_int_gt(asprintf(&edited, "%.*s\"cow_pathy\":%s", (int)(at - old), old,
	                          at + strlen("\"cow_path\":")),
	                 0);
	assert_corrupt_text(&t, edited, strlen(edited),
	                    ": sets[0].snapshots[0]: unknown field \"cow_pathy\"");
	t_done(&t);
}
END_TEST

START_TEST(save_is_atomic)
{
	_cleanup_(state_done) State s = STATE_NULL, loaded = STATE_NULL;
	_cleanup_free_ char *list = NULL, *before = NULL, *after = NULL, *error = NULL;
	_cleanup_free_ char *expected = NULL, *missing = NULL;
	T t;

	t_init(&t);
	write_text(t.path, "old", 3);
	build_state(&s);
	ck_assert_int_eq(state_save(t.path, &s, NULL), 0); /* replaces an existing file */
	list = t_list(&t);
	ck_assert_str_eq(list, "state.json"); /* no temporary file left */
	ck_assert_int_eq(state_load(t.path, &loaded, NULL), 0);
	assert_state_eq(&s, &loaded);

	/* an invalid state is refused and the file is not touched */
	before = read_text(t.path);
	pd_set_string(&s.sets[0].snapshots[1], "cow_path", "relative.cow");
	ck_assert_int_eq(state_save(t.path, &s, &error), -EINVAL);
	ck_assert_int_gt(asprintf(&expected,
	                          "%s: sets[0].snapshots[1].provider_data.cow_path: "
	                          "\"relative.cow\" is not a "
	                          "clean absolute path",
	                          t.path),
	                 0);
	ck_assert_str_eq(error, expected);
	after = read_text(t.path);
	ck_assert_str_eq(before, after);
	free(TAKE_PTR(list));
	list = t_list(&t);
	ck_assert_str_eq(list, "state.json");

	/* a directory that does not exist */
	free(TAKE_PTR(error));
	free(TAKE_PTR(expected));
	ck_assert_int_gt(asprintf(&missing, "%s/none/state.json", t.dir), 0);
	ck_assert_int_eq(state_save(missing, &loaded, &error), -ENOENT);
	ck_assert_int_gt(
		asprintf(&expected, "%s: cannot write: No such file or directory", missing), 0);
	ck_assert_str_eq(error, expected);
	t_done(&t);
}
END_TEST

START_TEST(load_missing_or_not_a_file)
{
	_cleanup_free_ char *error = NULL, *expected = NULL;
	State s = STATE_NULL;
	T t;

	t_init(&t);
	ck_assert_int_eq(state_load(t.path, &s, &error), -ENOENT);
	ck_assert_int_gt(asprintf(&expected, "%s: No such file or directory", t.path), 0);
	ck_assert_str_eq(error, expected);
	ck_assert_int_eq(mkdir(t.path, 0700), 0);
	assert_corrupt(&t, ": not a regular file");
	t_done(&t);
}
END_TEST

START_TEST(corrupt_syntax)
{
	_cleanup_(state_done) State s = STATE_NULL;
	_cleanup_free_ char *text = NULL;
	size_t cut = 0;
	T t;

	t_init(&t);
	assert_corrupt_text(&t, "", 0, ": empty file");
	assert_corrupt_text(&t, "\n  \n", 4, ": empty file");
	assert_corrupt_text(&t, "hello", 5, ":1:1: unexpected character");
	assert_corrupt_text(&t, "{\n\0}", 4, ":2:1: NUL byte; the file is not text");
	assert_corrupt_text(&t, "{\"version\":1} x", 15, ":1:15: unexpected character");
	assert_corrupt_text(&t, "{\"version\" 1}", 13,
	                    ":1:12: object property name separator ':' expected");
	assert_corrupt_edit(&t, "\"nightly\"", "\"night\xff\"", ":9:27: invalid utf-8 string");

	/* truncated after ten whole lines */
	build_state(&s);
	ck_assert_int_eq(state_save(t.path, &s, NULL), 0);
	text = read_text(t.path);
	for (int line = 0; line < 10; line++)
		cut += strcspn(text + cut, "\n") + 1;
	assert_corrupt_text(&t, text, cut,
	                    ":11:1: truncated: the file ends inside the JSON document");
	t_done(&t);
}
END_TEST

START_TEST(corrupt_structure)
{
	T t;

	t_init(&t);
	assert_corrupt_text(&t, "[]", 2, ": expected a JSON object at the top level, found array");
	assert_corrupt_text(&t, "null", 4, ": expected a JSON object at the top level, found null");
	assert_corrupt_text(&t, "{}", 2, ": version: missing");
	assert_corrupt_text(&t, "{\"version\":\"1\"}", 15,
	                    ": version: expected an integer, found string");
	assert_corrupt_text(&t, "{\"version\":3,\"sets\":{}}", 23,
	                    ": version: 3 is not supported; this vssd reads versions 1 to 2");
	assert_corrupt_text(&t, "{\"version\":0,\"sets\":{}}", 23,
	                    ": version: 0 is not supported; this vssd reads versions 1 to 2");
	assert_corrupt_text(&t, "{\"version\":1,\"sets\":{},\"volumes\":[],\"storage\":[]}", 49,
	                    ": sets: expected an array, found object");
	assert_corrupt_text(&t, "{\"version\":1,\"sets\":[],\"volumes\":[]}", 36,
	                    ": storage: missing");
	assert_corrupt_text(&t, "{\"version\":1,\"sets\":[7],\"volumes\":[],\"storage\":[]}", 50,
	                    ": sets[0]: expected an object, found int");
	assert_corrupt_edit(&t, "\"sets\":", "\"extra\":1,\"sets\":", ": unknown field \"extra\"");
	assert_corrupt_edit(&t, "\"version\":2,", "\"version\":2,\"version\":2,",
	                    ":2:15: duplicate field \"version\"");
	t_done(&t);
}
END_TEST

START_TEST(corrupt_fields)
{
	static const struct {
		const char *find, *replace, *suffix;
	} cases[] = {
		{ "\"attributes\":0", "\"attributes\":\"0\"",
		  ": sets[0].attributes: expected an integer, found string" },
		{ "\"attributes\":0", "\"attributes\":4294967296",
		  ": sets[0].attributes: out of range (at most 4294967295)" },
		{ "\"persistent\":false", "\"persistent\":0",
		  ": sets[0].snapshots[0].persistent: expected true or false, found int" },
		{ "\"sectors\":131072", "\"sectors\":131072.0",
		  ": sets[0].snapshots[0].sectors: expected an integer, found double" },
		{ "\"sectors\":131072", "\"sectors\":-1",
		  ": sets[0].snapshots[0].sectors: must not be negative" },
		{ "\"sectors\":131072", "\"sectors\":9223372036854775808",
		  ": sets[0].snapshots[0].sectors: out of range (at most 9223372036854775807)" },
		{ "\"sectors\":131072", "\"sectors\":99999999999999999999999",
		  ": sets[0].snapshots[0].sectors: out of range (at most 9223372036854775807)" },
		{ "\"sectors\":131072", "\"sectors\":0",
		  ": sets[0].snapshots[0].sectors: 0 is out of range 1..9223372036854775807" },
		{ "\"chunk_sectors\":32", "\"chunk_sectors\":48",
		  ": sets[0].snapshots[0].provider_data.chunk_sectors: 48 is not a power of two" },
		{ "\"chunk_sectors\":32", "\"chunk_sectors\":2048",
		  ": sets[0].snapshots[0].provider_data.chunk_sectors: 2048 is out of range "
		  "8..1024" },
		{ "\"exposed_path\":null", "\"exposed_path\":false",
		  ": sets[0].snapshots[0].exposed_path: expected a string or null, found boolean" },
		{ "\"backup_type\":\"full\",", "", ": sets[0].backup_type: missing" },
		{ "\"cow_path\"", "\"cow_pathx\"",
		  ": sets[0].snapshots[0].provider_data: unknown field \"cow_pathx\"" },
		{ "\"volume_name\"", "\"volume_namex\"",
		  ": sets[0].snapshots[0]: unknown field \"volume_namex\"" },
		{ "\"provider\":\"dm-snapshot\"", "\"provider\":\"lvm-nope\"",
		  ": sets[0].snapshots[0].provider: unknown provider \"lvm-nope\"" },
		{ "\"snapshots\":[", "\"snapshots\":null,\"x\":[",
		  ": sets[0]: unknown field \"x\"" },
		{ "\"snapshots\":[", "\"snapshots\":\"\",\"y\":[",
		  ": sets[0]: unknown field \"y\"" },
		{ "\"volumes\":[", "\"volumes\":[7,",
		  ": volumes[0]: expected an object, found int" },
		{ "\"device\":\"/dev/sdc\"", "\"device\":\"sdc\"",
		  ": volumes[1].device: \"sdc\" is not a clean absolute path" },
		{ "\"location\":\"/srv/vssd\"", "\"location\":\"/srv/../vssd\"",
		  ": storage[0].location: \"/srv/../vssd\" is not a clean absolute path" },
		/* a storage maximum of 2^64-1 (or 2^63) cannot come back from the file */
		{ "\"max_bytes\":1073741824", "\"max_bytes\":18446744073709551615",
		  ": storage[1].max_bytes: out of range (at most 9223372036854775807)" },
		{ "\"max_bytes\":1073741824", "\"max_bytes\":9223372036854775808",
		  ": storage[1].max_bytes: out of range (at most 9223372036854775807)" },
		{ "\"max_bytes\":1073741824", "\"max_bytes\":-1",
		  ": storage[1].max_bytes: must not be negative" },
	};
	T t;

	t_init(&t);
	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		assert_corrupt_edit(&t, cases[i].find, cases[i].replace, cases[i].suffix);
	t_done(&t);
}
END_TEST

START_TEST(corrupt_values)
{
	static const struct {
		const char *find, *replace, *suffix;
	} cases[] = {
		{ SET_A, "6f1c2d3e-0000-4000-8000-00000000000g",
		  ": sets[0].id: \"6f1c2d3e-0000-4000-8000-00000000000g\" is not a UUID" },
		{ SET_A, "6f1c2d3e000040008000000000000000a",
		  ": sets[0].id: \"6f1c2d3e000040008000000000000000a\" is not a UUID" },
		{ SET_A, "00000000-0000-0000-0000-000000000000",
		  ": sets[0].id: the null UUID is not an id" },
		{ "\"id\":\"" SET_A, "\"id\":\"night\\u0001ly", ": sets[0].id: not a UUID" },
		{ "\"cow_path\":\"/var", "\"cow_path\":\"var",
		  ": sets[0].snapshots[0].provider_data.cow_path: "
		  "\"var/lib/vssd/storage/vssd-data-0d5e7f11.cow\" is "
		  "not a clean absolute path" },
		{ "\"volume_name\":\"data\"", "\"volume_name\":\"da/ta\"",
		  ": sets[0].snapshots[0].volume_name: \"da/ta\" is not a valid device-mapper "
		  "name" },
		{ "\"name\":\"vssd-sdb\"", "\"name\":\"\"",
		  ": volumes[0].name: \"\" is not a valid device-mapper name" },
		{ "\"nightly\"", "\"night\\u0001ly\"",
		  ": sets[0].description: contains a control character" },
		{ "\"nightly\"", "\"night\\u007fly\"",
		  ": sets[0].description: contains a control character" },
		{ "\"nightly\"", "\"night\\u0000ly\"",
		  ": sets[0].description: contains a NUL character" },
		{ "\"context\":\"backup\"", "\"context\":\"bakcup\"",
		  ": sets[0].context: unknown value \"bakcup\"; expected one of: backup, "
		  "file-share-backup, persistent, app-rollback, client-accessible, nas-rollback, "
		  "client-accessible-writers" },
		{ "\"backup_type\":\"full\"", "\"backup_type\":\"Full\"",
		  ": sets[0].backup_type: unknown value \"Full\"; expected one of: full, copy, "
		  "incremental, differential, log" },
		{ "\"state\":\"completed\"", "\"state\":\"done\"",
		  ": sets[0].state: unknown value \"done\"; expected one of: creating, created, "
		  "completed, deleting" },
		{ "\"state\":\"merging\"", "\"state\":\"merged\"",
		  ": sets[1].snapshots[0].state: unknown value \"merged\"; expected one of: "
		  "preparing, created, invalid, merging, deleting" },
	};
	T t;

	t_init(&t);
	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		assert_corrupt_edit(&t, cases[i].find, cases[i].replace, cases[i].suffix);
	t_done(&t);
}
END_TEST

START_TEST(corrupt_duplicates)
{
	static const struct {
		const char *find, *replace, *suffix;
	} cases[] = {
		{ SET_B, SET_A, ": sets[1].id: " SET_A " is also the id of sets[0]" },
		{ SNAP_3, SNAP_1,
		  ": sets[1].snapshots[0].id: " SNAP_1 " is also the id of sets[0].snapshots[0]" },
		{ "\"volume_name\":\"logs\"", "\"volume_name\":\"data\"",
		  ": sets[0].snapshots[1].volume_name: \"data\" is also the volume of "
		  "sets[0].snapshots[0]" },
		{ "vssd-0d5e7f12-logs", "vssd-0d5e7f11-data",
		  ": sets[0].snapshots[1].provider_data.snap_name: \"vssd-0d5e7f11-data\" is also "
		  "the snap_name of sets[0].snapshots[0].provider_data" },
		{ "vssd-logs-0d5e7f12.cow", "vssd-data-0d5e7f11.cow",
		  ": sets[0].snapshots[1].provider_data.cow_path: "
		  "\"/var/lib/vssd/storage/vssd-data-0d5e7f11.cow\" "
		  "is also the cow_path of sets[0].snapshots[0].provider_data" },
		{ "\"exposed_path\":null", "\"exposed_path\":\"/mnt/snap shot\"",
		  ": sets[1].snapshots[0].exposed_path: \"/mnt/snap shot\" is also the "
		  "exposed_path "
		  "of sets[0].snapshots[0]" },
		{ "vssd-sdc", "vssd-sdb",
		  ": volumes[1].name: \"vssd-sdb\" is also the name of volumes[0]" },
		{ "\"volume\":\"/dev/mapper/logs\",\n      \"location\"",
		  "\"volume\":\"/dev/mapper/data\",\n      \"location\"",
		  ": storage[1].volume: \"/dev/mapper/data\" is also the volume of storage[0]" },
		{ "\"sets\":[\n    {", "\"sets\":{\"dup\":1},\"sets\":[\n    {",
		  ":3:20: duplicate field \"sets\"" },
	};
	T t;

	t_init(&t);
	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		assert_corrupt_edit(&t, cases[i].find, cases[i].replace, cases[i].suffix);
	t_done(&t);
}
END_TEST

/* Limits only a program can reach: validated on save as on load. */
START_TEST(validate_limits)
{
	_cleanup_(state_done) State s = STATE_NULL;
	_cleanup_free_ char *error = NULL;
	StateSet set = { 0 };
	char nid[VSSID_STRING_MAX], vol[32], buf[64];
	int r;

	build_state(&s);
	r = state_validate(&s, "state.json", &error);
	ck_assert_msg(r == 0, "%s", error);
	s.sets[0].snapshots[0].set_id = s.sets[1].id;
	ck_assert_int_eq(state_validate(&s, "state.json", &error), -EINVAL);
	ck_assert_str_eq(error, "state.json: sets[0].snapshots[0].set_id: differs from the id of "
	                        "the set that holds it");
	free(TAKE_PTR(error));
	s.sets[0].snapshots[0].set_id = s.sets[0].id;
	/* json-c numbers are int64: a storage maximum of 2^64-1 is not written */
	s.storage[1].max_bytes = UINT64_MAX;
	ck_assert_int_eq(state_validate(&s, "state.json", &error), -EINVAL);
	ck_assert_str_eq(error, "state.json: storage[1].max_bytes: 18446744073709551615 is out of "
	                        "range 0..9223372036854775807");
	free(TAKE_PTR(error));
	s.storage[1].max_bytes = INT64_MAX;
	r = state_validate(&s, "state.json", &error);
	ck_assert_msg(r == 0, "%s", error);
	s.version = 1; /* format 1 is read, never written */
	ck_assert_int_eq(state_validate(&s, "state.json", &error), -EINVAL);
	ck_assert_str_eq(error,
	                 "state.json: version: 1 is not supported; this vssd handles version 2");
	free(TAKE_PTR(error));
	state_done(&s);

	/* 65 volumes in one set */
	set = (StateSet){ .context = xstrdup("backup"),
		          .backup_type = xstrdup("full"),
		          .description = xstrdup(""),
		          .state = xstrdup("created") };
	vssid_generate(&set.id);
	for (int i = 0; i <= VSSD_VOLUMES_PER_SET_MAX; i++) {
		VssId n;

		vssid_generate(&n);
		snprintf(vol, sizeof(vol), "v%d", i);
		add_snapshot(&set, vssid_to_string(&n, nid), vol, false, NULL);
	}
	ck_assert_int_eq(state_add_set(&s, &set), 0);
	ck_assert_int_eq(state_validate(&s, "state.json", NULL), -EINVAL);
	ck_assert_int_eq(state_validate(&s, "state.json", &error), -EINVAL);
	ck_assert_str_eq(error, "state.json: sets[0].snapshots: 65 is out of range 0..64");
	free(TAKE_PTR(error));
	state_done(&s);

	/* 513 snapshots of one volume */
	for (int i = 0; i <= VSSD_SNAPSHOTS_PER_VOLUME_MAX; i++) {
		VssId n;

		set = (StateSet){ .context = xstrdup("backup"),
			          .backup_type = xstrdup("full"),
			          .description = xstrdup(""),
			          .state = xstrdup("created") };
		vssid_generate(&set.id);
		vssid_generate(&n);
		add_snapshot(&set, vssid_to_string(&n, nid), "data", false, NULL);
		/* names and COW paths from the whole id, so that they are unique */
		snprintf(vol, sizeof(vol), "s%d", i);
		pd_set_string(&set.snapshots[0], "snap_name", vol);
		snprintf(buf, sizeof(buf), "/cow/%s", nid);
		pd_set_string(&set.snapshots[0], "cow_path", buf);
		ck_assert_int_eq(state_add_set(&s, &set), 0);
	}
	ck_assert_int_eq(state_validate(&s, "state.json", &error), -EINVAL);
	ck_assert_str_eq(error, "state.json: sets[512].snapshots[0].volume_name: more than 512 "
	                        "snapshots of volume \"data\"");
}
END_TEST

START_TEST(add_find_remove)
{
	_cleanup_(state_done) State s = STATE_NULL;
	StateSet dup = { .id = id(SET_A) }, *set = NULL;
	StateVolume v = { .name = (char *)"vssd-sdb" };
	StateStorage st = { .volume = (char *)"/dev/mapper/data" };
	VssId other;

	build_state(&s);
	ck_assert_ptr_eq(state_find_set(&s, &dup.id), &s.sets[0]);
	ck_assert_int_eq(state_add_set(&s, &dup), -EEXIST);
	ck_assert(vssid_equal(&dup.id, &s.sets[0].id)); /* not moved */
	ck_assert_int_eq(state_add_volume(&s, &v), -EEXIST);
	ck_assert_int_eq(state_add_storage(&s, &st), -EEXIST);
	ck_assert_ptr_eq(state_find_volume(&s, "vssd-sdc"), &s.volumes[1]);
	ck_assert_ptr_eq(state_find_storage(&s, "/dev/mapper/logs"), &s.storage[1]);
	ck_assert_ptr_null(state_find_volume(&s, "nope"));

	/* a new set reusing a snapshot id */
	vssid_generate(&dup.id);
	add_snapshot(&dup, SNAP_3, "other", false, NULL);
	ck_assert_int_eq(state_add_set(&s, &dup), -EEXIST);
	state_set_done(&dup);

	ck_assert_ptr_eq(state_find_snapshot(&s, &(VssId){ 0 }, NULL), NULL);
	other = id(SNAP_2);
	ck_assert_ptr_eq(state_find_snapshot(&s, &other, &set), &s.sets[0].snapshots[1]);
	ck_assert_ptr_eq(set, &s.sets[0]);
	state_remove_snapshot(&s, &other);
	ck_assert_uint_eq(s.sets[0].n_snapshots, 1);
	ck_assert_ptr_null(state_find_snapshot(&s, &other, NULL));
	state_remove_snapshot(&s, &other); /* absent: nothing */

	other = id(SET_A);
	state_remove_set(&s, &other);
	ck_assert_uint_eq(s.n_sets, 1);
	ck_assert_str_eq(s.sets[0].context, "client-accessible");
	state_remove_volume(&s, "vssd-sdb");
	ck_assert_uint_eq(s.n_volumes, 1);
	ck_assert_str_eq(s.volumes[0].name, "vssd-sdc");
	state_remove_storage(&s, "/dev/mapper/logs");
	ck_assert_uint_eq(s.n_storage, 1);
	ck_assert_str_eq(s.storage[0].volume, "/dev/mapper/data");
	ck_assert_int_eq(state_validate(&s, "x", NULL), 0);
}
END_TEST

START_TEST(quarantine)
{
	_cleanup_free_ char *first = NULL, *second = NULL, *text = NULL;
	char stamp[32], taken[128];
	time_t now = time(NULL);
	struct tm tm;
	T t;

	t_init(&t);
	ck_assert_int_eq(state_quarantine(t.path, &first), -ENOENT);
	write_text(t.path, "garbage", 7);
	ck_assert_int_eq(state_quarantine(t.path, &first), 0);
	ck_assert_ptr_nonnull(startswith(first, t.path));
	ck_assert_ptr_nonnull(startswith(first + strlen(t.path), ".corrupt-"));
	ck_assert_uint_eq(strlen(first), strlen(t.path) + strlen(".corrupt-20240101T000000Z"));
	ck_assert_int_eq(first[strlen(first) - 1], 'Z');
	ck_assert_int_eq(access(t.path, F_OK), -1);
	text = read_text(first);
	ck_assert_str_eq(text, "garbage");

	/* an existing quarantined file is never replaced: take this second's and the next name */
	for (int i = 0; i < 2; i++) {
		time_t when = now + i;

		ck_assert_ptr_nonnull(gmtime_r(&when, &tm));
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(taken, sizeof(taken), "%s.corrupt-%s", t.path, stamp);
		if (!streq(taken, first))
			write_text(taken, "taken", 5);
	}
	write_text(t.path, "again", 5);
	ck_assert_int_eq(state_quarantine(t.path, &second), 0);
	ck_assert_int_eq(strcmp(second + strlen(second) - 3, "Z.1"), 0);
	free(text);
	text = read_text(second);
	ck_assert_str_eq(text, "again");
	free(text);
	text = read_text(first);
	ck_assert_str_eq(text, "garbage");
	write_text(t.path, "third", 5);
	ck_assert_int_eq(state_quarantine(t.path, NULL), 0);
	t_done(&t);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("state",
	TEST(round_trip)
	TEST(cow_identity_optional)
	TEST(per_volume_instant_optional)
	TEST(format1_migrated)
	TEST(save_is_atomic)
	TEST(load_missing_or_not_a_file)
	TEST(corrupt_syntax)
	TEST(corrupt_structure)
	TEST(corrupt_fields)
	TEST(corrupt_values)
	TEST(corrupt_duplicates)
	TEST(validate_limits)
	TEST(add_find_remove)
	TEST(quarantine))
/* clang-format on */
