#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# raw-writer.py - a writer that speaks D-Bus itself, without libvsswriter (which cleans its own
# texts): it says what it is told, raw, as a hostile or broken writer could.
#
# raw-writer.py NAME PATH VETO-EVENT MESSAGE: registers as writer NAME with one component
# "data" holding PATH, answers every event, and vetoes VETO-EVENT (a Writer method name, e.g.
# Freeze) with ...Writer.Error.Retryable and MESSAGE. Prints "registered ID" once registered.
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

BUS = "org.vssd.ShadowCopy1"
ROOT = "/org/vssd/ShadowCopy1"
IFACE = "org.vssd.ShadowCopy1.Writer"
PATH = "/org/example/RawWriter"

name, data_path, veto_event, message = sys.argv[1:5]


class Veto(dbus.DBusException):
    _dbus_error_name = IFACE + ".Error.Retryable"


class Writer(dbus.service.Object):
    def event(self, ev):
        print("event " + ev, flush=True)
        if ev == veto_event:
            raise Veto(message)

    @dbus.service.method(IFACE, in_signature="", out_signature="a{sv}")
    def Identify(self):
        self.event("Identify")
        return dbus.Dictionary({}, signature="sv")

    @dbus.service.method(IFACE, in_signature="a{sv}", out_signature="")
    def PrepareForBackup(self, options):
        self.event("PrepareForBackup")

    @dbus.service.method(IFACE, in_signature="sas", out_signature="")
    def PrepareForSnapshot(self, set_id, volumes):
        self.event("PrepareForSnapshot")

    @dbus.service.method(IFACE, in_signature="s", out_signature="")
    def Freeze(self, set_id):
        self.event("Freeze")

    @dbus.service.method(IFACE, in_signature="s", out_signature="")
    def Thaw(self, set_id):
        self.event("Thaw")

    @dbus.service.method(IFACE, in_signature="sa{ss}", out_signature="")
    def PostSnapshot(self, set_id, devices):
        self.event("PostSnapshot")

    @dbus.service.method(IFACE, in_signature="s", out_signature="")
    def Abort(self, set_id):
        self.event("Abort")

    @dbus.service.method(IFACE, in_signature="sb", out_signature="")
    def BackupComplete(self, set_id, success):
        self.event("BackupComplete")

    @dbus.service.method(IFACE, in_signature="s", out_signature="")
    def BackupShutdown(self, set_id):
        self.event("BackupShutdown")


def registered(instance_id):
    print("registered " + instance_id, flush=True)


def failed(e):
    print("registration failed: %s" % e, flush=True)
    loop.quit()


dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SystemBus()
writer = Writer(bus, PATH)
info = dbus.Dictionary({
    "name": dbus.String(name),
    "class-id": dbus.String("0b0b0b0b-0000-4000-8000-00000000bad1"),
    "components": dbus.Array([dbus.Dictionary({
        "name": dbus.String("data"),
        "paths": dbus.Array([dbus.String(data_path)], signature="s"),
    }, signature="sv")], signature="a{sv}"),
}, signature="sv")
manager = dbus.Interface(bus.get_object(BUS, ROOT, introspect=False), BUS + ".Manager")
manager.RegisterWriter(dbus.ObjectPath(PATH), info, reply_handler=registered,
                       error_handler=failed)
loop = GLib.MainLoop()
loop.run()
