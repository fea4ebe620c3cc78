#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 20-daemon-requester-flow.sh - the VSS requester flow over the real bus and daemon: two volumes,
# old data in the snapshots, BackupComplete and Release, auto-release when the requester dies
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
b=$(vol_create "$RUN-b" 64M)
table_a=$(dm_table "$RUN-a")
vol_mkfs_mount "$a" ext4 "$WORK/ma"
vol_mkfs_mount "$b" ext4 "$WORK/mb"
head -c 1M /dev/urandom >"$WORK/ma/data"
head -c 1M /dev/urandom >"$WORK/mb/data"
old_a=$(sha_of "$WORK/ma/data")
old_b=$(sha_of "$WORK/mb/data")

bus_start
vssd_start

# 1. the whole flow, then the requester keeps its connection open
/usr/bin/python3 "$REQUESTER" start context=backup description=t20 -- ok -- add "$a" -- ok -- add "$b" -- ok \
	-- gather -- ok -- prepare -- ok -- do -- ok -- status -- ok -- props -- hold \
	>"$WORK/req.out" 2>&1 &
req=$!
for _ in $(seq 1 600); do
	grep -q holding "$WORK/req.out" && break
	kill -0 $req 2>/dev/null || break
	sleep 0.1
done
cat "$WORK/req.out" >&2
grep -q holding "$WORK/req.out" || fail "requester flow failed"
grep '"step": "props"' "$WORK/req.out" | grep -q '"State": "created"' || fail "set state"
# one provider, frozen together: the set says its shadow copies share one instant
grep '"step": "props"' "$WORK/req.out" | grep -q '"Instant": "one"' || fail "set Instant"
[ "$(dm_with_uuid_prefix VSSD-S- | wc -l)" -eq 2 ] || fail "want 2 snapshots"
[ -z "$(dm_suspended)" ] || fail "left suspended: $(dm_suspended)"

head -c 1M /dev/urandom >"$WORK/ma/data"
head -c 1M /dev/urandom >"$WORK/mb/data"
sync
for v in a b; do
	snap=$(dm_with_uuid_prefix VSSD-S- | grep -- "-$RUN-$v\$")
	mkdir -p "$WORK/s$v"
	mount -o ro,noload "/dev/mapper/$snap" "$WORK/s$v"
done
assert_eq "$(sha_of "$WORK/sa/data")" "$old_a" "snapshot a holds the old data"
assert_eq "$(sha_of "$WORK/sb/data")" "$old_b" "snapshot b holds the old data"
umount "$WORK/sa" "$WORK/sb"

# 2. the requester dies: auto-release deletes the snapshots, the volumes get their tables back
kill -KILL $req
wait $req 2>/dev/null || true
for _ in $(seq 1 100); do
	[ -z "$(dm_with_uuid_prefix VSSD-)" ] && break
	sleep 0.1
done
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "auto-release left $(dm_with_uuid_prefix VSSD-)"
assert_eq "$(dm_table "$RUN-a")" "$table_a" "a's own table after auto-release"
vssd_log_has "left the bus, releasing" || fail "no release logged"

# 3. BackupComplete and Release with a persistent context keep the snapshots
requester start context=app-rollback -- ok -- add "$a" -- ok -- gather -- prepare -- do -- ok \
	-- complete true -- ok -- props -- release -- ok >"$WORK/req2.out"
cat "$WORK/req2.out" >&2
grep '"step": "props"' "$WORK/req2.out" | grep -q '"State": "completed"' || fail "completed"
[ "$(dm_with_uuid_prefix VSSD-S- | wc -l)" -eq 1 ] || fail "persistent snapshot kept"
set_id=$(grep '"step": "props"' "$WORK/req2.out" | sed 's/.*"Id": "\([^"]*\)".*/\1/')
requester delete set="$set_id" -- ok >"$WORK/req3.out"
grep -q '"result": 1' "$WORK/req3.out" || fail "delete: $(cat "$WORK/req3.out")"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "delete left $(dm_with_uuid_prefix VSSD-)"
