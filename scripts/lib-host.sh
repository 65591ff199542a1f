# shellcheck shell=bash
# Shared by lxdkit's host scripts (provision-host.sh, test.sh, demo.sh). Source it; it does nothing
# by itself. Every function prints one short progress line and exits non-zero with a reason on failure.

LXDKIT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export LXDKIT_IMAGE_DIR=${LXDKIT_IMAGE_DIR:-/var/cache/lxdkit/images}
export LXDKIT_TEST_IMAGE_ALIAS=${LXDKIT_TEST_IMAGE_ALIAS:-lxdkit/busybox}
# The name scripts/prepare-lxd.ts gives the unified test image.
export LXDKIT_TEST_UNIFIED_IMAGE_ALIAS=$LXDKIT_TEST_IMAGE_ALIAS-unified
export LXDKIT_TEST_BRIDGE=${LXDKIT_TEST_BRIDGE:-lxdkitbr0}
# CI runners and sudo may give a bare environment; lxc and npm need HOME, the daemons live in sbin.
export HOME=${HOME:-/root}
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
export DEBIAN_FRONTEND=noninteractive

LXDKIT_PACKAGES=(lxd lxd-tools busybox-static libvirt-daemon-system libvirt-clients qemu-utils
  qemu-system-x86 genisoimage xz-utils python3-pylxd)
LXD_LOG=/var/log/lxd/lxd.log
LXD_STDERR=/var/log/lxd/lxd.stderr.log
LIBVIRT_STDERR=/var/log/libvirt/lxdkit-daemons.stderr.log
LIBVIRT_URI=qemu:///system

# With `set -eE`, a command that fails outside a die() still says what failed.
trap 'printf "error: \"%s\" failed (%s:%s)\n" "$BASH_COMMAND" "$(basename "$0")" "$LINENO" >&2' ERR

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Starts a daemon that outlives this script ("$@", run from /), in a session of its own, with stdin
# from /dev/null and its output appended to the log file $1; prints its pid. No process keeps this
# script's stdout or stderr open after it ends, so a caller that pipes them (`scripts/test.sh | tee`,
# as .ci/run did) sees end-of-file. A plain `(setsid cmd >log &)` inside a script with an ERR trap
# does not: bash keeps a copy of itself, holding the original stdout, waiting for cmd.
start_detached() {
  local log=$1
  shift
  (
    trap - ERR
    cd / && exec setsid "$@"
  ) </dev/null >>"$log" 2>&1 &
  printf '%s\n' "$!"
}

require_root() {
  [ "$(id -u)" = 0 ] || die "run as root (sudo $0): it installs packages and starts LXD and libvirtd"
}

# Installs the Debian packages lxdkit needs; no apt at all when every one is installed.
ensure_packages() {
  local missing=() p
  for p in "${LXDKIT_PACKAGES[@]}"; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "packages: all installed"
    return
  fi
  say "packages: installing ${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=600 -qq update || die "apt-get update failed"
  apt-get -o DPkg::Lock::Timeout=600 -y -qq install "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
}

lxd_answers() { timeout 15 lxc query /1.0 >/dev/null 2>&1; }

# The pids of the LXD daemon serving /var/lib/lxd. `pgrep -x lxd` alone also finds every container's
# `[lxc monitor]` process, LXD's helpers (`lxd forkexec` ...) and daemons with an LXD_DIR of their
# own (scripts/cluster.sh): none of them serves this socket.
host_lxd_pids() {
  local pid args dir
  for pid in $(pgrep -x lxd || true); do
    mapfile -d '' args 2>/dev/null <"/proc/$pid/cmdline" || continue
    [[ ${args[0]##*/} == lxd && (-z ${args[1]:-} || ${args[1]} == -*) ]] || continue
    dir=$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | sed -n 's/^LXD_DIR=//p')
    [ -z "$dir" ] || [ "$dir" = /var/lib/lxd ] || continue
    echo "$pid"
  done
}

# Starts the LXD daemon unless its socket already answers. It runs in its own session so that it
# outlives this script. Nothing else is configured here: no `lxd init`.
ensure_lxd() {
  if lxd_answers; then
    say "lxd: running ($(lxc query /1.0 | sed -n 's/.*"server_version": "\(.*\)".*/\1/p'))"
    return
  fi
  if [ -z "$(host_lxd_pids)" ]; then
    say "lxd: starting (log $LXD_LOG)"
    mkdir -p /var/log/lxd
    start_detached "$LXD_STDERR" lxd --group root --logfile "$LXD_LOG" >/dev/null
  else
    say "lxd: a daemon is running but not answering yet; waiting"
  fi
  if ! { timeout 90 lxd waitready --timeout 60 && lxd_answers; }; then
    tail -n 20 "$LXD_LOG" "$LXD_STDERR" >&2 2>/dev/null || true
    die "lxd did not become ready; see $LXD_LOG and $LXD_STDERR"
  fi
  say "lxd: ready"
}

libvirt_answers() { timeout 15 virsh -c "$LIBVIRT_URI" list >/dev/null 2>&1; }

# Starts virtlogd and libvirtd unless libvirt answers. libvirt's `default` network (NAT with an
# address on virbr0) must never run: its autostart link goes before libvirtd starts, and it is
# stopped if it is active anyway.
ensure_libvirt() {
  if libvirt_answers; then
    say "libvirt: running"
  else
    rm -f /etc/libvirt/qemu/networks/autostart/default.xml
    mkdir -p "$(dirname "$LIBVIRT_STDERR")"
    # Both fork into the background themselves; their stdio still goes to a file, not to ours.
    pgrep -x virtlogd >/dev/null || (cd / && virtlogd -d </dev/null >>"$LIBVIRT_STDERR" 2>&1) ||
      die "virtlogd failed to start; see $LIBVIRT_STDERR"
    if ! pgrep -x libvirtd >/dev/null; then
      say "libvirt: starting libvirtd (log /var/log/libvirt/libvirtd.log)"
      (cd / && libvirtd -d </dev/null >>"$LIBVIRT_STDERR" 2>&1) ||
        die "libvirtd failed to start; see $LIBVIRT_STDERR"
    fi
    local _
    for _ in $(seq 60); do
      libvirt_answers && break
      sleep 1
    done
    libvirt_answers || die "libvirtd does not answer on $LIBVIRT_URI; see /var/log/libvirt/libvirtd.log"
    say "libvirt: ready"
  fi
  if virsh -c "$LIBVIRT_URI" net-info default >/dev/null 2>&1; then
    if virsh -c "$LIBVIRT_URI" net-info default | grep -Eq '^Active:[[:space:]]+yes'; then
      say "libvirt: stopping its 'default' network"
      virsh -c "$LIBVIRT_URI" net-destroy default >/dev/null || die "virsh net-destroy default failed"
    fi
    if virsh -c "$LIBVIRT_URI" net-info default | grep -Eq '^Autostart:[[:space:]]+yes'; then
      virsh -c "$LIBVIRT_URI" net-autostart default --disable >/dev/null ||
        die "virsh net-autostart default --disable failed"
    fi
  fi
}

# `npm ci` when node_modules is missing or older than package-lock.json.
ensure_node_modules() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    die "node and npm are needed (Node >= 20)"
  fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || die "Node >= 20 is needed, found $(node --version)"
  if [ ! -f "$LXDKIT_ROOT/node_modules/.package-lock.json" ] ||
    [ "$LXDKIT_ROOT/package-lock.json" -nt "$LXDKIT_ROOT/node_modules/.package-lock.json" ]; then
    say "npm ci"
    (cd "$LXDKIT_ROOT" && npm ci --no-audit --no-fund) || die "npm ci failed"
  else
    say "node_modules: up to date"
  fi
}

build_checkout() {
  ensure_node_modules
  say "npm run build"
  (cd "$LXDKIT_ROOT" && npm run --silent build) || die "npm run build failed"
}
