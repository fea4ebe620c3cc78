/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state.h - /var/lib/vssd/state.json: sets, snapshots, volumes, storage; atomic, fully validated */
#pragma once

#include <json.h>

#include "common/macro.h"
#include "common/vssid.h"

#define STATE_PATH_DEFAULT "/var/lib/vssd/state.json"
#define STATE_VERSION      2 /* written; format 1 (vssd before providers) is migrated on load */
#define STATE_VERSION_MIN  1
#define STATE_SIZE_MAX     (64U << 20) /* a larger file is corrupt */

/* Every string is owned, and checked by state_validate(). Numbers are at most INT64_MAX.
 *
 * Format 2: each snapshot names its provider and holds the provider's own object
 * ("provider_data"), which only that provider reads and validates (daemon/provider.h). For
 * dm-snapshot: snap_name, cow_path, cow_bytes, chunk_sectors and, when known, cow_dev and
 * cow_ino. A format-1 file had those members in the snapshot itself: loading moves them into a
 * "dm-snapshot" provider object, and the next save writes format 2. */
typedef struct StateSnapshot {
	VssId id;
	VssId set_id;      /* the set it is in; not stored in the file, which nests it */
	char *volume;      /* absolute path, "/dev/mapper/<name>" */
	char *volume_name; /* the provider's name of the volume (dm name for dm-snapshot) */
	char *provider;    /* "dm-snapshot" */
	uint64_t sectors;  /* size of the volume at snapshot time, >= 1 */
	bool persistent;
	usec_t creation_time; /* µs since the epoch */
	char *state;          /* "preparing" (in a creating set), "created", "invalid", "merging" */
	char *exposed_path;   /* absolute path of the mount point, NULL when not exposed */
	json_object *provider_data; /* the provider's object; a reference this owns */
} StateSnapshot;

typedef struct StateSet {
	VssId id;
	char *context; /* backup, file-share-backup, persistent, app-rollback, client-accessible,
	                  nas-rollback */
	uint32_t attributes; /* VSS_VOLUME_SNAPSHOT_ATTRIBUTES bits */
	char *backup_type;   /* full, copy, incremental, differential, log */
	char *description;   /* may be empty, at most VSSD_STRING_MAX bytes */
	char *state; /* "creating" (intent, written before dm changes), "created", "completed",
	                "deleting" */
	usec_t creation_time;
	/* 1: the Instant property is "per-volume" (some volumes were cut outside the set's
	 * freeze); 0 ("one"): not written, so files from before it read the same */
	uint64_t per_volume_instant;
	StateSnapshot *snapshots; /* one per volume, at most VSSD_VOLUMES_PER_SET_MAX */
	size_t n_snapshots;
} StateSet;

/* A volume wrapped by CreateVolume. */
typedef struct StateVolume {
	char *name;   /* dm name */
	char *device; /* underlying device, absolute (stable: /dev/disk/by-id/... or as given) */
	uint64_t sectors; /* >= 1 */
} StateVolume;

/* Shadow storage of a volume (AddStorage). */
typedef struct StateStorage {
	char *volume;       /* absolute path of the volume */
	char *location;     /* absolute directory for its COW files */
	uint64_t max_bytes; /* 0: the configured default */
} StateStorage;

typedef struct State {
	unsigned version;      /* STATE_VERSION */
	unsigned file_version; /* the format the file was in when loaded (1: migrated) */
	StateSet *sets;
	size_t n_sets;
	StateVolume *volumes;
	size_t n_volumes;
	StateStorage *storage;
	size_t n_storage;
} State;

#define STATE_NULL ((State){ .version = STATE_VERSION })

/* Destructors free what the object owns and zero it (a State becomes STATE_NULL); idempotent. */
void state_snapshot_done(StateSnapshot *snap);
void state_set_done(StateSet *set);
void state_volume_done(StateVolume *v);
void state_storage_done(StateStorage *st);
void state_done(State *s);

/* Every rule load applies beyond JSON types: known strings, absolute paths, dm names, no control
 * characters, ranges, unique ids, names and paths, per-set and per-volume limits. -EINVAL with
 * "<name>: sets[1].snapshots[0].cow_path: <reason>" in *ret_error (may be NULL). */
int state_validate(const State *s, const char *name, char **ret_error);

/* Reads and validates the whole file; *ret is written only on success. -ENOENT: no file;
 * -EBADMSG: corrupt, *ret_error (may be NULL) says where and what ("<path>:<line>:<column>: ..."
 * for JSON syntax, "<path>: <field>: ..." for content); another -errno: could not read. */
int state_load(const char *path, State *ret, char **ret_error);
/* Validates (-EINVAL), then replaces path atomically: a temporary file in the same directory,
 * fsync, rename, fsync of the directory. The file is mode 0600. */
int state_save(const char *path, const State *s, char **ret_error);
/* Renames a corrupt file to "<path>.corrupt-<UTC YYYYmmddTHHMMSSZ>" (".1", ".2"... appended if
 * taken), for an administrator to inspect. Returns the new path in *ret_new_path (may be NULL). */
int state_quarantine(const char *path, char **ret_new_path);

/* A member of a snapshot's provider object (tests, logs): 0 or NULL when absent */
uint64_t state_provider_u64(const StateSnapshot *snap, const char *key);
const char *state_provider_string(const StateSnapshot *snap, const char *key);

/* The names a set's context and backup type may have (NULL-terminated): the state file and the
 * backup document accept these and nothing else; snapset.c's context table must match (a unit
 * test checks). */
extern const char *const state_set_contexts[];
extern const char *const state_backup_types[];

/* Lookups return NULL when absent. */
StateSet *state_find_set(State *s, const VssId *id);
StateSnapshot *state_find_snapshot(State *s, const VssId *id, StateSet **ret_set);
StateVolume *state_find_volume(State *s, const char *name);
StateStorage *state_find_storage(State *s, const char *volume);

/* Add: the object is moved in (and zeroed) on success, left to the caller on failure. -EEXIST
 * when its id (or a snapshot's id), name or volume is taken. state_add_set() sets each
 * snapshot's set_id. Remove: frees the entry; nothing happens when it is absent. */
int state_add_set(State *s, StateSet *set);
void state_remove_set(State *s, const VssId *id);
void state_remove_snapshot(State *s, const VssId *id);
int state_add_volume(State *s, StateVolume *v);
void state_remove_volume(State *s, const char *name);
int state_add_storage(State *s, StateStorage *st);
void state_remove_storage(State *s, const char *volume);
