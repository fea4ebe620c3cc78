/* SPDX-License-Identifier: GPL-2.0-or-later */
/* writer-internal.h - what the writer registry and its D-Bus adapter share */
#pragma once

#include <dbus/dbus.h>

#include "daemon/writer.h"

/* writer-metadata.c: the VSS writer metadata model */
void writer_files_free(WriterFile *f, size_t n);
void writer_components_free(WriterComponent *c, size_t n);
void writer_model_done(WriterModel *m); /* frees what m holds, leaves it empty */
/* The bytes of strings kept, as the metadata limits count them */
size_t writer_components_bytes(const WriterComponent *c, size_t n);
size_t writer_model_bytes(const WriterModel *m);
int writer_metadata_too_big(const Writer *w, VssErr *err);
/* Reads components aa{sv} into w (which has none yet), counting the array first and the bytes
 * kept as it goes: once w's metadata would pass room bytes, nothing more is read. */
int writer_read_components(Writer *w, DBusMessageIter *arr, size_t room, VssErr *err);

/* The writer-wide keys of RegisterWriter's info or Identify's answer, found but not read yet */
typedef struct WriterModelInput {
	DBusMessageIter exclude_files, restore_method, mappings;
	bool has_exclude_files, has_restore_method, has_mappings, has_backup_schema;
	char **backup_schema;
} WriterModelInput;
/* Takes key's value v into in when key is one of the model's: 1; not one of them: 0; a wrong
 * type: InvalidArgument */
int writer_model_input_take(WriterModelInput *in, const char *key, DBusMessageIter *v, VssErr *err);
/* Validates in and reads it into w->model (empty yet), counting the bytes as above */
int writer_read_model(Writer *w, const WriterModelInput *in, size_t room, VssErr *err);
/* The component keys beyond name, paths and volumes; the writer-wide keys */
int writer_component_add_model(DBusMessageIter *dict, const WriterComponent *c);
int writer_dict_add_model(DBusMessageIter *dict, const Writer *w);

/* writer.c */
/* (Re)starts the look-up of the devices of w's component paths, as w's owner. */
int writer_resolve_paths(Writer *w);
/* The new state and, unless NULL, the new last error; one PropertiesChanged when either
 * differs. */
void writer_update(Writer *w, WriterState s, const char *last_error);

/* writer-dbus.c */
/* Identify's answer: its components replace the registered ones (see writer-dbus.c) */
void writer_identify_update(Writer *w, DBusMessage *reply);
