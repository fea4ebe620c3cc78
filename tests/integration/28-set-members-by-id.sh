#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 28-set-members-by-id.sh - each shadow copy holds its own volume's data: Snapshot.Delete on a
# shadow copy of a set still being built is refused with BadState and changes nothing, and after
# DoSnapshotSet every shadow copy's device has the contents its Volume had at that instant
# (issue 15, defect 1: a delete during the build gave one volume's object another's device)
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

# three volumes, each filled with its own letter, so that any mix-up shows in the data
for v in a b c; do
	vol_create "$RUN-$v" 8M >/dev/null
	head -c 8M /dev/zero | tr '\0' "$(printf %s "$v" | tr abc ABC)" >"/dev/mapper/$RUN-$v"
	sha_of "/dev/mapper/$RUN-$v" >"$WORK/sha-$v"
done
sync
bus_start
vssd_start

requester start no-writers=true no-auto-release=true -- add "/dev/mapper/$RUN-a" -- ok \
	-- add "/dev/mapper/$RUN-b" -- ok -- add "/dev/mapper/$RUN-c" -- ok \
	-- delsnap 0 -- expect BadState -- delsnap 2 -- expect BadState \
	-- snaps -- do -- ok -- snaps -- release -- ok >"$WORK/out" 2>&1 ||
	{ cat "$WORK/out" >&2; fail "the requester's steps"; }
grep '"step": "delsnap"' "$WORK/out" | grep -q "not created yet" ||
	fail "BadState without its reason: $(grep delsnap "$WORK/out")"
# before DoSnapshotSet: still three shadow copies, preparing, none lost by the refused deletes
before=$(grep '"step": "snaps"' "$WORK/out" | head -n 1)
assert_eq "$(printf %s "$before" | grep -o '"State": "preparing"' | wc -l)" 3 \
	"shadow copies preparing before DoSnapshotSet"

# the origins move on; the shadow copies must not
for v in a b c; do
	head -c 1M /dev/zero | tr '\0' x | dd of="/dev/mapper/$RUN-$v" bs=1M conv=fsync 2>/dev/null
done

after=$(grep '"step": "snaps"' "$WORK/out" | tail -n 1)
python3 - "$after" >"$WORK/pairs" <<'PY'
import json, sys
for s in json.loads(sys.argv[1])["result"]:
    print(s["Volume"], s["Device"], s["State"])
PY
assert_eq "$(wc -l <"$WORK/pairs")" 3 "shadow copies in the set"
while read -r vol dev st; do
	assert_eq "$st" created "state of the shadow copy of $vol"
	[ -b "$dev" ] || fail "$vol: its shadow copy device $dev is not a block device"
	v=${vol##*-}
	assert_eq "$(sha_of "$dev")" "$(cat "$WORK/sha-$v")" "contents of the shadow copy of $vol ($dev)"
	note "$vol -> $dev: the volume's own data"
done <"$WORK/pairs"
# every device in the dm table of the shadow copy is that of its own volume's -real device
while read -r vol dev st; do
	name=${vol#/dev/mapper/}
	real=$(dmsetup info -c --noheadings -o major,minor "$name-vssd-real" | tr -d ' ')
	set -- $(dmsetup table "${dev#/dev/mapper/}")
	assert_eq "$(printf %s "$4" | tr -d ' ')" "$real" "origin of ${dev#/dev/mapper/}"
done <"$WORK/pairs"

requester delete all=true >"$WORK/del" 2>&1 || { cat "$WORK/del" >&2; fail "DeleteSnapshots"; }
grep -q '"result": 3' "$WORK/del" || fail "DeleteSnapshots deleted $(cat "$WORK/del")"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "leaked $(dm_with_uuid_prefix VSSD-)"
[ -z "$(loops_under "$VSSD_STORAGE_DIR")" ] || fail "leaked loop devices"
[ -z "$(ls "$VSSD_STORAGE_DIR")" ] || fail "leaked COW files: $(ls "$VSSD_STORAGE_DIR")"
kill -0 "$VSSD_PID" || fail "vssd died"
