#!/usr/bin/env bash
# Install everything a fresh Debian bookworm machine needs to build, boot and
# test kreplica. Idempotent: does nothing when every tool is already present.
# Must run as root (or with sudo available) the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

BUSYBOX=build/tools/busybox
PKGS=(
	make gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu
	qemu-system-arm qemu-efi-aarch64 linux-source-6.12 flex bison bc libssl-dev libelf-dev
	ccache cpio xz-utils kmod python3 git gzip
	clang lld llvm
)

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

missing_pkgs() {
	local p
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q 'install ok installed' || echo "$p"
	done
}

apt_updated=0
apt_update() {
	[ $apt_updated -eq 1 ] && return
	$SUDO apt-get update -qq
	apt_updated=1
}

mapfile -t need < <(missing_pkgs)
if [ ${#need[@]} -gt 0 ]; then
	echo "deps: installing ${need[*]}"
	apt_update
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# A static arm64 busybox for the initramfs, from Debian's arm64 archive.
if [ ! -x "$BUSYBOX" ]; then
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		$SUDO dpkg --add-architecture arm64
		apt_updated=0
	fi
	apt_update
	tmp=$(mktemp -d)
	chmod 0777 "$tmp"  # apt-get download writes as user _apt
	(cd "$tmp" && apt-get download -qq busybox-static:arm64 2>&1 | grep -v unsandboxed || true)
	dpkg-deb -x "$tmp"/busybox-static_*_arm64.deb "$tmp/x"
	mkdir -p "$(dirname "$BUSYBOX")"
	install -m 0755 "$tmp/x/bin/busybox" "$BUSYBOX"
	rm -rf "$tmp"
	file_type=$(od -An -tx1 -j18 -N2 "$BUSYBOX" | tr -d ' ')
	# e_machine 0xb7 = EM_AARCH64
	[ "$file_type" = "b700" ] || { echo "deps: $BUSYBOX is not arm64" >&2; exit 1; }
fi
echo "deps: ok"
