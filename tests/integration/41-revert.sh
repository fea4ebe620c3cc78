#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 41-revert.sh - revert a volume to a persistent shadow copy: refused while the volume is mounted
# or open, for a backup context, and during another revert; vssd killed (SIGKILL) in the middle
# of the merge and restarted finishes it; the whole volume then equals the shadow copy, the
# volume's other shadow copy still reads its own old content, and the tables come back
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot
require_target snapshot-merge
require_target delay

# The volume sits on a dm-delay device, so that the merge (which writes into the volume's own
# table, -vssd-real) takes long enough under TCG to kill vssd in the middle of it.
revert_volume_setup

# create_shadow CONTEXT [ARGS]: one shadow copy of a, its id
create_shadow()
{
	local ctx=$1
	shift
	run_rc vssctl --json create shadow --volume "$a" --context "$ctx" --no-writers "$@"
	assert_eq "$RC" 0 "create shadow $ctx ($(cat "$WORK/err"))"
	jq -r '.snapshots[0].id' "$WORK/out"
}
dev_of() { vssctl --json list shadows | jq -r '.[] | select(.id == "'"$1"'") | .device'; }
obj_of() { printf '/org/vssd/ShadowCopy1/snapshot/%s\n' "$(printf %s "$1" | tr -d -)"; }
# revert_state: what a refused call must not change
revert_state()
{
	vssctl --json list shadows | jq -c 'sort_by(.id) | [.[] | [.id, .state]]'
	dm_names_uuids | sort
	dmsetup table | sort
}

# s1: the instant to go back to; then the data changes and s2 is taken; then more changes
s1=$(create_shadow persistent)
head -c 2M /dev/urandom >"$WORK/ma/data"
sync
s2=$(create_shadow app-rollback)
head -c 2M /dev/urandom >"$WORK/ma/data2"
sync
dev1=$(dev_of "$s1")
dev2=$(dev_of "$s2")
want=$(sha_of "$dev1")  # the whole volume as of s1
other=$(sha_of "$dev2") # s2 as it reads now, which the revert must not change
# a backup-context shadow copy that stays (no auto-release)
sb=$(create_shadow backup --no-auto-release)

# 1. refusals, nothing changed
before=$(revert_state)
run_rc vssctl revert "$s1" --quiet
assert_eq "$RC" 1 "revert while mounted: exit status"
grep -q "VSS_E_VOLUME_IN_USE.*mounted" "$WORK/err" || fail "revert while mounted: $(cat "$WORK/err")"
umount "$WORK/ma"
scatter 300
exec 3<"$a"
run_rc vssctl revert "$s1" --quiet
exec 3<&-
grep -q "VSS_E_VOLUME_IN_USE.*open" "$WORK/err" || fail "revert while open: $(cat "$WORK/err")"
run_rc vssctl revert "$sb" --quiet
assert_eq "$RC" 1 "revert of a backup context: exit status"
grep -q "VSS_E_UNSUPPORTED_CONTEXT" "$WORK/err" || fail "backup context: $(cat "$WORK/err")"
assert_eq "$(bus_raw "$(obj_of "$s1")" org.vssd.ShadowCopy1.Snapshot Revert a{sv} \
	'[{"force-dismount": true}]' | jq -r .error)" \
	org.vssd.ShadowCopy1.Error.InvalidArgument "Revert with an unknown option"
run_rc vssctl revert 6f1c2d3e-0000-4000-8000-000000000001 --quiet
grep -q "VSS_E_OBJECT_NOT_FOUND" "$WORK/err" || fail "unknown id: $(cat "$WORK/err")"
assert_eq "$(revert_state)" "$before" "a refused revert changed something"
vssctl delete shadows --shadow "$sb" --quiet >/dev/null

# 2. the revert starts; the merge runs slowly (every write to the volume's own table waits)
merge_speed 40
run_rc vssctl revert "$s1" --quiet
assert_eq "$RC" 0 "revert ($(cat "$WORK/err"))"
case $(dm_table "$RUN-a") in
*" snapshot-merge "*) ;;
*) fail "no snapshot-merge table: $(dm_table "$RUN-a")" ;;
esac
[ ! -e "$dev1" ] || fail "the merging shadow copy's device is still there"
run_rc vssctl --json query reverts
assert_eq "$(jq -r '.[0].id + " " + .[0].state + " " + .[0].volume' "$WORK/out")" \
	"$s1 merging $a" "query reverts"
p=$(jq -r '.[0].revert_progress' "$WORK/out")
note "progress right after the start: $p"
# another revert of the volume meanwhile: VolumeInUse (VSS_E_REVERT_IN_PROGRESS)
run_rc vssctl revert "$s2" --quiet
grep -q "VSS_E_REVERT_IN_PROGRESS" "$WORK/err" || fail "second revert: $(cat "$WORK/err")"

# 3. vssd killed in the middle: dm merges on; the new vssd watches and finishes
vssd_kill
case $(dm_table "$RUN-a") in
*" snapshot-merge "*) ;;
*) fail "the merge was over before the kill: make it slower" ;;
esac
left=$(dmsetup status "$RUN-a" | awk '{ print $4 }')
note "killed vssd with $left COW sectors in use"
vssd_start
vssctl query reverts >"$WORK/q"
grep -q "Revert of volume: $a" "$WORK/q" || fail "query reverts after the restart: $(cat "$WORK/q")"
grep -q "Progress: [0-9]*%" "$WORK/q" || fail "no progress: $(cat "$WORK/q")"
# the progress moves (PropertiesChanged on the way) and the merge ends by itself
p0=$(vssctl --json query reverts | jq -r '.[0].revert_progress // 1')
reverts_end || fail "the merge did not end: $(vssctl query reverts)"
note "progress after the restart went on from $p0 to the end"
vssd_log_has "a revert is under way, watching it again" || fail "no recovery log line"
vssd_log_has "revert finished" || fail "no end log line"

# 4. the volume is the shadow copy, the other shadow copy is untouched, the tables are right
assert_eq "$(sha_of "$a")" "$want" "the reverted volume"
assert_eq "$(sha_of "$dev2")" "$other" "the other shadow copy's content"
case $(dm_table "$RUN-a") in
*" snapshot-origin "*) ;;
*) fail "with s2 left, a's table: $(dm_table "$RUN-a")" ;;
esac
assert_eq "$(vssctl --json list shadows | jq -r '[.[] | .id + " " + .state] | join(",")')" \
	"$s2 created" "the shadow copies left"
[ -z "$(dm_suspended)" ] || fail "left suspended: $(dm_suspended)"
vssctl delete shadows --shadow "$s2" --quiet >/dev/null
assert_eq "$(dm_table "$RUN-a")" "$table_a" "a's own table"
no_vssd_devices || fail "left $(dm_with_uuid_prefix VSSD-)"
[ -z "$(ls "$VSSD_STORAGE_DIR" | grep '\.cow$')" ] || fail "COW files left: $(ls "$VSSD_STORAGE_DIR")"
[ -z "$(loops_under "$VSSD_STORAGE_DIR")" ] || fail "COW loops left"
# and the file system of the instant mounts (its journal replays) with the data of then
mount "$a" "$WORK/ma"
assert_eq "$(sha_of "$WORK/ma/data")" "$data1" "the file of the instant"
[ ! -e "$WORK/ma/data2" ] || fail "a file written after the instant survived the revert"
umount "$WORK/ma"
kill -0 "$VSSD_PID" || fail "vssd died"
