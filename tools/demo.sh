#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# demo.sh - make demo: a guided tour of vssd, an application-consistent backup of two volumes
#
# usage: tools/demo.sh            run the demo (on this host, or in the qemu test guest)
#        tools/demo.sh --inside   the demo itself: as root, on a kernel with device-mapper
#
# Without --inside the script picks the place: this host when its kernel has device-mapper and
# we are root, otherwise the throw-away qemu guest of tests/vm (tests/vm/run tools/demo.sh
# --inside). The demo builds a sandbox and removes it on exit, also on failure or Ctrl-C: a
# directory /var/lib/vssd-demo.*, two loop-backed dm-linear volumes vssdemo-<pid>-a and -b with
# ext4, their shadow copies, a private dbus-daemon, vssd, the sample writer and a shell loop that
# writes. It changes nothing outside the sandbox (no group, no file in /etc).
# Exit status: 0 when every check passed, 1 otherwise, 2 on a usage error.
#
# Under TCG every exec costs a lot (0.1-0.5 s, depending on the host's load), so the checks and
# the loops use bash builtins where a tool would be one exec per call.
set -euo pipefail
shopt -s inherit_errexit

root=$(cd "${BASH_SOURCE[0]%/*}/.." && pwd)
BUILD=${VSSD_BUILD:-$root/build}

# --- output ------------------------------------------------------------------------------------

t0=$EPOCHREALTIME
failures=0
step_no=0
# colour on a terminal; the guest's output is a file, so the caller passes VSSD_DEMO_COLOR=1
if [[ -t 1 || ${VSSD_DEMO_COLOR:-} == 1 ]]; then
	B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'
else
	B='' G='' R='' N=''
fi

# ms_since T: milliseconds since $EPOCHREALTIME was T
ms_since()
{
	local now=$EPOCHREALTIME
	echo $(((10#${now/./} - 10#${1/./}) / 1000))
}

# elapsed: seconds since the start, one decimal
elapsed()
{
	local ms
	ms=$(ms_since "$t0")
	printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

step()
{
	step_no=$((step_no + 1))
	printf '\n%s%d. %s%s  [%ss]\n' "$B" "$step_no" "$*" "$N" "$(elapsed)"
}

# say LINE...: the account of what happens and why, one argument a line
say()
{
	printf '   %s\n' "$@"
}

# shown CMD...: print the command as a user would type it, run it, indent its output
shown()
{
	printf '   $ %s\n' "$*"
	"$@" 2>&1 | indent
}

indent()
{
	local line
	while IFS= read -r line; do
		printf '     %s\n' "$line"
	done
}

# check DESCRIPTION CMD...: run CMD and print ok or FAIL; any FAIL makes the demo exit 1
check()
{
	local what=$1
	shift
	if "$@"; then
		printf '   %sok%s    %s\n' "$G" "$N" "$what"
	else
		printf '   %sFAIL%s  %s\n' "$R" "$N" "$what"
		failures=$((failures + 1))
	fi
}

die()
{
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

usage()
{
	sed -n '4,5s/^# \{0,1\}//p' "$0"
}

# --- outside: where to run ---------------------------------------------------------------------

# host_has_dm: the kernel answers device-mapper ioctls (a /dev/mapper/control node proves
# nothing: dmsetup creates one even where the driver is missing)
host_has_dm()
{
	dmsetup version >/dev/null 2>&1 && return 0
	command -v modprobe >/dev/null 2>&1 && modprobe -q dm_mod 2>/dev/null &&
		dmsetup version >/dev/null 2>&1
}

outside()
{
	local b rc=0

	for b in vssd vssctl vssd-example-writer; do
		[[ -x $BUILD/$b ]] || die "$BUILD/$b is missing: run 'make demo' (or 'make all') first"
	done
	cd "$root"
	if ((EUID == 0)) && command -v dmsetup >/dev/null && host_has_dm; then
		echo "This kernel has device-mapper: the demo runs right here, as root."
		exec "$root/tools/demo.sh" --inside
	fi
	echo "This kernel has no device-mapper (or we are not root), so the demo runs in the"
	echo "throw-away qemu guest of the test suite: Debian's kernel, this machine's files"
	echo "read-only under a RAM overlay, nothing written back. Booting it..."
	[[ ! -t 1 ]] || export VSSD_DEMO_COLOR=1
	"$root/tests/vm/run" -- "$root/tools/demo.sh" --inside || rc=$?
	printf '\nThe guest is gone, and all it wrote with it. Wall clock, boot included: %ss.\n' \
		"$(elapsed)"
	exit "$rc"
}

# --- inside: the sandbox -----------------------------------------------------------------------

WORK=
PREFIX=vssdemo-$$
BUS_PID=
VSSD_PID=
WRITER_PID=
CHURN_PID=
NAP_FD=

# nap SECONDS: sleep without an exec: read times out on a pipe that nobody writes to
nap()
{
	read -r -t "$1" -u "$NAP_FD" _ || true
}

# wait_for SECONDS CMD...: poll CMD every 50 ms
wait_for()
{
	local n=$(($1 * 20))
	shift
	while ((n-- > 0)); do
		"$@" && return 0
		nap 0.05
	done
	return 1
}

# write_file FILE: standard input (a here-document) into FILE, without an exec
write_file()
{
	local text
	IFS= read -r -d '' text || true
	printf '%s' "$text" >"$1"
}

# show_file FILE: FILE's lines behind "| "
show_file()
{
	local line
	while IFS= read -r line; do
		printf '     | %s\n' "$line"
	done <"$1"
}

# slurp VAR FILE: the exact content of FILE (trailing newlines included) in VAR; empty when
# FILE does not exist (yet)
slurp()
{
	printf -v "$1" ''
	[[ ! -e $2 ]] || IFS= read -r -d '' "$1" <"$2" || true
}

# count_lines FILE: number of lines
count_lines()
{
	local l
	mapfile -t l <"$1"
	echo "${#l[@]}"
}

# last_line FILE: the last line (0 for an empty file); the writer's records are numbers
last_line()
{
	local l
	mapfile -t l <"$1"
	echo "${l[-1]:-0}"
}

# is_prefix OLD NEW: file OLD is a prefix of file NEW (NEW only grew since), in whole lines
is_prefix()
{
	local o n
	slurp o "$1"
	slurp n "$2"
	[[ $n == "$o"* && (-z $o || $o == *$'\n') ]]
}

# prefix_on_both FILE: a/FILE and b/FILE in the archive are prefixes of the live ones
prefix_on_both()
{
	is_prefix "$WORK/restore/a/$1" "$WORK/mnt/a/$1" &&
		is_prefix "$WORK/restore/b/$1" "$WORK/mnt/b/$1"
}

# one_instant A B: the loop appends line N to A, then to B, so copies of both taken at one
# instant hold whole lines, B a prefix of A, and A at most one line ahead
one_instant()
{
	is_prefix "$2" "$1" && (($(count_lines "$1") - $(count_lines "$2") <= 1))
}

# consecutive X Y: two numbers that differ by one
consecutive()
{
	(($1 - $2 == 1 || $2 - $1 == 1))
}

# sums_match DIR SUMS: the files listed in SUMS (sha256sum output) have those sums under DIR
sums_match()
{
	(cd "$1" && sha256sum --quiet -c "$2")
}

# events_are WORD...: the writer's event log lists exactly these events, in this order
events_are()
{
	local t ev _set got=()
	while read -r t ev _set; do
		got+=("$ev")
	done <"$WORK/writer.events"
	[[ ${got[*]} == "$*" ]]
}

# between_freeze_and_thaw T1 T2: the writer's Freeze came before T1 and its Thaw after T2
between_freeze_and_thaw()
{
	local t ev _set f='' th=''
	while read -r t ev _set; do
		[[ $ev != freeze ]] || f=$t
		[[ $ev != thaw ]] || th=$t
	done <"$WORK/writer.events"
	[[ -n $1 && -n $f && -n $th ]] && ((f < $1 && $2 < th))
}

# dm_ours: "NAME STATE" of the demo's dm devices: its volumes ($PREFIX-a, -b and the
# -vssd-real devices vssd adds) and their shadow copies (vssd-<set>-$PREFIX-*)
dm_ours()
{
	local name state
	while IFS='|' read -r name state; do
		[[ $name == "$PREFIX"-* || $name == vssd-*-"$PREFIX"-* ]] || continue
		echo "$name $state"
	done < <(dmsetup info -c --noheadings -o name,suspended --separator '|' 2>/dev/null)
}

# no_vssd_devices: no dm device has a VSSD- uuid (vssd's mark)
no_vssd_devices()
{
	local uuid
	while read -r uuid; do
		[[ $uuid != VSSD-* ]] || return 1
	done < <(dmsetup info -c --noheadings -o uuid 2>/dev/null)
}

# loops_ours: loop devices whose backing file is in the sandbox (volumes and COW files)
loops_ours()
{
	local dev file
	[[ -n $WORK ]] || return 0
	while read -r dev file; do
		[[ $file != "$WORK"/* ]] || echo "$dev"
	done < <(losetup -n -l -O NAME,BACK-FILE 2>/dev/null)
}

# mounts_ours: mount points in the sandbox, deepest first
mounts_ours()
{
	local dev mnt rest found=()
	[[ -n $WORK ]] || return 0
	while read -r dev mnt rest; do
		[[ $mnt != "$WORK"/* ]] || found=("$mnt" "${found[@]}")
	done </proc/self/mounts
	((${#found[@]} == 0)) || printf '%s\n' "${found[@]}"
}

# stop PID: end one of the demo's processes and reap it (SIGTERM, 10 s, SIGKILL)
stop()
{
	local pid=$1 i
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		nap 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup()
{
	local rc=$? round name state left=() names=() f
	set +e
	trap - EXIT INT TERM

	if ((rc != 0)) && [[ -n $WORK ]]; then
		for f in vssd.log writer.log; do
			[[ -s $WORK/$f ]] || continue
			printf '\n---- the last lines of %s\n' "$f"
			tail -n 25 "$WORK/$f"
		done
	fi

	step "Cleaning up the sandbox"
	# The writers first, as they hold files on the volumes open; then vssd, which releases any
	# set still alive; then the bus.
	stop "$CHURN_PID"
	stop "$WRITER_PID"
	stop "$VSSD_PID"
	stop "$BUS_PID"
	while read -r name; do
		umount "$name" 2>/dev/null || umount -l "$name"
	done < <(mounts_ours)
	# Holders go first (a shadow copy, then its volume, then the volume's -vssd-real), hence the
	# rounds. A suspended device would hold I/O for ever: resume it before removing it.
	for round in 1 2 3 4 5; do
		mapfile -t left < <(dm_ours)
		((${#left[@]} > 0)) || break
		((round == 1)) || nap 0.2 # udev may still have a device open (not in the guest)
		names=()
		for name in "${left[@]}"; do
			state=${name#* }
			name=${name%% *}
			[[ $state != Suspended ]] || dmsetup resume "$name"
			names+=("$name")
		done
		if ((round < 5)); then
			dmsetup remove "${names[@]}" 2>/dev/null
		else
			dmsetup remove --force "${names[@]}"
		fi
	done
	mapfile -t left < <(loops_ours)
	((${#left[@]} == 0)) || losetup -d "${left[@]}"

	# Is anything left?
	left=()
	while read -r name state; do
		left+=("dm device $name")
	done < <(dm_ours)
	for name in $(loops_ours); do
		left+=("loop device $name")
	done
	while read -r name; do
		left+=("mount $name")
	done < <(mounts_ours)
	for name in "$CHURN_PID" "$WRITER_PID" "$VSSD_PID" "$BUS_PID"; do
		[[ -z $name ]] || ! kill -0 "$name" 2>/dev/null || left+=("process $name")
	done
	if [[ -n $WORK ]]; then
		rm -rf "$WORK"
		[[ ! -e $WORK ]] || left+=("directory $WORK")
	fi
	if ((${#left[@]} == 0)); then
		say "Stopped the writers, vssd and the bus; unmounted and removed the volumes and their" \
			"loop devices; deleted the sandbox directory. Checked: no $PREFIX-* or shadow" \
			"copy dm device, loop device, mount or process of the demo is left."
	else
		printf "   ${R}FAIL${N}  left behind: %s\n" "${left[@]}"
		((rc != 0)) || rc=1
	fi
	((rc != 0 || failures == 0)) || rc=1
	if ((rc == 0)); then
		printf '\n%sDemo passed%s in %ss.\n' "$B" "$N" "$(elapsed)"
	else
		printf '\n%sDemo FAILED%s (exit %d) after %ss.\n' "$B" "$N" "$rc" "$(elapsed)"
	fi
	exit "$rc"
}

# vol_create NAME: a 64 MiB sparse file on a loop device, mapped as dm-linear $PREFIX-NAME, with
# ext4, mounted on $WORK/mnt/NAME (which exists)
vol_create()
{
	local img=$WORK/vol-$1.img dev=/dev/mapper/$PREFIX-$1 loop
	truncate -s 64M "$img"
	loop=$(losetup -f --show "$img")
	dmsetup create "$PREFIX-$1" --table "0 $((64 * 2048)) linear $loop 0"
	[[ -b $dev ]] || die "no $dev after dmsetup create"
	mkfs.ext4 -q -F -L "demo-$1" -E lazy_itable_init=0,lazy_journal_init=0,nodiscard "$dev"
	mount -t ext4 "$dev" "$WORK/mnt/$1"
	printf '     %-26s on %-11s mounted on %s\n' "$dev" "$loop" "$WORK/mnt/$1"
}

# vssd_ready: vssd logged "ready", which it does once it owns its bus name
vssd_ready()
{
	local log
	slurp log "$WORK/vssd.log"
	[[ $log == *" ready: "* ]] || return 1
}

writer_registered()
{
	local log
	slurp log "$WORK/writer.log"
	[[ $log == *"registered with vssd"* ]]
}

# has_groups NAME...: /etc/group has these groups (the demo's note only: NSS is not asked)
has_groups()
{
	local name rest groups=" "
	while IFS=: read -r name rest; do
		groups+="$name "
	done </etc/group
	for name; do
		[[ $groups == *" $name "* ]] || return 1
	done
}

# only_linear TABLES: every line of TABLES (dmsetup table output) is a linear target
only_linear()
{
	local line
	while IFS= read -r line; do
		[[ $line == *" linear "* ]] || return 1
	done <<<"$1"
}

# ms1 US: microseconds as milliseconds with one decimal
ms1()
{
	echo "$(($1 / 1000)).$(($1 % 1000 / 100))"
}

# held_window: the I/O hold window from vssd's log ("I/O held from T1 to T2 (monotonic us)")
# on stdout as "T1 T2", nothing when there is none
held_window()
{
	local line re='I/O held from ([0-9]+) to ([0-9]+) \(monotonic us\)' window=''
	while IFS= read -r line; do
		[[ ! $line =~ $re ]] || window="${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
	done <"$WORK/vssd.log"
	echo "$window"
}

# timeline H1 H2: the writer's event log (stdin) as times since its first event, with the hold
# window H1..H2 in its place, and a summary
timeline()
{
	local h1=$1 h2=$2 t ev _set t0='' f=0 th=0 shown=0
	local -A note=([freeze]="(flush, stop appending)" [thaw]="(append again)"
		[post-snapshot]="(the shadow copy devices exist)"
		[backup-complete]="(CMD exited 0: success)" [backup-shutdown]="(the set is released)")
	while read -r t ev _set; do
		[[ -n $t0 ]] || t0=$t
		if [[ -n $h1 ]] && ((!shown && t > h2)); then
			printf '     %9s ms     vssd suspends both origins: the snapshot instant\n' \
				"+$(ms1 $((h1 - t0)))"
			printf '     %9s ms     both resumed: I/O held for %s ms\n' \
				"+$(ms1 $((h2 - t0)))" "$(ms1 $((h2 - h1)))"
			shown=1
		fi
		if [[ -n ${note[$ev]:-} ]]; then
			printf '     %9s ms  %-17s %s\n' "+$(ms1 $((t - t0)))" "$ev" "${note[$ev]}"
		else
			printf '     %9s ms  %s\n' "+$(ms1 $((t - t0)))" "$ev"
		fi
		[[ $ev != freeze ]] || f=$t
		[[ $ev != thaw ]] || th=$t
	done
	[[ -z $h1 ]] ||
		say "The writer paused for $(((th - f) / 1000)) ms; I/O was held for $(ms1 \
			$((h2 - h1))) ms."
}

# writer_saw EVENT: the writer's event log has EVENT
writer_saw()
{
	local log
	slurp log "$WORK/writer.events"
	[[ $log == *" $1 "* ]]
}

# bus_config FILE: the system bus's default policy, plus the policy vssd ships: the template the
# integration tests use too, filled in with builtins
bus_config()
{
	local conf
	slurp conf "$root/tests/integration/system-bus.conf.in"
	conf=${conf//@SOCKET@/"$WORK/bus.sock"}
	conf=${conf//@POLICY@/"$root/dbus/org.vssd.ShadowCopy1.conf"}
	printf '%s' "$conf" >"$1"
}

# backup_job FILE: the command vssctl backup runs while the shadow copies exist (POSIX sh)
backup_job()
{
	write_file "$1" <<'EOS'
# backup-job.sh - mount the shadow copies read-only, list the set, archive both
for pair in $VSSD_SNAPSHOT_DEVICES; do            # "VOLUME=DEVICE ..."
	vol=${pair%%=*} dev=${pair#*=} name=${vol##*-}  # name: a or b
	mkdir -p "$DEMO_WORK/snap/$name"
	mount -o ro,noload "$dev" "$DEMO_WORK/snap/$name" || exit 1
done
vssctl list shadows >"$DEMO_WORK/during-shadows.txt" 2>&1
vssctl list writers >"$DEMO_WORK/during-writers.txt" 2>&1
tar -C "$DEMO_WORK/snap" -cf "$DEMO_WORK/backup.tar" a b
rc=$?
umount "$DEMO_WORK/snap/a" "$DEMO_WORK/snap/b" || rc=1
exit $rc
EOS
}

inside()
{
	local t a b ma mb tb held=() ra rb la lb ca cb entries=() tables line

	((EUID == 0)) || die "--inside runs as root"
	for t in dmsetup losetup mkfs.ext4 mount umount dbus-daemon tar sha256sum truncate; do
		command -v "$t" >/dev/null || die "$t not found: run 'make deps' first"
	done
	for t in vssd vssctl vssd-example-writer; do
		[[ -x $BUILD/$t ]] || die "$BUILD/$t is missing: run 'make all' first"
	done
	host_has_dm || die "this kernel has no device-mapper"
	# The demo proves that it leaves nothing behind by finding no VSSD- device at the end,
	# which it cannot do next to another vssd's shadow copies (its private vssd leaves those
	# alone: their storage is not its own). (The kernel loads dm-snapshot when the first
	# snapshot table needs it.)
	no_vssd_devices || die "this machine has vssd shadow copies (dm uuids VSSD-*); the demo" \
		"checks that it leaves no such device behind, which it cannot do next to them:" \
		"not running (tests/vm/run -- tools/demo.sh --inside runs it in the test guest)"

	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	exec {NAP_FD}<> <(:)
	WORK=/var/lib/vssd-demo.$$.$RANDOM # vssd stores only where no one but root writes
	mkdir -m 0755 "$WORK" "$WORK/mnt" "$WORK/mnt/a" "$WORK/mnt/b" "$WORK/storage" "$WORK/restore"
	export PATH="$BUILD:$PATH"
	ma=$WORK/mnt/a
	mb=$WORK/mnt/b
	a=/dev/mapper/$PREFIX-a
	b=/dev/mapper/$PREFIX-b

	write_file /dev/stdout <<EOF

vssd takes Windows-VSS-style shadow copy sets of device-mapper volumes: several volumes
captured at one instant, the applications on them asked to pause for it, so that a backup
reads one consistent picture while the live volumes go on changing.

This tour backs up two volumes that an application writes to, checks that the archive holds
exactly what the volumes held at the snapshot instant, and removes everything it made.
Kernel $(</proc/sys/kernel/osrelease); sandbox $WORK.
EOF

	step "Two volumes"
	say "Two 64 MiB sparse files on loop devices, each mapped as a dm-linear device (the kind" \
		"of volume vssd snapshots without LVM), with ext4 and a few files:"
	vol_create a
	vol_create b
	mkdir -p "$ma/docs" "$mb/ledger"
	seq -f 'line %g of the quarterly report' 1 20000 >"$ma/docs/report.txt"
	head -c 3M /dev/urandom >"$ma/docs/photo.raw"
	seq -f '%g,debit,42.00' 1 30000 >"$mb/ledger/2024.csv"
	head -c 2M /dev/urandom >"$mb/ledger/archive.bin"
	(cd "$WORK/mnt" && sha256sum a/docs/report.txt a/docs/photo.raw b/ledger/2024.csv \
		b/ledger/archive.bin >"$WORK/before.sha256")
	say "a/docs/report.txt, a/docs/photo.raw, b/ledger/2024.csv, b/ledger/archive.bin:" \
		"6 MiB, their sha256 sums noted to compare with the backup later."

	step "A private system bus"
	say "vssd is a D-Bus system service. Not to touch this machine's own bus, the demo starts" \
		"a dbus-daemon of its own, with the system bus's default-deny rules plus the policy" \
		"vssd ships (dbus/org.vssd.ShadowCopy1.conf): only root may own the name; root and" \
		"group vssadmin may ask for shadow copies; group vsswriters may register writers."
	if ! has_groups vssadmin vsswriters; then
		say "(This machine lacks the groups vssadmin and vsswriters, which 'make install'" \
			"creates through sysusers.d: the bus skips their rules. The demo runs as root.)"
	fi
	bus_config "$WORK/bus.conf"
	dbus-daemon --config-file="$WORK/bus.conf" --fork --print-pid=3 3>"$WORK/bus.pid" \
		2>"$WORK/bus.log" || die "dbus-daemon did not start: $(<"$WORK/bus.log")"
	read -r BUS_PID <"$WORK/bus.pid"
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$WORK/bus.sock
	say "The bus (pid $BUS_PID) listens on \$WORK/bus.sock; DBUS_SYSTEM_BUS_ADDRESS sends every" \
		"command below there."

	step "Starting vssd"
	write_file "$WORK/vssd.conf" <<EOC
[storage]
directory = $WORK/storage
minimum = 16M
initial = 8M
EOC
	say "The daemon, with its state file in the sandbox and a configuration that puts the" \
		"copy-on-write storage (sparse files on loop devices) there too, sized for these small" \
		"volumes (the default minimum is 320 MiB per volume, as in VSS):"
	show_file "$WORK/vssd.conf"
	say "\$ vssd --bus \$DBUS_SYSTEM_BUS_ADDRESS --config \$WORK/vssd.conf --state-dir \$WORK/state &"
	vssd --bus "$DBUS_SYSTEM_BUS_ADDRESS" --config "$WORK/vssd.conf" --state-dir "$WORK/state" \
		--log-level info >"$WORK/vssd.log" 2>&1 &
	VSSD_PID=$!
	wait_for 20 vssd_ready || die "vssd did not take its bus name: $(<"$WORK/vssd.log")"
	say "vssd (pid $VSSD_PID) ran its start-up recovery (no state yet, nothing to do), then took" \
		"the name org.vssd.ShadowCopy1."

	step "An application writer"
	say "vssd-example-writer plays an application with data on both volumes (a database with" \
		"its log on another disk, say): every 20 ms it appends the next record number, odd" \
		"ones to a/records.txt and even ones to b/records.txt, each fsynced. Through" \
		"libvsswriter it registers with vssd as a writer: on Freeze it flushes and stops, on" \
		"Thaw it goes on. Without that, a snapshot could catch record N on one volume" \
		"without record N-1 on the other."
	say "\$ vssd-example-writer --name demo-app --event-log \$WORK/writer.events \\" \
		"      --interval-ms 20 \$WORK/mnt/a/records.txt \$WORK/mnt/b/records.txt &"
	vssd-example-writer --name demo-app --event-log "$WORK/writer.events" --interval-ms 20 \
		"$ma/records.txt" "$mb/records.txt" >"$WORK/writer.log" 2>&1 &
	WRITER_PID=$!
	wait_for 20 writer_registered || die "the writer did not register: $(<"$WORK/writer.log")"
	say "The writer (pid $WRITER_PID) is registered."

	step "A writer vssd knows nothing about"
	say "A shell loop appends line N to a/churn.log, then to b/churn.log, every 50 ms. It is" \
		"no writer, so it never pauses: the volumes stay writable all through the backup."
	(
		cd /
		i=0
		while :; do
			i=$((i + 1))
			echo "churn $i" >>"$ma/churn.log"
			echo "churn $i" >>"$mb/churn.log"
			nap 0.05
		done
	) &
	CHURN_PID=$!
	nap 1.5
	say "1.5 s later: $(last_line "$mb/records.txt") records and $(count_lines \
		"$ma/churn.log") churn lines."

	step "The backup: vssctl backup -- CMD"
	say "vssctl backup does what diskshadow's exec does. It asks vssd for a shadow copy set of" \
		"both volumes: vssd tells the writers to prepare and freeze, suspends both origins" \
		"for one instant, and resumes everything. Then vssctl runs CMD while the shadow copies" \
		"exist, reports the outcome to the writers, and releases the set. CMD finds the" \
		"shadow copy devices in VSSD_SNAPSHOT_DEVICES. Here CMD mounts them read-only beside" \
		"the live volumes (ext4: noload, so no journal replay), shows the set and the" \
		"writers, and archives both file systems with tar:"
	export DEMO_WORK=$WORK
	backup_job "$WORK/backup-job.sh"
	show_file "$WORK/backup-job.sh"
	say "\$ vssctl backup --volume $a --volume $b \\" \
		"      --description 'make demo' -- sh \$WORK/backup-job.sh"
	tb=$EPOCHREALTIME
	vssctl backup --volume "$a" --volume "$b" --description "make demo" -- \
		sh "$WORK/backup-job.sh" 2>&1 | indent
	say "vssctl backup exited 0 after $(ms_since "$tb") ms."
	printf '\n'
	say "While the set existed, CMD ran 'vssctl list shadows':"
	indent <"$WORK/during-shadows.txt"
	printf '\n'
	say "and 'vssctl list writers' (vssd first asks each writer to identify itself):"
	indent <"$WORK/during-writers.txt"

	step "What happened, in order"
	# BackupShutdown reaches the writer after the release; the writers go on meanwhile
	wait_for 5 writer_saw backup-shutdown || true
	read -r -a held <<<"$(held_window)"
	say "The writer's events (its --event-log, in ms since the first), and when vssd held I/O" \
		"on both volumes (vssd's log, same clock):"
	timeline "${held[0]:-}" "${held[1]:-}" <"$WORK/writer.events"

	step "Checking the archive against the snapshot instant"
	mapfile -t entries < <(tar -C "$WORK/restore" -xvf "$WORK/backup.tar")
	# hold the live side still for the comparison
	stop "$CHURN_PID"
	CHURN_PID=
	stop "$WRITER_PID"
	WRITER_PID=
	ra=$(last_line "$WORK/restore/a/records.txt")
	rb=$(last_line "$WORK/restore/b/records.txt")
	la=$(last_line "$ma/records.txt")
	lb=$(last_line "$mb/records.txt")
	ca=$(count_lines "$WORK/restore/a/churn.log")
	cb=$(count_lines "$WORK/restore/b/churn.log")
	say "Unpacked the archive (${#entries[@]} entries) in \$WORK/restore; stopped both writers."
	check "the 4 files written before the backup are in the archive, sha256 identical" \
		sums_match "$WORK/restore" "$WORK/before.sha256"
	check "archive: the last records, a=$ra and b=$rb, are consecutive (application-consistent)" \
		consecutive "$ra" "$rb"
	check "archive: a/ and b/records.txt are exact prefixes of the live files" \
		prefix_on_both records.txt
	check "live: the writer went on after Thaw (last records now $la and $lb)" \
		test "$la" -gt "$ra" -a "$lb" -gt "$rb"
	check "archive: churn.log holds $ca whole lines on a, $cb on b: one instant for both" \
		one_instant "$WORK/restore/a/churn.log" "$WORK/restore/b/churn.log"
	check "archive: a/ and b/churn.log are prefixes of the live files, at $(count_lines \
		"$ma/churn.log") lines now" \
		prefix_on_both churn.log
	check "the writer's events came in VSS order, prepare-backup to backup-shutdown" \
		events_are prepare-backup prepare-snapshot freeze thaw post-snapshot \
		backup-complete backup-shutdown
	check "the snapshot instant lies between the writer's Freeze and Thaw" \
		between_freeze_and_thaw "${held[0]:-}" "${held[1]:-}"

	step "After the backup"
	say "The set's context was 'backup': its shadow copies live as long as the backup, so vssd" \
		"deleted them when vssctl released the set, and the volumes went back to their own" \
		"dm tables."
	shown vssctl list shadows
	tables=$(dmsetup table "$PREFIX-a" "$PREFIX-b")
	say "\$ dmsetup table $PREFIX-a $PREFIX-b"
	indent <<<"$tables"
	check "no shadow copy is left (no dm device with a VSSD- uuid)" no_vssd_devices
	check "the volumes are plain dm-linear devices again" only_linear "$tables"
	say "vssd's log:"
	while IFS= read -r line; do
		line=${line#<[0-9]>}
		[[ $line != *set=* && $line != *recovery* && $line != *ready* && $line != *state* ]] ||
			printf '     %s\n' "$line"
	done <"$WORK/vssd.log"
}

case ${1:-} in
--inside) inside ;;
-h | --help) usage ;;
"") outside ;;
*)
	usage >&2
	exit 2
	;;
esac
