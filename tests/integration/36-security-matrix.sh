#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 36-security-matrix.sh - every method and property of dbus/org.vssd.ShadowCopy1.xml called as an
# outsider, a vsswriters member, a vssadmin member who does not own the set, the vssadmin member
# who owns it, and root (not the owner), on the real bus with the shipped policy; each outcome is
# checked against the table below, and the result table goes to the log (issue 15). A method or
# property of the XML without a row fails the test, as does a row the XML no longer has.
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

# Outcomes: ok (a reply) | policy (the bus refused: org.freedesktop.DBus.Error.AccessDenied) |
# vssd (org.vssd.ShadowCopy1.Error.AccessDenied) | NAME (org.vssd.ShadowCopy1.Error.NAME: the
# call reached its handler) | dbus.NAME (org.freedesktop.DBus.Error.NAME, not from the policy).
# Objects: root /org/vssd/ShadowCopy1; snap, a created persistent shadow copy (root's, its
# volume mounted); snap-new, a shadow copy of the owner's set, not created yet; writer, vssd's
# object of a registered writer; writer-proc, that writer's own connection (libvsswriter); set,
# the owner's set (no writers), driven through its whole life by the owner's calls, in this
# order; restore, the owner's restore session (a document without writers), likewise. The arguments (security-matrix.py ARGS) are harmless or invalid.
cat >"$WORK/table" <<'EOT'
# call                                  outsider  writer    admin     owner     root
root Introspect                         ok        ok        ok        ok        ok
root GetAll Manager                     ok        ok        ok        ok        ok
root Get Manager.Version                ok        ok        ok        ok        ok
root Get Manager.MaxShadowCopies        ok        ok        ok        ok        ok
root Get Manager.SetInProgress          ok        ok        ok        ok        ok
root Set Manager.Version                policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
root Set Manager.MaxShadowCopies        policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
root Set Manager.SetInProgress          policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
root GetManagedObjects                  policy    policy    ok        ok        ok
root Ping                               ok        ok        ok        ok        ok
root Manager.StartSnapshotSet           policy    policy    InvalidArgument InvalidArgument InvalidArgument
root Manager.CreateSnapshotSet          policy    policy    InvalidArgument InvalidArgument InvalidArgument
root Manager.DeleteSnapshots            policy    policy    InvalidArgument InvalidArgument InvalidArgument
root Manager.RegisterWriter             policy    InvalidArgument InvalidArgument InvalidArgument InvalidArgument
root Manager.UnregisterWriter           policy    vssd      vssd      vssd      ok
root Manager.ListWriters                policy    policy    ok        ok        ok
root Manager.ListVolumes                policy    policy    ok        ok        ok
root Manager.CreateVolume               policy    policy    ObjectNotFound ObjectNotFound ObjectNotFound
root Manager.RemoveVolume               policy    policy    ObjectNotFound ObjectNotFound ObjectNotFound
root Manager.AddStorage                 policy    policy    ObjectNotFound ObjectNotFound ObjectNotFound
root Manager.ResizeStorage              policy    policy    ObjectNotFound ObjectNotFound ObjectNotFound
root Manager.DeleteStorage              policy    policy    ObjectNotFound ObjectNotFound ObjectNotFound
root Manager.ListStorage                policy    policy    ok        ok        ok
root Manager.ListProviders              policy    policy    ok        ok        ok
root Manager.StartRestore               policy    policy    InvalidArgument InvalidArgument InvalidArgument
snap Introspect                         ok        ok        ok        ok        ok
snap GetAll Snapshot                    policy    policy    ok        ok        ok
snap Get Snapshot.Id                    policy    policy    ok        ok        ok
snap Get Snapshot.SetId                 policy    policy    ok        ok        ok
snap Get Snapshot.Volume                policy    policy    ok        ok        ok
snap Get Snapshot.OriginalDevice        policy    policy    ok        ok        ok
snap Get Snapshot.Device                policy    policy    ok        ok        ok
snap Get Snapshot.Provider              policy    policy    ok        ok        ok
snap Get Snapshot.Context               policy    policy    ok        ok        ok
snap Get Snapshot.Attributes            policy    policy    ok        ok        ok
snap Get Snapshot.CreationTime          policy    policy    ok        ok        ok
snap Get Snapshot.State                 policy    policy    ok        ok        ok
snap Get Snapshot.StorageUsed           policy    policy    ok        ok        ok
snap Get Snapshot.StorageSize           policy    policy    ok        ok        ok
snap Get Snapshot.ExposedPath           policy    policy    ok        ok        ok
snap Get Snapshot.RevertProgress        policy    policy    ok        ok        ok
snap Set Snapshot.Id                    policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap Set Snapshot.SetId                 policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap Set Snapshot.Volume                policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap Set Snapshot.OriginalDevice        policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap Set Snapshot.Device                policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap Set Snapshot.Provider              policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap Set Snapshot.Context               policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap Set Snapshot.Attributes            policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap Set Snapshot.CreationTime          policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap Set Snapshot.State                 policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap Set Snapshot.StorageUsed           policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap Set Snapshot.StorageSize           policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap Set Snapshot.ExposedPath           policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap Set Snapshot.RevertProgress        policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap Snapshot.Expose                    policy    policy    ok        ok        ok
snap Snapshot.Unexpose                  policy    policy    BadState  BadState  BadState
snap Snapshot.Revert                    policy    policy    VolumeInUse VolumeInUse VolumeInUse
snap-new Introspect                     ok        ok        ok        ok        ok
snap-new GetAll Snapshot                policy    policy    ok        ok        ok
snap-new Get Snapshot.Id                policy    policy    ok        ok        ok
snap-new Get Snapshot.SetId             policy    policy    ok        ok        ok
snap-new Get Snapshot.Volume            policy    policy    ok        ok        ok
snap-new Get Snapshot.OriginalDevice    policy    policy    ok        ok        ok
snap-new Get Snapshot.Device            policy    policy    ok        ok        ok
snap-new Get Snapshot.Provider          policy    policy    ok        ok        ok
snap-new Get Snapshot.Context           policy    policy    ok        ok        ok
snap-new Get Snapshot.Attributes        policy    policy    ok        ok        ok
snap-new Get Snapshot.CreationTime      policy    policy    ok        ok        ok
snap-new Get Snapshot.State             policy    policy    ok        ok        ok
snap-new Get Snapshot.StorageUsed       policy    policy    ok        ok        ok
snap-new Get Snapshot.StorageSize       policy    policy    ok        ok        ok
snap-new Get Snapshot.ExposedPath       policy    policy    ok        ok        ok
snap-new Get Snapshot.RevertProgress    policy    policy    ok        ok        ok
snap-new Set Snapshot.Id                policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap-new Set Snapshot.SetId             policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap-new Set Snapshot.Volume            policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap-new Set Snapshot.OriginalDevice    policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap-new Set Snapshot.Device            policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap-new Set Snapshot.Provider          policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap-new Set Snapshot.Context           policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap-new Set Snapshot.Attributes        policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap-new Set Snapshot.CreationTime      policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap-new Set Snapshot.State             policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap-new Set Snapshot.StorageUsed       policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap-new Set Snapshot.StorageSize       policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap-new Set Snapshot.ExposedPath       policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap-new Set Snapshot.RevertProgress    policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
snap-new Snapshot.Expose                policy    policy    BadState  BadState  BadState
snap-new Snapshot.Unexpose              policy    policy    BadState  BadState  BadState
snap-new Snapshot.Delete                policy    policy    BadState  BadState  BadState
snap-new Snapshot.Revert                policy    policy    UnsupportedContext UnsupportedContext UnsupportedContext
writer Introspect                       ok        ok        ok        ok        ok
writer GetAll Writer                    policy    policy    ok        ok        ok
writer Get Writer.Name                  policy    policy    ok        ok        ok
writer Get Writer.ClassId               policy    policy    ok        ok        ok
writer Get Writer.InstanceId            policy    policy    ok        ok        ok
writer Get Writer.InstanceName          policy    policy    ok        ok        ok
writer Get Writer.Usage                 policy    policy    ok        ok        ok
writer Get Writer.State                 policy    policy    ok        ok        ok
writer Get Writer.StateName             policy    policy    ok        ok        ok
writer Get Writer.LastError             policy    policy    ok        ok        ok
writer Get Writer.Owner                 policy    policy    ok        ok        ok
writer Get Writer.Metadata              policy    policy    ok        ok        ok
writer Set Writer.Name                  policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
writer Set Writer.ClassId               policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
writer Set Writer.InstanceId            policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
writer Set Writer.InstanceName          policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
writer Set Writer.Usage                 policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
writer Set Writer.State                 policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
writer Set Writer.StateName             policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
writer Set Writer.LastError             policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
writer Set Writer.Owner                 policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
writer Set Writer.Metadata              policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
writer Writer.Identify                  policy    policy    policy    policy    dbus.UnknownMethod
writer Writer.PrepareForBackup          policy    policy    policy    policy    dbus.UnknownMethod
writer Writer.PrepareForSnapshot        policy    policy    policy    policy    dbus.UnknownMethod
writer Writer.Freeze                    policy    policy    policy    policy    dbus.UnknownMethod
writer Writer.Thaw                      policy    policy    policy    policy    dbus.UnknownMethod
writer Writer.PostSnapshot              policy    policy    policy    policy    dbus.UnknownMethod
writer Writer.Abort                     policy    policy    policy    policy    dbus.UnknownMethod
writer Writer.BackupComplete            policy    policy    policy    policy    dbus.UnknownMethod
writer Writer.BackupShutdown            policy    policy    policy    policy    dbus.UnknownMethod
writer Writer.BackupResults             policy    policy    policy    policy    dbus.UnknownMethod
writer Writer.PreRestore                policy    policy    policy    policy    dbus.UnknownMethod
writer Writer.PostRestore               policy    policy    policy    policy    dbus.UnknownMethod
writer-proc Writer.Identify             policy    policy    policy    policy    dbus.AccessDenied
writer-proc Writer.PrepareForBackup     policy    policy    policy    policy    dbus.AccessDenied
writer-proc Writer.PrepareForSnapshot   policy    policy    policy    policy    dbus.AccessDenied
writer-proc Writer.Freeze               policy    policy    policy    policy    dbus.AccessDenied
writer-proc Writer.Thaw                 policy    policy    policy    policy    dbus.AccessDenied
writer-proc Writer.PostSnapshot         policy    policy    policy    policy    dbus.AccessDenied
writer-proc Writer.Abort                policy    policy    policy    policy    dbus.AccessDenied
writer-proc Writer.BackupComplete       policy    policy    policy    policy    dbus.AccessDenied
writer-proc Writer.BackupShutdown       policy    policy    policy    policy    dbus.AccessDenied
writer-proc Writer.BackupResults        policy    policy    policy    policy    dbus.AccessDenied
writer-proc Writer.PreRestore           policy    policy    policy    policy    dbus.AccessDenied
writer-proc Writer.PostRestore          policy    policy    policy    policy    dbus.AccessDenied
set Introspect                          ok        ok        ok        ok        ok
set GetAll SnapshotSet                  policy    policy    ok        ok        ok
set Get SnapshotSet.Id                  policy    policy    ok        ok        ok
set Get SnapshotSet.Context             policy    policy    ok        ok        ok
set Get SnapshotSet.Attributes          policy    policy    ok        ok        ok
set Get SnapshotSet.BackupType          policy    policy    ok        ok        ok
set Get SnapshotSet.State               policy    policy    ok        ok        ok
set Get SnapshotSet.CreationTime        policy    policy    ok        ok        ok
set Get SnapshotSet.Owner               policy    policy    ok        ok        ok
set Get SnapshotSet.Description         policy    policy    ok        ok        ok
set Get SnapshotSet.Snapshots           policy    policy    ok        ok        ok
set Get SnapshotSet.WriterStatus        policy    policy    ok        ok        ok
set Get SnapshotSet.Instant             policy    policy    ok        ok        ok
set Get SnapshotSet.Schedule            policy    policy    ok        ok        ok
set Set SnapshotSet.Id                  policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
set Set SnapshotSet.Context             policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
set Set SnapshotSet.Attributes          policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
set Set SnapshotSet.BackupType          policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
set Set SnapshotSet.State               policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
set Set SnapshotSet.CreationTime        policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
set Set SnapshotSet.Owner               policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
set Set SnapshotSet.Description         policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
set Set SnapshotSet.Snapshots           policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
set Set SnapshotSet.WriterStatus        policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
set Set SnapshotSet.Instant             policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
set Set SnapshotSet.Schedule            policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
set SnapshotSet.AddVolume               policy    policy    vssd      ObjectNotFound vssd
set SnapshotSet.GatherWriterMetadata    policy    policy    vssd      ok        vssd
set SnapshotSet.SetComponents           policy    policy    vssd      ok        vssd
set SnapshotSet.PrepareForBackup        policy    policy    vssd      ok        vssd
set SnapshotSet.GetBackupDocument       policy    policy    vssd      ok        vssd
set SnapshotSet.DoSnapshotSet           policy    policy    vssd      ok        vssd
set SnapshotSet.GatherWriterStatus      policy    policy    vssd      ok        vssd
set SnapshotSet.SetBackupSucceeded      policy    policy    vssd      ok        vssd
set SnapshotSet.BackupComplete          policy    policy    vssd      ok        vssd
set SnapshotSet.Abort                   policy    policy    vssd      BadState  vssd
set SnapshotSet.Release                 policy    policy    vssd      ok        vssd
restore Introspect                      ok        ok        ok        ok        ok
restore GetAll RestoreSession           policy    policy    ok        ok        ok
restore Get RestoreSession.Id           policy    policy    ok        ok        ok
restore Get RestoreSession.State        policy    policy    ok        ok        ok
restore Get RestoreSession.Owner        policy    policy    ok        ok        ok
restore Get RestoreSession.BackupSetId  policy    policy    ok        ok        ok
restore Get RestoreSession.BackupType   policy    policy    ok        ok        ok
restore Set RestoreSession.Id           policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
restore Set RestoreSession.State        policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
restore Set RestoreSession.Owner        policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
restore Set RestoreSession.BackupSetId  policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
restore Set RestoreSession.BackupType   policy    policy    dbus.PropertyReadOnly dbus.PropertyReadOnly dbus.PropertyReadOnly
restore RestoreSession.GatherWriterMetadata policy    policy    vssd      ok        vssd
restore RestoreSession.SetSelectedForRestore policy    policy    vssd      ok        vssd
restore RestoreSession.PreRestore       policy    policy    vssd      ok        vssd
restore RestoreSession.SetFileRestoreStatus policy    policy    vssd      ok        vssd
restore RestoreSession.PostRestore      policy    policy    vssd      ok        vssd
restore RestoreSession.GatherWriterStatus policy    policy    vssd      ok        vssd
restore RestoreSession.Release          policy    policy    vssd      ok        vssd
EOT

a=$(vol_create "$RUN-a" 32M)
b=$(vol_create "$RUN-b" 16M)
vol_mkfs_mount "$a" ext4 "$WORK/ma" # mounted: Revert of its shadow copy is VolumeInUse
uo=vmo$$ uw=vmw$$ ua=vma$$ un=vmn$$
bus_start # makes the groups
useradd -M -N -s /bin/sh "$uo"
useradd -M -N -s /bin/sh -G vsswriters "$uw"
useradd -M -N -s /bin/sh -G vssadmin "$ua"
useradd -M -N -s /bin/sh -G vssadmin "$un"
test_teardown_more()
{
	for u in "$uo" "$uw" "$ua" "$un"; do userdel "$u" 2>/dev/null; done
}
# the owner's set waits through every other row: no idle abort meanwhile, however slow the guest
vssd_config "[timeouts]
set-idle-ms = 3600000"
vssd_start
U=$(unpriv_dir)
cp "$SRC/tests/integration/security-matrix.py" "$U/"
chmod a+r "$U/security-matrix.py"
mkdir "$WORK/wf"
chown "$uw" "$WORK/wf"
cd "$WORK"

# a created persistent shadow copy of a (root's), and a writer registered by a vsswriters member
bus_raw /org/vssd/ShadowCopy1 org.vssd.ShadowCopy1.Manager CreateSnapshotSet 'asa{sv}' \
	'[["'"$a"'"], {"context": "persistent", "no-writers": true}]' >"$WORK/create.json"
snap=$(jq -r '.result[1][0] // empty' "$WORK/create.json")
[ -n "$snap" ] || fail "no persistent shadow copy: $(cat "$WORK/create.json")"
setpriv --reuid="$uw" --regid=nogroup --init-groups "$U/vssd-example-writer" --name matrix \
	--event-log "$WORK/wf/events" "$WORK/wf/a" "$WORK/wf/b" >"$WORK/w.log" 2>&1 &
WRITER_PIDS=$!
wait_for 100 grep -q registered "$WORK/w.log" || fail "the writer did not register: $(cat "$WORK/w.log")"
wid=$(busctl_vssd ListWriters b false | jq -r '.data[0][] | select(.name.data == "matrix") |
	.["instance-id"].data')
[ -n "$wid" ] || fail "vssd does not list the writer"

py=/usr/bin/python3
as() { printf '"setpriv", "--reuid=%s", "--regid=nogroup", "%s", "%s", "%s"' "$1" "$2" "$py" \
	"$U/security-matrix.py"; }
workers='{"outsider": ['"$(as "$uo" --clear-groups)"'],
	"writer": ['"$(as "$uw" --init-groups)"'],
	"admin": ['"$(as "$ua" --init-groups)"'],
	"owner": ['"$(as "$un" --init-groups)"'],
	"root": ["'"$py"'", "'"$SRC"'/tests/integration/security-matrix.py"]}'
objects='{"root": {"path": "/org/vssd/ShadowCopy1"}, "snap": {"path": "'"$snap"'"},
	"writer": {"path": "/org/vssd/ShadowCopy1/writer/'"$(printf %s "$wid" | tr -d -)"'"},
	"writer-id": "'"$wid"'", "writer-proc-path": "/org/vssd/ShadowCopy1/Writer",
	"owner-volume": "'"$b"'"}'
rc=0
"$py" "$SRC/tests/integration/security-matrix.py" run "$SRC/dbus/org.vssd.ShadowCopy1.xml" \
	"$WORK/table" "$objects" "$workers" >"$WORK/matrix" 2>&1 || rc=$?
cat "$WORK/matrix" >&2
[ "$rc" = 0 ] || fail "the security matrix does not match its table (see above)"

# what the refused and harmless calls must have left as it was
kill -0 "$VSSD_PID" || fail "vssd died"
assert_eq "$(vssd_prop Snapshot State "$snap" | jq -r .data)" created "the persistent shadow copy"
assert_eq "$(vssd_prop Snapshot ExposedPath "$snap" | jq -r .data)" "" "its exposure"
grep -q "refused Identify from" "$WORK/w.log" ||
	fail "the writer did not log root's direct call: $(cat "$WORK/w.log")"
[ ! -s "$WORK/wf/events" ] || fail "an event reached the writer: $(cat "$WORK/wf/events")"
busctl_vssd DeleteSnapshots 'a{sv}' 1 all b true >/dev/null || fail "cannot delete the shadow copies"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "leaked $(dm_with_uuid_prefix VSSD-)"
