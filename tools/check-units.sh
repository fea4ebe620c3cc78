#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# check-units.sh - lint the systemd units: systemd-analyze verify, and the hardening of
# vssd.service measured as systemd-analyze security --offline=true scores it
#
# usage: tools/check-units.sh BUILD MAX   (MAX: the highest exposure allowed, in tenths: 40 = 4.0)
# The units are made as make install makes them, with @SBINDIR@ = BUILD, so that verify finds
# the programs. The exposure line is printed; above MAX the status is non-zero.
set -eu
build=$1
max=$2
command -v systemd-analyze >/dev/null || {
	echo "check-units: systemd-analyze not found (make deps)" >&2
	exit 1
}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
for u in vssd vssd-hook-writer; do
	sed "s|@SBINDIR@|$build|" "systemd/$u.service.in" >"$d/$u.service"
done
# the schedule units, as an instance (verify takes no template)
sed "s|@BINDIR@|$build|" systemd/vssd-snapshot@.service.in >"$d/vssd-snapshot@check.service"
cp systemd/vssd-snapshot@.timer "$d/vssd-snapshot@check.timer"
# verify prints its findings and fails only on some: any output is a finding
systemd-analyze verify --man=no "$d/vssd.service" "$d/vssd-hook-writer.service" \
	"$d/vssd-snapshot@check.service" "$d/vssd-snapshot@check.timer" >"$d/verify" 2>&1 ||
	{ cat "$d/verify" >&2; exit 1; }
if [ -s "$d/verify" ]; then
	cat "$d/verify" >&2
	exit 1
fi
rc=0
systemd-analyze security --offline=true --threshold="$max" --no-pager "$d/vssd.service" \
	>"$d/security" 2>&1 || rc=$?
tail -n 1 "$d/security"
if [ "$rc" -ne 0 ]; then
	grep '✗' "$d/security" >&2 || cat "$d/security" >&2
	echo "check-units: vssd.service's exposure is above $max/10" >&2
	exit 1
fi
echo "check-units: the units verify; vssd.service's exposure is at most $max/10"
