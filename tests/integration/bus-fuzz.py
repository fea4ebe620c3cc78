#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# bus-fuzz.py - a seeded fuzzer of vssd's D-Bus API: calls to every method of
# dbus/org.vssd.ShadowCopy1.xml (and of the standard interfaces) with wrong signatures, odd and
# edge values, deep variants, long arrays and strings, paths of objects that do not exist, valid
# ids in the wrong state, in random order, over a few connections that come and go.
#
# bus-fuzz.py XML COUNT SEED VOLUME... : makes COUNT calls (each one answered, by vssd or by the
# bus) to vssd on $DBUS_SYSTEM_BUS_ADDRESS, as the caller (root: every call reaches vssd), with
# volumes VOLUME... for the calls that should reach the real thing. The same SEED makes the same
# sequence of calls, as long as vssd answers the same. With VSSD_FUZZ_PID set, reads vssd's RSS and
# fd count after the warm-up and at the end, each time after dropping every set and shadow copy.
# Prints a JSON summary as its last line, and writes it to $VSSD_FUZZ_SUMMARY when that is set.
# --dry first: builds the calls, sends none. Exit status 1 when vssd stopped answering (a call got
# no reply, or the bus says vssd is gone), 0 otherwise: the caller judges the rest.
import json
import os
import random
import sys
import time
import xml.etree.ElementTree as ET

import dbus

BUS = "org.vssd.ShadowCopy1"
ROOT = "/org/vssd/ShadowCopy1"
PFX = BUS + "."
PROPS = "org.freedesktop.DBus.Properties"
TIMEOUT = 120.0  # a call vssd does not answer in this time counts as a hang

OPTION_KEYS = {  # every option key vssd knows, with the type it wants
    "context": "s", "no-writers": "b", "no-auto-release": "b", "backup-type": "s",
    "description": "s", "exclude-writer-classes": "as", "set": "s", "snapshot": "s",
    "volume": "s", "oldest": "b", "all": "b", "name": "s", "class-id": "s",
    "instance-name": "s", "usage": "s", "freeze-timeout-ms": "u", "components": "aa{sv}",
    "paths": "as", "delete-snapshots": "b", "instance-id": "s", "previous-document": "s",
    "writer-failures": "s",
}
WORDS = ["backup", "persistent", "client-accessible", "file-share-backup", "app-rollback",
         "nas-rollback", "full", "copy", "incremental", "differential", "log", "user-data",
         "system-service", "other", "dm-snapshot", "lvm", "lvm-thin", "abort", "continue", "",
         "0", "-1", "auto", "data", "matrix"]
BASIC = "ybnqiuxtdsog"


class Fuzzer:
    def __init__(self, xml, seed, volumes, dry=False):
        self.r = random.Random(seed)
        self.volumes = volumes
        self.api = {}
        for i in ET.parse(xml).getroot().findall("interface"):
            ms = [(m.get("name"), "".join(a.get("type") for a in m.findall("arg")
                                          if a.get("direction", "in") == "in"))
                  for m in i.findall("method")]
            ps = [p.get("name") for p in i.findall("property")]
            self.api[i.get("name")] = (ms, ps)
        self.dry = dry
        self.addr = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "")
        self.conns = [self.connect() for _ in range(3)]
        self.known = {"set": [], "snapshot": [], "writer": []}  # paths vssd handed out
        self.ids = []  # ids (UUID strings) seen in replies
        self.stats = {}
        self.sent = 0
        self.local = 0  # calls libdbus refused to build (not sent, not counted)
        self.nullfd = os.open("/dev/null", os.O_RDONLY)
        self.budget = 0  # elements and bytes one call may still take (see one())
        self.last = {}  # per connection, the call before
        self.took = {}  # per member: calls, seconds

    def connect(self):
        if self.dry:
            return None
        return dbus.bus.BusConnection(self.addr)

    # ---- values ------------------------------------------------------------------------------

    def uuid(self):
        return "%08x-%04x-4%03x-8%03x-%012x" % tuple(self.r.getrandbits(b)
                                                     for b in (32, 16, 12, 12, 48))

    def spend(self, n):
        """True when n more elements or bytes fit in this call's budget"""
        if n > self.budget:
            return False
        self.budget -= n
        return True

    def string(self):
        r = self.r
        k = r.randrange(14)
        self.spend(16)
        if k == 0 and self.volumes:
            return r.choice(self.volumes)
        if k == 1:
            return r.choice(["/dev/null", "/dev/zero", "/", "/proc/self/fd/0", "/dev/mapper/control",
                             "/dev/loop0", "/dev/dm-0", "/dev/mapper/", "/tmp", "/var/lib/vssd",
                             "/dev/mapper/vssd-nope", "../../../etc/shadow", "relative/path"])
        if k == 2 and self.ids:
            return r.choice(self.ids)
        if k == 3:
            u = self.uuid()
            return r.choice([u, u.upper(), u.replace("-", ""), u[:-1], u + "0", "{%s}" % u])
        if k == 4:
            return r.choice(WORDS)
        if k == 5:
            return r.choice(["\x01\x02\x03", "\x1b[2J\x1b[31mred", "line\nbreak", "tab\there",
                             "\r", "\x7f", "\u0085", "\u009b31m", "\u202eevil", "\ufeffbom",
                             "%s%s%s%n%x", "$(reboot)", "`id`", "' OR 1=1 --", "\\", "\""])
        if k == 6:
            n = r.choice([254, 255, 256, 4095, 4096, 4097, 65536, 1 << 20])
            while n > 254 and not self.spend(n // 64):  # cheap to make: counted 1 in 64
                n //= 4
            return r.choice("a/\u00e9\U0001F600") * n
        if k == 7:
            return "".join(chr(r.choice([r.randrange(1, 0x80), r.randrange(0x80, 0x800),
                                         r.randrange(0x800, 0xd800),
                                         r.randrange(0xe000, 0xfffe),
                                         r.randrange(0x10000, 0x110000)]))
                           for _ in range(r.randrange(1, 64)))
        if k == 8:
            return r.choice(self.volumes or ["/dev/null"]) + r.choice(["/", "//", "/.", "x", " "])
        if k == 9 and self.known["set"] + self.known["snapshot"]:
            return r.choice(self.known["set"] + self.known["snapshot"])
        return "".join(r.choice("abcdef0123456789-/._ ") for _ in range(r.randrange(0, 40)))

    def path(self):
        r = self.r
        k = r.randrange(10)
        every = self.known["set"] + self.known["snapshot"] + self.known["writer"]
        if k < 3 and every:
            return r.choice(every)
        if k == 3:
            return ROOT
        if k == 4:
            kind = r.choice(["set", "snapshot", "writer"])
            return "%s/%s/%s" % (ROOT, kind, r.choice(["%032x" % r.getrandbits(128),
                                                      "%032X" % r.getrandbits(128),
                                                      "%031x" % r.getrandbits(124), "0" * 32,
                                                      "x", "_", "a" * 255]))
        if k == 5:
            return r.choice(["/", ROOT + "/set", ROOT + "/snapshot", ROOT + "/writer",
                             ROOT + "/Writer", "/org/vssd", "/org", "/org/freedesktop/DBus"])
        if k == 6:
            return "/" + "/".join(r.choice(["a", "b_1", "Z" * 200])
                                  for _ in range(r.randrange(1, 200)))
        if k == 7 and every:
            p = r.choice(every)
            return p + "/" + r.choice(["x", "0", p.rsplit("/", 1)[1]])
        return ROOT

    def signature(self, depth=0):
        """one random complete type"""
        r = self.r
        k = r.randrange(12 if depth < 6 else 7)
        if k < 6:  # a file descriptor now and then, never many in one call
            return r.choice(BASIC + "h" if depth == 0 and r.random() < 0.05 else BASIC)
        if k == 6:
            return "v"
        if k < 9:
            return "a" + self.signature(depth + 1)
        if k == 9:
            return "a{" + r.choice(BASIC) + self.signature(depth + 1) + "}"
        return "(" + "".join(self.signature(depth + 1) for _ in range(r.randrange(1, 4))) + ")"

    def split(self, sig):
        """the complete types of a signature"""
        out, i = [], 0
        while i < len(sig):
            j = i
            while sig[j] == "a":
                j += 1
            if sig[j] in "({":
                depth, j = 0, j
                while True:
                    depth += sig[j] in "({"
                    depth -= sig[j] in ")}"
                    j += 1
                    if depth == 0:
                        break
            else:
                j += 1
            out.append(sig[i:j])
            i = j
        return out

    def count(self):
        """how many elements an array gets: small, at the limits, or large, within the budget"""
        r = self.r
        n = r.choice([0, 0, 1, 1, 2, 3, 5, r.randrange(0, 300), 255, 256, 257, 1025,
                      r.randrange(1000, 5000)])
        while n > 3 and not self.spend(n):
            n //= 2
        return n

    def value(self, t, depth=0, vlevel=0):
        r = self.r
        kw = {"variant_level": vlevel} if vlevel else {}
        self.spend(1)
        if t == "y":
            return dbus.Byte(r.randrange(256), **kw)
        if t == "b":
            return dbus.Boolean(r.random() < 0.5, **kw)
        if t in "nqiuxt":
            bits = {"n": 16, "q": 16, "i": 32, "u": 32, "x": 64, "t": 64}[t]
            signed = t in "nix"
            lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
            v = r.choice([0, 1, hi, lo, hi - 1, 1000, 60000, 1 << 20, r.randint(lo, hi)])
            cls = {"n": dbus.Int16, "q": dbus.UInt16, "i": dbus.Int32, "u": dbus.UInt32,
                   "x": dbus.Int64, "t": dbus.UInt64}[t]
            return cls(max(lo, min(hi, v)), **kw)
        if t == "d":
            return dbus.Double(r.choice([0.0, -0.0, 1.0, float("nan"), float("inf"),
                                         -float("inf"), 1e308, 5e-324]), **kw)
        if t == "s":
            return dbus.String(self.string(), **kw)
        if t == "o":
            return dbus.ObjectPath(self.path(), **kw)
        if t == "g":
            return dbus.Signature(self.signature(), **kw)
        if t == "h":
            return dbus.types.UnixFd(self.nullfd, **kw)
        if t == "v":
            inner = self.signature(depth + 1) if r.random() < 0.6 else r.choice("sbu")
            # deep nesting: a variant of a variant of ...
            lvl = r.choice([1, 1, 1, 2, r.randrange(1, 30)]) if depth < 4 else 1
            return self.value(inner, depth + 1, lvl)
        if t.startswith("a{"):
            kt, vt = self.split(t[2:-1])
            n = min(self.count(), 400 if depth == 0 else 20)
            return dbus.Dictionary({self.value(kt, depth + 1): self.value(vt, depth + 1)
                                    for _ in range(n)}, signature=kt + vt, **kw)
        if t.startswith("a"):
            et = t[1:]
            n = self.count() if et in BASIC else min(self.count(), 300 if depth == 0 else 20)
            if et == "y":
                return dbus.ByteArray(bytes(r.getrandbits(8) for _ in range(n)))
            return dbus.Array([self.value(et, depth + 1) for _ in range(n)], signature=et, **kw)
        if t.startswith("("):
            return dbus.Struct([self.value(x, depth + 1) for x in self.split(t[1:-1])],
                               signature=t[1:-1], **kw)
        raise ValueError(t)

    def options(self, depth=0):
        """an a{sv} that looks like options: known keys, right or wrong types, deep variants"""
        r = self.r
        d = {}
        n = r.choice([0, 1, 1, 2, 3, 5, 40, 300]) if depth == 0 else r.randrange(4)
        for _ in range(n if depth < 4 and self.spend(n) else 0):
            k = r.choice(list(OPTION_KEYS)) if r.random() < 0.85 else self.string()[:300]
            want = OPTION_KEYS.get(k, "s")
            x = r.random()
            if x < 0.5:
                if want == "aa{sv}":
                    v = dbus.Array([self.options(depth + 1) for _ in
                                    range(min(self.count(), 300))], signature="a{sv}")
                elif want == "b":
                    v = dbus.Boolean(r.random() < 0.5)
                elif want == "s" and k in ("context", "backup-type", "usage"):
                    v = dbus.String(r.choice(WORDS))
                elif want == "s" and k in ("set", "snapshot", "class-id", "instance-id"):
                    v = dbus.String(r.choice(self.ids) if self.ids and r.random() < 0.7
                                    else self.uuid())
                elif want == "s" and k == "volume" and self.volumes:
                    v = dbus.String(r.choice(self.volumes))
                else:
                    v = self.value(want, 1)
            elif x < 0.8:
                v = self.value(self.signature(1), 1)
            else:  # the right type inside variants of variants
                v = self.value(want, 2, r.randrange(2, 40))
            d[k] = v
        return dbus.Dictionary(d, signature="sv")

    def args_for(self, sig):
        out = []
        for t in self.split(sig):
            if t == "a{sv}" and self.r.random() < 0.7:
                out.append(self.options())
            elif t == "as" and self.volumes and self.r.random() < 0.5:
                out.append(dbus.Array([self.r.choice(self.volumes + [self.string()])
                                       for _ in range(self.r.choice([0, 1, 2, 2, 3, 65, 70]))],
                                      signature="s"))
            elif t == "s" and self.volumes and self.r.random() < 0.3:
                out.append(dbus.String(self.r.choice(self.volumes + self.ids + [""])))
            elif t == "aa{sv}" and self.r.random() < 0.6:
                out.append(dbus.Array([self.options(1) for _ in range(min(self.count(), 300))],
                                      signature="a{sv}"))
            else:
                out.append(self.value(t))
        return out

    # ---- calls -------------------------------------------------------------------------------

    def target(self, iface):
        r = self.r
        kind = {PFX + "SnapshotSet": "set", PFX + "Snapshot": "snapshot",
                PFX + "Writer": "writer"}.get(iface)
        if iface == PFX + "Manager" and r.random() < 0.9:
            return ROOT
        if kind and self.known[kind] and r.random() < 0.9:
            return r.choice(self.known[kind])
        return self.path()

    def one(self):
        """the next call: (path, iface, member, sig, args)"""
        r = self.r
        x = r.random()
        if x < 0.72:  # a method of the XML
            iface = r.choice(list(self.api))
            member, sig = r.choice(self.api[iface][0])
            if r.random() < 0.25:  # a wrong signature
                y = r.random()
                parts = self.split(sig)
                if y < 0.3 and parts:
                    parts.pop(r.randrange(len(parts)))
                elif y < 0.6:
                    parts.insert(r.randrange(len(parts) + 1), self.signature())
                elif parts:
                    parts[r.randrange(len(parts))] = self.signature()
                sig = "".join(parts)
            path = self.target(iface)
            if r.random() < 0.05:
                iface = None  # no interface: vssd finds the member on the object
            return path, iface, member, sig, self.args_for(sig)
        if x < 0.90:  # properties
            iface = r.choice(list(self.api) + [PROPS, "org.nope.Iface"])
            props = self.api.get(iface, ([], ["Nope"]))[1] or ["Nope"]
            member = r.choice(["Get", "Get", "GetAll", "Set"])
            sigs = {"Get": "ss", "GetAll": "s", "Set": "ssv"}
            sig = sigs[member] if r.random() < 0.85 else r.choice(["", "s", "ss", "sss", "sv",
                                                                     self.signature()])
            args = []
            for i, t in enumerate(self.split(sig)):
                if t == "s" and i == 0:
                    args.append(dbus.String(iface))
                elif t == "s" and i == 1:
                    args.append(dbus.String(r.choice(props + [self.string()[:100]])))
                else:
                    args.append(self.value(t))
            return self.target(iface), PROPS, member, sig, args
        if x < 0.95:
            member = r.choice(["Introspect", "GetManagedObjects", "Ping", "GetMachineId"])
            iface = {"Introspect": "org.freedesktop.DBus.Introspectable",
                     "GetManagedObjects": "org.freedesktop.DBus.ObjectManager"}.get(
                member, "org.freedesktop.DBus.Peer")
            sig = "" if r.random() < 0.8 else self.signature()
            return self.path(), iface, member, sig, self.args_for(sig)
        # members and interfaces that do not exist
        iface = r.choice([PFX + "Manager", PFX + "Nope", "org.freedesktop.DBus.Properties",
                          PFX + "SnapshotSet", None])
        member = r.choice(["Nope", "startSnapshotSet", "StartSnapshotSetX", "Get" * 80, "_",
                           "Release" + "x" * 200])
        sig = self.signature()
        return self.path(), iface, member, sig, self.args_for(sig)

    def flow(self):
        """a step of a plausible session, often out of order: the state machine's checks"""
        r = self.r
        # with writers now and then: ours never answer, so vssd waits for its deadlines
        opts = {"no-writers": dbus.Boolean(r.random() < 0.97)}
        if r.random() < 0.5:
            opts["context"] = dbus.String(r.choice(WORDS[:6]))
        if r.random() < 0.2:
            opts["no-auto-release"] = dbus.Boolean(True)
        opts = dbus.Dictionary(opts, signature="sv")
        vols = self.volumes or ["/dev/null"]
        S, P = PFX + "SnapshotSet", PFX + "Snapshot"
        sets, snaps = self.known["set"], self.known["snapshot"]
        steps = [
            (3, lambda: (ROOT, PFX + "Manager", "StartSnapshotSet", "a{sv}", [opts])),
            (1, lambda: (ROOT, PFX + "Manager", "CreateSnapshotSet", "asa{sv}",
                         [dbus.Array(r.sample(vols, r.randrange(1, len(vols) + 1)),
                                     signature="s"), opts])),
            (1, lambda: (ROOT, PFX + "Manager", "DeleteSnapshots", "a{sv}",
                         [dbus.Dictionary({"all": dbus.Boolean(True)}, signature="sv")])),
            (1, lambda: (ROOT, PFX + "Manager", "DeleteSnapshots", "a{sv}",
                         [dbus.Dictionary({"volume": dbus.String(r.choice(vols)),
                                           r.choice(["oldest", "all"]): dbus.Boolean(True)},
                                          signature="sv")])),
            (1, lambda: (ROOT, PFX + "Manager", "RegisterWriter", "oa{sv}",
                         [dbus.ObjectPath("/fuzz/w%d" % r.randrange(4)), dbus.Dictionary({
                             "name": dbus.String("fuzz"), "class-id": dbus.String(self.uuid()),
                             "freeze-timeout-ms": dbus.UInt32(1000),
                             "components": dbus.Array([dbus.Dictionary({
                                 "name": dbus.String("c"),
                                 "paths": dbus.Array(["/tmp"], signature="s")},
                                 signature="sv")], signature="a{sv}")}, signature="sv")])),
            (1, lambda: (ROOT, PFX + "Manager", "UnregisterWriter", "s",
                         [dbus.String(r.choice(self.ids) if self.ids else self.uuid())])),
            (1, lambda: (ROOT, PFX + "Manager", "ResizeStorage", "st",
                         [dbus.String(r.choice(vols)),
                          dbus.UInt64(r.choice([0, 16 << 20, 1 << 63, (1 << 64) - 1]))])),
            (1, lambda: (ROOT, PFX + "Manager", "AddStorage", "sst",
                         [dbus.String(r.choice(vols)), dbus.String(r.choice(
                             ["/tmp", "/", "/var/lib/vssd", "/nonexistent", ""])),
                          dbus.UInt64(r.choice([0, 1, 1 << 40]))])),
            (1, lambda: (ROOT, PFX + "Manager", "DeleteStorage", "sa{sv}",
                         [dbus.String(r.choice(vols)), dbus.Dictionary(
                             {"delete-snapshots": dbus.Boolean(r.random() < 0.5)},
                             signature="sv")])),
        ]
        if sets:
            def on_set(member, sig="", args=()):
                return lambda: (r.choice(sets), S, member, sig, list(args))
            steps += [
                (4, lambda: (r.choice(sets), S, "AddVolume", "ss",
                             [dbus.String(r.choice(vols)),
                              dbus.String(r.choice(["", "", "dm-snapshot", "lvm", "x"]))])),
                (2, on_set("GatherWriterMetadata")),
                (1, on_set("SetComponents", "aa{sv}", [dbus.Array([], signature="a{sv}")])),
                (2, on_set("PrepareForBackup")),
                (2, on_set("DoSnapshotSet")),
                (1, on_set("GatherWriterStatus")),
                (1, on_set("BackupComplete", "b", [dbus.Boolean(r.random() < 0.5)])),
                (1, on_set("Abort")),
                (2, on_set("Release")),
            ]
        if snaps:
            steps += [
                (1, lambda: (r.choice(snaps), P, "Expose", "sa{sv}",
                             [dbus.String(r.choice(["", "", "/tmp", "/nonexistent"])),
                              dbus.Dictionary({}, signature="sv")])),
                (1, lambda: (r.choice(snaps), P, "Unexpose", "", [])),
                (1, lambda: (r.choice(snaps), P, "Delete", "", [])),
                (1, lambda: (r.choice(snaps), P, "Revert", "a{sv}",
                             [dbus.Dictionary({}, signature="sv")])),
            ]
        total = sum(w for w, _ in steps)
        x = r.randrange(total)
        for w, f in steps:
            if x < w:
                return f()
            x -= w

    def learn(self, res):
        """remember object paths and ids from a reply"""
        if isinstance(res, (list, tuple, dbus.Array, dbus.Struct)):
            for i in res:
                self.learn(i)
        elif isinstance(res, dbus.Dictionary):
            for v in res.values():
                self.learn(v)
        elif isinstance(res, dbus.ObjectPath):
            for kind in self.known:
                if res.startswith(ROOT + "/" + kind + "/") and res not in self.known[kind]:
                    self.known[kind].append(str(res))
                    del self.known[kind][:-40]
        elif isinstance(res, dbus.String) and len(res) == 36 and res.count("-") == 4:
            if res not in self.ids:
                self.ids.append(str(res))
                del self.ids[:-60]

    def call(self, conn, path, iface, member, sig, args):
        if self.dry:  # build the message only: what it would send, and how large
            try:
                m = dbus.lowlevel.MethodCallMessage(BUS, path, iface, member)
                m.append(signature=sig, *args)
                out = "built"
            except Exception as e:  # noqa: B902 - anything libdbus refuses locally
                out = "local:" + type(e).__name__
            self.sent += out == "built"
            self.local += out != "built"
            self.stats[out] = self.stats.get(out, 0) + 1
            return out
        prev = self.last.get(id(conn))
        self.last[id(conn)] = "%s.%s(%s) on %s" % (iface, member, sig, path)
        t0 = time.monotonic()
        try:
            res = conn.call_blocking(BUS, path, iface, member, sig, args, timeout=TIMEOUT)
            self.learn(res)
            out = "ok"
        except dbus.exceptions.DBusException as e:
            out = e.get_dbus_name() or "?"
            if out == PFX + "Error.ObjectNotFound":  # gone: forget it
                for kind in self.known:
                    if path in self.known[kind]:
                        self.known[kind].remove(path)
            if out == "org.freedesktop.DBus.Error.Disconnected" and self.alive():
                # our connection was closed (by the bus, for what we sent on it): vssd is fine
                print("bus-fuzz: our connection was closed at %s.%s(%s) on %s; earlier on it: %s"
                      % (iface, member, sig, path, prev),
                      flush=True)
                self.conns = [x if x is not conn else self.connect() for x in self.conns]
                out = "local:" + out
            elif out in ("org.freedesktop.DBus.Error.NoReply",
                         "org.freedesktop.DBus.Error.ServiceUnknown",
                         "org.freedesktop.DBus.Error.NameHasNoOwner",
                         "org.freedesktop.DBus.Error.Disconnected",
                         "org.freedesktop.DBus.Error.Timeout"):
                print("vssd did not answer %s.%s(%s) on %s: %s: %s" %
                      (iface, member, sig, path, out, e.get_dbus_message()), flush=True)
                raise SystemExit(1)
            if out == "org.freedesktop.DBus.Error.LimitsExceeded" or \
               "is not a valid" in (e.get_dbus_message() or "") and \
               out in ("org.freedesktop.DBus.Error.InvalidArgs",
                       "org.freedesktop.DBus.Error.NoMemory"):
                out = "local:" + out  # libdbus refused to send it
        except (TypeError, ValueError, OverflowError) as e:
            out = "local:" + type(e).__name__
        t = self.took.setdefault(member, [0, 0.0])
        t[0] += 1
        t[1] += time.monotonic() - t0
        if out.startswith("local:"):
            self.local += 1
        else:
            self.sent += 1
        self.stats[out] = self.stats.get(out, 0) + 1
        return out

    def alive(self):
        """vssd answers on a connection of its own"""
        try:
            c = dbus.bus.BusConnection(self.addr)
            c.call_blocking(BUS, ROOT, "org.freedesktop.DBus.Peer", "Ping", "", [],
                            timeout=TIMEOUT)
            c.close()
            return True
        except dbus.exceptions.DBusException:
            return False

    def step(self):
        r = self.r
        if r.random() < 0.004:  # a connection goes away (its sets are released), another comes
            i = r.randrange(len(self.conns))
            if self.conns[i]:
                self.conns[i].close()
            self.conns[i] = self.connect()
        c = self.r.choice(self.conns)
        # most calls are small; a few have up to 100000 elements, or strings of 1 MiB
        self.budget = r.choice([20000, 100000] if r.random() < 0.05 else [300, 1000, 1000, 5000])
        try:
            call = self.flow() if r.random() < 0.2 else self.one()
        except (TypeError, ValueError, OverflowError) as e:
            self.local += 1
            self.stats["local:" + type(e).__name__] = self.stats.get("local:" +
                                                                     type(e).__name__, 0) + 1
            return
        self.call(c, *call)

    def quiesce(self):
        """every set dropped (its connection closed), every shadow copy deleted"""
        for c in self.conns:
            c.close()
        self.conns = [self.connect() for _ in range(3)]
        c = self.conns[0]
        for _ in range(300):
            try:
                c.call_blocking(BUS, ROOT, PFX + "Manager", "DeleteSnapshots", "a{sv}",
                                [dbus.Dictionary({"all": dbus.Boolean(True)}, signature="sv")],
                                timeout=TIMEOUT)
                objs = c.call_blocking(BUS, ROOT, "org.freedesktop.DBus.ObjectManager",
                                       "GetManagedObjects", "", [], timeout=TIMEOUT)
                if not any(p.startswith(ROOT + "/set/") or p.startswith(ROOT + "/snapshot/")
                           for p in objs):
                    break
            except dbus.exceptions.DBusException:
                pass
            time.sleep(0.2)
        self.known = {"set": [], "snapshot": [], "writer": []}
        time.sleep(1)

    def measure(self, pid):
        with open("/proc/%s/status" % pid) as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        fds = sorted(os.readlink("/proc/%s/fd/%s" % (pid, n)) for n in
                     os.listdir("/proc/%s/fd" % pid))
        return {"rss_kib": rss, "fds": len(fds), "fd_list": fds}


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    dry = argv[0] == "--dry"  # generate and build the calls, send nothing
    argv = argv[dry:]
    xml, count, seed, volumes = argv[0], int(argv[1]), int(argv[2]), argv[3:]
    print("bus-fuzz: seed %d, %d calls" % (seed, count), flush=True)
    f = Fuzzer(xml, seed, volumes, dry)
    pid = os.environ.get("VSSD_FUZZ_PID")
    warm_at = min(max(500, count // 10), count)  # ASan's quarantine is full by then
    warm = end = None
    t0 = time.monotonic()
    while f.sent < count:
        f.step()
        if f.sent and f.sent % 500 == 0 and f.stats.get("_printed") != f.sent:
            f.stats["_printed"] = f.sent
            print("bus-fuzz: %d calls, %.0f s" % (f.sent, time.monotonic() - t0), flush=True)
        if pid and warm is None and f.sent >= warm_at:
            f.quiesce()
            warm = f.measure(pid)
            print("bus-fuzz: after the warm-up (%d calls): rss %d KiB, %d fds" %
                  (f.sent, warm["rss_kib"], warm["fds"]), flush=True)
    took = time.monotonic() - t0
    if pid:
        f.quiesce()
        end = f.measure(pid)
        print("bus-fuzz: at the end: rss %d KiB, %d fds" % (end["rss_kib"], end["fds"]),
              flush=True)
    f.stats.pop("_printed", None)
    for k in sorted(f.stats, key=lambda k: -f.stats[k]):
        print("  %6d  %s" % (f.stats[k], k))
    print("  slowest members (calls, seconds):")
    for k in sorted(f.took, key=lambda k: -f.took[k][1])[:8]:
        print("  %6d %7.1f  %s" % (f.took[k][0], f.took[k][1], k))
    summary = json.dumps({"seed": seed, "sent": f.sent, "local": f.local,
                          "seconds": round(took, 1), "warm": warm, "end": end})
    print(summary)
    if os.environ.get("VSSD_FUZZ_SUMMARY"):
        with open(os.environ["VSSD_FUZZ_SUMMARY"], "w") as out:
            out.write(summary + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
