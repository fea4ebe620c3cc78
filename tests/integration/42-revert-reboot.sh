#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 42-revert-reboot.sh - a revert cut short by a "reboot" (vssd killed, every dm device and COW
# loop of ours gone in the middle of the merge, the volume set up again on its own table) is
# resumed when vssd starts, as VSS resumes a revert at boot: the shadow copy comes back from its
# COW file, the merge starts again and ends, and the volume then equals the shadow copy
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot
require_target snapshot-merge
require_target delay

# the volume sits on a dm-delay device, so that the merge can be cut in the middle (as in 41)
revert_volume_setup

run_rc vssctl --json create shadow --volume "$a" --context persistent --no-writers
assert_eq "$RC" 0 "create shadow ($(cat "$WORK/err"))"
s1=$(jq -r '.snapshots[0].id' "$WORK/out")
dev1=$(vssctl --json list shadows | jq -r '.[0].device')
want=$(sha_of "$dev1")
umount "$WORK/ma"
# 300 writes in chunks of their own: the merge copies them back one by one
scatter 300
[ "$(sha_of "$a")" != "$want" ] || fail "the volume did not change"

# the revert starts, slowly
merge_speed 40
run_rc vssctl revert "$s1" --quiet
assert_eq "$RC" 0 "revert ($(cat "$WORK/err"))"
sleep 1
vssd_kill
case $(dm_table "$RUN-a") in
*" snapshot-merge "*) ;;
*) fail "the merge was over before the reboot: make it slower" ;;
esac
before=$(dmsetup status "$RUN-a" | awk '{ print $4 }')

# the "reboot": the merge stops with its volume; our devices and COW loops go; the volume comes
# back on its own table, and the disk is fast again
dmsetup remove "$RUN-a"
for n in $(dm_with_uuid_prefix VSSD-); do dmsetup remove "$n"; done
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "reboot simulation left devices"
wait_for 50 sh -c "[ -z \"\$(losetup -n -l -O BACK-FILE | grep -F '$VSSD_STORAGE_DIR')\" ]" ||
	fail "COW loops still attached"
merge_speed 0
dmsetup create "$RUN-a" --table "$table_a"
note "rebooted with $before COW sectors in use; the volume is part reverted"

vssd_start
vssd_log_has "merge stopped before its end" || fail "recovery did not see the cut merge"
vssd_log_has "revert resumed" || fail "the revert was not resumed"
reverts_end || fail "the resumed merge did not end: $(vssctl query reverts)"
vssd_log_has "revert finished" || fail "no end log line"

assert_eq "$(sha_of "$a")" "$want" "the volume after the resumed revert"
assert_eq "$(dm_table "$RUN-a")" "$table_a" "a's own table"
assert_eq "$(vssctl --json list shadows | jq length)" 0 "shadow copies left"
no_vssd_devices || fail "left $(dm_with_uuid_prefix VSSD-)"
[ -z "$(dm_suspended)" ] || fail "left suspended: $(dm_suspended)"
mount "$a" "$WORK/ma"
assert_eq "$(sha_of "$WORK/ma/data")" "$data1" "the file of the instant"
umount "$WORK/ma"
kill -0 "$VSSD_PID" || fail "vssd died"
