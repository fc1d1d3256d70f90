/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the guest agent sets up before the command runs, as the launcher
 * asks in EXEC environment entries (agent_proto.h):
 *
 *	SLURMVM_AGENT_MOUNTS=TAG:ro|rw:DST[\nTAG:ro|rw:DST...]
 *		mount the virtio-9p share TAG at DST (created when missing),
 *		read-only or read-write;
 *	SLURMVM_AGENT_USER=NAME:UID:GID:G1,G2,...:HOME
 *		run the command as this user, with these supplementary groups
 *		(the list may be empty); the guest gets a passwd entry for NAME
 *		and a group entry for GID when it has none, and HOME when it
 *		does not exist. Absent: the command runs as root.
 *
 * The launcher's side builds them (launcher_setup_env()); the agent's
 * side parses and applies them (agent_setup_*()).
 */
#ifndef SLURM_VM_AGENT_SETUP_H
#define SLURM_VM_AGENT_SETUP_H

#include <stddef.h>
#include <sys/types.h>

#define AGENT_SETUP_PREFIX "SLURMVM_AGENT_"
#define AGENT_SETUP_MOUNTS "SLURMVM_AGENT_MOUNTS"
#define AGENT_SETUP_USER "SLURMVM_AGENT_USER"
#define AGENT_SETUP_MAX_GROUPS 64

struct agent_setup {
	const char *mounts; /* the MOUNTS value, or NULL */
	int has_user;
	char name[64];
	uid_t uid;
	gid_t gid;
	gid_t groups[AGENT_SETUP_MAX_GROUPS];
	size_t ngroups;
	char home[1024];
};

/*
 * Takes the AGENT_SETUP_PREFIX entries out of env (a NULL-terminated
 * array, compacted in place; the strings stay the caller's) into s.
 * Returns 0, or -EINVAL with the reason in err for a malformed entry.
 */
int agent_setup_take(char **env, struct agent_setup *s, char *err,
		     size_t errlen);

/* Mounts, passwd and group entries, the home directory (as root). Returns
 * 0, -1 with the reason in err, or 1 when the guest kernel has no 9p:
 * nothing was mounted, the rest was done, and err says so for the user. */
int agent_setup_apply(const struct agent_setup *s, char *err, size_t errlen);

/* In the command's process before exec: becomes the user. Returns 0 or
 * -errno. */
int agent_setup_become(const struct agent_setup *s);

/*
 * The launcher's side: appends the entries for mounts (a SLURMVM_MOUNTS
 * list, or NULL) and for the calling process's user (unless as_root) to
 * env, which must have room for two more pointers and its NULL. The
 * strings are malloc'd into out[0..2) (freed by the caller; NULL when not
 * made). Returns 0, or -ENOMEM.
 */
int launcher_setup_env(char **env, const char *mounts, int as_root,
		       char *out[2]);

#endif
