#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 22-vssctl-flow.sh - the whole flow through the real vssctl: a persistent set over two ext4
# volumes outlives vssctl, is listed with the documented JSON keys, holds the old data, is deleted
# without a trace; backup contexts are released with vssctl unless --no-auto-release; --oldest
# picks the older set; exit codes 0, 1 (with the VSS code) and 2 (usage)
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
b=$(vol_create "$RUN-b" 64M)
table_a=$(dm_table "$RUN-a")
table_b=$(dm_table "$RUN-b")
vol_mkfs_mount "$a" ext4 "$WORK/ma"
vol_mkfs_mount "$b" ext4 "$WORK/mb"
head -c 1M /dev/urandom >"$WORK/ma/data"
head -c 1M /dev/urandom >"$WORK/mb/data"
sync
old_a=$(sha_of "$WORK/ma/data")
old_b=$(sha_of "$WORK/mb/data")
bus_start
vssd_start

uuid_re='^[0-9a-f]\{8\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{12\}$'

# nothing_left WHAT: no VSSD- device, the volumes on their own tables, nothing staged or suspended
nothing_left()
{
	no_vssd_devices || fail "$1: left $(dm_with_uuid_prefix VSSD-)"
	[ -z "$(dm_with_name_prefix "$RUN-a-vssd-real")$(dm_with_name_prefix "$RUN-b-vssd-real")" ] ||
		fail "$1: left a -vssd-real device"
	assert_eq "$(dm_table "$RUN-a")" "$table_a" "$1: a's own table"
	assert_eq "$(dm_table "$RUN-b")" "$table_b" "$1: b's own table"
	assert_eq "$(dm_tables "$RUN-a")" "LIVE" "$1: a's tables"
	assert_eq "$(dm_tables "$RUN-b")" "LIVE" "$1: b's tables"
	[ -z "$(dm_suspended)" ] || fail "$1: left suspended: $(dm_suspended)"
}

# 1. create shadow: the default context is client-accessible-writers (VSS 0x0D, as vssadmin),
#    the set outlives vssctl
run_rc vssctl --json create shadow --volume "$a" --volume "$b"
assert_eq "$RC" 0 "create shadow exit status ($(cat "$WORK/err"))"
cp "$WORK/out" "$WORK/create.json"
sid=$(jq -r .set_id "$WORK/create.json")
printf '%s\n' "$sid" | grep -q "$uuid_re" || fail "set_id is no UUID: $(cat "$WORK/create.json")"
assert_eq "$(jq -c '[.snapshots[] | .volume]' "$WORK/create.json")" "[\"$a\",\"$b\"]" \
	"create shadow: the volumes"
assert_eq "$(jq -r '.snapshots[] | select(.volume == "'"$a"'") | .device' "$WORK/create.json")" \
	"$(snap_dev "$sid" "$RUN-a")" "create shadow: a's device"
note "set $sid created; vssctl has exited"

run_rc vssctl --json list shadows
assert_eq "$RC" 0 "list shadows exit status"
cp "$WORK/out" "$WORK/list.json"
assert_eq "$(jq length "$WORK/list.json")" 2 "list shadows: entries"
assert_eq "$(jq -c '[.[] | keys] | unique' "$WORK/list.json")" \
	'[["attributes","context","creation_time","device","exposed_path","id","original_device","provider","schedule","set_id","state","storage_size","storage_used","volume"]]' \
	"list shadows: the documented keys, each entry"
assert_eq "$(jq -c '[.[] | .schedule] | unique' "$WORK/list.json")" '[null]' \
	"list shadows: no schedule made this set"
assert_eq "$(jq -r '[.[] | .set_id] | unique | .[]' "$WORK/list.json")" "$sid" "list shadows: set_id"
assert_eq "$(jq -r '[.[] | .volume] | sort | join(" ")' "$WORK/list.json")" "$a $b" \
	"list shadows: volumes"
assert_eq "$(jq -r '[.[] | .context, .provider, .state] | unique | join(" ")' "$WORK/list.json")" \
	"client-accessible-writers created dm-snapshot" "list shadows: context, provider, state"
for v in a b; do
	e=$(jq -c '.[] | select(.volume == "/dev/mapper/'"$RUN-$v"'")' "$WORK/list.json")
	dev=$(printf '%s' "$e" | jq -r .device)
	assert_eq "$dev" "$(snap_dev "$sid" "$RUN-$v")" "list shadows: $v's device"
	[ -b "$dev" ] || fail "$dev is not a block device"
	assert_eq "$(printf '%s' "$e" | jq -r .original_device)" "/dev/dm-$(dm_minor "$RUN-$v")" \
		"list shadows: $v's original device"
	assert_eq "$(printf '%s' "$e" | jq -r .id)" \
		"$(jq -r '.snapshots[] | select(.volume == "/dev/mapper/'"$RUN-$v"'") | .id' "$WORK/create.json")" \
		"list shadows: $v's id is the one create printed"
	dm_with_uuid_prefix VSSD- | grep -qx "${dev#/dev/mapper/}" || fail "$dev has no VSSD- uuid"
done
[ "$(jq '[.[] | .creation_time] | map(. > 1600000000000000) | all' "$WORK/list.json")" = true ] ||
	fail "creation_time is not in µs since the epoch: $(jq -c '[.[] | .creation_time]' "$WORK/list.json")"
vssctl list shadows >"$WORK/list.txt"
grep -q "Contents of shadow copy set ID: {*$sid}*" "$WORK/list.txt" || fail "text list: no set id"
grep -q "Shadow Copy Volume: $(snap_dev "$sid" "$RUN-b")" "$WORK/list.txt" ||
	fail "text list: no device of b"

# 2. the snapshots hold the old data after the origins are overwritten
head -c 1M /dev/urandom >"$WORK/ma/data"
head -c 1M /dev/urandom >"$WORK/mb/data"
sync
[ "$(sha_of "$WORK/ma/data")" != "$old_a" ] || fail "the origin a was not overwritten"
assert_eq "$(snap_sha "$(snap_dev "$sid" "$RUN-a")" data)" "$old_a" "snapshot a holds the old data"
assert_eq "$(snap_sha "$(snap_dev "$sid" "$RUN-b")" data)" "$old_b" "snapshot b holds the old data"

# 3. list volumes and list providers
vssctl --json list volumes >"$WORK/vols.json"
for v in a b; do
	e=$(jq -c '.[] | select(.volume == "/dev/mapper/'"$RUN-$v"'")' "$WORK/vols.json")
	[ -n "$e" ] || fail "list volumes lacks $RUN-$v: $(cat "$WORK/vols.json")"
	assert_eq "$(printf '%s' "$e" | jq -c '[.supported, .provider, .snapshot_count, .mountpoint]')" \
		"[true,\"dm-snapshot\",1,\"$WORK/m$v\"]" "list volumes: $v"
done
jq -e '.[] | select(.volume == "'"$(snap_dev "$sid" "$RUN-a")"'" or .device == "/dev/dm-'"$(dm_minor "vssd-${sid%%-*}-$RUN-a")"'") | select(.supported == false)' \
	"$WORK/vols.json" >/dev/null || fail "list volumes: the snapshot device is not refused"
vssctl list volumes >"$WORK/vols.txt"
awk -v v="Volume path: $a" '$0 ~ /^Volume path:/ { on = ($0 == v) } on' "$WORK/vols.txt" >"$WORK/vol-a.txt"
grep -q "Supported: yes, by dm-snapshot" "$WORK/vol-a.txt" || fail "text list volumes: $(cat "$WORK/vol-a.txt")"
grep -q "Shadow copies: 1" "$WORK/vol-a.txt" || fail "text list volumes count: $(cat "$WORK/vol-a.txt")"
run_rc vssctl --json list providers
assert_eq "$RC" 0 "list providers exit status"
assert_eq "$(jq -c '[.[] | .name]' "$WORK/out")" '["lvm-thin","lvm","dm-snapshot"]' \
	"list providers: names, in the order an empty provider string tries them"
assert_eq "$(jq -r '[.[] | .id] | unique | length' "$WORK/out")" 3 "list providers: distinct ids"
assert_eq "$(jq -c '.[0] | keys' "$WORK/out")" '["id","name","type","version"]' "list providers: keys"
jq -r '.[0].id' "$WORK/out" | grep -q "$uuid_re" || fail "provider id: $(cat "$WORK/out")"
vssctl list providers | grep -q "Provider name: 'dm-snapshot'" || fail "text list providers"

# 4. delete shadows --set: nothing left, the volumes back on their own tables
run_rc vssctl --json delete shadows --set "$sid" --quiet
assert_eq "$RC" 0 "delete shadows exit status ($(cat "$WORK/err"))"
assert_eq "$(jq -c . "$WORK/out")" '{"deleted":2}' "delete shadows --json"
nothing_left "delete --set"
assert_eq "$(vssctl --json list shadows | jq length)" 0 "list after delete"
echo still-writable >"$WORK/ma/after" && sync

# 5. the backup context goes with vssctl; --no-auto-release keeps it
run_rc vssctl --json create shadow --volume "$a" --context backup
assert_eq "$RC" 0 "create --context backup ($(cat "$WORK/err"))"
grep -q "no-auto-release" "$WORK/err" || fail "no warning about auto-release: $(cat "$WORK/err")"
wait_for 50 no_vssd_devices || fail "backup context: left after vssctl exited: $(dm_with_uuid_prefix VSSD-)"
assert_eq "$(vssctl --json list shadows | jq length)" 0 "backup context: listed after vssctl exited"
nothing_left "backup context"
run_rc vssctl --json create shadow --volume "$a" --volume "$b" --context backup --no-auto-release
assert_eq "$RC" 0 "create --context backup --no-auto-release ($(cat "$WORK/err"))"
[ ! -s "$WORK/err" ] || fail "a warning with --no-auto-release: $(cat "$WORK/err")"
nid=$(jq -r .set_id "$WORK/out")
sleep 0.5 # the release would happen now
vssctl --json list shadows >"$WORK/list.json"
assert_eq "$(jq -r '[.[] | .set_id + " " + .context] | unique | .[]' "$WORK/list.json")" \
	"$nid backup" "--no-auto-release: still listed"
[ -b "$(snap_dev "$nid" "$RUN-a")" ] || fail "--no-auto-release: device of a gone"
[ -b "$(snap_dev "$nid" "$RUN-b")" ] || fail "--no-auto-release: device of b gone"
vssctl delete shadows --set "$nid" --quiet >/dev/null
nothing_left "delete of the no-auto-release set"

# 6. delete --volume V --oldest across sets: the older one goes, each time
s1=$(vssctl --json create shadow --volume "$a" | jq -r .set_id)
s2=$(vssctl --json create shadow --volume "$a" --volume "$b" | jq -r .set_id)
run_rc vssctl --json delete shadows --volume "$a" --oldest --quiet
assert_eq "$RC:$(jq -c . "$WORK/out")" '0:{"deleted":1}' "delete --oldest (1)"
vssctl --json list shadows >"$WORK/list.json"
assert_eq "$(jq -r '[.[] | .set_id + ":" + .volume] | sort | join(" ")' "$WORK/list.json")" \
	"$s2:$a $s2:$b" "after delete --oldest (1): set 1 gone, set 2 whole"
[ ! -e "$(snap_dev "$s1" "$RUN-a")" ] || fail "set 1's device is still there"
s3=$(vssctl --json create shadow --volume "$a" | jq -r .set_id)
vssctl delete shadows --volume "$a" --oldest --quiet >"$WORK/out"
grep -q "Deleted 1 shadow copy" "$WORK/out" || fail "text delete: $(cat "$WORK/out")"
vssctl --json list shadows >"$WORK/list.json"
assert_eq "$(jq -r '[.[] | .set_id + ":" + .volume] | sort | join(" ")' "$WORK/list.json")" \
	"$(printf '%s\n' "$s2:$b" "$s3:$a" | sort | tr '\n' ' ' | sed 's/ $//')" \
	"after delete --oldest (2): set 2's copy of a went, set 3's stayed"
[ -b "$(snap_dev "$s3" "$RUN-a")" ] || fail "delete --oldest (2): set 3's device went"
[ ! -e "$(snap_dev "$s2" "$RUN-a")" ] || fail "delete --oldest (2): set 2's device of a stayed"
vssctl delete shadows --volume "$b" --all --quiet >/dev/null
vssctl delete shadows --set "$s3" --quiet >/dev/null
nothing_left "delete --oldest"

# 7. exit codes: 2 for usage errors, with a message; 1 for vssd's refusals, with the VSS code
for args in "create shadow" "frobnicate" "delete shadows --set not-a-uuid" \
	"create shadow --volume relative/path" "create shadow --volume $a --context nonsense" \
	"delete shadows --volume $a" "list shadows --bogus" "create shadow --volume $a --volume $a"; do
	# shellcheck disable=SC2086 # words
	run_rc vssctl $args
	assert_eq "$RC" 2 "vssctl $args: exit status ($(cat "$WORK/err"))"
	head -n 1 "$WORK/err" | grep -q '^vssctl: ..' || fail "vssctl $args: no message: $(cat "$WORK/err")"
done
run_rc vssctl create shadow --volume "/dev/mapper/$RUN-missing"
assert_eq "$RC" 1 "a missing volume: exit status"
grep -q "^vssctl: VSS_E_OBJECT_NOT_FOUND (0x80042308): " "$WORK/err" ||
	fail "a missing volume: $(cat "$WORK/err")"
run_rc vssctl create shadow --volume /etc/passwd
assert_eq "$RC" 1 "not a block device: exit status"
grep -q "^vssctl: VSS_E_VOLUME_NOT_SUPPORTED (0x8004230C): " "$WORK/err" ||
	fail "not a block device: $(cat "$WORK/err")"
run_rc vssctl delete shadows --set 6f1c2d3e-0000-4000-8000-00000000dead --quiet
assert_eq "$RC" 1 "an unknown set: exit status"
grep -q "^vssctl: VSS_E_OBJECT_NOT_FOUND (0x80042308): " "$WORK/err" ||
	fail "an unknown set: $(cat "$WORK/err")"
# the same volume by another path: vssctl cannot know, vssd refuses
run_rc vssctl create shadow --volume "$a" --volume "/dev/dm-$(dm_minor "$RUN-a")"
assert_eq "$RC" 1 "a volume twice: exit status"
grep -q "^vssctl: VSS_E_OBJECT_ALREADY_EXISTS (0x8004230D): " "$WORK/err" ||
	fail "a volume twice: $(cat "$WORK/err")"
nothing_left "refused creations"
assert_eq "$(vssd_prop Manager SetInProgress | jq -r .data)" "/" "no set left in creation"
run_rc vssctl list shadows
assert_eq "$RC:$(cat "$WORK/out")" "0:No items found that satisfy the query." "empty list"
vssd_stop
run_rc vssctl list shadows
assert_eq "$RC" 1 "vssd not running: exit status"
[ -s "$WORK/err" ] || fail "vssd not running: no message"
