/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapset-writers.c - the set options that choose the writers and what their failures do */
#include "common/log.h"
#include "common/vssd-limits.h"
#include "daemon/daemon.h"
#include "daemon/document.h"
#include "daemon/snapset-internal.h"
#include "daemon/snapset.h"
#include "daemon/writer.h"

void snapset_options_done(SnapsetOptions *o)
{
	o->exclude_writer_classes = strv_free(o->exclude_writer_classes);
	o->exclude_writer_instances = strv_free(o->exclude_writer_instances);
	o->include_writer_classes = strv_free(o->include_writer_classes);
	if (o->previous) {
		document_done(o->previous);
		free(o->previous);
		o->previous = NULL;
	}
}

int snapset_take_writer_options(Snapset *s, const SnapsetOptions *o)
{
	s->writer_failures_continue = o->writer_failures_continue;
	/* the parsed previous-document moves into the set (the options are the caller's
	 * scratch, freed by snapset_options_done()) */
	s->previous = TAKE_PTR(((SnapsetOptions *)o)->previous);
	for (char **c = o->exclude_writer_classes; c && *c; c++)
		if (strv_extend(&s->exclude_writer_classes, *c) < 0)
			return -ENOMEM;
	for (char **c = o->exclude_writer_instances; c && *c; c++)
		if (strv_extend(&s->exclude_writer_instances, *c) < 0)
			return -ENOMEM;
	if (o->include_writer_classes) { /* given, even empty: only these classes take part */
		s->include_writer_classes = calloc(1, sizeof(char *));
		if (!s->include_writer_classes)
			return -ENOMEM;
		for (char **c = o->include_writer_classes; *c; c++)
			if (strv_extend(&s->include_writer_classes, *c) < 0)
				return -ENOMEM;
	}
	return 0;
}

/* VSS's EnableWriterClasses (an allow-list), DisableWriterClasses and DisableWriterInstances;
 * an exclusion wins over the allow-list */
bool snapset_writer_excluded(const Snapset *s, const Writer *w)
{
	if (s->include_writer_classes && !strv_contains(s->include_writer_classes, w->class_id))
		return true;
	return strv_contains(s->exclude_writer_classes, w->class_id) ||
	       strv_contains(s->exclude_writer_instances, w->id_str);
}

bool snapset_writer_failed(const Snapset *s, const Writer *w)
{
	for (size_t i = 0; i < s->n_failed; i++)
		if (vssid_equal(&s->failed[i], &w->instance_id))
			return true;
	return false;
}

/* Drops writer wid's entries from the selection */
static void unselect_writer(Snapset *s, const char *wid)
{
	size_t j = 0;

	for (size_t i = 0; s->components && s->components[i] && s->components[i + 1]; i += 2) {
		if (streq(s->components[i], wid)) {
			log_writer_notice(wid, s->id_str, "component \"%s\" left out of the set",
			                  s->components[i + 1]);
			free(s->components[i]);
			free(s->components[i + 1]);
			continue;
		}
		s->components[j++] = s->components[i];
		s->components[j++] = s->components[i + 1];
	}
	if (s->components)
		s->components[j] = NULL;
}

/* writer-failures=continue, after an event: the writers it failed leave the set (VSS: the
 * writer is marked failed, its components are excluded, the set goes on); one that failed at
 * Freeze or Thaw is sent Abort, as VSS does. */
void snapset_drop_failed_writers(Snapset *s, WriterEvent ev)
{
	VssId aborted[VSSD_WRITERS_MAX];
	size_t j = 0, n_aborted = 0;

	for (size_t i = 0; i < s->n_involved; i++) {
		Writer *w = writer_find(s->d, &s->involved[i]);
		VssId *f;

		if (w && w->state < WRITER_STATE_FAILED_AT_IDENTIFY) {
			s->involved[j++] = s->involved[i];
			continue;
		}
		if (!w) /* gone from the bus: nothing to tell or show */
			continue;
		f = reallocarray(s->failed, s->n_failed + 1, sizeof(VssId));
		if (!f) { /* keep it involved: at worst it gets more events */
			s->involved[j++] = s->involved[i];
			continue;
		}
		s->failed = f;
		s->failed[s->n_failed++] = w->instance_id;
		log_set_warning(s->id_str,
		                "writer \"%s\" (%s) failed at %s (%s); writer-failures=continue: "
		                "the set goes on without it",
		                w->name, w->id_str, writer_event_to_string(ev),
		                strempty(w->last_error));
		unselect_writer(s, w->id_str);
		if ((ev == WRITER_EVENT_FREEZE || ev == WRITER_EVENT_THAW) &&
		    n_aborted < ELEMENTSOF(aborted))
			aborted[n_aborted++] = w->instance_id;
	}
	s->n_involved = j;
	if (n_aborted > 0) {
		WriterEventArgs a;

		snapset_event_args(s, &a);
		(void)writer_broadcast_start(s->d, WRITER_EVENT_ABORT, aborted, n_aborted, &a, NULL,
		                             NULL, NULL);
	}
}
