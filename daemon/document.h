/* SPDX-License-Identifier: GPL-2.0-or-later */
/* document.h - the backup document (VSS's Backup Components Document) as JSON: build, parse, check
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/vss-error.h"

#define DOCUMENT_FORMAT "vssd-backup/1"
#define DOCUMENT_MAX    (4u << 20) /* bytes of JSON a document may have */
#define DOC_STAMP_MAX   4096       /* backup-stamp and backup-metadata: bytes of text */
#define DOC_FAILURE_MAX 1020       /* a component's failure-message: bytes of text */

/* backup-succeeded of a component: not known yet (before BackupComplete), false or true */
typedef enum DocResult {
	DOC_RESULT_UNKNOWN = -1,
	DOC_RESULT_FAILED = 0,
	DOC_RESULT_SUCCEEDED = 1,
} DocResult;

typedef struct DocComponent {
	char *name;
	bool selected;               /* part of this backup */
	DocResult succeeded;         /* "backup-succeeded", absent when unknown */
	char *backup_stamp;          /* NULL: absent */
	char *previous_backup_stamp; /* NULL: absent */
	char *backup_metadata;       /* NULL: absent */
	char *failure_message; /* the writer failed the component (SetFailure); NULL: absent */
} DocComponent;

typedef struct DocWriter {
	char *instance_id;
	char *class_id;
	char *name;
	char *instance_name;
	uint32_t state; /* VSS_WRITER_STATE */
	char *last_error;
	char *failure_message;
	DocComponent *components;
	size_t n_components;
} DocWriter;

typedef struct DocSnapshot {
	char *id;
	char *volume;
	char *device;
	char *provider;
} DocSnapshot;

typedef struct BackupDocument {
	char *set_id;
	char *context;
	char *backup_type;
	uint64_t creation_time; /* µs since the epoch; 0 before DoSnapshotSet */
	DocSnapshot *snapshots;
	size_t n_snapshots;
	DocWriter *writers;
	size_t n_writers;
} BackupDocument;

void document_done(BackupDocument *d);
/* Appends an empty writer, snapshot or component (zeroed; succeeded unknown) and returns it */
DocWriter *document_add_writer(BackupDocument *d);
DocSnapshot *document_add_snapshot(BackupDocument *d);
DocComponent *document_writer_add_component(DocWriter *w);

/* The document as JSON text (a new string) */
int document_to_json(const BackupDocument *d, char **ret);
/* Parses and checks a document: a text that is not JSON, a foreign format, a missing or wrongly
 * typed key, an unknown key, a bad id or enum value is InvalidArgument naming the field, e.g.
 * "backup document: writers[0].components[2].name: missing". */
int document_from_json(const char *text, BackupDocument *ret, VssErr *err);
