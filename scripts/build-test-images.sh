#!/usr/bin/env bash
# Builds the busybox test images that lxdkit's integration specs and demo use:
#   busybox-metadata.tar.xz + busybox-rootfs.tar.xz   a split LXD image
#   busybox-unified.tar.xz                            the same image as one tarball
#   SHA256SUMS                                        sha256sum -c compatible
#   fingerprints                                      the LXD fingerprint of each image form
# into $LXDKIT_IMAGE_DIR (default /var/cache/lxdkit/images). It does nothing when the images are
# there and were built from the same busybox binary by the same version of this script.
# Needs root (chroot) and the busybox-static package. The output is deterministic: same inputs,
# same bytes, same fingerprints.
set -euo pipefail

image_dir=${LXDKIT_IMAGE_DIR:-/var/cache/lxdkit/images}
busybox_bin=${LXDKIT_BUSYBOX:-/bin/busybox}
outputs=(busybox-metadata.tar.xz busybox-rootfs.tar.xz busybox-unified.tar.xz)

say() { printf 'build-test-images: %s\n' "$*"; }
die() { printf 'build-test-images: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (the rootfs is built with chroot and root-owned files)"
[ -x "$busybox_bin" ] || die "$busybox_bin not found: apt-get install busybox-static"
"$busybox_bin" --list >/dev/null 2>&1 || die "$busybox_bin is not a busybox binary"
command -v xz >/dev/null || die "xz not found: apt-get install xz-utils"

# What the images are built from: the busybox binary and this script.
inputs_stamp="busybox $(sha256sum <"$busybox_bin" | cut -d' ' -f1)
recipe $(sha256sum <"${BASH_SOURCE[0]}" | cut -d' ' -f1)"

up_to_date() {
  [ -f "$image_dir/.inputs" ] && [ "$(cat "$image_dir/.inputs")" = "$inputs_stamp" ] || return 1
  [ -f "$image_dir/SHA256SUMS" ] && [ -f "$image_dir/fingerprints" ] || return 1
  (cd "$image_dir" && sha256sum --quiet --strict -c SHA256SUMS >/dev/null 2>&1)
}

if up_to_date; then
  say "images in $image_dir are up to date"
  exit 0
fi

mkdir -p "$image_dir"
work=$(mktemp -d "$image_dir/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Every timestamp in the image is the busybox binary's mtime (the package's build time), so
# rebuilding from the same binary gives the same bytes.
epoch=$(stat -c %Y "$busybox_bin")
release=$("$busybox_bin" 2>&1 | sed -n '1s/^BusyBox v\([^ ]*\).*/\1/p')
[ -n "$release" ] || release=unknown

say "building busybox $release rootfs"
root=$work/rootfs
mkdir -p "$root"
for d in bin sbin usr/bin usr/sbin etc etc/init.d dev proc sys tmp run root var var/log var/run home; do
  mkdir -p "$root/$d"
done
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
install -m 0755 "$busybox_bin" "$root/bin/busybox"
# Inside the chroot the applet links point at /bin/busybox of the rootfs. They are absolute
# symlinks: seen from the host, rootfs/sbin/init points at the host's own /bin/busybox.
chroot "$root" /bin/busybox --install -s

# Writes stdin to a file of the rootfs. A path may be one of busybox's absolute applet symlinks;
# writing through it would overwrite the host's binary, so whatever is there is removed first.
put() {
  local mode=$1 path=$root/$2
  rm -f "$path"
  cat >"$path"
  chmod "$mode" "$path"
}

put 0644 etc/inittab <<'EOF'
# busybox init: runs rcS once, then stays as PID 1 until LXD stops the container.
::sysinit:/etc/init.d/rcS
::shutdown:/bin/umount -a -r
::restart:/sbin/init
EOF
put 0755 etc/init.d/rcS <<'EOF'
#!/bin/sh
[ -s /etc/hostname ] && hostname -F /etc/hostname
mkdir -p /run /var/run /tmp
exit 0
EOF
put 0644 etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
put 0644 etc/group <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
put 0600 etc/shadow <<'EOF'
root:*:1::::::
nobody:*:1::::::
EOF
put 0644 etc/hostname <<'EOF'
busybox
EOF
put 0644 etc/hosts <<'EOF'
127.0.0.1 localhost
::1 localhost
EOF
put 0644 etc/profile <<'EOF'
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
EOF
put 0644 etc/os-release <<EOF
NAME=BusyBox
ID=busybox
VERSION_ID=$release
PRETTY_NAME="BusyBox $release (lxdkit test image)"
EOF

say "writing metadata"
meta=$work/meta
mkdir -p "$meta/templates"
cat >"$meta/metadata.yaml" <<EOF
architecture: x86_64
creation_date: $epoch
properties:
  architecture: x86_64
  os: busybox
  release: "$release"
  description: "BusyBox $release (lxdkit test image)"
templates:
  /etc/hostname:
    when:
    - create
    - copy
    - rename
    template: hostname.tpl
EOF
printf '{{ container.name }}\n' >"$meta/templates/hostname.tpl"

# Deterministic tar: sorted names, fixed mtimes, numeric root owners (GNU format keeps no atime/ctime).
det_tar() { # det_tar <output.tar.xz> <dir> <members...>
  local out=$1 dir=$2
  shift 2
  tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
    --format=gnu -C "$dir" -cf - "$@" | xz -T1 -6 -c >"$out"
}

say "packing split image"
det_tar "$work/busybox-metadata.tar.xz" "$meta" metadata.yaml templates
det_tar "$work/busybox-rootfs.tar.xz" "$root" .

say "packing unified image"
uni=$work/unified
mkdir -p "$uni"
cp -a "$meta/metadata.yaml" "$meta/templates" "$uni/"
mv "$root" "$uni/rootfs"
det_tar "$work/busybox-unified.tar.xz" "$uni" metadata.yaml templates rootfs

split_fp=$(cat "$work/busybox-metadata.tar.xz" "$work/busybox-rootfs.tar.xz" | sha256sum | cut -d' ' -f1)
unified_fp=$(sha256sum <"$work/busybox-unified.tar.xz" | cut -d' ' -f1)

for f in "${outputs[@]}"; do
  mv -f "$work/$f" "$image_dir/$f"
done
(cd "$image_dir" && sha256sum "${outputs[@]}" >SHA256SUMS)
printf 'split %s\nunified %s\n' "$split_fp" "$unified_fp" >"$image_dir/fingerprints"
printf '%s\n' "$inputs_stamp" >"$image_dir/.inputs"
say "done: split $split_fp, unified $unified_fp"
