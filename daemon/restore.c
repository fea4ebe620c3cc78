/* SPDX-License-Identifier: GPL-2.0-or-later */
/* restore.c - restore sessions (VSS's InitializeForRestore...PostRestore): the state machine, the
 * selection, the writers found again by class id and instance name, PreRestore and PostRestore */
#include <strings.h>

#include "common/escape.h"
#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/restore.h"
#include "daemon/writer.h"

static const char *const state_names[_RESTORE_STATE_MAX] = {
	[RESTORE_STATE_INITIALIZED] = "initialized",
	[RESTORE_STATE_GATHERED] = "gathered",
	[RESTORE_STATE_PRE_RESTORING] = "pre-restoring",
	[RESTORE_STATE_PRE_RESTORED] = "pre-restored",
	[RESTORE_STATE_POST_RESTORING] = "post-restoring",
	[RESTORE_STATE_POST_RESTORED] = "post-restored",
};

static const char *const file_status_names[_RESTORE_FILE_STATUS_MAX] = {
	[RESTORE_FILE_STATUS_UNDEFINED] = "undefined",
	[RESTORE_FILE_STATUS_NONE] = "none",
	[RESTORE_FILE_STATUS_ALL] = "all",
	[RESTORE_FILE_STATUS_FAILED] = "failed",
};

/* VSS_RESTORE_TYPE in kebab-case (UNDEFINED is no choice) */
static const char *const restore_types[] = { "by-copy", "import", "other", NULL };

#define RESTORE_OPTIONS_MAX 4096 /* bytes of restore-options text */

const char *restore_state_to_string(RestoreState s)
{
	return s >= 0 && s < _RESTORE_STATE_MAX ? state_names[s] : NULL;
}

const char *restore_file_status_to_string(RestoreFileStatus s)
{
	return s >= 0 && s < _RESTORE_FILE_STATUS_MAX ? file_status_names[s] : NULL;
}

RestoreFileStatus restore_file_status_from_string(const char *s)
{
	/* undefined is where a component starts, not something a requester may set */
	for (int i = RESTORE_FILE_STATUS_NONE; i < _RESTORE_FILE_STATUS_MAX; i++)
		if (streq_ptr(s, file_status_names[i]))
			return i;
	return _RESTORE_FILE_STATUS_INVALID;
}

bool restore_type_valid(const char *s)
{
	for (const char *const *t = restore_types; *t; t++)
		if (streq_ptr(s, *t))
			return true;
	return false;
}

/* ---- registry -------------------------------------------------------------------------------- */

RestoreSession *restore_find(Daemon *d, const VssId *id)
{
	for (size_t i = 0; i < d->n_restores; i++)
		if (vssid_equal(&d->restores[i]->id, id))
			return d->restores[i];
	return NULL;
}

static void writers_done(RestoreSession *s)
{
	for (size_t i = 0; i < s->n_writers; i++) {
		RestoreWriter *rw = &s->writers[i];

		for (size_t c = 0; rw->components && c < rw->doc->n_components; c++) {
			free(rw->components[c].restore_options);
			free(rw->components[c].new_target);
			free(rw->components[c].restore_type);
		}
		free(rw->components);
		free(rw->last_error);
		free(rw->failure_message);
	}
	free(s->writers);
	s->writers = NULL;
	s->n_writers = 0;
}

RestoreSession *restore_free(RestoreSession *s)
{
	Daemon *d;

	if (!s)
		return NULL;
	d = s->d;
	writer_broadcast_cancel(s->bcast);
	s->bcast = NULL;
	if (s->done) { /* a PreRestore or PostRestore under way: its caller hears it ended */
		RestoreDoneFn done = TAKE_PTR(s->done);
		VssErr err = { 0 };

		vss_err_set(&err, VSS_ERROR_BAD_STATE, -ECANCELED,
		            "restore session %s was released while writers were called", s->id_str);
		done(s, -ECANCELED, &err, TAKE_PTR(s->done_userdata));
	}
	for (size_t i = 0; i < d->n_restores; i++)
		if (d->restores[i] == s) {
			memmove(d->restores + i, d->restores + i + 1,
			        (d->n_restores - i - 1) * sizeof(*d->restores));
			d->n_restores--;
			break;
		}
	if (s->exported)
		bus_remove_object(&d->bus, s->path);
	writers_done(s);
	document_done(&s->doc);
	free(s->owner);
	free(s);
	return NULL;
}

void restores_peer_gone(Daemon *d, const char *name)
{
	for (size_t i = d->n_restores; i-- > 0;) {
		RestoreSession *s = d->restores[i];

		if (name && !streq_ptr(s->owner, name))
			continue;
		log_info("restore=%s: owner %s %s, releasing", s->id_str, strempty(s->owner),
		         name ? "left the bus" : "is cut off by the shutdown");
		restore_free(s);
	}
}

int restore_new(Daemon *d, const char *owner, uid_t uid, const char *document, RestoreSession **ret,
                VssErr *err)
{
	_cleanup_(restore_freep) RestoreSession *s = NULL;
	RestoreSession **n;
	unsigned owned = 0;
	int r;

	for (size_t i = 0; i < d->n_restores; i++)
		owned += d->restores[i]->owner_uid == uid;
	if (owned >= VSSD_RESTORES_PER_UID_MAX)
		return vss_err_set(err, VSS_ERROR_ACCESS_DENIED, -EACCES,
		                   "uid %u holds %u restore sessions already (at most %u); release "
		                   "some first",
		                   (unsigned)uid, owned, VSSD_RESTORES_PER_UID_MAX);
	if (d->n_restores >= VSSD_RESTORES_MAX)
		return vss_err_set(err, VSS_ERROR_ACCESS_DENIED, -EACCES,
		                   "%zu restore sessions are open (at most %u); retry later",
		                   d->n_restores, VSSD_RESTORES_MAX);

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->d = d;
	s->owner_uid = uid;
	s->owner = strdup(owner);
	if (!s->owner)
		return -ENOMEM;
	/* not in the daemon's list yet: restore_free() of the half-built one finds nothing there */
	r = document_from_json(document, &s->doc, err);
	if (r < 0)
		return r;
	s->writers = calloc(s->doc.n_writers ? s->doc.n_writers : 1, sizeof(RestoreWriter));
	if (!s->writers)
		return -ENOMEM;
	s->n_writers = s->doc.n_writers;
	for (size_t i = 0; i < s->n_writers; i++) {
		RestoreWriter *rw = &s->writers[i];

		rw->doc = &s->doc.writers[i];
		rw->state = WRITER_STATE_STABLE;
		rw->components = calloc(rw->doc->n_components ? rw->doc->n_components : 1,
		                        sizeof(RestoreComponent));
		if (!rw->components)
			return -ENOMEM;
	}
	vssid_generate(&s->id);
	vssid_to_string(&s->id, s->id_str);
	if (!bus_object_path("restore", &s->id, s->path, sizeof(s->path)))
		return -EINVAL;

	n = reallocarray(d->restores, d->n_restores + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	d->restores = n;
	d->restores[d->n_restores++] = s;
	*ret = TAKE_PTR(s);
	return 0;
}

/* ---- the state machine ----------------------------------------------------------------------- */

static const struct {
	const char *call;
	uint32_t states; /* bits of RestoreState */
	const char *hint;
} calls[] = {
	{ "GatherWriterMetadata", 1u << RESTORE_STATE_INITIALIZED | 1u << RESTORE_STATE_GATHERED,
	  "call it before PreRestore" },
	{ "SetSelectedForRestore", 1u << RESTORE_STATE_GATHERED,
	  "call GatherWriterMetadata first, and select before PreRestore" },
	{ "PreRestore", 1u << RESTORE_STATE_GATHERED,
	  "call GatherWriterMetadata first; PreRestore runs once" },
	{ "SetFileRestoreStatus", 1u << RESTORE_STATE_PRE_RESTORED,
	  "call it between PreRestore and PostRestore" },
	{ "PostRestore", 1u << RESTORE_STATE_PRE_RESTORED, "call PreRestore first; it runs once" },
	{ "GatherWriterStatus",
	  1u << RESTORE_STATE_PRE_RESTORED | 1u << RESTORE_STATE_POST_RESTORED,
	  "call it after PreRestore or PostRestore has finished" },
	{ "Release", ~(1u << RESTORE_STATE_PRE_RESTORING | 1u << RESTORE_STATE_POST_RESTORING),
	  "wait for PreRestore or PostRestore to finish" },
};

int restore_check_state(RestoreSession *s, const char *call, VssErr *err)
{
	for (size_t i = 0; i < ELEMENTSOF(calls); i++)
		if (streq(calls[i].call, call)) {
			if (calls[i].states & (1u << s->state))
				return 0;
			return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
			                   "restore session %s is %s: %s is out of order (%s)",
			                   s->id_str, restore_state_to_string(s->state), call,
			                   calls[i].hint);
		}
	return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY, "unknown call %s", call);
}

/* The registered writer of the same class id and instance name as the document's (VSS finds a
 * writer again by both: its instance id changes when it restarts) */
static Writer *match_writer(Daemon *d, const DocWriter *dw)
{
	for (size_t i = 0; i < d->n_writers; i++) {
		Writer *w = d->writers[i];

		if (w->class_id && strcasecmp(w->class_id, dw->class_id) == 0 &&
		    streq(strempty(w->instance_name), strempty(dw->instance_name)))
			return w;
	}
	return NULL;
}

static void rematch(RestoreSession *s)
{
	for (size_t i = 0; i < s->n_writers; i++) {
		Writer *w = match_writer(s->d, s->writers[i].doc);

		s->writers[i].present = w;
		if (w)
			s->writers[i].current = w->instance_id;
	}
}

int restore_gather(RestoreSession *s, VssErr *err)
{
	int r = restore_check_state(s, "GatherWriterMetadata", err);

	if (r < 0)
		return r;
	rematch(s);
	s->state = RESTORE_STATE_GATHERED;
	return 0;
}

int restore_find_component(RestoreSession *s, const char *instance_id, const char *name,
                           size_t *ret_writer, size_t *ret_component, VssErr *err)
{
	VssId want;

	if (vssid_from_string(instance_id, &want) < 0)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "instance-id \"%.64s\" is not a UUID", instance_id);
	for (size_t i = 0; i < s->n_writers; i++) {
		const DocWriter *dw = s->writers[i].doc;
		VssId have;

		if (vssid_from_string(dw->instance_id, &have) < 0 || !vssid_equal(&want, &have))
			continue;
		for (size_t c = 0; c < dw->n_components; c++)
			if (streq(dw->components[c].name, name)) {
				*ret_writer = i;
				*ret_component = c;
				return 0;
			}
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "writer %s (%s) of the document has no component \"%.64s\"",
		                   dw->instance_id, dw->name, name);
	}
	return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
	                   "the document has no writer of instance-id %s", instance_id);
}

static int set_text(char **dst, const char *value)
{
	char *v = NULL;

	if (value && !(v = strdup(value)))
		return -ENOMEM;
	free(*dst);
	*dst = v;
	return 0;
}

int restore_select_check(RestoreSession *s, size_t wi, size_t ci, const char *restore_options,
                         const char *new_target, const char *restore_type, VssErr *err)
{
	const DocComponent *dc = &s->writers[wi].doc->components[ci];
	int r = restore_check_state(s, "SetSelectedForRestore", err);

	if (r < 0)
		return r;
	if (!dc->selected)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "component \"%.64s\" of writer %s was not part of this backup",
		                   dc->name, s->writers[wi].doc->instance_id);
	if (restore_options && !valid_text_or_empty(restore_options, RESTORE_OPTIONS_MAX))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "restore-options: longer than %u bytes or holds control "
		                   "characters",
		                   RESTORE_OPTIONS_MAX);
	if (new_target && !valid_abs_path(new_target))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "new-target: \"%.64s\" is not an absolute path", new_target);
	if (restore_type && !restore_type_valid(restore_type))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "restore-type: \"%.64s\" is not by-copy, import or other",
		                   restore_type);
	return 0;
}

int restore_select(RestoreSession *s, size_t wi, size_t ci, const char *restore_options,
                   const char *new_target, const char *restore_type, VssErr *err)
{
	RestoreComponent *c = &s->writers[wi].components[ci];
	int r = restore_select_check(s, wi, ci, restore_options, new_target, restore_type, err);

	if (r < 0)
		return r;
	if (set_text(&c->restore_options, restore_options) < 0 ||
	    set_text(&c->new_target, new_target) < 0 ||
	    set_text(&c->restore_type, restore_type ? restore_type : "by-copy") < 0)
		return -ENOMEM;
	c->selected = true;
	return 0;
}

int restore_file_status_check(RestoreSession *s, size_t wi, size_t ci, VssErr *err)
{
	int r = restore_check_state(s, "SetFileRestoreStatus", err);

	if (r < 0)
		return r;
	if (!s->writers[wi].components[ci].selected)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "component \"%.64s\" of writer %s is not selected for restore",
		                   s->writers[wi].doc->components[ci].name,
		                   s->writers[wi].doc->instance_id);
	return 0;
}

int restore_set_file_status(RestoreSession *s, size_t wi, size_t ci, RestoreFileStatus st,
                            VssErr *err)
{
	int r = restore_file_status_check(s, wi, ci, err);

	if (r < 0)
		return r;
	if (st < RESTORE_FILE_STATUS_NONE || st >= _RESTORE_FILE_STATUS_MAX)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "status: must be none, all or failed");
	s->writers[wi].components[ci].file_status = st;
	return 0;
}

static bool writer_has_selection(const RestoreWriter *rw, bool skip_failed)
{
	for (size_t c = 0; c < rw->doc->n_components; c++)
		if (rw->components[c].selected && !(skip_failed && rw->components[c].failed))
			return true;
	return false;
}

static RestoreWriter *restore_writer_of(RestoreSession *s, const Writer *w)
{
	for (size_t i = 0; i < s->n_writers; i++)
		if (s->writers[i].called && vssid_equal(&s->writers[i].current, &w->instance_id))
			return &s->writers[i];
	return NULL;
}

int restore_append_writer_info(const Writer *w, DBusMessageIter *it, void *userdata)
{
	RestoreSession *s = userdata;
	RestoreWriter *rw = restore_writer_of(s, w);
	bool post = s->state == RESTORE_STATE_POST_RESTORING;
	DBusMessageIter dict, e, v, arr, comp;
	int r;

	if (bus_dict_open(it, &dict) < 0)
		return -ENOMEM;
	if (rw) {
		if (bus_dict_add_string(&dict, "backup-set", s->doc.set_id) < 0 ||
		    bus_dict_add_string(&dict, "backup-type", s->doc.backup_type) < 0 ||
		    bus_dict_add_string(&dict, "context", s->doc.context) < 0 ||
		    bus_dict_add_string(&dict, "backup-instance-id", rw->doc->instance_id) < 0 ||
		    busmsg_entry_open(&dict, "components", "aa{sv}", &e, &v) < 0)
			return -ENOMEM;
		if (!dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &arr))
			return busmsg_entry_close(&dict, &e, &v, -ENOMEM);
		for (size_t c = 0; c < rw->doc->n_components; c++) {
			const RestoreComponent *rc = &rw->components[c];
			const DocComponent *dc = &rw->doc->components[c];

			if (!rc->selected || (post && rc->failed))
				continue;
			if (bus_dict_open(&arr, &comp) < 0 ||
			    bus_dict_add_string(&comp, "name", dc->name) < 0 ||
			    (dc->backup_stamp &&
			     bus_dict_add_string(&comp, "backup-stamp", dc->backup_stamp) < 0) ||
			    (dc->backup_metadata && bus_dict_add_string(&comp, "backup-metadata",
			                                                dc->backup_metadata) < 0) ||
			    (dc->succeeded != DOC_RESULT_UNKNOWN &&
			     bus_dict_add_bool(&comp, "backup-succeeded",
			                       dc->succeeded == DOC_RESULT_SUCCEEDED) < 0) ||
			    (rc->restore_options && bus_dict_add_string(&comp, "restore-options",
			                                                rc->restore_options) < 0) ||
			    (rc->new_target &&
			     bus_dict_add_string(&comp, "new-target", rc->new_target) < 0) ||
			    bus_dict_add_string(&comp, "restore-type", rc->restore_type) < 0 ||
			    (post && bus_dict_add_string(
					     &comp, "file-restore-status",
					     restore_file_status_to_string(rc->file_status)) < 0) ||
			    bus_dict_close(&arr, &comp) < 0)
				return -ENOMEM;
		}
		r = dbus_message_iter_close_container(&v, &arr) ? 0 : -ENOMEM;
		if (busmsg_entry_close(&dict, &e, &v, r) < 0)
			return -ENOMEM;
	}
	return bus_dict_close(it, &dict);
}

/* The broadcast is over: each writer called tells the session how it went */
static void on_writers_done(WriterBroadcast *b, int r, const VssErr *err, void *userdata)
{
	RestoreSession *s = userdata;
	bool post = s->state == RESTORE_STATE_POST_RESTORING;
	WriterState failed =
		post ? WRITER_STATE_FAILED_AT_POST_RESTORE : WRITER_STATE_FAILED_AT_PRE_RESTORE;
	RestoreDoneFn done = s->done;
	void *done_userdata = s->done_userdata;

	writer_broadcast_cancel(b);
	s->bcast = NULL;
	for (size_t i = 0; i < s->n_writers; i++) {
		RestoreWriter *rw = &s->writers[i];
		Writer *w;

		if (!rw->called || (post && !writer_has_selection(rw, true)))
			continue;
		w = writer_find(s->d, &rw->current);
		if (w) {
			rw->state = w->state == failed ? failed : WRITER_STATE_STABLE;
			(void)set_text(&rw->last_error, w->state == failed ? w->last_error : "");
			(void)set_text(&rw->failure_message,
			               w->state == failed ? w->failure_message : "");
		} else {
			rw->state = failed;
			(void)set_text(&rw->last_error, "VSS_E_WRITER_NOT_RESPONDING");
			(void)set_text(&rw->failure_message, "the writer left the bus");
		}
		if (rw->state == failed) {
			for (size_t c = 0; c < rw->doc->n_components; c++)
				if (rw->components[c].selected)
					rw->components[c].failed = true;
			log_notice("restore=%s writer=%s: %s failed, its components fail",
			           s->id_str, rw->doc->instance_id,
			           post ? "PostRestore" : "PreRestore");
		}
	}
	s->state = post ? RESTORE_STATE_POST_RESTORED : RESTORE_STATE_PRE_RESTORED;
	s->done = NULL;
	s->done_userdata = NULL;
	if (done)
		done(s, 0, NULL, done_userdata);
}

static int send_event(RestoreSession *s, WriterEvent ev, RestoreDoneFn done, void *userdata,
                      VssErr *err)
{
	bool post = ev == WRITER_EVENT_POST_RESTORE;
	_cleanup_free_ VssId *ids = calloc(s->n_writers ? s->n_writers : 1, sizeof(VssId));
	size_t n = 0;
	WriterEventArgs args = {
		.set_id = s->id_str,
		.backup_type = s->doc.backup_type,
		.context = s->doc.context,
		.append_info = restore_append_writer_info,
		.info_userdata = s,
	};
	RestoreState prev = s->state;
	int r;

	if (!ids)
		return -ENOMEM;
	if (!post)
		rematch(s); /* a writer may have restarted since GatherWriterMetadata */
	for (size_t i = 0; i < s->n_writers; i++) {
		RestoreWriter *rw = &s->writers[i];

		if (!post)
			rw->called = rw->present && writer_has_selection(rw, false);
		if (rw->called && writer_has_selection(rw, post))
			ids[n++] = rw->current;
	}
	s->state = post ? RESTORE_STATE_POST_RESTORING : RESTORE_STATE_PRE_RESTORING;
	s->done = done;
	s->done_userdata = userdata;
	log_info("restore=%s: %s to %zu writers", s->id_str, post ? "PostRestore" : "PreRestore",
	         n);
	r = writer_broadcast_start(s->d, ev, ids, n, &args, on_writers_done, s, &s->bcast);
	if (r < 0) {
		s->state = prev;
		s->done = NULL;
		s->done_userdata = NULL;
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot send %s: %s", post ? "PostRestore" : "PreRestore",
		                   strerror(-r));
	}
	return 0;
}

int restore_pre_restore(RestoreSession *s, RestoreDoneFn done, void *userdata, VssErr *err)
{
	int r = restore_check_state(s, "PreRestore", err);

	return r < 0 ? r : send_event(s, WRITER_EVENT_PRE_RESTORE, done, userdata, err);
}

int restore_post_restore(RestoreSession *s, RestoreDoneFn done, void *userdata, VssErr *err)
{
	int r = restore_check_state(s, "PostRestore", err);

	return r < 0 ? r : send_event(s, WRITER_EVENT_POST_RESTORE, done, userdata, err);
}

int restore_release(RestoreSession *s, VssErr *err)
{
	int r = restore_check_state(s, "Release", err);

	if (r < 0)
		return r;
	log_info("restore=%s: released by %s", s->id_str, strempty(s->owner));
	restore_free(s);
	return 0;
}
