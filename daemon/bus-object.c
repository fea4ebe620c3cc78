/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bus-object.c - vssd's objects on the bus: registry, Properties, ObjectManager, Introspect */
#include "common/log.h"
#include "common/vssid.h"
#include "daemon/bus.h"

/* The API description, embedded at build time from dbus/org.vssd.ShadowCopy1.xml */
extern const char vssd_introspect_xml[];

/* ---- objects --------------------------------------------------------------------------------- */

BusObject *bus_object_find(Bus *b, const char *path)
{
	for (BusObject *o = b->objects; o; o = o->next)
		if (streq(o->path, path))
			return o;
	return NULL;
}

bool bus_has_object(Bus *b, const char *path)
{
	return bus_object_find(b, path) != NULL;
}

const BusInterface *bus_object_iface(BusObject *o, const char *name)
{
	for (const BusInterface *const *i = o->ifaces; *i; i++)
		if (streq((*i)->name, name))
			return *i;
	return NULL;
}

/* {name: variant of the property's value} in dict */
static int append_property(Bus *b, BusObject *o, const BusProperty *p, DBusMessageIter *dict)
{
	DBusMessageIter e, v;
	int r;

	r = busmsg_entry_open(dict, p->name, p->sig, &e, &v);
	if (r < 0)
		return r;
	return busmsg_entry_close(dict, &e, &v, p->get(b, o->userdata, &v));
}

static int append_properties(Bus *b, BusObject *o, const BusInterface *iface, DBusMessageIter *it)
{
	DBusMessageIter dict;
	int r;

	r = bus_dict_open(it, &dict);
	if (r < 0)
		return r;
	for (const BusProperty *p = iface->properties; p && p->name; p++) {
		r = append_property(b, o, p, &dict);
		if (r < 0)
			return r;
	}
	return bus_dict_close(it, &dict);
}

/* a{sa{sv}}: every interface of o with its properties */
static int append_interfaces(Bus *b, BusObject *o, DBusMessageIter *it)
{
	DBusMessageIter arr;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "{sa{sv}}", &arr))
		return -ENOMEM;
	for (const BusInterface *const *i = o->ifaces; *i; i++) {
		DBusMessageIter e;
		int r;

		if (!dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
		    !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &(*i)->name))
			return -ENOMEM;
		r = append_properties(b, o, *i, &e);
		if (r < 0)
			return r;
		if (!dbus_message_iter_close_container(&arr, &e))
			return -ENOMEM;
	}
	return dbus_message_iter_close_container(it, &arr) ? 0 : -ENOMEM;
}

int bus_add_object(Bus *b, const char *path, const BusInterface *const *ifaces, void *userdata)
{
	BusObject *o;

	if (bus_object_find(b, path))
		return -EEXIST;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->path = strdup(path);
	if (!o->path) {
		free(o);
		return -ENOMEM;
	}
	o->ifaces = ifaces;
	o->userdata = userdata;
	o->next = b->objects;
	b->objects = o;

	if (b->conn && !streq(path, VSSD_ROOT_PATH)) {
		DBusMessage *s =
			dbus_message_new_signal(VSSD_ROOT_PATH, DBUS_OBJMGR, "InterfacesAdded");
		DBusMessageIter it;

		if (s) {
			dbus_message_iter_init_append(s, &it);
			if (bus_append_path(&it, path) >= 0 && append_interfaces(b, o, &it) >= 0)
				(void)bus_emit_signal(b, s);
			dbus_message_unref(s);
		}
	}
	return 0;
}

void bus_remove_object(Bus *b, const char *path)
{
	BusObject **p = &b->objects, *o;

	while (*p && !streq((*p)->path, path))
		p = &(*p)->next;
	o = *p;
	if (!o)
		return;
	*p = o->next;

	if (b->conn) {
		DBusMessage *s =
			dbus_message_new_signal(VSSD_ROOT_PATH, DBUS_OBJMGR, "InterfacesRemoved");
		DBusMessageIter it, arr;

		if (s) {
			dbus_message_iter_init_append(s, &it);
			if (bus_append_path(&it, path) >= 0 &&
			    dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "s", &arr)) {
				for (const BusInterface *const *i = o->ifaces; *i; i++)
					(void)bus_append_string(&arr, (*i)->name);
				if (dbus_message_iter_close_container(&it, &arr))
					(void)bus_emit_signal(b, s);
			}
			dbus_message_unref(s);
		}
	}
	free(o->path);
	free(o);
}

void bus_emit_properties_changed(Bus *b, const char *path, const char *iface,
                                 const char *const *names)
{
	BusObject *o = bus_object_find(b, path);
	const BusInterface *i;
	DBusMessage *s;
	DBusMessageIter it, dict, inv;

	if (!o || (!b->conn && !b->tap) || !(i = bus_object_iface(o, iface)))
		return;
	s = dbus_message_new_signal(path, DBUS_PROPS, "PropertiesChanged");
	if (!s)
		return;
	dbus_message_iter_init_append(s, &it);
	if (bus_append_string(&it, iface) < 0 || bus_dict_open(&it, &dict) < 0)
		goto out;
	for (const char *const *n = names; *n; n++)
		for (const BusProperty *p = i->properties; p && p->name; p++)
			if (streq(p->name, *n) && append_property(b, o, p, &dict) < 0)
				goto out;
	if (bus_dict_close(&it, &dict) < 0 ||
	    !dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "s", &inv) ||
	    !dbus_message_iter_close_container(&it, &inv))
		goto out;
	(void)bus_emit_signal(b, s);
out:
	dbus_message_unref(s);
}

char *bus_object_path(const char *kind, const void *vssid, char *buf, size_t size)
{
	char p[VSSID_PATH_MAX];

	snprintf(buf, size, VSSD_ROOT_PATH "/%s/%s", kind, vssid_to_path(vssid, p));
	return buf;
}

/* ---- standard interfaces --------------------------------------------------------------------- */

/* The part of the embedded XML for one interface: <interface name="X"> ... </interface> */
/* Copies XML text [p, e) to f without its <method> elements */
static void put_without_methods(FILE *f, const char *p, const char *e)
{
	while (p < e) {
		const char *m = strstr(p, "<method "), *gt, *end;

		if (!m || m >= e) {
			fwrite(p, 1, (size_t)(e - p), f);
			return;
		}
		fwrite(p, 1, (size_t)(m - p), f);
		gt = strchr(m, '>');
		end = strstr(m, "</method>");
		if (gt && gt > m && gt[-1] == '/')
			p = gt + 1; /* <method name="X"/> */
		else if (end && end < e)
			p = end + strlen("</method>");
		else
			return;
	}
}

/* The interface's XML as dbus/org.vssd.ShadowCopy1.xml has it; an interface whose object
 * implements no methods here (vssd's writer objects: the writers implement them) is shown with
 * its properties and signals only. */
static int append_iface_xml(FILE *f, const BusInterface *iface)
{
	char start[160];
	const char *a, *e;

	snprintf(start, sizeof(start), "<interface name=\"%s\">", iface->name);
	a = strstr(vssd_introspect_xml, start);
	if (!a)
		return -ENOENT;
	e = strstr(a, "</interface>");
	if (!e)
		return -EINVAL;
	fputs("  ", f);
	if (iface->methods && iface->methods[0].name)
		fwrite(a, 1, (size_t)(e - a), f);
	else
		put_without_methods(f, a, e);
	fputs("</interface>\n", f);
	return 0;
}

static const char std_ifaces_xml[] =
	"  <interface name=\"org.freedesktop.DBus.Introspectable\">\n"
	"    <method name=\"Introspect\"><arg name=\"xml\" type=\"s\" "
	"direction=\"out\"/></method>\n"
	"  </interface>\n"
	"  <interface name=\"org.freedesktop.DBus.Peer\">\n"
	"    <method name=\"Ping\"/>\n"
	"    <method name=\"GetMachineId\"><arg name=\"id\" type=\"s\" "
	"direction=\"out\"/></method>\n"
	"  </interface>\n"
	"  <interface name=\"org.freedesktop.DBus.Properties\">\n"
	"    <method name=\"Get\"><arg name=\"interface\" type=\"s\" direction=\"in\"/>"
	"<arg name=\"name\" type=\"s\" direction=\"in\"/>"
	"<arg name=\"value\" type=\"v\" direction=\"out\"/></method>\n"
	"    <method name=\"GetAll\"><arg name=\"interface\" type=\"s\" direction=\"in\"/>"
	"<arg name=\"properties\" type=\"a{sv}\" direction=\"out\"/></method>\n"
	"    <method name=\"Set\"><arg name=\"interface\" type=\"s\" direction=\"in\"/>"
	"<arg name=\"name\" type=\"s\" direction=\"in\"/>"
	"<arg name=\"value\" type=\"v\" direction=\"in\"/></method>\n"
	"    <signal name=\"PropertiesChanged\"><arg name=\"interface\" type=\"s\"/>"
	"<arg name=\"changed\" type=\"a{sv}\"/><arg name=\"invalidated\" type=\"as\"/></signal>\n"
	"  </interface>\n";

static const char objmgr_xml[] =
	"  <interface name=\"org.freedesktop.DBus.ObjectManager\">\n"
	"    <method name=\"GetManagedObjects\"><arg name=\"objects\" type=\"a{oa{sa{sv}}}\" "
	"direction=\"out\"/></method>\n"
	"    <signal name=\"InterfacesAdded\"><arg name=\"object\" type=\"o\"/>"
	"<arg name=\"interfaces\" type=\"a{sa{sv}}\"/></signal>\n"
	"    <signal name=\"InterfacesRemoved\"><arg name=\"object\" type=\"o\"/>"
	"<arg name=\"interfaces\" type=\"as\"/></signal>\n"
	"  </interface>\n";

int bus_object_introspect(Bus *b, DBusMessage *m, const char *path)
{
	_cleanup_free_ char *xml = NULL;
	_cleanup_strv_free_ char **children = NULL;
	BusObject *self = bus_object_find(b, path);
	size_t plen = strlen(path);
	size_t len = 0;
	DBusMessage *reply;
	FILE *f;

	/* children: the next path element of every object below path */
	for (BusObject *o = b->objects; o; o = o->next) {
		const char *rest;
		_cleanup_free_ char *elem = NULL;

		if (streq(path, "/"))
			rest = o->path + 1;
		else if (strncmp(o->path, path, plen) == 0 && o->path[plen] == '/')
			rest = o->path + plen + 1;
		else
			continue;
		elem = strndup(rest, strcspn(rest, "/"));
		if (!elem)
			return -ENOMEM;
		if (elem[0] && !strv_contains(children, elem) &&
		    strv_push(&children, TAKE_PTR(elem)) < 0)
			return -ENOMEM;
	}
	if (!self && !children)
		return -ENOENT;

	f = open_memstream(&xml, &len);
	if (!f)
		return -ENOMEM;
	fputs("<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n"
	      " \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n<node>\n",
	      f);
	fputs(std_ifaces_xml, f);
	if (self) {
		if (streq(path, VSSD_ROOT_PATH))
			fputs(objmgr_xml, f);
		for (const BusInterface *const *i = self->ifaces; *i; i++)
			(void)append_iface_xml(f, *i);
	}
	for (char **c = children; c && *c; c++)
		fprintf(f, "  <node name=\"%s\"/>\n", *c);
	fputs("</node>\n", f);
	if (fclose(f) != 0)
		return -ENOMEM;

	reply = dbus_message_new_method_return(m);
	if (!reply || !dbus_message_append_args(reply, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID)) {
		if (reply)
			dbus_message_unref(reply);
		return -ENOMEM;
	}
	return bus_send(b, reply);
}

static int get_managed_objects(Bus *b, DBusMessage *m)
{
	DBusMessage *reply = dbus_message_new_method_return(m);
	DBusMessageIter it, arr;

	if (!reply)
		return -ENOMEM;
	dbus_message_iter_init_append(reply, &it);
	if (!dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{oa{sa{sv}}}", &arr))
		goto oom;
	for (BusObject *o = b->objects; o; o = o->next) {
		DBusMessageIter e;

		if (streq(o->path, VSSD_ROOT_PATH))
			continue;
		if (!dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
		    bus_append_path(&e, o->path) < 0 || append_interfaces(b, o, &e) < 0 ||
		    !dbus_message_iter_close_container(&arr, &e))
			goto oom;
	}
	if (!dbus_message_iter_close_container(&it, &arr))
		goto oom;
	return bus_send(b, reply);
oom:
	dbus_message_unref(reply);
	return -ENOMEM;
}

static int properties_call(Bus *b, DBusMessage *m, BusObject *o, VssErr *err)
{
	const char *member = dbus_message_get_member(m);
	const char *iface_name = NULL, *prop = NULL;
	const BusInterface *iface;
	DBusMessage *reply;
	DBusMessageIter it, v;
	int r;

	if (streq(member, "GetAll")) {
		if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &iface_name,
		                           DBUS_TYPE_INVALID))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "GetAll takes an interface name");
		iface = bus_object_iface(o, iface_name);
		reply = dbus_message_new_method_return(m);
		if (!reply)
			return -ENOMEM;
		dbus_message_iter_init_append(reply, &it);
		if (iface)
			r = append_properties(b, o, iface, &it);
		else {
			DBusMessageIter d;

			r = bus_dict_open(&it, &d);
			if (r >= 0)
				r = bus_dict_close(&it, &d);
		}
		if (r < 0) {
			dbus_message_unref(reply);
			return r;
		}
		return bus_send(b, reply);
	}
	if (streq(member, "Get")) {
		if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &iface_name, DBUS_TYPE_STRING,
		                           &prop, DBUS_TYPE_INVALID))
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "Get takes an interface and a property name");
		iface = bus_object_iface(o, iface_name);
		for (const BusProperty *p = iface ? iface->properties : NULL; p && p->name; p++) {
			if (!streq(p->name, prop))
				continue;
			reply = dbus_message_new_method_return(m);
			if (!reply)
				return -ENOMEM;
			dbus_message_iter_init_append(reply, &it);
			if (!dbus_message_iter_open_container(&it, DBUS_TYPE_VARIANT, p->sig, &v) ||
			    p->get(b, o->userdata, &v) < 0 ||
			    !dbus_message_iter_close_container(&it, &v)) {
				dbus_message_unref(reply);
				return -ENOMEM;
			}
			return bus_send(b, reply);
		}
		return bus_send(b, dbus_message_new_error(m, DBUS_ERROR_UNKNOWN_PROPERTY,
		                                          "no such property"));
	}
	if (streq(member, "Set"))
		return bus_send(b, dbus_message_new_error(m, DBUS_ERROR_PROPERTY_READ_ONLY,
		                                          "all vssd properties are read-only"));
	return bus_send(b, dbus_message_new_error(m, DBUS_ERROR_UNKNOWN_METHOD, "unknown method"));
}

int bus_object_call_standard(Bus *b, DBusMessage *m, BusObject *o, VssErr *err)
{
	const char *iface = dbus_message_get_interface(m);
	const char *member = dbus_message_get_member(m);

	if (streq(iface, DBUS_INTROSPECT))
		return bus_object_introspect(b, m, o->path);
	if (streq(iface, DBUS_OBJMGR) && streq(member, "GetManagedObjects") &&
	    streq(o->path, VSSD_ROOT_PATH))
		return get_managed_objects(b, m);
	if (streq(iface, DBUS_PROPS))
		return properties_call(b, m, o, err);
	return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -ENOSYS, "unknown method %s", member);
}

void bus_objects_free(Bus *b)
{
	while (b->objects) {
		BusObject *o = b->objects;

		b->objects = o->next;
		free(o->path);
		free(o);
	}
}
