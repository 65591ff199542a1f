#!/usr/bin/env bash
# A real 3-member LXD cluster on this one machine, for lxdkit's cluster specs. Root; no systemd.
#
#   scripts/cluster.sh up       bring it up (idempotent: restarts a member daemon that died)
#   scripts/cluster.sh down     delete every instance on it, stop the daemons, remove everything
#   scripts/cluster.sh status   one line per member; exit 0 only when all three run and are ONLINE
#   scripts/cluster.sh env      shell lines (eval them) saying how to reach each member
#
# Three LXD daemons, m1 m2 m3, beside the host's own LXD (/var/lib/lxd), which is never touched. Each
# has its own LXD_DIR, /var/lib/lxdkit-cluster/<member> (socket <LXD_DIR>/unix.socket), and its own
# cluster address on loopback, 127.0.1.<n>:8443; its log is /var/log/lxdkit-cluster/<member>.log,
# kept after `down` and emptied when the member is made afresh. m1 is bootstrapped with
# `lxd init --preseed`, m2 and m3 join with a token from m1 and a preseed of their own. The cluster
# has a `dir` storage pool `local` (each member's source: <LXD_DIR>/storage-pools/local), the root
# disk and a NIC in its `default` profile, and the busybox test image with alias lxdkit/busybox.
#
# The NIC: the three members share this host's network namespace, so a bridge that LXD manages
# (created on every member, under one name) would be one kernel device claimed by three daemons.
# Instead this script creates one plain Linux bridge, lxdkitcbr0, with no address (IPv6 disabled on
# it, so not even a link-local one), and the default profile gives every container a `bridged` NIC
# on it. No LXD owns the bridge, so no member ever configures or deletes it, and containers on all
# three members can see each other at layer 2, and nothing else.
#
# Nothing leaves loopback: the members listen on 127.0.1.x only, and their daemons run with an HTTP
# proxy on a closed loopback port (see DAEMON_ENV).
set -eEuo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib-host.sh
. "$here/lib-host.sh"

CLUSTER_DIR=/var/lib/lxdkit-cluster
CLUSTER_LOG_DIR=/var/log/lxdkit-cluster
CLUSTER_BRIDGE=lxdkitcbr0
CLUSTER_POOL=local
CLUSTER_PORT=8443
MEMBERS=(m1 m2 m3)
# How long `up` waits for every member to be ONLINE in the cluster's own view.
ONLINE_TIMEOUT=${LXDKIT_CLUSTER_ONLINE_TIMEOUT:-60}
# Any one lxc call against a member; a cluster without quorum makes lxc wait for ever.
LXC_TIMEOUT=${LXDKIT_CLUSTER_LXC_TIMEOUT:-120}
LOCK=/run/lock/lxdkit-cluster.lock
# The daemons' environment. LXD fetches instance types from images.linuxcontainers.org when it
# starts; through a proxy on a closed loopback port that request (and any other to a host that is
# not loopback) fails at once, without even a DNS query. Loopback destinations bypass a proxy, so
# the members still reach each other and 127.0.0.1 servers.
DAEMON_ENV=(-u http_proxy -u https_proxy -u no_proxy -u NO_PROXY
  HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9)
# lxc must reach the member named by LXD_DIR, whatever the caller's environment says.
unset LXD_SOCKET LXD_DIR

member_dir() { printf '%s/%s\n' "$CLUSTER_DIR" "$1"; }
member_log() { printf '%s/%s.log\n' "$CLUSTER_LOG_DIR" "$1"; }
member_address() { printf '127.0.1.%s:%s\n' "${1#m}" "$CLUSTER_PORT"; }

# lxc against one member, through its socket (--force-local: never the caller's default remote).
on() {
  local m=$1
  shift
  LXD_DIR=$(member_dir "$m") timeout "$LXC_TIMEOUT" lxc --force-local "$@"
}

# The member's daemon: the one process whose command line is exactly the one start_member runs.
member_pids() { pgrep -xf "lxd --group root --logfile $(member_log "$1")" || true; }
member_answers() {
  [ -S "$(member_dir "$1")/unix.socket" ] &&
    LXD_DIR=$(member_dir "$1") timeout 10 lxc --force-local query /1.0 >/dev/null 2>&1
}

tail_logs() {
  local m
  for m in "$@"; do
    tail -n 15 "$(member_log "$m")" "$CLUSTER_LOG_DIR/$m.stderr.log" >&2 2>/dev/null || true
  done
}

start_member() {
  local m=$1
  [ -d "$(member_dir "$m")" ] || mkdir -m 0711 "$(member_dir "$m")"
  # 9>&-: the daemon must not inherit (and hold for ever) this script's lock.
  start_detached "$CLUSTER_LOG_DIR/$m.stderr.log" \
    env "${DAEMON_ENV[@]}" LXD_DIR="$(member_dir "$m")" lxd --group root --logfile "$(member_log "$m")" \
    >/dev/null 9>&-
}

wait_member() {
  local m=$1
  if ! { LXD_DIR=$(member_dir "$m") timeout 90 lxd waitready --timeout 60 && member_answers "$m"; }; then
    tail_logs "$m"
    die "$m: the daemon did not become ready; see $(member_log "$m")"
  fi
}

# Stops a member's daemon: `lxd shutdown`, waiting at most $2 seconds (30 by default), then SIGKILL.
stop_member() {
  local m=$1 grace=${2:-30} pids _
  pids=$(member_pids "$m")
  [ -n "$pids" ] || return 0
  if member_answers "$m"; then
    LXD_DIR=$(member_dir "$m") timeout $((grace + 5)) lxd shutdown --timeout "$grace" >/dev/null 2>&1 || true
  fi
  for _ in $(seq 10); do
    pids=$(member_pids "$m")
    [ -n "$pids" ] || return 0
    sleep 0.2
  done
  say "$m: still running ${grace}s after \`lxd shutdown\`; killing it"
  # shellcheck disable=SC2086 # one pid per word
  kill -KILL $pids 2>/dev/null || true
  for _ in $(seq 25); do
    [ -n "$(member_pids "$m")" ] || return 0
    sleep 0.2
  done
  die "$m: the daemon (pid $pids) survived SIGKILL"
}

# Processes of the cluster (or of one member: $1 is its directory) other than the daemons: LXD's
# own helpers that name the directory on their command line (`[lxc monitor]
# /var/lib/lxdkit-cluster/m2/containers c1`, `lxd forkproxy ...`), and the processes of its
# containers (their root is inside it).
cluster_processes() {
  local dir=${1:-$CLUSTER_DIR} f args
  {
    { grep -lsaF -- "$dir/" /proc/[0-9]*/cmdline || true; } | while read -r f; do
      mapfile -d '' args 2>/dev/null <"$f" || continue
      [[ ${args[0]:-} == "[lxc monitor] $dir/"* || ${args[0]:-} == lxd ]] || continue
      f=${f#/proc/}
      echo "${f%/cmdline}"
    done
    # mountinfo: id parent major:minor root mount-point ...; a container's "/" is its rootfs.
    { grep -lsE "^[0-9]+ [0-9]+ [0-9]+:[0-9]+ $dir/[^ ]* / " /proc/[0-9]*/mountinfo || true; } |
      cut -d/ -f3
  } | sort -un
}

# Mount points at or under a directory of the cluster, deepest first.
mounts_under() {
  awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# Removes a directory of the cluster: unmounts what the daemons mounted in it (shmounts, devlxd,
# anything a killed daemon left), refuses if something stays mounted, and never crosses into
# another file system.
remove_tree() {
  local dir=$1 mp left
  case $dir in "$CLUSTER_DIR" | "$CLUSTER_DIR"/m[0-9]) ;; *) die "refusing to remove $dir" ;; esac
  [ -e "$dir" ] || return 0
  while read -r mp; do
    [ -n "$mp" ] || continue
    say "unmounting $mp"
    umount "$mp" 2>/dev/null || umount -l "$mp" || true
  done < <(mounts_under "$dir")
  left=$(mounts_under "$dir")
  [ -z "$left" ] || die "still mounted, not removing $dir: $(echo "$left" | tr '\n' ' ')"
  rm -rf --one-file-system -- "$dir"
}

ensure_bridge() {
  local disable_ipv6=/proc/sys/net/ipv6/conf/$CLUSTER_BRIDGE/disable_ipv6
  if ip link show dev "$CLUSTER_BRIDGE" >/dev/null 2>&1; then
    [[ $(ip -d link show dev "$CLUSTER_BRIDGE") == *" bridge "* ]] ||
      die "$CLUSTER_BRIDGE exists and is not a bridge"
  else
    say "bridge: creating $CLUSTER_BRIDGE (no addresses)"
    ip link add name "$CLUSTER_BRIDGE" type bridge || die "ip link add $CLUSTER_BRIDGE failed"
  fi
  # Before it goes up, or the kernel gives it an IPv6 link-local address.
  [ ! -e "$disable_ipv6" ] || echo 1 >"$disable_ipv6"
  ip link set dev "$CLUSTER_BRIDGE" up
  [ -z "$(ip -o addr show dev "$CLUSTER_BRIDGE")" ] ||
    die "$CLUSTER_BRIDGE has addresses; it must have none: $(ip -o addr show dev "$CLUSTER_BRIDGE")"
}

# Refuses to start a fresh member whose cluster address something else listens on (e.g. a daemon
# listening on all addresses, port 8443).
require_address_free() {
  local address listening
  address=$(member_address "$1")
  listening=$(ss -Hltn "sport = :$CLUSTER_PORT" | awk '{print $4}')
  if grep -xE "${address//./\\.}|0\.0\.0\.0:$CLUSTER_PORT|\*:$CLUSTER_PORT|\[::\]:$CLUSTER_PORT" \
    <<<"$listening" >/dev/null; then
    die "$1: something already listens on $address: $(ss -Hltnp "sport = :$CLUSTER_PORT" | tr '\n' ' ')"
  fi
}

# The names of the cluster's members, as m1 knows them.
member_names() {
  on m1 query /1.0/cluster/members | sed -n 's|.*"/1.0/cluster/members/\([^"]*\)".*|\1|p'
}

# A member's state in the cluster's view (ONLINE, OFFLINE, EVACUATED ...), asked of member $2.
member_state() {
  { on "$2" cluster show "$1" 2>/dev/null || true; } | sed -n 's/^status: //p' | tr '[:lower:]' '[:upper:]'
}

bootstrap() {
  say "m1: bootstrapping the cluster on $(member_address m1)"
  LXD_DIR=$(member_dir m1) timeout "$LXC_TIMEOUT" lxd init --preseed <<EOF || die "m1: lxd init --preseed failed"
config:
  core.https_address: $(member_address m1)
storage_pools:
- name: $CLUSTER_POOL
  driver: dir
  config:
    source: $(member_dir m1)/storage-pools/$CLUSTER_POOL
profiles:
- name: default
  devices:
    root:
      type: disk
      path: /
      pool: $CLUSTER_POOL
    eth0:
      type: nic
      nictype: bridged
      parent: $CLUSTER_BRIDGE
      name: eth0
cluster:
  server_name: m1
  enabled: true
EOF
}

join() {
  local m=$1 token
  say "$m: joining on $(member_address "$m")"
  # A token left by a join that failed half-way would make `cluster add` refuse.
  on m1 cluster revoke-token "$m" >/dev/null 2>&1 || true
  token=$(on m1 cluster add "$m" --quiet) || die "$m: m1 gave no join token"
  LXD_DIR=$(member_dir "$m") timeout "$LXC_TIMEOUT" lxd init --preseed <<EOF || die "$m: joining the cluster failed"
cluster:
  enabled: true
  server_name: $m
  server_address: $(member_address "$m")
  cluster_address: $(member_address m1)
  cluster_token: $token
  member_config:
  - entity: storage-pool
    name: $CLUSTER_POOL
    key: source
    value: $(member_dir "$m")/storage-pools/$CLUSTER_POOL
EOF
}

wait_online() {
  local deadline=$((SECONDS + ONLINE_TIMEOUT)) m offline
  while :; do
    offline=()
    for m in "${MEMBERS[@]}"; do
      [ "$(member_state "$m" m1)" = ONLINE ] || offline+=("$m")
    done
    [ ${#offline[@]} -gt 0 ] || return 0
    [ $SECONDS -lt $deadline ] || {
      tail_logs "${offline[@]}"
      die "not ONLINE after ${ONLINE_TIMEOUT}s: ${offline[*]}"
    }
    sleep 1
  done
}

# Waits until every member forwards requests to every other one. A member that was restarted is
# ONLINE before the others have their event links to it back, and until they do LXD answers any
# request they must forward to it with "Missing event connection with target cluster member".
wait_forwarding() {
  local deadline=$((SECONDS + ONLINE_TIMEOUT)) from to missing
  while :; do
    missing=()
    for from in "${MEMBERS[@]}"; do
      for to in "${MEMBERS[@]}"; do
        [ "$from" != "$to" ] || continue
        on "$from" query "/1.0?target=$to" >/dev/null 2>&1 || missing+=("$from->$to")
      done
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    [ $SECONDS -lt $deadline ] || die "members cannot reach each other after ${ONLINE_TIMEOUT}s: ${missing[*]}"
    sleep 1
  done
}

ensure_image() {
  local meta=$LXDKIT_IMAGE_DIR/busybox-metadata.tar.xz rootfs=$LXDKIT_IMAGE_DIR/busybox-rootfs.tar.xz
  if on m1 image info "$LXDKIT_TEST_IMAGE_ALIAS" >/dev/null 2>&1; then
    return 0
  fi
  if [ ! -f "$meta" ] || [ ! -f "$rootfs" ]; then
    "$here/build-test-images.sh" | sed 's/^/    /'
  fi
  say "image: importing $LXDKIT_TEST_IMAGE_ALIAS"
  on m1 image import "$meta" "$rootfs" --alias "$LXDKIT_TEST_IMAGE_ALIAS" >/dev/null ||
    die "importing $meta + $rootfs into the cluster failed"
  changed=1
}

since() { # milliseconds since $1 (date +%s%N), as seconds with one decimal
  local ms=$((($(date +%s%N) - $1) / 1000000))
  printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

lock() {
  mkdir -p "$(dirname "$LOCK")"
  exec 9>"$LOCK"
  flock -n 9 && return
  say "waiting for another scripts/cluster.sh to finish (lock $LOCK)"
  flock -w 600 9 || die "another scripts/cluster.sh still holds $LOCK after 600s"
}

cmd_up() {
  local t0 m fresh=() restarted=() joined info="" changed=0
  t0=$(date +%s%N)
  mkdir -p "$CLUSTER_LOG_DIR"
  [ -d "$CLUSTER_DIR" ] || mkdir -m 0711 "$CLUSTER_DIR"
  ensure_bridge

  # A member that exists but whose daemon is gone (killed, host rebooted) is started again; all at
  # once, as a restarted member waits for the others to reach its database.
  for m in "${MEMBERS[@]}"; do
    if [ -d "$(member_dir "$m")" ] && [ -z "$(member_pids "$m")" ]; then
      say "$m: the daemon is not running; starting it again"
      start_member "$m"
      restarted+=("$m")
      changed=1
    fi
  done
  for m in "${MEMBERS[@]}"; do
    [ ! -d "$(member_dir "$m")" ] || wait_member "$m"
  done

  # Without a bootstrapped m1 nothing else is worth keeping: an earlier `up` failed half-way.
  if [ -d "$(member_dir m1)" ]; then
    info=$(on m1 query /1.0) || die "m1: lxc query /1.0 failed"
  fi
  if [[ $info != *'"server_clustered": true'* ]]; then
    for m in "${MEMBERS[@]}"; do
      [ -d "$(member_dir "$m")" ] || continue
      say "$m: m1 is not a cluster yet; removing $m to start afresh"
      stop_member "$m"
      remove_tree "$(member_dir "$m")"
    done
    fresh=("${MEMBERS[@]}") restarted=()
  else
    joined=$(member_names) || die "m1 does not list the cluster's members"
    for m in "${MEMBERS[@]:1}"; do
      if grep -qx "$m" <<<"$joined"; then
        [ -d "$(member_dir "$m")" ] ||
          die "$m is a member of the cluster but $(member_dir "$m") is gone: run '$0 down', then '$0 up'"
      else
        if [ -d "$(member_dir "$m")" ]; then
          say "$m: not a member of the cluster; removing it to join afresh"
          stop_member "$m"
          remove_tree "$(member_dir "$m")"
        fi
        fresh+=("$m")
      fi
    done
  fi

  if [ ${#fresh[@]} -gt 0 ]; then
    changed=1
    for m in "${fresh[@]}"; do require_address_free "$m"; done
    for m in "${fresh[@]}"; do
      : >"$(member_log "$m")"
      say "$m: starting (LXD_DIR=$(member_dir "$m"))"
      start_member "$m"
    done
    for m in "${fresh[@]}"; do wait_member "$m"; done
    [ "${fresh[0]}" != m1 ] || bootstrap
    for m in "${fresh[@]}"; do [ "$m" = m1 ] || join "$m"; done
  fi

  wait_online
  wait_forwarding
  ensure_image
  if [ "$changed" = 1 ]; then
    say "cluster: up in $(since "$t0")s (${MEMBERS[*]} ONLINE${restarted[*]:+; restarted ${restarted[*]}})"
  else
    say "cluster: already up (${MEMBERS[*]} ONLINE), nothing to do ($(since "$t0")s)"
  fi
}

# Waits for the given background jobs only: a bare `wait` would also wait for a daemon that
# start_member started.
wait_pids() {
  local pid
  for pid in "$@"; do wait "$pid" || true; done
}

cmd_down() {
  local t0 m asker="" names name project pids bad=0 deleting=() stopping=() running=()
  t0=$(date +%s%N)
  if [ -d "$CLUSTER_DIR" ]; then
    # A member whose daemon died may have left containers running; its daemon stops them best.
    for m in "${MEMBERS[@]}"; do
      if [ -d "$(member_dir "$m")/database" ] && [ -z "$(member_pids "$m")" ] &&
        [ -n "$(cluster_processes "$(member_dir "$m")")" ]; then
        say "$m: the daemon is not running but its containers are; starting it to stop them"
        start_member "$m"
      fi
    done
    for m in "${MEMBERS[@]}"; do
      [ -n "$(member_pids "$m")" ] || continue
      LXD_DIR=$(member_dir "$m") timeout 60 lxd waitready --timeout 45 >/dev/null 2>&1 || true
      if [ -z "$asker" ] && member_answers "$m"; then asker=$m; fi
    done

    if [ -n "$asker" ]; then
      # name,project per line; all deleted at once.
      names=$(on "$asker" list --all-projects -f csv -c ne 2>/dev/null) || {
        say "could not list the cluster's instances through $asker"
        names=""
      }
      [ -z "$names" ] || say "deleting instances: $(cut -d, -f1 <<<"$names" | paste -sd' ')"
      while IFS=, read -r name project; do
        [ -n "$name" ] || continue
        on "$asker" delete --force --project "$project" "$name" ||
          say "deleting $name (project $project) failed; its processes are killed below" &
        deleting+=($!)
      done <<<"$names"
      wait_pids "${deleting[@]}"
    fi

    # All but the last running member at once: they keep the quorum that a clean shutdown needs.
    # The last one has none left: its database calls time out (0.5 to 20 s, measured) doing
    # nothing that matters once the instances are gone, so it gets 3 s before SIGKILL.
    for m in "${MEMBERS[@]}"; do
      [ -z "$(member_pids "$m")" ] || running+=("$m")
    done
    if [ ${#running[@]} -gt 0 ]; then
      say "shutting down ${running[*]}"
      for m in "${running[@]}"; do
        [ "$m" != "${running[-1]}" ] || continue
        stop_member "$m" &
        stopping+=($!)
      done
      wait_pids "${stopping[@]}"
      stop_member "${running[-1]}" 3
    fi

    pids=$(cluster_processes)
    if [ -n "$pids" ]; then
      say "killing processes left by the cluster: $(echo "$pids" | tr '\n' ' ')"
      # shellcheck disable=SC2086
      kill -KILL $pids 2>/dev/null || true
      sleep 1
      pids=$(cluster_processes)
      [ -z "$pids" ] || die "processes of the cluster would not die: $(echo "$pids" | tr '\n' ' ')"
    fi
    remove_tree "$CLUSTER_DIR"
  fi
  if ip link show dev "$CLUSTER_BRIDGE" >/dev/null 2>&1; then
    say "bridge: removing $CLUSTER_BRIDGE"
    ip link del dev "$CLUSTER_BRIDGE"
  fi

  # What must be gone.
  for m in "${MEMBERS[@]}"; do
    [ -z "$(member_pids "$m")" ] || { say "$m: a daemon still runs"; bad=1; }
  done
  [ ! -e "$CLUSTER_DIR" ] || { say "$CLUSTER_DIR still exists"; bad=1; }
  ! grep -qF " $CLUSTER_DIR" /proc/self/mountinfo || { say "mounts under $CLUSTER_DIR remain"; bad=1; }
  [ "$bad" = 0 ] || die "the cluster is not completely down"
  say "cluster: down in $(since "$t0")s (logs kept in $CLUSTER_LOG_DIR)"
}

# Exits 0 only when every member's daemon answers and the cluster sees every member ONLINE.
cmd_status() {
  local m asker="" state all=0
  local -A daemon
  for m in "${MEMBERS[@]}"; do
    if [ ! -d "$(member_dir "$m")" ]; then
      daemon[$m]=absent
    elif [ -z "$(member_pids "$m")" ]; then
      daemon[$m]=stopped
    elif member_answers "$m"; then
      daemon[$m]=running
      asker=${asker:-$m}
    else
      daemon[$m]=not-answering
    fi
  done
  for m in "${MEMBERS[@]}"; do
    state=""
    [ -z "$asker" ] || state=$(member_state "$m" "$asker")
    printf '%-3s %-13s %-9s %s %s\n' "$m" "${daemon[$m]}" "${state:--}" "$(member_address "$m")" \
      "$(member_dir "$m")/unix.socket"
    [ "${daemon[$m]}" = running ] && [ "$state" = ONLINE ] || all=1
  done
  exit "$all"
}

cmd_env() {
  local m var
  # shellcheck disable=SC2016 # printed as it is, for the reader to run
  printf '# eval "$(scripts/cluster.sh env)"\n'
  printf "export LXDKIT_CLUSTER_MEMBERS='%s'\n" "${MEMBERS[*]}"
  for m in "${MEMBERS[@]}"; do
    var=LXDKIT_CLUSTER_${m^^}
    printf 'export %s_DIR=%s\n' "$var" "$(member_dir "$m")"
    printf 'export %s_SOCKET=%s\n' "$var" "$(member_dir "$m")/unix.socket"
    printf 'export %s_ADDRESS=%s\n' "$var" "$(member_address "$m")"
  done
  printf 'export LXDKIT_CLUSTER_BRIDGE=%s\n' "$CLUSTER_BRIDGE"
  printf 'export LXDKIT_CLUSTER_POOL=%s\n' "$CLUSTER_POOL"
  printf 'export LXDKIT_CLUSTER_IMAGE_ALIAS=%s\n' "$LXDKIT_TEST_IMAGE_ALIAS"
}

usage() {
  sed -n '2,7s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

case ${1:-} in
  up | down | status)
    require_root
    for c in lxd lxc ip ss pgrep flock; do
      command -v "$c" >/dev/null || die "$c not found (scripts/provision-host.sh installs what is missing)"
    done
    [ "$1" = status ] || lock
    "cmd_$1"
    ;;
  env) cmd_env ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
esac
