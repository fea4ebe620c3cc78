/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssctl-format.h - vssctl's output: vssadmin-like text and JSON from the daemon's dictionaries */
#pragma once

#include <json-c/json.h>
#include <stdio.h>

#include "client/busutil.h"
#include "common/macro.h"

typedef struct VssctlShadowFilter {
	const char *set_id;    /* NULL or "": any */
	const char *shadow_id; /* NULL or "": any */
	const char *volume;    /* NULL: any; else any path of the volume's device */
	bool merging;          /* only snapshots in state "merging" */
} VssctlShadowFilter;

/* Is given the volume called name (/dev/mapper/x) or device (/dev/dm-N)? Same string, or the
 * same block device. given NULL matches everything. */
bool vssctl_same_volume(const char *given, const char *name, const char *device);

/* VSS_VOLUME_SNAPSHOT_ATTRIBUTES as words: "Persistent, No auto release, Differential" */
char *vssctl_attributes_to_string(uint32_t attributes, char *buf, size_t size);
/* µs since the epoch as local time: "2026-11-26 16:35:48 UTC" */
char *vssctl_time_to_string(uint64_t usec, char *buf, size_t size);
/* "12.0M (12582912 bytes)", or "unbounded" for UINT64_MAX */
char *vssctl_bytes_to_string(uint64_t bytes, char *buf, size_t size);

/* A copy of v whose strings and keys are escaped for a terminal (text_escape(), backslashes
 * kept); NULL for NULL. Text output prints only such copies. */
int vssctl_value_escape(const BusValue *v, BusValue **ret);
/* A BusValue as JSON; dictionary keys change from kebab-case to snake_case. NULL: no memory. */
json_object *vssctl_value_to_json(const BusValue *v);
int vssctl_print_json(FILE *f, json_object *o);

/* objects: the first argument of ObjectManager.GetManagedObjects, a{oa{sa{sv}}}. Every object
 * with the Snapshot interface that passes filter, grouped by set, oldest set first. */
int vssctl_print_shadows(FILE *f, const BusValue *objects, const VssctlShadowFilter *filter,
                         bool json);
int vssctl_print_reverts(FILE *f, const BusValue *objects, const char *for_volume, bool json);

/* list: the aa{sv} that the Manager's List* methods return */
int vssctl_print_volumes(FILE *f, const BusValue *list, bool json);
int vssctl_print_providers(FILE *f, const BusValue *list, bool json);
int vssctl_print_writers(FILE *f, const BusValue *list, bool json);
/* list: ListWriters' dictionaries, each with its writer's Metadata entries added (components,
 * exclude-files, restore-method, alternate-location-mappings, backup-schema) */
int vssctl_print_writers_detailed(FILE *f, const BusValue *list, bool json);
int vssctl_print_storage(FILE *f, const BusValue *list, const char *for_volume, bool json);

/* After CreateSnapshotSet: snapshots[i] are the Snapshot properties (a{sv}) of each new one */
int vssctl_print_created(FILE *f, const char *set_id, const BusValue *const *snapshots, size_t n,
                         bool json);

/* The results of other verbs: {"deleted": N}; {"id", "exposed_path", "device"} (text: the mount
 * point, or the device when only that is exposed); {"volume"} (text: the volume path) */
int vssctl_print_deleted(FILE *f, unsigned count, bool json);
int vssctl_print_exposed(FILE *f, const char *id, const char *exposed, const char *device,
                         bool json);
int vssctl_print_volume_added(FILE *f, const char *volume, bool json);
