/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapset-engine.c - a set's providers: one ProviderSet per provider it uses, their members,
 * their file systems and the instant the set can promise (DESIGN.md §4b) */
#include "common/log.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/freeze.h"
#include "daemon/provider.h"
#include "daemon/snapset-internal.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "daemon/watchdog.h"

_Static_assert(SNAPSET_ENGINES_MAX == PROVIDERS_MAX, "one engine per registered provider");

SnapsetEngine *snapset_engine_of(Snapset *s, const Provider *p)
{
	for (size_t i = 0; i < s->n_engines; i++)
		if (s->engines[i].provider == p)
			return &s->engines[i];
	return NULL;
}

/* Kept in pick order (rising pick_rank: lvm-thin, lvm, dm-snapshot), so that the commit order
 * does not depend on the order the volumes were added in */
int snapset_engine_get(Snapset *s, Provider *p, SnapsetEngine **ret)
{
	SnapsetEngine *e = snapset_engine_of(s, p);
	ProviderSet *ps = NULL;
	size_t at;
	int r;

	if (e) {
		*ret = e;
		return 0;
	}
	if (s->n_engines >= SNAPSET_ENGINES_MAX)
		return -E2BIG;
	r = p->ops->set_begin(p, &s->id, snapset_context_persistent(s->context), &ps);
	if (r < 0)
		return r;
	for (at = 0; at < s->n_engines; at++)
		if (s->engines[at].provider->ops->pick_rank > p->ops->pick_rank)
			break;
	memmove(s->engines + at + 1, s->engines + at, (s->n_engines - at) * sizeof(*s->engines));
	s->n_engines++;
	s->engines[at] = (SnapsetEngine){ .set = s, .provider = p, .ps = ps, .frozen_ok = true };
	*ret = &s->engines[at];
	return 0;
}

/* An engine left without members (its only volume could not be added) goes */
void snapset_engine_drop_empty(Snapset *s)
{
	for (size_t i = s->n_engines; i-- > 0;) {
		SnapsetEngine *e = &s->engines[i];

		if (e->provider->ops->set_count(e->ps) > 0)
			continue;
		e->provider->ops->set_free(e->ps);
		memmove(s->engines + i, s->engines + i + 1,
		        (s->n_engines - i - 1) * sizeof(*s->engines));
		s->n_engines--;
	}
	snapset_update_instant(s);
}

void snapset_engine_free(Snapset *s)
{
	/* every provider's part: each rolls back what it did not commit and cancels what is
	 * under way (its done is not called any more) */
	for (size_t i = s->n_engines; i-- > 0;) {
		SnapsetEngine *e = &s->engines[i];

		e->provider->ops->set_free(e->ps);
		*e = (SnapsetEngine){ 0 };
	}
	s->n_engines = 0;
	s->pending = 0;
	s->step = SNAPSET_STEP_NONE;
	/* the providers forgot the group (and their watchdogs are gone): thawed by now, and
	 * again here; the set's own watchdog goes before the group it may thaw */
	snapset_thaw(s);
	s->freeze_watchdog = watchdog_free(s->freeze_watchdog);
	s->fsfreeze = freeze_group_free(s->fsfreeze);
}

/* Every shadow copy object has exactly one provider member with its id, in the engine of its
 * own provider, and the other way round: what a provider creates for one volume can only reach
 * that volume's object. */
int snapset_engines_pair_up(Snapset *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_engines; i++)
		n += s->engines[i].provider->ops->set_count(s->engines[i].ps);
	if (n != s->n_snaps)
		return -EPROTO;
	for (size_t i = 0; i < s->n_snaps; i++) {
		SnapsetEngine *e = snapset_engine_of(s, s->snaps[i]->provider);
		const char *v;

		if (!e)
			return -EPROTO;
		v = e->provider->ops->set_member_volume(e->ps, &s->snaps[i]->id);
		if (!v || !streq(v, s->snaps[i]->volume_name))
			return -EPROTO;
	}
	return 0;
}

/* The mount points of the set's volumes (frozen_only: of the providers that commit inside the
 * frozen window), each once */
int snapset_engines_mountpoints(Snapset *s, bool frozen_only, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;

	for (size_t i = 0; i < s->n_engines; i++) {
		SnapsetEngine *e = &s->engines[i];
		_cleanup_strv_free_ char **mps = NULL;
		int r;

		if (frozen_only && !e->frozen_ok)
			continue;
		r = e->provider->ops->set_mountpoints(e->ps, &mps);
		if (r < 0)
			return r;
		for (char **m = mps; m && *m; m++)
			if (!strv_contains(l, *m) && strv_extend(&l, *m) < 0)
				return -ENOMEM;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

/* The last provider that commits inside the frozen window: it is lent the group (it may thaw
 * right after its own instant). NULL: none commits frozen. */
SnapsetEngine *snapset_engine_last_frozen(Snapset *s)
{
	for (size_t i = s->n_engines; i-- > 0;)
		if (s->engines[i].frozen_ok)
			return &s->engines[i];
	return NULL;
}

size_t snapset_engines_frozen(const Snapset *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_engines; i++)
		n += s->engines[i].frozen_ok;
	return n;
}

/* Asks each provider whether it commits frozen; the set's Instant follows (and says so) */
void snapset_update_instant(Snapset *s)
{
	static const char *const changed[] = { "Instant", NULL };
	bool per_volume = false;

	for (size_t i = 0; i < s->n_engines; i++) {
		SnapsetEngine *e = &s->engines[i];
		const ProviderOps *ops = e->provider->ops;

		e->frozen_ok = !ops->set_commit_frozen_ok || ops->set_commit_frozen_ok(e->ps);
		if (!e->frozen_ok)
			per_volume = true;
	}
	/* [commit] freeze = lockfs: nothing holds two providers' volumes at one instant */
	if (s->n_engines > 1 && !s->d->config.parallel_freeze)
		per_volume = true;
	if (per_volume == s->instant_per_volume)
		return;
	s->instant_per_volume = per_volume;
	if (s->exported)
		bus_emit_properties_changed(&s->d->bus, s->path, VSSD_IFACE_SET, changed);
}

const char *snapset_instant(const Snapset *s)
{
	return s->instant_per_volume ? "per-volume" : "one";
}

/* The log's word on a set that is not taken at one instant: which volumes are cut when */
void snapset_log_instant(Snapset *s)
{
	if (!s->instant_per_volume)
		return;
	for (size_t i = 0; i < s->n_engines; i++) {
		SnapsetEngine *e = &s->engines[i];

		if (!e->frozen_ok)
			log_set_notice(
				s->id_str,
				"provider %s cannot commit while the set's file systems are "
				"frozen: its %zu volume(s) are taken after the thaw, one "
				"after another, each at its own instant (Instant=per-volume; "
				"only the writers make them consistent with the others)",
				e->provider->ops->name, e->provider->ops->set_count(e->ps));
	}
	if (s->n_engines > 1 && !s->d->config.parallel_freeze)
		log_set_notice(s->id_str,
		               "[commit] freeze = lockfs: the set's %zu providers each commit at "
		               "their own instant (Instant=per-volume); set freeze = parallel for "
		               "one instant",
		               s->n_engines);
}
