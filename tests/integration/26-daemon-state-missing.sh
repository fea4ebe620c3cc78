#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 26-daemon-state-missing.sh - a state file that is gone (deleted, a state directory on tmpfs)
# while persistent shadow copies exist: vssd must not take them for leftovers of a crash and
# delete them; like a corrupt file, it rebuilds them from their VSSD- devices with their ids and
# data. Non-persistent leftovers still go.
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
vol_mkfs_mount "$a" ext4 "$WORK/ma"
head -c 1M /dev/urandom >"$WORK/ma/data"
sync
old_a=$(sha_of "$WORK/ma/data")
bus_start
vssd_start

p=$(vssctl --json create shadow --volume "$a" --context app-rollback | jq -r .set_id)
n=$(vssctl --json create shadow --volume "$a" --context backup --no-auto-release | jq -r .set_id)
vssctl --json list shadows --set "$p" >"$WORK/before.json"
pid=$(jq -r '.[0].id' "$WORK/before.json")
head -c 1M /dev/urandom >"$WORK/ma/data"
sync

vssd_stop
rm "$VSSD_STATE_DIR/state.json"
: >"$WORK/vssd.log"
vssd_start
note "recovery said: $(grep recovery "$WORK/vssd.log" | tr '\n' ';')"
[ -z "$(dm_with_name_prefix "vssd-${n%%-*}-")" ] || fail "the non-persistent leftover stayed"
[ -b "$(snap_dev "$p" "$RUN-a")" ] ||
	fail "vssd deleted the persistent shadow copy $pid of set $p because its state file was missing"
vssctl --json list shadows >"$WORK/after.json"
assert_eq "$(jq -r '.[] | .set_id + " " + .id + " " + .volume' "$WORK/after.json")" "$p $pid $a" \
	"the persistent shadow copy is listed with its ids"
assert_eq "$(snap_sha "$(snap_dev "$p" "$RUN-a")" data)" "$old_a" "its data"
