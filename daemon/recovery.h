/* SPDX-License-Identifier: GPL-2.0-or-later */
/* recovery.h - start-up recovery of the daemon's sets, snapshots and devices */
#pragma once

#include "daemon/daemon.h"

/* At start: held devices released, the state file read (a corrupt one kept aside and rebuilt
 * from the devices), volumes, sets and storage restored, persistent snapshots reactivated,
 * orphans purged, exposures and merges recovered, the state saved. */
int daemon_recover(Daemon *d);
