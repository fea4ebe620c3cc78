# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# idle-scale.sh - make bench sections "idle" (vssd's memory and start-up with many persistent
# shadow copies) and "scale" (the k-th shadow copy of one volume: its creation and the origin's
# writes)
#
# Sourced by bench/run after lib.sh, tests/integration/lib.sh and lib-vssd.sh; uses its
# setup_daemon, BDBUS, RUNS and sample.
# Environment:
#   VSSD_BENCH_IDLE   shadow copy counts for idle (default "0 64 512"), ascending
#   VSSD_BENCH_SCALE  k for scale (default "1 8 64"), ascending

read -r -a IDLE_COUNTS <<<"${VSSD_BENCH_IDLE:-0 64 512}"
read -r -a SCALE_KS <<<"${VSSD_BENCH_SCALE:-1 8 64}"
IDLE_NVOL=16  # volumes the idle shadow copies are spread over, one set takes them all
IDLE_VOLS=()  # /dev/mapper/$RUN-iNN
IDLE_MADE=0   # shadow copies of IDLE_VOLS now
IDLE_SETS=()  # their sets

# ---- idle -------------------------------------------------------------------------------------

# vssd_restart_timed: stops vssd, starts it again and samples "startup.C" (exec to the moment
# the bus says it owns its name, which it requests after restoring its state) and "rss.C" and
# "pss.C" (kB, two seconds later, idle), C = IDLE_MADE
vssd_restart_timed()
{
	local line t0 wfd wpid owned rss pss
	vssd_stop
	coproc WAITNAME { exec "$BDBUS" waitname org.vssd.ShadowCopy1 600; }
	exec {wfd}<&"${WAITNAME[0]}"
	wpid=$WAITNAME_PID
	read -r line <&"$wfd"
	[ "$line" = waiting ] || fail "bench-dbus waitname: $line"
	t0=$(now_us)
	"$BUILD/vssd" --bus "$DBUS_SYSTEM_BUS_ADDRESS" --config "$WORK/vssd.conf" \
		--state-dir "$VSSD_STATE_DIR" --log-level "${VSSD_LOG_LEVEL:-info}" \
		>>"$WORK/vssd.log" 2>&1 &
	VSSD_PID=$!
	read -r line <&"$wfd" || true
	exec {wfd}<&-
	wait "$wpid" 2>/dev/null || true
	[[ $line =~ ^owned_at_us\ ([0-9]+)$ ]] ||
		fail "vssd did not take its name: $line $(tail -n 5 "$WORK/vssd.log")"
	owned=${BASH_REMATCH[1]}
	sample "startup.$IDLE_MADE" $((owned - t0))
	sleep 2
	read -r rss pss <<<"$(vssd_mem)"
	sample "rss.$IDLE_MADE" "$rss"
	sample "pss.$IDLE_MADE" "$pss"
}

# vssd_mem: "RSS PSS" of vssd in kB, both from one read of /proc/PID/smaps_rollup
vssd_mem()
{
	awk '$1 == "Rss:" { r = $2 } $1 == "Pss:" { p = $2 } END { print r, p }' \
		"/proc/$VSSD_PID/smaps_rollup"
}

# idle_grow TARGET: persistent shadow copies (context persistent, no writers: vssd restores them
# at start-up; a backup-context set is deleted there) of the idle volumes, one set over up to IDLE_NVOL volumes at
# a time, until TARGET exist
idle_grow()
{
	local target=$1 n v out args
	while [ "$IDLE_MADE" -lt "$target" ]; do
		n=$((target - IDLE_MADE))
		[ "$n" -le "$IDLE_NVOL" ] || n=$IDLE_NVOL
		args=()
		for v in "${IDLE_VOLS[@]:0:n}"; do args+=(--volume "$v"); done
		out=$(vssctl --json create shadow "${args[@]}" --context persistent --no-writers) ||
			fail "vssctl create shadow at $IDLE_MADE copies: $out"
		[[ $out =~ \"set_id\":\ *\"([0-9a-f-]+)\" ]] || fail "vssctl create shadow: $out"
		IDLE_SETS+=("${BASH_REMATCH[1]}")
		IDLE_MADE=$((IDLE_MADE + n))
		[ $((${#IDLE_SETS[@]} % 4)) != 0 ] ||
			progress "idle: $IDLE_MADE of $target shadow copies"
	done
}

section_idle()
{
	local i c n r t v rss pss
	setup_daemon
	if [ "${#IDLE_VOLS[@]}" = 0 ]; then
		progress "idle: $IDLE_NVOL volumes of 16M (dm-linear on loop, no file system)"
		for ((i = 1; i <= IDLE_NVOL; i++)); do
			IDLE_VOLS+=("$(vol_create "$RUN-i$(printf %02d "$i")" 16M)")
		done
	fi
	for c in "${IDLE_COUNTS[@]}"; do
		t=$(now_us)
		idle_grow "$c"
		# the creating process itself, before any restart (with none: the process the earlier
		# sections used)
		read -r rss pss <<<"$(vssd_mem)"
		[ "$c" = 0 ] || sample "rss.made.$c" "$rss"
		[ "$c" = 0 ] || sample "pss.made.$c" "$pss"
		progress "idle: $IDLE_MADE shadow copies ($((($(now_us) - t) / 1000)) ms to create" \
			"the new ones); vssd RSS $rss kB"
		for ((r = 0; r < RUNS; r++)); do
			vssd_restart_timed
			progress "idle: $c shadow copies: round $((r + 1))/$RUNS: start-up" \
				"$(fmt_mi "startup.$c" 1000 0) ms (median so far)"
		done
		# every shadow copy is back (GetManagedObjects: one reply with every object)
		t=$(now_us)
		n=$(vssctl --json list shadows | jq length)
		sample "list.$c" "$(($(now_us) - t))"
		progress "idle: $c shadow copies: vssctl --json list shadows $((($(now_us) - t) / 1000)) ms"
		[ "$n" = "$c" ] || fail "vssd lists $n shadow copies after a restart, want $c"
	done
	progress "idle: deleting the $IDLE_MADE shadow copies"
	for v in "${IDLE_VOLS[@]}"; do
		vssctl delete shadows --volume "$v" --all --quiet >/dev/null
	done
	IDLE_MADE=0
	IDLE_SETS=()
}

report_idle()
{
	local c
	echo
	echo "== 5. Idle cost: vssd with C persistent shadow copies (context persistent, spread"
	echo "   over $IDLE_NVOL volumes, one set per $IDLE_NVOL). RSS and PSS in MiB:"
	echo "   /proc/PID/smaps_rollup two seconds after start-up (idle); made = the process that"
	echo "   created them, before any restart. start-up: exec to the bus name (vssd requests"
	echo "   it after restoring its state), ms. Goals: RSS at most 4 MiB with none, 8 MiB with"
	echo "   512."
	printf '%5s  %-22s %-22s %-22s %-22s %s\n' C "RSS" "PSS" "RSS made" "PSS made" \
		"start-up ms"
	for c in "${IDLE_COUNTS[@]}"; do
		printf '%5s  %-22s %-22s %-22s %-22s %s\n' "$c" "$(fmt_mi "rss.$c" 1024 2)" \
			"$(fmt_mi "pss.$c" 1024 2)" "$(fmt_mi "rss.made.$c" 1024 2)" \
			"$(fmt_mi "pss.made.$c" 1024 2)" "$(fmt_mi "startup.$c" 1000 0)"
	done
}

# ---- scale ------------------------------------------------------------------------------------

SVOL=
setup_svol()
{
	[ -z "$SVOL" ] || return 0
	SVOL=$(vol_create "$RUN-scale" 128M)
	# room for every copy the writes make: 4 MiB per k and round, far below the volume
	vssctl resize storage --for "$SVOL" --maxsize 128M >/dev/null ||
		fail "vssctl resize storage --for $SVOL"
}

# scale_write REGION: 1 MiB of O_DIRECT 4 KiB writes to the scale volume at REGION MiB (a region
# no snapshot of this round has seen written); prints bytes/s
scale_write()
{
	local out
	out=$(dd if=/dev/zero of="$SVOL" bs=4k count=256 seek=$(($1 * 256)) oflag=direct 2>&1)
	[[ $out =~ ([0-9]+)\ bytes.*copied,\ ([0-9.e+-]+)\ s ]] || fail "dd: $out"
	awk -v b="${BASH_REMATCH[1]}" -v s="${BASH_REMATCH[2]}" 'BEGIN { printf "%.0f\n", b / s }'
}

# scale_create: one more shadow copy of the scale volume through vssctl; prints its wall time, µs
scale_create()
{
	local t0 t1 out
	t0=$(now_us)
	out=$(vssctl --json create shadow --volume "$SVOL" --context persistent --no-writers) ||
		fail "vssctl create shadow: $out"
	t1=$(now_us)
	printf '%s\n' $((t1 - t0))
}

section_scale()
{
	local r k n t region
	setup_daemon
	setup_svol
	for ((r = -1; r < RUNS; r++)); do # round -1: warm-up, discarded
		progress "scale: round $((r + 1))/$RUNS (k ${SCALE_KS[*]})"
		sync
		sample scale.write.0 "$(scale_write 0)"
		n=0
		region=1
		for k in "${SCALE_KS[@]}"; do
			while [ "$n" -lt $((k - 1)) ]; do
				scale_create >/dev/null
				n=$((n + 1))
			done
			t=$(scale_create)
			n=$((n + 1))
			sample "scale.create.$k" "$t"
			sample "scale.write.$k" "$(scale_write "$region")"
			region=$((region + 1))
		done
		vssctl delete shadows --volume "$SVOL" --all --quiet >/dev/null
		[ "$r" -ge 0 ] || discard scale.write.0 "${SCALE_KS[@]/#/scale.create.}" \
			"${SCALE_KS[@]/#/scale.write.}"
	done
}

report_scale()
{
	local k
	echo
	echo "== 6. Scale: the k-th shadow copy of one 128 MiB volume (no file system), then 1 MiB"
	echo "   of O_DIRECT 4 KiB writes to its origin, to chunks none of the k copies has: dm-snapshot"
	echo "   copies each first write once per snapshot. create: vssctl create shadow wall time,"
	echo "   ms (a process start included); write: MB/s, per-round ratio to k=0."
	printf '%5s  %-22s %-22s %s\n' k "create ms" "write MB/s" "write ratio to k=0"
	printf '%5s  %-22s %-22s %s\n' 0 - "$(fmt_mi scale.write.0 1000000 1)" 1.00
	for k in "${SCALE_KS[@]}"; do
		printf '%5s  %-22s %-22s %s\n' "$k" "$(fmt_mi "scale.create.$k" 1000 0)" \
			"$(fmt_mi "scale.write.$k" 1000000 1)" \
			"$(pratio "scale.write.$k" scale.write.0)"
	done
	printf '   create k / create k=%s:' "${SCALE_KS[0]}"
	for k in "${SCALE_KS[@]}"; do
		printf ' k=%s %s' "$k" "$(pratio "scale.create.$k" "scale.create.${SCALE_KS[0]}")"
	done
	echo
}
