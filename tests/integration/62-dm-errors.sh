#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 62-dm-errors.sh - dm errors under a volume while a set is made: volume b sits on a dm-flakey
# device that fails every write from just before the creation on (error_writes), with dirty
# data on its file system, so that the flush of the freeze fails. The set of a and b fails with
# a named error, nothing of it is left (no VSSD- device, no COW file or loop, tables back,
# nothing suspended or frozen), a takes writes, and both volumes' data is intact.
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot
require_target flakey

a=$(vol_create "$RUN-a" 64M)
truncate -s 64M "$WORK/b.img"
loop=$(losetup -f --show "$WORK/b.img")
sz=$(blockdev --getsz "$loop")
dmsetup create "$RUN-fl" --table "0 $sz flakey $loop 0 3600 0"
dmsetup create "$RUN-b" --table "0 $sz linear /dev/mapper/$RUN-fl 0"
b=/dev/mapper/$RUN-b
table_a=$(dm_table "$RUN-a")
table_b=$(dm_table "$RUN-b")
vol_mkfs_mount "$a" ext4 "$WORK/ma"
vol_mkfs_mount "$b" ext4 "$WORK/mb"
head -c 1M /dev/urandom >"$WORK/ma/still"
head -c 1M /dev/urandom >"$WORK/mb/still"
sync
still_a=$(sha_of "$WORK/ma/still")
still_b=$(sha_of "$WORK/mb/still")
bus_start
vssd_start

# every write to b fails from now on; dirty data waits on b's file system
dmsetup load "$RUN-fl" --table "0 $sz flakey $loop 0 0 3600 1 error_writes"
dmsetup suspend "$RUN-fl"
dmsetup resume "$RUN-fl"
head -c 256K /dev/urandom >"$WORK/mb/dirty"
run_rc vssctl --json create shadow --volume "$a" --volume "$b" --context file-share-backup
cat "$WORK/out" "$WORK/err" >&2
[ "$RC" -ne 0 ] || fail "the set was made on a volume that fails every write"
grep -Eq "VSS_E_[A-Z_]+|Error\.[A-Za-z]+" "$WORK/err" ||
	fail "no named error: $(cat "$WORK/err")"
grep -qi "input/output error\|EIO\|$RUN-b" "$WORK/err" ||
	fail "the error does not say what failed: $(cat "$WORK/err")"

# nothing left
[ -z "$(dm_suspended)" ] || fail "left suspended: $(dm_suspended)"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "left $(dm_with_uuid_prefix VSSD-)"
assert_eq "$(dm_table "$RUN-a")" "$table_a" "a's table"
assert_eq "$(dm_table "$RUN-b")" "$table_b" "b's table"
assert_eq "$(dm_tables "$RUN-a") $(dm_tables "$RUN-b")" "LIVE LIVE" "staged tables"
[ -z "$(ls -A "$VSSD_STORAGE_DIR")" ] || fail "COW files left: $(ls -A "$VSSD_STORAGE_DIR")"
[ -z "$(loops_under "$VSSD_STORAGE_DIR")" ] || fail "COW loops left"
assert_eq "$(vssctl --json list shadows | jq length)" 0 "shadow copies listed"
timeout 10 sh -c "echo x >'$WORK/ma/after' && sync -f '$WORK/ma/after'" ||
	fail "a takes no write: frozen?"

# b works again once its device does; the data of both is what it was
dmsetup load "$RUN-fl" --table "0 $sz flakey $loop 0 3600 0"
dmsetup suspend "$RUN-fl"
dmsetup resume "$RUN-fl"
echo 3 >/proc/sys/vm/drop_caches
assert_eq "$(sha_of "$WORK/ma/still")" "$still_a" "a's data"
assert_eq "$(sha_of "$WORK/mb/still")" "$still_b" "b's data"
# and a set of the two works now
run_rc vssctl --json create shadow --volume "$a" --volume "$b" --context file-share-backup
[ "$RC" -eq 0 ] || note "a set after the device came back failed too: $(cat "$WORK/err")"
vssctl delete shadows --all --quiet >/dev/null 2>&1 || true
kill -0 "$VSSD_PID" || fail "vssd died"
