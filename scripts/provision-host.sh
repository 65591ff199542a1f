#!/usr/bin/env bash
# Prepares this host for lxdkit's demo and integration specs. Idempotent; run as root.
#   1. installs the Debian packages (LXD 5.0.2, libvirt, qemu, busybox-static, ...) if missing, and
#      Incus 6.0 (incus-base, from Debian's bookworm-backports) beside them, upgrading nothing
#   2. starts the LXD daemon, the Incus daemon, virtlogd and libvirtd if they do not answer (no
#      systemd needed)
#   3. builds the busybox test images (scripts/build-test-images.sh)
#   4. prepares LXD with lxdkit's own client (scripts/prepare-lxd.ts): a `dir` storage pool
#      `default`, the root disk in the `default` profile, the bridge $LXDKIT_TEST_BRIDGE without
#      addresses, and the test images with their aliases
#   5. prepares Incus the same way with its own CLI (prepare_incus in lib-host.sh), with the bridge
#      $LXDKIT_TEST_BRIDGE_INCUS
# It never runs `lxd init` or `incus admin init`, never gives a bridge an address and never starts
# libvirt's `default` network.
set -eEuo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib-host.sh
. "$here/lib-host.sh"

require_root
ensure_packages
ensure_incus_package
ensure_lxd
ensure_incus
ensure_libvirt
say "images: $LXDKIT_IMAGE_DIR"
"$here/build-test-images.sh" | sed 's/^/    /'
ensure_node_modules
say "lxd: preparing with scripts/prepare-lxd.ts"
(cd "$LXDKIT_ROOT" && npx tsx scripts/prepare-lxd.ts) || die "scripts/prepare-lxd.ts failed"
say "incus: preparing"
prepare_incus
say "host ready: pool default, bridges $LXDKIT_TEST_BRIDGE (LXD) and $LXDKIT_TEST_BRIDGE_INCUS (Incus), no addresses; images $LXDKIT_TEST_IMAGE_ALIAS and $LXDKIT_TEST_UNIFIED_IMAGE_ALIAS in both"
