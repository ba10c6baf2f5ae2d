#!/usr/bin/env bash
# Start weir-controller: controller-start.sh CONFIG [--override key=value]... [--daemon]  (see --help)
# Run by bash even when called as "sh script" (make run does that).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
weir_start controller "$@"
