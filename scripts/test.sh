#!/usr/bin/env bash
# lxdkit's test command: installs node_modules when needed, builds, provisions this host
# (scripts/provision-host.sh), then runs the whole mocha suite in two parts, integration specs
# included. Extra arguments go to both mocha runs. Exits non-zero when either part fails.
#   1. the single-daemon part: everything but spec/cluster, against the host's LXD, Incus and libvirtd;
#   2. the cluster part: scripts/cluster.sh up (a 3-member LXD cluster beside the host's LXD), then
#      spec/cluster and the docs examples that need the cluster, then scripts/cluster.sh down, always.
# Each part ends with mocha's own totals; .ci/run adds them up.
set -eEuo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib-host.sh
. "$here/lib-host.sh"

require_root
build_checkout
"$here/provision-host.sh"
cd "$LXDKIT_ROOT"
status=0
say "mocha 'spec/**/*.spec.ts' (single daemons; spec/cluster runs next) $*"
CI_INTEGRATION=1 npx mocha 'spec/**/*.spec.ts' --ignore 'spec/cluster/**' "$@" || status=$?

# The cluster part. The cluster goes away however this script ends.
cluster_down() {
  trap - EXIT INT TERM
  say "cluster: scripts/cluster.sh down"
  "$here/cluster.sh" down || status=1
}
trap cluster_down EXIT
trap 'status=130; exit 130' INT TERM
say "cluster: scripts/cluster.sh up"
if "$here/cluster.sh" up; then
  say "mocha 'spec/cluster/**/*.spec.ts' spec/integration/docs-examples.spec.ts (the test cluster) $*"
  LXDKIT_CLUSTER_SPECS=1 CI_INTEGRATION=1 npx mocha 'spec/cluster/**/*.spec.ts' spec/integration/docs-examples.spec.ts "$@" || status=$?
else
  say "cluster: scripts/cluster.sh up failed; the cluster specs did not run"
  status=1
fi
cluster_down
exit "$status"
