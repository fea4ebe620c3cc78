/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-document.c - the backup document: round trips, and every field checked when read back */
#include "daemon/document.h"
#include "tests/lib/check-main.h"

#define SET  "6f1c2d3e-0a1b-4c5d-8e9f-a0b1c2d3e4f5"
#define SNAP "7a1c2d3e-0a1b-4c5d-8e9f-a0b1c2d3e4f5"
#define WID  "8b1c2d3e-0a1b-4c5d-8e9f-a0b1c2d3e4f5"
#define CID  "9c1c2d3e-0a1b-4c5d-8e9f-a0b1c2d3e4f5"

static const char *kind(const VssErr *e)
{
	return vss_error_info(e->kind)->name;
}

static void sample(BackupDocument *d)
{
	DocSnapshot *s;
	DocWriter *w;
	DocComponent *c;

	*d = (BackupDocument){ .set_id = strdup(SET),
		               .context = strdup("app-rollback"),
		               .backup_type = strdup("incremental"),
		               .creation_time = 1700000000000001ULL };
	s = document_add_snapshot(d);
	ck_assert_ptr_nonnull(s);
	s->id = strdup(SNAP);
	s->volume = strdup("/dev/mapper/a");
	s->device = strdup("/dev/mapper/vssd-a");
	s->provider = strdup("dm-snapshot");
	w = document_add_writer(d);
	ck_assert_ptr_nonnull(w);
	w->instance_id = strdup(WID);
	w->class_id = strdup(CID);
	w->name = strdup("db \"main\"");
	w->instance_name = strdup("");
	w->state = 9;
	w->last_error = strdup("VSS_E_WRITERERROR_RETRYABLE");
	w->failure_message = strdup("vetoed: disk full");
	c = document_writer_add_component(w);
	c->name = strdup("data");
	c->selected = true;
	c->succeeded = DOC_RESULT_SUCCEEDED;
	c->backup_stamp = strdup("lsn 42");
	c->previous_backup_stamp = strdup("lsn 7");
	c->backup_metadata = strdup("{\"x\":1}");
	c = document_writer_add_component(w);
	c->name = strdup("logs");
	c->selected = true;
	c->succeeded = DOC_RESULT_FAILED;
	c->failure_message = strdup("disk 3 gone");
	c = document_writer_add_component(w);
	c->name = strdup("cache");
	ck_assert_int_eq(c->succeeded, DOC_RESULT_UNKNOWN);
}

START_TEST(round_trip_keeps_every_field)
{
	_cleanup_free_ char *text = NULL, *again = NULL;
	BackupDocument d, back = { 0 };
	VssErr err = { 0 };

	sample(&d);
	ck_assert_int_eq(document_to_json(&d, &text), 0);
	ck_assert_ptr_nonnull(strstr(text, "\"format\":\"vssd-backup/1\""));
	ck_assert_msg(document_from_json(text, &back, &err) == 0, "%s", err.message);
	ck_assert_str_eq(back.set_id, SET);
	ck_assert_str_eq(back.context, "app-rollback");
	ck_assert_str_eq(back.backup_type, "incremental");
	ck_assert_uint_eq(back.creation_time, 1700000000000001ULL);
	ck_assert_uint_eq(back.n_snapshots, 1);
	ck_assert_str_eq(back.snapshots[0].id, SNAP);
	ck_assert_str_eq(back.snapshots[0].volume, "/dev/mapper/a");
	ck_assert_str_eq(back.snapshots[0].device, "/dev/mapper/vssd-a");
	ck_assert_str_eq(back.snapshots[0].provider, "dm-snapshot");
	ck_assert_uint_eq(back.n_writers, 1);
	ck_assert_str_eq(back.writers[0].instance_id, WID);
	ck_assert_str_eq(back.writers[0].class_id, CID);
	ck_assert_str_eq(back.writers[0].name, "db \"main\"");
	ck_assert_str_eq(back.writers[0].instance_name, "");
	ck_assert_uint_eq(back.writers[0].state, 9);
	ck_assert_str_eq(back.writers[0].last_error, "VSS_E_WRITERERROR_RETRYABLE");
	ck_assert_str_eq(back.writers[0].failure_message, "vetoed: disk full");
	ck_assert_uint_eq(back.writers[0].n_components, 3);
	ck_assert_str_eq(back.writers[0].components[0].name, "data");
	ck_assert(back.writers[0].components[0].selected);
	ck_assert_int_eq(back.writers[0].components[0].succeeded, DOC_RESULT_SUCCEEDED);
	ck_assert_str_eq(back.writers[0].components[0].backup_stamp, "lsn 42");
	ck_assert_str_eq(back.writers[0].components[0].previous_backup_stamp, "lsn 7");
	ck_assert_str_eq(back.writers[0].components[0].backup_metadata, "{\"x\":1}");
	ck_assert_int_eq(back.writers[0].components[1].succeeded, DOC_RESULT_FAILED);
	ck_assert_ptr_null(back.writers[0].components[1].backup_stamp);
	ck_assert_str_eq(back.writers[0].components[1].failure_message, "disk 3 gone");
	ck_assert_ptr_null(back.writers[0].components[0].failure_message);
	ck_assert(!back.writers[0].components[2].selected);
	ck_assert_int_eq(back.writers[0].components[2].succeeded, DOC_RESULT_UNKNOWN);
	/* and the same text again */
	ck_assert_int_eq(document_to_json(&back, &again), 0);
	ck_assert_str_eq(again, text);
	document_done(&d);
	document_done(&back);
}
END_TEST

START_TEST(an_empty_document_round_trips)
{
	_cleanup_free_ char *text = NULL;
	BackupDocument d = { .set_id = strdup(SET),
		             .context = strdup("backup"),
		             .backup_type = strdup("full") },
		       back = { 0 };

	ck_assert_int_eq(document_to_json(&d, &text), 0);
	ck_assert_int_eq(document_from_json(text, &back, NULL), 0);
	ck_assert_uint_eq(back.n_snapshots + back.n_writers, 0);
	ck_assert_uint_eq(back.creation_time, 0);
	document_done(&d);
	document_done(&back);
}
END_TEST

/* The sample's text with the first from replaced by to must be refused with this message */
static void refused(const char *from, const char *to, const char *want)
{
	_cleanup_free_ char *text = NULL, *bad = NULL;
	BackupDocument d, back = { 0 };
	VssErr err = { 0 };
	const char *at;

	sample(&d);
	ck_assert_int_eq(document_to_json(&d, &text), 0);
	document_done(&d);
	at = strstr(text, from);
	ck_assert_msg(at, "\"%s\" is not in %s", from, text);
	ck_assert_int_ge(asprintf(&bad, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)),
	                 0);
	ck_assert_msg(document_from_json(bad, &back, &err) == -EINVAL, "accepted: %s", bad);
	ck_assert_str_eq(kind(&err), "InvalidArgument");
	ck_assert_str_eq(err.message, want);
	ck_assert_ptr_null(back.set_id);
}

START_TEST(every_field_is_checked)
{
	static const struct {
		const char *from, *to, *want;
	} cases[] = {
		{ "\"format\":\"vssd-backup/1\"", "\"format\":\"vssd-writer-metadata/1\"",
		  "backup document: format: \"vssd-writer-metadata/1\" is not vssd-backup/1" },
		{ "\"format\":\"vssd-backup/1\"", "\"fmt\":\"vssd-backup/1\"",
		  "backup document: format: missing; not a vssd backup document" },
		{ "\"set-id\":\"" SET "\"", "\"set-id\":\"nope\"",
		  "backup document: set-id: \"nope\" is not a UUID" },
		{ "\"set-id\":\"" SET "\"", "\"set-id\":1",
		  "backup document: set-id: must be a string" },
		{ "\"context\":\"app-rollback\"", "\"context\":\"rollback\"",
		  "backup document: context: unknown value \"rollback\"" },
		{ "\"backup-type\":\"incremental\"", "\"backup-type\":\"Full\"",
		  "backup document: backup-type: unknown value \"Full\"" },
		{ "\"creation-time\":1700000000000001", "\"creation-time\":-1",
		  "backup document: creation-time: -1 is negative" },
		{ "\"creation-time\":1700000000000001", "\"creation-time\":\"now\"",
		  "backup document: creation-time: must be an integer" },
		{ "\"snapshots\":[", "\"shots\":[", "backup document: unknown key \"shots\"" },
		{ "\"id\":\"" SNAP "\"", "\"id\":\"x\"",
		  "backup document: snapshots[0].id: \"x\" is not a UUID" },
		{ "\"volume\":\"/dev/mapper/a\"", "\"volume\":\"\"",
		  "backup document: snapshots[0].volume: empty, longer than 4095 bytes or holds "
		  "control characters" },
		{ "\"device\":\"/dev/mapper/vssd-a\"", "\"device\":false",
		  "backup document: snapshots[0].device: must be a string" },
		{ "\"provider\":\"dm-snapshot\"", "\"provider\":\"a\\u0001\"",
		  "backup document: snapshots[0].provider: not text, longer than 255 bytes or "
		  "holds control characters" },
		{ "\"instance-id\":\"" WID "\"", "\"instance-id\":\"\"",
		  "backup document: writers[0].instance-id: \"\" is not a UUID" },
		{ "\"class-id\":\"" CID "\",", "",
		  "backup document: writers[0].class-id: missing" },
		{ "\"name\":\"db \\\"main\\\"\"", "\"name\":\"\"",
		  "backup document: writers[0].name: empty, longer than 255 bytes or holds "
		  "control characters" },
		{ "\"instance-name\":\"\"", "\"instance-name\":null",
		  "backup document: writers[0].instance-name: must be a string" },
		{ "\"state\":9", "\"state\":16",
		  "backup document: writers[0].state: 16 is not a VSS_WRITER_STATE (0-15)" },
		{ "\"last-error\":\"VSS_E_WRITERERROR_RETRYABLE\"", "\"last-error\":[ ]",
		  "backup document: writers[0].last-error: must be a string" },
		{ "\"failure-message\":\"vetoed: disk full\",", "",
		  "backup document: writers[0].failure-message: missing" },
		{ "\"name\":\"data\"", "\"name\":\"logs\"",
		  "backup document: writers[0].components[1].name: \"logs\" appears twice" },
		{ "\"selected\":true", "\"selected\":1",
		  "backup document: writers[0].components[0].selected: must be a boolean" },
		{ "\"backup-succeeded\":true", "\"backup-succeeded\":\"yes\"",
		  "backup document: writers[0].components[0].backup-succeeded: must be a boolean" },
		{ "\"backup-stamp\":\"lsn 42\"", "\"backup-stamp\":42",
		  "backup document: writers[0].components[0].backup-stamp: must be a string" },
		{ "\"previous-backup-stamp\":\"lsn 7\"", "\"previous-backup-stamp\":\"a\\nb\"",
		  "backup document: writers[0].components[0].previous-backup-stamp: not text, "
		  "longer than 4096 bytes or holds control characters" },
		{ "\"backup-metadata\":\"{\\\"x\\\":1}\"", "\"backup-metadata\":{ }",
		  "backup document: writers[0].components[0].backup-metadata: must be a string" },
		{ "\"failure-message\":\"disk 3 gone\"", "\"failure-message\":\"\"",
		  "backup document: writers[0].components[1].failure-message: empty, longer than "
		  "1020 bytes or holds control characters" },
		{ "\"failure-message\":\"disk 3 gone\"", "\"failure-message\":\"a\\u001b[2J\"",
		  "backup document: writers[0].components[1].failure-message: empty, longer than "
		  "1020 bytes or holds control characters" },
		{ "\"name\":\"cache\"", "\"name\":\"cache\", \"size\":1",
		  "backup document: writers[0].components[2]: unknown key \"size\"" },
		{ "\"components\":[", "\"components\":[ 1, ",
		  "backup document: writers[0].components: entry 0 is not an object" },
		{ "\"writers\":[", "\"writers\":{ \"a\":[",
		  "backup document: not valid JSON (unexpected end of data at offset 1159)" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		refused(cases[i].from, cases[i].to, cases[i].want);
}
END_TEST

/* backup-stamp and backup-metadata: 4096 bytes at most, as vssd takes them from writers */
START_TEST(stamps_are_bounded)
{
	for (int over = 0; over <= 1; over++) {
		_cleanup_free_ char *text = NULL;
		BackupDocument d, back = { 0 };
		VssErr err = { 0 };
		DocComponent *c;

		sample(&d);
		c = &d.writers[0].components[2];
		c->backup_metadata = malloc(DOC_STAMP_MAX + 2);
		ck_assert_ptr_nonnull(c->backup_metadata);
		memset(c->backup_metadata, 'm', DOC_STAMP_MAX + over);
		c->backup_metadata[DOC_STAMP_MAX + over] = 0;
		ck_assert_int_eq(document_to_json(&d, &text), 0);
		ck_assert_int_eq(document_from_json(text, &back, &err), over ? -EINVAL : 0);
		if (over)
			ck_assert_str_eq(
				err.message,
				"backup document: writers[0].components[2].backup-metadata: "
				"not text, longer than 4096 bytes or holds control "
				"characters");
		else
			ck_assert_uint_eq(strlen(back.writers[0].components[2].backup_metadata),
			                  DOC_STAMP_MAX);
		document_done(&d);
		document_done(&back);
	}
}
END_TEST

START_TEST(not_json_or_not_an_object)
{
	BackupDocument d = { 0 };
	VssErr err = { 0 };

	ck_assert_int_eq(document_from_json("", &d, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.message, "backup document: not valid JSON"));
	err = (VssErr){ 0 };
	ck_assert_int_eq(document_from_json("[1]", &d, &err), -EINVAL);
	ck_assert_str_eq(err.message, "backup document: not a JSON object");
	err = (VssErr){ 0 };
	ck_assert_int_eq(document_from_json("{\"format\":\"vssd-backup/1\"} {}", &d, &err),
	                 -EINVAL);
	ck_assert_str_eq(err.message,
	                 "backup document: not valid JSON (unexpected character at offset 27)");
	err = (VssErr){ 0 };
	ck_assert_int_eq(document_from_json("{\"format\":\"vssd-backup/1\"}", &d, &err), -EINVAL);
	ck_assert_str_eq(err.message, "backup document: set-id: missing");
	/* too deep */
	err = (VssErr){ 0 };
	ck_assert_int_eq(
		document_from_json("[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]", &d, &err),
		-EINVAL);
	ck_assert_ptr_nonnull(strstr(err.message, "not valid JSON"));
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("document",
	TEST(round_trip_keeps_every_field)
	TEST(an_empty_document_round_trips)
	TEST(every_field_is_checked)
	TEST(stamps_are_bounded)
	TEST(not_json_or_not_an_object))
/* clang-format on */
