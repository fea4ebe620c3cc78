/* SPDX-License-Identifier: GPL-2.0-or-later */
/* writer-metadata.c - the VSS writer metadata model: components, files, restore method, mappings */
#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/writer-internal.h"
#include "daemon/writer.h"

/* VSS_RESTOREMETHOD_ENUM (VSS_RME_*), kebab-case, without UNDEFINED */
static const char *const restore_methods[] = {
	"restore-if-not-there",
	"restore-if-can-replace",
	"stop-restore-start",
	"restore-to-alternate-location",
	"restore-at-reboot",
	"restore-at-reboot-if-cannot-replace",
	"custom",
	"restore-stop-start",
	NULL,
};

/* VSS_WRITERRESTORE_ENUM (VSS_WRE_*), without UNDEFINED */
static const char *const writer_restores[] = { "never", "if-replace-fails", "always", NULL };

/* VSS_BACKUP_SCHEMA bits (VSS_BS_*), kebab-case, without UNDEFINED */
static const char *const backup_schemas[] = {
	"differential",
	"incremental",
	"exclusive-incremental-differential",
	"log",
	"copy",
	"timestamped",
	"last-modify",
	"lsn",
	"writer-supports-new-target",
	"writer-supports-restore-with-move",
	"independent-system-state",
	"rollforward-restore",
	"restore-rename",
	"authoritative-restore",
	"writer-supports-parallel-restores",
	NULL,
};

static const char *const component_types[] = { "database", "filegroup", NULL };
static const char *const file_kinds[] = { "file", "database", "log", NULL };

static bool one_of(const char *s, const char *const *l)
{
	for (; s && *l; l++)
		if (streq(s, *l))
			return true;
	return false;
}

/* "a, b or c" of a NULL-terminated list, for the sentences */
static const char *list_words(const char *const *l, char *buf, size_t size)
{
	buf[0] = 0;
	for (size_t i = 0; l[i]; i++) {
		const char *sep = i == 0 ? "" : l[i + 1] ? ", " : " or ";

		strncat(buf, sep, size - strlen(buf) - 1);
		strncat(buf, l[i], size - strlen(buf) - 1);
	}
	return buf;
}

static size_t str_bytes(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static size_t strv_bytes(char *const *l)
{
	size_t n = 0;

	for (char *const *p = l; p && *p; p++)
		n += strlen(*p) + 1;
	return n;
}

static size_t files_bytes(const WriterFile *f, size_t n)
{
	size_t b = 0;

	for (size_t i = 0; i < n; i++)
		b += str_bytes(f[i].path) + str_bytes(f[i].filespec) +
		     str_bytes(f[i].alternate_path) + str_bytes(f[i].kind);
	return b;
}

/* ---- freeing and counting -------------------------------------------------------------------- */

void writer_files_free(WriterFile *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].path);
		free(f[i].filespec);
		free(f[i].alternate_path);
		free(f[i].kind);
	}
	free(f);
}

void writer_components_free(WriterComponent *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].name);
		strv_free(c[i].paths);
		free(c[i].logical_path);
		free(c[i].type);
		free(c[i].caption);
		writer_files_free(c[i].files, c[i].n_files);
		strv_free(c[i].dependencies);
	}
	free(c);
}

void writer_model_done(WriterModel *m)
{
	writer_files_free(m->exclude_files, m->n_exclude_files);
	free(m->restore_method);
	free(m->restore_service);
	free(m->writer_restore);
	writer_files_free(m->mappings, m->n_mappings);
	strv_free(m->backup_schema);
	*m = (WriterModel){ 0 };
}

size_t writer_components_bytes(const WriterComponent *c, size_t n)
{
	size_t b = 0;

	for (size_t i = 0; i < n; i++)
		b += str_bytes(c[i].name) + strv_bytes(c[i].paths) + str_bytes(c[i].logical_path) +
		     str_bytes(c[i].type) + str_bytes(c[i].caption) +
		     files_bytes(c[i].files, c[i].n_files) + strv_bytes(c[i].dependencies);
	return b;
}

size_t writer_model_bytes(const WriterModel *m)
{
	return files_bytes(m->exclude_files, m->n_exclude_files) + str_bytes(m->restore_method) +
	       str_bytes(m->restore_service) + str_bytes(m->writer_restore) +
	       files_bytes(m->mappings, m->n_mappings) + strv_bytes(m->backup_schema);
}

/* ---- reading --------------------------------------------------------------------------------- */

static int metadata_too_big(const Writer *w, VssErr *err)
{
	return vss_err_set(err, VSS_ERROR_ACCESS_DENIED, -E2BIG,
	                   "writer \"%s\" would take the writer metadata vssd keeps past %u "
	                   "bytes for uid %u or %u bytes in all; register fewer or shorter "
	                   "components, files and paths",
	                   bus_safe_string(w->name), VSSD_WRITER_METADATA_PER_UID_MAX,
	                   (unsigned)w->uid, VSSD_WRITER_METADATA_MAX);
}

int writer_metadata_too_big(const Writer *w, VssErr *err)
{
	return metadata_too_big(w, err);
}

/* Counts bytes more into w's metadata; fails once it would pass room */
static int take_bytes(Writer *w, size_t bytes, size_t room, VssErr *err)
{
	if (w->metadata_bytes + bytes > room)
		return metadata_too_big(w, err);
	w->metadata_bytes += bytes;
	return 0;
}

static int dup_or_default(const char *s, const char *def, char **ret)
{
	*ret = strdup(s ? s : def);
	return *ret ? 0 : -ENOMEM;
}

/* What a file set list is: which keys it has and what they must hold */
typedef enum FileListKind {
	FILES_OF_FILEGROUP, /* files of a filegroup component: kind file, recursion, alternate path
	                     */
	FILES_OF_DATABASE,  /* files of a database component: kind database or log, no recursion */
	FILES_EXCLUDE,      /* exclude-files: path, filespec, recursive */
	FILES_MAPPING,      /* alternate-location-mappings: alternate-path required */
} FileListKind;

/* Is filespec a file name pattern (no directory)? */
static bool valid_filespec(const char *s)
{
	return valid_text(s, VSSD_STRING_MAX) && !strchr(s, '/');
}

/* Reads the file sets aa{sv} at arr (counted: at most VSSD_FILES_PER_LIST_MAX) into *ret;
 * what names the list in messages ("component \"db\" files", "exclude-files") */
static int read_files(Writer *w, DBusMessageIter *arr, FileListKind kind, const char *what,
                      size_t room, WriterFile **ret, size_t *ret_n, VssErr *err)
{
	WriterFile *files = NULL;
	size_t n, k = 0;
	DBusMessageIter it;
	char words[128];
	int r = 0;

	n = bus_array_count(arr);
	if (n > VSSD_FILES_PER_LIST_MAX)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -E2BIG,
		                   "%s: %zu file sets given; at most %d are allowed", what, n,
		                   VSSD_FILES_PER_LIST_MAX);
	if (n == 0)
		goto done;
	files = calloc(n, sizeof(WriterFile));
	if (!files)
		return -ENOMEM;
	dbus_message_iter_recurse(arr, &it);
	for (; k < n && dbus_message_iter_get_arg_type(&it) == DBUS_TYPE_ARRAY;
	     dbus_message_iter_next(&it)) {
		const char *path = NULL, *filespec = NULL, *alt = NULL, *fkind = NULL;
		bool has_path = false, recursive = false, has_recursive = false, has_alt = false,
		     has_kind = false;
		const BusOption with_kind[] = {
			{ "path", 's', &path, &has_path },
			{ "filespec", 's', &filespec },
			{ "recursive", 'b', &recursive, &has_recursive },
			{ "alternate-path", 's', &alt, &has_alt },
			{ "kind", 's', &fkind, &has_kind },
			{ NULL },
		};
		const BusOption *opts = with_kind;
		const BusOption without_kind[] = {
			{ "path", 's', &path, &has_path },
			{ "filespec", 's', &filespec },
			{ "recursive", 'b', &recursive, &has_recursive },
			{ "alternate-path", 's', &alt, &has_alt },
			{ NULL },
		};
		const BusOption exclude[] = {
			{ "path", 's', &path, &has_path },
			{ "filespec", 's', &filespec },
			{ "recursive", 'b', &recursive, &has_recursive },
			{ NULL },
		};
		WriterFile *f = &files[k];

		if (kind == FILES_EXCLUDE)
			opts = exclude;
		else if (kind == FILES_MAPPING)
			opts = without_kind;
		r = bus_read_options(&it, opts, err);
		if (r < 0)
			goto done;
		if (!has_path || !valid_abs_path(path)) {
			r = vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                "%s: each file set needs \"path\", an absolute path", what);
			goto done;
		}
		if (filespec && !valid_filespec(filespec)) {
			r = vss_err_set(
				err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
				"%s: filespec \"%.64s\" of %.64s must be a file name pattern "
				"(text of at most %d bytes, no '/')",
				what, filespec, path, VSSD_STRING_MAX);
			goto done;
		}
		if (has_alt && (kind == FILES_MAPPING || alt[0]) && !valid_abs_path(alt)) {
			r = vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                "%s: alternate-path \"%.64s\" of %.64s is not an absolute "
			                "path",
			                what, alt, path);
			goto done;
		}
		if (kind == FILES_MAPPING && !has_alt) {
			r = vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                "%s: the mapping of %.64s needs \"alternate-path\", where "
			                "its files are restored",
			                what, path);
			goto done;
		}
		if (kind == FILES_OF_FILEGROUP && has_kind && !streq(fkind, "file")) {
			r = vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                "%s: kind \"%.64s\" of %.64s: a filegroup component holds "
			                "files of kind file only; declare a database component for "
			                "database and log files",
			                what, fkind, path);
			goto done;
		}
		if (kind == FILES_OF_DATABASE) {
			if (has_kind && !one_of(fkind, file_kinds + 1)) {
				r = vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
				                "%s: kind \"%.64s\" of %.64s: a database component "
				                "holds files of kind database or log",
				                what, fkind, path);
				goto done;
			}
			if (recursive || (has_alt && alt[0])) {
				r = vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
				                "%s: %.64s: database and log files are neither "
				                "recursive nor have an alternate-path (as in VSS)",
				                what, path);
				goto done;
			}
		}
		if (has_kind && !one_of(fkind, file_kinds)) {
			r = vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                "%s: unknown kind \"%.64s\"; use %s", what, fkind,
			                list_words(file_kinds, words, sizeof(words)));
			goto done;
		}
		if (dup_or_default(path, "", &f->path) < 0 ||
		    dup_or_default(filespec, "*", &f->filespec) < 0 ||
		    (kind != FILES_EXCLUDE && dup_or_default(alt, "", &f->alternate_path) < 0) ||
		    (kind <= FILES_OF_DATABASE &&
		     dup_or_default(fkind, kind == FILES_OF_DATABASE ? "database" : "file",
		                    &f->kind) < 0)) {
			k++;
			r = -ENOMEM;
			goto done;
		}
		f->recursive = recursive;
		k++;
		r = take_bytes(w, files_bytes(f, 1), room, err);
		if (r < 0)
			goto done;
	}
done:
	if (r < 0) {
		writer_files_free(files, k);
		return r;
	}
	*ret = files;
	*ret_n = k;
	return 0;
}

int writer_read_components(Writer *w, DBusMessageIter *arr, size_t room, VssErr *err)
{
	DBusMessageIter it;
	size_t n;

	if (dbus_message_iter_get_element_type(arr) != DBUS_TYPE_ARRAY)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "components must be an array of dictionaries aa{sv}");
	n = bus_array_count(arr);
	if (n > VSSD_COMPONENTS_PER_WRITER_MAX)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -E2BIG,
		                   "%zu components given; a writer has at most %d", n,
		                   VSSD_COMPONENTS_PER_WRITER_MAX);
	if (n == 0)
		return 0;
	w->components = calloc(n, sizeof(WriterComponent));
	if (!w->components)
		return -ENOMEM;
	dbus_message_iter_recurse(arr, &it);
	for (; w->n_components < n && dbus_message_iter_get_arg_type(&it) == DBUS_TYPE_ARRAY;
	     dbus_message_iter_next(&it)) {
		const char *name = NULL, *logical_path = NULL, *type = NULL, *caption = NULL;
		_cleanup_strv_free_ char **paths = NULL, **deps = NULL;
		bool has_name = false, has_files = false, selectable = true;
		DBusMessageIter files;
		const BusOption opts[] = {
			{ "name", 's', &name, &has_name },
			{ "paths", 'a', &paths, NULL, VSSD_PATHS_PER_COMPONENT_MAX },
			{ "logical-path", 's', &logical_path },
			{ "type", 's', &type },
			{ "caption", 's', &caption },
			{ "selectable", 'b', &selectable },
			{ "files", 'A', &files, &has_files, VSSD_FILES_PER_LIST_MAX },
			{ "dependencies", 'a', &deps, NULL, VSSD_DEPS_PER_COMPONENT_MAX },
			{ NULL },
		};
		WriterComponent *c = &w->components[w->n_components];
		char what[VSSD_STRING_MAX + 32], words[64];
		int r;

		r = bus_read_options(&it, opts, err);
		if (r < 0)
			return r;
		if (!has_name || !valid_text(name, VSSD_STRING_MAX))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "each component needs a name (text, at most %d bytes)",
			                   VSSD_STRING_MAX);
		for (char **p = paths; p && *p; p++)
			if (!valid_abs_path(*p))
				return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
				                   "component \"%s\": \"%.64s\" is not an absolute "
				                   "path",
				                   name, *p);
		if (logical_path && !valid_text_or_empty(logical_path, VSSD_STRING_MAX))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "component \"%s\": logical-path must be text of at most "
			                   "%d bytes",
			                   name, VSSD_STRING_MAX);
		if (type && !one_of(type, component_types))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "component \"%s\": unknown type \"%.64s\"; use %s", name,
			                   type, list_words(component_types, words, sizeof(words)));
		if (caption && !valid_text_or_empty(caption, VSSD_STRING_MAX))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "component \"%s\": caption must be text of at most %d "
			                   "bytes",
			                   name, VSSD_STRING_MAX);
		for (char **p = deps; p && *p; p++)
			if (!valid_text(*p, VSSD_STRING_MAX))
				return vss_err_set(
					err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
					"component \"%s\": each dependency is the logical "
					"path of another writer's component, text of at "
					"most %d bytes",
					name, VSSD_STRING_MAX);
		r = take_bytes(w, strlen(name) + 1 + strv_bytes(paths) + strv_bytes(deps), room,
		               err);
		if (r < 0)
			return r;
		c->name = strdup(name);
		c->logical_path = strdup(strempty(logical_path));
		c->type = strdup(type ? type : "filegroup");
		c->caption = strdup(strempty(caption));
		c->selectable = selectable;
		c->paths = TAKE_PTR(paths);
		c->dependencies = TAKE_PTR(deps);
		w->n_components++; /* freed with w from here on */
		if (!c->name || !c->logical_path || !c->type || !c->caption)
			return -ENOMEM;
		r = take_bytes(
			w, str_bytes(c->logical_path) + str_bytes(c->type) + str_bytes(c->caption),
			room, err);
		if (r < 0)
			return r;
		snprintf(what, sizeof(what), "component \"%s\" files", name);
		if (has_files) {
			r = read_files(w, &files,
			               streq(c->type, "database") ? FILES_OF_DATABASE
			                                          : FILES_OF_FILEGROUP,
			               what, room, &c->files, &c->n_files, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int writer_read_model(Writer *w, const WriterModelInput *in, size_t room, VssErr *err)
{
	WriterModel *m = &w->model;
	char words[512];
	int r;

	if (in->has_exclude_files) {
		r = read_files(w, (DBusMessageIter *)&in->exclude_files, FILES_EXCLUDE,
		               "exclude-files", room, &m->exclude_files, &m->n_exclude_files, err);
		if (r < 0)
			return r;
	}
	if (in->has_mappings) {
		r = read_files(w, (DBusMessageIter *)&in->mappings, FILES_MAPPING,
		               "alternate-location-mappings", room, &m->mappings, &m->n_mappings,
		               err);
		if (r < 0)
			return r;
	}
	if (in->has_restore_method) {
		const char *method = NULL, *service = NULL, *wr = NULL;
		bool has_method = false, reboot = false;
		const BusOption opts[] = {
			{ "method", 's', &method, &has_method },
			{ "service", 's', &service },
			{ "writer-restore", 's', &wr },
			{ "reboot-required", 'b', &reboot },
			{ NULL },
		};
		DBusMessageIter d = in->restore_method;

		r = bus_read_options(&d, opts, err);
		if (r < 0)
			return r;
		if (has_method && !one_of(method, restore_methods))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "restore-method: unknown method \"%.64s\"; use %s",
			                   method,
			                   list_words(restore_methods, words, sizeof(words)));
		if (!has_method && (service || wr || reboot))
			return vss_err_set(
				err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
				"restore-method needs \"method\" (VSS_RESTOREMETHOD_ENUM "
				"in kebab-case, e.g. restore-if-can-replace)");
		if (wr && !one_of(wr, writer_restores))
			return vss_err_set(
				err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
				"restore-method: unknown writer-restore \"%.64s\"; use %s", wr,
				list_words(writer_restores, words, sizeof(words)));
		if (service && !valid_text_or_empty(service, VSSD_STRING_MAX))
			return vss_err_set(
				err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
				"restore-method: service must be text of at most %d bytes",
				VSSD_STRING_MAX);
		if (has_method &&
		    (streq(method, "stop-restore-start") || streq(method, "restore-stop-start")) &&
		    (!service || !service[0]))
			return vss_err_set(
				err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
				"restore-method %s needs \"service\", the service to stop "
				"and start",
				method);
		if (has_method) { /* an empty restore-method: none */
			m->restore_method = strdup(method);
			m->restore_service = strdup(strempty(service));
			m->writer_restore = strdup(wr ? wr : "never");
			m->reboot_required = reboot;
			if (!m->restore_method || !m->restore_service || !m->writer_restore)
				return -ENOMEM;
			r = take_bytes(w,
			               str_bytes(m->restore_method) + str_bytes(service) +
			                       str_bytes(m->writer_restore),
			               room, err);
			if (r < 0)
				return r;
		}
	}
	if (in->has_backup_schema) {
		for (char *const *p = in->backup_schema; p && *p; p++) {
			if (!one_of(*p, backup_schemas))
				return vss_err_set(
					err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
					"backup-schema: unknown \"%.64s\"; use any of %s", *p,
					list_words(backup_schemas, words, sizeof(words)));
			if (strv_contains(m->backup_schema, *p))
				return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
				                   "backup-schema: \"%s\" is given twice", *p);
			if (!m->backup_schema && !(m->backup_schema = calloc(1, sizeof(char *))))
				return -ENOMEM;
			r = strv_extend(&m->backup_schema, *p);
			if (r < 0)
				return r;
		}
		r = take_bytes(w, strv_bytes(m->backup_schema), room, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int writer_model_input_take(WriterModelInput *in, const char *key, DBusMessageIter *v, VssErr *err)
{
	struct {
		const char *key;
		const char *sig;
		DBusMessageIter *dest;
		bool *seen;
	} const keys[] = {
		{ "exclude-files", "aa{sv}", &in->exclude_files, &in->has_exclude_files },
		{ "restore-method", "a{sv}", &in->restore_method, &in->has_restore_method },
		{ "alternate-location-mappings", "aa{sv}", &in->mappings, &in->has_mappings },
	};

	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		if (!streq(key, keys[i].key))
			continue;
		if (!busmsg_has_signature(v, keys[i].sig))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "%s must be %s", key, keys[i].sig);
		*keys[i].dest = *v;
		*keys[i].seen = true;
		return 1;
	}
	if (streq(key, "backup-schema")) {
		int r;

		if (!busmsg_has_signature(v, "as"))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "backup-schema must be as");
		in->backup_schema = strv_free(in->backup_schema);
		r = bus_read_strv(v, VSSD_STRING_MAX, VSSD_BACKUP_SCHEMA_MAX, &in->backup_schema,
		                  err);
		if (r < 0)
			return r;
		in->has_backup_schema = true;
		return 1;
	}
	return 0;
}

/* ---- writing --------------------------------------------------------------------------------- */

static int append_files(DBusMessageIter *dict, const char *key, const WriterFile *f, size_t n)
{
	DBusMessageIter e, v;
	int r;

	r = busmsg_entry_open(dict, key, "aa{sv}", &e, &v);
	if (r < 0)
		return r;
	{
		DBusMessageIter a;

		if (!dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a))
			return busmsg_entry_close(dict, &e, &v, -ENOMEM);
		for (size_t i = 0; i < n && r >= 0; i++) {
			DBusMessageIter d;

			r = bus_dict_open(&a, &d);
			if (r < 0)
				break;
			r = bus_dict_add_string(&d, "path", f[i].path);
			if (r >= 0)
				r = bus_dict_add_string(&d, "filespec", f[i].filespec);
			if (r >= 0)
				r = bus_dict_add_bool(&d, "recursive", f[i].recursive);
			if (r >= 0 && f[i].alternate_path)
				r = bus_dict_add_string(&d, "alternate-path", f[i].alternate_path);
			if (r >= 0 && f[i].kind)
				r = bus_dict_add_string(&d, "kind", f[i].kind);
			if (r >= 0)
				r = bus_dict_close(&a, &d);
			else
				busmsg_dict_abandon(&a, &d);
		}
		if (r >= 0 && !dbus_message_iter_close_container(&v, &a))
			r = -ENOMEM;
		else if (r < 0)
			dbus_message_iter_abandon_container(&v, &a);
	}
	return busmsg_entry_close(dict, &e, &v, r);
}

int writer_component_add_model(DBusMessageIter *dict, const WriterComponent *c)
{
	int r;

	r = bus_dict_add_string(dict, "logical-path", c->logical_path);
	if (r >= 0)
		r = bus_dict_add_string(dict, "type", c->type);
	if (r >= 0)
		r = bus_dict_add_string(dict, "caption", c->caption);
	if (r >= 0)
		r = bus_dict_add_bool(dict, "selectable", c->selectable);
	if (r >= 0)
		r = append_files(dict, "files", c->files, c->n_files);
	if (r >= 0)
		r = bus_dict_add_strv(dict, "dependencies", c->dependencies);
	return r;
}

int writer_dict_add_model(DBusMessageIter *dict, const Writer *w)
{
	const WriterModel *m = &w->model;
	DBusMessageIter e, v, rm;
	int r;

	r = append_files(dict, "exclude-files", m->exclude_files, m->n_exclude_files);
	if (r >= 0)
		r = busmsg_entry_open(dict, "restore-method", "a{sv}", &e, &v);
	if (r >= 0) {
		r = bus_dict_open(&v, &rm);
		if (r >= 0 && m->restore_method) {
			r = bus_dict_add_string(&rm, "method", m->restore_method);
			if (r >= 0)
				r = bus_dict_add_string(&rm, "service", m->restore_service);
			if (r >= 0)
				r = bus_dict_add_string(&rm, "writer-restore", m->writer_restore);
			if (r >= 0)
				r = bus_dict_add_bool(&rm, "reboot-required", m->reboot_required);
		}
		if (r >= 0)
			r = bus_dict_close(&v, &rm);
		else
			busmsg_dict_abandon(&v, &rm);
		r = busmsg_entry_close(dict, &e, &v, r);
	}
	if (r >= 0)
		r = append_files(dict, "alternate-location-mappings", m->mappings, m->n_mappings);
	if (r >= 0)
		r = bus_dict_add_strv(dict, "backup-schema", m->backup_schema);
	return r;
}
