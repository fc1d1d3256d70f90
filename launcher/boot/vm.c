/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host-side resources of one guest, acquired in this order and released in
 * reverse: run directory, disk overlays (disk.c), socketpairs, QEMU.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launcher/boot/disk.h"
#include "launcher/common/launch_env.h"
#include "launcher/boot/memory.h"
#include "launcher/boot/plan.h"
#include "launcher/snapdir/snapdir.h"
#include "launcher/boot/vm.h"

int vm_path(const struct vm *vm, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", vm->dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int vm_console_path(const struct vm *vm, char *buf, size_t len)
{
	if (vm->c && vm->c->console)
		return plan_console_path(vm->c->console, vm->c, buf, len);
	return vm_path(vm, VM_CONSOLE_LOG, buf, len);
}

const char *vm_overlay(const struct vm *vm)
{
	return vm->c && vm->c->image && vm->ndrives ? vm->drive[0].file : NULL;
}

/*
 * The console file, opened by the launcher, not QEMU: a name another
 * user planted (a link to a file of the user's, a FIFO, a file of
 * theirs) is refused, never written through. Kept, and emptied, when it
 * is the user's own.
 */
static int open_console(struct vm *vm, const struct launch_config *c, char *err,
			size_t errlen)
{
	char path[4200], why[4400];
	int r = vm_console_path(vm, path, sizeof(path));

	if (r < 0) {
		if (c->console)
			snprintf(err, errlen, "--vm-console=%s: %s", c->console,
				 r == -EINVAL ? "unknown field (use %j, %s, "
						"%t, %N or %%)"
					      : "the path is too long");
		else
			snprintf(err, errlen,
				 "the run directory's path is "
				 "too long");
		return r;
	}
	vm->console_fd = safe_create_path(path, O_WRONLY, 0644, SAFE_REUSE, why,
					  sizeof(why));
	if (vm->console_fd < 0 || ftruncate(vm->console_fd, 0) < 0) {
		r = vm->console_fd < 0 ? vm->console_fd : -errno;
		if (vm->console_fd >= 0)
			snprintf(why, sizeof(why), "%s: %s", path,
				 strerror(-r));
		if (c->console)
			snprintf(err, errlen, "--vm-console=%s: %s", c->console,
				 why);
		else
			snprintf(err, errlen, "the console log: %s", why);
		return r;
	}
	return 0;
}

int vm_prepare(struct vm *vm, const struct launch_config *c, char *err,
	       size_t errlen)
{
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->qmp_fd = vm->agent_fd = vm->net_fd = vm->memory_fd = -1;
	vm->console_fd = vm->memory_map_fd = -1;
	vm->c = c;
	snprintf(vm->dir, sizeof(vm->dir),
		 "%s/" RUNDIR_PREFIX "%lu.%lu.%lu.XXXXXX", c->rundir, c->job_id,
		 c->step_id, c->rank);
	if (!mkdtemp(vm->dir)) {
		r = -errno;
		snprintf(
		    err, errlen,
		    "cannot create a run directory in %s: %s (set rundir= "
		    "in plugstack.conf to a writable node-local directory)",
		    c->rundir, strerror(errno));
		vm->dir[0] = 0;
		return r;
	}
	if ((r = open_console(vm, c, err, errlen)) < 0) {
		vm_cleanup(vm);
		return r;
	}
	if (c->snapshot &&
	    (vm->memory_fd = memory_create(c->mem_mb, err, errlen)) < 0) {
		r = vm->memory_fd;
		vm_cleanup(vm);
		return r;
	}
	if ((r = disk_prepare(vm, c, err, errlen)) < 0) {
		vm_cleanup(vm);
		return r;
	}
	return 0;
}

/* In the child: the socketpair ends QEMU keeps, then exec. */
static void exec_qemu(struct vm *vm, char **argv, const int *keep, int nkeep)
{
	char path[4200];
	int log =
	    vm_path(vm, VM_QEMU_LOG, path, sizeof(path)) < 0
		? -1
		: open(path,
		       O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
		       0600);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int i;

	/* Dies with the launcher, so a killed launcher leaves no guest. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(127);
	if (null >= 0)
		dup2(null, 0);
	if (log >= 0) {
		dup2(log, 1);
		dup2(log, 2);
	}
	/* Every fd of the launcher is close-on-exec; these, and only these,
	 * QEMU inherits on purpose: its QMP, agent and NIC sockets, the
	 * guest's memory (a memfd or a snapshot's file, which it maps
	 * through /proc/self/fd) and the console file (reopened by it
	 * through /proc/self/fd). */
	for (i = 0; i < nkeep; i++)
		if (keep[i] >= 0)
			fcntl(keep[i], F_SETFD, 0);
	execvp(argv[0], argv);
	fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int vm_start(struct vm *vm, const struct launch_config *c, const char *accel,
	     char *err, size_t errlen)
{
	int qmp[2], agent[2], net[2];
	char console[64], user_qmp[4200];
	struct plan_fds fds;
	char **argv;
	sigset_t none, old;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) < 0)
		goto fail_qmp;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, agent) < 0)
		goto fail_agent;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, net) < 0)
		goto fail_net;
	fds.qmp = qmp[1];
	fds.agent = agent[1];
	fds.net = net[1];
	fds.memory = vm->memory_fd >= 0 ? vm->memory_fd : vm->memory_map_fd;
	fds.memory_cow = vm->memory_fd < 0;
	/* QEMU 7.2's file chardev opens a path itself (O_CREAT | O_TRUNC,
	 * following links); this one is the magic link to the file the
	 * launcher opened and checked, so it lands on that very file, as the
	 * memory backend does with the memfd. */
	snprintf(console, sizeof(console), "/proc/self/fd/%d", vm->console_fd);
	vm_path(vm, VM_USER_QMP, user_qmp, sizeof(user_qmp));
	argv = plan_qemu_argv(c, accel, vm->drive, vm->ndrives, console,
			      user_qmp, &fds);
	if (!argv) {
		errno = ENOMEM;
		goto fail_argv;
	}
	vm->pid = fork();
	if (vm->pid == 0) {
		int keep[] = {
		    qmp[1],	   agent[1],	      net[1],
		    vm->memory_fd, vm->memory_map_fd, vm->console_fd,
		};

		/* QEMU starts with no signal blocked, whatever ours are. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, &old);
		exec_qemu(vm, argv, keep,
			  (int)(sizeof(keep) / sizeof(keep[0])));
	}
	plan_argv_free(argv);
	if (vm->pid < 0) {
		vm->pid = 0;
		goto fail_argv;
	}
	close(qmp[1]);
	close(agent[1]);
	close(net[1]);
	vm->qmp_fd = qmp[0];
	vm->agent_fd = agent[0];
	vm->net_fd = net[0];
	return 0;
fail_argv:
	close(net[0]);
	close(net[1]);
fail_net:
	close(agent[0]);
	close(agent[1]);
fail_agent:
	close(qmp[0]);
	close(qmp[1]);
fail_qmp:
	snprintf(err, errlen, "cannot start %s: %s", c->qemu, strerror(errno));
	return -errno;
}

int vm_stop(struct vm *vm, int timeout_ms)
{
	struct timespec pause = {0, 20 * 1000 * 1000};
	int st, waited;

	if (!vm->pid)
		return -1;
	for (waited = 0; waited < timeout_ms; waited += 20) {
		pid_t p = waitpid(vm->pid, &st, WNOHANG);

		if (p == vm->pid)
			goto done;
		if (p < 0 && errno != EINTR)
			break;
		nanosleep(&pause, NULL);
	}
	kill(vm->pid, SIGKILL);
	while (waitpid(vm->pid, &st, 0) < 0 && errno == EINTR)
		;
done:
	vm->pid = 0;
	return st;
}

void vm_cleanup(struct vm *vm)
{
	size_t i;

	for (i = 0; i < vm->ndrives; i++) {
		free(vm->drive[i].file);
		vm->drive[i].file = NULL;
	}
	vm->ndrives = 0;
	if (vm->qmp_fd >= 0)
		close(vm->qmp_fd);
	if (vm->agent_fd >= 0)
		close(vm->agent_fd);
	if (vm->net_fd >= 0)
		close(vm->net_fd);
	if (vm->memory_fd >= 0)
		close(vm->memory_fd);
	if (vm->console_fd >= 0)
		close(vm->console_fd);
	vm->qmp_fd = vm->agent_fd = vm->net_fd = vm->memory_fd = -1;
	vm->console_fd = -1;
	if (vm->dir[0])
		snap_remove_tree(vm->dir);
	vm->dir[0] = 0;
}

int vm_kvm_module_loaded(void)
{
	return access("/sys/module/kvm_intel", F_OK) == 0 ||
	       access("/sys/module/kvm_amd", F_OK) == 0;
}
