/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dmsnap.c - the dm-snapshot provider's sets: stage, commit (the instant), roll back */
#include <inttypes.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/dmsnap-internal.h"
#include "daemon/fault.h"
#include "daemon/freeze.h"
#include "daemon/hostops.h"
#include "daemon/watchdog.h"

typedef struct Member {
	DmsnapVolume vol;
	DmsnapSnapshot snap;
	char *storage_dir;
	char real_name[128];
	DmdevTable own_table; /* the origin's table before its first snapshot */
	dev_t cow_devno;
	int loop_fd;
	bool reuse_cow; /* an existing persistent COW, brought back after a reboot */
	/* what exists, for rollback */
	bool cow_created;
	bool real_created;
	bool snap_created;
	bool origin_staged;
	bool origin_suspended;
	bool snap_resumed;
	bool origin_resumed;
	bool frozen;
} Member;

typedef enum SetPhase {
	SET_PHASE_NEW,
	SET_PHASE_PREPARED,
	SET_PHASE_FROZEN,
	SET_PHASE_COMMITTED,
	SET_PHASE_ABORTED,
} SetPhase;

struct DmsnapSet {
	DmsnapEnv env;
	VssId id;
	bool persistent;
	SetPhase phase;
	Member *members;
	size_t n_members;
	/* The set's FIFREEZE group, lent by dmsnap_set_guard() until the commit or the abort
	 * ends, when this set's commit is the last of the frozen window (NULL otherwise): the
	 * watchdog thaws it with the devices, the commit thaws it right after the resumes. Never
	 * freed here. */
	FreezeGroup *freeze;
	Watchdog *watchdog; /* from the guard (or the commit) on */
	usec_t hold_start;  /* first suspend, CLOCK_MONOTONIC */
	usec_t hold_end;    /* last resume */
};

static usec_t env_now(const DmsnapEnv *env)
{
	return env->host->ops->now(env->host->userdata);
}

/* ---- sets ------------------------------------------------------------------------------------ */

int dmsnap_set_new(const DmsnapEnv *env, const VssId *set_id, bool persistent, DmsnapSet **ret)
{
	DmsnapSet *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->env = *env;
	s->id = *set_id;
	s->persistent = persistent;
	*ret = s;
	return 0;
}

static void member_done(Member *m)
{
	dmsnap_volume_done(&m->vol);
	dmsnap_snapshot_done(&m->snap);
	free(m->storage_dir);
	dmdev_table_done(&m->own_table);
	closep(&m->loop_fd);
}

DmsnapSet *dmsnap_set_free(DmsnapSet *s)
{
	if (!s)
		return NULL;
	if (s->phase != SET_PHASE_COMMITTED)
		dmsnap_set_abort(s);
	s->watchdog = watchdog_free(s->watchdog);
	s->freeze = NULL; /* the set's own */
	for (size_t i = 0; i < s->n_members; i++)
		member_done(&s->members[i]);
	free(s->members);
	free(s);
	return NULL;
}

size_t dmsnap_set_count(const DmsnapSet *s)
{
	return s->n_members;
}

const DmsnapVolume *dmsnap_set_volume(const DmsnapSet *s, size_t i)
{
	return i < s->n_members ? &s->members[i].vol : NULL;
}

const DmsnapSnapshot *dmsnap_set_snapshot(const DmsnapSet *s, size_t i)
{
	return i < s->n_members ? &s->members[i].snap : NULL;
}

const DmsnapSnapshot *dmsnap_set_find(const DmsnapSet *s, const VssId *snap_id)
{
	for (size_t i = 0; i < s->n_members; i++)
		if (vssid_equal(&s->members[i].snap.id, snap_id))
			return &s->members[i].snap;
	return NULL;
}

int dmsnap_set_remove(DmsnapSet *s, const VssId *snap_id)
{
	if (s->phase != SET_PHASE_NEW)
		return -EBUSY;
	for (size_t i = 0; i < s->n_members; i++)
		if (vssid_equal(&s->members[i].snap.id, snap_id)) {
			member_done(&s->members[i]);
			memmove(s->members + i, s->members + i + 1,
			        (s->n_members - i - 1) * sizeof(*s->members));
			s->n_members--;
			return 0;
		}
	return -ENOENT;
}

static uint64_t env_min_cow(const DmsnapEnv *env)
{
	return MAX(env->min_cow_bytes, DMSNAP_COW_MIN_BYTES);
}

/* Names and paths are fixed when the volume is added, so that an intent record written
 * before prepare already names what prepare will create. */
static int member_name(DmsnapSet *s, Member *m, VssErr *err)
{
	char name[128], id32[VSSID_PATH_MAX];

	m->snap.set_id = s->id;
	m->snap.persistent = s->persistent;
	m->snap.chunk_sectors =
		s->env.chunk_sectors ? s->env.chunk_sectors : VSSD_CHUNK_SECTORS_DEFAULT;
	m->snap.sectors = m->vol.sectors;
	if (dmsnap_snapshot_dm_name(&s->id, m->vol.name, name) < 0)
		return vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -ENAMETOOLONG,
		                   "the device-mapper name of %s is too long", m->vol.dev_path);
	m->snap.volume_name = strdup(m->vol.name);
	m->snap.snap_name = strdup(name);
	if (!m->snap.volume_name || !m->snap.snap_name ||
	    asprintf(&m->snap.cow_path, "%s/vssd-%s-%s.cow", m->storage_dir, m->vol.name,
	             vssid_to_path(&m->snap.id, id32)) < 0)
		return vss_err_set(err, VSS_ERROR_NONE, -ENOMEM, "out of memory");
	(void)dmsnap_real_name_of(m->vol.name, m->real_name);
	return 0;
}

int dmsnap_set_add(DmsnapSet *s, const char *volume_path, const char *storage_dir,
                   uint64_t cow_bytes, const VssId *snap_id, VssErr *err)
{
	DmsnapVolume v = { 0 };
	char size_a[32], size_b[32];
	Member *n;
	dev_t sd;
	int r;

	if (s->phase != SET_PHASE_NEW)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "volumes can only be added before the set is prepared");
	if (s->n_members >= VSSD_VOLUMES_PER_SET_MAX)
		return vss_err_set(err, VSS_ERROR_MAXIMUM_NUMBER_OF_VOLUMES_REACHED, -E2BIG,
		                   "a shadow copy set holds at most %d volumes",
		                   VSSD_VOLUMES_PER_SET_MAX);
	if (!valid_abs_path(storage_dir))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "shadow storage \"%s\" is not an absolute path", storage_dir);
	r = s->env.host->ops->fs_devno(s->env.host->userdata, storage_dir, &sd);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, r,
		                   "shadow storage directory %s is not usable: %s", storage_dir,
		                   strerror(-r));
	if (cow_bytes < env_min_cow(&s->env))
		return vss_err_set(err, VSS_ERROR_INSUFFICIENT_STORAGE, -ENOSPC,
		                   "shadow storage of %s for %s is below the minimum of %s",
		                   format_size(cow_bytes, size_a, sizeof(size_a)), volume_path,
		                   format_size(env_min_cow(&s->env), size_b, sizeof(size_b)));

	r = dmsnap_volume_resolve(&s->env, volume_path, &v, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->n_members; i++)
		if (s->members[i].vol.devno == v.devno) {
			r = vss_err_set(err, VSS_ERROR_OBJECT_ALREADY_EXISTS, -EEXIST,
			                "volume %s is already in the set (as %s)", volume_path,
			                s->members[i].vol.dev_path);
			dmsnap_volume_done(&v);
			return r;
		}
	if (v.converted) {
		r = dmsnap_count_snapshots_of(&s->env, v.real_devno, NULL);
		if (r >= VSSD_SNAPSHOTS_PER_VOLUME_MAX) {
			r = vss_err_set(err, VSS_ERROR_MAXIMUM_NUMBER_OF_SNAPSHOTS_REACHED, -E2BIG,
			                "volume %s has %d shadow copies already", v.dev_path,
			                VSSD_SNAPSHOTS_PER_VOLUME_MAX);
			dmsnap_volume_done(&v);
			return r;
		}
	}

	n = reallocarray(s->members, s->n_members + 1, sizeof(*n));
	if (!n) {
		dmsnap_volume_done(&v);
		return vss_err_set(err, VSS_ERROR_NONE, -ENOMEM, "out of memory");
	}
	s->members = n;
	n = &s->members[s->n_members];
	*n = (Member){ .vol = v, .loop_fd = -EBADF };
	n->storage_dir = strdup(storage_dir);
	if (!n->storage_dir) {
		member_done(n);
		return vss_err_set(err, VSS_ERROR_NONE, -ENOMEM, "out of memory");
	}
	n->snap.cow_bytes = cow_bytes;
	if (snap_id)
		n->snap.id = *snap_id;
	else
		vssid_generate(&n->snap.id);
	r = member_name(s, n, err);
	if (r < 0) {
		member_done(n);
		return r;
	}
	s->n_members++;
	return 0;
}

int dmsnap_set_add_existing(DmsnapSet *s, const DmsnapSnapshot *snap, VssErr *err)
{
	_cleanup_free_ char *path = NULL;
	DmsnapVolume v = { 0 };
	Member *n;
	int r;

	if (s->phase != SET_PHASE_NEW || s->n_members > 0)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "an existing snapshot is brought back in a set of its own");
	if (!snap->persistent || !snap->cow_path || !snap->snap_name)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "only a persistent snapshot with its COW file can come back");
	if (asprintf(&path, "/dev/mapper/%s", snap->volume_name) < 0)
		return -ENOMEM;
	r = dmsnap_volume_resolve(&s->env, path, &v, err);
	if (r < 0)
		return r;
	if (v.sectors != snap->sectors) {
		r = vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -EMEDIUMTYPE,
		                "%s has %" PRIu64
		                " sectors now, its snapshot was taken with %" PRIu64,
		                path, v.sectors, snap->sectors);
		dmsnap_volume_done(&v);
		return r;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		dmsnap_volume_done(&v);
		return -ENOMEM;
	}
	s->members = n;
	*n = (Member){ .vol = v, .loop_fd = -EBADF, .reuse_cow = true };
	r = dmsnap_snapshot_copy(snap, &n->snap);
	if (r >= 0 && !(n->storage_dir = strdup("/")))
		r = -ENOMEM;
	if (r < 0) {
		member_done(n);
		free(n);
		s->members = NULL;
		return r;
	}
	(void)dmsnap_real_name_of(v.name, n->real_name);
	s->n_members = 1;
	return 0;
}

static int member_prepare(DmsnapSet *s, Member *m, VssErr *err)
{
	const DmsnapEnv *env = &s->env;
	const char *name = m->snap.snap_name;
	char uuid[129], id32[VSSID_PATH_MAX];
	DmdevTable t = DMDEV_TABLE_NULL;
	HostFileId cow_id = { 0 };
	dev_t real_devno;
	int r;

	vssid_to_path(&m->snap.id, id32);

	/* Shadow storage: a sparse file on a loop device. */
	r = m->reuse_cow ? 0
	                 : env->host->ops->file_create(env->host->userdata, m->snap.cow_path,
	                                               m->snap.cow_bytes, &cow_id);
	if (r < 0)
		return vss_err_set(err,
		                   r == -ENOSPC || r == -EDQUOT || r == -EFBIG
		                           ? VSS_ERROR_INSUFFICIENT_STORAGE
		                           : VSS_ERROR_UNEXPECTED_PROVIDER_ERROR,
		                   r, "cannot create shadow storage %s: %s", m->snap.cow_path,
		                   strerror(-r));
	m->cow_created = !m->reuse_cow; /* rollback never deletes a COW it did not make */
	if (m->cow_created) {
		m->snap.cow_dev = cow_id.dev;
		m->snap.cow_ino = cow_id.ino;
	} else if (!m->snap.cow_ino)
		log_notice("%s: the identity of COW file %s was not recorded (an older state "
		           "file): attached only as a regular file of root's with one link",
		           name, m->snap.cow_path);
	cow_id = (HostFileId){ .dev = m->snap.cow_dev, .ino = m->snap.cow_ino };
	r = env->host->ops->loop_attach(env->host->userdata, m->snap.cow_path,
	                                m->snap.cow_ino ? &cow_id : NULL, &m->cow_devno,
	                                &m->loop_fd);
	if (r == -ESTALE)
		return vss_err_set(err, VSS_ERROR_ACCESS_DENIED, r,
		                   "%s is not the COW file vssd created (another file has its "
		                   "name now: device or inode differ); it is not attached",
		                   m->snap.cow_path);
	if (r == -EPERM && !m->snap.cow_ino)
		return vss_err_set(err, VSS_ERROR_ACCESS_DENIED, r,
		                   "%s is not a regular file of root's with one link; it is not "
		                   "attached",
		                   m->snap.cow_path);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot attach %s to a loop device: %s", m->snap.cow_path,
		                   strerror(-r));

	/* The volume's live table decides, not what AddVolume saw: its last shadow copy may have
	 * gone since (the volume is back on its own table), or another set's first one come. */
	r = dmdev_get_table(env->dm, m->vol.name, false, &t);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot read the table of %s: %s", m->vol.name, strerror(-r));
	if (dmsnap_table_first_devno(&t, "snapshot-merge", &real_devno) >= 0) {
		dmdev_table_done(&t);
		return dmsnap_refuse_merging(m->vol.dev_path, err);
	}
	m->vol.converted = dmsnap_table_first_devno(&t, "snapshot-origin", &real_devno) >= 0;
	if (m->vol.converted) {
		/* snapshot-origin names -real: the snapshot reads the same device */
		dmdev_table_done(&t);
		m->vol.real_devno = real_devno;
	} else {
		/* First snapshot of the volume: -real takes over the volume's own table. */
		r = dmsnap_check_plain_targets(&t, m->vol.dev_path, err);
		if (r < 0) {
			dmdev_table_done(&t);
			return r;
		}
		m->own_table = t;
		t = DMDEV_TABLE_NULL;
		snprintf(uuid, sizeof(uuid), DMSNAP_UUID_REAL "%s", id32);
		real_devno = 0;
		r = dmdev_create(env->dm, m->real_name, uuid, &m->own_table, &real_devno);
		if (r < 0) {
			DmdevInfo ri;

			/* (libdm may report a failed create-with-table as EIO, not EBUSY) */
			if (r == -EBUSY ||
			    (dmdev_info(env->dm, m->real_name, &ri) >= 0 && ri.exists))
				return vss_err_set(err, VSS_ERROR_OBJECT_ALREADY_EXISTS, -EEXIST,
				                   "device %s exists already but %s does not use "
				                   "it; remove it (dmsetup remove) if nothing else "
				                   "does",
				                   m->real_name, m->vol.name);
			return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
			                   "cannot create %s: %s", m->real_name, strerror(-r));
		}
		m->real_created = true;
		if (real_devno == 0) { /* the create's answer lacked it: ask */
			DmdevInfo ri;

			r = dmdev_info(env->dm, m->real_name, &ri);
			if (r < 0 || !ri.exists)
				return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR,
				                   r < 0 ? r : -ENODEV, "cannot find %s",
				                   m->real_name);
			real_devno = makedev(ri.major, ri.minor);
		}
	}

	dmsnap_snap_uuid(&m->snap.set_id, &m->snap.id, uuid);
	r = dmdev_create(env->dm, name, uuid, NULL, NULL);
	if (r == -EBUSY)
		return vss_err_set(err, VSS_ERROR_OBJECT_ALREADY_EXISTS, -EEXIST,
		                   "device %s exists already", name);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot create %s: %s", name, strerror(-r));
	m->snap_created = true;
	r = dmdev_table_add(&t, 0, m->vol.sectors, "snapshot", "%u:%u %u:%u %c %u",
	                    major(real_devno), minor(real_devno), major(m->cow_devno),
	                    minor(m->cow_devno), s->persistent ? 'P' : 'N', m->snap.chunk_sectors);
	if (r >= 0)
		r = dmdev_load(env->dm, name, &t);
	dmdev_table_done(&t);
	if (r < 0)
		return vss_err_set(err,
		                   r == -ENOSPC ? VSS_ERROR_INSUFFICIENT_STORAGE
		                                : VSS_ERROR_UNEXPECTED_PROVIDER_ERROR,
		                   r, "cannot load the snapshot table of %s: %s", name,
		                   strerror(-r));
	/* The table holds the loop device now; it goes away with the table (autoclear). */
	closep(&m->loop_fd);

	if (!m->vol.converted) {
		r = dmdev_table_add(&t, 0, m->vol.sectors, "snapshot-origin", "%u:%u",
		                    major(real_devno), minor(real_devno));
		if (r >= 0)
			r = dmdev_load(env->dm, m->vol.name, &t);
		dmdev_table_done(&t);
		if (r < 0)
			return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
			                   "cannot stage the snapshot-origin table of %s: %s",
			                   m->vol.name, strerror(-r));
		m->origin_staged = true;
	}
	return 0;
}

static int check_storage_placement(DmsnapSet *s, VssErr *err)
{
	for (size_t i = 0; i < s->n_members; i++) {
		dev_t sd;
		int r = s->env.host->ops->fs_devno(s->env.host->userdata, s->members[i].storage_dir,
		                                   &sd);

		if (r < 0)
			return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, r,
			                   "shadow storage directory %s is not usable: %s",
			                   s->members[i].storage_dir, strerror(-r));
		for (size_t j = 0; j < s->n_members; j++)
			if (s->members[j].vol.devno == sd)
				return vss_err_set(
					err, VSS_ERROR_INVALID_ARGUMENT, -ELOOP,
					"shadow storage %s of %s lies on %s, a volume of the same "
					"set; put it on a file system outside the set",
					s->members[i].storage_dir, s->members[i].vol.dev_path,
					s->members[j].vol.dev_path);
	}
	return 0;
}

int dmsnap_set_prepare(DmsnapSet *s, VssErr *err)
{
	int r;

	if (s->phase != SET_PHASE_NEW)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "the set was prepared already");
	if (s->n_members == 0)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "the set has no volumes");
	r = check_storage_placement(s, err);
	if (r < 0)
		return r;
	s->phase = SET_PHASE_PREPARED;
	for (size_t i = 0; i < s->n_members; i++) {
		r = member_prepare(s, &s->members[i], err);
		if (r < 0) {
			dmsnap_set_abort(s);
			return r;
		}
	}
	(void)dmdev_settle(s->env.dm);
	return 0;
}

/* The hold watchdog, started (disarmed) once per set: every origin of the set, and the freeze
 * group if there is one by then. */
static int watchdog_ensure(DmsnapSet *s)
{
	_cleanup_strv_free_ char **names = calloc(1, sizeof(char *));
	char label[VSSID_STRING_MAX];

	if (s->watchdog)
		return 0;
	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_members; i++) {
		int r = strv_extend(&names, s->members[i].vol.name);

		if (r < 0)
			return r;
	}
	return watchdog_new(s->env.dm, names, s->freeze, vssid_to_string(&s->id, label),
	                    &s->watchdog);
}

int dmsnap_set_guard(DmsnapSet *s, FreezeGroup *frozen, usec_t timeout, VssErr *err)
{
	int r;

	if (s->phase != SET_PHASE_PREPARED)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY, "the set is not prepared");
	s->phase = SET_PHASE_FROZEN;
	s->freeze = frozen;
	/* No hold without its guaranteed end: from here file systems may be frozen, and a loop
	 * stuck now could not run the flush timer that thaws them. */
	r = watchdog_ensure(s);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_NONE, r, "cannot start the hold watchdog: %s",
		                   strerror(-r));
	watchdog_arm(s->watchdog, timeout);
	return 0;
}

static void mark_frozen(DmsnapSet *s)
{
	for (size_t i = 0; i < s->n_members; i++)
		s->members[i].frozen = s->members[i].vol.mountpoint != NULL;
}

static void thaw_all(DmsnapSet *s)
{
	int r;

	if (!s->freeze)
		return;
	r = freeze_group_thaw(s->freeze);
	if (r < 0)
		log_warning_errno(r, "cannot thaw a file system of the set, ignoring: %m");
}

/* Resumes origins, never leaving one suspended: a failed resume is retried with the staged
 * table dropped, which brings back the table the origin had. */
static int resume_origins(DmsnapSet *s, bool drop_staged)
{
	int ret = 0;

	for (size_t i = 0; i < s->n_members; i++) {
		Member *m = &s->members[i];
		int r;

		if (drop_staged && m->origin_staged) {
			r = dmdev_clear(s->env.dm, m->vol.name);
			if (r < 0)
				log_vol_warning_errno(m->vol.name, r,
				                      "cannot drop the staged table: %m");
			else
				m->origin_staged = false;
		}
		if (!m->origin_suspended)
			continue;
		r = dmdev_resume(s->env.dm, m->vol.name);
		if (r < 0 && m->origin_staged) {
			log_vol_error_errno(m->vol.name, r,
			                    "resume failed, retrying with the old table: %m");
			if (ret == 0 && !drop_staged)
				ret = r; /* running again, but without its snapshot: fail */
			if (dmdev_clear(s->env.dm, m->vol.name) >= 0)
				m->origin_staged = false;
			r = dmdev_resume(s->env.dm, m->vol.name);
		}
		if (r < 0) {
			log_vol_error_errno(m->vol.name, r, "cannot resume: %m");
			if (ret == 0)
				ret = r;
			continue;
		}
		m->origin_suspended = false;
		m->origin_resumed = !drop_staged;
		if (!drop_staged)
			m->origin_staged = false; /* the staged table is live now */
	}
	return ret;
}

/* The hold is over: the loop's own deadline, or the watchdog gave it up already */
static bool hold_over(DmsnapSet *s, usec_t t0)
{
	return env_now(&s->env) - t0 > s->env.hold_timeout || watchdog_fired(s->watchdog);
}

static int hold_timeout_error(DmsnapSet *s, VssErr *err)
{
	if (watchdog_fired(s->watchdog))
		return vss_err_set(err, VSS_ERROR_HOLD_WRITES_TIMEOUT, -ETIME,
		                   "writes were held longer than %" PRIu64
		                   " ms while vssd's event loop was stuck; the hold watchdog "
		                   "resumed and thawed everything",
		                   s->env.hold_timeout / USEC_PER_MSEC);
	return vss_err_set(err, VSS_ERROR_HOLD_WRITES_TIMEOUT, -ETIME,
	                   "writes were held longer than %" PRIu64 " ms; everything was resumed",
	                   s->env.hold_timeout / USEC_PER_MSEC);
}

int dmsnap_set_commit(DmsnapSet *s, bool fs_frozen, usec_t *ret_held, VssErr *err)
{
	const DmsnapEnv *env = &s->env;
	usec_t t0, held = 0;
	bool locked, fired;
	int r = 0;

	/* Not frozen by us (re-activation after a reboot, or FIFREEZE left to the caller): no
	 * waiting here, the loop must not block; each suspend then keeps lockfs, so the kernel
	 * freezes and flushes a mounted file system itself */
	if (s->phase == SET_PHASE_PREPARED)
		s->phase = SET_PHASE_FROZEN;
	if (s->phase != SET_PHASE_FROZEN)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY, "the set is not prepared");
	/* frozen by the set, whether or not the group was lent here (another provider of the
	 * set may commit last and thaw) */
	if (fs_frozen)
		mark_frozen(s);
	fault_point_kill(env->faults, "kill-after-fs-frozen");
	/* the thread exists before mlockall(), so its stack is locked with the rest */
	r = watchdog_ensure(s);
	if (r < 0) {
		vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		            "cannot start the hold watchdog: %s", strerror(-r));
		dmsnap_set_abort(s);
		return r;
	}
	if (watchdog_fired(s->watchdog)) { /* the loop was stuck while frozen: thawed already */
		r = hold_timeout_error(s, err);
		dmsnap_set_abort(s);
		return r;
	}

	/* While I/O is held nothing may page in from, or log to, a held device. */
	locked = mlockall(MCL_CURRENT) >= 0;
	log_begin_buffering();
	t0 = s->hold_start = env_now(env);
	watchdog_arm(s->watchdog, env->hold_timeout);

	for (size_t i = 0; i < s->n_members; i++) {
		Member *m = &s->members[i];
		unsigned flags = 0;

		/* a frozen or unmounted file system needs no lockfs; otherwise the kernel
		 * freezes it (serially) */
		if (m->frozen || !m->vol.mountpoint)
			flags |= DMDEV_SUSPEND_SKIP_LOCKFS;
		r = dmdev_suspend(env->dm, m->vol.name, flags);
		if (r < 0) {
			vss_err_set(err, VSS_ERROR_PROVIDER_VETO, r, "cannot suspend %s: %s",
			            m->vol.dev_path, strerror(-r));
			goto undo;
		}
		m->origin_suspended = true;
		if (i == 0)
			fault_point_kill(env->faults, "kill-after-first-suspend");
		if (hold_over(s, t0))
			goto timeout;
	}
	fault_point_kill(env->faults, "kill-after-last-suspend");
	(void)fault_point_hang(env->faults, "hang-after-suspend", 30000);
	if (hold_over(s, t0))
		goto timeout;
	for (size_t i = 0; i < s->n_members; i++) {
		Member *m = &s->members[i];

		r = dmdev_resume(env->dm, m->snap.snap_name);
		if (r < 0) {
			vss_err_set(err,
			            r == -ENOSPC ? VSS_ERROR_INSUFFICIENT_STORAGE
			                         : VSS_ERROR_UNEXPECTED_PROVIDER_ERROR,
			            r, "cannot activate %s: %s", m->snap.snap_name, strerror(-r));
			goto undo;
		}
		m->snap_resumed = true;
		if (hold_over(s, t0))
			goto timeout;
	}
	fault_point_kill(env->faults, "kill-after-snapshots-resumed");
	/* The instant of the set is behind us: every snapshot is live. */
	r = resume_origins(s, false);
	s->hold_end = env_now(env);
	held = s->hold_end - t0;
	fault_point_kill(env->faults, "kill-after-origins-resumed");
	thaw_all(s);
	/* Fired meanwhile: its resumes may have dropped staged tables, so a snapshot may miss
	 * writes; the set goes. Disarming waits for a fire under way. */
	fired = watchdog_disarm(s->watchdog);
	s->freeze = NULL; /* thawed; the set frees it */
	log_flush_buffer();
	if (locked)
		munlockall();
	(void)dmdev_settle(env->dm);
	if (ret_held)
		*ret_held = held;
	if (r < 0 || fired) {
		if (fired)
			r = hold_timeout_error(s, err);
		else
			vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
			            "cannot resume an origin of the set: %s", strerror(-r));
		/* Every origin runs again; the set is not usable, so it goes as a whole. */
		for (size_t i = 0; i < s->n_members; i++) {
			(void)dmsnap_snapshot_delete(env, &s->members[i].snap, NULL);
			s->members[i].cow_created = s->members[i].snap_created = false;
			s->members[i].real_created = false;
		}
		s->phase = SET_PHASE_ABORTED;
		return r;
	}
	s->phase = SET_PHASE_COMMITTED;
	log_debug("set committed, I/O held %" PRIu64 " us", held);
	return 0;

timeout:
	r = hold_timeout_error(s, err);
undo:
	(void)resume_origins(s, true);
	held = env_now(env) - t0;
	thaw_all(s);
	(void)watchdog_disarm(s->watchdog);
	s->freeze = NULL;
	log_flush_buffer();
	if (locked)
		munlockall();
	if (ret_held)
		*ret_held = held;
	dmsnap_set_abort(s);
	return r;
}

void dmsnap_set_abort(DmsnapSet *s)
{
	const DmsnapEnv *env = &s->env;

	if (s->phase == SET_PHASE_ABORTED || s->phase == SET_PHASE_COMMITTED)
		return;
	/* Nothing stays held: drop staged tables, resume, thaw; the watchdog is done then. */
	(void)resume_origins(s, true);
	thaw_all(s);
	(void)watchdog_disarm(s->watchdog);
	s->freeze = NULL;
	for (size_t i = s->n_members; i-- > 0;) {
		Member *m = &s->members[i];
		int r;

		closep(&m->loop_fd);
		if (m->origin_staged) {
			r = dmdev_clear(env->dm, m->vol.name);
			if (r < 0)
				log_vol_warning_errno(m->vol.name, r,
				                      "cannot drop staged table, ignoring: %m");
			m->origin_staged = false;
		}
		if (m->snap_created) {
			r = dmdev_remove(env->dm, m->snap.snap_name);
			if (r < 0)
				log_snap_warning_errno(m->snap.snap_name, NULL, r,
				                       "cannot remove, ignoring: %m");
			m->snap_created = false;
		}
		if (m->real_created) {
			r = dmdev_remove(env->dm, m->real_name);
			if (r < 0)
				log_vol_warning_errno(m->vol.name, r,
				                      "cannot remove %s, ignoring: %m",
				                      m->real_name);
			m->real_created = false;
		}
		if (m->cow_created) {
			r = env->host->ops->file_remove(env->host->userdata, m->snap.cow_path);
			if (r < 0)
				log_vol_warning_errno(m->vol.name, r,
				                      "cannot remove %s, ignoring: %m",
				                      m->snap.cow_path);
			m->cow_created = false;
		}
	}
	(void)dmdev_settle(env->dm);
	s->phase = SET_PHASE_ABORTED;
}

bool dmsnap_set_is_committed(const DmsnapSet *s)
{
	return s->phase == SET_PHASE_COMMITTED;
}

void dmsnap_set_hold_window(const DmsnapSet *s, usec_t *ret_start, usec_t *ret_end)
{
	*ret_start = s->hold_start;
	*ret_end = s->hold_end;
}
