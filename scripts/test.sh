#!/usr/bin/env bash
# lxdkit's test command: installs node_modules when needed, builds, provisions this host
# (scripts/provision-host.sh), then runs the whole mocha suite, integration specs included, against
# the real LXD daemon and libvirtd. Extra arguments go to mocha. Exits with mocha's status.
set -eEuo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib-host.sh
. "$here/lib-host.sh"

require_root
build_checkout
"$here/provision-host.sh"
cd "$LXDKIT_ROOT"
say "mocha 'spec/**/*.spec.ts' $*"
CI_INTEGRATION=1 exec npx mocha 'spec/**/*.spec.ts' "$@"
