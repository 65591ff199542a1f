#!/usr/bin/env bash
# lxdkit's demo: the same set-up as scripts/test.sh (node_modules, build, host provisioning), then
# the lxdkit command end to end against the local LXD daemon:
#   lxdkit status                   the server, pools, networks
#   lxdkit profile apply profiles/  the profile collection (a second run reports "unchanged")
#   lxdkit demo                     three containers of a new model on the address-less bridge,
#                                   listed, a profile assigned, destroyed, with a summary
# and then the same three against the local Incus daemon (lxdkit --server incus ...), on its own
# address-less bridge. Extra arguments go to both `lxdkit demo` runs (e.g. --count 5).
set -eEuo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib-host.sh
. "$here/lib-host.sh"

require_root
started=$(date +%s)
build_checkout
"$here/provision-host.sh"
cli=$LXDKIT_ROOT/dist/cli/main.js
[ -f "$cli" ] || die "$cli does not exist: the build produced no CLI"
cd "$LXDKIT_ROOT"
say "lxdkit status"
node "$cli" status
say "lxdkit profile apply profiles/"
node "$cli" profile apply profiles/
say "lxdkit demo $*"
node "$cli" demo --bridge "$LXDKIT_TEST_BRIDGE" --image "$LXDKIT_TEST_IMAGE_ALIAS" "$@"
say "lxdkit --server incus status"
node "$cli" --server incus status
say "lxdkit --server incus profile apply profiles/"
node "$cli" --server incus profile apply profiles/
say "lxdkit --server incus demo $*"
node "$cli" --server incus demo --bridge "$LXDKIT_TEST_BRIDGE_INCUS" --image "$LXDKIT_TEST_IMAGE_ALIAS" "$@"
say "demo finished in $(($(date +%s) - started))s (set-up included)"
