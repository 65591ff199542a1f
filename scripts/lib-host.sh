# shellcheck shell=bash
# Shared by lxdkit's host scripts (provision-host.sh, test.sh, demo.sh). Source it; it does nothing
# by itself. Every function prints one short progress line and exits non-zero with a reason on failure.

LXDKIT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export LXDKIT_IMAGE_DIR=${LXDKIT_IMAGE_DIR:-/var/cache/lxdkit/images}
export LXDKIT_TEST_IMAGE_ALIAS=${LXDKIT_TEST_IMAGE_ALIAS:-lxdkit/busybox}
# The name scripts/prepare-lxd.ts gives the unified test image.
export LXDKIT_TEST_UNIFIED_IMAGE_ALIAS=$LXDKIT_TEST_IMAGE_ALIAS-unified
export LXDKIT_TEST_BRIDGE=${LXDKIT_TEST_BRIDGE:-lxdkitbr0}
# Incus runs beside LXD on the same host, so its test bridge needs a name of its own.
export LXDKIT_TEST_BRIDGE_INCUS=${LXDKIT_TEST_BRIDGE_INCUS:-lxdkitbr1}
# CI runners and sudo may give a bare environment; lxc and npm need HOME, the daemons live in sbin.
export HOME=${HOME:-/root}
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
export DEBIAN_FRONTEND=noninteractive

LXDKIT_PACKAGES=(lxd lxd-tools busybox-static libvirt-daemon-system libvirt-clients qemu-utils
  qemu-system-x86 genisoimage xz-utils python3-pylxd valgrind)
LXD_LOG=/var/log/lxd/lxd.log
LXD_STDERR=/var/log/lxd/lxd.stderr.log
LIBVIRT_STDERR=/var/log/libvirt/lxdkit-daemons.stderr.log
LIBVIRT_URI=qemu:///system
# Incus 6.0 (LTS) from Debian's backports archive: incus-base is the daemon without VM support (the
# `incus` package would pull a newer qemu than the one libvirt uses here).
INCUS_PACKAGE=incus-base
INCUS_SUITE=bookworm-backports
INCUS_SOURCES=/etc/apt/sources.list.d/lxdkit-$INCUS_SUITE.sources
DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
INCUSD=/usr/libexec/incus/incusd
INCUS_LOG=/var/log/incus/incusd.log
INCUS_STDERR=/var/log/incus/incusd.stderr.log

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

# Starts the LXD daemon unless its socket already answers. It runs in its own session so that it
# outlives this script. Nothing else is configured here: no `lxd init`.
ensure_lxd() {
  if lxd_answers; then
    say "lxd: running ($(lxc query /1.0 | sed -n 's/.*"server_version": "\(.*\)".*/\1/p'))"
    return
  fi
  if ! lxd_running; then
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

# The mirror the host takes Debian 12's main archive from, as apt sees it (`apt-cache policy`).
# awk reads to the end: with pipefail, a reader that stops early fails the pipeline.
debian_mirror() {
  apt-cache policy 2>/dev/null | awk '
    $1 ~ /^[0-9]+$/ && $3 == "bookworm/main" { uri = $2; next }
    uri != "" && found == "" && $1 == "release" && $2 ~ /(^|,)o=Debian(,|$)/ &&
      $2 ~ /(^|,)n=bookworm(,|$)/ { found = uri }
    { uri = "" }
    END { if (found != "") print found }'
}

# Adds Debian's $INCUS_SUITE suite as an apt source of its own, from the main archive's mirror and
# signed by the same Debian archive key, unless a source for that suite is configured already.
# Backports are NotAutomatic: apt takes nothing from them unless asked by name.
ensure_backports_source() {
  [ -f "$INCUS_SOURCES" ] && return
  local configured mirror
  configured=$(grep -hsv '^[[:space:]]*#' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources || true)
  grep -Eq "(^|[[:space:]])$INCUS_SUITE([[:space:]]|$)" <<<"$configured" && return
  mirror=$(debian_mirror)
  if [ -z "$mirror" ]; then
    apt-get -o DPkg::Lock::Timeout=600 -qq update || die "apt-get update failed"
    mirror=$(debian_mirror)
  fi
  [ -n "$mirror" ] || die "no apt source for Debian 12 (bookworm) main found;" \
    "$INCUS_PACKAGE comes from Debian's $INCUS_SUITE"
  [ -f "$DEBIAN_KEYRING" ] || die "$DEBIAN_KEYRING is missing: apt-get install debian-archive-keyring"
  say "apt: adding $INCUS_SUITE from $mirror ($INCUS_SOURCES)"
  cat >"$INCUS_SOURCES" <<SOURCES
# Added by lxdkit's scripts/provision-host.sh for $INCUS_PACKAGE (Incus 6.0 LTS).
Types: deb
URIs: $mirror
Suites: $INCUS_SUITE
Components: main
Signed-By: $DEBIAN_KEYRING
SOURCES
}

# Installs Incus from $INCUS_SUITE (incus-base and what it needs, no recommends); no apt at all when
# it is installed. Only the new source's index is fetched. A simulation comes first: if apt would
# upgrade or remove any installed package (LXD, liblxc, lxcfs, qemu, libvirt...), nothing is installed.
ensure_incus_package() {
  local version
  version=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$INCUS_PACKAGE" 2>/dev/null || true)
  if [ "${version%% *}" = installed ]; then
    say "incus: package $INCUS_PACKAGE ${version#* } installed"
    return
  fi
  ensure_backports_source
  local install=(apt-get -o DPkg::Lock::Timeout=600 --no-install-recommends -y
    install "$INCUS_PACKAGE/$INCUS_SUITE")
  local plan
  if ! plan=$("${install[@]}" -s 2>&1); then
    say "apt: fetching the $INCUS_SUITE index"
    local update=(apt-get -o DPkg::Lock::Timeout=600 -qq update)
    if [ -f "$INCUS_SOURCES" ]; then
      update+=(-o "Dir::Etc::sourcelist=$INCUS_SOURCES" -o Dir::Etc::sourceparts=-
        -o APT::Get::List-Cleanup=0)
    fi
    "${update[@]}" || die "apt-get update ($INCUS_SUITE) failed"
    plan=$("${install[@]}" -s 2>&1) ||
      die "apt cannot install $INCUS_PACKAGE from $INCUS_SUITE: $(tail -n 3 <<<"$plan")"
  fi
  # "Inst pkg [old version] (new ...)" is an upgrade; "Remv" a removal.
  if grep -Eq '^(Inst [^ ]+ \[|Remv )' <<<"$plan"; then
    grep -E '^(Inst [^ ]+ \[|Remv )' <<<"$plan" >&2
    die "installing $INCUS_PACKAGE would upgrade or remove the packages above; nothing installed"
  fi
  say "incus: installing $(sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1=\2/p' <<<"$plan" | tr '\n' ' ')"
  # apt's output goes to a file: a package script that starts a daemon must not hold our stdout.
  local log
  log=$(mktemp /tmp/lxdkit-incus-apt.XXXXXX)
  if ! "${install[@]}" </dev/null >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "apt-get install $INCUS_PACKAGE/$INCUS_SUITE failed (log $log)"
  fi
  rm -f "$log"
}

incus_answers() { timeout 15 incus query /1.0 >/dev/null 2>&1; }

incus_version() { incus query /1.0 | sed -n 's/.*"server_version": "\(.*\)".*/\1/p'; }

# Interfaces with an address that is neither loopback nor IPv6 link-local (which the kernel gives any
# interface that comes up, such as the host end of a container's veth), one "name address..." line each.
addressed_interfaces() {
  ip -brief addr | awk '{
    line = $1
    for (i = 3; i <= NF; i++)
      if ($i !~ /^127\./ && $i != "::1/128" && $i !~ /^fe80:/) line = line " " $i
    if (line != $1) print line
  }'
}

# True while a daemon $1 serving the default directory $3 is alive: one whose environment sets its
# directory variable $2 to nothing else (the test cluster runs daemons of its own), not a helper
# process of the daemon, and not a zombie
# (an init that does not reap leaves a stopped daemon's entry behind for a while).
host_daemon_running() {
  local name=$1 var=$2 default=$3 pid state dir args
  for pid in $(pgrep -x "$name" || true); do
    state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || true)
    case $state in '' | Z) continue ;; esac
    # The daemon itself: not a container's "[lxc monitor] …", nor a helper such as `lxd forkexec …`,
    # which carry its name too.
    mapfile -d '' args 2>/dev/null <"/proc/$pid/cmdline" || continue
    [[ ${args[0]:-} == "$name" || ${args[0]:-} == */"$name" ]] || continue
    [[ -z ${args[1]:-} || ${args[1]} == -* ]] || continue
    dir=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null || true)
    dir=$(sed -n "s/^$var=//p" <<<"$dir")
    [ -z "$dir" ] || [ "$dir" = "$default" ] || continue
    return 0
  done
  return 1
}
incusd_running() { host_daemon_running incusd INCUS_DIR /var/lib/incus; }
lxd_running() { host_daemon_running lxd LXD_DIR /var/lib/lxd; }

# Starts the Incus daemon unless its socket answers: by hand (no systemd), detached like LXD, with
# its own log. It never runs `incus admin init`. Incus creates no network by itself; that no new
# interface got an address while it started is checked anyway.
ensure_incus() {
  # A daemon still shutting down gets a few seconds to go before a new one is started.
  local deadline=$((SECONDS + 10))
  while ! incus_answers && incusd_running && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 1
  done
  if incus_answers; then
    say "incus: running ($(incus_version))"
    return
  fi
  [ -x "$INCUSD" ] || die "$INCUSD not found ($INCUS_PACKAGE not installed?)"
  local before
  before=$(addressed_interfaces)
  if ! incusd_running; then
    say "incus: starting (log $INCUS_LOG)"
    mkdir -p "$(dirname "$INCUS_LOG")"
    # Debian's service files put incusd's helper programs on PATH the same way.
    start_detached "$INCUS_STDERR" env PATH="/usr/libexec/incus:$PATH" \
      "$INCUSD" --group root --logfile "$INCUS_LOG" >/dev/null
  else
    say "incus: a daemon is running but not answering yet; waiting"
  fi
  if ! { timeout 90 incus admin waitready --timeout 60 && incus_answers; }; then
    tail -n 20 "$INCUS_LOG" "$INCUS_STDERR" >&2 2>/dev/null || true
    die "incus did not become ready; see $INCUS_LOG and $INCUS_STDERR"
  fi
  local added
  added=$(comm -13 <(sort <<<"$before") <(addressed_interfaces | sort))
  [ -z "$added" ] || die "an interface got an address while Incus started: $added"
  say "incus: ready ($(incus_version))"
}

# Imports an image file set into Incus unless its fingerprint is there, then points alias $1 at it.
incus_image() {
  local alias=$1 fingerprint=$2 target
  shift 2
  if ! incus image info "$fingerprint" >/dev/null 2>&1; then
    say "incus: importing $alias (${fingerprint:0:12})"
    incus image import "$@" >/dev/null || die "incus image import $* failed"
  fi
  # No alias yet: an empty target.
  target=$(incus query "/1.0/images/aliases/$alias" 2>/dev/null || true)
  target=$(sed -n 's/.*"target": "\([0-9a-f]*\)".*/\1/p' <<<"$target")
  [ "$target" = "$fingerprint" ] && return
  [ -z "$target" ] || incus image alias delete "$alias" >/dev/null
  incus image alias create "$alias" "$fingerprint" >/dev/null ||
    die "incus image alias create $alias failed"
  say "incus: alias $alias -> ${fingerprint:0:12}"
}

# Prepares Incus as scripts/prepare-lxd.ts prepares LXD, each step only when missing: a `dir`
# storage pool `default`, the root disk in the `default` profile, the bridge
# $LXDKIT_TEST_BRIDGE_INCUS with ipv4.address=none and ipv6.address=none, and the busybox test
# images of $LXDKIT_IMAGE_DIR with the aliases $LXDKIT_TEST_IMAGE_ALIAS (split) and
# $LXDKIT_TEST_UNIFIED_IMAGE_ALIAS. Fails if an Incus bridge has or gets an address.
prepare_incus() {
  local bridge=$LXDKIT_TEST_BRIDGE_INCUS key value
  if ! incus storage show default >/dev/null 2>&1; then
    say "incus: creating dir storage pool default"
    incus storage create default dir >/dev/null || die "incus storage create default dir failed"
  fi
  local profile
  profile=$(incus query /1.0/profiles/default) || die "incus query /1.0/profiles/default failed"
  if ! grep -q '"path": "/"' <<<"$profile"; then
    say "incus: adding the root disk (pool default) to the default profile"
    incus profile device add default root disk path=/ pool=default >/dev/null ||
      die "incus profile device add default root failed"
  fi
  local network
  if network=$(incus query "/1.0/networks/$bridge" 2>/dev/null); then
    grep -q '"managed": true' <<<"$network" || die "$bridge exists on the host but Incus does not" \
      "manage it; choose another LXDKIT_TEST_BRIDGE_INCUS"
  else
    say "incus: creating bridge $bridge without addresses"
    incus network create "$bridge" ipv4.address=none ipv6.address=none >/dev/null ||
      die "incus network create $bridge failed"
  fi
  # scripts/build-test-images.sh writes the fingerprint of each image form here.
  local fingerprints=$LXDKIT_IMAGE_DIR/fingerprints split unified
  split=$(awk '$1 == "split" { print $2 }' "$fingerprints" 2>/dev/null || true)
  unified=$(awk '$1 == "unified" { print $2 }' "$fingerprints" 2>/dev/null || true)
  if [ -z "$split" ] || [ -z "$unified" ]; then
    die "no image fingerprints in $fingerprints; run scripts/build-test-images.sh"
  fi
  incus_image "$LXDKIT_TEST_IMAGE_ALIAS" "$split" \
    "$LXDKIT_IMAGE_DIR/busybox-metadata.tar.xz" "$LXDKIT_IMAGE_DIR/busybox-rootfs.tar.xz"
  incus_image "$LXDKIT_TEST_UNIFIED_IMAGE_ALIAS" "$unified" "$LXDKIT_IMAGE_DIR/busybox-unified.tar.xz"
  # Every bridge Incus manages: no address in its config, none on the interface. (A bridge that
  # someone deletes meanwhile reads as empty.)
  local net nets bridges
  nets=$(incus network list --format csv) || die "incus network list failed"
  mapfile -t bridges < <(awk -F, '$2 == "bridge" && $3 == "YES" { print $1 }' <<<"$nets")
  for net in "${bridges[@]}"; do
    for key in ipv4.address ipv6.address; do
      value=$(incus network get "$net" "$key" 2>/dev/null || true)
      [ -z "$value" ] || [ "$value" = none ] || die "Incus bridge $net has $key=$value; lxdkit's" \
        "bridges must have no addresses (set it to none or delete the bridge)"
    done
    value=$(ip -brief addr show dev "$net" 2>/dev/null | awk '{ $1 = $2 = ""; print }' | xargs || true)
    [ -z "$value" ] || die "the Incus bridge $net has addresses: $value"
  done
}
