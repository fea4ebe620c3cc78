/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapset-internal.h - what the set session, its creation pipeline and its D-Bus adapter share */
#pragma once

#include <dbus/dbus.h>

#include "daemon/snapset.h"
#include "daemon/writer.h"

/* session (snapset.c) */
void snapset_event_args(Snapset *s, WriterEventArgs *a);
/* Abort and BackupShutdown: sent without waiting for the answers. */
void snapset_writers_notify(Snapset *s, WriterEvent ev);
int snapset_start_event(Snapset *s, WriterEvent ev, const WriterEventArgs *a, WriterDoneFn done);
void snapset_bcast_done(Snapset *s, WriterBroadcast *b);
/* Ends the pending call (GatherWriterMetadata, PrepareForBackup, BackupComplete). */
void snapset_call_reply(Snapset *s, const VssErr *err, int error);
void snapset_forget_snapshot(Snapset *s, Snapshot *snap);
/* The writers taking part: all that are not excluded, or those whose paths lie on the set */
int snapset_compute_involved(Snapset *s, bool all);

/* the set's providers (snapset-engine.c) */
SnapsetEngine *snapset_engine_of(Snapset *s, const Provider *p);
/* The engine of provider p, begun (ops->set_begin) when the set has none yet */
int snapset_engine_get(Snapset *s, Provider *p, SnapsetEngine **ret);
void snapset_engine_drop_empty(Snapset *s);
/* Frees every provider's set: rolls back whatever was not committed; thaws */
void snapset_engine_free(Snapset *s);
int snapset_engines_pair_up(Snapset *s);
int snapset_engines_mountpoints(Snapset *s, bool frozen_only, char ***ret);
SnapsetEngine *snapset_engine_last_frozen(Snapset *s);
size_t snapset_engines_frozen(const Snapset *s);
void snapset_update_instant(Snapset *s);
void snapset_log_instant(Snapset *s);

/* writer options and failures (snapset-writers.c) */
/* snapset_new(): the writer options (exclusions, writer-failures, previous-document) */
int snapset_take_writer_options(Snapset *s, const SnapsetOptions *o);
/* writer-failures=continue: w failed in this set and left it */
bool snapset_writer_failed(const Snapset *s, const Writer *w);
/* writer-failures=continue, after event ev: the writers it failed leave s->involved for
 * s->failed, their components leave the selection; Abort to those failed at Freeze or Thaw */
void snapset_drop_failed_writers(Snapset *s, WriterEvent ev);

/* creation pipeline (snapset-create.c) */
void snapset_hold_end(Snapset *s);
/* Thaws the set's frozen file systems (idempotent) and removes the freeze ledger */
void snapset_thaw(Snapset *s);
void snapset_creation_sources_done(Snapset *s);
/* Ends DoSnapshotSet or CreateSnapshotSet (create_done). */
void snapset_creation_reply(Snapset *s, const VssErr *err, int error);
void snapset_creation_failed(Snapset *s, const VssErr *err, int error);

/* D-Bus adapter (snapset-dbus.c) */
int snapset_append_writer_list(Snapset *s, DBusMessageIter *it, bool metadata);
