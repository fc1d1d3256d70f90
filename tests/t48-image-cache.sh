#!/bin/sh
# The node's image cache (plugstack image_cache=DIR): four tasks of one
# step on one node starting at once copy the image once and share the
# copy; a second job starts from it without copying; a changed image is
# copied again; a kernel and an initrd are cached too. As a user: the entries are in DIR/<uid>, theirs, 0700.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 1

user=nobody
group=$(id -gn "$user")
id "$user" >/dev/null 2>&1 || skip_all "no user $user"
uid=$(id -u "$user")
tmp=$(mktemp -d /tmp/slurm-vm-t48.XXXXXX)
chmod 755 "$tmp"
mkdir -p "$tmp/images" "$tmp/cache"
chmod 1777 "$tmp/cache"
cp "$DISK" "$tmp/images/disk.qcow2"
chmod 644 "$tmp/images/disk.qcow2"
img=$tmp/images/disk.qcow2
chmod 1777 "$RUNDIR"
set_plugstack "$(plugstack_line) image_cache=$tmp/cache image_cache_max=2"
as_user() { runuser -u "$user" -- env SLURM_CONF="$SLURM_CONF" "$@"; }
copies() { printf '%s\n' "$1" | grep -c "image cache: copied $img"; }
uses() { printf '%s\n' "$1" | grep -c "image cache: $img from this node's copy"; }
entries() { ls "$tmp/cache/$uid/"*.img 2>/dev/null | wc -l; }

# 1. Four tasks on one node at once: one copy.
out=$(cd /tmp && as_user srun -Q -O -N1 -n4 --vm-image="$img" --vm-mem=256 \
	--vm-stats sh -c 'echo "up $SLURM_PROCID"' 2>&1)
rc=$?
is "$rc" 0 "four tasks from one image on one node run (rc $rc)"
is "$(printf '%s\n' "$out" | grep -c '^up [0-3]$')" 4 "all four commands ran"
is "$(copies "$out")" 1 "the image was copied once"
is "$(uses "$out")" 3 "the three other tasks used that copy"
is "$(entries)" 1 "one entry in the cache"
is "$(stat -c '%U %a' "$tmp/cache/$uid" 2>&1)" "$user 700" \
	"the user's entries are in DIR/<uid>, theirs, mode 0700"
e=$(ls "$tmp/cache/$uid/"*.img 2>/dev/null | head -1)
ok "$(cmp -s "$e" "$img"; echo $?)" "the entry holds the image's bytes"
ok "$(ls "$tmp/cache/$uid/"*.part >/dev/null 2>&1; [ $? -ne 0 ]; echo $?)" \
	"no part of a copy is left"
diag "$(printf '%s\n' "$out" | grep "image cache\|waiting for")"

# 2. A second job: from the cache, no copy.
out=$(cd /tmp && as_user srun -Q -n1 --vm-image="$img" --vm-mem=256 \
	--vm-stats true 2>&1)
rc=$?
is "$rc" 0 "a second job runs (rc $rc)"
is "$(copies "$out"),$(uses "$out")" "0,1" "it started from the cache, copying nothing"

# 3. The image changed (a new mtime): copied again, under a new key.
touch -d '2020-01-01 00:00:00' "$img"
out=$(cd /tmp && as_user srun -Q -n1 --vm-image="$img" --vm-mem=256 \
	--vm-stats true 2>&1)
rc=$?
is "$rc" 0 "a job with the changed image runs (rc $rc)"
is "$(copies "$out")" 1 "the changed image was copied again"
is "$(entries)" 2 "its entry is a new one"
diag "$(printf '%s\n' "$out" | grep "image cache")"

# 4. A kernel and an initrd are cached too.
out=$(cd /tmp && as_user srun -Q -n1 --vm-kernel="$KERNEL" --vm-initrd="$INITRD" \
	--vm-mem=256 --vm-stats true 2>&1)
is "$?,$(printf '%s\n' "$out" | grep -c "image cache: copied \($KERNEL\|$INITRD\) ")" "0,2" \
	"a kernel and an initrd are copied into the cache"
out=$(cd /tmp && as_user srun -Q -n1 --vm-kernel="$KERNEL" --vm-initrd="$INITRD" \
	--vm-mem=256 --vm-stats true 2>&1)
is "$?,$(printf '%s\n' "$out" | grep -c "image cache: \($KERNEL\|$INITRD\) from this node's copy")" "0,2" \
	"and the next job boots them from there"
diag "$(printf '%s\n' "$out" | grep "image cache")"

# 5. Without image_cache=, nothing is cached.
set_plugstack "$(plugstack_line)"
out=$(cd /tmp && as_user srun -Q -n1 --vm-image="$img" --vm-mem=256 \
	--vm-stats true 2>&1)
is "$?,$(copies "$out"),$(uses "$out")" "0,0,0" "no image_cache=: no cache"

assert_clean "after the image cache's jobs"
rm -rf "$tmp"
