#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 63-state-format-migration.sh - state format 1 to 2: the vssd of format 1 (commit a7d25be, built
# by make old-vssd into $BUILD/old/) leaves persistent shadow copies; today's vssd starts on its
# state, also after a "reboot" (as 26-reboot): they are listed, hold their instant's data, the
# state file is format 2 with each snapshot's provider, and they can be deleted.
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot
[ -x "$BUILD/old/vssd" ] ||
	fail "no $BUILD/old/vssd: 'make old-vssd' builds the vssd of state format 1 (git history)"

# vssd_start with the old binary
old_vssd_start()
{
	new_build=$BUILD
	BUILD=$BUILD/old
	vssd_start
	BUILD=$new_build
}

a=$(vol_create "$RUN-a" 64M)
b=$(vol_create "$RUN-b" 64M)
table_a=$(dm_table "$RUN-a")
table_b=$(dm_table "$RUN-b")
vol_mkfs_mount "$a" ext4 "$WORK/ma"
vol_mkfs_mount "$b" ext4 "$WORK/mb"
head -c 2M /dev/urandom >"$WORK/ma/data"
head -c 2M /dev/urandom >"$WORK/mb/data"
a1=$(sha_of "$WORK/ma/data")
b1=$(sha_of "$WORK/mb/data")
sync
bus_start
old_vssd_start

# two persistent sets: a and b together, then a alone
vssctl --json create shadow --volume "$a" --volume "$b" --context app-rollback >"$WORK/c1"
set1=$(jq -r .set_id "$WORK/c1")
head -c 2M /dev/urandom >"$WORK/ma/data"
a2=$(sha_of "$WORK/ma/data")
sync
vssctl --json create shadow --volume "$a" --context client-accessible >"$WORK/c2"
set2=$(jq -r .set_id "$WORK/c2")
head -c 2M /dev/urandom >"$WORK/ma/data"
head -c 2M /dev/urandom >"$WORK/mb/data"
a3=$(sha_of "$WORK/ma/data")
b3=$(sha_of "$WORK/mb/data")
sync
vssd_stop
assert_eq "$(jq -r .version "$VSSD_STATE_DIR/state.json")" 1 "the old vssd writes format 1"
assert_eq "$(jq -r '[.sets[].snapshots[]] | length' "$VSSD_STATE_DIR/state.json")" 3 \
	"three snapshots in the format-1 file"
jq -e '[.sets[].snapshots[] | has("snap_name") and has("cow_path")] | all' \
	"$VSSD_STATE_DIR/state.json" >/dev/null || fail "format 1 without its dm-snapshot members"

# check_all WHEN: today's vssd lists the three, each holding its instant
check_all()
{
	vssctl --json list shadows >"$WORK/ls"
	assert_eq "$(jq -r 'length' "$WORK/ls")" 3 "three shadow copies listed ($1)"
	assert_eq "$(jq -r '[.[].state] | unique | join(",")' "$WORK/ls")" created "states ($1)"
	assert_eq "$(snap_sha "$(snap_dev "$set1" "$RUN-a")" data)" "$a1" "set 1, a ($1)"
	assert_eq "$(snap_sha "$(snap_dev "$set1" "$RUN-b")" data)" "$b1" "set 1, b ($1)"
	assert_eq "$(snap_sha "$(snap_dev "$set2" "$RUN-a")" data)" "$a2" "set 2, a ($1)"
	assert_eq "$(sha_of "$WORK/ma/data")" "$a3" "a's latest data ($1)"
	assert_eq "$(sha_of "$WORK/mb/data")" "$b3" "b's latest data ($1)"
}

vssd_start
vssd_log_has "migrated to format 2" || fail "no word of the migration in the log"
check_all "after the migration"
st="$VSSD_STATE_DIR/state.json"
assert_eq "$(jq -r .version "$st")" 2 "today's vssd writes format 2"
assert_eq "$(jq -r '[.sets[].snapshots[].provider] | unique | join(",")' "$st")" dm-snapshot \
	"each snapshot names its provider"
jq -e '[.sets[].snapshots[] | (has("snap_name") | not) and
	(.provider_data | has("snap_name") and has("cow_path") and has("chunk_sectors"))] | all' \
	"$st" >/dev/null || fail "the dm-snapshot members are not in the provider's object: $(cat "$st")"
vssd_stop

# the "reboot" (as 26-reboot): every device of ours goes, the volumes come back as made
umount "$WORK/ma" "$WORK/mb"
for n in $(dm_with_uuid_prefix VSSD-S-); do dmsetup remove "$n"; done
dmsetup remove "$RUN-a"
dmsetup remove "$RUN-b"
for n in $(dm_with_uuid_prefix VSSD-R-); do dmsetup remove "$n"; done
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "reboot simulation left devices"
[ -z "$(loops_under "$VSSD_STORAGE_DIR")" ] || fail "COW loops still attached"
dmsetup create "$RUN-a" --table "$table_a"
dmsetup create "$RUN-b" --table "$table_b"
mount "$a" "$WORK/ma"
mount "$b" "$WORK/mb"

vssd_start
vssd_log_has "brought back" || fail "recovery did not bring the snapshots back"
check_all "after the reboot"
assert_eq "$(jq -r .version "$st")" 2 "format 2 after the reboot"

vssctl delete shadows --set "$set2" --quiet
vssctl delete shadows --set "$set1" --quiet
assert_eq "$(vssctl --json list shadows | jq -r length)" 0 "every shadow copy deleted"
assert_eq "$(dm_table "$RUN-a")" "$table_a" "a's own table after the deletes"
assert_eq "$(dm_table "$RUN-b")" "$table_b" "b's own table after the deletes"
assert_eq "$(jq -r '.sets | length' "$st")" 0 "no set left in the state"
