#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 27-managed-volumes.sh - vssctl add volume wraps a plain, unused block device in a dm-linear
# volume vssd re-creates at start-up; it can be snapshotted; delete volume gives the device back
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

truncate -s 64M "$WORK/plain.img"
loop=$(losetup -f --show "$WORK/plain.img")
bus_start
vssd_start

expect_err() # CODE ARGS...
{
	local code=$1 rc=0
	shift
	vssctl "$@" >"$WORK/out" 2>&1 || rc=$?
	[ "$rc" -eq 1 ] || fail "vssctl $*: exit $rc, want 1: $(cat "$WORK/out")"
	grep -q "$code" "$WORK/out" || fail "vssctl $*: want $code: $(cat "$WORK/out")"
}

# refusals
: >"$WORK/file"
expect_err VSS_E_VOLUME_NOT_SUPPORTED add volume "$WORK/file"
expect_err VSS_E_OBJECT_NOT_FOUND add volume /dev/nonexistent
dmsetup create "$RUN-lin" --table "0 2048 linear $loop 0"
expect_err VSS_E_OBJECT_ALREADY_EXISTS add volume "/dev/mapper/$RUN-lin"
expect_err VSS_E_VOLUME_IN_USE add volume "$loop" # claimed by $RUN-lin
dmsetup remove "$RUN-lin"
mkfs.ext4 -q -F "$loop"
mkdir -p "$WORK/m"
mount "$loop" "$WORK/m"
expect_err VSS_E_VOLUME_IN_USE add volume "$loop"
echo plain >"$WORK/m/origin"
umount "$WORK/m"

# wrap it, snapshot it
vol=$(vssctl --json add volume "$loop" --name "$RUN-m" | jq -r '.volume // .')
assert_eq "$vol" "/dev/mapper/$RUN-m" "the new volume"
[ -b "$vol" ] || fail "no device $vol"
dm_with_uuid_prefix VSSD-V- | grep -qx "$RUN-m" || fail "the volume lacks a VSSD-V- uuid"
vssctl --json list volumes | jq -e --arg v "$vol" '.[] | select(.volume == $v) | .managed' |
	grep -q true || fail "list volumes does not show it managed"
mount "$vol" "$WORK/m"
assert_eq "$(cat "$WORK/m/origin")" plain "the data seen through the volume"
id=$(vssctl --json create shadow --volume "$vol" | jq -r '.snapshots[0].id')
echo changed >"$WORK/m/origin"
sync
expect_err VSS_E_VOLUME_IN_USE delete volume "$vol"

# a "reboot": the managed volume's device is gone; vssd re-creates it, and its snapshot
vssd_stop
umount "$WORK/m"
for n in $(dm_with_uuid_prefix VSSD-S-); do dmsetup remove "$n"; done
dmsetup remove "$RUN-m"
for n in $(dm_with_uuid_prefix VSSD-R-); do dmsetup remove "$n"; done
vssd_start
vssd_log_has "re-created over" || fail "the volume was not re-created"
[ -b "$vol" ] || fail "no $vol after the restart"
dev=$(vssctl --json list shadows | jq -r --arg i "$id" '.[] | select(.id == $i) | .device')
mkdir -p "$WORK/s"
mount -o ro,noload "$dev" "$WORK/s"
assert_eq "$(cat "$WORK/s/origin")" plain "the snapshot after the restart"
umount "$WORK/s"

# give the device back
vssctl delete shadows --shadow "$id" --quiet
mount "$vol" "$WORK/m"
expect_err VSS_E_VOLUME_IN_USE delete volume "$vol"
umount "$WORK/m"
expect_err VSS_E_OBJECT_NOT_FOUND delete volume /dev/mapper/"$RUN-nope"
# any path of the device names the volume: here /dev/dm-N (devtmpfs)
dmn=/dev/dm-$(dmsetup info -c --noheadings -o minor "${vol#/dev/mapper/}" | tr -d ' ')
[ -b "$dmn" ] || fail "no $dmn"
vssctl delete volume "$dmn"
[ ! -e "$vol" ] || fail "$vol still there"
mount "$loop" "$WORK/m"
assert_eq "$(cat "$WORK/m/origin")" changed "the plain device holds the volume's data"
umount "$WORK/m"
vssd_stop
vssd_start
[ ! -e "$vol" ] || fail "a removed volume came back after a restart"
