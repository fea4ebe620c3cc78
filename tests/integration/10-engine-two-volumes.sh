#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 10-engine-two-volumes.sh - the dm engine on the real kernel: one instant over two ext4 volumes,
# old bytes in the snapshots, new bytes in the origins, and delete restores the volumes' tables
. "${0%/*}/lib.sh"
require_target snapshot
TOOL=${VSSD_BUILD:-$PWD/build}/vssd-dmsnap-tool

a=$(vol_create "$RUN-a" 64M)
b=$(vol_create "$RUN-b" 64M)
table_a=$(dm_table "$RUN-a")
table_b=$(dm_table "$RUN-b")
vol_mkfs_mount "$a" ext4 "$WORK/ma"
vol_mkfs_mount "$b" ext4 "$WORK/mb"
mkdir -p "$WORK/storage"

head -c 3M /dev/urandom >"$WORK/ma/data"
head -c 2M /dev/urandom >"$WORK/mb/data"
echo old >"$WORK/ma/word"
echo old >"$WORK/mb/word"
old_a=$(sha_of "$WORK/ma/data")
old_b=$(sha_of "$WORK/mb/data")

"$TOOL" create --storage "$WORK/storage" --cow-size 32M --persistent "$a" "$b" >"$WORK/out"
cat "$WORK/out" >&2
snap_a=$(awk -v v="$a" '$1 == v { print $2 }' "$WORK/out")
snap_b=$(awk -v v="$b" '$1 == v { print $2 }' "$WORK/out")
[ -b "$snap_a" ] && [ -b "$snap_b" ] || fail "snapshot devices missing: '$snap_a' '$snap_b'"
[ -z "$(dm_suspended)" ] || fail "left suspended: $(dm_suspended)"

# dm tables: origins go through snapshot-origin over -real, which has the old table
case $(dm_table "$RUN-a") in "0 131072 snapshot-origin "*) ;; *) fail "origin a: $(dm_table "$RUN-a")" ;; esac
assert_eq "$(dm_table "$RUN-a-vssd-real")" "$table_a" "-real of a keeps a's table"
assert_eq "$(dm_table "$RUN-b-vssd-real")" "$table_b" "-real of b keeps b's table"
case $(dm_table "${snap_a#/dev/mapper/}") in *" P 32") ;; *) fail "snapshot a table: $(dm_table "${snap_a#/dev/mapper/}")" ;; esac
[ "$(dm_with_uuid_prefix VSSD-S- | wc -l)" -eq 2 ] || fail "want 2 VSSD-S- devices"
[ "$(dm_with_uuid_prefix VSSD-R- | wc -l)" -eq 2 ] || fail "want 2 VSSD-R- devices"
[ "$(loops_under "$WORK/storage" | wc -l)" -eq 2 ] || fail "want 2 COW loop devices"

# Overwrite both origins after the instant
head -c 3M /dev/urandom >"$WORK/ma/data"
head -c 2M /dev/urandom >"$WORK/mb/data"
echo new >"$WORK/ma/word"
echo new >"$WORK/mb/word"
sync
new_a=$(sha_of "$WORK/ma/data")
new_b=$(sha_of "$WORK/mb/data")
[ "$new_a" != "$old_a" ] || fail "random data repeated"

mkdir -p "$WORK/sa" "$WORK/sb"
mount -o ro,noload "$snap_a" "$WORK/sa"
mount -o ro,noload "$snap_b" "$WORK/sb"
assert_eq "$(sha_of "$WORK/sa/data")" "$old_a" "snapshot a holds the old data"
assert_eq "$(sha_of "$WORK/sb/data")" "$old_b" "snapshot b holds the old data"
assert_eq "$(cat "$WORK/sa/word")" old "snapshot a word"
assert_eq "$(cat "$WORK/sb/word")" old "snapshot b word"
assert_eq "$(sha_of "$WORK/ma/data")" "$new_a" "origin a holds the new data"
used=$(dmsetup status "${snap_a#/dev/mapper/}" | awk '{ split($4, u, "/"); print u[1] }')
[ "$used" -gt 6000 ] || fail "COW of a barely used ($used sectors) after a 3 MiB overwrite"
umount "$WORK/sa" "$WORK/sb"

# A snapshot in use cannot be deleted: a clear error, nothing changed
exec 3<"$snap_a"
if "$TOOL" delete "${snap_a#/dev/mapper/}" 2>"$WORK/err"; then fail "deleted an open snapshot"; fi
grep -q "VSS_E_VOLUME_IN_USE" "$WORK/err" || fail "want VolumeInUse: $(cat "$WORK/err")"
exec 3<&-
[ -b "$snap_a" ] || fail "the snapshot went away after a refused delete"

# Delete: the last snapshot of each volume gives it back its own table
"$TOOL" delete "${snap_a#/dev/mapper/}" "${snap_b#/dev/mapper/}"
assert_eq "$(dm_table "$RUN-a")" "$table_a" "a is back on its own table"
assert_eq "$(dm_table "$RUN-b")" "$table_b" "b is back on its own table"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "leaked: $(dm_with_uuid_prefix VSSD-)"
[ -z "$(loops_under "$WORK/storage")" ] || fail "leaked loops: $(loops_under "$WORK/storage")"
[ -z "$(ls -A "$WORK/storage")" ] || fail "leaked COW files: $(ls -A "$WORK/storage")"
assert_eq "$(sha_of "$WORK/ma/data")" "$new_a" "origin a data after delete"
assert_eq "$(sha_of "$WORK/mb/data")" "$new_b" "origin b data after delete"
echo after >"$WORK/ma/word" && sync
[ -z "$(dm_suspended)" ] || fail "left suspended: $(dm_suspended)"
