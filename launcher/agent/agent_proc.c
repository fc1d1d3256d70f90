/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/agent/agent_proc.h"

/*
 * Ends every process, syncs and powers off. As PID 1 the agent does it all
 * itself; as a service of a distribution's init, that init does.
 */
void agent_power_off(void)
{
	int i;

	fprintf(stderr, "slurm-vm-agent: powering off\n");
	if (getpid() != 1) {
		execlp("poweroff", "poweroff", (char *)NULL);
		sync();
		reboot(RB_POWER_OFF);
	}
	kill(-1, SIGTERM);
	for (i = 0; i < 20; i++) { /* until no child is left, or 2 s */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			break;
		usleep(100 * 1000);
	}
	kill(-1, SIGKILL);
	sync();
	reboot(RB_POWER_OFF);
}

/* With PMI_RANK in the command's environment: a PMI socket pair, the
 * command's end named in PMI_FD (an environment of its own in *ENV).
 * Returns 0 (nothing asked, or done) or -1. */
int agent_pmi_socket(const struct agent_exec *ex, int sv[2], char ***env,
		     char *fdvar, size_t fdlen)
{
	size_t n = 0, i;
	int asked = 0;

	sv[0] = sv[1] = -1;
	*env = ex->env;
	for (; ex->env[n]; n++)
		asked |= !strncmp(ex->env[n], "PMI_RANK=", 9);
	if (!asked)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	*env = calloc(n + 2, sizeof(**env));
	if (!*env) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	for (i = 0; i < n; i++)
		(*env)[i] = ex->env[i];
	snprintf(fdvar, fdlen, "PMI_FD=%d", PMI_CHILD_FD);
	(*env)[n] = fdvar;
	return 0;
}

void agent_run_command(const struct agent_exec *ex,
		       const struct agent_setup *setup, int in, int out,
		       int err, int pmi)
{
	extern char **environ;

	setsid();
	dup2(in, 0);
	dup2(out, 1);
	dup2(err, 2);
	/* The PMI socket is fd PMI_CHILD_FD, the one more the command gets
	 * (dup2 clears close-on-exec; the same number keeps it). */
	if (pmi == PMI_CHILD_FD)
		fcntl(pmi, F_SETFD, 0);
	else if (pmi >= 0)
		dup2(pmi, PMI_CHILD_FD);
	signal(SIGPIPE, SIG_DFL);
	if (agent_setup_become(setup) < 0) {
		fprintf(stderr,
			"slurm-vm-agent: cannot become the job's user %s in "
			"the guest: %s\n",
			setup->name, strerror(errno));
		_exit(126);
	}
	environ = ex->env; /* execvp searches the command's own PATH */
	execvp(ex->argv[0], ex->argv);
	fprintf(stderr, "slurm-vm-agent: cannot run '%s' in the guest: %s\n",
		ex->argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}
