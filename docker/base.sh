#!/usr/bin/env bash
# Makes the one base image every Dockerfile of this project starts FROM, where no container registry can be
# reached: Debian bookworm from the Debian mirror apt already uses (debootstrap --variant=minbase), imported and
# tagged debian:bookworm-slim. Anywhere a registry is reachable, the official debian:bookworm-slim does the same
# job and this script is not needed.
#   docker/base.sh [--force]      DOCKER=/usr/bin/docker picks the client; DEBIAN_MIRROR=http://... the mirror
# Differences from the official image: the CA certificates this machine trusts (/usr/local/share/ca-certificates,
# e.g. an HTTPS proxy's) are installed with ca-certificates, so pip, npm and Maven inside builds reach the package
# registries; the same dpkg excludes (docs, man pages, locales) keep it small.
set -euo pipefail
docker=${DOCKER:-docker}
tag=debian:bookworm-slim
marker=metrics-server.base   # a label telling our import from a pulled image

if [ "${1:-}" != --force ] && [ -n "$("$docker" image ls -q --filter "label=$marker" "$tag")" ]; then
  echo "$tag: already made here"
  exit 0
fi

mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  # The mirror of apt's bookworm source: deb822 (URIs:) or one-line (deb URL bookworm ...) format.
  mirror=$(awk '/^URIs:/ {uri=$2} /^Suites:.*bookworm( |$)/ && uri {print uri; exit}
                /^deb / && $3 == "bookworm" {print $2; exit}' \
           /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi

rootfs=$(mktemp -d "${TMPDIR:-/tmp}/debian-rootfs.XXXXXX")
trap 'rm -rf "$rootfs"' EXIT
started=$(date +%s)
debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" >/dev/null

# The official slim image's trimming: no documentation, man pages or translations from later installs either.
cat > "$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
rm -rf "$rootfs"/usr/share/{man,groff,info,lintian,linda,locale}/*
cat > "$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
EOF

# Updates and security fixes, as in the official image.
security=${mirror%/debian}/debian-security
cat > "$rootfs/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF

if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
fi
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/log/*.log "$rootfs"/tmp/*

tar -C "$rootfs" --numeric-owner -c . | "$docker" import \
  --change 'CMD ["bash"]' --change "LABEL $marker=1" - "$tag" >/dev/null
echo "$tag: made from $mirror in $(( $(date +%s) - started ))s, $("$docker" image inspect -f '{{.Size}}' "$tag") bytes"
