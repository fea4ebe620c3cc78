#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# deps.sh - install every Debian package that build, tests, demo and benchmarks need (idempotent)
set -eu

# Build: the compiler, pkg-config and the -dev packages; clang-format for format-check.
# Tests, demo: dbus (dbus-daemon, dbus-send, dbus-monitor), dmsetup, mkfs (e2fsprogs,
# xfsprogs), util-linux (blockdev, flock, fsfreeze, setpriv, findmnt) and mount (mount, losetup),
# jq, python3-dbus (requester.py), systemd (busctl, systemd-sysusers), libglib2.0-bin (gdbus),
# passwd (useradd, groupadd); the guest: qemu-system-x86, busybox-static, cpio, xz-utils and
# zstd (kernel modules come compressed with either). The LVM providers and their tests: lvm2 and
# thin-provisioning-tools (thin_check, which LVM runs when it activates a thin pool). Benchmarks:
# what bench/ calls.
# The Debian package (dpkg-buildpackage -us -uc -b, lintian): dpkg-dev, debhelper, lintian,
# chrpath, and bash-completion for its pkg-config file (where the completion goes).
# Not kmod: the guest runs the host's binaries but loads modules with busybox, against a module
# index that busybox built (tests/vm/README.md); a kmod modprobe first in PATH is untested there.
PACKAGES="
build-essential pkg-config git clang-format
libdevmapper-dev libdbus-1-dev libsystemd-dev libjson-c-dev uuid-dev libmount-dev libblkid-dev
libinih-dev check
dbus dmsetup e2fsprogs xfsprogs util-linux jq cpio xz-utils busybox-static qemu-system-x86
lvm2 thin-provisioning-tools tar coreutils procps psmisc strace
python3-dbus systemd libglib2.0-bin passwd
mount zstd
dpkg-dev debhelper lintian chrpath bash-completion
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing; run 'make deps' as root" >&2
	exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends: qemu's recommends pull ~500 MB of GUI libraries
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
