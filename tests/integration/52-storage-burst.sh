#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 52-storage-burst.sh - the storage policy holds whatever the write rate: a volume with a 40 MiB
# maximum and two shadow copies, then one 30 MiB burst with nothing in between (each shadow copy
# needs 30 MiB, far more than growth steps of 8 MiB could follow): the oldest is deleted with
# reason storage-full, the newer stays valid and still shows the volume as it was (issue 15,
# defect 10: on 6.12 both went invalid). Scaled down from 400 MiB and 300 MiB for TCG.
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 96M)
vol_mkfs_mount "$a" ext4 "$WORK/ma"
mkdir -p "$WORK/st"
bus_start
vssd_start
gdbus monitor --address "$DBUS_SYSTEM_BUS_ADDRESS" --dest org.vssd.ShadowCopy1 \
	>"$WORK/signals" 2>&1 &
MON=$!
test_teardown_more() { kill $MON 2>/dev/null; }

vssctl add storage --for "$a" --on "$WORK/st" --maxsize 40M
# 30 MiB the snapshots must keep, and the burst that overwrites it in place, made beforehand
head -c 30M /dev/urandom >"$WORK/ma/data"
head -c 30M /dev/urandom >"$WORK/burst"
sync
before=$(sha_of "$WORK/ma/data")

s1=$(vssctl --json create shadow --volume "$a" | jq -r '.snapshots[0].id')
s2=$(vssctl --json create shadow --volume "$a" | jq -r '.snapshots[0].id')
[ -n "$s1" ] && [ -n "$s2" ] && [ "$s1" != "$s2" ] || fail "two shadow copies: '$s1' '$s2'"

# one burst: every chunk of data is copied into both stores
dd if="$WORK/burst" of="$WORK/ma/data" bs=4M conv=notrunc,fsync status=none ||
	fail "the burst failed"
one_left() { [ "$(vssctl --json list shadows | jq length)" -eq 1 ]; }
wait_for 300 one_left || fail "want one shadow copy left: $(vssctl --json list shadows)"
sleep 1 # signals on their way to the monitor
cat "$WORK/signals" >&2

grep "SnapshotDeleted" "$WORK/signals" | grep "$s1" | grep -q "storage-full" ||
	fail "the oldest ($s1) was not deleted with reason storage-full"
if grep "SnapshotInvalidated" "$WORK/signals"; then fail "a shadow copy went invalid"; fi
vssctl --json list shadows >"$WORK/shadows"
assert_eq "$(jq -r '.[0].id' "$WORK/shadows")" "$s2" "the shadow copy left"
assert_eq "$(jq -r '.[0].state' "$WORK/shadows")" created "state of the newer shadow copy"
# the newer one still holds the data as it was; the origin has the burst
assert_eq "$(snap_sha "$(jq -r '.[0].device' "$WORK/shadows")" data)" "$before" \
	"data in the newer shadow copy"
assert_eq "$(sha_of "$WORK/ma/data")" "$(sha_of "$WORK/burst")" "origin data after the burst"
vssctl --json list storage >"$WORK/ls"
cat "$WORK/ls" >&2
used=$(jq -r '.[0].used_bytes' "$WORK/ls")
[ "$used" -ge $((30 << 20)) ] || fail "used $used: the newer store should hold the burst"
[ "$used" -le $((40 << 20)) ] || fail "used $used: over the 40 MiB maximum"

vssctl delete shadows --all --quiet 2>/dev/null || vssctl delete shadows --set \
	"$(vssctl --json list shadows | jq -r '.[0].set_id')"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "left $(dm_with_uuid_prefix VSSD-)"
