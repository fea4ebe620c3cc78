#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# 61-debian-package.sh - the .debs as an administrator gets them (tests/vm/run --systemd, make
# check-vm-debian): dpkg -i creates the groups through sysusers and enables or starts nothing;
# the first call starts vssd through the bus; the completion and the library's .pc work; remove
# stops vssd and leaves its state and shadow copies; purge removes the configuration and says
# what it leaves. The guest's root is the host's under a tmpfs overlay: dpkg writes there only.
# shellcheck source=tests/integration/lib.sh
. "${0%/*}/../integration/lib.sh"
# shellcheck source=tests/integration/lib-vssd.sh
. "${0%/*}/../integration/lib-vssd.sh"
require_target snapshot

[ "$(cat /proc/1/comm)" = systemd ] ||
	fail "PID 1 is $(cat /proc/1/comm), not systemd: run this with tests/vm/run --systemd"
DEBS=${VSSD_DEBS:-$BUILD/deb}
PKGS="vssd libvsswriter1 libvsswriter-dev vssd-hook-writer"
prop() # UNIT PROPERTY: the property's value
{
	systemctl show -p "$2" --value "$1"
}
test_teardown_more()
{
	systemctl stop vssd-hook-writer.service vssd.service 2>/dev/null
	# shellcheck disable=SC2086
	dpkg -P $PKGS >/dev/null 2>&1
	rm -rf /run/systemd/system/vssd.service.d
	[ "${rc:-1}" -eq 0 ] || journalctl -q -b --no-pager -o short-monotonic -u vssd.service \
		-u dbus.service | tail -n 40 >&2
}

debs=
for p in $PKGS; do
	f=
	for f in "$DEBS/${p}_"*.deb; do break; done
	[ -e "$f" ] || fail "no ${p}_*.deb in $DEBS: make deb (or make check-vm-debian) builds them"
	debs="$debs $f"
done
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' &&
		fail "$p is installed already: this test wants a system without it"
done
[ ! -e /etc/vssd/vssd.conf ] || fail "/etc/vssd/vssd.conf exists before the install"

# ---- 1. install: groups made, nothing enabled, nothing started
note "1. install: groups made, nothing enabled, nothing started"
# man-db's trigger would rebuild its index of every manual page over 9p (minutes under TCG):
# its own switch turns that off, in the guest's overlay only
rm -f /var/lib/man-db/auto-update
# a container image's /usr/sbin/policy-rc.d (exit 101) forbids every start and stop by maintainer
# scripts; a Debian machine has none, and neither has the guest's overlay
rm -f /usr/sbin/policy-rc.d
# shellcheck disable=SC2086
timeout 600 dpkg -i $debs >"$WORK/install.log" 2>&1 ||
	fail "dpkg -i: $(tail -n 30 "$WORK/install.log"; ps -eo etime,args | tail -n 15)"
getent group vssadmin >/dev/null || fail "no group vssadmin after the install"
getent group vsswriters >/dev/null || fail "no group vsswriters after the install"
assert_eq "$(systemctl is-enabled vssd.service 2>&1)" disabled "vssd.service after the install"
assert_eq "$(systemctl is-enabled vssd-hook-writer.service 2>&1)" disabled \
	"vssd-hook-writer.service after the install"
assert_eq "$(systemctl is-active vssd.service)" inactive "vssd after the install"
assert_eq "$(systemctl is-active vssd-hook-writer.service)" inactive \
	"vssd-hook-writer after the install"
[ -f /etc/vssd/vssd.conf ] || fail "no /etc/vssd/vssd.conf"
[ -d /etc/vssd/writers.d ] || fail "no /etc/vssd/writers.d"
# the completion bash-completion loads, and the library as a developer finds it
bash -c '. /usr/share/bash-completion/completions/vssctl && complete -p vssctl' >"$WORK/comp" 2>&1 ||
	fail "the installed completion: $(cat "$WORK/comp")"
grep -q -- '-F _vssctl' "$WORK/comp" || fail "the completion: $(cat "$WORK/comp")"
pkg-config --exists libvsswriter || fail "pkg-config does not find libvsswriter"
assert_eq "$(pkg-config --variable=libdir libvsswriter)" "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)" \
	"libvsswriter's libdir"
ldd /usr/sbin/vssd-hook-writer | grep -Eq "libvsswriter.so.1 => (/usr)?/lib/[^ ]*-linux-gnu/libvsswriter" ||
	fail "vssd-hook-writer does not load the packaged library: $(ldd /usr/sbin/vssd-hook-writer)"

# ---- 2. the first call starts vssd through the bus (the guest has no udev: a drop-in)
note "2. the first call starts vssd through the bus (the guest has no udev: a drop-in)"
mkdir -p /run/systemd/system/vssd.service.d
printf '[Service]\nEnvironment=DM_DISABLE_UDEV=1\n' >/run/systemd/system/vssd.service.d/vm.conf
cat >/etc/vssd/vssd.conf <<EOC
[storage]
default-percent = 100
minimum = 16M
initial = 16M
grow-step = 8M
EOC
systemctl daemon-reload
# dbus's own trigger reloads it on a real system; make sure here, whatever the trigger did
dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
	org.freedesktop.DBus.ReloadConfig >/dev/null || fail "the system bus did not reload"
/usr/bin/vssctl list providers >"$WORK/providers" 2>&1 ||
	fail "list providers: $(cat "$WORK/providers")"
grep -q dm-snapshot "$WORK/providers" || fail "no dm-snapshot provider: $(cat "$WORK/providers")"
assert_eq "$(systemctl is-active vssd.service)" active "vssd after the first call"
assert_eq "$(prop vssd.service StatusText)" serving "the status vssd sent with READY=1"
a=$(vol_create "$RUN-a" 64M)
/usr/bin/vssctl --json create shadow --volume "$a" --context persistent --no-writers \
	>"$WORK/create.json" 2>&1 || fail "create shadow: $(cat "$WORK/create.json")"
id=$(jq -r '.snapshots[0].id' "$WORK/create.json")
[ -n "$(dm_with_uuid_prefix VSSD-)" ] || fail "no shadow copy device after create shadow"
devs=$(dm_with_uuid_prefix VSSD- | sort)

# ---- 3. remove: vssd stopped; its state, configuration and shadow copies stay
note "3. remove: vssd stopped; its state, configuration and shadow copies stay"
timeout 300 dpkg -r vssd-hook-writer libvsswriter-dev vssd >"$WORK/remove.log" 2>&1 ||
	fail "dpkg -r: $(tail -n 30 "$WORK/remove.log")"
assert_eq "$(systemctl is-active vssd.service)" inactive "vssd after dpkg -r"
[ ! -e /usr/sbin/vssd ] || fail "/usr/sbin/vssd is still there after dpkg -r"
assert_eq "$(dm_with_uuid_prefix VSSD- | sort)" "$devs" "vssd's devices after dpkg -r"
grep -q "$id" /var/lib/vssd/state.json || fail "the state lost the shadow copy on dpkg -r"
[ -f /etc/vssd/vssd.conf ] || fail "dpkg -r removed the configuration"

# ---- 4. purge: the configuration goes, the state stays, and the purge says so
note "4. purge: the configuration goes, the state stays, and the purge says so"
timeout 300 dpkg -P vssd >"$WORK/purge.log" 2>&1 || fail "dpkg -P: $(tail -n 30 "$WORK/purge.log")"
grep -q '/var/lib/vssd' "$WORK/purge.log" || fail "the purge did not say what it leaves: $(cat "$WORK/purge.log")"
[ ! -e /etc/vssd/vssd.conf ] || fail "the configuration survived the purge"
grep -q "$id" /var/lib/vssd/state.json || fail "the purge removed vssd's state"
assert_eq "$(dm_with_uuid_prefix VSSD- | sort)" "$devs" "vssd's devices after dpkg -P"
note "installed, activated, removed and purged: $(echo "$debs" | wc -w) packages"
