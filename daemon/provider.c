/* SPDX-License-Identifier: GPL-2.0-or-later */
/* provider.c - the registry of providers: lookup by name and UUID, picking one for a volume */
#include <stdarg.h>
#include <stdio.h>

#include "common/macro.h"
#include "daemon/provider-dmsnap.h"
#include "daemon/provider-lvm.h"
#include "daemon/provider.h"

/* in pick order: lvm-thin, lvm, dm-snapshot */
static const ProviderOps *const builtin[] = { &provider_lvm_thin_ops, &provider_lvm_ops,
	                                      &provider_dmsnap_ops, NULL };

const char *provider_type_to_string(ProviderType t)
{
	static const char *const names[_PROVIDER_TYPE_MAX] = {
		[PROVIDER_TYPE_SYSTEM] = "system",
		[PROVIDER_TYPE_SOFTWARE] = "software",
		[PROVIDER_TYPE_HARDWARE] = "hardware",
	};

	return t >= 0 && t < _PROVIDER_TYPE_MAX ? names[t] : NULL;
}

int provider_state_fail(char **ret_error, const char *where, const char *key, const char *fmt, ...)
{
	_cleanup_free_ char *reason = NULL;
	va_list ap;
	int r;

	if (!ret_error)
		return -EINVAL;
	va_start(ap, fmt);
	r = vasprintf(&reason, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if (asprintf(ret_error, "%s%s%s: %s", where, key ? "." : "", strempty(key), reason) < 0) {
		*ret_error = NULL;
		return -ENOMEM;
	}
	return -EINVAL;
}

void provider_volume_done(ProviderVolume *v)
{
	free(v->name);
	free(v->dev_path);
	free(v->mountpoint);
	*v = (ProviderVolume){ 0 };
}

int provider_register(ProviderRegistry *reg, const ProviderOps *ops, void *env)
{
	size_t at;

	if (reg->n == PROVIDERS_MAX)
		return -E2BIG;
	if (provider_find_by_name(reg, ops->name) || provider_find_by_id(reg, ops->id))
		return -EEXIST;
	/* kept in pick order */
	for (at = reg->n; at > 0 && reg->providers[at - 1].ops->pick_rank > ops->pick_rank; at--) {
		reg->providers[at] = reg->providers[at - 1];
		reg->owned[at] = reg->owned[at - 1];
	}
	reg->providers[at] = (Provider){ .ops = ops, .env = env };
	reg->owned[at] = false;
	reg->n++;
	return 0;
}

int provider_register_builtin(ProviderRegistry *reg, const ProviderHostEnv *h)
{
	for (size_t i = 0; builtin[i]; i++) {
		void *env = NULL;
		int r;

		r = builtin[i]->init(h, &env);
		if (r < 0)
			return r;
		r = provider_register(reg, builtin[i], env);
		if (r < 0) {
			builtin[i]->done(env);
			return r;
		}
		for (size_t k = 0; k < reg->n; k++)
			if (reg->providers[k].env == env)
				reg->owned[k] = true;
	}
	return 0;
}

void provider_registry_done(ProviderRegistry *reg)
{
	for (size_t i = 0; i < reg->n; i++)
		if (reg->owned[i] && reg->providers[i].ops->done)
			reg->providers[i].ops->done(reg->providers[i].env);
	*reg = (ProviderRegistry){ 0 };
}

Provider *provider_find_by_name(ProviderRegistry *reg, const char *name)
{
	for (size_t i = 0; i < reg->n; i++)
		if (streq(reg->providers[i].ops->name, name))
			return &reg->providers[i];
	return NULL;
}

Provider *provider_find_by_id(ProviderRegistry *reg, const char *id)
{
	for (size_t i = 0; i < reg->n; i++)
		if (streq(reg->providers[i].ops->id, id))
			return &reg->providers[i];
	return NULL;
}

const ProviderOps *provider_ops_by_name(const char *name)
{
	for (size_t i = 0; builtin[i]; i++)
		if (streq(builtin[i]->name, name))
			return builtin[i];
	return NULL;
}

const ProviderOps *provider_ops_builtin(size_t i)
{
	return i < ELEMENTSOF(builtin) ? builtin[i] : NULL;
}

/* "a (id), b (id)" */
static char *list_string(ProviderRegistry *reg)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	if (!f)
		return NULL;
	for (size_t i = 0; i < reg->n; i++)
		fprintf(f, "%s%s (%s)", i ? ", " : "", reg->providers[i].ops->name,
		        reg->providers[i].ops->id);
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

int provider_pick(ProviderRegistry *reg, const char *name_or_id, const char *volume_path,
                  Provider **ret, ProviderVolume *ret_volume, VssErr *err)
{
	Provider *p;
	int r = -ENODEV;

	if (name_or_id && name_or_id[0]) {
		_cleanup_free_ char *list = NULL;

		p = provider_find_by_name(reg, name_or_id);
		if (!p)
			p = provider_find_by_id(reg, name_or_id);
		if (!p) {
			list = list_string(reg);
			return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
			                   "there is no provider \"%s\"; the providers are: %s",
			                   name_or_id, strempty(list));
		}
		r = p->ops->probe(p, volume_path, ret_volume, err);
		if (r < 0)
			return r == -EMEDIUMTYPE ? -EOPNOTSUPP : r;
		if (ret)
			*ret = p;
		return 0;
	}
	/* by rank; the reason given is that of the first provider that knows the kind of volume
	 * (-EMEDIUMTYPE: not its kind), else the last one's (dm-snapshot's, which takes any
	 * device-mapper volume no other provider claims) */
	VssErr first = { 0 };
	int first_r = 0;

	for (size_t i = 0; i < reg->n; i++) {
		VssErr e = { 0 };

		p = &reg->providers[i];
		r = p->ops->probe(p, volume_path, ret_volume, &e);
		if (r >= 0) {
			if (ret)
				*ret = p;
			return 0;
		}
		if (first_r == 0 && (r != -EMEDIUMTYPE || i + 1 == reg->n)) {
			first = e;
			first_r = r;
		}
	}
	if (reg->n == 0)
		return vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -ENODEV,
		                   "no provider is registered");
	if (err)
		*err = first;
	return first_r == -EMEDIUMTYPE ? -EOPNOTSUPP : first_r;
}
