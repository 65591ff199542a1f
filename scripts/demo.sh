#!/usr/bin/env bash
# lxdkit's demo: the same set-up as scripts/test.sh (node_modules, build, host provisioning), then
# `lxdkit status` against the local LXD daemon. Extra arguments go to the status command.
set -eEuo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib-host.sh
. "$here/lib-host.sh"

require_root
build_checkout
"$here/provision-host.sh"
cli=$LXDKIT_ROOT/dist/cli/main.js
[ -f "$cli" ] || die "$cli does not exist: the build produced no CLI"
say "lxdkit status $*"
exec node "$cli" status "$@"
