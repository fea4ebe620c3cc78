/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssctl-restore.c - vssctl restore: diskshadow's restore flow, a command that copies the files
 * back between PreRestore and PostRestore */
#include <strings.h>
#include <sys/wait.h>

#include "client/vssctl-backup.h"
#include "client/vssctl-restore.h"
#include "client/vssctl-verbs.h"
#include "common/log.h"
#include "common/vssd-bus-names.h"

#define DOCUMENT_MAX (4u << 20) /* bytes: vssd's limit of a backup document */

typedef struct Restore {
	Vssctl *v;
	char *path;
	char id[VSSID_STRING_MAX];
	char *backup_set;
	char **sel_ids; /* the selection: document instance ids and component names, in pairs */
	char **sel_names;
	char **failed; /* "ID:NAME" whose writer failed */
} Restore;

static void restore_done(Restore *r)
{
	free(r->path);
	free(r->backup_set);
	strv_free(r->sel_ids);
	strv_free(r->sel_names);
	strv_free(r->failed);
}

static int read_document(const char *path, char **ret)
{
	_cleanup_free_ char *text = NULL;
	size_t size = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return log_error_errno(-errno, "cannot read the backup document %s: %m", path);
	text = malloc(DOCUMENT_MAX + 1);
	if (text)
		size = fread(text, 1, DOCUMENT_MAX + 1, f);
	if (!text || ferror(f)) {
		int r = text ? -EIO : -ENOMEM;

		fclose(f);
		return log_error_errno(r, "cannot read the backup document %s: %m", path);
	}
	fclose(f);
	if (size > DOCUMENT_MAX)
		return log_error_errno(-EFBIG, "the backup document %s is larger than %u bytes",
		                       path, DOCUMENT_MAX);
	text[size] = 0;
	if (strlen(text) != size || !dbus_validate_utf8(text, NULL))
		return log_error_errno(-EINVAL, "the backup document %s is not UTF-8 text", path);
	*ret = TAKE_PTR(text);
	return 0;
}

static int session_call(Restore *r, const char *member, bool long_call, DBusMessage **ret_reply)
{
	return vssctl_call_simple(r->v, r->path, VSSD_IFACE_RESTORE, member,
	                          vssctl_timeout(r->v, long_call), ret_reply);
}

static int restore_start(Restore *r)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL, *reply = NULL;
	_cleanup_free_ char *doc = NULL;
	DBusMessageIter it;
	const char *path;
	int q;

	q = read_document(r->v->args->document, &doc);
	if (q < 0)
		return q;
	q = busutil_new_method_call(VSSD_BUS_NAME, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER,
	                            "StartRestore", &m);
	if (q < 0)
		return log_oom();
	dbus_message_iter_init_append(m, &it);
	if (busmsg_append_string(&it, doc) < 0 || busmsg_append_empty_dict(&it) < 0)
		return log_oom();
	q = vssctl_call(r->v, m, vssctl_timeout(r->v, false), &reply);
	if (q < 0)
		return q;
	if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_OBJECT_PATH, &path, DBUS_TYPE_INVALID))
		return log_error_errno(-EBADMSG, "unexpected reply to StartRestore");
	r->path = strdup(path);
	if (!r->path)
		return log_oom();
	if (vssctl_id_from_path(path, r->id) < 0)
		return log_error_errno(-EBADMSG, "unexpected restore session path %s", path);
	return 0;
}

static const BusValue *components_of(const BusValue *w)
{
	const BusValue *c = busutil_dict_get(w, "components");

	return c && c->type == DBUS_TYPE_ARRAY ? c : NULL;
}

static int select_one(Restore *r, const char *id, const char *name)
{
	for (size_t i = 0; r->sel_ids && r->sel_ids[i]; i++)
		if (streq(r->sel_ids[i], id) && streq(r->sel_names[i], name))
			return 0; /* given twice */
	if (strv_extend(&r->sel_ids, id) < 0 || strv_extend(&r->sel_names, name) < 0)
		return log_oom();
	return 0;
}

/* INSTANCE:NAME, INSTANCE being the writer's instance id in the document, its instance name or
 * its name; it must name one writer */
static int select_given(Restore *r, const BusValue *writers, const char *spec)
{
	const char *colon = strchr(spec, ':'), *name = colon + 1;
	_cleanup_free_ char *inst = strndup(spec, (size_t)(colon - spec));
	const BusValue *found = NULL;

	if (!inst)
		return log_oom();
	for (size_t i = 0; i < writers->n; i++) {
		const BusValue *w = &writers->items[i];
		const char *id = busutil_dict_get_string(w, "instance-id");

		if (!(id && strcasecmp(id, inst) == 0) &&
		    !streq(strempty(busutil_dict_get_string(w, "instance-name")), inst) &&
		    !streq(strempty(busutil_dict_get_string(w, "name")), inst))
			continue;
		if (found)
			return log_error_errno(-EINVAL,
			                       "--component %s: '%s' names more than one writer of "
			                       "the document; use its instance id",
			                       spec, inst);
		found = w;
	}
	if (!found)
		return log_error_errno(-EINVAL, "--component %s: the document has no writer '%s'",
		                       spec, inst);
	for (size_t c = 0; components_of(found) && c < components_of(found)->n; c++) {
		const BusValue *comp = &components_of(found)->items[c];
		bool selected = false;

		if (!streq(strempty(busutil_dict_get_string(comp, "name")), name))
			continue;
		(void)busutil_dict_get_bool(comp, "selected", &selected);
		if (!selected)
			return log_error_errno(-EINVAL,
			                       "--component %s: the component was not part of the "
			                       "backup",
			                       spec);
		return select_one(r, busutil_dict_get_string(found, "instance-id"), name);
	}
	return log_error_errno(-EINVAL, "--component %s: writer '%s' has no component '%s'", spec,
	                       inst, name);
}

static int restore_select(Restore *r)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *reply = NULL, *m = NULL;
	_cleanup_(busutil_value_freep) BusValue *args = NULL;
	const BusValue *writers;
	DBusMessageIter it, arr, d;
	int q;

	q = session_call(r, "GatherWriterMetadata", false, &reply);
	if (q < 0)
		return q;
	if (!streq(strempty(dbus_message_get_signature(reply)), "aa{sv}") ||
	    busutil_message_read(reply, &args) < 0)
		return log_error_errno(-EBADMSG, "unexpected reply to GatherWriterMetadata");
	writers = &args->items[0];
	if (r->v->args->components) {
		for (char **c = r->v->args->components; *c; c++) {
			q = select_given(r, writers, *c);
			if (q < 0)
				return q;
		}
	} else
		for (size_t i = 0; i < writers->n; i++) {
			const BusValue *w = &writers->items[i];

			for (size_t c = 0; components_of(w) && c < components_of(w)->n; c++) {
				const BusValue *comp = &components_of(w)->items[c];
				bool selected = false;

				(void)busutil_dict_get_bool(comp, "selected", &selected);
				if (!selected)
					continue;
				q = select_one(r, busutil_dict_get_string(w, "instance-id"),
				               busutil_dict_get_string(comp, "name"));
				if (q < 0)
					return q;
			}
		}
	if (!r->sel_ids)
		return log_error_errno(-ENOENT, "the document has no component to restore");

	q = busutil_new_method_call(VSSD_BUS_NAME, r->path, VSSD_IFACE_RESTORE,
	                            "SetSelectedForRestore", &m);
	if (q < 0)
		return log_oom();
	dbus_message_iter_init_append(m, &it);
	if (!dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "a{sv}", &arr))
		return log_oom();
	for (size_t i = 0; r->sel_ids[i]; i++)
		if (busmsg_dict_open(&arr, &d) < 0 ||
		    busmsg_dict_append_string(&d, "instance-id", r->sel_ids[i]) < 0 ||
		    busmsg_dict_append_string(&d, "name", r->sel_names[i]) < 0 ||
		    busmsg_dict_close(&arr, &d) < 0)
			return log_oom();
	if (!dbus_message_iter_close_container(&it, &arr))
		return log_oom();
	return vssctl_call(r->v, m, vssctl_timeout(r->v, false), NULL);
}

/* GatherWriterStatus: the failed components into r->failed; printed when report. Returns the
 * number of failed writers, or a negative errno. */
static int restore_status(Restore *r, bool report)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *reply = NULL;
	_cleanup_(busutil_value_freep) BusValue *args = NULL;
	const BusValue *list;
	int failed = 0, q;

	q = session_call(r, "GatherWriterStatus", false, &reply);
	if (q < 0)
		return q;
	if (!streq(strempty(dbus_message_get_signature(reply)), "aa{sv}") ||
	    busutil_message_read(reply, &args) < 0)
		return log_error_errno(-EBADMSG, "unexpected reply to GatherWriterStatus");
	r->failed = strv_free(r->failed);
	list = &args->items[0];
	for (size_t i = 0; i < list->n; i++) {
		const BusValue *w = &list->items[i];
		const char *msg = busutil_dict_get_string(w, "failure-message");
		const char *id = strempty(busutil_dict_get_string(w, "instance-id"));
		bool present = false;
		uint64_t state = 0;

		(void)busutil_dict_get_u64(w, "state", &state);
		(void)busutil_dict_get_bool(w, "present", &present);
		if (state >= 6)
			failed++;
		for (size_t c = 0; components_of(w) && c < components_of(w)->n; c++) {
			const BusValue *comp = &components_of(w)->items[c];
			_cleanup_free_ char *pair = NULL;
			bool bad = false;

			(void)busutil_dict_get_bool(comp, "failed", &bad);
			if (!bad)
				continue;
			if (asprintf(&pair, "%s:%s", id,
			             strempty(busutil_dict_get_string(comp, "name"))) < 0 ||
			    strv_push(&r->failed, TAKE_PTR(pair)) < 0)
				return log_oom();
		}
		if (report)
			fprintf(r->v->out, "writer %s (%s, instance %s): %s[%u] %s%s%s\n",
			        strempty(busutil_dict_get_string(w, "name")), id,
			        strempty(busutil_dict_get_string(w, "instance-name")),
			        present ? "" : "not running, ", (unsigned)state,
			        strempty(busutil_dict_get_string(w, "state-name")),
			        msg && msg[0] ? ": " : "", msg && msg[0] ? msg : "");
	}
	return failed;
}

static int child_setenv(Restore *r)
{
	_cleanup_free_ char *sel = NULL, *failed = NULL;
	_cleanup_strv_free_ char **pairs = NULL;
	int q;

	for (size_t i = 0; r->sel_ids[i]; i++) {
		char *p;

		if (asprintf(&p, "%s:%s", r->sel_ids[i], r->sel_names[i]) < 0 ||
		    strv_push(&pairs, p) < 0)
			return -ENOMEM;
	}
	q = vssctl_backup_pairs(pairs, NULL, &sel);
	if (q >= 0)
		q = vssctl_backup_pairs(r->failed, NULL, &failed);
	if (q < 0)
		return q;
	if (setenv("VSSD_RESTORE_ID", r->id, 1) < 0 ||
	    setenv("VSSD_BACKUP_SET_ID", strempty(r->backup_set), 1) < 0 ||
	    setenv("VSSD_RESTORE_COMPONENTS", sel, 1) < 0 ||
	    setenv("VSSD_RESTORE_FAILED", failed ? failed : "", 1) < 0)
		return -errno;
	return 0;
}

static int restore_exec(Restore *r, int *ret_status)
{
	char **cmd = r->v->args->command;
	int status, q;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return log_error_errno(-errno, "cannot fork: %m");
	if (pid == 0) {
		q = child_setenv(r);
		if (q < 0) {
			fprintf(stderr, "vssctl: cannot set the environment: %s\n", strerror(-q));
			_exit(127);
		}
		execvp(cmd[0], cmd);
		q = errno;
		fprintf(stderr, "vssctl: cannot run %s: %s\n", cmd[0], strerror(q));
		_exit(q == ENOENT ? 127 : 126);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_error_errno(-errno, "cannot wait for %s: %m", cmd[0]);
	if (WIFEXITED(status))
		*ret_status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		*ret_status = 128 + WTERMSIG(status);
	else
		*ret_status = 1;
	return 0;
}

static int restore_file_status(Restore *r, bool ok)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL;
	DBusMessageIter it, arr, d;
	int q;

	q = busutil_new_method_call(VSSD_BUS_NAME, r->path, VSSD_IFACE_RESTORE,
	                            "SetFileRestoreStatus", &m);
	if (q < 0)
		return log_oom();
	dbus_message_iter_init_append(m, &it);
	if (!dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "a{sv}", &arr))
		return log_oom();
	for (size_t i = 0; r->sel_ids[i]; i++)
		if (busmsg_dict_open(&arr, &d) < 0 ||
		    busmsg_dict_append_string(&d, "instance-id", r->sel_ids[i]) < 0 ||
		    busmsg_dict_append_string(&d, "name", r->sel_names[i]) < 0 ||
		    busmsg_dict_append_string(&d, "status", ok ? "all" : "failed") < 0 ||
		    busmsg_dict_close(&arr, &d) < 0)
			return log_oom();
	if (!dbus_message_iter_close_container(&it, &arr))
		return log_oom();
	return vssctl_call(r->v, m, vssctl_timeout(r->v, false), NULL);
}

int vssctl_restore(Vssctl *v)
{
	_cleanup_(restore_done) Restore r = { .v = v };
	_cleanup_(busutil_value_freep) BusValue *props = NULL;
	int q, status = 1, failed = 0;

	q = restore_start(&r);
	if (q >= 0 && vssctl_get_all(v, r.path, VSSD_IFACE_RESTORE, &props) >= 0) {
		r.backup_set = strdup(strempty(busutil_dict_get_string(props, "BackupSetId")));
		if (!r.backup_set)
			q = log_oom();
	}
	if (q >= 0)
		q = restore_select(&r);
	if (q >= 0)
		q = session_call(&r, "PreRestore", true, NULL);
	if (q >= 0)
		q = restore_status(&r, false);
	if (q > 0)
		for (char **f = r.failed; f && *f; f++)
			log_warning("warning: %s: its writer failed PreRestore", *f);
	if (q >= 0)
		q = restore_exec(&r, &status);
	if (q >= 0)
		q = restore_file_status(&r, status == 0);
	if (q >= 0)
		q = session_call(&r, "PostRestore", true, NULL);
	if (q >= 0)
		q = failed = restore_status(&r, true);
	if (r.path)
		(void)session_call(&r, "Release", false, NULL);
	if (q < 0)
		return q;
	if (status != 0)
		return status;
	if (failed > 0) {
		log_error("%d writer%s failed the restore", failed, failed > 1 ? "s" : "");
		return 1;
	}
	return 0;
}
