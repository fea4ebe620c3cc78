/* SPDX-License-Identifier: GPL-2.0-or-later */
/* daemon-fixture.h - a Daemon on fake dm and host, with volumes and created shadow copy sets */
#pragma once

#include "daemon/daemon.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "tests/lib/fake-dm.h"
#include "tests/lib/fake-host.h"

#define FIXTURE_STORAGE "/var/lib/vssd/storage"
#define FIXTURE_SECTORS 131072ULL /* 64 MiB volumes */
#define FIXTURE_COW     (8ULL << 20)

/* Volumes "a" and "b" (dm-linear over 7:0 and 7:1, /dev/mapper/a and /dev/mapper/b), nothing
 * mounted, the storage directory on 8:1. No bus connection and no state file. */
typedef struct Fixture {
	Daemon d;
	FakeDm *dm;
	FakeHost *host;
	dev_t devno[2];
	usec_t next_time;
} Fixture;

void fixture_init(Fixture *f);
void fixture_done(Fixture *f);
/* A created set of context ctx over volume name a or b (count 1) or both (count 2): its shadow
 * copies exist in the fake dm, with block paths in the fake host. */
Snapset *fixture_set(Fixture *f, SnapsetContext ctx, const char *const *volumes, size_t count);
/* The first shadow copy of set s; its device path into dev (160 bytes) */
Snapshot *fixture_snap(Snapset *s, char dev[static 160]);
