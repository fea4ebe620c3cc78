/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssctl-args.h - vssctl's command line: verbs, options, early validation, usage texts */
#pragma once

#include <stdio.h>

#include "common/macro.h"
#include "common/vssid.h"

/* Call timeouts. DoSnapshotSet and CreateSnapshotSet wait for writers and the commit, so they get
 * the long one; --timeout-ms replaces both. */
#define VSSCTL_TIMEOUT_DEFAULT_MS (120 * 1000)
#define VSSCTL_TIMEOUT_CREATE_MS  (15 * 60 * 1000)

typedef enum VssctlVerb {
	VSSCTL_LIST_SHADOWS,
	VSSCTL_LIST_VOLUMES,
	VSSCTL_LIST_PROVIDERS,
	VSSCTL_LIST_WRITERS,
	VSSCTL_LIST_STORAGE,
	VSSCTL_CREATE_SHADOW,
	VSSCTL_DELETE_SHADOWS,
	VSSCTL_BACKUP,
	VSSCTL_RESTORE,
	VSSCTL_ADD_STORAGE,
	VSSCTL_RESIZE_STORAGE,
	VSSCTL_DELETE_STORAGE,
	VSSCTL_EXPOSE,
	VSSCTL_UNEXPOSE,
	VSSCTL_REVERT,
	VSSCTL_QUERY_REVERTS,
	VSSCTL_ADD_VOLUME,
	VSSCTL_DELETE_VOLUME,
	VSSCTL_SCHEDULE_RUN,
	_VSSCTL_VERB_MAX,
	_VSSCTL_VERB_INVALID = -EINVAL,
} VssctlVerb;

/* --maxsize: bytes, or a percentage of the volume that ListVolumes reports */
typedef struct VssctlSize {
	bool set;
	bool is_percent;
	uint64_t bytes;
	unsigned percent; /* 1..100 */
} VssctlSize;

typedef struct VssctlArgs {
	/* global options */
	const char *bus_address; /* NULL: the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured) */
	bool json;
	int timeout_ms; /* -1: the defaults above */

	VssctlVerb verb;
	char **volumes; /* --volume, in order (a copy) */
	const char *for_volume;
	const char *on_dir;
	const char *context; /* NULL: the verb's default */
	const char *backup_type;
	const char *description;
	const char *schedule; /* schedule run NAME; create: the set's schedule tag */
	const char *path;     /* expose: mount point, "" for the device only */
	const char *device;   /* add volume DEVICE, delete volume VOLUME */
	const char *name;
	char set_id[VSSID_STRING_MAX];    /* "" when not given; lower case */
	char shadow_id[VSSID_STRING_MAX]; /* --shadow or the SHADOW-ID argument */
	bool no_writers;
	bool no_auto_release;
	bool oldest;
	bool all;
	bool quiet;
	bool mount;
	bool device_only;
	bool delete_snapshots;
	bool detailed;        /* list writers --detailed */
	const char *document; /* backup: write the backup document there; restore: read it */
	const char *previous; /* backup: the previous backup's document (previous-document) */
	VssctlSize maxsize;
	char **command;    /* backup, restore: CMD and its arguments, pointing into argv */
	char **components; /* restore --component INSTANCE:NAME, in order (a copy) */
} VssctlArgs;

#define VSSCTL_ARGS_NULL ((VssctlArgs){ .timeout_ms = -1, .verb = _VSSCTL_VERB_INVALID })

void vssctl_args_done(VssctlArgs *a);

/* Parses argv into *ret (which starts as VSSCTL_ARGS_NULL). Returns 1 when a verb is to run, 0
 * when --help or --version was printed to out, -EINVAL after a usage error was printed to err
 * (what is wrong, then the verb's usage): exit status 2. */
int vssctl_parse_argv(int argc, char *argv[], VssctlArgs *ret, FILE *out, FILE *err);

const char *vssctl_verb_to_string(VssctlVerb v); /* "list shadows" */
/* The synopsis (brief) or the whole help text of a verb; v < 0: of vssctl itself. */
void vssctl_usage(FILE *f, VssctlVerb v, bool brief);

/* "10G", "512M", "1073741824", "15%". -EINVAL on bad syntax, 0 or more than 100 %; -ERANGE. */
int vssctl_parse_maxsize(const char *s, VssctlSize *ret);
/* The byte count of s for a volume of volume_bytes (only used for a percentage). */
uint64_t vssctl_size_bytes(const VssctlSize *s, uint64_t volume_bytes);
/* A snapshot or set id, 8-4-4-4-12, optionally in braces as vssadmin prints it; returns the
 * lower-case form in ret. */
int vssctl_parse_id(const char *s, char ret[static VSSID_STRING_MAX]);

/* Names the daemon accepts for StartSnapshotSet's context and backup-type */
bool vssctl_context_valid(const char *s);
bool vssctl_backup_type_valid(const char *s);
