#!/bin/sh
# Files stay small and functions short: no production source file over
# 600 lines, no function over 80 (a function runs from a line that opens
# it at the margin, "{", to its closing "}" at the margin; the style's
# clang-format puts them there). Tests and benchmarks are not counted.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

# long ROOT: "FILE: N lines" and "FILE:LINE NAME: N lines" past the limits
long() (
	cd "$1" || exit 1
	find fabric launcher spank -name '*.[ch]' ! -path 'fabric/bench/*' \
		! -name 'fuzz_*' 2>/dev/null | sort | while read -r f; do
		n=$(wc -l <"$f")
		[ "$n" -gt 600 ] && echo "$f: $n lines"
		awk -v F="$f" '/^[a-z].*\(/ { name = $0; at = NR }
			/^\{/ { start = NR }
			/^\}/ && start { n = NR - start - 1
				if (n > 80) { sub(/\(.*/, "", name); sub(/.* \**/, "", name)
					printf "%s:%d %s: %d lines\n", F, at, name, n }
				start = 0 }' "$f"
	done
)

# The check itself can fail: a scratch tree with one of each.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/fabric" "$scratch/launcher"
{ echo "int big(void)"; echo "{"; i=0
  while [ $i -lt 81 ]; do echo "	x();"; i=$((i + 1)); done
  echo "}"; } >"$scratch/fabric/f.c"
i=0; while [ $i -lt 601 ]; do echo "/* */"; i=$((i + 1)); done >"$scratch/launcher/l.h"
is "$(long "$scratch" | tr '\n' ';')" "fabric/f.c:1 big: 81 lines;launcher/l.h: 601 lines;" \
	"the check finds a long function and a long file in a scratch tree"

bad=$(long "$top_srcdir")
diag "$bad"
is "$bad" "" "no production file over 600 lines, no function over 80"
echo "1..$tap_n"
[ "$tap_failed" -eq 0 ]
