/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapset-document.c - a set's per-component results (SetBackupSucceeded) and its backup document
 */
#include "common/log.h"
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
		char **r;

		if (!c || dup_into(&c->name, name) < 0)
			return -ENOMEM;
		if (previous_stamp(s, w, name) &&
		    dup_into(&c->previous_backup_stamp, previous_stamp(s, w, name)) < 0)
			return -ENOMEM;
		/* writer-failures=continue: a failed writer's components are out of the backup */
		c->selected = !failed && component_selected(s, w, name);
		if (!c->selected || s->state != SNAPSET_STATE_COMPLETED)
			continue;
		/* after BackupComplete: SetBackupSucceeded's word, or BackupComplete's */
		r = find_result(s, w->id_str, name);
		c->succeeded = (r ? r[2][0] == '1' : s->backup_success) ? DOC_RESULT_SUCCEEDED
		                                                        : DOC_RESULT_FAILED;
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
