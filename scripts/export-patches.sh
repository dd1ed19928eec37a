#!/usr/bin/env bash
# Export the commits of build/linux (kreplica-base..HEAD) to patches/ as
# git format-patch files plus a series file, replacing what patches/ held.
# Refuses to run with uncommitted edits in the tree, and runs checkpatch on
# each patch (errors fail the export; warnings are printed for review).
set -euo pipefail
cd "$(dirname "$0")/.."
tree=build/linux

die() { echo "export-patches: $*" >&2; exit 1; }

[ -d "$tree/.git" ] || die "$tree is not prepared (scripts/prepare-tree.sh)"
[ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ] ||
	die "$tree has uncommitted edits: commit them first"

# Debian's .gitignore ignores the whole top level, so a new source file is
# easily left out of a commit: list any file the tree holds but git does not.
stray=$(git -C "$tree" status --porcelain --ignored | sed -n 's/^!! //p')
[ -z "$stray" ] || echo "export-patches: warning: files not in any commit (git add -f?):
$stray" >&2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$tree" format-patch -q --no-signature --zero-commit --no-numbered \
	-o "$tmp" kreplica-base..HEAD

rc=0
for p in "$tmp"/*.patch; do
	[ -e "$p" ] || continue
	# (stderr dropped: spdxcheck.py tracebacks without python3-ply)
	out=$(cd "$tree" && scripts/checkpatch.pl -q "$p" 2>/dev/null) || true
	if grep -q '^ERROR' <<<"$out"; then
		echo "$out"
		echo "export-patches: checkpatch errors in $(basename "$p")" >&2
		rc=1
	elif [ -n "$out" ]; then
		echo "$out"
	fi
done
[ $rc -eq 0 ] || die "fix the errors above; patches/ left unchanged"

rm -f patches/*.patch
: >patches/series.new
for p in "$tmp"/*.patch; do
	[ -e "$p" ] || continue
	cp "$p" patches/
	basename "$p" >>patches/series.new
done
mv patches/series.new patches/series
echo "export-patches: $(wc -l <patches/series) patches in patches/series"
