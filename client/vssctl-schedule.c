/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssctl-schedule.c - schedule run NAME: a schedule's shadow copy set, then its retention */
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <strings.h>

#include "client/vssctl-args.h"
#include "client/vssctl-schedule.h"
#include "client/vssctl-verbs.h"
#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-bus-names.h"
#include "common/vssd-limits.h"

#define KEEP_MAX      512 /* snapshots per volume (DESIGN §4) */
#define MAX_AGE_MAX_S (UINT64_C(100) * 366 * 24 * 3600)

void vssctl_schedule_done(VssctlSchedule *s)
{
	free(s->name);
	strv_free(s->volumes);
	free(s->context);
	free(s->description);
	*s = (VssctlSchedule){ 0 };
}

int vssctl_parse_duration(const char *s, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		uint64_t seconds;
	} units[] = {
		{ "", 1 },   { "s", 1 },    { "sec", 1 },       { "min", 60 },
		{ "m", 60 }, { "h", 3600 }, { "d", 24 * 3600 }, { "w", 7 * 24 * 3600 },
	};
	char digits[24];
	size_t n = strspn(s, "0123456789");
	uint64_t v;
	int r;

	if (n == 0 || n >= sizeof(digits))
		return n == 0 ? -EINVAL : -ERANGE;
	memcpy(digits, s, n);
	digits[n] = 0;
	r = parse_u64(digits, &v);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (streq(s + n, units[i].suffix)) {
			if (v == 0)
				return -EINVAL;
			if (v > MAX_AGE_MAX_S / units[i].seconds)
				return -ERANGE;
			*ret = v * units[i].seconds * USEC_PER_SEC;
			return 0;
		}
	return -EINVAL;
}

typedef struct Parse {
	VssctlSchedule *s;
	char error[512];
	bool has_keep, has_max_age;
} Parse;

static const char *const persistent_contexts[] = {
	"persistent",   "app-rollback", "client-accessible", "client-accessible-writers",
	"nas-rollback",
};

static bool parse_bool(const char *v, bool *ret)
{
	if (streq(v, "yes") || streq(v, "true") || streq(v, "1") || streq(v, "on"))
		*ret = true;
	else if (streq(v, "no") || streq(v, "false") || streq(v, "0") || streq(v, "off"))
		*ret = false;
	else
		return false;
	return true;
}

_printf_(2, 3) static int parse_fail(Parse *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
	return 0; /* inih: stop here, ini_parse_file() returns this line */
}

static int on_entry(void *userdata, const char *section, const char *key, const char *value)
{
	Parse *p = userdata;
	VssctlSchedule *s = p->s;
	uint64_t u;
	int r;

	if (!streq(section, "schedule"))
		return parse_fail(p, "unknown section [%.64s]; the keys go in [schedule]", section);
	if (streq(key, "volumes")) {
		_cleanup_free_ char *copy = strdup(value);
		char *save = NULL;

		if (!copy)
			return parse_fail(p, "out of memory");
		for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
			if (!valid_abs_path(w))
				return parse_fail(p, "volumes: \"%.128s\" is not an absolute path",
				                  w);
			if (strv_contains(s->volumes, w))
				return parse_fail(p, "volumes: %.128s is named twice", w);
			if (strv_length(s->volumes) >= VSSD_VOLUMES_PER_SET_MAX)
				return parse_fail(p, "volumes: more than %d volumes in one set",
				                  VSSD_VOLUMES_PER_SET_MAX);
			if (strv_extend(&s->volumes, w) < 0)
				return parse_fail(p, "out of memory");
		}
		return 1;
	}
	if (streq(key, "context")) {
		bool ok = false;

		for (size_t i = 0; i < ELEMENTSOF(persistent_contexts); i++)
			ok = ok || streq(value, persistent_contexts[i]);
		if (!ok)
			return parse_fail(p,
			                  "context: \"%.64s\" is not a persistent context; use "
			                  "persistent, app-rollback, client-accessible, "
			                  "client-accessible-writers or nas-rollback (a backup "
			                  "context's copies would go when vssctl exits)",
			                  value);
		free(s->context);
		s->context = strdup(value);
		return s->context ? 1 : parse_fail(p, "out of memory");
	}
	if (streq(key, "description")) {
		if (!valid_text(value, VSSD_STRING_MAX))
			return parse_fail(p,
			                  "description: 1 to %d bytes without control characters",
			                  VSSD_STRING_MAX);
		free(s->description);
		s->description = strdup(value);
		return s->description ? 1 : parse_fail(p, "out of memory");
	}
	if (streq(key, "no-writers")) {
		if (!parse_bool(value, &s->no_writers))
			return parse_fail(p, "no-writers: \"%.32s\" is not yes or no", value);
		return 1;
	}
	if (streq(key, "keep")) {
		r = parse_u64(value, &u);
		if (r < 0 || u < 1 || u > KEEP_MAX)
			return parse_fail(p, "keep: \"%.32s\" is not a count from 1 to %d", value,
			                  KEEP_MAX);
		s->keep = (unsigned)u;
		p->has_keep = true;
		return 1;
	}
	if (streq(key, "max-age")) {
		r = vssctl_parse_duration(value, &s->max_age_usec);
		if (r < 0)
			return parse_fail(
				p,
				"max-age: \"%.32s\" is not a duration such as 90s, 30min, "
				"12h, 7d or 2w (at least 1 s, at most 100 years)",
				value);
		p->has_max_age = true;
		return 1;
	}
	return parse_fail(p,
	                  "unknown key \"%.64s\"; use volumes, context, description, "
	                  "no-writers, keep or max-age",
	                  key);
}

int vssctl_schedule_load(const char *dir, const char *name, VssctlSchedule *ret)
{
	_cleanup_(vssctl_schedule_done) VssctlSchedule s = { 0 };
	_cleanup_free_ char *path = NULL;
	Parse p = { .s = &s };
	FILE *f;
	int line;

	if (!valid_schedule_name(name))
		return log_error_errno(-EINVAL, "\"%s\" is not a schedule name", name);
	if (asprintf(&path, "%s/%s.conf", dir, name) < 0)
		return log_oom();
	f = fopen(path, "re");
	if (!f)
		return log_error_errno(-errno, "schedule %s: cannot open %s: %m", name, path);
	line = ini_parse_file(f, on_entry, &p);
	fclose(f);
	if (line < 0)
		return log_error_errno(-EIO, "%s: cannot read it", path);
	if (line > 0)
		return log_error_errno(-EINVAL, "%s:%d: %s", path, line,
		                       p.error[0] ? p.error : "not a key = value line");
	if (!s.volumes)
		return log_error_errno(-EINVAL, "%s: no volumes: add \"volumes = /dev/...\"", path);
	if (!p.has_keep && !p.has_max_age)
		return log_error_errno(-EINVAL,
		                       "%s: neither keep nor max-age: the schedule's copies would "
		                       "pile up until the storage is full; set one or both",
		                       path);
	if (!s.context && !(s.context = strdup("client-accessible-writers")))
		return log_oom();
	if (!s.description && asprintf(&s.description, "schedule %s", name) < 0)
		return log_oom();
	if (!(s.name = strdup(name)))
		return log_oom();
	*ret = s;
	s = (VssctlSchedule){ 0 };
	return 0;
}

typedef struct Made {
	const char *id;
	uint64_t time;
} Made;

static int made_newest_first(const void *a, const void *b)
{
	const Made *x = a, *y = b;

	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	return strcmp(x->id, y->id);
}

int vssctl_schedule_prune_plan(const VssctlSchedule *s, const BusValue *objects, uint64_t now_usec,
                               const char *keep_id, char ***ret)
{
	_cleanup_free_ Made *l = NULL;
	_cleanup_(strv_freep) char **del = NULL;
	size_t n = 0;

	l = calloc(objects->n + 1, sizeof(Made));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < objects->n; i++) {
		const BusValue *p = busutil_dict_get(&objects->items[i], VSSD_IFACE_SET);
		const char *id = busutil_dict_get_string(p, "Id");
		const char *state = busutil_dict_get_string(p, "State");
		uint64_t t;

		if (!p || !id || !streq_ptr(busutil_dict_get_string(p, "Schedule"), s->name))
			continue;
		/* a set still being made or taken apart is not the schedule's to count yet */
		if (!state || (!streq(state, "created") && !streq(state, "completed")))
			continue;
		if (busutil_dict_get_u64(p, "CreationTime", &t) < 0)
			continue;
		l[n++] = (Made){ .id = id, .time = t };
	}
	qsort(l, n, sizeof(Made), made_newest_first);
	for (size_t i = n; i-- > 0;) { /* oldest first */
		bool too_many = s->keep > 0 && i >= s->keep;
		bool too_old = s->max_age_usec > 0 && now_usec > l[i].time &&
		               now_usec - l[i].time > s->max_age_usec;

		if (keep_id && streq(l[i].id, keep_id))
			continue;
		if ((too_many || too_old) && strv_extend(&del, l[i].id) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(del);
	return 0;
}

static int delete_set(Vssctl *v, const char *id, unsigned *ret_count)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL, *reply = NULL;
	DBusMessageIter it, d;
	dbus_uint32_t count;
	int r;

	r = busutil_new_method_call(VSSD_BUS_NAME, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER,
	                            "DeleteSnapshots", &m);
	if (r < 0)
		return log_oom();
	dbus_message_iter_init_append(m, &it);
	if (busmsg_dict_open(&it, &d) < 0)
		return log_oom();
	if (busmsg_dict_append_string(&d, "set", id) < 0) {
		busmsg_dict_abandon(&it, &d);
		return log_oom();
	}
	if (busmsg_dict_close(&it, &d) < 0)
		return log_oom();
	r = vssctl_call(v, m, vssctl_timeout(v, false), &reply);
	if (r < 0)
		return r;
	if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_UINT32, &count, DBUS_TYPE_INVALID))
		return log_error_errno(-EBADMSG, "unexpected reply to DeleteSnapshots");
	*ret_count = count;
	return 0;
}

int vssctl_schedule_run(Vssctl *v, const char *dir)
{
	_cleanup_(vssctl_schedule_done) VssctlSchedule s = { 0 };
	_cleanup_(busutil_value_freep) BusValue *objects = NULL;
	_cleanup_(strv_freep) char **del = NULL;
	char set_id[VSSID_STRING_MAX] = "";
	VssctlArgs a = *v->args;
	Vssctl c = *v;
	struct timespec ts;
	int r, ret = 0;

	r = vssctl_schedule_load(dir, v->args->schedule, &s);
	if (r < 0)
		return r;
	a.volumes = s.volumes;
	a.context = s.context;
	a.description = s.description;
	a.no_writers = s.no_writers;
	a.schedule = s.name;
	c.args = &a;
	/* no new set, no pruning: the old copies are all there is */
	r = vssctl_create_shadow(&c, set_id);
	if (r < 0)
		return log_error_errno(r, "schedule %s: no shadow copy made, none deleted", s.name);

	r = vssctl_managed_objects(v, &objects);
	if (r < 0)
		return r;
	clock_gettime(CLOCK_REALTIME, &ts);
	r = vssctl_schedule_prune_plan(
		&s, &objects->items[0],
		(uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000, set_id, &del);
	if (r < 0)
		return log_oom();
	for (char **i = del; i && *i; i++) {
		unsigned count = 0;

		r = delete_set(v, *i, &count);
		if (r < 0) {
			ret = r; /* the others still go */
			continue;
		}
		if (!a.json)
			fprintf(v->out, "Schedule %s: deleted set %s (%u shadow cop%s)\n", s.name,
			        *i, count, count == 1 ? "y" : "ies");
	}
	if (!a.json)
		fprintf(v->out,
		        "Schedule %s: %zu set%s deleted by retention (keep %u, max-age %" PRIu64
		        " s)\n",
		        s.name, strv_length(del), strv_length(del) == 1 ? "" : "s", s.keep,
		        s.max_age_usec / USEC_PER_SEC);
	return ret;
}
