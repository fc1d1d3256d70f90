#!/bin/sh
# The layers of the tree, checked on every #include "..." of our sources
# (system headers are not ours). Each folder may include only from the
# folders its line below names; every include names its folder from the
# top of the tree. What depends on what:
#
#   fabric/                 nothing of ours
#   launcher/common/        nothing (the plugin-launcher contract, parsing, clock)
#   launcher/agent/         common, fabric/be.h, fabric/addr.h (the agent protocol; the in-guest agent)
#   launcher/snapdir/       common (a snapshot's files and manifest)
#   launcher/report/        common (a step's results as JUnit or TAP)
#   launcher/pmi/           nothing of ours (the PMI-1 service; PMIx)
#   launcher/control/       common, agent (the control socket; slurm-vm's node side)
#   launcher/boot/          common agent snapdir, the fabric's public headers
#   launcher/save/          common agent snapdir boot, the fabric's public headers
#   launcher/ (main, loop)  all of launcher/, the fabric's public headers
#   spank/ (the plugin)     spank/ and launcher/common only
#   spank/helper/           spank/, launcher/common, launcher/snapdir, launcher/report
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

# The fabric's public headers (be.h: the one byte-order codec, header only).
pub="fabric/fabric.h fabric/stats.h fabric/addr.h fabric/be.h"

# allowed FILE: the include prefixes FILE may use
allowed() {
	case $1 in
	fabric/*) echo "fabric/" ;;
	launcher/common/*) echo "launcher/common/" ;;
	launcher/agent/*) echo "launcher/agent/ launcher/common/ fabric/be.h fabric/addr.h" ;;
	launcher/snapdir/*) echo "launcher/snapdir/ launcher/common/" ;;
	launcher/report/*) echo "launcher/report/ launcher/common/" ;;
	launcher/pmi/*) echo "launcher/pmi/" ;;
	launcher/control/*) echo "launcher/control/ launcher/common/ launcher/agent/agent_proto.h fabric/be.h" ;;
	launcher/boot/*) echo "launcher/boot/ launcher/common/ launcher/agent/ launcher/snapdir/ launcher/report/ $pub" ;;
	launcher/save/*) echo "launcher/save/ launcher/boot/ launcher/common/ launcher/agent/ launcher/snapdir/ launcher/report/ $pub" ;;
	launcher/*/*) echo "-" ;; # a folder with no rule: refused
	launcher/*) echo "launcher/ $pub" ;;
	spank/helper/*) echo "spank/ launcher/common/ launcher/snapdir/ launcher/report/" ;;
	spank/*/*) echo "-" ;;
	spank/*) echo "spank/*.h launcher/common/" ;;
	esac
}

# violations ROOT: one line per include that goes against the layers
violations() (
	cd "$1" || exit 1
	find fabric launcher spank -name '*.[ch]' 2>/dev/null | sort |
		while read -r f; do
			rule=$(allowed "$f")
			grep -o '^#include "[^"]*"' "$f" | sed 's/^#include "//; s/"$//' |
				while read -r h; do
					[ "$h" = config.h ] && continue
					case $h in
					*/*) ;;
					*) echo "$f: $h (no folder)"; continue ;;
					esac
					fit=0
					for p in $rule; do
						case $p in
						*.h) [ "$h" = "$p" ] && fit=1 ;;
						*/\*.h) case $h in "${p%\*.h}"*/*) ;; "${p%\*.h}"*) fit=1 ;; esac ;;
						-) ;;
						*) case $h in "$p"*) fit=1 ;; esac ;;
						esac
					done
					[ $fit = 1 ] || echo "$f: $h"
				done
		done
)

# The check itself can fail: a scratch tree with one wrong include of
# each kind.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/fabric" "$scratch/spank/helper" "$scratch/launcher/common" "$scratch/launcher/boot"
printf '#include "config.h"\n#include "fabric/fabric.h"\n' >"$scratch/fabric/ok.c"
printf '#include "launcher/common/parse.h"\n' >"$scratch/fabric/up.c"
printf '#include "launcher/boot/vm.h"\n' >"$scratch/spank/plugin.c"
printf '#include "spank/helper/cleanup.h"\n' >"$scratch/spank/site.c"
printf '#include "fabric/fabric_int.h"\n' >"$scratch/launcher/boot/vm.c"
printf '#include "parse.h"\n' >"$scratch/launcher/common/parse.c"
got=$(violations "$scratch" | tr '\n' ';')
is "$got" "fabric/up.c: launcher/common/parse.h;launcher/boot/vm.c: fabric/fabric_int.h;launcher/common/parse.c: parse.h (no folder);spank/plugin.c: launcher/boot/vm.h;spank/site.c: spank/helper/cleanup.h;" \
	"the check finds each kind of wrong include in a scratch tree"

bad=$(violations "$top_srcdir")
diag "$bad"
is "$bad" "" "every include of the tree keeps to the layers"
n=$(find "$top_srcdir/fabric" "$top_srcdir/launcher" "$top_srcdir/spank" -name '*.[ch]' | xargs grep -ho '^#include "[^"]*/[^"]*"' | wc -l)
ok "$([ "$n" -gt 100 ]; echo $?)" "and it read them ($n includes with a folder)"
echo "1..$tap_n"
[ "$tap_failed" -eq 0 ]
