#!/usr/bin/env bash
# Debian packages that tests need beyond Python. Installed where apt can be used (root, apt-get present);
# elsewhere the tests that need one skip and say why.
#   scripts/ensure_tools.sh         `prometheus`, for promtool (the alert-rule tests) and the server itself
#                                   (`make test-prometheus` runs it on loopback against a throw-away platform)
#   scripts/ensure_tools.sh image   podman, buildah, debootstrap and runc, for `make image-test`
#                                   (fuse-overlayfs: the store's fallback where the kernel mounts no overlay)
set -uo pipefail

missing=()
need() { # command package
  command -v "$1" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
case "${1:-}" in
  image)
    need podman podman
    need buildah buildah
    need debootstrap debootstrap
    need runc runc
    need fuse-overlayfs fuse-overlayfs
    ;;
  *) { command -v promtool && command -v prometheus; } >/dev/null 2>&1 || missing+=(prometheus) ;;
esac
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "not installed: ${missing[*]} (needs root and apt-get); the tests that use them will skip" >&2
  exit 0
fi
echo "installing Debian packages for the tests: ${missing[*]}"
# a package's post-install must not start its daemon (Prometheus on :9090) on a developer's machine or in CI
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; } ||
  echo "could not install ${missing[*]}; the tests that use them will skip" >&2
[ "$created_policy" -eq 1 ] && rm -f "$policy"
exit 0
