#!/usr/bin/env bash
# Prepares this host for lxdkit's demo and integration specs. Idempotent; run as root.
#   1. installs the Debian packages (LXD 5.0.2, libvirt, qemu, busybox-static, ...) if missing
#   2. starts the LXD daemon, virtlogd and libvirtd if they do not answer (no systemd needed)
#   3. builds the busybox test images (scripts/build-test-images.sh)
#   4. prepares LXD: a `dir` storage pool `default`, the root disk in the `default` profile,
#      the bridge $LXDKIT_TEST_BRIDGE without addresses, and the test images with their aliases
# It never runs `lxd init`, never gives a bridge an address and never starts libvirt's `default`
# network.
set -eEuo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib-host.sh
. "$here/lib-host.sh"

# Points alias $1 at image $2. An image that loses its last alias this way (an older build of the
# test image) is deleted.
set_alias() {
  local alias=$1 fp=$2 old
  old=$(lxc query "/1.0/images/aliases/$alias" 2>/dev/null | sed -n 's/.*"target": "\([0-9a-f]*\)".*/\1/p' || true)
  [ "$old" = "$fp" ] && return
  if [ -n "$old" ]; then
    lxc image alias delete "$alias" || die "could not delete the alias $alias"
  fi
  lxc image alias create "$alias" "$fp" || die "could not create the alias $alias"
  say "lxd: alias $alias -> ${fp:0:12}"
  if [ -n "$old" ] && lxc query "/1.0/images/$old" 2>/dev/null | grep -q '"aliases": \[\]'; then
    lxc image delete "$old" && say "lxd: deleted the older test image ${old:0:12}"
  fi
}

# Imports an image (files $3...) unless an image with fingerprint $2 is there, then aliases it as $1.
ensure_image() {
  local alias=$1 fp=$2
  shift 2
  if ! lxc query "/1.0/images/$fp" >/dev/null 2>&1; then
    say "lxd: importing $alias (${fp:0:12})"
    lxc image import "$@" >/dev/null || die "lxc image import $* failed"
  fi
  set_alias "$alias" "$fp"
}

# The same steps as scripts/prepare-lxd.ts, done with the lxc command while that file does not exist.
prepare_lxd_with_lxc() {
  local br=$LXDKIT_TEST_BRIDGE key
  if ! lxc storage show default >/dev/null 2>&1; then
    say "lxd: creating the dir storage pool 'default'"
    lxc storage create default dir >/dev/null || die "lxc storage create default dir failed"
  fi
  if ! lxc profile device get default root pool >/dev/null 2>&1; then
    say "lxd: adding the root disk to the 'default' profile"
    lxc profile device add default root disk path=/ pool=default >/dev/null ||
      die "could not add the root disk to the default profile"
  fi
  if ! lxc network show "$br" >/dev/null 2>&1; then
    say "lxd: creating the bridge $br without addresses"
    lxc network create "$br" ipv4.address=none ipv6.address=none >/dev/null ||
      die "lxc network create $br failed"
  fi
  for key in ipv4.address ipv6.address; do
    if [ "$(lxc network get "$br" "$key")" != none ]; then
      say "lxd: setting $key=none on $br"
      lxc network set "$br" "$key" none || die "lxc network set $br $key none failed"
    fi
  done
  local split_fp unified_fp
  split_fp=$(sed -n 's/^split //p' "$LXDKIT_IMAGE_DIR/fingerprints")
  unified_fp=$(sed -n 's/^unified //p' "$LXDKIT_IMAGE_DIR/fingerprints")
  if [ -z "$split_fp" ] || [ -z "$unified_fp" ]; then
    die "no fingerprints in $LXDKIT_IMAGE_DIR/fingerprints"
  fi
  ensure_image "$LXDKIT_TEST_IMAGE_ALIAS" "$split_fp" \
    "$LXDKIT_IMAGE_DIR/busybox-metadata.tar.xz" "$LXDKIT_IMAGE_DIR/busybox-rootfs.tar.xz"
  ensure_image "$LXDKIT_TEST_UNIFIED_IMAGE_ALIAS" "$unified_fp" "$LXDKIT_IMAGE_DIR/busybox-unified.tar.xz"
}

require_root
ensure_packages
ensure_lxd
ensure_libvirt
say "images: $LXDKIT_IMAGE_DIR"
"$here/build-test-images.sh" | sed 's/^/    /'
if [ -f "$here/prepare-lxd.ts" ]; then
  ensure_node_modules
  say "lxd: preparing with scripts/prepare-lxd.ts"
  (cd "$LXDKIT_ROOT" && npx tsx scripts/prepare-lxd.ts) || die "scripts/prepare-lxd.ts failed"
else
  prepare_lxd_with_lxc
fi
say "host ready: pool default, bridge $LXDKIT_TEST_BRIDGE (no addresses), images $LXDKIT_TEST_IMAGE_ALIAS and $LXDKIT_TEST_UNIFIED_IMAGE_ALIAS"
