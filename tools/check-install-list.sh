#!/usr/bin/env bash
# The install guard: proves that tools/debian-packages.txt is complete.
#
# A machine that has a package for another reason (a Recommends installed
# long ago, another project) hides a missing entry: the build works here and
# fails on a fresh machine. So this script records every file under /usr the
# build reads, asks dpkg which package owns each, and fails when that package
# is neither listed nor pulled in by a listed one through Depends or
# Pre-Depends (Recommends do not count: install-deps.sh skips them). Packages
# every Debian system has (Essential, Priority required) count as present.
#
# Files read, from three sources:
#   configure  a fresh `cmake --trace-format=json-v1` run of the project (every
#              CMake file it reads) plus the paths its cache records (the
#              libraries and include directories find_* settled on);
#   compile    the compiler's dependency files (*.o.d) of the build given;
#   link       absolute paths in the build's link lines, and `ldd` of the
#              executables it built.
# It reads the system and writes only into a temporary folder: it never
# installs or removes anything.
#
# Usage: tools/check-install-list.sh BUILD_DIR [PACKAGE_LIST]
#   PACKAGE_LIST defaults to tools/debian-packages.txt; give an edited copy to
#   see the guard fail (e.g. without ocl-icd-opencl-dev). KEEP_WORK=1 keeps
#   its work folder (the files read, their owners, the package closure).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: check-install-list.sh BUILD_DIR [PACKAGE_LIST]}" && pwd)
list=${2:-$root/tools/debian-packages.txt}
work=$(mktemp -d)
[ -n "${KEEP_WORK:-}" ] && echo "work: $work" || trap 'rm -rf "$work"' EXIT

# 1. Every file under /usr the build read.
cmake -S "$root" -B "$work/configure" --log-level=ERROR --trace-expand --trace-format=json-v1 \
  --trace-redirect="$work/trace.json" >"$work/configure.log" 2>&1 ||
  { echo "check-install-list: configuring $root failed:"; tail -20 "$work/configure.log"; exit 1; }
{
  grep -o '"file":"/usr/[^"]*"' "$work/trace.json" | cut -d'"' -f4
  grep -o '=/usr/[^;]*' "$work/configure/CMakeCache.txt" | cut -c2-
  find "$build" -name '*.o.d' -print0 | xargs -0 -r cat | tr ' \\' '\n\n' | grep '^/usr/'
  find "$build" -name link.txt -print0 | xargs -0 -r cat | tr ' ' '\n' | grep '^/usr/'
  find "$build" -maxdepth 2 -type f -perm -u+x ! -name '*.sh' -print0 |
    xargs -0 -r -n1 ldd 2>/dev/null | grep -o '=> /[^ ]*' | cut -c4-
} | sed 's|/\./|/|g' | sort -u >"$work/files"
# Keep existing files only (a cache entry may name a folder or a pattern).
while IFS= read -r f; do [ -f "$f" ] && echo "$f"; done <"$work/files" >"$work/read"
[ -s "$work/read" ] || { echo "check-install-list: found no files the build read (is $build a build folder?)"; exit 1; }

# 2. Which package owns each file. With Debian's merged /usr, dpkg may know a
# library by its /lib path, and a symlink (/usr/bin/c++ through
# /etc/alternatives) only by its target, so unowned files are asked again by
# those two aliases. One dpkg call per round: each call reads the whole
# database.
own() {  # prints FILE<TAB>PACKAGE for every file dpkg knows
  [ $# -gt 0 ] || return 0
  { dpkg -S "$@" 2>/dev/null || true; } | awk '
    /^diversion / { next }
    { i = index($0, ": /"); if (i == 0) next
      n = split(substr($0, 1, i - 1), pk, ", ")
      for (k = 1; k <= n; k++) { sub(/:.*/, "", pk[k]); print substr($0, i + 2) "\t" pk[k] } }'
}
mapfile -t read_files <"$work/read"
own "${read_files[@]}" | sort -u >"$work/owned"
cut -f1 "$work/owned" | sort -u | comm -23 "$work/read" - >"$work/unowned"
declare -A alias_of=()
while IFS= read -r f; do
  for a in "${f#/usr}" "$(readlink -f "$f")"; do [ "$a" != "$f" ] && alias_of[$a]=$f; done
done <"$work/unowned"
if [ ${#alias_of[@]} -gt 0 ]; then
  own "${!alias_of[@]}" | while IFS=$'\t' read -r a p; do printf '%s\t%s\n' "${alias_of[$a]}" "$p"; done >>"$work/owned"
fi
cut -f1 "$work/owned" | sort -u | comm -23 "$work/read" - | sed 's/$/\t(no package)/' >>"$work/owned"

# 3. What the list installs: the listed packages and everything they pull in
# through Depends and Pre-Depends, resolving alternatives (the first one that
# is installed here) and virtual packages (an installed provider), plus every
# Essential or Priority-required package.
sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list" | tr -d ' \t' >"$work/listed"
dpkg-query -W -f='${Package}\t${Status}\t${Essential}\t${Priority}\t${Provides}\t${Pre-Depends}, ${Depends}\n' \
  >"$work/db"
awk -F'\t' '
  function bare(s) { gsub(/\(.*\)/, "", s); gsub(/[ ]/, "", s); sub(/:.*/, "", s); return s }
  FILENAME == ARGV[1] { want[$1] = 1; next }
  $2 != "install ok installed" { next }
  {
    inst[$1] = 1; deps[$1] = $6
    if ($3 == "yes" || $4 == "required") base[$1] = 1
    n = split($5, pv, ","); for (i = 1; i <= n; i++) { v = bare(pv[i]); if (v != "") prov[v] = prov[v] " " $1 }
  }
  function pick(alts,   n, a, i, name, m, p) {
    n = split(alts, a, "|")
    for (i = 1; i <= n; i++) {
      name = bare(a[i]); if (name == "") continue
      if (name in inst) return name
      if (name in prov) { m = split(prov[name], p, " "); if (m > 0) return p[1] }
    }
    return ""
  }
  END {
    for (p in base) want[p] = 1
    for (p in want) queue[++tail] = p
    for (head = 1; head <= tail; head++) {
      p = queue[head]; if (p in done) continue; done[p] = 1
      n = split(deps[p], clause, ",")
      for (i = 1; i <= n; i++) { q = pick(clause[i]); if (q != "" && !(q in done)) queue[++tail] = q }
    }
    for (p in done) print p
  }' "$work/listed" "$work/db" | sort -u >"$work/closure"

# 4. The verdict.
missing=$(awk -F'\t' 'NR == FNR { ok[$1] = 1; next } !($2 in ok) { print $2 "\t" $1 }' \
  "$work/closure" "$work/owned" | sort)
files=$(wc -l <"$work/read")
pkgs=$(cut -f2 "$work/owned" | sort -u | wc -l)
if [ -n "$missing" ]; then
  echo "check-install-list: the build reads files that $(basename "$list") does not install"
  echo "(neither listed nor a Depends of a listed package; Recommends are not installed):"
  echo "$missing" | awk -F'\t' '{ n[$1]++; if (n[$1] <= 3) print "  " $1 ": " $2; else if (n[$1] == 4) print "  " $1 ": …" }'
  echo "add the package(s) to tools/debian-packages.txt"
  exit 1
fi
echo "check-install-list: $files files under /usr read by configure, compile and link come from $pkgs packages, all installed by $(basename "$list") ($(wc -l <"$work/listed") listed, $(wc -l <"$work/closure") with their Depends and the base system)"
