#!/usr/bin/env bash
# Build the arm64 kernel from the project's config fragments, out of tree and
# through ccache.
#
# usage: build-kernel.sh [--baseline]
#   default     build/linux (series applied) -> build/obj, build/Image, build/vmlinux
#   --baseline  pristine source, same config  -> build/baseline/{obj,Image,vmlinux}
# Environment: JOBS (default nproc+1), FRAGMENTS (default configs/base.config
# configs/debug.config), EXTRA_FRAGMENTS (appended; a later assignment of a
# symbol overrides an earlier one, e.g. configs/geometry/64k-48.config),
# KR_OUT (output directory instead of build or build/baseline), KR_LLVM=1
# (clang and LLVM's binutils instead of GCC: kernel BTI needs clang in 6.12).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

baseline=0
if [ "${1:-}" = "--baseline" ]; then
	scripts/prepare-tree.sh --baseline
	src=build/baseline/linux out=build/baseline baseline=1
else
	scripts/prepare-tree.sh
	src=build/linux out=build
fi
out=${KR_OUT:-$out}
obj=$top/$out/obj
mkdir -p "$obj"

FRAGMENTS=${FRAGMENTS:-"configs/base.config configs/debug.config"}
frags="$FRAGMENTS ${EXTRA_FRAGMENTS:-}"
JOBS=${JOBS:-$(($(nproc) + 1))}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$top
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
# Identical builds reproduce identical images (benchmarks compare kernels).
export KBUILD_BUILD_TIMESTAMP="2024-11-17 00:00:00 UTC"
export KBUILD_BUILD_USER=kreplica KBUILD_BUILD_HOST=kreplica
if [ "${KR_LLVM:-0}" = 1 ]; then
	cc=(LLVM=1 CC="ccache clang" HOSTCC="ccache clang")
else
	cc=(CROSS_COMPILE=aarch64-linux-gnu- CC="ccache aarch64-linux-gnu-gcc" HOSTCC="ccache gcc")
fi
kmake() {
	make -s -C "$src" O="$obj" ARCH=arm64 "${cc[@]}" "$@"
}

cat $frags >"$obj/kreplica.fragment"
# Rebuild .config only when the fragments changed, so warm builds stay warm.
if ! cmp -s "$obj/kreplica.fragment" "$obj/kreplica.fragment.used" 2>/dev/null ||
   [ ! -f "$obj/.config" ]; then
	KCONFIG_ALLCONFIG="$obj/kreplica.fragment" kmake allnoconfig
	cp "$obj/kreplica.fragment" "$obj/kreplica.fragment.used"
fi
kmake olddefconfig

# Every symbol a fragment asks for must survive dependency resolution; the
# last assignment of a symbol is the one asked for.
bad=0
declare -A want=()
order=()
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) sym=${line%%=*} val=${line#*=} ;;
	"# CONFIG_"*" is not set") sym=${line#\# } sym=${sym%% *} val=n ;;
	*) continue ;;
	esac
	[ -n "${want[$sym]+set}" ] || order+=("$sym")
	want[$sym]=$val
done <"$obj/kreplica.fragment"
for sym in "${order[@]}"; do
	val=${want[$sym]}
	got=$(grep -E "^$sym=|^# $sym is not set" "$obj/.config" || true)
	case "$got" in
	"$sym=$val") ;;
	"# $sym is not set") [ "$val" = n ] || { echo "config: $sym=$val requested, is not set" >&2; bad=1; } ;;
	"")	# Options the series adds do not exist in the pristine baseline.
		if [ "$baseline" -eq 1 ]; then
			echo "config: $sym is not in the baseline tree (added by the series)"
		else
			echo "config: $sym=$val requested, not in this tree's Kconfig" >&2; bad=1
		fi ;;
	*) echo "config: $sym=$val requested, got '$got'" >&2; bad=1 ;;
	esac
done
[ $bad -eq 0 ] || { echo "build-kernel: config fragments not satisfied" >&2; exit 1; }

echo "build-kernel: building $src (-j$JOBS)"
kmake -j"$JOBS" Image modules
cp "$obj/arch/arm64/boot/Image" "$out/Image"
cp "$obj/vmlinux" "$out/vmlinux"
cp "$obj/System.map" "$out/System.map"
cp "$obj/.config" "$out/config"
echo "build-kernel: $out/Image ($(stat -c %s "$out/Image") bytes)"
