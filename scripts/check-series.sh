#!/usr/bin/env bash
# Check that every patch of the series is bisectable: for each commit of
# build/linux (kreplica-base..HEAD), checkpatch reports no error, the kernel
# builds (the project's config, out of tree in build/bisect-obj, through
# ccache) and it boots on 4 nodes x 2 CPUs with a clean console.
# Needs `make kernel initramfs` first (it starts from build/obj/.config).
# Prints one line per commit; exits 1 if any commit fails.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
tree=build/linux
obj=$top/build/bisect-obj

[ -f build/obj/.config ] || { echo "check-series: run make kernel first" >&2; exit 2; }
[ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ] ||
	{ echo "check-series: $tree has uncommitted edits" >&2; exit 2; }
head=$(git -C "$tree" rev-parse HEAD)
branch=$(git -C "$tree" symbolic-ref -q --short HEAD || echo "$head")
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache} CCACHE_BASEDIR=$top
kmake() {
	make -s -C "$tree" O="$obj" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
		CC="ccache aarch64-linux-gnu-gcc" "$@"
}

mkdir -p "$obj" build/test-logs
fail=0
# CHECK_FROM=<commit>: start after it (the commits up to it were checked).
for c in $(git -C "$tree" rev-list --reverse "${CHECK_FROM:-kreplica-base}".."$head"); do
	subject=$(git -C "$tree" log -1 --format='%h %s' "$c")
	git -C "$tree" checkout -q "$c"
	errors=$(git -C "$tree" format-patch -1 --stdout "$c" |
		 (cd "$tree" && scripts/checkpatch.pl -q - 2>/dev/null) | grep -c '^ERROR')
	cp build/obj/.config "$obj/.config"
	log=build/test-logs/series-$c
	if ! { kmake olddefconfig && kmake -j"$(($(nproc) + 1))" Image modules; } >"$log.build" 2>&1; then
		echo "FAIL $subject: does not build ($log.build)"
		fail=1
		continue
	fi
	python3 scripts/vm.py --kernel "$obj/arch/arm64/boot/Image" --config "$obj/.config" \
		--append "kr.run=kr-topo kr.topo=4x2:1024" --timeout 300 --log "$log.console"
	if [ "$errors" -ne 0 ]; then
		echo "FAIL $subject: $errors checkpatch errors"
		fail=1
	elif ! python3 scripts/console_check.py "$log.console" >/dev/null; then
		echo "FAIL $subject: boot failed ($log.console)"
		fail=1
	else
		echo "PASS $subject"
	fi
done
git -C "$tree" checkout -q "$branch"
exit $fail
