#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# requester.py - a scripted backup requester for the integration tests: one D-Bus connection
# runs the steps given on the command line, in order, and prints one JSON line per step.
#
# Steps (separated by "--"):
#   start [key=value...]        StartSnapshotSet (values: true/false, or strings; lists: a,b)
#   create VOL[,VOL...] [k=v...] CreateSnapshotSet
#   add VOLUME [PROVIDER]       AddVolume          gather    GatherWriterMetadata
#   components [NAME...]        SetComponents: the components called NAME of every writer of
#                               the last gather (none: an empty selection)
#   prepare                     PrepareForBackup
#   do                          DoSnapshotSet      status    GatherWriterStatus
#   results W/C=true|false...   SetBackupSucceeded: component C of the writer named W (of the
#                               last gather)
#   document                    GetBackupDocument, parsed (the JSON document is the result)
#   complete true|false         BackupComplete     abort     Abort
#   release                     Release            props     the set's properties
#   use SETPATH                 drive another set from now on (to test ownership)
#   delsnap N                   Snapshot.Delete on the shadow copy of the N-th add (from 0)
#   snaps                       each shadow copy of the set: its Volume, Device and State
#   delete key=value...         DeleteSnapshots
#   expect ERROR                the previous step must have failed with ...Error.ERROR
#   ok                          the previous step must have succeeded
#   hold                        keep the connection until killed (prints "holding")
#   sleep SECONDS
# Exit status: 0, or 1 when an expect/ok assertion failed (the rest is not run).
import json
import sys
import time

import dbus

BUS = "org.vssd.ShadowCopy1"
ROOT = "/org/vssd/ShadowCopy1"
ERR = "org.vssd.ShadowCopy1.Error."
LONG = 900


def value(v):
    if v in ("true", "false"):
        return dbus.Boolean(v == "true")
    if "," in v:
        return dbus.Array([dbus.String(x) for x in v.split(",") if x], signature="s")
    if v.startswith("u:"):
        return dbus.UInt32(int(v[2:]))
    return dbus.String(v)


def options(args):
    d = dbus.Dictionary({}, signature="sv")
    for a in args:
        k, _, v = a.partition("=")
        d[k] = value(v)
    return d


def plain(x):
    if isinstance(x, (dbus.Array, list, tuple)):
        return [plain(i) for i in x]
    if isinstance(x, (dbus.Dictionary, dict)):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, dbus.Boolean):
        return bool(x)
    if isinstance(x, (dbus.String, dbus.ObjectPath)):
        return str(x)
    if isinstance(x, (int, float)):
        return x
    return str(x)


def main(argv):
    bus = dbus.SystemBus()
    mgr = dbus.Interface(bus.get_object(BUS, ROOT), BUS + ".Manager")
    steps, cur = [], []
    for a in argv:
        if a == "--":
            steps.append(cur)
            cur = []
        else:
            cur.append(a)
    if cur:
        steps.append(cur)

    setpath = None
    gathered = []
    added = []
    last = None
    for st in steps:
        name, args = st[0], st[1:]
        out = {"step": name}
        t0 = time.monotonic()
        try:
            if name == "expect":
                want = ERR + args[0]
                if last is None or last.get("error") != want:
                    print(json.dumps({"step": "expect", "failed": True, "want": want,
                                      "got": last}), flush=True)
                    return 1
                continue
            if name == "ok":
                if last is None or "error" in last:
                    print(json.dumps({"step": "ok", "failed": True, "got": last}), flush=True)
                    return 1
                continue
            if name == "sleep":
                time.sleep(float(args[0]))
                continue
            if name == "hold":
                print(json.dumps({"step": "hold", "holding": True, "set": setpath}), flush=True)
                while True:
                    time.sleep(3600)
            s = None
            if name in ("add", "gather", "components", "results", "document", "prepare", "do",
                        "status", "complete", "abort", "release", "props",
                        "snaps") and not setpath:
                out["error"] = "no-set"
                last = out
                print(json.dumps(out), flush=True)
                continue
            if setpath:
                s = dbus.Interface(bus.get_object(BUS, setpath), BUS + ".SnapshotSet")
            if name == "start":
                setpath = str(mgr.StartSnapshotSet(options(args)))
                out["result"] = setpath
            elif name == "create":
                vols = dbus.Array(args[0].split(",") if args and args[0] else [],
                                  signature="s")
                r = mgr.CreateSnapshotSet(vols, options(args[1:]), timeout=LONG)
                setpath = str(r[0])
                out["result"] = plain(r)
            elif name == "use":
                setpath = args[0]
                out["result"] = setpath
            elif name == "delete":
                out["result"] = int(mgr.DeleteSnapshots(options(args)))
            elif name == "add":
                out["result"] = str(s.AddVolume(args[0], args[1] if len(args) > 1 else ""))
                added.append(out["result"])
            elif name == "delsnap":
                snap = dbus.Interface(bus.get_object(BUS, added[int(args[0])]),
                                      BUS + ".Snapshot")
                snap.Delete()
            elif name == "snaps":
                p = dbus.Interface(bus.get_object(BUS, setpath), "org.freedesktop.DBus.Properties")
                out["result"] = []
                for sp in p.Get(BUS + ".SnapshotSet", "Snapshots"):
                    q = dbus.Interface(bus.get_object(BUS, sp), "org.freedesktop.DBus.Properties")
                    a = q.GetAll(BUS + ".Snapshot")
                    out["result"].append({k: str(a[k]) for k in ("Volume", "Device", "State")})
            elif name == "gather":
                out["result"] = plain(s.GatherWriterMetadata(timeout=LONG))
                gathered = out["result"]
            elif name == "components":
                sel = [dbus.Dictionary({"instance-id": dbus.String(w["instance-id"]),
                                        "name": dbus.String(c["name"])}, signature="sv")
                       for w in gathered for c in w.get("components", []) if c["name"] in args]
                s.SetComponents(dbus.Array(sel, signature="a{sv}"))
                out["result"] = len(sel)
            elif name == "results":
                res = []
                for a in args:
                    wc, _, ok = a.partition("=")
                    wname, _, cname = wc.partition("/")
                    wid = [w["instance-id"] for w in gathered if w["name"] == wname]
                    res.append(dbus.Dictionary({"instance-id": dbus.String(wid[0] if wid else ""),
                                                "name": dbus.String(cname),
                                                "succeeded": dbus.Boolean(ok == "true")},
                                               signature="sv"))
                s.SetBackupSucceeded(dbus.Array(res, signature="a{sv}"))
                out["result"] = len(res)
            elif name == "document":
                out["result"] = json.loads(str(s.GetBackupDocument()))
            elif name == "prepare":
                s.PrepareForBackup(timeout=LONG)
            elif name == "do":
                s.DoSnapshotSet(timeout=LONG)
            elif name == "status":
                out["result"] = plain(s.GatherWriterStatus(timeout=LONG))
            elif name == "complete":
                s.BackupComplete(dbus.Boolean(args[0] == "true"), timeout=LONG)
            elif name == "abort":
                s.Abort()
            elif name == "release":
                s.Release()
            elif name == "props":
                p = dbus.Interface(bus.get_object(BUS, setpath), "org.freedesktop.DBus.Properties")
                out["result"] = plain(p.GetAll(BUS + ".SnapshotSet"))
            else:
                print(json.dumps({"step": name, "failed": True, "usage": "unknown step"}))
                return 2
        except dbus.exceptions.DBusException as e:
            out["error"] = e.get_dbus_name()
            out["message"] = e.get_dbus_message()
        out["ms"] = int((time.monotonic() - t0) * 1000)
        last = out
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
