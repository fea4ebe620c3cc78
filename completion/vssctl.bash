# SPDX-License-Identifier: GPL-2.0-or-later
# vssctl.bash - bash completion for vssctl: verbs, options, shadow and set ids, volumes
#
# The verbs and their options are those of client/vssctl-args.c (the unit test
# completion/test-vssctl-completion.sh checks them against "vssctl --help"). Ids and volumes come
# from the running vssd through "vssctl --json list ..."; when vssd does not answer (or the
# caller may not ask it) they are simply not offered.
# shellcheck disable=SC2207 # compgen's words never hold blanks here

# verb -> its options, as in client/vssctl-args.c
declare -gA _vssctl_verb_opts=(
	["list shadows"]="--set --shadow --volume"
	["list volumes"]=""
	["list providers"]=""
	["list writers"]="--detailed"
	["list storage"]="--for"
	["create shadow"]="--volume --context --no-writers --no-auto-release --type --description"
	["delete shadows"]="--set --shadow --volume --oldest --all --quiet"
	["backup"]="--volume --context --type --no-writers --mount --description --document --previous"
	["restore"]="--document --component"
	["add storage"]="--for --on --maxsize"
	["resize storage"]="--for --maxsize"
	["delete storage"]="--for --delete-snapshots --quiet"
	["expose"]="--device-only"
	["unexpose"]=""
	["revert"]="--quiet"
	["query reverts"]="--for"
	["add volume"]="--name"
	["delete volume"]=""
	["schedule run"]=""
)
# vssadmin's spellings that vssctl also takes (completed as the verb they stand for)
declare -gA _vssctl_aliases=(
	["list shadow"]="list shadows"
	["list shadowstorage"]="list storage"
	["create shadows"]="create shadow"
	["delete shadow"]="delete shadows"
	["add shadowstorage"]="add storage"
	["resize shadowstorage"]="resize storage"
	["delete shadowstorage"]="delete storage"
	["revert shadow"]="revert"
	["query revert"]="query reverts"
)
_vssctl_global_opts="--bus --json --timeout-ms --help --version"
# options that take an argument (as a separate word or after "=")
_vssctl_arg_opts=" --bus --timeout-ms --set --shadow --volume --for --on --maxsize --context --type --description --name --document --previous --component "

# One kind of value from vssd: ids, set-ids, volumes. $1 the vssctl to run, $2 the --bus
# address or "", $3 the kind. Prints one value a line; nothing when vssd does not answer.
_vssctl_query()
{
	local vssctl=$1 bus=$2 kind=$3 verb key
	local -a cmd=("$vssctl")

	case $kind in
	ids) verb=shadows key=id ;;
	set-ids) verb=shadows key=set_id ;;
	volumes) verb=volumes key=volume ;;
	*) return 0 ;;
	esac
	[[ -n $bus ]] && cmd+=(--bus "$bus")
	"${cmd[@]}" --json --timeout-ms 3000 list "$verb" 2>/dev/null </dev/null |
		sed -n 's/^[[:space:]]*"'"$key"'":[[:space:]]*"\([^"]*\)".*$/\1/p' | sort -u
}

_vssctl_compgen_lines()
{
	local cur=$1 line
	shift
	while IFS= read -r line; do
		[[ -n $line && $line == "$cur"* ]] && COMPREPLY+=("$line")
	done < <("$@")
}

_vssctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=''
	local vssctl=${COMP_WORDS[0]} bus='' verb='' opt_prefix='' i w
	local -a pos=()

	COMPREPLY=()
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	# bash splits "--opt=value" at "=" when "=" is in COMP_WORDBREAKS (the default)
	if [[ $cur == "=" && $prev == --* ]]; then
		cur=
	elif [[ $prev == "=" ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == --*=* ]]; then
		prev=${cur%%=*}
		opt_prefix=$prev=
		cur=${cur#*=}
	fi
	[[ $vssctl == */* || $vssctl == vssctl ]] || vssctl=vssctl
	# shellcheck disable=SC2088 # the word as typed, not expanded
	[[ $vssctl == "~/"* ]] && vssctl=$HOME/${vssctl#"~/"}

	# what is typed before the word being completed: the bus, the verb, its arguments
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == -- ]]; then
			# backup's and restore's command: complete it as a command line of its own
			if [[ $verb == backup || $verb == restore ]]; then
				if ((i + 1 == COMP_CWORD)); then
					COMPREPLY=($(compgen -c -- "$cur"))
				elif declare -F _command_offset >/dev/null; then
					_command_offset $((i + 1))
				else
					COMPREPLY=($(compgen -f -- "$cur"))
				fi
				return 0
			fi
			continue
		fi
		if [[ $w == --*=* ]]; then
			[[ ${w%%=*} == --bus ]] && bus=${w#*=}
			continue
		fi
		if [[ $_vssctl_arg_opts == *" $w "* ]]; then
			if [[ ${COMP_WORDS[i + 1]} == "=" ]]; then
				((i++))
			fi
			if ((i + 1 < COMP_CWORD)); then
				[[ $w == --bus ]] && bus=${COMP_WORDS[i + 1]}
				((i++))
			fi
			continue
		fi
		[[ $w == -* || $w == "=" ]] && continue
		pos+=("$w")
	done
	if ((${#pos[@]} >= 2)) && [[ -n ${_vssctl_aliases["${pos[0]} ${pos[1]}"]+x} ]]; then
		verb=${_vssctl_aliases["${pos[0]} ${pos[1]}"]}
		pos=("${pos[@]:2}")
	elif ((${#pos[@]} >= 2)) && [[ -n ${_vssctl_verb_opts["${pos[0]} ${pos[1]}"]+x} ]]; then
		verb="${pos[0]} ${pos[1]}"
		pos=("${pos[@]:2}")
	elif ((${#pos[@]} >= 1)) && [[ -n ${_vssctl_verb_opts["${pos[0]}"]+x} ]]; then
		verb=${pos[0]}
		pos=("${pos[@]:1}")
	fi

	# the value of an option
	case $prev in
	--bus | --timeout-ms | --maxsize | --description | --name | --component)
		return 0
		;;
	--context)
		COMPREPLY=($(compgen -W "backup file-share-backup persistent app-rollback client-accessible client-accessible-writers nas-rollback" -- "$cur"))
		;;
	--type)
		COMPREPLY=($(compgen -W "full copy incremental differential log" -- "$cur"))
		;;
	--on)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "$cur"))
		;;
	--document | --previous)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		;;
	--shadow)
		_vssctl_compgen_lines "$cur" _vssctl_query "$vssctl" "$bus" ids
		;;
	--set)
		_vssctl_compgen_lines "$cur" _vssctl_query "$vssctl" "$bus" set-ids
		;;
	--volume | --for)
		_vssctl_compgen_lines "$cur" _vssctl_query "$vssctl" "$bus" volumes
		;;
	*)
		prev=
		;;
	esac
	if [[ -n $prev ]]; then
		if [[ -n $opt_prefix ]]; then
			for i in "${!COMPREPLY[@]}"; do
				COMPREPLY[i]=$opt_prefix${COMPREPLY[i]}
			done
		fi
		return 0
	fi

	# an option
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$_vssctl_global_opts ${verb:+${_vssctl_verb_opts[$verb]}}" -- "$cur"))
		[[ $verb == backup || $verb == restore ]] && COMPREPLY+=($(compgen -W "--" -- "$cur"))
		return 0
	fi

	# the verb, one word at a time
	if [[ -z $verb ]]; then
		local -A words=()
		local v
		for v in "${!_vssctl_verb_opts[@]}"; do
			if ((${#pos[@]} == 0)); then
				words[${v%% *}]=1
			elif [[ $v == "${pos[0]} "* ]]; then
				words[${v#* }]=1
			fi
		done
		COMPREPLY=($(compgen -W "${!words[*]}" -- "$cur"))
		return 0
	fi

	# the verb's arguments
	case $verb in
	expose | unexpose | revert)
		((${#pos[@]} == 0)) && _vssctl_compgen_lines "$cur" _vssctl_query "$vssctl" "$bus" ids
		if [[ $verb == expose ]] && ((${#pos[@]} == 1)); then
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -d -- "$cur"))
		fi
		;;
	"add volume")
		if ((${#pos[@]} == 0)); then
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -f -- "${cur:-/dev/}"))
		fi
		;;
	"delete volume")
		((${#pos[@]} == 0)) && _vssctl_compgen_lines "$cur" _vssctl_query "$vssctl" "$bus" volumes
		;;
	"schedule run")
		# the schedules of /etc/vssd/schedule.d (vssd-schedule(5))
		if ((${#pos[@]} == 0)); then
			local -a names=()
			local f
			for f in /etc/vssd/schedule.d/*.conf; do
				[[ -e $f ]] && f=${f##*/} && names+=("${f%.conf}")
			done
			COMPREPLY=($(compgen -W "${names[*]}" -- "$cur"))
		fi
		;;
	esac
	return 0
} &&
	complete -F _vssctl vssctl
