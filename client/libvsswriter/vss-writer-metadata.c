/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vss-writer-metadata.c - libvsswriter: the VSS writer metadata model (LIBVSSWRITER_1.1) */
#include <dbus/dbus.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/libvsswriter/vss-writer-internal.h"
#include "common/busmsg.h"
#include "common/valid.h"
#include "common/vssd-limits.h"

/* The names vssd knows (dbus/org.vssd.ShadowCopy1.xml, RegisterWriter) */
static const char *const component_types[] = {
	[VSS_WRITER_COMPONENT_FILEGROUP] = "filegroup",
	[VSS_WRITER_COMPONENT_DATABASE] = "database",
};
static const char *const file_kinds[] = {
	[VSS_WRITER_FILE_PLAIN] = "file",
	[VSS_WRITER_FILE_DATABASE] = "database",
	[VSS_WRITER_FILE_LOG] = "log",
};
static const char *const restore_methods[] = {
	[VSS_WRITER_RESTORE_IF_NOT_THERE] = "restore-if-not-there",
	[VSS_WRITER_RESTORE_IF_CAN_REPLACE] = "restore-if-can-replace",
	[VSS_WRITER_RESTORE_STOP_RESTORE_START] = "stop-restore-start",
	[VSS_WRITER_RESTORE_TO_ALTERNATE_LOCATION] = "restore-to-alternate-location",
	[VSS_WRITER_RESTORE_AT_REBOOT] = "restore-at-reboot",
	[VSS_WRITER_RESTORE_AT_REBOOT_IF_CANNOT_REPLACE] = "restore-at-reboot-if-cannot-replace",
	[VSS_WRITER_RESTORE_CUSTOM] = "custom",
	[VSS_WRITER_RESTORE_RESTORE_STOP_START] = "restore-stop-start",
};
static const char *const restore_events[] = {
	[VSS_WRITER_RESTORE_EVENTS_NEVER] = "never",
	[VSS_WRITER_RESTORE_EVENTS_IF_REPLACE_FAILS] = "if-replace-fails",
	[VSS_WRITER_RESTORE_EVENTS_ALWAYS] = "always",
};
static const struct {
	uint32_t bit;
	const char *name;
} schemas[] = {
	{ VSS_WRITER_SCHEMA_DIFFERENTIAL, "differential" },
	{ VSS_WRITER_SCHEMA_INCREMENTAL, "incremental" },
	{ VSS_WRITER_SCHEMA_EXCLUSIVE_INCREMENTAL_DIFFERENTIAL,
	  "exclusive-incremental-differential" },
	{ VSS_WRITER_SCHEMA_LOG, "log" },
	{ VSS_WRITER_SCHEMA_COPY, "copy" },
	{ VSS_WRITER_SCHEMA_TIMESTAMPED, "timestamped" },
	{ VSS_WRITER_SCHEMA_LAST_MODIFY, "last-modify" },
	{ VSS_WRITER_SCHEMA_LSN, "lsn" },
	{ VSS_WRITER_SCHEMA_WRITER_SUPPORTS_NEW_TARGET, "writer-supports-new-target" },
	{ VSS_WRITER_SCHEMA_WRITER_SUPPORTS_RESTORE_WITH_MOVE,
	  "writer-supports-restore-with-move" },
	{ VSS_WRITER_SCHEMA_INDEPENDENT_SYSTEM_STATE, "independent-system-state" },
	{ VSS_WRITER_SCHEMA_ROLLFORWARD_RESTORE, "rollforward-restore" },
	{ VSS_WRITER_SCHEMA_RESTORE_RENAME, "restore-rename" },
	{ VSS_WRITER_SCHEMA_AUTHORITATIVE_RESTORE, "authoritative-restore" },
	{ VSS_WRITER_SCHEMA_WRITER_SUPPORTS_PARALLEL_RESTORES,
	  "writer-supports-parallel-restores" },
};

static bool valid_bus_text(const char *s)
{
	return valid_text(s, VSSD_STRING_MAX) && dbus_validate_utf8(s, NULL);
}

static bool valid_path(const char *s)
{
	return valid_abs_path(s) && dbus_validate_utf8(s, NULL);
}

static bool valid_filespec(const char *s)
{
	return valid_bus_text(s) && !strchr(s, '/');
}

/* ---- freeing */

static void file_sets_free(WriterFileSet *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].path);
		free(f[i].filespec);
		free(f[i].alternate);
	}
	free(f);
}

void writer_metadata_free(struct vss_writer *w)
{
	for (size_t i = 0; i < w->n_components; i++) {
		WriterComponent *c = &w->components[i];

		free(c->name);
		strv_free(c->paths);
		free(c->logical_path);
		free(c->caption);
		file_sets_free(c->files, c->n_files);
		strv_free(c->dependencies);
	}
	free(w->components);
	w->components = NULL;
	w->n_components = 0;
	file_sets_free(w->exclude_files, w->n_exclude_files);
	w->exclude_files = NULL;
	w->n_exclude_files = 0;
	file_sets_free(w->mappings, w->n_mappings);
	w->mappings = NULL;
	w->n_mappings = 0;
	free(w->restore_service);
	w->restore_service = NULL;
}

/* ---- setters */

static WriterComponent *component_find(struct vss_writer *w, const char *name)
{
	for (size_t i = 0; name && i < w->n_components; i++)
		if (streq(w->components[i].name, name))
			return &w->components[i];
	return NULL;
}

static int dup_opt(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

/* Appends a file set to *list (n of at most VSSD_FILES_PER_LIST_MAX); checked by the caller */
static int file_set_add(WriterFileSet **list, size_t *n, const char *path, const char *filespec,
                        bool recursive, const char *alternate, int kind)
{
	WriterFileSet f = { .recursive = recursive, .kind = kind }, *a;

	if (*n >= VSSD_FILES_PER_LIST_MAX)
		return -E2BIG;
	if (dup_opt(path, &f.path) < 0 || dup_opt(filespec, &f.filespec) < 0 ||
	    dup_opt(alternate, &f.alternate) < 0) {
		free(f.path);
		free(f.filespec);
		free(f.alternate);
		return -ENOMEM;
	}
	a = reallocarray(*list, *n + 1, sizeof(*a));
	if (!a) {
		free(f.path);
		free(f.filespec);
		free(f.alternate);
		return -ENOMEM;
	}
	*list = a;
	a[(*n)++] = f;
	return 0;
}

_public_ int vss_writer_add_component_ex(struct vss_writer *w, enum vss_writer_component_type type,
                                         const char *logical_path, const char *name,
                                         const char *caption, bool selectable,
                                         const char *const *paths)
{
	static const char *const none[] = { NULL };
	_cleanup_free_ char *lp = NULL, *cap = NULL;
	WriterComponent *c;
	int r;

	if (!w || (unsigned)type >= ELEMENTSOF(component_types) ||
	    (logical_path && logical_path[0] && !valid_bus_text(logical_path)) ||
	    (caption && caption[0] && !valid_bus_text(caption)))
		return -EINVAL;
	if (w->conn)
		return -EBUSY;
	r = writer_add_component(w, name, paths ? paths : none, false);
	if (r < 0)
		return r;
	c = &w->components[w->n_components - 1];
	if ((logical_path && logical_path[0] && !(lp = strdup(logical_path))) ||
	    (caption && caption[0] && !(cap = strdup(caption)))) {
		free(c->name);
		strv_free(c->paths);
		w->n_components--;
		return -ENOMEM;
	}
	c->type = type;
	c->logical_path = TAKE_PTR(lp);
	c->caption = TAKE_PTR(cap);
	c->selectable = selectable;
	return 0;
}

_public_ int vss_writer_component_add_file(struct vss_writer *w, const char *component,
                                           const char *path, const char *filespec, bool recursive,
                                           const char *alternate_path,
                                           enum vss_writer_file_kind kind)
{
	WriterComponent *c;

	if (!w || !valid_path(path) || (filespec && !valid_filespec(filespec)) ||
	    (alternate_path && !valid_path(alternate_path)) ||
	    (unsigned)kind >= ELEMENTSOF(file_kinds))
		return -EINVAL;
	if (w->conn)
		return -EBUSY;
	c = component_find(w, component);
	if (!c)
		return -ENOENT;
	/* VSS: a filegroup holds files; a database its database and log files, flat, in place */
	if (c->type == VSS_WRITER_COMPONENT_FILEGROUP
	            ? kind != VSS_WRITER_FILE_PLAIN
	            : kind == VSS_WRITER_FILE_PLAIN || recursive || alternate_path)
		return -EINVAL;
	return file_set_add(&c->files, &c->n_files, path, filespec, recursive, alternate_path,
	                    (int)kind);
}

_public_ int vss_writer_component_add_dependency(struct vss_writer *w, const char *component,
                                                 const char *logical_path)
{
	WriterComponent *c;

	if (!w || !valid_bus_text(logical_path))
		return -EINVAL;
	if (w->conn)
		return -EBUSY;
	c = component_find(w, component);
	if (!c)
		return -ENOENT;
	if (strv_length(c->dependencies) >= VSSD_DEPS_PER_COMPONENT_MAX)
		return -E2BIG;
	return strv_extend(&c->dependencies, logical_path);
}

_public_ int vss_writer_add_exclude_files(struct vss_writer *w, const char *path,
                                          const char *filespec, bool recursive)
{
	if (!w || !valid_path(path) || (filespec && !valid_filespec(filespec)))
		return -EINVAL;
	if (w->conn)
		return -EBUSY;
	return file_set_add(&w->exclude_files, &w->n_exclude_files, path, filespec, recursive, NULL,
	                    -1);
}

_public_ int vss_writer_add_alternate_location_mapping(struct vss_writer *w, const char *path,
                                                       const char *filespec, bool recursive,
                                                       const char *destination)
{
	if (!w || !valid_path(path) || (filespec && !valid_filespec(filespec)) ||
	    !valid_path(destination))
		return -EINVAL;
	if (w->conn)
		return -EBUSY;
	return file_set_add(&w->mappings, &w->n_mappings, path, filespec, recursive, destination,
	                    -1);
}

_public_ int vss_writer_set_restore_method(struct vss_writer *w,
                                           enum vss_writer_restore_method method,
                                           const char *service,
                                           enum vss_writer_restore_events events,
                                           bool reboot_required)
{
	char *copy = NULL;

	if (!w || (unsigned)method >= ELEMENTSOF(restore_methods) || !restore_methods[method] ||
	    (unsigned)events >= ELEMENTSOF(restore_events) || !restore_events[events] ||
	    (service && service[0] && !valid_bus_text(service)))
		return -EINVAL;
	if ((method == VSS_WRITER_RESTORE_STOP_RESTORE_START ||
	     method == VSS_WRITER_RESTORE_RESTORE_STOP_START) &&
	    (!service || !service[0]))
		return -EINVAL;
	if (w->conn)
		return -EBUSY;
	if (service && service[0] && !(copy = strdup(service)))
		return -ENOMEM;
	free(w->restore_service);
	w->restore_service = copy;
	w->restore_method = (int)method;
	w->restore_events = events;
	w->reboot_required = reboot_required;
	return 0;
}

_public_ int vss_writer_set_backup_schema(struct vss_writer *w, uint32_t schema)
{
	uint32_t known = 0;

	for (size_t i = 0; i < ELEMENTSOF(schemas); i++)
		known |= schemas[i].bit;
	if (!w || (schema & ~known))
		return -EINVAL;
	if (w->conn)
		return -EBUSY;
	w->backup_schema = schema;
	return 0;
}

/* ---- encoding */

static int append_file_sets(DBusMessageIter *dict, const char *key, const WriterFileSet *f,
                            size_t n)
{
	DBusMessageIter e, v, a;
	int r;

	r = busmsg_entry_open(dict, key, "aa{sv}", &e, &v);
	if (r < 0)
		return r;
	r = dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a) ? 0 : -ENOMEM;
	if (r >= 0) {
		for (size_t i = 0; r >= 0 && i < n; i++) {
			DBusMessageIter d;

			r = busmsg_dict_open(&a, &d);
			if (r < 0)
				break;
			r = busmsg_dict_append_string(&d, "path", f[i].path);
			if (r >= 0 && f[i].filespec)
				r = busmsg_dict_append_string(&d, "filespec", f[i].filespec);
			if (r >= 0 && f[i].recursive)
				r = busmsg_dict_append_bool(&d, "recursive", true);
			if (r >= 0 && f[i].alternate)
				r = busmsg_dict_append_string(&d, "alternate-path", f[i].alternate);
			if (r >= 0 && f[i].kind >= 0)
				r = busmsg_dict_append_string(&d, "kind", file_kinds[f[i].kind]);
			if (r >= 0)
				r = busmsg_dict_close(&a, &d);
			else
				busmsg_dict_abandon(&a, &d);
		}
		if (r >= 0)
			r = dbus_message_iter_close_container(&v, &a) ? 0 : -ENOMEM;
		else
			dbus_message_iter_abandon_container(&v, &a);
	}
	return busmsg_entry_close(dict, &e, &v, r);
}

int writer_append_component_model(DBusMessageIter *dict, const WriterComponent *c)
{
	int r = 0;

	if (c->logical_path)
		r = busmsg_dict_append_string(dict, "logical-path", c->logical_path);
	if (r >= 0 && c->type != VSS_WRITER_COMPONENT_FILEGROUP)
		r = busmsg_dict_append_string(dict, "type", component_types[c->type]);
	if (r >= 0 && c->caption)
		r = busmsg_dict_append_string(dict, "caption", c->caption);
	if (r >= 0 && !c->selectable)
		r = busmsg_dict_append_bool(dict, "selectable", false);
	if (r >= 0 && c->n_files > 0)
		r = append_file_sets(dict, "files", c->files, c->n_files);
	if (r >= 0 && c->dependencies && c->dependencies[0])
		r = busmsg_dict_append_strv(dict, "dependencies", c->dependencies);
	return r;
}

int writer_append_writer_model(DBusMessageIter *dict, const struct vss_writer *w)
{
	int r = 0;

	if (w->n_exclude_files > 0)
		r = append_file_sets(dict, "exclude-files", w->exclude_files, w->n_exclude_files);
	if (r >= 0 && w->restore_method) {
		DBusMessageIter e, v, d;

		r = busmsg_entry_open(dict, "restore-method", "a{sv}", &e, &v);
		if (r < 0)
			return r;
		r = busmsg_dict_open(&v, &d);
		if (r >= 0) {
			r = busmsg_dict_append_string(&d, "method",
			                              restore_methods[w->restore_method]);
			if (r >= 0 && w->restore_service)
				r = busmsg_dict_append_string(&d, "service", w->restore_service);
			if (r >= 0)
				r = busmsg_dict_append_string(&d, "writer-restore",
				                              restore_events[w->restore_events]);
			if (r >= 0)
				r = busmsg_dict_append_bool(&d, "reboot-required",
				                            w->reboot_required);
			if (r >= 0)
				r = busmsg_dict_close(&v, &d);
			else
				busmsg_dict_abandon(&v, &d);
		}
		r = busmsg_entry_close(dict, &e, &v, r);
	}
	if (r >= 0 && w->n_mappings > 0)
		r = append_file_sets(dict, "alternate-location-mappings", w->mappings,
		                     w->n_mappings);
	if (r >= 0 && w->backup_schema) {
		const char *l[ELEMENTSOF(schemas) + 1];
		size_t n = 0;

		for (size_t i = 0; i < ELEMENTSOF(schemas); i++)
			if (w->backup_schema & schemas[i].bit)
				l[n++] = schemas[i].name;
		l[n] = NULL;
		r = busmsg_dict_append_strv(dict, "backup-schema", (char *const *)l);
	}
	return r;
}
