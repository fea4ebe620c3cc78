#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run-all.sh - run integration tests one by one (in the test guest) and report PASS/FAIL
#
# usage: tests/integration/run-all.sh [TEST...]   (TEST: 00-guest-sanity, its .sh name or path)
# Without TEST: every tests/integration/*.sh but run-all.sh and the libraries (lib.sh, lib-*.sh),
# in name order, then with TEST_LONG=1 (make check-long) the long ones, tests/integration/long/*.sh. Each test runs in its own process group under a timeout (TEST_TIMEOUT seconds,
# default 300), with its output in a log that is shown when it fails. Exit 77 (skip) counts as a
# failure: the guest kernel is ours, so a missing dm target is a bug. A test that leaves dm
# devices or loop devices behind fails too, and they are removed before the next test. The last
# line is "N passed, N failed"; the status is 0 only when none failed and at least one ran.
set -uo pipefail

dir=$(cd "${BASH_SOURCE[0]%/*}" && pwd)
timeout=${TEST_TIMEOUT:-300}
[[ $timeout =~ ^[0-9]+$ ]] || {
	echo "run-all: TEST_TIMEOUT must be a number of seconds" >&2
	exit 2
}

# is_test PATH: a test, not a library or this runner
is_test()
{
	case ${1##*/} in
	lib.sh | lib-*.sh | run-all.sh) return 1 ;;
	*.sh) [[ -f $1 ]] ;;
	*) return 1 ;;
	esac
}

tests=()
if (($# == 0)); then
	for t in "$dir"/*.sh; do
		! is_test "$t" || tests+=("$t")
	done
	if [[ ${TEST_LONG:-} == 1 ]]; then
		for t in "$dir"/long/*.sh; do
			! is_test "$t" || tests+=("$t")
		done
	fi
else
	for a in "$@"; do
		t=${a##*/}
		t=$dir/${t%.sh}.sh
		[[ -f $t || ! -f $dir/long/${t##*/} ]] || t=$dir/long/${t##*/}
		is_test "$t" || {
			echo "run-all: no such test: $a" >&2
			exit 2
		}
		tests+=("$t")
	done
fi

logs=$(mktemp -d /tmp/run-all.XXXXXX)

# leftovers: what a test may have left: dm devices named vt<pid>-* (lib.sh's $RUN) or with a VSSD-
# uuid, and loop devices backed by files in /var/lib/vssd-test* (lib.sh's $WORK) or /tmp/vt*.
leftovers()
{
	dmsetup info -c --noheadings -o name,uuid --separator '|' 2>/dev/null |
		awk -F'|' '$1 ~ /^vt[0-9]+-/ || index($2, "VSSD-") == 1 { print "dm " $1 }'
	losetup -n -l -O NAME,BACK-FILE 2>/dev/null |
		awk '$2 ~ "^/tmp/vt[0-9]+-" || $2 ~ "^/var/lib/vssd-test" { print "loop", $1, $2 }'
}

# clean: remove the leftovers (best effort), so that the next test starts clean.
clean()
{
	local round name mnt
	local -a names
	awk '$2 ~ "^/tmp/vt[0-9]+-" || $2 ~ "^/var/lib/vssd-test" { print $2 }' /proc/self/mounts |
		sort -r |
		while read -r mnt; do umount -l "$mnt"; done
	for round in 1 2 3 4 5; do
		mapfile -t names < <(leftovers | awk '$1 == "dm" { print $2 }')
		((${#names[@]})) || break
		for name in "${names[@]}"; do
			dmsetup resume "$name" 2>/dev/null
			if ((round < 5)); then
				dmsetup remove "$name" 2>/dev/null
			else
				dmsetup remove --force "$name"
			fi
		done
	done
	leftovers | awk '$1 == "loop" { print $2 }' | while read -r name; do
		losetup -d "$name"
	done
}

# interpreter TEST: the test's #! line as words (sh when it has none)
interpreter()
{
	local line
	IFS= read -r line <"$1" || true
	if [[ $line == '#!'* ]]; then
		echo "${line#'#!'}"
	else
		echo sh
	fi
}

passed=0 failed=0
for t in "${tests[@]}"; do
	name=${t##*/}
	name=${name%.sh}
	log=$logs/$name.log
	read -ra interp <<<"$(interpreter "$t")"
	t0=$SECONDS
	# a test that is slow by nature (LVM's commands under TCG) names its own bound in a
	# "# test-timeout: SECONDS" line; the larger of that and TEST_TIMEOUT applies
	t_to=$(sed -n 's/^# test-timeout: \([0-9][0-9]*\)$/\1/p' "$t" | head -n 1)
	[[ -n $t_to ]] && ((t_to > timeout)) || t_to=$timeout
	# timeout runs the test in a process group of its own and signals the whole group: TERM
	# (lib.sh then tears down), KILL 10 s later.
	timeout -k 10 "$t_to" "${interp[@]}" "$t" </dev/null >"$log" 2>&1
	rc=$?
	took="$((SECONDS - t0)) s"
	left=$(leftovers)
	if [[ -n $left ]]; then
		{
			echo "---- left behind after the test:"
			echo "$left"
		} >>"$log"
		clean >>"$log" 2>&1
	fi

	if ((rc == 0)) && [[ -z $left ]]; then
		echo "PASS $name ($took)"
		passed=$((passed + 1))
		continue
	fi
	failed=$((failed + 1))
	if ((rc == 124 || rc == 137)); then
		echo "FAIL $name (timed out after $t_to s, TEST_TIMEOUT or its test-timeout line)"
	elif ((rc == 77)); then
		why=$(sed -n 's/^SKIP: //p' "$log" | tail -n1)
		echo "SKIP $name (${why:-exit 77}): counted as a failure"
	elif ((rc == 0)); then
		echo "FAIL $name (left dm or loop devices behind)"
	else
		echo "FAIL $name (exit $rc, $took)"
	fi
	echo "---- log of $name ----"
	cat "$log"
	echo "---- end of $name ----"
done
rm -rf "$logs"

echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
