/* SPDX-License-Identifier: GPL-2.0-or-later */
/* volume.h - volumes vssd wraps itself: a plain block device behind a dm-linear device */
#pragma once

#include "common/macro.h"
#include "common/vss-error.h"

/* dm uuid prefix of the volumes vssd wraps itself (vssctl add volume): "VSSD-" like every dm
 * device vssd makes, so that start-up finds them */
#define VOLUME_UUID_PREFIX "VSSD-V-"

typedef struct Daemon Daemon;
typedef struct State State;

typedef struct ManagedVolume {
	char *name;   /* dm name */
	char *device; /* the underlying device: a stable /dev/disk/by-* link when there is one */
	uint64_t sectors;
} ManagedVolume;

ManagedVolume *volume_find(Daemon *d, const char *name);
/* CreateVolume: the device must be an unmounted, unused plain block device */
int volume_create(Daemon *d, const char *device, const char *name, char **ret_volume, VssErr *err);
/* RemoveVolume: refused while it has shadow copies or is open */
int volume_remove(Daemon *d, const char *volume, VssErr *err);
/* Start-up: re-creates the dm devices of managed volumes that are gone (after a reboot). */
int volumes_restore(Daemon *d, const State *st);
int volumes_save(Daemon *d, State *st);
void volumes_done(Daemon *d);
