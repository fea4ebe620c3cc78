#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 11-engine-rollback.sh - failures at several steps on the real kernel leave nothing behind:
# no VSSD- device, no loop, origin tables unchanged, nothing suspended or frozen
. "${0%/*}/lib.sh"
require_target snapshot
TOOL=${VSSD_BUILD:-$PWD/build}/vssd-dmsnap-tool

a=$(vol_create "$RUN-a" 64M)
b=$(vol_create "$RUN-b" 64M)
table_a=$(dm_table "$RUN-a")
table_b=$(dm_table "$RUN-b")
vol_mkfs_mount "$a" ext4 "$WORK/ma"
vol_mkfs_mount "$b" ext4 "$WORK/mb"
mkdir -p "$WORK/storage"
echo data >"$WORK/ma/f"

nothing_left()
{
	[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "$1: leaked $(dm_with_uuid_prefix VSSD-)"
	[ -z "$(loops_under "$WORK/storage")" ] || fail "$1: leaked loops"
	[ -z "$(ls -A "$WORK/storage")" ] || fail "$1: leaked files $(ls -A "$WORK/storage")"
	[ -z "$(dm_suspended)" ] || fail "$1: left suspended $(dm_suspended)"
	assert_eq "$(dm_table "$RUN-a")" "$table_a" "$1: a's table"
	assert_eq "$(dm_table "$RUN-b")" "$table_b" "$1: b's table"
	dmsetup info "$RUN-a" | grep -q "Tables present: *LIVE$" || fail "$1: a has a staged table"
	# writable again: a frozen file system would block here (the test timeout catches it)
	echo "$1" >"$WORK/ma/f" && echo "$1" >"$WORK/mb/f" && sync
}

expect_fail() # NAME CODE ARGS...
{
	local name=$1 code=$2
	shift 2
	if "$TOOL" create --storage "$WORK/storage" --cow-size 16M "$@" 2>"$WORK/err"; then
		fail "$name: succeeded"
	fi
	cat "$WORK/err" >&2
	grep -q "$code" "$WORK/err" || fail "$name: want $code, got: $(cat "$WORK/err")"
	nothing_left "$name"
}

# 1. the second volume's snapshot name is taken: a is fully staged (-real, snapshot, staged
#    origin table), then everything must go
set_id=6f1c2d3e-0000-4000-8000-000000000001
dmsetup create "vssd-6f1c2d3e-$RUN-b" --table "0 8 zero"
expect_fail "name taken" VSS_E_OBJECT_ALREADY_EXISTS --set-id "$set_id" "$a" "$b"
dmsetup remove "vssd-6f1c2d3e-$RUN-b"

# 2. hold watchdog at 0 ms: both origins suspended, the deadline passes, all is resumed
expect_fail "hold watchdog" VSS_E_HOLD_WRITES_TIMEOUT --hold-timeout-ms 0 "$a" "$b"

# 3. a file system frozen by someone else: our FIFREEZE fails, the other one is thawed
fsfreeze -f "$WORK/mb"
if "$TOOL" create --storage "$WORK/storage" --cow-size 16M "$a" "$b" 2>"$WORK/err"; then
	fsfreeze -u "$WORK/mb"
	fail "frozen fs: succeeded"
fi
fsfreeze -u "$WORK/mb"
grep -q VSS_E_PROVIDER_VETO "$WORK/err" || fail "frozen fs: $(cat "$WORK/err")"
nothing_left "frozen fs"

# 4. bad input: a clear error each, nothing changed
expect_fail "storage on the volume" E_INVALIDARG --storage "$WORK/ma" "$a" "$b"
expect_fail "storage too small" VSS_E_INSUFFICIENT_STORAGE --cow-size 4K "$a"
expect_fail "missing device" VSS_E_OBJECT_NOT_FOUND /dev/mapper/"$RUN-nope"
: >"$WORK/plain"
expect_fail "regular file" "not a block device" "$WORK/plain"
loop=$(losetup -j "$WORK/$RUN-a.img" | cut -d: -f1)
expect_fail "non-dm device" "not a device-mapper device" "$loop"
dmsetup create "$RUN-lv" --uuid "LVM-$RUN" --table "0 8 zero"
expect_fail "LVM volume" "LVM logical volume" "/dev/mapper/$RUN-lv"
minor=$(dmsetup info -c --noheadings -o minor "$RUN-a" | tr -d ' ')
expect_fail "duplicate volume" VSS_E_OBJECT_ALREADY_EXISTS "$a" "/dev/dm-$minor"
assert_eq "$(cat "$WORK/ma/f")" "duplicate volume" "origin a still writable"
