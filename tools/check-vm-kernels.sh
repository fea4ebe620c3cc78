#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# check-vm-kernels - make check-vm: the integration tier once per guest kernel, the guests at once
#
# usage: tools/check-vm-kernels.sh KERNEL...   (e.g. 6.1 6.12; VSSD_BUILD names the build)
# Each kernel's tests/vm/check-vm runs in its own guest, all of them at the same time (TCG guests
# spend much of a test waiting on timers, so two share this 2-core machine well), with its lines
# streamed live behind a "[KERNEL] " tag. Each guest's whole output is also kept in
# $VSSD_BUILD/check-vm-KERNEL.log. VM_SERIAL=1 runs the kernels one after another instead;
# VM_TESTS="NAME..." runs only those tests (check-vm's arguments).
# Exit 0 only when every kernel's run passed; the last lines name the kernels that failed.
set -uo pipefail

(($# > 0)) || {
	echo "usage: $0 KERNEL..." >&2
	exit 2
}
root=$(cd "${BASH_SOURCE[0]%/*}/.." && pwd)
logdir=${VSSD_BUILD:-$root/build}
mkdir -p "$logdir"

run_one()
{
	local k=$1
	# the tag goes on every line; the untagged log stays whole for a reader after the run
	local -a tests
	read -r -a tests <<<"${VM_TESTS:-}"
	VSSD_VM_KERNEL=$k "$root/tests/vm/check-vm" "${tests[@]}" 2>&1 |
		tee "$logdir/check-vm-$k.log" | sed -u "s/^/[$k] /"
	return "${PIPESTATUS[0]}"
}

declare -A pid=() st=()
for k in "$@"; do
	echo "== integration tier, guest kernel $k (log: $logdir/check-vm-$k.log)"
	if [[ ${VM_SERIAL:-0} == 1 ]]; then
		run_one "$k"
		st[$k]=$?
	else
		run_one "$k" &
		pid[$k]=$!
	fi
done
for k in "${!pid[@]}"; do
	wait "${pid[$k]}"
	st[$k]=$?
done

fail=
for k in "$@"; do
	summary=$(tail -n 1 "$logdir/check-vm-$k.log" 2>/dev/null)
	echo "== kernel $k: ${summary:-no result} (exit status ${st[$k]})"
	((st[$k] == 0)) || fail+=" $k"
done
if [[ -n $fail ]]; then
	echo "integration tier FAILED on kernel(s)$fail"
	exit 1
fi
echo "integration tier passed on kernel(s) $*"
