#!/usr/bin/env bash
# Prepare a kernel tree as a git repository:
#   base commit (tag kreplica-base) = pristine Debian linux-source-6.12,
#   then one commit per patch in patches/series.
#
# usage: prepare-tree.sh [--baseline] [--force]
#   default     build/linux, the tree you edit and build
#   --baseline  build/baseline/linux, the pristine tree only (no patches)
#   --force     throw the tree away and start again, even with local work
#
# An existing tree is kept when its commits are exactly the series. When the
# series moved on (git pull) and the tree holds no work of its own, the tree is
# reset to the base and the series applied again. A tree with commits or edits
# that patches/ lacks is never touched (it is built as it is, with a warning):
# export them with export-patches.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

SRC_TARBALL=${SRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
tree=build/linux
baseline=0
force=0
for a in "$@"; do
	case "$a" in
	--baseline) baseline=1; tree=build/baseline/linux ;;
	--force) force=1 ;;
	*) echo "prepare-tree: unknown option $a" >&2; exit 2 ;;
	esac
done

die() { echo "prepare-tree: $*" >&2; exit 1; }

series_patches() {
	[ "$baseline" -eq 1 ] && return 0
	[ -f patches/series ] || return 0
	sed -e 's/#.*//' -e 's/[[:space:]]*$//' patches/series | grep -v '^$' || true
}

patch_ids_of_series() {
	local p
	for p in $(series_patches); do
		[ -f "patches/$p" ] || die "patches/series names missing file $p"
		git patch-id --stable <"patches/$p" | cut -d' ' -f1
	done
}

patch_ids_of_tree() {
	local c
	for c in $(git -C "$tree" rev-list --reverse kreplica-base..HEAD); do
		git -C "$tree" show "$c" | git patch-id --stable | cut -d' ' -f1
	done
}

git_t() {
	git -C "$tree" -c user.name=kreplica -c user.email=kreplica@localhost "$@"
}

create_base() {
	[ -f "$SRC_TARBALL" ] || die "$SRC_TARBALL missing (run scripts/deps.sh)"
	rm -rf "$tree" "$tree.tmp"
	mkdir -p "$tree.tmp"
	echo "prepare-tree: unpacking $SRC_TARBALL into $tree"
	tar -xJf "$SRC_TARBALL" -C "$tree.tmp" --strip-components=1
	mv "$tree.tmp" "$tree"
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo unknown)
	git_t init -q
	git_t config core.autocrlf false
	# Debian's top-level .gitignore ignores every top-level entry ("/*"),
	# so the pristine source has to be added with -f. New files added while
	# editing need "git add -f" too (export-patches.sh warns about them).
	git_t add -f -A
	git_t commit -q -m "Debian linux-source-6.12 $ver (pristine)"
	git_t tag kreplica-base
}

apply_series() {
	local p n=0
	for p in $(series_patches); do
		git_t am -q --keep-cr "$top/patches/$p" ||
			die "patch $p does not apply; tree left in git-am state at $tree"
		n=$((n + 1))
	done
	echo "prepare-tree: $tree at base + $n patches"
}

if [ "$force" -eq 1 ] || [ ! -d "$tree/.git" ] ||
   ! git -C "$tree" rev-parse -q --verify kreplica-base >/dev/null; then
	create_base
	apply_series
	exit 0
fi

want=$(patch_ids_of_series | tr '\n' ' ')
have=$(patch_ids_of_tree | tr '\n' ' ')
[ "$want" = "$have" ] && exit 0

dirty=$(git -C "$tree" status --porcelain --untracked-files=no)
extra=$(comm -13 <(tr ' ' '\n' <<<"$want" | sort -u) <(tr ' ' '\n' <<<"$have" | sort -u) | grep -v '^$' || true)
if [ -n "$dirty" ] || [ -n "$extra" ]; then
	# Work in progress: build the tree as it is, never overwrite it.
	echo "prepare-tree: $tree has work that patches/ lacks (uncommitted edits or" \
		"commits not exported); using it as it is. Export it with" \
		"scripts/export-patches.sh, or rerun with --force to discard it." >&2
	exit 0
fi
echo "prepare-tree: patches/ changed; re-applying the series on kreplica-base"
git_t reset -q --hard kreplica-base
apply_series
