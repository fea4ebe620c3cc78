# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# lib.sh - make bench helpers: a clock, samples by key, medians and IQRs, ratio formatting
#
# Sourced by bench/run (bash). Samples are kept in memory by key ("create.b.4"); every
# statistic is computed from them at report time, and bench_raw prints them all.

declare -A BENCH_S=()    # key -> space-separated samples, in the order they were taken
declare -A BENCH_SEEN=() # key -> 1 once it has had a sample
BENCH_KEYS=()            # keys in first-use order, for the raw dump

# now_us: wall clock in µs (EPOCHREALTIME; the guest runs no time daemon, so it does not jump)
now_us()
{
	local t=$EPOCHREALTIME
	printf '%s\n' "${t/./}"
}

# sample KEY VALUE...: records values under KEY
sample()
{
	local k=$1
	shift
	[ -n "${BENCH_SEEN[$k]:-}" ] || {
		BENCH_KEYS+=("$k")
		BENCH_SEEN[$k]=1
	}
	BENCH_S[$k]="${BENCH_S[$k]:-}${BENCH_S[$k]:+ }$*"
}

# discard KEY...: forgets the samples of KEY (a warm-up round)
discard()
{
	local k
	for k in "$@"; do BENCH_S[$k]=; done
}

# quartiles: reads numbers (whitespace-separated), prints "median q1 q3 min max n" (quartiles
# interpolated linearly, as R's type 7), or "- - - - - 0"; one awk, no sort(1)
# shellcheck disable=SC2016 # an awk program
BENCH_QUARTILES='
	{ for (i = 1; i <= NF; i++) { v[++n] = $i + 0 } }
	function q(p,   h, lo) {
		h = (n - 1) * p + 1; lo = int(h)
		return lo >= n ? v[n] : v[lo] + (h - lo) * (v[lo + 1] - v[lo])
	}
	END {
		if (n == 0) { print "- - - - - 0"; exit }
		for (i = 2; i <= n; i++) { # insertion sort: n is small
			x = v[i]
			for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]
			v[j + 1] = x
		}
		printf "%.6g %.6g %.6g %.6g %.6g %d\n", q(0.5), q(0.25), q(0.75), v[1], v[n], n
	}'

# stats KEY: "median q1 q3 min max n" of KEY's samples
stats()
{
	printf '%s\n' "${BENCH_S[$1]:-}" | awk "$BENCH_QUARTILES"
}

# pratio KEYX KEYA: "median [q1-q3]" of the per-round ratios X[i]/A[i] (the rounds are
# interleaved, so each ratio is taken under the same load); "-" unless both have as many
# samples
pratio()
{
	local x=${BENCH_S[$1]:-} a=${BENCH_S[$2]:-}
	awk -v x="$x" -v a="$a" 'BEGIN {
		n = split(x, X, " "); m = split(a, A, " ")
		if (n == 0 || n != m) exit 1
		for (i = 1; i <= n; i++) if (A[i] != 0) printf "%.6g ", X[i] / A[i]
		print ""
	}' | awk "$BENCH_QUARTILES" | awk '$6 == 0 { printf "-"; exit }
		{ printf "%.2f [%.2f-%.2f]", $1, $2, $3 }'
}

# med KEY: the median of KEY ("-" when there is none)
med()
{
	local m _
	read -r m _ <<<"$(stats "$1")"
	printf '%s\n' "$m"
}

# fmt_mi KEY DIV DIGITS: "median [q1-q3]" of KEY divided by DIV, DIGITS decimals
fmt_mi()
{
	local m q1 q3 _
	read -r m q1 q3 _ <<<"$(stats "$1")"
	if [ "$m" = - ]; then
		printf -- '-'
		return
	fi
	awk -v m="$m" -v a="$q1" -v b="$q3" -v d="$2" -v p="$3" \
		'BEGIN { printf "%.*f [%.*f-%.*f]", p, m / d, p, a / d, p, b / d }'
}

# ratio A B: A / B with 2 decimals ("-" when either is missing or B is 0)
ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0) print "-"
		else printf "%.2f\n", a / b }'
}

# bench_raw: every key with all its samples, one line each
bench_raw()
{
	local k
	for k in "${BENCH_KEYS[@]}"; do
		printf 'raw %s %s\n' "$k" "${BENCH_S[$k]}"
	done
}

# progress MSG: to stderr, so that stdout carries only the report
progress()
{
	printf '# bench: %s\n' "$*" >&2
}

# rotate N WORD...: the words rotated left by N (interleaving: each round starts elsewhere)
rotate()
{
	local n=$1
	shift
	local a=("$@") i c=$#
	for ((i = 0; i < c; i++)); do
		printf '%s\n' "${a[$(((i + n) % c))]}"
	done
}
