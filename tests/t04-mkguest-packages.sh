#!/bin/sh
# slurm-vm-mkguest --distro --packages: more Debian packages in the
# distribution image (MPI for issue 14), recorded in its recipe so a new
# list rebuilds it; a name that is not a Debian package name is refused
# before anything runs. Needs no lab and builds nothing (--print-recipe).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
MK=$top_srcdir/contrib/slurm-vm-mkguest
tmp=$(mktemp -d "${TMPDIR:-/tmp}/slurm-vm-t04.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

base=$("$MK" --distro --print-recipe)
is "$?" 0 "--print-recipe prints the distribution image's recipe"
like "$base" "^packages=systemd .*iputils-ping$" "with its package list"
with=$("$MK" --distro --print-recipe --packages "mpich,libmpich-dev gcc")
like "$with" "^packages=systemd .*iputils-ping mpich libmpich-dev gcc$" \
	"--packages LIST (commas or spaces) joins the list, in order"
ok "$([ "$base" != "$with" ]; echo $?)" \
	"so the recipe differs: an image built without them is not up to date"
is "$(printf '%s\n' "$base" | grep -v '^packages=')" \
	"$(printf '%s\n' "$with" | grep -v '^packages=')" "and nothing else in it changes"

# Hostile names never reach debootstrap's command line.
cd "$tmp" && : >mpich
for bad in 'mpich;rm' '../x' 'Mpich' '-x' '*' 'a$(id)' 'm'; do
	out=$("$MK" --distro --out "$tmp/out" --packages "$bad" 2>&1)
	rc=$?
	ok "$([ "$rc" -ne 0 ]; echo $?)" "--packages '$bad' is refused (exit $rc)"
	case $bad in
	'*') like "$out" "--packages: '\\*' is not a Debian package name" \
		"naming the option and the value, not a file it could match" ;;
	*) like "$out" "--packages: .* is not a Debian package name.*give e.g. --packages mpich" \
		"naming the option, the value and an example" ;;
	esac
done
ok "$([ ! -e "$tmp/out" ]; echo $?)" "and nothing was made"
out=$("$MK" --out "$tmp/out" --agent /bin/true --packages mpich 2>&1)
ok "$([ $? -ne 0 ]; echo $?)" "--packages without --distro is refused"
like "$out" "go with --distro" "saying it goes with --distro"
echo "1..$tap_n"
[ "$tap_failed" -eq 0 ]
