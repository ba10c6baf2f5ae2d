#!/usr/bin/env bash
# kafka-consumer-groups.sh for Weir: list, describe, reset the offsets of and
# delete consumer groups through the brokers' group coordinators.  The flags
# are checked here; scripts/consumer_groups.py (kafka-python) does the work
# and prints Kafka 3's output.
# Run by bash even when called as "sh script".
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOT
Usage: $PROG --bootstrap-server HOST:PORT[,...] ACTION [options]

Actions (exactly one):
  --list [--state [S,S...]]              list the groups (with --state: and their
                                         states, only those in the given states)
  --describe (--group G... | --all-groups) [--offsets | --members [--verbose] | --state]
                                         --offsets (the default): per partition the
                                         committed offset, log end offset, lag and owner;
                                         --members: the members, --verbose adds their
                                         partitions; --state: coordinator, assignor,
                                         state and member count
  --reset-offsets (--group G... | --all-groups)
        (--topic T[:P,P...]... | --all-topics)   (not needed with --from-file)
        (--to-earliest | --to-latest | --to-current | --to-offset N | --shift-by N
         | --to-datetime YYYY-MM-DDTHH:mm:SS.sss[Z|+hh:mm] | --by-duration PnDTnHnMnS
         | --from-file CSV)
        [--dry-run | --execute] [--export]
                                         only while the group is inactive (Empty);
                                         new offsets are kept within [earliest, latest];
                                         a dry run is the default
  --delete (--group G... | --all-groups)   delete inactive groups and their offsets
  --delete-offsets --group G --topic T[:P,P...]...
                                         delete committed offsets (brokers with OffsetDelete)

Options:
  --bootstrap-server B   brokers to connect to (default: \$WEIR_BOOTSTRAP)
  --timeout MS           how long to wait for the brokers and coordinators (default 5000)
  -h, --help             show this help

--to-datetime without a zone is UTC, as in Kafka.  --export prints the plan
as CSV (topic,partition,offset; group,topic,partition,offset for several
groups), which --from-file reads back.

Exit status: 0 on success; 1 when an error was reported (the group does not
exist, it is active, a deletion failed, a broker could not be reached);
2 on bad usage.
EOT
}

BOOTSTRAP_SERVER=${WEIR_BOOTSTRAP:-} action="" groups=() topics=() all_groups=0 all_topics=0
sub="" verbose=0 state_given=0 state_val="" mode="" export_csv=0 timeout=5000
scenario="" scen_val=""
set_action() {
    [ -z "$action" ] || usage_error "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets (got $action and $1)"
    action=$1
}
set_sub() {
    [ -z "$sub" ] || [ "$sub" = "$1" ] || usage_error "Option --describe takes at most one of these options: --members, --offsets, --state"
    sub=$1
}
set_scenario() { # FLAG [VALUE]
    [ -z "$scenario" ] || usage_error "Option \"$scenario\" can't be used with option \"$1\""
    scenario=$1 scen_val=${2:-}
}
need_int() { # FLAG VALUE [signed]
    local re='^[0-9]+$'
    [ "${3:-}" = signed ] && re='^-?[0-9]+$'
    [[ $2 =~ $re ]] || usage_error "option '$1' needs a number, got '$2'"
}

while [ $# -gt 0 ]; do
    # --flag=value is the same as --flag value.
    case $1 in --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;; esac
    case $1 in
    -h | --help) usage; exit 0 ;;
    --bootstrap-server | --broker-list | --zookeeper) check_client_flag "$1"; need_arg "$1" $#; BOOTSTRAP_SERVER=$2; shift 2 ;;
    --list | --describe | --delete | --reset-offsets | --delete-offsets) set_action "$1"; shift ;;
    --group) need_arg "$1" $#; [ -n "$2" ] || usage_error "option '--group' needs a group id"; groups+=("$2"); shift 2 ;;
    --all-groups) all_groups=1; shift ;;
    --topic) need_arg "$1" $#; [ -n "$2" ] || usage_error "option '--topic' needs a topic"; topics+=("$2"); shift 2 ;;
    --all-topics) all_topics=1; shift ;;
    --members | --offsets) set_sub "$1"; shift ;;
    --state) state_given=1
        # An optional value, as in Kafka: --list --state stable,empty
        if [ $# -ge 2 ] && [ "${2#-}" = "$2" ]; then state_val=$2; shift; fi
        shift ;;
    --verbose) verbose=1; shift ;;
    --dry-run | --execute)
        [ -z "$mode" ] || [ "$mode" = "$1" ] || usage_error "Option --reset-offsets only accepts one of --execute and --dry-run"
        mode=$1; shift ;;
    --export) export_csv=1; shift ;;
    --to-earliest | --to-latest | --to-current) set_scenario "$1"; shift ;;
    --to-offset) need_arg "$1" $#; need_int "$1" "$2"; set_scenario "$1" "$2"; shift 2 ;;
    --shift-by) need_arg "$1" $#; need_int "$1" "$2" signed; set_scenario "$1" "$2"; shift 2 ;;
    --to-datetime | --by-duration | --from-file) need_arg "$1" $#; set_scenario "$1" "$2"; shift 2 ;;
    --timeout) need_arg "$1" $#; need_int "$1" "$2"; timeout=$2; shift 2 ;;
    --command-config) usage_error "option '--command-config' is not supported (the brokers take plain connections; no client properties are needed)" ;;
    *) usage_error "unknown option '$1'" ;;
    esac
done

[ -n "$BOOTSTRAP_SERVER" ] || usage_error "Missing required argument \"[bootstrap-server]\""
[ -n "$action" ] || usage_error "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets"
ngroups=${#groups[@]} ntopics=${#topics[@]}
[ "$ngroups" -eq 0 ] || [ $all_groups -eq 0 ] || usage_error "Option \"--group\" can't be used with option \"--all-groups\""

# Options that the chosen action would ignore are errors, as in Kafka.
only_for() { # FLAG GIVEN(0/1) ACTIONS...
    local flag=$1 given=$2 a
    shift 2
    [ "$given" = 0 ] && return 0
    for a in "$@"; do [ "$action" = "$a" ] && return 0; done
    usage_error "Option \"$flag\" can't be used with option \"$action\""
}
only_for --group $((ngroups > 0)) --describe --delete --reset-offsets --delete-offsets
only_for --all-groups $all_groups --describe --delete --reset-offsets
only_for --topic $((ntopics > 0)) --reset-offsets --delete-offsets
only_for --all-topics $all_topics --reset-offsets
only_for "${sub:---members}" $((${#sub} > 0)) --describe
only_for --verbose $verbose --describe
only_for --state $state_given --describe --list
only_for "${mode:---execute}" $((${#mode} > 0)) --reset-offsets
only_for --export $export_csv --reset-offsets
only_for "${scenario:---to-earliest}" $((${#scenario} > 0)) --reset-offsets

for t in ${topics[@]+"${topics[@]}"}; do
    case $t in
    :*) usage_error "Invalid topic arg '$t', expected topic name and partitions (T:0,1,2)" ;;
    *:*) [[ ${t#*:} =~ ^[0-9]+(,[0-9]+)*$ ]] ||
        usage_error "Invalid topic arg '$t', expected topic name and partitions (T:0,1,2)" ;;
    esac
done

case $action in
--describe)
    [ "$ngroups" -gt 0 ] || [ $all_groups -eq 1 ] || usage_error "Option --describe takes one of these options: --group, --all-groups"
    if [ $state_given -eq 1 ]; then
        [ -z "$state_val" ] || usage_error "Option --describe does not take a value for --state"
        set_sub --state
    fi
    [ $verbose -eq 0 ] || [ "$sub" = --members ] || usage_error "--verbose is shown with --describe --members only" ;;
--delete)
    [ "$ngroups" -gt 0 ] || [ $all_groups -eq 1 ] || usage_error "Option --delete takes one of these options: --group, --all-groups" ;;
--delete-offsets)
    if [ "$ngroups" -ne 1 ] || [ "$ntopics" -eq 0 ]; then
        usage_error "Option --delete-offsets takes the following options: one --group, and --topic"
    fi ;;
--reset-offsets)
    [ "$ngroups" -gt 0 ] || [ $all_groups -eq 1 ] || usage_error "Option --reset-offsets takes one of these options: --group, --all-groups"
    [ -n "$scenario" ] || usage_error "Option --reset-offsets requires one of the following scenarios: --to-offset, --shift-by, --to-datetime, --by-duration, --to-earliest, --to-latest, --to-current, --from-file"
    [ "$ntopics" -eq 0 ] || [ $all_topics -eq 0 ] || usage_error "Option \"--topic\" can't be used with option \"--all-topics\""
    [ "$ntopics" -gt 0 ] || [ $all_topics -eq 1 ] || [ "$scenario" = --from-file ] ||
        usage_error "One of the reset scopes should be defined: --all-topics, --topic."
    if [ -z "$mode" ]; then
        echo "WARN: No action will be performed as the --execute option is missing. In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting." >&2
        mode=--dry-run
    fi ;;
esac

# The helper takes key=value words; group and topic may repeat.
args=("action=${action#--}" "bootstrap=$BOOTSTRAP_SERVER" "timeout=$timeout" "all_groups=$all_groups"
      "all_topics=$all_topics" "sub=${sub#--}" "verbose=$verbose" "state=$state_given"
      "states=$state_val" "mode=${mode#--}" "export=$export_csv" "scenario=${scenario#--}" "value=$scen_val")
for g in ${groups[@]+"${groups[@]}"}; do args+=("group=$g"); done
for t in ${topics[@]+"${topics[@]}"}; do args+=("topic=$t"); done
export PROG
exec /usr/bin/python3 "$REPO/scripts/consumer_groups.py" "${args[@]}"
