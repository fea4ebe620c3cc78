#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 43-expose-paths.sh - vssadmin is not root (issue 15, defect 6): Expose mounts only onto an empty
# directory whose every component is root's and not writable by others, no symlink, and onto the
# very directory it checked; AddStorage takes no location others control; a COW file replaced
# under its name is not re-attached after a reboot; a vssadmin member who is not root runs
# `vssctl backup --mount` with mount points vssd chooses under /run/vssd/expose
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
table_a=$(dm_table "$RUN-a")
vol_mkfs_mount "$a" ext4 "$WORK/ma"
echo "instant" >"$WORK/ma/note"
chmod 0644 "$WORK/ma/note"
sync
user=vte$$
useradd -M -N -s /bin/sh "$user"
tmpd=
test_teardown_more()
{
	[ -z "$tmpd" ] || { umount "$tmpd/mp" 2>/dev/null; rm -rf "$tmpd"; }
	userdel "$user" 2>/dev/null
}
bus_start
usermod -a -G vssadmin "$user"
vssd_start

id=$(vssctl --json create shadow --volume "$a" --context persistent --no-writers |
	jq -r '.snapshots[0].id')
dev=$(vssctl --json list shadows | jq -r '.[0].device')
sp=/org/vssd/ShadowCopy1/snapshot/$(printf %s "$id" | tr -d -)

# expose PATH: Expose over the bus, the JSON line of bus_raw
expose() { bus_raw "$sp" org.vssd.ShadowCopy1.Snapshot Expose 'sa{sv}' "[\"$1\", {}]"; }
# refused PATH ERROR TEXT: Expose PATH gets org.vssd.ShadowCopy1.Error.ERROR saying TEXT, and the
# shadow copy is mounted nowhere
refused()
{
	local out
	out=$(expose "$1")
	assert_eq "$(printf %s "$out" | jq -r .error)" "org.vssd.ShadowCopy1.Error.$2" \
		"Expose $1 ($out)"
	case $(printf %s "$out" | jq -r .message) in
	*"$3"*) ;;
	*) fail "Expose $1: the message does not say \"$3\": $out" ;;
	esac
	! grep -q "^$dev " /proc/self/mounts || fail "Expose $1 mounted: $(grep "^$dev " /proc/self/mounts)"
	assert_eq "$(vssctl --json list shadows | jq -r '.[0].exposed_path')" "" "Expose $1 recorded"
}

# 1. below /tmp: sticky, writable by all, so whatever is below it may change under root
tmpd=$(mktemp -d "/tmp/$RUN-x.XXXX")
mkdir "$tmpd/mp"
refused "$tmpd/mp" AccessDenied "/tmp is writable by users other than root"
# below a directory a user owns (root's own directory in it: the user can still rename it away)
mkdir -p "$WORK/home/mp"
chown "$user" "$WORK/home"
refused "$WORK/home/mp" AccessDenied "$WORK/home is not owned by root"
# 2. symbolic links, last component or one above: refused, not resolved
mkdir -p "$WORK/real/mp"
ln -s "$WORK/real/mp" "$WORK/link"
ln -s "$WORK/real" "$WORK/linkdir"
refused "$WORK/link" InvalidArgument "$WORK/link is a symbolic link"
refused "$WORK/linkdir/mp" InvalidArgument "$WORK/linkdir is a symbolic link"
# 3. not empty
mkdir "$WORK/full"
touch "$WORK/full/file"
refused "$WORK/full" InvalidArgument "is not empty"

# 4. accepted: the shadow copy's device on the directory that was checked. (That the mount lands
# on the very inode checked, whatever the path means meanwhile, is move_mount's: no race here
# can be made deterministic, and overlayfs's readdir inode numbers differ from stat's.)
out=$(expose "$WORK/real/mp")
assert_eq "$(printf %s "$out" | jq -r .result)" "$WORK/real/mp" "Expose a good directory ($out)"
assert_eq "$(awk -v p="$WORK/real/mp" '$2 == p { print $1 }' /proc/self/mounts)" "$dev" "mounted"
assert_eq "$(cat "$WORK/real/mp/note")" "instant" "the shadow copy's files"
# Unexpose unmounts only its own mount: something mounted on top since stays
mount -t tmpfs none "$WORK/real/mp"
run_rc vssctl unexpose "$id"
assert_eq "$RC" 0 "unexpose ($(cat "$WORK/err"))"
assert_eq "$(awk -v p="$WORK/real/mp" '$2 == p { print $1 }' /proc/self/mounts | tail -n 1)" none \
	"Unexpose left the other mount alone"
umount "$WORK/real/mp"
umount "$WORK/real/mp" # ours, below it
assert_eq "$(vssctl --json list shadows | jq -r '.[0].exposed_path')" "" "forgotten"

# 5. AddStorage: a location below /tmp, or a symlink, is refused naming the component
mkdir "$tmpd/cow"
out=$(bus_raw /org/vssd/ShadowCopy1 org.vssd.ShadowCopy1.Manager AddStorage sst \
	"[\"$a\", \"$tmpd/cow\", 0]")
assert_eq "$(printf %s "$out" | jq -r .error)" org.vssd.ShadowCopy1.Error.AccessDenied \
	"AddStorage below /tmp ($out)"
case $out in *"/tmp is writable by users other than root"*) ;; *) fail "AddStorage: $out" ;; esac
mkdir "$WORK/cowdir"
ln -s "$WORK/cowdir" "$WORK/cowlink"
out=$(bus_raw /org/vssd/ShadowCopy1 org.vssd.ShadowCopy1.Manager AddStorage sst \
	"[\"$a\", \"$WORK/cowlink\", 0]")
assert_eq "$(printf %s "$out" | jq -r .error)" org.vssd.ShadowCopy1.Error.InvalidArgument \
	"AddStorage on a symlink ($out)"
case $(vssctl --json list shadowstorage) in
*"$tmpd"* | *cowlink*) fail "an association was made: $(vssctl --json list shadowstorage)" ;;
esac

# 6. a vssadmin member, not root, runs backup --mount: vssd chooses /run/vssd/expose/<id>
U=$(unpriv_dir)
cp "$BUILD/vssctl" "$U/"
chmod a+rx "$U/vssctl"
cat >"$U/job.sh" <<'EOJ'
#!/bin/sh
for pair in $VSSD_SNAPSHOT_MOUNTS; do
	mp=${pair#*=}
	printf '%s %s %s\n' "$(id -u)" "$mp" "$(cat "$mp/note")"
done
EOJ
chmod a+rx "$U/job.sh"
(cd "$WORK" && setpriv --reuid="$user" --regid=nogroup --init-groups "$U/vssctl" backup \
	--volume "$a" --mount --no-writers -- "$U/job.sh" >"$WORK/user" 2>&1) ||
	fail "backup --mount as a vssadmin member: $(cat "$WORK/user")"
read -r uid mp note <"$WORK/user" || fail "the job printed nothing: $(cat "$WORK/user")"
assert_eq "$uid" "$(id -u "$user")" "the job ran as the member"
case $mp in /run/vssd/expose/????????????????????????????????) ;; *) fail "mount point $mp" ;; esac
assert_eq "$note" "instant" "the member read the shadow copy"
[ ! -e "$mp" ] || fail "$mp was not removed"
! grep -q " $mp " /proc/self/mounts || fail "$mp still mounted"
assert_eq "$(vssctl --json list shadows | jq -r 'length')" 1 "the backup's set is gone"

# 7. reboot, and meanwhile the COW file was replaced by another file under its name (the same
# bytes, even): not re-attached, the shadow copy shown invalid, and the log says why
vssd_stop
umount "$WORK/ma"
for n in $(dm_with_uuid_prefix VSSD-S-); do dmsetup remove "$n"; done
dmsetup remove "$RUN-a"
for n in $(dm_with_uuid_prefix VSSD-R-); do dmsetup remove "$n"; done
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "reboot simulation left devices"
[ -z "$(loops_under "$VSSD_STORAGE_DIR")" ] || fail "COW loops still attached"
dmsetup create "$RUN-a" --table "$table_a"
cow=$(ls "$VSSD_STORAGE_DIR"/*.cow)
cp --sparse=always "$cow" "$cow.new"
mv "$cow.new" "$cow"
vssd_start
vssd_log_has "is not the COW file vssd created" || fail "no log line for the replaced COW file"
! vssd_log_has "brought back" || fail "the replaced COW file was re-attached"
assert_eq "$(vssctl --json list shadows | jq -r '.[0].state')" invalid "shown invalid"
[ -z "$(loops_under "$VSSD_STORAGE_DIR")" ] || fail "the replaced COW file is on a loop"
vssctl delete shadows --shadow "$id" --quiet
assert_eq "$(dm_table "$RUN-a")" "$table_a" "a's own table"
