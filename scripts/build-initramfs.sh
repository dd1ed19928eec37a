#!/usr/bin/env bash
# Build build/initramfs.cpio.gz: static arm64 busybox, guest/init, the guest
# test programs (guest/*.c, built static), and the harness' KUnit module.
# Needs a built kernel tree (build/obj) for the modules and gen_init_cpio.
#
# usage: build-initramfs.sh [--baseline]
#   --baseline  modules built against build/baseline/obj, image written to
#               build/baseline/initramfs.cpio.gz (the guest programs are the same)
# KR_OUT=DIR: modules against DIR/obj, image DIR/initramfs.cpio.gz
# KR_KSRC=DIR: that kernel's source tree (default build/linux)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

dest=build ksrc=build/linux
[ "${1:-}" = "--baseline" ] && dest=build/baseline ksrc=build/baseline/linux
# KR_OUT: a kernel build-kernel.sh put elsewhere (a geometry of the matrix).
dest=${KR_OUT:-$dest}
# KR_KSRC: the source tree that kernel was built from, if not build/linux.
ksrc=${KR_KSRC:-$ksrc}

CC=${GUEST_CC:-aarch64-linux-gnu-gcc}
CFLAGS="-static -O2 -Wall -Wextra -Werror -std=gnu11"
obj=$dest/obj
kmod=$dest/kmod
out=build/guest
mkdir -p "$out" build/tools "$kmod"

[ -x build/tools/busybox ] || scripts/deps.sh
[ -f "$obj/Module.symvers" ] || { echo "build-initramfs: build the kernel first (make kernel)" >&2; exit 1; }

for src in guest/*.c; do
	bin=$out/$(basename "$src" .c)
	if [ ! -x "$bin" ] || [ -n "$(find "$src" guest/*.h -newer "$bin")" ]; then
		$CC $CFLAGS -o "$bin" "$src"
	fi
done

# The test modules, built out of tree against the kernel they will load into,
# with its compiler (KR_LLVM=1: clang, as build-kernel.sh).
cp tests/kmod/Kbuild tests/kmod/*.c "$kmod/"
if [ "${KR_LLVM:-0}" = 1 ]; then
	kcc=(LLVM=1)
else
	kcc=(CROSS_COMPILE=aarch64-linux-gnu-)
fi
make -s -C "$ksrc" O="$top/$obj" M="$top/$kmod" ARCH=arm64 "${kcc[@]}" modules

gen=build/tools/gen_init_cpio
[ -x "$gen" ] || gcc -O2 -o "$gen" build/linux/usr/gen_init_cpio.c

list=$dest/initramfs.list
{
	echo "dir /dev 0755 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	for d in /proc /sys /tmp /bin /sbin /usr /usr/bin /usr/sbin /tests /modules; do
		echo "dir $d 0755 0 0"
	done
	echo "file /bin/busybox $top/build/tools/busybox 0755 0 0"
	echo "file /init $top/guest/init 0755 0 0"
	for bin in "$out"/*; do
		echo "file /tests/$(basename "$bin") $top/$bin 0755 0 0"
	done
	for ko in "$kmod"/*.ko; do
		echo "file /modules/$(basename "$ko") $top/$ko 0644 0 0"
	done
} >"$list"
"$gen" -t 0 "$list" | gzip -9 -n >"$dest/initramfs.cpio.gz.tmp"
mv "$dest/initramfs.cpio.gz.tmp" "$dest/initramfs.cpio.gz"
echo "build-initramfs: $dest/initramfs.cpio.gz ($(stat -c %s "$dest/initramfs.cpio.gz") bytes)"
