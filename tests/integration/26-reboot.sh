#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 26-reboot.sh - persistent shadow copies come back after a "reboot": every dm device and loop
# of ours gone, the volume set up again by its owner, vssd started: the snapshot is re-created
# from its COW file with the same id and still holds the data of its instant
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
table_a=$(dm_table "$RUN-a")
vol_mkfs_mount "$a" ext4 "$WORK/ma"
head -c 2M /dev/urandom >"$WORK/ma/data"
old=$(sha_of "$WORK/ma/data")
bus_start
vssd_start

id=$(vssctl --json create shadow --volume "$a" --context app-rollback | jq -r '.snapshots[0].id')
head -c 2M /dev/urandom >"$WORK/ma/data"
new=$(sha_of "$WORK/ma/data")
sync
vssd_stop

# the "reboot": unmount, every device of ours goes, the volume comes back as its owner made it
umount "$WORK/ma"
for n in $(dm_with_uuid_prefix VSSD-S-); do dmsetup remove "$n"; done
dmsetup remove "$RUN-a"
for n in $(dm_with_uuid_prefix VSSD-R-); do dmsetup remove "$n"; done
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "reboot simulation left devices"
[ -z "$(loops_under "$VSSD_STORAGE_DIR")" ] || fail "COW loops still attached"
dmsetup create "$RUN-a" --table "$table_a"
mount "$a" "$WORK/ma"

vssd_start
vssd_log_has "brought back" || fail "recovery did not bring the snapshot back"
vssctl --json list shadows >"$WORK/ls"
assert_eq "$(jq -r '.[0].id' "$WORK/ls")" "$id" "the same snapshot id"
assert_eq "$(jq -r '.[0].state' "$WORK/ls")" created "state"
dev=$(jq -r '.[0].device' "$WORK/ls")
case $(dm_table "$RUN-a") in "0 131072 snapshot-origin "*) ;; *) fail "a not converted: $(dm_table "$RUN-a")" ;; esac
mkdir -p "$WORK/s"
mount -o ro,noload "$dev" "$WORK/s"
assert_eq "$(sha_of "$WORK/s/data")" "$old" "the snapshot holds its instant after the reboot"
umount "$WORK/s"
assert_eq "$(sha_of "$WORK/ma/data")" "$new" "the volume holds its latest data"
# and it still works as a snapshot: a new write to the origin is copied
head -c 1M /dev/urandom >"$WORK/ma/more" && sync
mount -o ro,noload "$dev" "$WORK/s"
[ ! -e "$WORK/s/more" ] || fail "a write after the reboot shows in the snapshot"
umount "$WORK/s"
vssctl delete shadows --shadow "$id" --quiet
assert_eq "$(dm_table "$RUN-a")" "$table_a" "a's own table after the delete"
