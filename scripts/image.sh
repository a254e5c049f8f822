#!/usr/bin/env bash
# The platform's image built and run with podman on a machine that reaches a Debian mirror but no image
# registry (docs/operations.md, "Build the image"):
#   scripts/image.sh base            Debian minbase from the mirror (debootstrap, tarball cached under var/cache),
#                                    imported as localhost/newcitizen-base:$DEBIAN_SUITE
#   scripts/image.sh build TAG       deploy/Dockerfile on that base
#   scripts/image.sh podman ARGS...  podman with this checkout's store and settings (what the image test uses)
#   scripts/image.sh settings        the driver, runtime and limits chosen here, and why
# Needs root (podman's store here is a root one) and debootstrap, podman, runc: `make image-tools`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SUITE=${DEBIAN_SUITE:-bookworm}
ARCH=${DEBIAN_ARCH:-$(dpkg --print-architecture 2>/dev/null || echo amd64)}
KEYRING=${DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
BASE_TAG=localhost/newcitizen-base:$SUITE
CACHE=${IMAGE_CACHE_DIR:-$ROOT/var/cache/debootstrap}
STATE=${IMAGE_DIR:-$ROOT/var/image}

# the mirror apt already uses here (deb822 or one-line sources), so the base comes from where packages do
apt_uri() { # $1: "security" for the security archive, "" for the main one
  local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list)
  local found
  found=$(cat "${files[@]}" 2>/dev/null | sed -n -E \
    -e 's/^URIs:[[:space:]]*(\S+).*/\1/p' -e 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?(\S+).*/\2/p' |
    grep -E '^https?://' | { if [ "$1" = security ]; then grep -- '-security'; else grep -v -- '-security'; fi; } |
    grep -E '/debian(-security)?/?$' | head -n 1 || true)
  echo "${found%/}"
}
MIRROR=${DEBIAN_MIRROR:-$(apt_uri "")}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-$(apt_uri security)}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# overlay where the kernel mounts one here (root on ext4 or xfs); fuse-overlayfs where only FUSE works (inside
# an unprivileged container); vfs otherwise (a full copy per layer: slow and large, but it works everywhere)
storage_driver() {
  if [ -n "${IMAGE_STORAGE_DRIVER:-}" ]; then echo "$IMAGE_STORAGE_DRIVER"; return; fi
  local probe
  mkdir -p "$STATE"
  probe=$(mktemp -d "$STATE/overlay-probe.XXXXXX")
  mkdir -p "$probe"/{lower,upper,work,merged}
  if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
    "$probe/merged" 2>/dev/null; then
    umount "$probe/merged"
    echo overlay
  elif command -v fuse-overlayfs >/dev/null && [ -c /dev/fuse ]; then
    echo fuse-overlayfs
  else
    echo vfs
  fi
  rm -rf "$probe"
}

# runc over crun: crun (Debian's default) refuses a host with both cgroup v1 and v2 mounted ("hybrid"), as
# this one is; runc handles v1, v2 and hybrid
oci_runtime() {
  if [ -n "${IMAGE_RUNTIME:-}" ]; then echo "$IMAGE_RUNTIME"
  elif command -v runc >/dev/null; then echo runc
  else echo crun; fi
}

# podman's defaults ask for more than the hard limits allow here (nofile 1048576; and podman lowers its own
# process to nproc 32768 before it starts a container), and without CAP_SYS_RESOURCE the runtime cannot raise
# them: give containers this shell's hard limits, capped where podman's own are
hard_limit() { # $1: -n or -u; $2: cap
  local value
  value=$(ulimit -H "$1")
  if [ "$value" = unlimited ] || [ "$value" -gt "$2" ]; then value=$2; fi
  echo "$value"
}

configure() {
  local driver runtime runroot nofile nproc
  driver=$(storage_driver)
  runtime=$(oci_runtime)
  nofile=$(hard_limit -n 1048576)
  nproc=$(hard_limit -u 32768)
  # runtime state on tmpfs as podman expects (stale after a reboot otherwise), one directory per checkout
  runroot=/run/newcitizen-image/$(printf '%s' "$STATE" | sha256sum | cut -c1-12)
  mkdir -p "$STATE" "$runroot"
  {
    echo "[storage]"
    echo "driver = \"${driver/fuse-overlayfs/overlay}\""
    echo "graphroot = \"$STATE/storage-$driver\""
    echo "runroot = \"$runroot/storage\""
    if [ "$driver" = fuse-overlayfs ]; then
      printf '[storage.options.overlay]\nmount_program = "%s"\n' "$(command -v fuse-overlayfs)"
    fi
  } >"$STATE/storage.conf"
  cat >"$STATE/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "$runtime"
tmp_dir = "$runroot/libpod"
EOF
  export CONTAINERS_STORAGE_CONF=$STATE/storage.conf CONTAINERS_CONF=$STATE/containers.conf
  SETTINGS="storage driver $driver, runtime $runtime, nofile $nofile, nproc $nproc, store $STATE/storage-$driver"
}

base() {
  local key tarball digest work
  key=$(printf '%s\n' "$MIRROR" "$SECURITY_MIRROR" "$SUITE" "$ARCH" | sha256sum | cut -c1-12)
  tarball=$CACHE/$SUITE-minbase-$ARCH-$(printf '%s' "${MIRROR#*://}" | tr -c 'A-Za-z0-9.-' '_')-$key.tar
  if [ ! -s "$tarball" ]; then
    echo "debootstrap $SUITE (minbase, $ARCH) from $MIRROR into $tarball"
    mkdir -p "$CACHE"
    work=$(mktemp -d "$CACHE/root.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    debootstrap --variant=minbase --arch="$ARCH" --keyring="$KEYRING" "$SUITE" "$work/root" "$MIRROR" \
      >"$work/debootstrap.log" 2>&1 || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
    # as the registry's bookworm-slim: apt's sources in deb822 form (release, updates, security), no
    # documentation installed by later packages, no package cache or lists in the layer
    rm -f "$work/root/etc/apt/sources.list"
    cat >"$work/root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    cat >"$work/root/etc/dpkg/dpkg.cfg.d/newcitizen-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
    find "$work/root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
    rm -rf "$work/root/usr/share/man/"* "$work/root/usr/share/info/"* "$work/root/usr/share/locale/"*
    rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
    tar -C "$work/root" --numeric-owner -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
    rm -rf "$work"
    trap - EXIT
  fi
  digest=$(sha256sum "$tarball" | cut -c1-64)
  if [ "$(podman image inspect --format '{{index .Labels "newcitizen.base.tarball"}}' "$BASE_TAG" 2>/dev/null)" \
    != "$digest" ]; then
    podman import --quiet --change "LABEL newcitizen.base.tarball=$digest" --change 'CMD ["bash"]' \
      "$tarball" "$BASE_TAG" >/dev/null
    echo "imported $BASE_TAG"
  fi
  echo "$BASE_TAG from $tarball"
}

build() {
  local tag=${1:?usage: scripts/image.sh build TAG}
  local ca=${IMAGE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt} secret=()
  base
  # this machine's CA bundle for pip: it trusts whatever proxy this machine's own HTTPS goes through
  [ -s "$ca" ] && secret=(--secret "id=ca-bundle,src=$ca")
  # --network=host: the RUN steps reach the Debian mirror and PyPI the way this machine does
  podman build --format docker --network=host --layers --ignorefile deploy/Dockerfile.dockerignore "${secret[@]}" \
    --build-arg BASE_IMAGE="$BASE_TAG" -f deploy/Dockerfile -t "$tag" .
}

configure
case "${1:-}" in
  base) base ;;
  build) shift; build "$@" ;;
  podman) shift; exec podman "$@" ;;
  settings) echo "$SETTINGS; base from $MIRROR ($SUITE, $ARCH)" ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
