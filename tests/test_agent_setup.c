/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The agent's set-up entries: what the launcher writes, what the agent
 * takes out of the command's environment. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/agent/agent_setup.h"
#include "tap.h"

static int take(const char *entry, struct agent_setup *s, char *err)
{
	char *env[] = {"A=1", (char *)entry, "B=2", NULL};

	err[0] = 0;
	return agent_setup_take(env, s, err, 256);
}

int main(void)
{
	char *env[8] = {"PATH=/bin", "SLURMVM_AGENT_OTHER=x", NULL};
	struct agent_setup s;
	char err[256], *out[2];
	const char *bad[] = {
	    "SLURMVM_AGENT_USER=bob:1000:100::home",
	    "SLURMVM_AGENT_USER=bob:x:100::/h",
	    "SLURMVM_AGENT_USER=bob:1000:100:1,,2:/h",
	    "SLURMVM_AGENT_USER=:1000:100::/h",
	    "SLURMVM_AGENT_USER=bob:4294967295:100::/h",
	    "SLURMVM_AGENT_USER=bob:1000:100:7",
	};
	size_t i;

	ok(launcher_setup_env(env, "none\n/h/a:/g/a:ro\n/h/b:/b:rw", 0, out) ==
	       0,
	   "the launcher writes its entries");
	is_str(env[2], "SLURMVM_AGENT_MOUNTS=slurmvm0:ro:/g/a\nslurmvm1:rw:/b",
	       "mounts: the 9p tags in QEMU's order, mode, guest path");
	ok(env[3] && !strncmp(env[3], "SLURMVM_AGENT_USER=", 19) && !env[4],
	   "and the launcher's own user: %s", env[3]);
	ok(agent_setup_take(env, &s, err, sizeof(err)) == 0,
	   "the agent takes them back");
	ok(s.has_user && s.uid == getuid() && s.gid == getgid() &&
	       s.home[0] == '/',
	   "the user is the launcher's: uid %u gid %u home %s", s.uid, s.gid,
	   s.home);
	is_str(s.mounts, "slurmvm0:ro:/g/a\nslurmvm1:rw:/b", "mounts");
	ok(!strcmp(env[0], "PATH=/bin") && !env[1],
	   "every SLURMVM_AGENT_ entry is gone from the command's "
	   "environment, the rest stays");
	free(out[0]);
	free(out[1]);

	env[0] = "PATH=/bin";
	env[1] = NULL;
	ok(launcher_setup_env(env, NULL, 1, out) == 0 && !env[1] && !out[0] &&
	       !out[1],
	   "--vm-user=root and no mounts: nothing to set up");

	ok(take("SLURMVM_AGENT_USER=bob:1000:100:4,27:/home/bob", &s, err) ==
		   0 &&
	       !strcmp(s.name, "bob") && s.uid == 1000 && s.gid == 100 &&
	       s.ngroups == 2 && s.groups[0] == 4 && s.groups[1] == 27 &&
	       !strcmp(s.home, "/home/bob"),
	   "a user entry with groups parses");
	ok(take("SLURMVM_AGENT_USER=bob:1000:100::/h", &s, err) == 0 &&
	       s.ngroups == 0,
	   "no supplementary groups");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(take(bad[i], &s, err) < 0 && strstr(err, "malformed"),
		   "refused: %s", bad[i]);
	return done_testing();
}
