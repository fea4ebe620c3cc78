#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 51-storage-bounds.sh - a shadow storage maximum beyond the volume (2^64-1, 2^63, one byte too
# many) is InvalidArgument naming the limit, over the bus and through vssctl, and changes nothing;
# a storage change the state file cannot take is undone; sets are still created and released,
# and the storage is kept across a restart of vssd
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 128M)
b=$(vol_create "$RUN-b" 64M)
mkdir -p "$WORK/st"
bus_start
vssd_start
STATE="$VSSD_STATE_DIR/state.json"
ROOT=/org/vssd/ShadowCopy1
MGR=org.vssd.ShadowCopy1.Manager
T=$(printf '\t')
MiB=1048576

# refused NAME WANT TEXT: bus_raw_many's reply NAME is error WANT, its message holds TEXT
refused()
{
	local got
	got=$(jq -r '.error // "no error"' "$WORK/$1.json")
	assert_eq "$got" "org.vssd.ShadowCopy1.Error.$2" "$1: error"
	jq -r .message "$WORK/$1.json" | grep -qF -- "$3" ||
		fail "$1: want \"$3\" in: $(jq -r .message "$WORK/$1.json")"
}

expect_err() # CODE TEXT ARGS...: vssctl fails (exit 1) with CODE and TEXT in its message
{
	local code=$1 text=$2
	shift 2
	run_rc vssctl "$@"
	[ "$RC" -eq 1 ] || fail "vssctl $*: exit $RC, want 1: $(cat "$WORK/out" "$WORK/err")"
	grep -qF -- "$code" "$WORK/err" || fail "vssctl $*: want $code: $(cat "$WORK/err")"
	grep -qF -- "$text" "$WORK/err" || fail "vssctl $*: want \"$text\": $(cat "$WORK/err")"
}

storage_is() # WHAT LOCATION MAX: list storage shows exactly volume a with LOCATION and MAX
{
	vssctl --json list storage >"$WORK/ls" || fail "$1: list storage"
	assert_eq "$(jq length "$WORK/ls")" 1 "$1: storage associations"
	assert_eq "$(jq -r '.[0].volume' "$WORK/ls")" "$a" "$1: storage volume"
	assert_eq "$(jq -r '.[0].location' "$WORK/ls")" "$2" "$1: storage location"
	assert_eq "$(jq -r '.[0].max_bytes' "$WORK/ls")" "$3" "$1: storage maximum"
}

# 1. over the bus: maxima the volume (128M) cannot have; no association is made
bus_raw_many <<EOC
add_max$T$ROOT$T$MGR${T}AddStorage${T}sst${T}["$a", "$WORK/st", 18446744073709551615]
add_i64$T$ROOT$T$MGR${T}AddStorage${T}sst${T}["$a", "$WORK/st", 9223372036854775808]
add_one$T$ROOT$T$MGR${T}AddStorage${T}sst${T}["$a", "$WORK/st", $((128 * MiB + 1))]
resize_max$T$ROOT$T$MGR${T}ResizeStorage${T}st${T}["$a", 18446744073709551615]
EOC
limit="give at most $((128 * MiB)) bytes, or 0 for the default"
refused add_max InvalidArgument "E_INVALIDARG (0x80070057): a maximum of 18446744073709551615 bytes is larger than $a (128M): $limit"
refused add_i64 InvalidArgument "a maximum of 9223372036854775808 bytes is larger than $a"
refused add_one InvalidArgument "a maximum of $((128 * MiB + 1)) bytes is larger than $a"
refused resize_max InvalidArgument "$limit"
assert_eq "$(vssctl --json list storage | jq length)" 0 "associations after the refusals"

# 2. through vssctl: a valid maximum, then 2^64-1 refused and the maximum kept
vssctl add storage --for "$a" --on "$WORK/st" --maxsize 24M
expect_err E_INVALIDARG "$limit" resize storage --for "$a" --maxsize 18446744073709551615
expect_err E_INVALIDARG "give at most $((64 * MiB)) bytes" \
	add storage --for "$b" --on "$WORK/st" --maxsize 18446744073709551615
storage_is "after the refused resize" "$WORK/st" $((24 * MiB))
assert_eq "$(jq -r '.storage[0].max_bytes' "$STATE")" $((24 * MiB)) "maximum in the state file"

# 3. a set is still created (and saved) and released
sid=$(vssctl --json create shadow --volume "$a" | jq -r .set_id)
[ -n "$sid" ] && [ "$sid" != null ] || fail "no set created after the refusals"
jq -e --arg s "$sid" '.sets[] | select(.id == $s)' "$STATE" >/dev/null ||
	fail "set $sid not in the state file"
vssctl delete shadows --set "$sid"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "left $(dm_with_uuid_prefix VSSD-)"

# 4. the state file cannot be written (a directory in its place): every change is undone
mv "$STATE" "$WORK/state.saved"
mkdir "$STATE"
expect_err VSS_E_UNEXPECTED_PROVIDER_ERROR "cannot write the state file" \
	resize storage --for "$a" --maxsize 32M
expect_err VSS_E_UNEXPECTED_PROVIDER_ERROR "cannot write the state file" \
	delete storage --for "$a"
expect_err VSS_E_UNEXPECTED_PROVIDER_ERROR "cannot write the state file" \
	add storage --for "$b" --on "$WORK/st" --maxsize 24M
storage_is "after the failed saves" "$WORK/st" $((24 * MiB))
rmdir "$STATE"
mv "$WORK/state.saved" "$STATE"

# 5. restart: the storage comes back from the state file as it was
vssd_stop
vssd_start
storage_is "after the restart" "$WORK/st" $((24 * MiB))
vssctl resize storage --for "$a" --maxsize 32M
storage_is "resized after the restart" "$WORK/st" $((32 * MiB))
assert_eq "$(jq -r '.storage[0].max_bytes' "$STATE")" $((32 * MiB)) "state file after the resize"
