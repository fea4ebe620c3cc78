/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapshot.h - one shadow copy: its bus object, properties, state and deletion */
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include "common/macro.h"
#include "common/vss-error.h"
#include "common/vssid.h"

typedef struct Daemon Daemon;
typedef struct Snapset Snapset;
typedef struct BusInterface BusInterface;
typedef struct Provider Provider;
typedef struct ProviderSnap ProviderSnap;

typedef enum SnapshotState {
	SNAPSHOT_STATE_PREPARING, /* added to a set that is not created yet */
	SNAPSHOT_STATE_CREATED,
	SNAPSHOT_STATE_INVALID,  /* its storage overflowed: reads fail, the volume is fine */
	SNAPSHOT_STATE_MERGING,  /* being reverted into its volume */
	SNAPSHOT_STATE_DELETING, /* recorded before its devices go: recovery finishes the job */
	_SNAPSHOT_STATE_MAX,
	_SNAPSHOT_STATE_INVALID = -EINVAL,
} SnapshotState;

typedef struct Snapshot {
	Daemon *d;
	Snapset *set;       /* the set it belongs to (not owned) */
	Provider *provider; /* the provider that made it (daemon->providers) */
	ProviderSnap *ps;   /* the provider's own object; NULL when nothing of it exists */
	VssId id;
	char *volume_name; /* the provider's name of the volume (dm name for dm-snapshot) */
	uint64_t sectors;  /* the volume's size at the instant */
	bool persistent;
	char id_str[VSSID_STRING_MAX];
	char path[128];
	char *volume;          /* /dev/mapper/<name> */
	char *original_device; /* /dev/dm-N */
	dev_t devno;           /* of the volume, for writer paths */
	SnapshotState state;
	usec_t creation_time; /* µs since the epoch */
	char *exposed_path;
	bool exported;
	/* revert.c: the merge of this shadow copy into its volume, while it runs */
	sd_event_source *merge_timer;
	uint64_t merge_base_sectors; /* COW data sectors to merge when watching began */
	double revert_progress;      /* RevertProgress, 0.0 to 1.0 */
} Snapshot;

const char *snapshot_state_to_string(SnapshotState s);
SnapshotState snapshot_state_from_string(const char *s);

int snapshot_new(Daemon *d, Snapset *set, Provider *p, const VssId *id, const char *volume_name,
                 Snapshot **ret);
/* The provider's object of s (NULL when nothing of it exists) */
static inline const ProviderSnap *snapshot_psnap_const(const Snapshot *s)
{
	return s->ps;
}
static inline ProviderSnap *snapshot_psnap(Snapshot *s)
{
	return s->ps;
}
/* Its devices and storage are gone (a revert finished): deletion only drops the object */
void snapshot_forget_storage(Snapshot *s);
/* Takes the provider's object in, replacing any (ps is owned from here on, even on failure) */
int snapshot_set_psnap(Snapshot *s, ProviderSnap *ps);
/* Unexports and frees; does not touch dm. */
Snapshot *snapshot_free(Snapshot *s);
DEFINE_POINTER_CLEANUP(snapshot_freep, Snapshot *, snapshot_free)
int snapshot_export(Snapshot *s);
void snapshot_set_state(Snapshot *s, SnapshotState state);
/* "/dev/mapper/<snapshot dm name>" or "" before creation */
const char *snapshot_device(const Snapshot *s, char *buf, size_t size);
/* Removes its devices and storage (dm); the caller removes it from its set. */
int snapshot_destroy(Snapshot *s, VssErr *err);

extern const BusInterface snapshot_interface;
