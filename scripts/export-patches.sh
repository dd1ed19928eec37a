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

# One postable series per topic: patches/<topic>/NNNN-*.patch, numbered from 1
# in each, with the hand-written cover letter 0000-cover-letter.patch kept.
# patches/topics names each topic's first commit by its subject; the order of
# patches/series is the order of the commits.
topics=patches/topics
[ -f "$topics" ] || die "$topics is missing"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
commits=$(git -C "$tree" rev-list --reverse kreplica-base..HEAD)
topic=""
declare -A count
: >"$tmp/series"
for c in $commits; do
	subject=$(git -C "$tree" log -1 --format=%s "$c")
	start=$(sed -e 's/#.*//' "$topics" | awk -F' \\| ' -v s="$subject" \
		'NF == 2 && $2 == s { print $1 }')
	[ -n "$start" ] && topic=$start
	[ -n "$topic" ] || die "the first commit ($subject) starts no topic in $topics"
	count[$topic]=$(( ${count[$topic]:-0} + 1 ))
	mkdir -p "$tmp/$topic"
	name=$(git -C "$tree" format-patch --no-signature --no-numbered \
		--start-number "${count[$topic]}" -o "$tmp/$topic" -1 "$c")
	echo "$topic/$(basename "$name")" >>"$tmp/series"
done

rc=0
while read -r rel; do
	p=$tmp/$rel
	# (stderr dropped: spdxcheck.py tracebacks without python3-ply)
	out=$(cd "$tree" && scripts/checkpatch.pl -q "$p" 2>/dev/null) || true
	if grep -q '^ERROR' <<<"$out"; then
		echo "$out"
		echo "export-patches: checkpatch errors in $rel" >&2
		rc=1
	elif [ -n "$out" ]; then
		echo "$out"
	fi
done <"$tmp/series"
[ $rc -eq 0 ] || die "fix the errors above; patches/ left unchanged"

# Only the topics' directories: others (work in progress) are not exported.
topic_dirs=$(cut -d/ -f1 "$tmp/series" | uniq)
for t in $topic_dirs; do
	[ -d "patches/$t" ] && find "patches/$t" -name '*.patch' ! -name '0000-cover-letter.patch' -delete
done
while read -r rel; do
	mkdir -p "patches/$(dirname "$rel")"
	cp "$tmp/$rel" "patches/$rel"
done <"$tmp/series"
mv "$tmp/series" patches/series
for t in $topic_dirs; do
	[ -f "patches/$t/0000-cover-letter.patch" ] ||
		echo "export-patches: warning: patches/$t has no 0000-cover-letter.patch" >&2
done
echo "export-patches: $(wc -l <patches/series) patches in patches/series," \
	"topics: $(cut -d/ -f1 patches/series | uniq | tr '\n' ' ')"
