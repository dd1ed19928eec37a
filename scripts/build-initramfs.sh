#!/usr/bin/env bash
# Build build/initramfs.cpio.gz: static arm64 busybox, guest/init, the guest
# test programs (guest/*.c, built static), and the harness' KUnit module.
# Needs a built kernel tree (build/obj) for the module and gen_init_cpio.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

CC=${GUEST_CC:-aarch64-linux-gnu-gcc}
CFLAGS="-static -O2 -Wall -Wextra -Werror -std=gnu11"
obj=build/obj
out=build/guest
mkdir -p "$out" build/tools build/kmod

[ -x build/tools/busybox ] || scripts/deps.sh
[ -f "$obj/Module.symvers" ] || { echo "build-initramfs: build the kernel first (make kernel)" >&2; exit 1; }

for src in guest/*.c; do
	bin=$out/$(basename "$src" .c)
	if [ ! -x "$bin" ] || [ -n "$(find "$src" guest/*.h -newer "$bin")" ]; then
		$CC $CFLAGS -o "$bin" "$src"
	fi
done

# The harness' KUnit module, built out of tree against build/obj.
cp tests/kmod/Kbuild tests/kmod/*.c build/kmod/
make -s -C build/linux O="$top/$obj" M="$top/build/kmod" ARCH=arm64 \
	CROSS_COMPILE=aarch64-linux-gnu- modules

gen=build/tools/gen_init_cpio
[ -x "$gen" ] || gcc -O2 -o "$gen" build/linux/usr/gen_init_cpio.c

list=build/initramfs.list
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
	for ko in build/kmod/*.ko; do
		echo "file /modules/$(basename "$ko") $top/$ko 0644 0 0"
	done
} >"$list"
"$gen" -t 0 "$list" | gzip -9 -n >build/initramfs.cpio.gz.tmp
mv build/initramfs.cpio.gz.tmp build/initramfs.cpio.gz
echo "build-initramfs: build/initramfs.cpio.gz ($(stat -c %s build/initramfs.cpio.gz) bytes)"
