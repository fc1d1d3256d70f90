/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The QEMU command line from a launch config: golden outputs. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/boot/launch_config.h"
#include "launcher/boot/plan.h"
#include "tap.h"

static char *join(char **argv)
{
	static char buf[4096];
	size_t n = 0;

	buf[0] = 0;
	for (; argv && *argv; argv++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
				      n ? " " : "", *argv);
	return buf;
}

/* The argv from its -drive options on. */
static const char *from_drives(char **argv)
{
	const char *all = join(argv), *d = strstr(all, "-drive");

	return d ? d : "(no drive)";
}

/* --vm-disk drives, --vm-disk-persist, --vm-qemu-args, max_cpus. */
static void test_disks_and_args(void)
{
	char *env[] = {"SLURMVM_IMAGE=/img/base.qcow2",
		       "SLURMVM_ARGV0=true",
		       "SLURMVM_DISK=/d/data.qcow2\n/d/ref.img,ro",
		       "SLURMVM_DISK_PERSIST=/keep",
		       "SLURMVM_QEMU_ARGS= -device virtio-rng-pci\t-icount "
		       "shift=0 ",
		       "SLURMVM_MAX_CPUS=4",
		       NULL};
	struct plan_fds fds = {.qmp = 5, .agent = 6, .net = 7, .memory = -1};
	struct plan_disk drives[] = {
	    {"/keep/n0000.qcow2", "qcow2", 0, 1},
	    {"/r/disk1.qcow2", "qcow2", 0, 0},
	    {"/d/ref,1.img", "raw", 1, 0},
	    {"/r/seed.img", "raw", 1, 0},
	};
	struct launch_config c;
	char err[256];
	char **argv;

	ok(config_from_env(&c, env, 16, err, sizeof(err)) == 0,
	   "a config with disks and QEMU arguments reads");
	ok(c.disks && !strcmp(c.disks, "/d/data.qcow2\n/d/ref.img,ro") &&
	       c.persist && !strcmp(c.persist, "/keep") && c.qemu_args,
	   "disks, the persist directory and QEMU arguments are read");
	ok(c.cpus == 4, "16 bound CPUs are capped at max_cpus=4 (%lu)", c.cpus);
	argv = plan_qemu_argv(&c, "tcg", drives, 4, "/r/console.log",
			      "/r/qmp.sock", &fds);
	is_str(from_drives(argv),
	       "-drive file=/keep/n0000.qcow2,format=qcow2,if=virtio "
	       "-drive file=/r/disk1.qcow2,format=qcow2,if=virtio,cache=unsafe "
	       "-drive file=/d/ref,,1.img,format=raw,if=virtio,readonly=on "
	       "-drive file=/r/seed.img,format=raw,if=virtio,readonly=on "
	       "-device virtio-rng-pci -icount shift=0",
	       "boot disk kept (no unsafe cache), a writable overlay, a "
	       "read-only base, the cloud-init seed last and read-only, then "
	       "the user's arguments split on whitespace (golden)");
	plan_argv_free(argv);
	argv = plan_qemu_argv(&c, "tcg", drives + 2, 1, "/r/console.log",
			      "/r/qmp.sock", &fds);
	is_str(from_drives(argv),
	       "-drive file=/d/ref,,1.img,format=raw,if=virtio,readonly=on "
	       "-device virtio-rng-pci -icount shift=0",
	       "without an image the first --vm-disk is the first drive");
	plan_argv_free(argv);
	ok(config_from_env(&c,
			   (char *[]){"SLURMVM_KERNEL=/k", "SLURMVM_ARGV0=x",
				      "SLURMVM_CPUS=8", "SLURMVM_MAX_CPUS=4",
				      "SLURMVM_QEMU_ARGS= \t ", NULL},
			   16, err, sizeof(err)) == 0 &&
	       c.cpus == 8,
	   "max_cpus caps only the default (the plugin checks --vm-cpus)");
	argv = plan_qemu_argv(&c, "tcg", NULL, 0, "/r/c", "/r/q", &fds);
	ok(argv && strstr(argv[0], "qemu") &&
	       !strcmp(argv[0], "qemu-system-x86_64") &&
	       strstr(join(argv), "panic=-1") &&
	       join(argv)[strlen(join(argv)) - 1] == '1',
	   "blank QEMU arguments add nothing");
	plan_argv_free(argv);
	ok(config_from_env(&c,
			   (char *[]){"SLURMVM_KERNEL=/k", "SLURMVM_ARGV0=x",
				      "SLURMVM_MAX_CPUS=0", NULL},
			   16, err, sizeof(err)) < 0 &&
	       strstr(err, "SLURMVM_MAX_CPUS='0'"),
	   "a bad SLURMVM_MAX_CPUS is named: %s", err);
}

static void test_console_path(void)
{
	struct launch_config c = {
	    .job_id = 42, .step_id = 3, .rank = 7, .node = "n2"};
	char out[64], tiny[8];

	ok(plan_console_path("/l/%j.%s.%t-%N-100%%.log", &c, out,
			     sizeof(out)) == 0,
	   "a console pattern expands");
	is_str(out, "/l/42.3.7-n2-100%.log",
	       "job, step, rank, node and a literal %%");
	ok(plan_console_path("/l/%q", &c, out, sizeof(out)) == -EINVAL,
	   "an unknown field is refused");
	ok(plan_console_path("/logs/%j.%t", &c, tiny, sizeof(tiny)) ==
	       -ENAMETOOLONG,
	   "a path that does not fit is refused");
}

/* Reads a config from a NULL-terminated list of variables. */
static int config_of(struct launch_config *c, char *err, size_t errlen, ...)
{
	char *env[16];
	va_list ap;
	int n = 0;

	va_start(ap, errlen);
	while (n < 15 && (env[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	env[n] = NULL;
	err[0] = 0;
	return config_from_env(c, env, 1, err, errlen);
}

/* The snapshot and restore variables. */
static void test_snapshot_config(void)
{
	struct launch_config c;
	char err[256];

	ok(config_of(&c, err, sizeof(err), "SLURMVM_KERNEL=/k",
		     "SLURMVM_ARGV0=x", NULL) == 0 &&
	       !c.snapshot && !c.snapshot_signal && !c.snapshot_stop &&
	       !c.snapshot_at_end && !c.restore,
	   "without them: no snapshots, no signal");
	ok(config_of(&c, err, sizeof(err), "SLURMVM_KERNEL=/k",
		     "SLURMVM_ARGV0=x", "SLURMVM_SNAPSHOT=/s", NULL) == 0 &&
	       !strcmp(c.snapshot, "/s") && c.snapshot_signal == SIGUSR1 &&
	       !c.snapshot_stop && !c.snapshot_at_end,
	   "a directory alone: SIGUSR1, continue, on the signal only");
	ok(config_of(&c, err, sizeof(err), "SLURMVM_KERNEL=/k",
		     "SLURMVM_ARGV0=x", "SLURMVM_SNAPSHOT=/s",
		     "SLURMVM_SNAPSHOT_SIGNAL=12", "SLURMVM_SNAPSHOT_THEN=stop",
		     "SLURMVM_SNAPSHOT_AT=end", NULL) == 0 &&
	       c.snapshot_signal == SIGUSR2 && c.snapshot_stop &&
	       c.snapshot_at_end,
	   "signal 12, stop, and at the end");
	ok(config_of(&c, err, sizeof(err), "SLURMVM_KERNEL=/k",
		     "SLURMVM_ARGV0=x", "SLURMVM_SNAPSHOT=/s",
		     "SLURMVM_SNAPSHOT_SIGNAL=SIGUSR2", NULL) == 0 &&
	       c.snapshot_signal == SIGUSR2,
	   "a signal by name");
	ok(config_of(&c, err, sizeof(err), "SLURMVM_KERNEL=/k",
		     "SLURMVM_ARGV0=x", "SLURMVM_SNAPSHOT=/s",
		     "SLURMVM_SNAPSHOT_SIGNAL=15", NULL) < 0 &&
	       strstr(err, "SLURMVM_SNAPSHOT_SIGNAL='15'"),
	   "SIGTERM is refused: %s", err);
	ok(config_of(&c, err, sizeof(err), "SLURMVM_KERNEL=/k",
		     "SLURMVM_ARGV0=x", "SLURMVM_SNAPSHOT=/s",
		     "SLURMVM_SNAPSHOT_THEN=pause", NULL) < 0 &&
	       strstr(err, "neither continue nor stop"),
	   "an unknown then is refused: %s", err);
	ok(config_of(&c, err, sizeof(err), "SLURMVM_KERNEL=/k",
		     "SLURMVM_ARGV0=x", "SLURMVM_SNAPSHOT=/s",
		     "SLURMVM_SNAPSHOT_AT=start", NULL) < 0 &&
	       strstr(err, "is not signal, end, ready or fail"),
	   "an unknown at is refused: %s", err);
	ok(config_of(&c, err, sizeof(err), "SLURMVM_KERNEL=/k",
		     "SLURMVM_ARGV0=x", "SLURMVM_SNAPSHOT=/s",
		     "SLURMVM_SNAPSHOT_AT=ready", NULL) == 0 &&
	       c.snapshot_at_ready && !c.snapshot_at_end,
	   "at ready: %s", err);
	ok(config_of(&c, err, sizeof(err), "SLURMVM_KERNEL=/k",
		     "SLURMVM_ARGV0=x", "SLURMVM_SNAPSHOT=/s",
		     "SLURMVM_SNAPSHOT_AT=end", NULL) == 0 &&
	       !c.snapshot_at_ready && c.snapshot_at_end,
	   "at the end is not at ready");
	ok(config_of(&c, err, sizeof(err), "SLURMVM_KERNEL=/k",
		     "SLURMVM_ARGV0=x", "SLURMVM_SNAPSHOT=/s",
		     "SLURMVM_SNAPSHOT_AT=fail", NULL) == 0 &&
	       c.snapshot_at_fail && !c.snapshot_at_ready && !c.snapshot_at_end,
	   "at fail is neither of them: %s", err);
	ok(config_of(&c, err, sizeof(err), "SLURMVM_KERNEL=/k",
		     "SLURMVM_ARGV0=x", "SLURMVM_CAPTURE=", NULL) == 0 &&
	       c.capture_bytes == 64ull << 20,
	   "--vm-capture alone: 64 MiB: %s", err);
	ok(config_of(&c, err, sizeof(err), "SLURMVM_KERNEL=/k",
		     "SLURMVM_ARGV0=x", "SLURMVM_CAPTURE=3", NULL) == 0 &&
	       c.capture_bytes == 3ull << 20,
	   "--vm-capture=3: 3 MiB");
	ok(config_of(&c, err, sizeof(err), "SLURMVM_KERNEL=/k",
		     "SLURMVM_ARGV0=x", NULL) == 0 &&
	       c.capture_bytes == 0,
	   "none asked: no capture");
	ok(config_of(&c, err, sizeof(err), "SLURMVM_KERNEL=/k",
		     "SLURMVM_ARGV0=x", "SLURMVM_CAPTURE=5000", NULL) < 0 &&
	       strstr(err, "SLURMVM_CAPTURE='5000'"),
	   "a bound past 4096 MiB is refused: %s", err);
	ok(config_of(&c, err, sizeof(err), "SLURMVM_KERNEL=/k",
		     "SLURMVM_ARGV0=x", "SLURMVM_SNAPSHOT_AT=end", NULL) < 0 &&
	       strstr(err, "SLURMVM_SNAPSHOT_AT is set without "
			   "SLURMVM_SNAPSHOT"),
	   "a snapshot option without the directory is refused: %s", err);
	ok(config_of(&c, err, sizeof(err), "SLURMVM_KERNEL=/k",
		     "SLURMVM_ARGV0=x", "SLURMVM_SNAPSHOT=rel", NULL) < 0 &&
	       strstr(err, "not an absolute path"),
	   "a relative directory is refused: %s", err);
	ok(config_of(&c, err, sizeof(err), "SLURMVM_ARGV0=x",
		     "SLURMVM_RESTORE=/s/snap.1.0.1", NULL) == 0 &&
	       !strcmp(c.restore, "/s/snap.1.0.1") && !c.image && !c.kernel,
	   "a restore needs no image or kernel: %s", err);
	ok(config_of(&c, err, sizeof(err), "SLURMVM_ARGV0=x",
		     "SLURMVM_RESTORE=/s", "SLURMVM_SNAPSHOT=/s", NULL) == 0 &&
	       c.restore && c.snapshot,
	   "a restore may save again");
	ok(config_of(&c, err, sizeof(err), "SLURMVM_ARGV0=x", NULL) < 0 &&
	       strstr(err, "SLURMVM_RESTORE"),
	   "nothing to boot names the restore too: %s", err);
}

/* --vm-mount: one virtio-9p device per mount, in order. */
static void test_mounts(void)
{
	char *env[] = {"SLURMVM_KERNEL=/k", "SLURMVM_ARGV0=x",
		       "SLURMVM_MOUNTS=none\n/h/a:/g/a:ro\n/h/b:/b:rw", NULL};
	char *bad[] = {"SLURMVM_MOUNTS=/h/a:/g/a", "SLURMVM_MOUNTS=h:/g:rw",
		       "SLURMVM_MOUNTS=/h:g:rw", "SLURMVM_MOUNTS=/h:/g:rx",
		       "SLURMVM_MOUNTS=/h:/g:/x:rw"};
	struct plan_fds fds = {.qmp = 5, .agent = 6, .net = 7, .memory = -1};
	struct launch_config c;
	char err[256];
	char **argv;
	size_t i;

	ok(config_from_env(&c, env, 1, err, sizeof(err)) == 0,
	   "a mount list reads: %s", err);
	argv = plan_qemu_argv(&c, "tcg", NULL, 0, "/r/c", "/r/q", &fds);
	ok(strstr(join(argv),
		  "-fsdev local,id=mount0,path=/h/a,security_model=none,"
		  "multidevs=remap,readonly=on -device virtio-9p-pci,"
		  "fsdev=mount0,mount_tag=slurmvm0 -fsdev local,id=mount1,"
		  "path=/h/b,security_model=none,multidevs=remap -device "
		  "virtio-9p-pci,fsdev=mount1,mount_tag=slurmvm1 -kernel") !=
	       NULL,
	   "each mount is a 9p device, read-only ones readonly=on (golden)");
	plan_argv_free(argv);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *e[] = {"SLURMVM_KERNEL=/k", "SLURMVM_ARGV0=x", bad[i],
			     NULL};

		ok(config_from_env(&c, e, 1, err, sizeof(err)) < 0 &&
		       strstr(err, "SLURMVM_MOUNTS is not a list"),
		   "malformed %s is refused", bad[i]);
	}
}

/* The outside network: a second NIC on user-mode NAT, only for nat. */
static void test_egress(void)
{
	char *nat[] = {"SLURMVM_KERNEL=/k",  "SLURMVM_ARGV0=x",
		       "SLURM_PROCID=258",   "SLURM_STEP_NUM_TASKS=300",
		       "SLURMVM_EGRESS=nat", NULL};
	char *none[] = {"SLURMVM_KERNEL=/k", "SLURMVM_ARGV0=x",
			"SLURMVM_EGRESS=none", NULL};
	struct plan_fds fds = {.qmp = 5, .agent = 6, .net = 7, .memory = -1};
	struct launch_config c;
	char err[256];
	char **argv;

	ok(config_from_env(&c, nat, 1, err, sizeof(err)) == 0 && c.egress,
	   "SLURMVM_EGRESS=nat asks for the outside network: %s", err);
	argv = plan_qemu_argv(&c, "tcg", NULL, 0, "/r/c", "/r/q", &fds);
	ok(strstr(join(argv),
		  "-netdev user,id=egress,net=192.168.247.0/24,"
		  "host=192.168.247.2,dns=192.168.247.3,"
		  "dhcpstart=192.168.247.15,ipv6=off -device "
		  "virtio-net-pci,netdev=egress,mac=52:56:00:00:01:02,"
		  "romfile=") != NULL,
	   "a NAT NIC apart from the fabric's addresses, its MAC 52:56 and "
	   "the rank (258) (golden)");
	ok(strstr(join(argv), "netdev=net0") <
	       strstr(join(argv), "netdev=egress"),
	   "after the fabric's NIC, which stays the guest's first");
	plan_argv_free(argv);
	ok(config_from_env(&c, none, 1, err, sizeof(err)) == 0 && !c.egress,
	   "SLURMVM_EGRESS=none: none");
	argv = plan_qemu_argv(&c, "tcg", NULL, 0, "/r/c", "/r/q", &fds);
	ok(!strstr(join(argv), "egress") && !strstr(join(argv), "user,"),
	   "and no NAT NIC");
	plan_argv_free(argv);
}

/* The PMI service is on unless SLURMVM_PMI=none turns it off. */
static void test_pmi_default(void)
{
	char *unset[] = {"SLURMVM_KERNEL=/k", "SLURMVM_ARGV0=x", NULL};
	char *pmi1[] = {"SLURMVM_KERNEL=/k", "SLURMVM_ARGV0=x",
			"SLURMVM_PMI=pmi1", NULL};
	char *none[] = {"SLURMVM_KERNEL=/k", "SLURMVM_ARGV0=x",
			"SLURMVM_PMI=none", NULL};
	struct launch_config c;
	char err[256];

	ok(config_from_env(&c, unset, 1, err, sizeof(err)) == 0 && c.pmi,
	   "no SLURMVM_PMI: the PMI service is on");
	ok(config_from_env(&c, pmi1, 1, err, sizeof(err)) == 0 && c.pmi,
	   "SLURMVM_PMI=pmi1: on");
	ok(config_from_env(&c, none, 1, err, sizeof(err)) == 0 && !c.pmi,
	   "SLURMVM_PMI=none: off");
}

int main(void)
{
	char *env[] = {"SLURMVM_KERNEL=/g/vmlinux",
		       "SLURMVM_INITRD=/g/initrd",
		       "SLURMVM_APPEND=loglevel=7",
		       "SLURMVM_MEM=256",
		       "SLURMVM_ARGV0=sh",
		       "SLURMVM_ACCEL=tcg",
		       "SLURM_JOB_ID=42",
		       "SLURM_STEP_ID=0",
		       "SLURM_PROCID=1",
		       "SLURM_STEP_NUM_TASKS=2",
		       NULL};
	char *env2[] = {"SLURMVM_IMAGE=/img/a,b.qcow2", "SLURMVM_ARGV0=true",
			"SLURMVM_CPUS=2", "SLURMVM_QEMU=/opt/q", NULL};
	char *env3[] = {"SLURMVM_IMAGE=/i", "SLURMVM_ARGV0=x",
			"SLURMVM_MEM=lots", NULL};
	struct plan_fds fds = {.qmp = 5, .agent = 6, .net = 7, .memory = -1};
	struct plan_disk boot = {"/r/disk,x.qcow2", "qcow2", 0, 0};
	struct launch_config c;
	char err[256];
	char **argv;

	ok(config_from_env(&c, env, 1, err, sizeof(err)) == 0, "config reads");
	ok(c.mem_mb == 256 && c.cpus == 1 && c.rank == 1 && c.job_id == 42,
	   "numbers come from the environment and the default");
	argv = plan_qemu_argv(&c, "tcg", NULL, 0, "/run/x/console.log",
			      "/run/x/qmp.sock", &fds);
	is_str(join(argv),
	       "qemu-system-x86_64 -name slurm-vm.42.0.1,debug-threads=on "
	       "-accel tcg -m 256 -smp 1 -nodefaults -no-user-config "
	       "-display none -no-reboot "
	       "-chardev file,id=console,path=/run/x/console.log "
	       "-serial chardev:console -chardev socket,id=qmp,fd=5 "
	       "-mon chardev=qmp,mode=control -chardev "
	       "socket,id=user-qmp,path=/run/x/qmp.sock,server=on,wait=off "
	       "-mon chardev=user-qmp,mode=control -device "
	       "virtio-serial-pci,id=vser -chardev socket,id=agent,fd=6 "
	       "-device virtserialport,bus=vser.0,chardev=agent,name="
	       "slurmvm.agent -netdev "
	       "stream,id=net0,server=off,addr.type=fd,addr.str=7 -device "
	       "virtio-net-pci,netdev=net0,mac=52:55:00:00:00:01,romfile= "
	       "-kernel /g/vmlinux -initrd /g/initrd -append "
	       "console=ttyS0 quiet panic=-1 loglevel=7",
	       "direct kernel boot argv (golden)");
	plan_argv_free(argv);

	ok(config_from_env(&c, env2, 4, err, sizeof(err)) == 0,
	   "image config reads");
	ok(c.mem_mb == 512 && c.cpus == 2, "default memory, given vCPUs");
	argv = plan_qemu_argv(&c, "kvm", &boot, 1, "/r/console.log",
			      "/r/qmp.sock", &fds);
	is_str(join(argv),
	       "/opt/q -name slurm-vm.0.0.0,debug-threads=on -accel kvm -m 512 "
	       "-smp 2 -nodefaults -no-user-config -display none -no-reboot "
	       "-chardev file,id=console,path=/r/console.log "
	       "-serial chardev:console -chardev socket,id=qmp,fd=5 "
	       "-mon chardev=qmp,mode=control -chardev "
	       "socket,id=user-qmp,path=/r/qmp.sock,server=on,wait=off "
	       "-mon chardev=user-qmp,mode=control -device "
	       "virtio-serial-pci,id=vser -chardev socket,id=agent,fd=6 "
	       "-device virtserialport,bus=vser.0,chardev=agent,name="
	       "slurmvm.agent -netdev "
	       "stream,id=net0,server=off,addr.type=fd,addr.str=7 -device "
	       "virtio-net-pci,netdev=net0,mac=52:55:00:00:00:00,romfile= "
	       "-drive "
	       "file=/r/disk,,x.qcow2,format=qcow2,if=virtio,cache=unsafe",
	       "disk boot argv, comma in the path doubled (golden)");
	plan_argv_free(argv);
	fds.memory = 9;
	argv = plan_qemu_argv(&c, "kvm", &boot, 1, "/r/console.log",
			      "/r/qmp.sock", &fds);
	ok(strstr(join(argv),
		  "-m 512 -object memory-backend-file,id=slurmvm-memory,"
		  "size=512M,mem-path=/proc/self/fd/9,share=on -machine "
		  "memory-backend=slurmvm-memory -smp 2 ") != NULL,
	   "memory the launcher holds: QEMU maps its fd shared (golden)");
	plan_argv_free(argv);
	fds.memory_cow = 1;
	argv = plan_qemu_argv(&c, "kvm", &boot, 1, "/r/console.log",
			      "/r/qmp.sock", &fds);
	ok(strstr(join(argv),
		  "-m 512 -object memory-backend-file,id=slurmvm-memory,"
		  "size=512M,mem-path=/proc/self/fd/9,share=off -machine "
		  "memory-backend=slurmvm-memory -smp 2 ") != NULL &&
	       !strstr(join(argv), "share=on"),
	   "a snapshot's memory file: QEMU maps its fd copy-on-write, "
	   "never shared (golden)");
	plan_argv_free(argv);
	fds.memory = -1;
	fds.memory_cow = 0;

	ok(config_from_env(&c, env3, 1, err, sizeof(err)) < 0 &&
	       strstr(err, "SLURMVM_MEM='lots'"),
	   "a bad number is named: %s", err);
	ok(config_from_env(&c, (char *[]){"SLURMVM_ARGV0=x", NULL}, 1, err,
			   sizeof(err)) < 0 &&
	       strstr(err, "nothing to boot"),
	   "nothing to boot is refused: %s", err);

	ok(config_from_env(&c,
			   (char *[]){"SLURMVM_KERNEL=/k", "SLURMVM_ARGV0=x",
				      "SLURM_PROCID=2",
				      "SLURM_STEP_NUM_TASKS=2", NULL},
			   1, err, sizeof(err)) < 0 &&
	       strstr(err, "SLURM_PROCID=2"),
	   "a rank outside the step is refused: %s", err);
	test_disks_and_args();
	test_mounts();
	test_egress();
	test_pmi_default();
	is_str(plan_accel("auto", 0), "tcg", "auto without a KVM module: tcg");
	is_str(plan_accel("auto", 1), "kvm", "auto with a KVM module: kvm");
	is_str(plan_accel("tcg", 1), "tcg", "tcg as asked");
	ok(plan_accel("xen", 0) == NULL, "an unknown accelerator is refused");
	test_console_path();
	test_snapshot_config();
	return done_testing();
}
