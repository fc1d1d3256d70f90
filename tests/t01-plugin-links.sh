#!/bin/sh
# spank_vm.so is loaded into every srun, sbatch and slurmstepd of a site:
# it links no JSON or crypto library (its helper program does that work).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
command -v ldd >/dev/null || skip_all "no ldd"
[ -f "$PLUGIN" ] || skip_all "the plugin is not built ($PLUGIN)"

plugin_libs=$(ldd "$PLUGIN" | awk '{print $1}' | tr '\n' ' ')
helper_libs=$(ldd "$HELPER" | awk '{print $1}' | tr '\n' ' ')
diag "spank_vm.so: $plugin_libs"
like "$helper_libs" "libjansson" "the helper links the JSON library (so the check below can see one)"
like "$helper_libs" "libcrypto" "and the crypto library"
ok "$(printf '%s' "$plugin_libs" | grep -qE 'jansson|crypto|ssl'; [ $? = 1 ]; echo $?)" \
	"the plugin links neither"
is "$(nm -D --defined-only "$PLUGIN" | awk '{print $3}' | grep -v '^slurm_spank_\|^plugin_\|^spank_plugin_version$' | tr '\n' ' ')" \
	"" "and exports only what Slurm looks up (slurm_spank_*, plugin_*)"
echo "1..$tap_n"
[ "$tap_failed" -eq 0 ]
