# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh - integration test helpers: per-run names, loop-backed dm volumes, dm queries, teardown
#
# Sourced by every tests/integration/*.sh as its first command: . "${0%/*}/lib.sh"
# POSIX sh (dash) and bash both work. Runs as root in the test guest (tests/vm/run), where it may
# create devices freely; it only ever removes its own: dm devices named "$RUN-*" or with a "VSSD-"
# uuid, loop devices backed by files under $WORK or /var/lib/vssd-test*, mounts under $WORK.
#
# A test that starts something (a daemon, a bus) defines test_teardown(); it runs first.

set -eu
# bash: let command substitutions fail the test too, as in dash.
if [ -n "${BASH_VERSION:-}" ]; then
	# shellcheck disable=SC3044 # bash only
	shopt -s inherit_errexit 2>/dev/null || true
fi

# shellcheck disable=SC2034 # for the tests: TESTDIR (absolute), RUN, WORK
TESTDIR=$(cd "${0%/*}" 2>/dev/null && pwd) || TESTDIR=$PWD
RUN=vt$$-$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
# Not under /tmp: vssd uses only directories whose every component is root's and not writable by
# others (DESIGN.md §6), for its storage and for mount points; /var/lib qualifies.
WORK=$(mktemp -d "/var/lib/vssd-test-$RUN.XXXX")
export DM_DISABLE_UDEV=1 # libdevmapper makes the /dev/mapper nodes itself (no udev here)

# --- messages and assertions -----------------------------------------------------------------

fail()
{
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

note()
{
	printf '# %s\n' "$*" >&2
}

# assert_eq ACTUAL EXPECTED MSG
assert_eq()
{
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# sha_of FILE: its sha256, hex
sha_of()
{
	local s
	s=$(sha256sum <"$1") || return 1
	printf '%s\n' "${s%% *}"
}

# --- volumes ---------------------------------------------------------------------------------

# vol_create NAME SIZE: sparse SIZE file (truncate syntax: 64M) in $WORK on a loop device, mapped
# as dm-linear NAME; prints /dev/mapper/NAME.
vol_create()
{
	local img="$WORK/$1.img" loop sz
	truncate -s "$2" "$img" || return 1
	loop=$(losetup -f --show "$img") || return 1
	sz=$(blockdev --getsz "$loop") || return 1
	dmsetup create "$1" --table "0 $sz linear $loop 0" || return 1
	[ -b "/dev/mapper/$1" ] || fail "vol_create: no /dev/mapper/$1 after dmsetup create"
	printf '/dev/mapper/%s\n' "$1"
}

# vol_mkfs_mount DEV TYPE MNT: a new ext4 or xfs file system on DEV, mounted on MNT
vol_mkfs_mount()
{
	case $2 in
	ext4)
		# Everything initialised now: no lazy-init thread writing behind a test's back.
		mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0,nodiscard "$1" || return 1
		;;
	xfs) mkfs.xfs -q -f -K "$1" || return 1 ;;
	*) fail "vol_mkfs_mount: unsupported file system type '$2'" ;;
	esac
	mkdir -p "$3" && mount -t "$2" "$1" "$3"
}

# --- device-mapper and loop queries ----------------------------------------------------------

# dm_names_uuids: "NAME|UUID" for every dm device (no output when there is none)
dm_names_uuids()
{
	dmsetup info -c --noheadings -o name,uuid --separator '|' 2>/dev/null |
		grep -v '^No devices found' || true
}

# dm_suspended: names of the suspended dm devices, one a line
dm_suspended()
{
	dmsetup info -c --noheadings -o name,suspended --separator '|' 2>/dev/null |
		awk -F'|' '$2 == "Suspended" { print $1 }'
}

# dm_with_uuid_prefix PREFIX: names of the dm devices whose uuid starts with PREFIX
dm_with_uuid_prefix()
{
	dm_names_uuids | awk -F'|' -v p="$1" 'p != "" && index($2, p) == 1 { print $1 }'
}

# dm_with_name_prefix PREFIX: names of the dm devices whose name starts with PREFIX
dm_with_name_prefix()
{
	dm_names_uuids | awk -F'|' -v p="$1" 'index($1, p) == 1 { print $1 }'
}

# dm_table NAME: the device's table
dm_table()
{
	dmsetup table "$1"
}

# loops_under DIR: loop devices whose backing file is DIR or below it (DIR may be a glob prefix:
# "/var/lib/vssd-test*")
loops_under()
{
	local f b n
	for f in /sys/block/loop*/loop/backing_file; do
		[ -r "$f" ] || continue
		IFS= read -r b <"$f" || continue
		# shellcheck disable=SC2254 # DIR may be a pattern
		case $b in
		$1/* | $1) ;;
		*) continue ;;
		esac
		n=${f#/sys/block/}
		printf '/dev/%s\n' "${n%%/*}"
	done
}

# require_target NAME: exit 77 (skip) unless the kernel has dm target NAME (loaded on demand)
require_target()
{
	dmsetup targets | awk '{ print $1 }' | grep -qx "$1" && return 0
	modprobe "dm-$1" >/dev/null 2>&1 || true
	dmsetup targets | awk '{ print $1 }' | grep -qx "$1" && return 0
	printf 'SKIP: dm target %s is not available\n' "$1" >&2
	exit 77
}

# --- teardown --------------------------------------------------------------------------------

# dm_ours: "STATE NAME" (STATE: Active or Suspended) for our dm devices: "$RUN-*" names and "VSSD-"
# uuids (the guest runs one daemon at a time). One dmsetup call: each exec costs ~0.1 s under TCG.
dm_ours()
{
	dmsetup info -c --noheadings -o name,uuid,suspended --separator '|' 2>/dev/null |
		awk -F'|' -v r="$RUN-" \
			'index($1, r) == 1 || index($2, "VSSD-") == 1 { print $3, $1 }'
}

teardown()
{
	local rc=$? round name state mnt left
	set +e
	trap - EXIT INT TERM

	case $(command -V test_teardown 2>/dev/null) in
	*function*) test_teardown ;;
	esac

	# Mounts under $WORK, deepest first.
	awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while IFS= read -r mnt; do
			umount "$mnt" 2>/dev/null || umount -l "$mnt"
		done

	# Stacked devices: holders go first, so repeat. A suspended device would hold I/O (and a
	# frozen file system) forever: resume it first.
	for round in 1 2 3 4 5; do
		left=$(dm_ours)
		[ -n "$left" ] || break
		printf '%s\n' "$left" | while read -r state name; do
			[ "$state" != Suspended ] || dmsetup resume "$name" 2>/dev/null
		done
		for name in $(printf '%s\n' "$left" | awk '{ print $2 }'); do
			if [ "$round" -lt 5 ]; then
				dmsetup remove "$name" 2>/dev/null
			else
				dmsetup remove --force "$name" ||
					note "teardown: cannot remove $name"
			fi
		done
	done

	for name in $(loops_under "$WORK") $(loops_under "/var/lib/vssd-test*"); do
		losetup -d "$name" 2>/dev/null || note "teardown: cannot detach $name"
	done
	rm -rf "$WORK"
	exit "$rc"
}

trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
