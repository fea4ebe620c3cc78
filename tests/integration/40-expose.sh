#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 40-expose.sh - ext4 and xfs shadow copies exposed read-only while their origins stay mounted
# and written: the files of the instant; unexpose; a persistent exposure outlives vssd (SIGKILL)
# and comes back when its mount was lost; delete unmounts first, or refuses while busy; backup
# --mount passes readable mounts; bad input gets its named error and changes nothing
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
x=$(vol_create "$RUN-x" 320M) # mkfs.xfs (xfsprogs 6.1) wants 300 MB; the file is sparse
table_a=$(dm_table "$RUN-a")
table_x=$(dm_table "$RUN-x")
vol_mkfs_mount "$a" ext4 "$WORK/ma"
vol_mkfs_mount "$x" xfs "$WORK/mx"
for m in ma mx; do
	head -c 3M /dev/urandom >"$WORK/$m/data"
	mkdir "$WORK/$m/dir"
	echo "instant" >"$WORK/$m/dir/note"
done
sync
old_a=$(sha_of "$WORK/ma/data")
old_x=$(sha_of "$WORK/mx/data")
bus_start
vssd_start

# mounted_src PATH: the device mounted on PATH ("" when none); mounted_opts PATH: its options
mounted_src() { awk -v p="$1" '$2 == p { s = $1 } END { print s }' /proc/self/mounts; }
mounted_opts() { awk -v p="$1" '$2 == p { s = $4 } END { print s }' /proc/self/mounts; }
# prop ID NAME: a property of the shadow copy ID, as busctl prints its value
prop()
{
	vssd_prop Snapshot "$2" "/org/vssd/ShadowCopy1/snapshot/$(printf %s "$1" | tr -d -)" |
		jq -r .data
}
# snaps_state: what must not change when a call is refused
snaps_state()
{
	vssctl --json list shadows | jq -c 'sort_by(.id) | [.[] | [.id, .state, .exposed_path]]'
	awk -v w="$WORK/" 'index($2, w) == 1 { print $1, $2 }' /proc/self/mounts | sort
	dm_names_uuids | sort
}

run_rc vssctl --json create shadow --volume "$a" --volume "$x" --context persistent --no-writers
assert_eq "$RC" 0 "create shadow ($(cat "$WORK/err"))"
cp "$WORK/out" "$WORK/create.json"
id_a=$(jq -r '.snapshots[] | select(.volume == "'"$a"'") | .id' "$WORK/create.json")
id_x=$(jq -r '.snapshots[] | select(.volume == "'"$x"'") | .id' "$WORK/create.json")
dev_a=$(jq -r '.snapshots[] | select(.volume == "'"$a"'") | .device' "$WORK/create.json")
dev_x=$(jq -r '.snapshots[] | select(.volume == "'"$x"'") | .device' "$WORK/create.json")
# the origins go on: new data, a file gone
for m in ma mx; do
	head -c 3M /dev/urandom >"$WORK/$m/data"
	rm "$WORK/$m/dir/note"
done
sync

# 1. expose both beside their mounted origins
mkdir "$WORK/ea" "$WORK/ex"
run_rc vssctl expose "$id_a" "$WORK/ea"
assert_eq "$RC" 0 "expose ext4 ($(cat "$WORK/err"))"
assert_eq "$(cat "$WORK/out")" "$WORK/ea" "expose prints the mount point"
run_rc vssctl --json expose "$id_x" "$WORK/ex"
assert_eq "$RC" 0 "expose xfs ($(cat "$WORK/err"))"
assert_eq "$(jq -r .exposed_path "$WORK/out")/$(jq -r .device "$WORK/out")" "$WORK/ex/$dev_x" \
	"expose --json"
assert_eq "$(mounted_src "$WORK/ea")" "$dev_a" "ext4 shadow copy mounted"
assert_eq "$(mounted_src "$WORK/ex")" "$dev_x" "xfs shadow copy mounted"
case ,$(mounted_opts "$WORK/ea"), in *,ro,*nosuid,*nodev,*) ;; *) fail "ext4 options: $(mounted_opts "$WORK/ea")" ;; esac
case ,$(mounted_opts "$WORK/ex"), in *,ro,*norecovery,*) ;; *) fail "xfs options: $(mounted_opts "$WORK/ex")" ;; esac
assert_eq "$(sha_of "$WORK/ea/data")" "$old_a" "ext4: the data of the instant"
assert_eq "$(sha_of "$WORK/ex/data")" "$old_x" "xfs: the data of the instant"
assert_eq "$(cat "$WORK/ea/dir/note")/$(cat "$WORK/ex/dir/note")" "instant/instant" "removed files"
! touch "$WORK/ea/new" 2>/dev/null || fail "the ext4 exposure is writable"
assert_eq "$(prop "$id_a" ExposedPath)" "$WORK/ea" "ExposedPath"
assert_eq "$(($(prop "$id_a" Attributes) & 0x100000))" $((0x100000)) "EXPOSED_LOCALLY attribute"
assert_eq "$(vssctl --json list shadows | jq -r '.[] | select(.id == "'"$id_x"'") | .exposed_path')" \
	"$WORK/ex" "list shadows: exposed_path"
# the origins stay mounted and writable
[ "$(mounted_src "$WORK/ma")" = "$a" ] || fail "origin a not mounted any more"
echo more >"$WORK/ma/more" && echo more >"$WORK/mx/more" && sync

# 2. unexpose
run_rc vssctl unexpose "$id_x"
assert_eq "$RC" 0 "unexpose ($(cat "$WORK/err"))"
assert_eq "$(mounted_src "$WORK/ex")" "" "unexposed: not mounted"
assert_eq "$(prop "$id_x" ExposedPath)" "" "unexposed: ExposedPath"
run_rc vssctl expose "$id_x" --device-only
assert_eq "$RC/$(cat "$WORK/out")" "0/$dev_x" "expose --device-only prints the device"
assert_eq "$(prop "$id_x" ExposedPath)" "" "device only: ExposedPath stays empty"

# 3. bad input: a named error each, nothing changed
before=$(snaps_state)
run_rc vssctl expose "$id_x" relative/dir # vssctl refuses it itself; vssd too, below
assert_eq "$RC" 2 "relative path: exit status"
grep -q "not an absolute path" "$WORK/err" || fail "relative path: $(cat "$WORK/err")"
mkdir "$WORK/full" && echo x >"$WORK/full/file"
run_rc vssctl expose "$id_x" "$WORK/full"
assert_eq "$RC" 1 "non-empty directory: exit status"
grep -q "E_INVALIDARG.*not empty" "$WORK/err" || fail "non-empty directory: $(cat "$WORK/err")"
run_rc vssctl expose "$id_x" "$WORK/nonexistent"
grep -q "VSS_E_OBJECT_NOT_FOUND" "$WORK/err" || fail "missing directory: $(cat "$WORK/err")"
run_rc vssctl expose "$id_x" "$WORK/ea"
grep -q "E_INVALIDARG.*mount point" "$WORK/err" || fail "a mount point: $(cat "$WORK/err")"
run_rc vssctl expose "$id_a" "$WORK/ex"
grep -q "VSS_E_BAD_STATE.*already" "$WORK/err" || fail "exposed already: $(cat "$WORK/err")"
mkdir "$WORK/ma/sub"
run_rc vssctl expose "$id_x" "$WORK/ma/sub"
grep -q "E_INVALIDARG.*a volume of the shadow copy's set" "$WORK/err" ||
	fail "on a volume of the set: $(cat "$WORK/err")"
run_rc vssctl expose 6f1c2d3e-0000-4000-8000-000000000001 "$WORK/ex"
assert_eq "$RC" 1 "unknown shadow copy: exit status"
grep -q "VSS_E_OBJECT_NOT_FOUND" "$WORK/err" || fail "unknown shadow copy: $(cat "$WORK/err")"
run_rc vssctl unexpose "$id_x"
assert_eq "$RC" 1 "unexpose, not exposed: exit status"
grep -q "VSS_E_BAD_STATE.*not exposed" "$WORK/err" || fail "unexpose, not exposed: $(cat "$WORK/err")"
snap_x=/org/vssd/ShadowCopy1/snapshot/$(printf %s "$id_x" | tr -d -)
assert_eq "$(bus_raw "$snap_x" org.vssd.ShadowCopy1.Snapshot Expose sa{sv} \
	"[\"$WORK/ex\", {\"bogus\": true}]" | jq -r .error)" \
	org.vssd.ShadowCopy1.Error.InvalidArgument "Expose with an unknown option"
assert_eq "$(bus_raw "$snap_x" org.vssd.ShadowCopy1.Snapshot Expose sa{sv} '["rel", {}]' |
	jq -r .error)" org.vssd.ShadowCopy1.Error.InvalidArgument "Expose: relative path (bus)"
assert_eq "$(bus_raw "$snap_x" org.vssd.ShadowCopy1.Snapshot Unexpose "" '[]' | jq -r .error)" \
	org.vssd.ShadowCopy1.Error.BadState "Unexpose, not exposed (bus)"
assert_eq "$(snaps_state)" "$before" "bad input changed something"

# 4. a persistent exposure outlives vssd: SIGKILL, restart, still exposed
vssd_kill
assert_eq "$(mounted_src "$WORK/ea")" "$dev_a" "mounted after SIGKILL"
vssd_start
assert_eq "$(prop "$id_a" ExposedPath)" "$WORK/ea" "ExposedPath after a restart"
# ... and when the mount is lost while vssd is down, the start-up mounts it again
vssd_stop
umount "$WORK/ea"
vssd_start
assert_eq "$(mounted_src "$WORK/ea")" "$dev_a" "mounted again at start-up"
assert_eq "$(sha_of "$WORK/ea/data")" "$old_a" "mounted again: the data of the instant"
vssd_log_has "exposed again at $WORK/ea" || fail "no log line for the re-exposure"

# 5. delete of an exposed shadow copy: refused while the mount is busy, else unmounted first
(cd "$WORK/ea/dir" && exec sleep 300) &
busy=$!
wait_for 50 test -d "/proc/$busy/cwd" || fail "sleeper did not start"
run_rc vssctl delete shadows --shadow "$id_a" --quiet
assert_eq "$RC" 1 "delete while busy: exit status"
grep -q "VSS_E_VOLUME_IN_USE.*busy" "$WORK/err" || fail "delete while busy: $(cat "$WORK/err")"
assert_eq "$(mounted_src "$WORK/ea")" "$dev_a" "still mounted after the refused delete"
[ -b "$dev_a" ] || fail "the refused delete removed $dev_a"
kill "$busy"
wait "$busy" 2>/dev/null || true
run_rc vssctl delete shadows --shadow "$id_a" --quiet
assert_eq "$RC" 0 "delete exposed ($(cat "$WORK/err"))"
assert_eq "$(mounted_src "$WORK/ea")" "" "deleted: unmounted"
[ ! -e "$dev_a" ] || fail "deleted: $dev_a still there"
vssctl delete shadows --shadow "$id_x" --quiet >/dev/null
no_vssd_devices || fail "left $(dm_with_uuid_prefix VSSD-)"
assert_eq "$(dm_table "$RUN-a")/$(dm_table "$RUN-x")" "$table_a/$table_x" "own tables"

# 6. backup --mount: the command gets readable read-only mounts of the instant
cur_a=$(sha_of "$WORK/ma/data")
cur_x=$(sha_of "$WORK/mx/data")
cat >"$WORK/cmd.sh" <<'EOF'
#!/bin/sh
printf '%s\n' "$VSSD_SNAPSHOT_MOUNTS" >"$OUT/mounts"
for pair in $VSSD_SNAPSHOT_MOUNTS; do
	mp=${pair##*=}
	printf '%s %s\n' "${pair%=*}" "$(sha256sum <"$mp/data" | cut -d' ' -f1)"
	awk -v p="$mp" '$2 == p { print "opts", $4 }' /proc/self/mounts
done >"$OUT/seen"
# the origins change under the backup; the mounts do not
head -c 1M /dev/urandom >"$OUT/ma/data"
head -c 1M /dev/urandom >"$OUT/mx/data"
sync
for pair in $VSSD_SNAPSHOT_MOUNTS; do
	mp=${pair##*=}
	printf '%s %s\n' "${pair%=*}" "$(sha256sum <"$mp/data" | cut -d' ' -f1)"
done >"$OUT/seen-after"
EOF
chmod +x "$WORK/cmd.sh"
OUT=$WORK VSSD_BACKUP_DIR=$WORK run_rc vssctl backup --volume "$a" --volume "$x" --no-writers \
	--mount -- "$WORK/cmd.sh"
assert_eq "$RC" 0 "backup --mount ($(cat "$WORK/err"))"
[ "$(wc -w <"$WORK/mounts")" -eq 2 ] || fail "VSSD_SNAPSHOT_MOUNTS: $(cat "$WORK/mounts")"
printf '%s %s\n%s %s\n' "$a" "$cur_a" "$x" "$cur_x" >"$WORK/want"
assert_eq "$(grep -v ^opts "$WORK/seen")" "$(cat "$WORK/want")" "backup --mount: the data"
assert_eq "$(cat "$WORK/seen-after")" "$(cat "$WORK/want")" "backup --mount: the instant holds"
assert_eq "$(grep -c '^opts ro,' "$WORK/seen")" 2 "backup --mount: read-only mounts"
assert_eq "$(awk -v w="$WORK/vssd-backup" 'index($2, w) == 1' /proc/self/mounts)" "" \
	"backup --mount left mounts"
[ -z "$(ls -A "$WORK" | grep vssd-backup)" ] || fail "backup --mount left directories"
wait_for 50 no_vssd_devices || fail "backup left $(dm_with_uuid_prefix VSSD-)"
kill -0 "$VSSD_PID" || fail "vssd died"
