/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapset-document.c - a set's per-component results (SetBackupSucceeded, BackupResults), what
 * writers set on their components (backup stamps, backup metadata, failures) and its backup
 * document */
#include "common/busmsg.h"
#include "common/escape.h"
#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/document.h"
#include "daemon/provider.h"
#include "daemon/snapset-internal.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "daemon/writer.h"

/* ---- per-component results ------------------------------------------------------------------- */

/* The entry of component (writer id, name) in s->results, or NULL */
static char **find_result(Snapset *s, const char *wid, const char *name)
{
	for (char **r = s->results; r && r[0] && r[1] && r[2]; r += 3)
		if (streq(r[0], wid) && streq(r[1], name))
			return r;
	return NULL;
}

/* Is component (writer id, name) part of the backup: selected by SetComponents, or every
 * component of a writer taking part when there was no selection */
static bool component_selected(const Snapset *s, const Writer *w, const char *name)
{
	if (!s->components_set)
		return true;
	for (char **c = s->components; c && c[0] && c[1]; c += 2)
		if (streq(c[0], w->id_str) && streq(c[1], name))
			return true;
	return false;
}

static bool writer_involved(const Snapset *s, const Writer *w)
{
	for (size_t i = 0; i < s->n_involved; i++)
		if (vssid_equal(&s->involved[i], &w->instance_id))
			return true;
	return false;
}

int snapset_set_backup_succeeded(Snapset *s, const char *id, const char *name, bool succeeded,
                                 bool check_only, VssErr *err)
{
	Writer *w;
	char **r;
	VssId wid;

	if (s->state != SNAPSET_STATE_CREATED)
		return vss_err_set(
			err, VSS_ERROR_BAD_STATE, -EBUSY,
			"SetBackupSucceeded comes after DoSnapshotSet succeeded and before "
			"BackupComplete (the set is %s)",
			snapset_state_to_string(s->state));
	if (vssid_from_string(id, &wid) < 0)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "instance-id \"%.64s\" is not a UUID", bus_safe_string(id));
	w = writer_find(s->d, &wid);
	if (!w || !writer_involved(s, w))
		return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
		                   "writer %s takes no part in this set (GatherWriterStatus lists "
		                   "those that do; one that failed is out of it)",
		                   id);
	if (!writer_has_component(w, name) || !component_selected(s, w, name))
		return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
		                   "component \"%.64s\" of writer \"%s\" (%s) is not part of this "
		                   "backup",
		                   bus_safe_string(name), w->name, w->id_str);
	if (check_only)
		return 0;
	r = find_result(s, w->id_str, name);
	if (r) {
		r[2][0] = succeeded ? '1' : '0';
		return 0;
	}
	if (strv_extend(&s->results, w->id_str) < 0 || strv_extend(&s->results, name) < 0 ||
	    strv_extend(&s->results, succeeded ? "1" : "0") < 0)
		return -ENOMEM;
	return 0;
}

/* ---- what writers set on their components -----------------------------------------------------
 */

void snapset_stamps_free(Snapset *s)
{
	for (size_t i = 0; i < s->n_stamps; i++) {
		free(s->stamps[i].writer_id);
		free(s->stamps[i].name);
		free(s->stamps[i].backup_stamp);
		free(s->stamps[i].backup_metadata);
		free(s->stamps[i].failure_message);
	}
	free(s->stamps);
	s->stamps = NULL;
	s->n_stamps = 0;
	s->stamp_bytes = 0;
}

static SnapsetStamp *find_stamp(const Snapset *s, const char *wid, const char *name)
{
	for (size_t i = 0; i < s->n_stamps; i++)
		if (streq(s->stamps[i].writer_id, wid) && streq(s->stamps[i].name, name))
			return &s->stamps[i];
	return NULL;
}

/* One entry of an answer's "components": name s, and any of backup-stamp s, backup-metadata s,
 * failure-message s (keys this version does not know are skipped, as in Identify's answer) */
typedef struct StampInput {
	const char *name, *stamp, *metadata, *failure;
} StampInput;

static int read_stamp_entry(Snapset *s, Writer *w, DBusMessageIter *entry, size_t idx,
                            StampInput *in, VssErr *err)
{
	DBusMessageIter d, v;
	const char *key;

	*in = (StampInput){ 0 };
	dbus_message_iter_recurse(entry, &d);
	while (busmsg_dict_next(&d, &key, &v) > 0) {
		const char **dst = streq(key, "name")              ? &in->name
		                   : streq(key, "backup-stamp")    ? &in->stamp
		                   : streq(key, "backup-metadata") ? &in->metadata
		                   : streq(key, "failure-message") ? &in->failure
		                                                   : NULL;

		if (!dst)
			continue;
		if (busmsg_get_string(&v, dst) < 0)
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "components[%zu].%s is not a string", idx, key);
	}
	if (!in->name || !valid_text(in->name, VSSD_STRING_MAX))
		return vss_err_set(
			err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			"components[%zu].name is missing or not text of at most %d bytes", idx,
			VSSD_STRING_MAX);
	if (!writer_has_component(w, in->name) || !component_selected(s, w, in->name))
		return vss_err_set(
			err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
			"components[%zu]: \"%.64s\" is not one of its components in this "
			"backup",
			idx, bus_safe_string(in->name));
	if (in->stamp && !valid_text_or_empty(in->stamp, DOC_STAMP_MAX))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "components[%zu].backup-stamp is longer than %d bytes or holds "
		                   "control characters",
		                   idx, DOC_STAMP_MAX);
	if (in->metadata && !valid_text_or_empty(in->metadata, DOC_STAMP_MAX))
		return vss_err_set(
			err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			"components[%zu].backup-metadata is longer than %d bytes or holds "
			"control characters",
			idx, DOC_STAMP_MAX);
	if (in->failure && !valid_text(in->failure, DOC_FAILURE_MAX))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "components[%zu].failure-message is empty, longer than %d bytes "
		                   "or holds control characters",
		                   idx, DOC_FAILURE_MAX);
	return 0;
}

static int replace_text(char **dst, const char *src)
{
	char *n;

	if (!src)
		return 0;
	n = strdup(src);
	if (!n)
		return -ENOMEM;
	free(*dst);
	*dst = n;
	return 0;
}

static int apply_stamp(Snapset *s, Writer *w, const StampInput *in)
{
	SnapsetStamp *st = find_stamp(s, w->id_str, in->name);

	if (!st) {
		SnapsetStamp *n = reallocarray(s->stamps, s->n_stamps + 1, sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->stamps = n;
		st = &s->stamps[s->n_stamps];
		*st = (SnapsetStamp){ .writer_id = strdup(w->id_str), .name = strdup(in->name) };
		if (!st->writer_id || !st->name) {
			free(st->writer_id);
			free(st->name);
			return -ENOMEM;
		}
		s->n_stamps++;
	}
	if (replace_text(&st->backup_stamp, in->stamp) < 0 ||
	    replace_text(&st->backup_metadata, in->metadata) < 0 ||
	    replace_text(&st->failure_message, in->failure) < 0)
		return -ENOMEM;
	if (in->failure) {
		char msg[DOC_FAILURE_MAX * 4 + 1];

		(void)text_escape_buf(in->failure, 0, msg, sizeof(msg));
		log_writer_warning(w->id_str, s->id_str, "component \"%s\" failed: %s", in->name,
		                   msg);
	}
	return 0;
}

int snapset_writer_answer(void *userdata, Writer *w, WriterEvent ev, DBusMessage *reply,
                          VssErr *err)
{
	Snapset *s = userdata;
	DBusMessageIter it, d, v, comps, e;
	bool has_comps = false;
	const char *key;
	size_t n = 0, bytes = 0;
	int r;

	switch (ev) {
	case WRITER_EVENT_PREPARE_BACKUP:
	case WRITER_EVENT_PREPARE_SNAPSHOT:
	case WRITER_EVENT_FREEZE:
	case WRITER_EVENT_THAW:
	case WRITER_EVENT_POST_SNAPSHOT:
		break;
	default:
		return 0; /* outside PrepareForBackup..PostSnapshot an answer sets nothing */
	}
	if (!dbus_message_iter_init(reply, &it))
		return 0; /* an empty answer, as every writer before stamps gives */
	if (!streq(dbus_message_get_signature(reply), "a{sv}"))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "its answer is \"%.16s\", not empty or a{sv}",
		                   dbus_message_get_signature(reply));
	if (busmsg_dict_enter(&it, &d) < 0)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "its answer is not a dictionary");
	while (busmsg_dict_next(&d, &key, &v) > 0)
		if (streq(key, "components")) {
			if (!busmsg_has_signature(&v, "aa{sv}"))
				return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
				                   "components is not aa{sv}");
			dbus_message_iter_recurse(&v, &comps);
			has_comps = true;
		}
	if (!has_comps)
		return 0;
	/* counted and checked whole before anything is taken: an answer is taken or not */
	for (e = comps; dbus_message_iter_get_arg_type(&e) == DBUS_TYPE_ARRAY;
	     dbus_message_iter_next(&e)) {
		StampInput in;

		if (++n > VSSD_COMPONENTS_PER_WRITER_MAX)
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -E2BIG,
			                   "components has more than %d entries",
			                   VSSD_COMPONENTS_PER_WRITER_MAX);
		r = read_stamp_entry(s, w, &e, n - 1, &in, err);
		if (r < 0)
			return r;
		bytes += strlen(strempty(in.stamp)) + strlen(strempty(in.metadata)) +
		         strlen(strempty(in.failure));
	}
	if (bytes > SNAPSET_STAMP_BYTES_MAX - MIN(s->stamp_bytes, SNAPSET_STAMP_BYTES_MAX))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -E2BIG,
		                   "its stamps, metadata and failure messages pass the %u bytes a "
		                   "set keeps of them (%zu kept already)",
		                   SNAPSET_STAMP_BYTES_MAX, s->stamp_bytes);
	for (e = comps, n = 0; dbus_message_iter_get_arg_type(&e) == DBUS_TYPE_ARRAY;
	     dbus_message_iter_next(&e), n++) {
		StampInput in;

		if (read_stamp_entry(s, w, &e, n, &in, err) < 0 || apply_stamp(s, w, &in) < 0)
			return -ENOMEM;
	}
	s->stamp_bytes += bytes;
	log_writer_info(w->id_str, s->id_str,
	                "%s: %zu components' stamps, metadata or failures set",
	                writer_event_to_string(ev), n);
	return 0;
}

/* Has w failed component name of the backup (a failure-message in its answer)? */
static const char *component_failure(const Snapset *s, const Writer *w, const char *name)
{
	const SnapsetStamp *st = find_stamp(s, w->id_str, name);

	return st ? st->failure_message : NULL;
}

/* The component's result after BackupComplete: failed by its writer, else SetBackupSucceeded's
 * word, else BackupComplete's */
static bool component_succeeded(Snapset *s, const Writer *w, const char *name)
{
	char **r;

	if (component_failure(s, w, name))
		return false;
	r = find_result(s, w->id_str, name);
	return r ? r[2][0] == '1' : s->backup_success;
}

static const char *previous_stamp(const Snapset *s, const Writer *w, const char *name);

int snapset_previous_stamps(Snapset *s, char ***ret)
{
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

	if (!l)
		return -ENOMEM;
	for (size_t i = 0; s->previous && i < s->n_involved; i++) {
		Writer *w = writer_find(s->d, &s->involved[i]);

		for (size_t j = 0; w && j < w->n_components; j++) {
			const char *name = w->components[j].name, *p = previous_stamp(s, w, name);

			if (p && component_selected(s, w, name) &&
			    (strv_extend(&l, w->id_str) < 0 || strv_extend(&l, name) < 0 ||
			     strv_extend(&l, p) < 0))
				return -ENOMEM;
		}
	}
	*ret = TAKE_PTR(l);
	return 0;
}

int snapset_backup_results(Snapset *s, char ***ret)
{
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_involved; i++) {
		Writer *w = writer_find(s->d, &s->involved[i]);

		for (size_t j = 0; w && j < w->n_components; j++) {
			const char *name = w->components[j].name;

			if (!component_selected(s, w, name))
				continue;
			if (strv_extend(&l, w->id_str) < 0 || strv_extend(&l, name) < 0 ||
			    strv_extend(&l, component_succeeded(s, w, name) ? "1" : "0") < 0 ||
			    strv_extend(&l, strempty(component_failure(s, w, name))) < 0)
				return -ENOMEM;
		}
	}
	*ret = TAKE_PTR(l);
	return 0;
}

/* ---- the backup document --------------------------------------------------------------------- */

static int dup_into(char **dst, const char *s)
{
	*dst = strdup(strempty(s));
	return *dst ? 0 : -ENOMEM;
}

/* previous-document: the backup-stamp component name of writer w had there. A writer is
 * found again by class-id and instance-name (its instance id changes when it restarts). */
static const char *previous_stamp(const Snapset *s, const Writer *w, const char *name)
{
	for (size_t i = 0; s->previous && i < s->previous->n_writers; i++) {
		const DocWriter *pw = &s->previous->writers[i];

		if (!streq(pw->class_id, w->class_id) ||
		    !streq(strempty(pw->instance_name), strempty(w->instance_name)))
			continue;
		for (size_t j = 0; j < pw->n_components; j++)
			if (streq(pw->components[j].name, name))
				return pw->components[j].backup_stamp;
	}
	return NULL;
}

static int add_writer(Snapset *s, BackupDocument *doc, Writer *w, bool failed)
{
	DocWriter *dw = document_add_writer(doc);

	if (!dw || dup_into(&dw->instance_id, w->id_str) < 0 ||
	    dup_into(&dw->class_id, w->class_id) < 0 || dup_into(&dw->name, w->name) < 0 ||
	    dup_into(&dw->instance_name, w->instance_name) < 0 ||
	    dup_into(&dw->last_error, w->last_error) < 0 ||
	    dup_into(&dw->failure_message, w->failure_message) < 0)
		return -ENOMEM;
	dw->state = (uint32_t)w->state;
	for (size_t i = 0; i < w->n_components; i++) {
		DocComponent *c = document_writer_add_component(dw);
		const char *name = w->components[i].name;
		const SnapsetStamp *st;

		if (!c || dup_into(&c->name, name) < 0)
			return -ENOMEM;
		if (previous_stamp(s, w, name) &&
		    dup_into(&c->previous_backup_stamp, previous_stamp(s, w, name)) < 0)
			return -ENOMEM;
		/* writer-failures=continue: a failed writer's components are out of the backup */
		c->selected = !failed && component_selected(s, w, name);
		if (!c->selected)
			continue;
		/* what the writer set on it (PrepareForBackup..PostSnapshot) */
		st = find_stamp(s, w->id_str, name);
		if (st && ((st->backup_stamp && dup_into(&c->backup_stamp, st->backup_stamp) < 0) ||
		           (st->backup_metadata &&
		            dup_into(&c->backup_metadata, st->backup_metadata) < 0) ||
		           (st->failure_message &&
		            dup_into(&c->failure_message, st->failure_message) < 0)))
			return -ENOMEM;
		if (s->state != SNAPSET_STATE_COMPLETED)
			continue;
		/* after BackupComplete: failed by its writer, SetBackupSucceeded's word, or
		 * BackupComplete's */
		c->succeeded =
			component_succeeded(s, w, name) ? DOC_RESULT_SUCCEEDED : DOC_RESULT_FAILED;
	}
	return 0;
}

int snapset_backup_document(Snapset *s, char **ret, VssErr *err)
{
	BackupDocument doc = { 0 };
	int r = -ENOMEM;

	switch (s->state) {
	case SNAPSET_STATE_PREPARED:
	case SNAPSET_STATE_CREATING:
	case SNAPSET_STATE_CREATED:
	case SNAPSET_STATE_COMPLETED:
		break;
	default:
		return vss_err_set(
			err, VSS_ERROR_BAD_STATE, -EBUSY,
			"the backup document exists from PrepareForBackup on (the set is "
			"%s)",
			snapset_state_to_string(s->state));
	}
	if (dup_into(&doc.set_id, s->id_str) < 0 ||
	    dup_into(&doc.context, snapset_context_to_string(s->context)) < 0 ||
	    dup_into(&doc.backup_type, s->backup_type) < 0)
		goto out;
	doc.creation_time = s->creation_time;
	for (size_t i = 0; i < s->n_snaps; i++) {
		DocSnapshot *ds = document_add_snapshot(&doc);
		char dev[160];

		if (!ds || dup_into(&ds->id, s->snaps[i]->id_str) < 0 ||
		    dup_into(&ds->volume, s->snaps[i]->volume) < 0 ||
		    dup_into(&ds->device, snapshot_device(s->snaps[i], dev, sizeof(dev))) < 0 ||
		    dup_into(&ds->provider, s->snaps[i]->provider->ops->name) < 0)
			goto out;
	}
	for (size_t i = 0; i < s->n_involved; i++) {
		Writer *w = writer_find(s->d, &s->involved[i]);

		if (w && add_writer(s, &doc, w, false) < 0)
			goto out;
	}
	for (size_t i = 0; i < s->n_failed; i++) {
		Writer *w = writer_find(s->d, &s->failed[i]);

		if (w && add_writer(s, &doc, w, true) < 0)
			goto out;
	}
	r = document_to_json(&doc, ret);
out:
	document_done(&doc);
	return r;
}
