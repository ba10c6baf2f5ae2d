#!/usr/bin/env bash
# Stop weir-controller by its pid file: controller-stop.sh [CONFIG|--pid-file F|--all]  (see --help)
# Run by bash even when called as "sh script" (make run does that).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
weir_stop controller "$@"
