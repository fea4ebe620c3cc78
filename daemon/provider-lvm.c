/* SPDX-License-Identifier: GPL-2.0-or-later */
/* provider-lvm.c - the LVM providers' environment, volumes (probe) and sets (lvcreate -s per
 * volume, in parallel across VGs and one after another within a VG, which LVM locks) */
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

#include "common/escape.h"
#include "common/log.h"
#include "common/valid.h"
#include "daemon/config.h"
#include "daemon/dmdev.h"
#include "daemon/hostops.h"
#include "daemon/provider-lvm-internal.h"

/* ---- environment ----------------------------------------------------------------------------- */

static int env_new(const ProviderHostEnv *h, bool thin, void **ret_env)
{
	LvmEnv *env = calloc(1, sizeof(*env));
	int r;

	if (!env)
		return -ENOMEM;
	*env = (LvmEnv){ .event = h->event,
		         .dm = h->dm,
		         .host = h->host,
		         .thin = thin,
		         .frozen_ok = -1,
		         .faults = h->faults,
		         .report_timeout = LVM_REPORT_TIMEOUT,
		         .command_timeout = LVM_COMMAND_TIMEOUT };
	r = lvm_runner_new(h->config->lvm_binary, h->config->lvm_config, &env->runner);
	if (r < 0) {
		free(env);
		return r;
	}
	*ret_env = env;
	return 0;
}

int lvm_init(const ProviderHostEnv *h, void **ret_env)
{
	return env_new(h, false, ret_env);
}

int lvm_thin_init(const ProviderHostEnv *h, void **ret_env)
{
	return env_new(h, true, ret_env);
}

void lvm_done(void *e)
{
	LvmEnv *env = e;

	if (!env)
		return;
	lvm_env_drop_cache(env);
	lvm_runner_free(env->runner);
	free(env);
}

uint64_t lvm_storage_min_bytes(Provider *p)
{
	return 4ULL << 20; /* one default extent */
}

uint64_t lvm_storage_unit_bytes(Provider *p)
{
	return 512; /* lvcreate rounds up to whole extents itself */
}

int lvm_dm_name(const char *vg, const char *lv, char *buf, size_t size)
{
	size_t n = 0;

	for (int part = 0; part < 2; part++) {
		for (const char *c = part ? lv : vg; *c; c++) {
			if (n + 3 > size)
				return -ENAMETOOLONG;
			buf[n++] = *c;
			if (*c == '-')
				buf[n++] = '-';
		}
		if (part == 0) {
			if (n + 2 > size)
				return -ENAMETOOLONG;
			buf[n++] = '-';
		}
	}
	buf[n] = 0;
	return 0;
}

bool lvm_kernel_nests_freeze(const char *release)
{
	unsigned a = 0, b = 0, c = 0;

	if (sscanf(release, "%u.%u.%u", &a, &b, &c) < 2)
		return false;
	return ((a << 16) | (MIN(b, 255u) << 8) | MIN(c, 255u)) >= LVM_FROZEN_OK_KERNEL;
}

/* ---- running LVM ----------------------------------------------------------------------------- */

void lvm_env_drop_cache(LvmEnv *env)
{
	lvm_lvs_free(env->cache, env->cache_n);
	env->cache = NULL;
	env->cache_n = 0;
}

int lvm_env_run(LvmEnv *env, char *const *argv, usec_t timeout, LvmResult *ret, VssErr *err,
                const char *what)
{
	char said[512];
	int r;

	if (!streq(argv[0], "lvs") && !streq(argv[0], "vgs"))
		lvm_env_drop_cache(env);
	r = lvm_run_sync(env->runner, argv, timeout, ret);
	if (r >= 0)
		r = lvm_result_errno(ret);
	if (r >= 0)
		return 0;
	/* LVM's last line of stderr says why; escaped, it comes from another process */
	if (ret->err) {
		size_t n = ret->err_len;

		while (n > 0 && (ret->err[n - 1] == '\n' || ret->err[n - 1] == ' '))
			ret->err[--n] = 0;
		const char *last = strrchr(ret->err, '\n');

		text_escape_buf(last ? last + 1 : ret->err, 0, said, sizeof(said));
	} else
		said[0] = 0;
	log_debug("lvm %s: %s", argv[0], said);
	if (r == -ETIME)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "%s: lvm %s did not finish within %" PRIu64 " s and was killed",
		                   what, argv[0], timeout / USEC_PER_SEC);
	if (ret->error < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "%s: cannot run lvm %s: %s", what, argv[0], strerror(-r));
	return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
	                   "%s: lvm %s failed (status %d): %s", what, argv[0], ret->status,
	                   said[0] ? said : "no message");
}

int lvm_env_lvs(LvmEnv *env, const char *select, LvmLv **ret, size_t *ret_n, VssErr *err)
{
	char *argv[] = { (char *)"lvs",
		         (char *)"--reportformat",
		         (char *)"json",
		         (char *)"--units",
		         (char *)"b",
		         (char *)"--nosuffix",
		         (char *)"-a",
		         (char *)"-o",
		         (char *)LVM_LV_FIELDS,
		         (char *)select,
		         NULL };
	_cleanup_free_ char *why = NULL;
	LvmResult res;
	int r;

	r = lvm_env_run(env, argv, env->report_timeout, &res, err, "cannot list LVM volumes");
	if (r >= 0) {
		r = lvm_report_lvs(res.out, ret, ret_n, &why);
		if (r < 0)
			vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
			            "cannot read LVM's report: %s", strempty(why));
	}
	lvm_result_done(&res);
	return r;
}

int lvm_env_find(LvmEnv *env, const char *vg, const char *lv, const char *uuid, LvmLv *ret,
                 VssErr *err)
{
	LvmLv *l = NULL;
	size_t n = 0;
	int r;

	r = lvm_env_lvs(env, NULL, &l, &n, err);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < n && r == -ENOENT; i++)
		if (uuid && uuid[0] ? streq(l[i].uuid, uuid)
		                    : streq(l[i].vg, vg) && streq(l[i].name, lv)) {
			*ret = l[i];
			l[i] = (LvmLv){ 0 };
			r = 0;
		}
	lvm_lvs_free(l, n);
	if (r == -ENOENT)
		vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, r, "LVM has no volume %s/%s", vg, lv);
	return r;
}

/* ---- volumes --------------------------------------------------------------------------------- */

/* Why LVM volume lv is not this provider's: -EMEDIUMTYPE (another provider's kind, the picker
 * goes on) or -EOPNOTSUPP (refused, with the reason); 0: it takes it. */
static int refusal(const LvmEnv *env, const LvmLv *lv, const char *path, VssErr *err)
{
	char t = lvm_attr_type(lv);
	const char *kind = env->thin ? "lvm-thin" : "lvm";

#define REFUSE(code, ...) vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, code, __VA_ARGS__)
	if (t == 't')
		return REFUSE(-EOPNOTSUPP,
		              "%s (%s/%s) is an LVM thin pool: add its thin volumes to the set",
		              path, lv->vg, lv->name);
	if (t == 's' || t == 'S' || (t == 'V' && lv->origin[0]) || lvm_lv_has_tag(lv, LVM_TAG_VSSD))
		return REFUSE(-EOPNOTSUPP, "%s (%s/%s) is an LVM snapshot, not a volume", path,
		              lv->vg, lv->name);
	if (t == 'O')
		return REFUSE(-EOPNOTSUPP,
		              "%s (%s/%s) is being merged with a snapshot (lvconvert --merge); try "
		              "again when the merge is done",
		              path, lv->vg, lv->name);
	if (strchr("TeiIlpvcCdDgw", t))
		return REFUSE(-EOPNOTSUPP, "%s (%s/%s) is an internal LVM volume (%s)", path,
		              lv->vg, lv->name, lv->segtype);
	if (strlen(lv->attr) > 8 && lv->attr[8] == 'p')
		return REFUSE(-EOPNOTSUPP,
		              "%s (%s/%s) is in a volume group that is missing physical volumes "
		              "(partial); repair the VG first",
		              path, lv->vg, lv->name);
	if (lvm_attr_state(lv) != 'a')
		return REFUSE(-EOPNOTSUPP, "%s (%s/%s) is not active (lv_attr %s)", path, lv->vg,
		              lv->name, lv->attr);
	if ((t == 'V') != env->thin)
		return REFUSE(-EMEDIUMTYPE, "%s (%s/%s) is %s LVM volume: provider %s takes it",
		              path, lv->vg, lv->name, t == 'V' ? "a thin" : "a thick",
		              t == 'V' ? "lvm-thin" : "lvm");
	if (!env->thin && !streq(lv->segtype, "linear") && !streq(lv->segtype, "striped") &&
	    !startswith(lv->segtype, "raid") && !streq(lv->segtype, "mirror"))
		return REFUSE(-EOPNOTSUPP,
		              "%s (%s/%s) is an LVM %s volume; provider %s takes linear, striped, "
		              "raid and mirror volumes",
		              path, lv->vg, lv->name, lv->segtype, kind);
#undef REFUSE
	return 0;
}

/* The LV behind path: 0 and *ret; -EMEDIUMTYPE when it is no LVM volume */
static int resolve(LvmEnv *env, const char *path, dev_t *ret_devno, LvmLv *ret, VssErr *err)
{
	DmdevInfo info;
	LvmLv *l = NULL;
	size_t n = 0;
	dev_t devno;
	int r;

	if (!valid_abs_path(path))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "volume \"%s\" is not an absolute device path", path);
	r = env->host->ops->stat_block(env->host->userdata, path, &devno);
	if (r == -ENOENT)
		return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, r, "volume %s does not exist",
		                   path);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -EMEDIUMTYPE,
		                   "%s is not a block device", path);
	/* cheap first: only device-mapper devices whose uuid LVM set are worth an lvs */
	if (!dmdev_is_dm_major(env->dm, major(devno)) ||
	    dmdev_info_devno(env->dm, devno, &info) < 0 || !info.exists ||
	    !startswith(info.uuid, "LVM-"))
		return vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -EMEDIUMTYPE,
		                   "%s is not an LVM logical volume", path);
	if (!env->cache || now_usec(CLOCK_MONOTONIC) - env->cache_at > LVM_PROBE_CACHE_USEC) {
		lvm_env_drop_cache(env);
		r = lvm_env_lvs(env, NULL, &env->cache, &env->cache_n, err);
		if (r < 0)
			return r;
		env->cache_at = now_usec(CLOCK_MONOTONIC);
	}
	l = env->cache;
	n = env->cache_n;
	r = vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -EOPNOTSUPP,
	                "%s (%s) is a device LVM uses inside a logical volume, not a volume", path,
	                info.name);
	/* by device number; else by dm name (a thin pool's "vg-pool" is not the device LVM
	 * reports for it, which is "vg-pool-tpool") */
	for (size_t pass = 0; pass < 2 && r < 0; pass++)
		for (size_t i = 0; i < n; i++) {
			char dm[256];

			if (pass == 0 ? l[i].major != (int)major(devno) ||
			                        l[i].minor != (int)minor(devno)
			              : lvm_dm_name(l[i].vg, l[i].name, dm, sizeof(dm)) < 0 ||
			                        !streq(dm, info.name))
				continue;
			r = lvm_lv_copy(&l[i], ret);
			if (r < 0)
				return r;
			*ret_devno = devno;
			if (err)
				*err = (VssErr){ 0 };
			break;
		}
	return r;
}

int lvm_probe(Provider *p, const char *path, ProviderVolume *ret, VssErr *err)
{
	return lvm_probe_lv(p, path, ret, NULL, err);
}

int lvm_probe_lv(Provider *p, const char *path, ProviderVolume *ret, LvmLv *ret_lv, VssErr *err)
{
	LvmEnv *env = lvm_env_of(p);
	_cleanup_strv_free_ char **mounts = NULL;
	char dm[256];
	LvmLv lv = { 0 };
	dev_t devno = 0;
	int r;

	r = resolve(env, path, &devno, &lv, err);
	if (r < 0)
		return r;
	r = refusal(env, &lv, path, err);
	if (r >= 0 && lvm_dm_name(lv.vg, lv.name, dm, sizeof(dm)) < 0)
		r = vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -ENAMETOOLONG,
		                "the names of %s/%s are too long", lv.vg, lv.name);
	if (r >= 0 && ret) {
		(void)env->host->ops->mountpoints(env->host->userdata, devno, &mounts);
		*ret = (ProviderVolume){ .devno = devno, .sectors = lv.size / 512 };
		ret->name = strdup(dm);
		if (asprintf(&ret->dev_path, "/dev/mapper/%s", dm) < 0)
			ret->dev_path = NULL;
		ret->mountpoint = mounts && mounts[0] ? strdup(mounts[0]) : NULL;
		if (!ret->name || !ret->dev_path || (mounts && mounts[0] && !ret->mountpoint)) {
			provider_volume_done(ret);
			r = -ENOMEM;
		}
	}
	if (r >= 0 && ret_lv)
		*ret_lv = lv;
	else
		lvm_lv_done(&lv);
	return r;
}
