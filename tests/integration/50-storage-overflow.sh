#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 50-storage-overflow.sh - shadow storage associations through vssctl, then filling one: the COW
# files are sparse at the maximum, a warning is signalled, once the two shadow copies hold more
# than the maximum together the oldest is deleted, and the last one goes invalid when its own
# store overflows while the volume keeps working; no wake-ups while idle
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 128M)
vol_mkfs_mount "$a" ext4 "$WORK/ma"
mkdir -p "$WORK/st"
bus_start
vssd_start
gdbus monitor --address "$DBUS_SYSTEM_BUS_ADDRESS" --dest org.vssd.ShadowCopy1 \
	>"$WORK/signals" 2>&1 &
MON=$!
test_teardown_more() { kill $MON 2>/dev/null; }

expect_err() # CODE ARGS...: vssctl fails (exit 1) with CODE in its message
{
	local code=$1 rc=0
	shift
	vssctl "$@" >"$WORK/out" 2>&1 || rc=$?
	[ "$rc" -eq 1 ] || fail "vssctl $*: exit $rc, want 1: $(cat "$WORK/out")"
	grep -q "$code" "$WORK/out" || fail "vssctl $*: want $code: $(cat "$WORK/out")"
}

# 1. associations and their refusals
expect_err E_INVALIDARG add storage --for "$a" --on "$WORK/ma" --maxsize 24M
expect_err VSS_E_INSUFFICIENT_STORAGE add storage --for "$a" --on "$WORK/st" --maxsize 1M
expect_err VSS_E_OBJECT_NOT_FOUND add storage --for "$a" --on "$WORK/nope" --maxsize 24M
expect_err VSS_E_VOLUME_NOT_SUPPORTED add storage --for "$a" --on "$a" --maxsize 24M
[ "$(vssctl --json list storage | jq length)" -eq 0 ] || fail "refusals left storage behind"
vssctl add storage --for "$a" --on "$WORK/st" --maxsize 24M
expect_err VSS_E_OBJECT_ALREADY_EXISTS add storage --for "$a" --on "$WORK/st" --maxsize 24M
vssctl --json list storage >"$WORK/ls"
assert_eq "$(jq -r '.[0].location' "$WORK/ls")" "$WORK/st" "storage location"
assert_eq "$(jq -r '.[0].max_bytes' "$WORK/ls")" $((24 << 20)) "storage maximum"

# 2. two snapshots (COW files sparse at 24M each), then writes
s1=$(vssctl --json create shadow --volume "$a" | jq -r '.snapshots[0].id')
sleep 1
s2=$(vssctl --json create shadow --volume "$a" | jq -r '.snapshots[0].id')
[ "$(ls "$WORK/st" | wc -l)" -eq 2 ] || fail "COW files not in the storage directory"
n=0
: >"$WORK/written"
while [ $n -lt 40 ]; do
	head -c 1M /dev/urandom >"$WORK/chunk"
	cat "$WORK/chunk" >>"$WORK/ma/big"
	cat "$WORK/chunk" >>"$WORK/written"
	sync
	n=$((n + 1))
	sleep 0.3
done
sleep 1
cat "$WORK/signals" >&2
grep -q "StorageWarning" "$WORK/signals" || fail "no StorageWarning signal"
grep "SnapshotDeleted" "$WORK/signals" | grep -q "$s1" || fail "the oldest ($s1) was not deleted"
grep "SnapshotDeleted" "$WORK/signals" | grep -q "storage-full" || fail "deletion reason"
grep "SnapshotInvalidated" "$WORK/signals" | grep -q "$s2" || fail "the last one not invalid"
vssctl --json list shadows >"$WORK/shadows"
[ "$(jq length "$WORK/shadows")" -eq 1 ] || fail "want one shadow left"
assert_eq "$(jq -r '.[0].state' "$WORK/shadows")" invalid "state of the last shadow copy"
# the origin kept working and holds exactly what was written
assert_eq "$(sha_of "$WORK/ma/big")" "$(sha_of "$WORK/written")" "origin data after overflow"
snapdev=$(jq -r '.[0].device' "$WORK/shadows")
if dd if="$snapdev" of=/dev/null bs=4k count=1 2>/dev/null; then fail "an invalid snapshot reads"; fi
vssctl --json list storage >"$WORK/ls"
[ "$(jq -r '.[0].allocated_bytes' "$WORK/ls")" -le $((24 << 20)) ] || fail "over the maximum"

# 3. idle: no wake-ups while nothing is written
sleep 2
c1=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$VSSD_PID/status")
sleep 15
c2=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$VSSD_PID/status")
note "idle: $((c2 - c1)) voluntary context switches in 15 s"
[ "$((c2 - c1))" -eq 0 ] || fail "vssd woke up $((c2 - c1)) times in 15 s of idle"

# 4. delete storage: refused while it holds snapshots, done with delete-snapshots
expect_err VSS_E_VOLUME_IN_USE delete storage --for "$a"
vssctl delete storage --for "$a" --delete-snapshots --quiet
[ "$(vssctl --json list storage | jq length)" -eq 0 ] || fail "storage not deleted"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "left $(dm_with_uuid_prefix VSSD-)"
[ -z "$(ls -A "$WORK/st")" ] || fail "COW files left: $(ls "$WORK/st")"
