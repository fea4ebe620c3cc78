/* SPDX-License-Identifier: GPL-2.0-or-later */
/* writer-internal.h - what the writer registry and its D-Bus adapter share */
#pragma once

#include <dbus/dbus.h>

#include "daemon/writer.h"

/* writer.c */
void writer_components_free(WriterComponent *c, size_t n);
/* (Re)starts the look-up of the devices of w's component paths, as w's owner. */
int writer_resolve_paths(Writer *w);
/* The new state and, unless NULL, the new last error; one PropertiesChanged when either
 * differs. */
void writer_update(Writer *w, WriterState s, const char *last_error);

/* writer-dbus.c */
/* Identify's answer: its components replace the registered ones (see writer-dbus.c) */
void writer_identify_update(Writer *w, DBusMessage *reply);
