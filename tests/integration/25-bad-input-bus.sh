#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 25-bad-input-bus.sh - the raw bus API: wrong signatures, unknown option keys and wrongly typed
# options get InvalidArgument saying what is expected; someone else's set gets AccessDenied; the
# served introspection equals dbus/org.vssd.ShadowCopy1.xml; GetManagedObjects, InterfacesAdded/
# Removed and PropertiesChanged follow a create and a delete; a user outside vssadmin is refused
# by the bus policy but may read Version
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
b=$(vol_create "$RUN-b" 64M)
vol_mkfs_mount "$a" ext4 "$WORK/ma"
vol_mkfs_mount "$b" ext4 "$WORK/mb"
user=vtb$$
useradd -M -N -s /bin/sh "$user"
test_teardown_more()
{
	[ -z "${MONITOR:-}" ] || kill "$MONITOR" 2>/dev/null
	userdel "$user" 2>/dev/null
}
bus_start
vssd_start
ROOT=/org/vssd/ShadowCopy1
MGR=org.vssd.ShadowCopy1.Manager
ERR=org.vssd.ShadowCopy1.Error

# call NAME PATH IFACE METHOD SIG JSON: bus_raw, the reply in $WORK/NAME.json
call()
{
	local name=$1
	shift
	bus_raw "$@" >"$WORK/$name.json" || fail "$name: bus_raw failed"
}

# refused NAME ERROR TEXT...: the call NAME failed with ERROR, its message containing each TEXT
refused()
{
	local name=$1 want=$2 t
	shift 2
	assert_eq "$(jq -r '.error // "no error"' "$WORK/$name.json")" "$want" \
		"$name: error ($(cat "$WORK/$name.json"))"
	for t in "$@"; do
		jq -r .message "$WORK/$name.json" | grep -qF -- "$t" ||
			fail "$name: the message lacks '$t': $(jq -r .message "$WORK/$name.json")"
	done
}

# nothing_started WHAT: no set exists, none is in creation, no device was made
nothing_started()
{
	call gmo "$ROOT" org.freedesktop.DBus.ObjectManager GetManagedObjects "" '[]'
	assert_eq "$(jq -c '[.result | keys[] | select(test("/(set|snapshot)/"))]' "$WORK/gmo.json")" \
		"[]" "$1: objects"
	assert_eq "$(vssd_prop Manager SetInProgress | jq -r .data)" "/" "$1: SetInProgress"
	no_vssd_devices || fail "$1: devices $(dm_with_uuid_prefix VSSD-)"
}

# 1.-3. in one process: each call's reply in $WORK/NAME.json, then the checks
T=$(printf '\t')
bus_raw_many <<EOC
sig1$T$ROOT$T$MGR${T}StartSnapshotSet${T}s${T}["backup"]
sig2$T$ROOT$T$MGR${T}StartSnapshotSet$T${T}[]
sig3$T$ROOT$T$MGR${T}StartSnapshotSet${T}a{ss}${T}[{"context": "backup"}]
sig4$T$ROOT$T$MGR${T}DeleteSnapshots${T}as${T}[["all"]]
sig5$T$ROOT$T$MGR${T}CreateSnapshotSet${T}a{sv}${T}[{}]
sig6$T$ROOT$T$MGR${T}CreateSnapshotSet${T}sa{sv}${T}["$a", {}]
key1$T$ROOT$T$MGR${T}StartSnapshotSet${T}a{sv}${T}[{"contxt": "backup"}]
key2$T$ROOT$T$MGR${T}CreateSnapshotSet${T}asa{sv}${T}[["$a"], {"no-writer": true}]
key3$T$ROOT$T$MGR${T}DeleteSnapshots${T}a{sv}${T}[{"everything": true}]
type1$T$ROOT$T$MGR${T}StartSnapshotSet${T}a{sv}${T}[{"no-writers": "yes"}]
type2$T$ROOT$T$MGR${T}StartSnapshotSet${T}a{sv}${T}[{"context": 1}]
type3$T$ROOT$T$MGR${T}StartSnapshotSet${T}a{sv}${T}[{"exclude-writer-classes": "c65cebd2-542e-4094-981e-dd9a53d7634f"}]
type4$T$ROOT$T$MGR${T}CreateSnapshotSet${T}asa{sv}${T}[["$a"], {"description": true}]
type5$T$ROOT$T$MGR${T}DeleteSnapshots${T}a{sv}${T}[{"volume": "$a", "oldest": "true"}]
EOC

# 1. arguments of the wrong type: InvalidArgument naming the expected signature
refused sig1 "$ERR.InvalidArgument" "E_INVALIDARG (0x80070057)" '"a{sv}"' '"s"'
refused sig2 "$ERR.InvalidArgument" '"a{sv}"'
refused sig3 "$ERR.InvalidArgument" '"a{sv}"' '"a{ss}"'
refused sig4 "$ERR.InvalidArgument" '"a{sv}"'
refused sig5 "$ERR.InvalidArgument" '"asa{sv}"'
refused sig6 "$ERR.InvalidArgument" '"asa{sv}"' '"sa{sv}"'

# 2. an unknown option key: InvalidArgument listing the known ones
refused key1 "$ERR.InvalidArgument" '"contxt"' context no-writers no-auto-release backup-type \
	description exclude-writer-classes
refused key2 "$ERR.InvalidArgument" '"no-writer"' context no-writers no-auto-release
refused key3 "$ERR.InvalidArgument" '"everything"' set snapshot volume oldest all

# 3. options of the wrong type
refused type1 "$ERR.InvalidArgument" '"no-writers"' boolean
refused type2 "$ERR.InvalidArgument" '"context"' string
refused type3 "$ERR.InvalidArgument" '"exclude-writer-classes"'
refused type4 "$ERR.InvalidArgument" '"description"' string
refused type5 "$ERR.InvalidArgument" '"oldest"' boolean
nothing_started "bad arguments"

# 4. someone else's set: AccessDenied for every set method, and the set is unharmed
/usr/bin/python3 "$REQUESTER" start description=mine -- ok -- add "$a" -- ok -- hold \
	>"$WORK/holder" 2>&1 &
holder=$!
wait_for 300 grep -q holding "$WORK/holder" || fail "holder: $(cat "$WORK/holder")"
set1=$(sed -n 's/.*"holding": true, "set": "\([^"]*\)".*/\1/p' "$WORK/holder")
call props1 "$set1" org.freedesktop.DBus.Properties GetAll s '["org.vssd.ShadowCopy1.SnapshotSet"]'
owner1=$(jq -r .result.Owner "$WORK/props1.json")
requester use "$set1" -- add "$b" -- expect AccessDenied -- gather -- expect AccessDenied \
	-- components -- expect AccessDenied -- prepare -- expect AccessDenied -- 'do' \
	-- expect AccessDenied -- complete true -- expect AccessDenied -- abort \
	-- expect AccessDenied -- release -- expect AccessDenied >"$WORK/thief" 2>&1 ||
	fail "someone else's set: $(cat "$WORK/thief")"
grep '"step": "add"' "$WORK/thief" | grep -q "E_ACCESSDENIED (0x80070005)" ||
	fail "AccessDenied without its code: $(head -n 1 "$WORK/thief")"
call props2 "$set1" org.freedesktop.DBus.Properties GetAll s '["org.vssd.ShadowCopy1.SnapshotSet"]'
assert_eq "$(jq -c '.result | [.State, .Owner, (.Snapshots | length), .Description]' "$WORK/props2.json")" \
	"[\"started\",\"$owner1\",1,\"mine\"]" "the other requester's set after the attempts"
kill "$holder"
wait "$holder" 2>/dev/null || true
# a created set too: its owner's, not anyone else's, to complete, abort or release
/usr/bin/python3 "$REQUESTER" start context=backup -- add "$a" -- gather -- prepare -- 'do' -- ok \
	-- hold >"$WORK/holder2" 2>&1 &
holder=$!
wait_for 600 grep -q holding "$WORK/holder2" || fail "holder2: $(cat "$WORK/holder2")"
set2=$(sed -n 's/.*"holding": true, "set": "\([^"]*\)".*/\1/p' "$WORK/holder2")
requester use "$set2" -- complete true -- expect AccessDenied -- abort -- expect AccessDenied \
	-- release -- expect AccessDenied -- status -- expect AccessDenied >"$WORK/thief" 2>&1 ||
	fail "someone else's created set: $(cat "$WORK/thief")"
call props3 "$set2" org.freedesktop.DBus.Properties Get ss '["org.vssd.ShadowCopy1.SnapshotSet", "State"]'
assert_eq "$(jq -r .result "$WORK/props3.json")" created "the other requester's created set"
[ "$(dm_with_uuid_prefix VSSD-S- | wc -l)" -eq 1 ] || fail "the created set lost its snapshot"
kill "$holder"
wait "$holder" 2>/dev/null || true
wait_for 100 no_vssd_devices || fail "holder2's set was not released"
# a set that does not exist: vssd's ObjectNotFound, naming it
requester use "$ROOT/set/6f1c2d3e0a1b4c5d8e9fa0b1c2d3e4f5" -- abort -- expect ObjectNotFound \
	>"$WORK/ghost" 2>&1 || fail "a set that does not exist: $(cat "$WORK/ghost")"
grep -q "no shadow copy set 6f1c2d3e-0a1b-4c5d-8e9f-a0b1c2d3e4f5" "$WORK/ghost" ||
	fail "ObjectNotFound does not name the set: $(cat "$WORK/ghost")"

# 5. signals of a create and a delete; GetManagedObjects and introspection while the set exists
writer_start w "$WORK/ma/w-a" "$WORK/mb/w-b"
bus_allow_monitoring
busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" --json=short monitor >"$WORK/monitor" 2>"$WORK/monitor.err" &
MONITOR=$!
wait_for 50 grep -q Monitoring "$WORK/monitor.err" || fail "busctl monitor did not start: $(cat "$WORK/monitor.err")"
vssctl --json create shadow --volume "$a" --volume "$b" >"$WORK/create.json"
sid=$(jq -r .set_id "$WORK/create.json")
setp="$ROOT/set/$(printf %s "$sid" | tr -d -)"
snapp=$(jq -r '.snapshots[] | .id' "$WORK/create.json" | tr -d - | sed "s|^|$ROOT/snapshot/|")
bus_raw_many <<EOC
gmo$T$ROOT${T}org.freedesktop.DBus.ObjectManager${T}GetManagedObjects${T}${T}[]
writers$T$ROOT$T$MGR${T}ListWriters${T}b${T}[false]
EOC
wid=$(jq -r '.result[] | select(.name == "w") | .["instance-id"]' "$WORK/writers.json")
# shellcheck disable=SC2086 # $snapp: one path a word
/usr/bin/python3 - "$WORK/gmo.json" "$setp" "$sid" "$a" "$b" "$ROOT/writer/$(printf %s "$wid" | tr -d -)" $snapp <<'EOPY' || fail "GetManagedObjects"
import json, sys
gmo, setp, sid, va, vb, writer, *snaps = sys.argv[1:]
objs = json.load(open(gmo))["result"]
def need(cond, msg):
    if not cond:
        print("FAIL: GetManagedObjects: " + msg + ": " + json.dumps(objs, indent=1), file=sys.stderr)
        sys.exit(1)
need(setp in objs, "no set " + setp)
s = objs[setp]["org.vssd.ShadowCopy1.SnapshotSet"]
need(s["Id"] == sid and s["State"] == "created" and s["Context"] == "client-accessible-writers",
     "set properties")
need(sorted(s["Snapshots"]) == sorted(snaps), "the set's Snapshots")
vols = []
for p in snaps:
    need(p in objs, "no snapshot " + p)
    x = objs[p]["org.vssd.ShadowCopy1.Snapshot"]
    need(x["SetId"] == sid and x["State"] == "created" and x["Device"].startswith("/dev/mapper/vssd-"),
         "snapshot properties of " + p)
    vols.append(x["Volume"])
need(sorted(vols) == sorted([va, vb]), "the snapshots' volumes")
need(writer in objs and objs[writer]["org.vssd.ShadowCopy1.Writer"]["Name"] == "w", "the writer object")
kinds = sorted(set(p.split("/")[4] for p in objs))
need(kinds == ["set", "snapshot", "writer"], "unexpected objects " + str(kinds))
EOPY

# the served introspection is the file: every interface of the file, on the object that carries
# it, with the same methods (argument types and directions), signals and properties
I=org.freedesktop.DBus.Introspectable
bus_raw_many <<EOC
intro_root$T$ROOT$T$I${T}Introspect${T}${T}[]
intro_set$T$setp$T$I${T}Introspect${T}${T}[]
intro_snap$T$(printf '%s\n' "$snapp" | head -n 1)$T$I${T}Introspect${T}${T}[]
intro_writer$T$ROOT/writer/$(printf %s "$wid" | tr -d -)$T$I${T}Introspect${T}${T}[]
EOC
/usr/bin/python3 - "$SRC/dbus/org.vssd.ShadowCopy1.xml" "$WORK" <<'EOPY' || fail "introspection differs from the file"
import json, sys
import xml.etree.ElementTree as ET
src, work = sys.argv[1:]
def members(iface):
    out = set()
    for m in iface:
        if m.tag in ("method", "signal"):
            args = tuple((a.get("type"), a.get("direction", "out" if m.tag == "signal" else "in"))
                         for a in m.findall("arg"))
            out.add((m.tag, m.get("name"), args))
        elif m.tag == "property":
            out.add(("property", m.get("name"), m.get("type"), m.get("access")))
    return out
spec = {i.get("name"): members(i) for i in ET.parse(src).getroot().findall("interface")}
served = {}
where = {"root": "org.vssd.ShadowCopy1.Manager", "set": "org.vssd.ShadowCopy1.SnapshotSet",
         "snap": "org.vssd.ShadowCopy1.Snapshot", "writer": "org.vssd.ShadowCopy1.Writer"}
bad = 0
for obj, want in where.items():
    xml = json.load(open(f"{work}/intro_{obj}.json"))
    if "result" not in xml:
        print(f"FAIL: Introspect of the {obj} object: {xml}", file=sys.stderr)
        sys.exit(1)
    root = ET.fromstring(xml["result"])
    names = [i.get("name") for i in root.findall("interface")]
    for n in names:
        if n.startswith("org.vssd."):
            served.setdefault(n, members(root.find(f"interface[@name='{n}']")))
    for std in ("org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Properties"):
        if std not in names:
            print(f"FAIL: the {obj} object does not serve {std}", file=sys.stderr)
            bad = 1
    if obj == "root":
        if "org.freedesktop.DBus.ObjectManager" not in names:
            print("FAIL: the root object does not serve ObjectManager", file=sys.stderr)
            bad = 1
        kids = sorted(n.get("name") for n in root.findall("node"))
        if kids != ["set", "snapshot", "writer"]:
            print(f"FAIL: the root object's child nodes: {kids}", file=sys.stderr)
            bad = 1
    if want not in names:
        print(f"FAIL: the {obj} object does not serve {want}: {names}", file=sys.stderr)
        bad = 1
# vssd's writer objects carry the Writer interface's properties only: its methods are called on
# the writers themselves, so they are not served (a call to one would be UnknownMethod)
W = "org.vssd.ShadowCopy1.Writer"
if W in spec:
    served_methods = {x for x in served.get(W, set()) if x[0] == "method"}
    if served_methods:
        print(f"FAIL: vssd's writer object serves methods it does not have: {served_methods}",
              file=sys.stderr)
        bad = 1
    spec[W] = {x for x in spec[W] if x[0] != "method"}
# A RestoreSession object exists only while a restore runs (39-restore drives one); none exists
# here, so its interface cannot be served yet
spec.pop("org.vssd.ShadowCopy1.RestoreSession", None)
for name, m in spec.items():
    if name not in served:
        print(f"FAIL: interface {name} of the file is served nowhere", file=sys.stderr)
        bad = 1
        continue
    for x in sorted(m - served[name], key=str):
        print(f"FAIL: {name}: served without {x}", file=sys.stderr)
        bad = 1
    for x in sorted(served[name] - m, key=str):
        print(f"FAIL: {name}: served with {x}, which the file lacks", file=sys.stderr)
        bad = 1
print(f"# compared {len(spec)} interfaces, {sum(len(m) for m in spec.values())} members",
      file=sys.stderr)
sys.exit(bad)
EOPY

vssctl delete shadows --set "$sid" --quiet >/dev/null
sleep 1 # the last signals reach the monitor
kill "$MONITOR"
wait "$MONITOR" 2>/dev/null || true
MONITOR=
# shellcheck disable=SC2086 # $snapp: one path a word
/usr/bin/python3 - "$WORK/monitor" "$setp" $snapp <<'EOPY' || fail "signals of the create and delete"
import json, sys
log, setp, *snaps = sys.argv[1:]
sig = []
for line in open(log):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("type") == "signal" and m.get("path", "").startswith("/org/vssd/ShadowCopy1"):
        sig.append(m)
def data(m):
    return m.get("payload", {}).get("data", [])
def find(member, pred):
    return [i for i, m in enumerate(sig) if m.get("member") == member and pred(m)]
bad = 0
def need(cond, msg):
    global bad
    if not cond:
        print("FAIL: " + msg, file=sys.stderr)
        bad = 1
for p, iface in [(setp, "SnapshotSet")] + [(s, "Snapshot") for s in snaps]:
    added = find("InterfacesAdded", lambda m: data(m)[0] == p and
                 "org.vssd.ShadowCopy1." + iface in data(m)[1])
    removed = find("InterfacesRemoved", lambda m: data(m)[0] == p and
                   "org.vssd.ShadowCopy1." + iface in data(m)[1])
    need(len(added) == 1, f"InterfacesAdded of {p}: {len(added)}")
    need(len(removed) == 1, f"InterfacesRemoved of {p}: {len(removed)}")
    if added and removed:
        need(added[0] < removed[0], f"{p} removed before it was added")
states = [data(m)[1]["State"]["data"] for m in sig
          if m.get("member") == "PropertiesChanged" and m["path"] == setp and
          data(m)[0] == "org.vssd.ShadowCopy1.SnapshotSet" and "State" in data(m)[1]]
need("created" in states, f"no PropertiesChanged of the set's State to created: {states}")
need("creating" in states, f"no PropertiesChanged of the set's State to creating: {states}")
owner = [m for m in sig if m.get("member") == "PropertiesChanged" and m["path"] == setp and
         ("Owner" in data(m)[1] or "Owner" in data(m)[2])]
need(owner, "no PropertiesChanged of the set's Owner when vssctl left")
print(f"# {len(sig)} signals; set states {states}", file=sys.stderr)
sys.exit(bad)
EOPY
nothing_started "after the delete"

# 6. a user neither root nor in vssadmin: the policy refuses the requester API, Version is open
BUS_RAW_AS="setpriv --reuid=$user --regid=nogroup --clear-groups"
bus_raw_many <<EOC
u_start$T$ROOT$T$MGR${T}StartSnapshotSet${T}a{sv}${T}[{}]
u_list$T$ROOT$T$MGR${T}ListVolumes${T}${T}[]
u_gmo$T$ROOT${T}org.freedesktop.DBus.ObjectManager${T}GetManagedObjects${T}${T}[]
u_setprop$T$setp${T}org.freedesktop.DBus.Properties${T}GetAll${T}s${T}["org.vssd.ShadowCopy1.SnapshotSet"]
u_version$T$ROOT${T}org.freedesktop.DBus.Properties${T}Get${T}ss${T}["$MGR", "Version"]
u_intro$T$ROOT$T$I${T}Introspect${T}${T}[]
EOC
BUS_RAW_AS=
refused u_start org.freedesktop.DBus.Error.AccessDenied
refused u_list org.freedesktop.DBus.Error.AccessDenied
refused u_gmo org.freedesktop.DBus.Error.AccessDenied
# (the set is gone by now: the policy answers before vssd would say UnknownObject)
refused u_setprop org.freedesktop.DBus.Error.AccessDenied
assert_eq "$(jq -r '.result // .error' "$WORK/u_version.json")" "$(vssd_prop Manager Version | jq -r .data)" \
	"Version read by an outsider"
jq -r '.result // .error' "$WORK/u_intro.json" | grep -q '<interface name="org.vssd.ShadowCopy1.Manager">' ||
	fail "an outsider cannot introspect: $(cat "$WORK/u_intro.json")"
grep -q "started by .* (uid $(id -u "$user"))" "$WORK/vssd.log" && fail "vssd started a set for the outsider"
nothing_started "the outsider"
# the same user in vssadmin may start a set (its connection ends at once: the set goes)
usermod -a -G vssadmin "$user"
BUS_RAW_AS="setpriv --reuid=$user --regid=nogroup --init-groups"
call u_start2 "$ROOT" "$MGR" StartSnapshotSet 'a{sv}' '[{}]'
# shellcheck disable=SC2034 # read by bus_raw
BUS_RAW_AS=''
jq -r '.result // .error' "$WORK/u_start2.json" | grep -q "^$ROOT/set/" ||
	fail "a vssadmin member could not start a set: $(cat "$WORK/u_start2.json")"
wait_for 50 vssd_log_has "started by .* (uid $(id -u "$user"))" || fail "no start by the member logged"
kill -0 "$VSSD_PID" || fail "vssd died"

# last: SetInProgress of the Manager changed twice during the create (to the
# set and back to "/"), each with PropertiesChanged
/usr/bin/python3 - "$WORK/monitor" "$setp" <<'EOPY' || fail "SetInProgress changed without PropertiesChanged"
import json, sys
log, setp = sys.argv[1:]
seen = []
for line in open(log):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if (m.get("type") == "signal" and m.get("member") == "PropertiesChanged" and
            m.get("path") == "/org/vssd/ShadowCopy1"):
        d = m["payload"]["data"]
        if "SetInProgress" in d[1]:
            seen.append(d[1]["SetInProgress"]["data"])
        elif "SetInProgress" in d[2]:
            seen.append("(invalidated)")
print(f"# SetInProgress changes signalled: {seen}", file=sys.stderr)
ok = seen[:1] in ([setp], ["(invalidated)"]) and len(seen) == 2
if not ok:
    print("FAIL: want PropertiesChanged of org.vssd.ShadowCopy1.Manager.SetInProgress to the set, "
          f"then to /, got {seen}", file=sys.stderr)
sys.exit(0 if ok else 1)
EOPY
