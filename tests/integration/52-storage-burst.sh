#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 52-storage-burst.sh - the storage policy holds whatever the write rate: a volume with a 40 MiB
# maximum and two shadow copies, then one 30 MiB burst with nothing in between (each shadow copy
# needs 30 MiB, far more than growth steps of 8 MiB could follow): the oldest is deleted with
# reason storage-full, the newer stays valid and still shows the volume as it was (issue 15,
# defect 10: on 6.12 both went invalid). Scaled down from 400 MiB and 300 MiB for TCG; the
# report's own sizes: TEST_BURST_MAX_MB=400 TEST_BURST_MB=300 (and VSSD_VM_MEM=4096).
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

max=${TEST_BURST_MAX_MB:-40}
burst=${TEST_BURST_MB:-30}
a=$(vol_create "$RUN-a" $((burst * 2 + 36))M)
vol_mkfs_mount "$a" ext4 "$WORK/ma"
mkdir -p "$WORK/st"
bus_start
vssd_start
gdbus monitor --address "$DBUS_SYSTEM_BUS_ADDRESS" --dest org.vssd.ShadowCopy1 \
	>"$WORK/signals" 2>&1 &
MON=$!
test_teardown_more() { kill $MON 2>/dev/null; }

vssctl add storage --for "$a" --on "$WORK/st" --maxsize "${max}M"
# the data the snapshots must keep, and the burst that overwrites it in place, made beforehand
head -c "${burst}M" /dev/urandom >"$WORK/ma/data"
head -c "${burst}M" /dev/urandom >"$WORK/burst"
sync
before=$(sha_of "$WORK/ma/data")

s1=$(vssctl --json create shadow --volume "$a" | jq -r '.snapshots[0].id')
s2=$(vssctl --json create shadow --volume "$a" | jq -r '.snapshots[0].id')
[ -n "$s1" ] && [ -n "$s2" ] && [ "$s1" != "$s2" ] || fail "two shadow copies: '$s1' '$s2'"
# each store is sparse at the maximum from the start: nothing to grow while the burst comes
for f in "$WORK"/st/*; do
	assert_eq "$(stat -c %s "$f")" $((max << 20)) "size of the COW file $f"
	[ "$(stat -c %b "$f")" -lt $((max << 11)) ] || fail "$f is not sparse"
done

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
[ "$used" -ge $((burst << 20)) ] || fail "used $used: the newer store should hold the burst"
[ "$used" -le $((max << 20)) ] || fail "used $used: over the $max MiB maximum"
assert_eq "$(jq -r '.[0].storage_size' "$WORK/shadows")" $((max << 20)) "StorageSize"

vssctl delete shadows --set "$(jq -r '.[0].set_id' "$WORK/shadows")" --quiet
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "left $(dm_with_uuid_prefix VSSD-)"
