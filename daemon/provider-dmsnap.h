/* SPDX-License-Identifier: GPL-2.0-or-later */
/* provider-dmsnap.h - the dm-snapshot provider's ops table (daemon/provider.h) over dmsnap.c */
#pragma once

#include "daemon/dmsnap.h"
#include "daemon/provider.h"

#define PROVIDER_DMSNAP_NAME "dm-snapshot"
#define PROVIDER_DMSNAP_ID   "3f0d2a52-7c1e-4d8e-9a55-5ed5d3c0a1b1"

/* Registered with a DmsnapEnv * as its env. */
extern const ProviderOps provider_dmsnap_ops;

/* The engine's set behind a ProviderSet of this provider: its FIFREEZE (dmsnap_set_freeze_*),
 * which snapset-create.c still drives (the set does not own the freeze group yet) */
DmsnapSet *provider_dmsnap_set(ProviderSet *s);

/* A copy of the member snap_id of set, as the provider's object of a snapshot (set_take) */
int provider_dmsnap_take(const DmsnapSet *set, const VssId *snap_id, ProviderSnap **ret);

/* Its ProviderSnap is a DmsnapSnapshot: the engine's view of one snapshot. */
static inline DmsnapSnapshot *provider_dmsnap_snap(ProviderSnap *ps)
{
	return (DmsnapSnapshot *)ps;
}

static inline const DmsnapSnapshot *provider_dmsnap_snap_const(const ProviderSnap *ps)
{
	return (const DmsnapSnapshot *)ps;
}

static inline ProviderSnap *provider_dmsnap_wrap(DmsnapSnapshot *s)
{
	return (ProviderSnap *)s;
}
