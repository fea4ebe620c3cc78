#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# model-writer.py - a writer that registers the whole VSS writer metadata model (components with
# files, dependencies, exclude files, restore method, mappings, backup schema) over D-Bus itself
#
# model-writer.py NAME DIR MODE: DIR holds db/, db/wal/, conf/ and archive/. MODE "full"
# registers the model and answers Identify with it plus a component "archive"; "bad-kind"
# registers a filegroup with a file of kind "journal" (refused); "bad-stamp" registers as "full"
# and answers PostSnapshot with a backup stamp for a component it does not have (the answer
# carries component data: a{sv}; an empty one otherwise). Prints "registered ID" or
# "registration failed: ERROR-NAME: MESSAGE", then "event METHOD" per event, and at
# PrepareForBackup "prepare-components NAME:KEYS..." (what a component selection holds).
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

BUS = "org.vssd.ShadowCopy1"
ROOT = "/org/vssd/ShadowCopy1"
IFACE = "org.vssd.ShadowCopy1.Writer"
PATH = "/org/example/ModelWriter"

name, top, mode = sys.argv[1:4]


def d(**kw):
    return dbus.Dictionary({k.replace("_", "-"): v for k, v in kw.items()}, signature="sv")


def strs(*l):
    return dbus.Array([dbus.String(x) for x in l], signature="s")


def dicts(*l):
    return dbus.Array(list(l), signature="a{sv}")


def fileset(path, filespec=None, recursive=None, alternate_path=None, kind=None):
    f = d(path=dbus.String(path))
    if filespec is not None:
        f["filespec"] = dbus.String(filespec)
    if recursive is not None:
        f["recursive"] = dbus.Boolean(recursive)
    if alternate_path is not None:
        f["alternate-path"] = dbus.String(alternate_path)
    if kind is not None:
        f["kind"] = dbus.String(kind)
    return f


def components(identify):
    main = d(name=dbus.String("main"), paths=strs(top + "/db"),
             logical_path=dbus.String("Databases"), type=dbus.String("database"),
             caption=dbus.String("Main database"), selectable=dbus.Boolean(True),
             files=dicts(fileset(top + "/db", "*.db", kind="database"),
                         fileset(top + "/db/wal", "*.wal", kind="log")),
             dependencies=strs("System\\registry"))
    # no paths: its files alone say where it lies
    config = d(name=dbus.String("config"), selectable=dbus.Boolean(False),
               caption=dbus.String("Configuration"),
               files=dicts(fileset(top + "/conf", recursive=True,
                                   alternate_path="/srv/restored-conf")))
    if mode == "bad-kind":
        config["files"] = dicts(fileset(top + "/conf", kind="journal"))
    l = [main, config]
    if identify:
        l.append(d(name=dbus.String("archive"), files=dicts(fileset(top + "/archive"))))
    return dicts(*l)


def model(identify):
    return {
        "components": components(identify),
        "exclude-files": dicts(fileset(top + "/db", "*.tmp", recursive=True)),
        "restore-method": d(method=dbus.String("stop-restore-start"),
                            service=dbus.String("model-db.service"),
                            writer_restore=dbus.String("always"),
                            reboot_required=dbus.Boolean(False)),
        "alternate-location-mappings": dicts(fileset(top + "/conf", "*",
                                                     alternate_path="/srv/elsewhere")),
        "backup-schema": strs("incremental", "lsn"),
    }


class Writer(dbus.service.Object):
    def event(self, ev):
        print("event " + ev, flush=True)

    @dbus.service.method(IFACE, in_signature="", out_signature="a{sv}")
    def Identify(self):
        self.event("Identify")
        info = d(name=dbus.String(name))
        info.update(model(True))
        return info

    @dbus.service.method(IFACE, in_signature="a{sv}", out_signature="")
    def PrepareForBackup(self, options):
        self.event("PrepareForBackup")
        print("prepare-components " + " ".join(
            "%s:%s" % (c["name"], ",".join(sorted(str(k) for k in c.keys())))
            for c in options.get("components", [])), flush=True)

    @dbus.service.method(IFACE, in_signature="sas", out_signature="")
    def PrepareForSnapshot(self, set_id, volumes):
        self.event("PrepareForSnapshot")

    @dbus.service.method(IFACE, in_signature="s", out_signature="")
    def Freeze(self, set_id):
        self.event("Freeze")

    @dbus.service.method(IFACE, in_signature="s", out_signature="")
    def Thaw(self, set_id):
        self.event("Thaw")

    @dbus.service.method(IFACE, in_signature="sa{ss}", out_signature="a{sv}")
    def PostSnapshot(self, set_id, devices):
        self.event("PostSnapshot")
        if mode != "bad-stamp":
            return d()
        return d(components=dicts(d(name=dbus.String("nope"), backup_stamp=dbus.String("x"))))

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
    print("registration failed: %s: %s" % (e.get_dbus_name(), e.get_dbus_message()),
          flush=True)
    loop.quit()


dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SystemBus()
writer = Writer(bus, PATH)
info = d(name=dbus.String(name),
         class_id=dbus.String("0b0b0b0b-0000-4000-8000-0000000d0de1"))
info.update(model(False))
manager = dbus.Interface(bus.get_object(BUS, ROOT, introspect=False), BUS + ".Manager")
manager.RegisterWriter(dbus.ObjectPath(PATH), info, reply_handler=registered,
                       error_handler=failed)
loop = GLib.MainLoop()
loop.run()
