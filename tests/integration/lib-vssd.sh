# SPDX-License-Identifier: GPL-2.0-or-later
# lib-vssd.sh - daemon test helpers: a private system-like bus with our policy, the real vssd
#
# Sourced after lib.sh. Provides bus_start, vssd_start, vssd_stop, vssd_kill, vssctl,
# requester (tests/integration/requester.py) and busctl_vssd.

BUILD=${VSSD_BUILD:-$PWD/build}
SRC=$PWD
VSSD_PID=
VSSD_LOG=
BUS_PID=
WRITER_PIDS=
export VSSD_STATE_DIR="$WORK/state"
export VSSD_STORAGE_DIR="$WORK/storage"

test_teardown()
{
	case $(command -V test_teardown_more 2>/dev/null) in
	*function*) test_teardown_more ;;
	esac
	# writers hold files on the test's volumes open
	[ -z "$WRITER_PIDS" ] || kill $WRITER_PIDS 2>/dev/null
	vssd_stop
	[ -z "$BUS_PID" ] || kill "$BUS_PID" 2>/dev/null
	[ -z "$VSSD_LOG" ] || [ ! -s "$WORK/vssd.log" ] || {
		echo "---- vssd log" >&2
		tail -n 60 "$WORK/vssd.log" >&2
	}
}

# bus_start: a dbus-daemon with the system bus's default policy (method calls denied unless a
# policy file allows them) plus our shipped dbus/org.vssd.ShadowCopy1.conf
# (tests/integration/system-bus.conf.in, shared with tools/demo.sh)
bus_start()
{
	# the policy names these groups: they must exist when the bus reads it
	getent group vssadmin >/dev/null || groupadd -r vssadmin
	getent group vsswriters >/dev/null || groupadd -r vsswriters
	sed -e "s|@SOCKET@|$WORK/bus.sock|" -e "s|@POLICY@|$SRC/dbus/org.vssd.ShadowCopy1.conf|" \
		"$SRC/tests/integration/system-bus.conf.in" >"$WORK/bus.conf"
	dbus-daemon --config-file="$WORK/bus.conf" --fork --print-pid=3 3>"$WORK/bus.pid" ||
		fail "dbus-daemon did not start"
	BUS_PID=$(cat "$WORK/bus.pid")
	chmod 0755 "$WORK"
	export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$WORK/bus.sock"
}

# vssd_config [LINES]: the test configuration (storage in $WORK, small minimum), plus LINES
vssd_config()
{
	mkdir -p "$VSSD_STORAGE_DIR"
	cat >"$WORK/vssd.conf" <<EOC
[storage]
directory = $VSSD_STORAGE_DIR
minimum = 16M
initial = 8M
grow-step = 8M
${1:-}
EOC
}

# vssd_start [ARGS]: the real daemon in the background; returns once it owns its name
vssd_start()
{
	[ -f "$WORK/vssd.conf" ] || vssd_config
	VSSD_LOG=1
	"$BUILD/vssd" --bus "$DBUS_SYSTEM_BUS_ADDRESS" --config "$WORK/vssd.conf" \
		--state-dir "$VSSD_STATE_DIR" --log-level "${VSSD_LOG_LEVEL:-info}" "$@" \
		>>"$WORK/vssd.log" 2>&1 &
	VSSD_PID=$!
	for _ in $(seq 1 200); do
		if dbus-send --system --print-reply --dest=org.freedesktop.DBus \
			/org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
			string:org.vssd.ShadowCopy1 2>/dev/null | grep -q "boolean true"; then
			return 0
		fi
		kill -0 "$VSSD_PID" 2>/dev/null || fail "vssd exited: $(tail -n 20 "$WORK/vssd.log")"
		sleep 0.05
	done
	fail "vssd did not take its bus name"
}

vssd_stop()
{
	[ -n "$VSSD_PID" ] || return 0
	kill -TERM "$VSSD_PID" 2>/dev/null
	wait "$VSSD_PID" 2>/dev/null || true
	VSSD_PID=
}

vssd_kill()
{
	[ -n "$VSSD_PID" ] || return 0
	kill -KILL "$VSSD_PID" 2>/dev/null
	wait "$VSSD_PID" 2>/dev/null || true
	VSSD_PID=
}

vssctl()
{
	"$BUILD/vssctl" "$@"
}

# requester STEPS...: tests/integration/requester.py. In the background use "$REQUESTER" directly
# (not this function), so that $! is the requester itself and killing it closes its connection.
REQUESTER="$SRC/tests/integration/requester.py"
requester()
{
	/usr/bin/python3 "$REQUESTER" "$@"
}

# unpriv_dir: prints a directory that any user can read and run from, holding copies of what
# tests run as an unprivileged user: the checkout and build may sit in a directory only root can
# read (root's home, mktemp -d). Holds vssd-example-writer with its libvsswriter.so.1 ($ORIGIN
# runpath) and requester.py. Run such commands from "$WORK" too (cd), not from the checkout.
unpriv_dir()
{
	local d="$WORK/unpriv"
	if [ ! -d "$d" ]; then
		mkdir -p "$d"
		cp "$BUILD/vssd-example-writer" "$BUILD/libvsswriter.so.1" \
			"$SRC/tests/integration/requester.py" "$d/"
		chmod 0755 "$WORK" "$d"
		chmod a+rX "$d"/*
	fi
	printf '%s\n' "$d"
}

# busctl_vssd METHOD SIG ARGS...: one Manager call (its own connection), JSON reply on stdout
busctl_vssd()
{
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" --json=short call org.vssd.ShadowCopy1 \
		/org/vssd/ShadowCopy1 org.vssd.ShadowCopy1.Manager "$@"
}

# vssd_log_has PATTERN: the daemon's log has a line matching PATTERN
vssd_log_has()
{
	grep -q -- "$1" "$WORK/vssd.log"
}

# writer_start NAME FILE-A FILE-B [OPTIONS]: the example writer (libvsswriter) in the background;
# its events go to $WORK/NAME.events; returns once it is registered
writer_start()
{
	local name=$1 fa=$2 fb=$3 pid
	shift 3
	"$BUILD/vssd-example-writer" --name "$name" --event-log "$WORK/$name.events" "$@" \
		"$fa" "$fb" >>"$WORK/$name.log" 2>&1 &
	pid=$!
	WRITER_PIDS="$WRITER_PIDS $pid"
	eval "WPID_$(printf %s "$name" | tr -c 'A-Za-z0-9_\n' _)=$pid"
	for _ in $(seq 1 200); do
		grep -q "registered" "$WORK/$name.log" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || fail "writer $name exited: $(cat "$WORK/$name.log")"
		sleep 0.05
	done
	fail "writer $name did not register: $(cat "$WORK/$name.log")"
}

# writer_pid NAME
writer_pid()
{
	eval "printf '%s\\n' \"\$WPID_$(printf %s "$1" | tr -c 'A-Za-z0-9_\n' _)\""
}

# events NAME: the event names the writer saw, in order, one a line
events()
{
	awk '{ print $2 }' "$WORK/$1.events" 2>/dev/null
}

# --- helpers of the vssctl, restart and bus tests (22-25) ------------------------------------

# run_rc CMD [ARGS]: runs CMD with errexit out of the way; its stdout goes to $WORK/out, its
# stderr to $WORK/err, its exit status to RC
run_rc()
{
	RC=0
	"$@" >"$WORK/out" 2>"$WORK/err" || RC=$?
}

# wait_for TRIES CMD [ARGS]: runs CMD every 0.1 s until it succeeds; fails after TRIES attempts
wait_for()
{
	local n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		n=$((n - 1))
		sleep 0.1
	done
	return 1
}

# no_vssd_devices: true when no dm device has a VSSD- uuid (nothing of vssd is left)
no_vssd_devices()
{
	[ -z "$(dm_with_uuid_prefix VSSD-)" ]
}

# snap_dev SET-ID VOLUME-NAME: the snapshot device vssd names for a volume in a set (DESIGN §4)
snap_dev()
{
	local sid=$1
	printf '/dev/mapper/vssd-%s-%s\n' "${sid%%-*}" "$2"
}

# snap_sha DEV FILE: mounts the ext4 snapshot DEV read-only (noload) and prints FILE's sha256
snap_sha()
{
	local m="$WORK/snap-sha.$$" s
	mkdir -p "$m"
	mount -o ro,noload "$1" "$m" || return 1
	s=$(sha_of "$m/$2") || {
		umount "$m"
		return 1
	}
	umount "$m" && printf '%s\n' "$s"
}

# dm_tables NAME: which tables the device has, as dmsetup info says ("LIVE", "LIVE & INACTIVE")
dm_tables()
{
	dmsetup info "$1" | sed -n 's/^Tables present: *//p'
}

# dm_minor NAME: the device's minor number (its /dev/dm-N)
dm_minor()
{
	dmsetup info -c --noheadings -o minor "$1" | tr -d ' '
}

# vssd_prop IFACE PROPERTY [PATH]: a property of a vssd object (root by default), busctl JSON
vssd_prop()
{
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" --json=short get-property org.vssd.ShadowCopy1 \
		"${3:-/org/vssd/ShadowCopy1}" "org.vssd.ShadowCopy1.$1" "$2"
}

# bus_raw PATH IFACE METHOD SIGNATURE JSON-ARGS: one call with exactly that signature, the
# arguments given as a JSON array (python-dbus converts them by the signature). Prints one JSON
# line: {"result": ...} or {"error": NAME, "message": ...}; exit status 0 either way.
# BUS_RAW_DEST (default org.vssd.ShadowCopy1) is the destination; BUS_RAW_AS, a command prefix
# such as "setpriv --reuid=USER ...", runs the call as someone else.
bus_raw()
{
	# shellcheck disable=SC2086 # BUS_RAW_AS is words
	# as another user, requester.py comes from unpriv_dir and the cwd is $WORK: the checkout
	# may be unreadable to that user
	local pp="$SRC/tests/integration"
	[ -z "${BUS_RAW_AS:-}" ] || pp=$(unpriv_dir)
	(cd "$WORK" && PYTHONPATH="$pp" ${BUS_RAW_AS:-} /usr/bin/python3 - "$@") <<'EOPY'
import json, sys
import dbus
path, iface, method, sig, args = sys.argv[1:6]
bus = dbus.SystemBus()
obj = bus.get_object(__import__("os").environ.get("BUS_RAW_DEST", "org.vssd.ShadowCopy1"),
                     path, introspect=False)
from requester import plain  # the JSON form of a reply, as requester.py prints it
try:
    r = obj.get_dbus_method(method, iface)(*json.loads(args), signature=sig, timeout=900)
    print(json.dumps({"result": plain(r)}))
except dbus.exceptions.DBusException as e:
    print(json.dumps({"error": e.get_dbus_name(), "message": e.get_dbus_message()}))
EOPY
}

# bus_allow_monitoring: lets root become a monitor of the test bus (dbus-monitor, busctl
# monitor), which the system bus policy alone refuses; our shipped policy stays as it is
bus_allow_monitoring()
{
	sed -i 's|^  <include>|  <policy user="root">\
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>\
  </policy>\
&|' "$WORK/bus.conf"
	dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.ReloadConfig >/dev/null || fail "the bus did not reload its policy"
}

# bus_raw_many: bus_raw for many calls in one process (python starts slowly under TCG): each
# line of stdin is "NAME<TAB>PATH<TAB>IFACE<TAB>METHOD<TAB>SIGNATURE<TAB>JSON-ARGS" and the
# reply goes to $WORK/NAME.json, as bus_raw prints it. BUS_RAW_AS applies.
bus_raw_many()
{
	local tab name json pp="$SRC/tests/integration"
	tab=$(printf '\t')
	[ -z "${BUS_RAW_AS:-}" ] || pp=$(unpriv_dir) # as in bus_raw
	# shellcheck disable=SC2086 # BUS_RAW_AS is words
	cd "$WORK"
	PYTHONPATH="$pp" ${BUS_RAW_AS:-} /usr/bin/python3 -c '
import json, sys
import dbus
bus = dbus.SystemBus()
from requester import plain  # the JSON form of a reply, as requester.py prints it
for line in sys.stdin:
    if not line.strip():
        continue
    name, path, iface, method, sig, args = line.rstrip("\n").split("\t")
    obj = bus.get_object("org.vssd.ShadowCopy1", path, introspect=False)
    try:
        r = obj.get_dbus_method(method, iface)(*json.loads(args), signature=sig, timeout=900)
        out = {"result": plain(r)}
    except dbus.exceptions.DBusException as e:
        out = {"error": e.get_dbus_name(), "message": e.get_dbus_message()}
    print(name + "\t" + json.dumps(out), flush=True)
' | while IFS="$tab" read -r name json; do
		printf '%s\n' "$json" >"$WORK/$name.json"
	done
	cd "$SRC"
}

# --- reverts (41, 42) ------------------------------------------------------------------------

# revert_volume_setup: volume a ($a, table $table_a) on a dm-delay device $RUN-slow over loop
# $loop ($sz sectors), so that a merge can be slowed down (merge_speed) and cut in the middle;
# ext4 mounted on $WORK/ma with a 2 MiB file "data" (sha256 in $data1); a vssd.conf whose COW
# files are large from the start (no growth needed); the bus and vssd started.
revert_volume_setup()
{
	truncate -s 64M "$WORK/a.img"
	loop=$(losetup -f --show "$WORK/a.img")
	sz=$(blockdev --getsz "$loop")
	dmsetup create "$RUN-slow" --table "0 $sz delay $loop 0 0 $loop 0 0"
	dmsetup create "$RUN-a" --table "0 $sz linear /dev/mapper/$RUN-slow 0"
	a=/dev/mapper/$RUN-a
	table_a=$(dm_table "$RUN-a")
	vol_mkfs_mount "$a" ext4 "$WORK/ma"
	head -c 2M /dev/urandom >"$WORK/ma/data"
	sync
	data1=$(sha_of "$WORK/ma/data")
	cat >"$WORK/vssd.conf" <<EOC
[storage]
directory = $VSSD_STORAGE_DIR
default-percent = 100
minimum = 16M
initial = 16M
grow-step = 8M
EOC
	mkdir -p "$VSSD_STORAGE_DIR"
	bus_start
	vssd_start
}

# merge_speed MS: every write to $RUN-slow waits MS milliseconds (0: full speed)
merge_speed()
{
	dmsetup reload "$RUN-slow" --table "0 $sz delay $loop 0 0 $loop 0 $1"
	dmsetup suspend "$RUN-slow"
	dmsetup resume "$RUN-slow"
}

# reverts_end: true once no revert is in progress (vssctl query reverts), within 150 s
reverts_end()
{
	local n=300
	while [ "$n" -gt 0 ]; do
		[ "$(vssctl --json query reverts | jq length)" != 0 ] || return 0
		n=$((n - 1))
		sleep 0.5
	done
	return 1
}

# scatter N: N 4 KiB writes to the raw volume $a, each in its own 16 KiB chunk, none adjacent,
# so that a merge copies them back one by one
scatter()
{
	/usr/bin/python3 - "$a" "$1" <<'EOPY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
for i in range(int(sys.argv[2])):
    os.pwrite(fd, os.urandom(4096), (2048 + 3 * i) * 16384)
os.fsync(fd)
os.close(fd)
EOPY
}
