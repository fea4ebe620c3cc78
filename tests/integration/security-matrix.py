#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# security-matrix.py - every method and property of dbus/org.vssd.ShadowCopy1.xml, called as each
# identity of tests/integration/36-security-matrix.sh, against the table of expected outcomes
#
#   security-matrix.py worker
#       one bus connection: reads one call a line on stdin (JSON: dest, path, iface, method, sig,
#       args), answers one JSON line: {"result": ...} or {"error": NAME, "message": TEXT}. The
#       first line it prints is {"name": its unique bus name}.
#   security-matrix.py run XML TABLE OBJECTS WORKER-CMDS
#       OBJECTS: JSON {"root": {"path": ...}, "snap": ..., "writer": ..., "writer-id": ID,
#       "writer-proc-path": PATH, "owner-volume": VOLUME}; WORKER-CMDS: JSON {identity: argv}
#       for the identities outsider, writer, admin, owner, root, in that order of calls (on the
#       set, the owner calls last). The owner starts the set first (no writers) and adds
#       OWNER-VOLUME to it.
#       Prints the result table; exit 1 on any mismatch, or when the XML and the table disagree
#       about which rows exist.
#
# Outcomes in the table (one word per identity):
#   ok         the call returned
#   policy     org.freedesktop.DBus.Error.AccessDenied from dbus-daemon (the shipped policy)
#   vssd       org.vssd.ShadowCopy1.Error.AccessDenied (vssd's own check)
#   NAME       org.vssd.ShadowCopy1.Error.NAME: the call got through to vssd's handler
#   dbus.NAME  org.freedesktop.DBus.Error.NAME, not from the policy (UnknownMethod,
#              PropertyReadOnly, or a writer's own AccessDenied)
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

BUS = "org.vssd.ShadowCopy1"
PFX = BUS + "."
ERR = BUS + ".Error."
DERR = "org.freedesktop.DBus.Error."
PROPS = "org.freedesktop.DBus.Properties"
IDENTITIES = ("outsider", "writer", "admin", "owner", "root")
NOPE = "/dev/vssd-matrix-none"  # a device path that does not exist
FAKE_SET = "00000000-0000-4000-8000-000000000000"

# which interface each kind of object carries, as the XML names it (short form)
KIND_IFACE = {
    "root": "Manager",
    "snap": "Snapshot",  # a created persistent shadow copy (root's)
    "snap-new": "Snapshot",  # a shadow copy of the owner's set, not created yet
    "writer": "Writer",  # vssd's object of a registered writer
    "writer-proc": "Writer",  # the registered writer's own connection, at its own path
    "set": "SnapshotSet",  # the owner's set
    "restore": "RestoreSession",  # the owner's restore session (a document without writers)
}
KIND_ORDER = ("root", "snap", "snap-new", "writer", "writer-proc", "set", "restore")
# objects where vssd serves Introspect and Properties (the writer process serves its own)
VSSD_KINDS = ("root", "snap", "snap-new", "writer", "set", "restore")
# the owner's restore session is of this document: valid, no writers
RESTORE_DOCUMENT = json.dumps({"format": "vssd-backup/1", "set-id": FAKE_SET, "context": "backup",
                               "backup-type": "full", "creation-time": 0, "snapshots": [],
                               "writers": []})

# Harmless or invalid arguments, per method: the point is the access decision; where the call
# gets through, the outcome still shows it (a result, or an error only vssd's handler gives).
# "$t" marks a D-Bus type JSON cannot say.
ARGS = {
    "Manager.StartSnapshotSet": [{"vssd-matrix-no-such-option": True}],
    "Manager.StartRestore": ["{ not a document", {}],
    "RestoreSession.SetSelectedForRestore": [{"$t": "aa{sv}", "v": []}],
    "RestoreSession.SetFileRestoreStatus": [{"$t": "aa{sv}", "v": []}],
    "Manager.CreateSnapshotSet": [[], {}],
    "Manager.DeleteSnapshots": [{}],
    "Manager.RegisterWriter": [{"$t": "o", "v": "/vssd/matrix"}, {}],
    "Manager.UnregisterWriter": ["@writer-id"],
    "Manager.ListWriters": [False],
    "Manager.CreateVolume": [NOPE, {}],
    "Manager.RemoveVolume": [NOPE],
    "Manager.AddStorage": [NOPE, "/nonexistent", {"$t": "t", "v": 0}],
    "Manager.ResizeStorage": [NOPE, {"$t": "t", "v": 0}],
    "Manager.DeleteStorage": [NOPE, {}],
    "SnapshotSet.AddVolume": [NOPE, ""],
    "SnapshotSet.SetComponents": [{"$t": "aa{sv}", "v": []}],
    "SnapshotSet.SetBackupSucceeded": [{"$t": "aa{sv}", "v": []}],
    "SnapshotSet.BackupComplete": [True],
    "Snapshot.Expose": ["", {}],  # the device only: nothing mounted, nothing kept
    "Snapshot.Revert": [{}],  # snap: the volume is mounted (VolumeInUse)
    "Writer.PrepareForBackup": [{}],
    "Writer.PrepareForSnapshot": [FAKE_SET, {"$t": "as", "v": []}],
    "Writer.Freeze": [FAKE_SET],
    "Writer.Thaw": [FAKE_SET],
    "Writer.PostSnapshot": [FAKE_SET, {"$t": "a{ss}", "v": {}}],
    "Writer.Abort": [FAKE_SET],
    "Writer.BackupComplete": [FAKE_SET, True],
    "Writer.BackupShutdown": [FAKE_SET],
    "Writer.BackupResults": [FAKE_SET, {"$t": "aa{sv}", "v": []}],
    "Writer.PreRestore": [FAKE_SET, {}],
    "Writer.PostRestore": [FAKE_SET, {}],
}
# run after every other row: root really unregisters the writer
LAST = ("root Manager.UnregisterWriter",)
# Snapshot.Delete on the created persistent shadow copy would delete it: the shadow copy that is
# not created yet shows the call gets through (BadState)
SKIP = ("snap Snapshot.Delete",)

DUMMY = {"s": "x", "u": {"$t": "u", "v": 0}, "t": {"$t": "t", "v": 0}, "d": {"$t": "d", "v": 0},
         "o": {"$t": "o", "v": "/"}, "ao": {"$t": "ao", "v": []},
         "aa{sv}": {"$t": "aa{sv}", "v": []}}


def to_dbus(x):
    import dbus
    if isinstance(x, dict) and "$t" in x:
        t, v = x["$t"], x["v"]
        simple = {"u": dbus.UInt32, "t": dbus.UInt64, "d": dbus.Double, "o": dbus.ObjectPath,
                  "s": dbus.String, "b": dbus.Boolean}
        if t in simple:
            return simple[t](v)
        if t == "a{ss}":
            return dbus.Dictionary(v, signature="ss")
        return dbus.Array([to_dbus(i) for i in v], signature=t[1:])
    if isinstance(x, dict):
        return dbus.Dictionary({k: to_dbus(v) for k, v in x.items()}, signature="sv")
    if isinstance(x, list):
        return [to_dbus(i) for i in x]
    if isinstance(x, bool):
        return dbus.Boolean(x)
    return x


def plain(x):
    import dbus
    if isinstance(x, (dbus.Array, list, tuple)):
        return [plain(i) for i in x]
    if isinstance(x, (dbus.Dictionary, dict)):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, dbus.Boolean):
        return bool(x)
    if isinstance(x, (int, float)):
        return x
    return str(x)


def worker():
    import dbus
    bus = dbus.SystemBus()
    print(json.dumps({"name": bus.get_unique_name()}), flush=True)
    for line in sys.stdin:
        c = json.loads(line)
        obj = bus.get_object(c["dest"], c["path"], introspect=False)
        try:
            r = obj.get_dbus_method(c["method"], c["iface"])(
                *to_dbus(c["args"]), signature=c["sig"], timeout=300)
            out = {"result": plain(r)}
        except dbus.exceptions.DBusException as e:
            out = {"error": e.get_dbus_name(), "message": e.get_dbus_message() or ""}
        print(json.dumps(out), flush=True)


class Worker:
    def __init__(self, ident, argv):
        self.ident = ident
        self.p = subprocess.Popen(argv + ["worker"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        first = self.p.stdout.readline()
        if not first:
            sys.exit("security-matrix: the %s worker did not start" % ident)
        self.name = json.loads(first)["name"]

    def call(self, dest, path, iface, method, sig, args):
        self.p.stdin.write(json.dumps({"dest": dest, "path": path, "iface": iface,
                                       "method": method, "sig": sig, "args": args}) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            sys.exit("security-matrix: the %s worker died" % self.ident)
        return json.loads(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def outcome(r):
    if "result" in r:
        return "ok"
    name, msg = r["error"], r["message"]
    if name == DERR + "AccessDenied" and msg.startswith("Rejected send message"):
        return "policy"
    if name == ERR + "AccessDenied":
        return "vssd"
    if name.startswith(ERR):
        return name[len(ERR):]
    if name.startswith(DERR):
        return "dbus." + name[len(DERR):]
    return name


def parse_xml(path):
    """{short iface: {"methods": [(name, in-sig)], "props": [(name, type)]}}"""
    out = {}
    for i in ET.parse(path).getroot().findall("interface"):
        short = i.get("name")[len(PFX):]
        ms = [(m.get("name"), "".join(a.get("type") for a in m.findall("arg")
                                      if a.get("direction", "in") == "in"))
              for m in i.findall("method")]
        ps = [(p.get("name"), p.get("type")) for p in i.findall("property")]
        out[short] = {"methods": ms, "props": ps}
    return out


def rows_from_xml(api):
    """every call the test makes, in order: (row, dest-kind, iface, method, sig, args)"""
    rows = []
    for kind in KIND_ORDER:
        short = KIND_IFACE[kind]
        full = PFX + short
        calls = []
        if kind in VSSD_KINDS:
            calls.append(("Introspect", "org.freedesktop.DBus.Introspectable", "Introspect",
                          "", []))
            calls.append(("GetAll " + short, PROPS, "GetAll", "s", [full]))
            for p, t in api[short]["props"]:
                calls.append(("Get %s.%s" % (short, p), PROPS, "Get", "ss", [full, p]))
            for p, t in api[short]["props"]:
                calls.append(("Set %s.%s" % (short, p), PROPS, "Set", "ssv",
                              [full, p, DUMMY.get(t, "x")]))
        if kind == "root":
            calls.append(("GetManagedObjects", "org.freedesktop.DBus.ObjectManager",
                          "GetManagedObjects", "", []))
            calls.append(("Ping", "org.freedesktop.DBus.Peer", "Ping", "", []))
        for m, sig in api[short]["methods"]:
            calls.append(("%s.%s" % (short, m), full, m, sig, ARGS.get(short + "." + m, [])))
        for name, iface, method, sig, args in calls:
            row = kind + " " + name
            if row not in SKIP:
                rows.append((row, kind, iface, method, sig, args))
    rows.sort(key=lambda r: r[0] in LAST)  # stable: the LAST rows move to the end
    return rows


def parse_table(path):
    table = {}
    for n, line in enumerate(open(path), 1):
        line = line.split("#", 1)[0].split()
        if not line:
            continue
        if len(line) != 2 + len(IDENTITIES) and len(line) != 3 + len(IDENTITIES):
            sys.exit("security-matrix: table line %d: %d words" % (n, len(line)))
        row = " ".join(line[:-len(IDENTITIES)])
        if row in table:
            sys.exit("security-matrix: table line %d: %s twice" % (n, row))
        table[row] = dict(zip(IDENTITIES, line[-len(IDENTITIES):]))
    return table


def run(xml, table_path, objects_json, workers_json):
    api = parse_xml(xml)
    table = parse_table(table_path)
    objects = json.loads(objects_json)
    rows = rows_from_xml(api)
    bad = 0
    missing = [r[0] for r in rows if r[0] not in table]
    stale = sorted(set(table) - {r[0] for r in rows})
    for r in missing:
        print("NO ROW in the table for %s (new API needs a row)" % r)
    for r in stale:
        print("STALE ROW %s: no such call in the XML" % r)
    if missing or stale:
        return 1
    # every interface of the XML is covered by an object kind, and the table by every method
    for short, d in api.items():
        if short not in KIND_IFACE.values():
            print("NO OBJECT KIND for interface %s" % short)
            return 1
        for m, _ in d["methods"]:
            if not any(r[0].endswith(" %s.%s" % (short, m)) for r in rows):
                print("NO ROW calls %s.%s" % (short, m))
                return 1

    workers = {i: Worker(i, argv) for i, argv in json.loads(workers_json).items()}
    if tuple(workers) != IDENTITIES:
        sys.exit("security-matrix: workers must be %s" % (IDENTITIES,))
    # the owner's set, with a shadow copy not created yet; the writer's own connection
    r = workers["owner"].call(BUS, objects["root"]["path"], PFX + "Manager", "StartSnapshotSet",
                              "a{sv}", [{"no-writers": True}])
    if "result" not in r:
        sys.exit("security-matrix: the owner cannot start a set: %s" % r)
    objects["set"] = {"path": r["result"]}
    r = workers["owner"].call(BUS, objects["set"]["path"], PFX + "SnapshotSet", "AddVolume", "ss",
                              [objects["owner-volume"], ""])
    if "result" not in r:
        sys.exit("security-matrix: the owner cannot add %s: %s" % (objects["owner-volume"], r))
    objects["snap-new"] = {"path": r["result"]}
    r = workers["owner"].call(BUS, objects["root"]["path"], PFX + "Manager", "StartRestore",
                              "sa{sv}", [RESTORE_DOCUMENT, {}])
    if "result" not in r:
        sys.exit("security-matrix: the owner cannot start a restore: %s" % r)
    objects["restore"] = {"path": r["result"]}
    r = workers["root"].call(BUS, objects["writer"]["path"], PROPS, "Get", "ss",
                             [PFX + "Writer", "Owner"])
    if "result" not in r:
        sys.exit("security-matrix: no writer owner: %s" % r)
    objects["writer-proc"] = {"dest": r["result"], "path": objects["writer-proc-path"]}
    print("objects: " + json.dumps(objects))
    width = max(len(r[0]) for r in rows)
    head = ("%-*s  %s" % (width, "call", "  ".join("%-16s" % i for i in IDENTITIES))).rstrip()
    print(head)
    print("-" * len(head))
    for row, kind, iface, method, sig, args in rows:
        o = objects[kind]
        args = [objects["writer-id"] if a == "@writer-id" else a for a in args]
        cells, details = {}, []
        # on the set and the restore session, the owner calls last: its calls move them on
        order = IDENTITIES if kind not in ("set", "restore") else [
            i for i in IDENTITIES if i != "owner"] + ["owner"]
        for ident in order:
            r = workers[ident].call(o.get("dest", BUS), o["path"], iface, method, sig, args)
            got, want = outcome(r), table[row][ident]
            if got == want:
                cells[ident] = "%-16s" % got
            else:
                bad += 1
                cells[ident] = "%-16s" % ("%s!=%s" % (got, want))
                details.append("  %s as %s: expected %s, got %s: %s" %
                               (row, ident, want, got, json.dumps(r)[:300]))
        print(("%-*s  %s" % (width, row, "  ".join(cells[i] for i in IDENTITIES))).rstrip(),
              flush=True)
        for d in details:
            print(d, flush=True)
    for w in workers.values():
        w.close()
    print("%d calls (%d rows x %d identities), %d mismatches" %
          (len(rows) * len(IDENTITIES), len(rows), len(IDENTITIES), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        worker()
    elif sys.argv[1:2] == ["run"] and len(sys.argv) == 6:
        sys.exit(run(*sys.argv[2:6]))
    else:
        sys.exit(__doc__)
