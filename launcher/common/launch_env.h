/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The environment contract between the SPANK plugin and the launcher.
 *
 * User options: srun/sbatch --vm-X and the variable SLURMVM_X mean the same
 * thing (the option wins). The plugin's local side validates them, makes
 * paths absolute and exports them to the job under these names; the remote
 * side adds the site settings from plugstack.conf and makes the launcher
 * the task's program: put before the command where Slurm can
 * (SLURMVM_ARGV_PREPENDED=1), else in place of its argv[0]; either way
 * the command's argv[0] is in SLURMVM_ARGV0.
 * The launcher removes every SLURMVM_ variable before the command runs in
 * the guest.
 */
#ifndef SLURM_VM_LAUNCH_ENV_H
#define SLURM_VM_LAUNCH_ENV_H

#define LAUNCH_ENV_PREFIX "SLURMVM_"

/* User options. */
#define ENV_IMAGE "SLURMVM_IMAGE"
#define ENV_KERNEL "SLURMVM_KERNEL"
#define ENV_INITRD "SLURMVM_INITRD"
#define ENV_APPEND "SLURMVM_APPEND"
#define ENV_MEM "SLURMVM_MEM"
#define ENV_CPUS "SLURMVM_CPUS"
#define ENV_FABRIC "SLURMVM_FABRIC"
#define ENV_STATS "SLURMVM_STATS"
#define ENV_EXEC "SLURMVM_EXEC"
#define ENV_PIN "SLURMVM_PIN"
/* The PMI service for the command in a guest: pmi1 (the default) or none. */
#define ENV_PMI "SLURMVM_PMI"
/* nat: a second NIC with user-mode NAT to the node's networks; set by the
 * plugin's node side from the site's egress= and the job's --vm-egress. */
#define ENV_EGRESS "SLURMVM_EGRESS"
/* The NAT NIC's network inside the guest (apart from the fabric's
 * 10.0.0.0/8): the gateway, which is the node itself, .2, its resolver .3,
 * the guest .15 (by DHCP); its MAC is 52:56 and the rank, 32 bits, so a
 * guest tells it from the fabric's 52:55 NIC. */
#define LAUNCH_EGRESS_NET "192.168.247.0/24"
#define LAUNCH_EGRESS_HOST "192.168.247.2"
#define LAUNCH_EGRESS_DNS "192.168.247.3"
#define LAUNCH_EGRESS_GUEST "192.168.247.15"
#define LAUNCH_EGRESS_MAC0 0x52
#define LAUNCH_EGRESS_MAC1 0x56
/* Extra disks, one a line: PATH, or PATH,ro for a read-only one. */
#define ENV_DISK "SLURMVM_DISK"
/* A directory: rank r's image overlay is DIR/n%04d.qcow2, kept. */
#define ENV_DISK_PERSIST "SLURMVM_DISK_PERSIST"
/* A directory whose user-data joins the cloud-init seed's own. */
#define ENV_CLOUD_INIT "SLURMVM_CLOUD_INIT"
/* Host directories the guest mounts, one a line, "SRC:DST:ro|rw" (and
 * a line "none" when the user turned off the default; spank/mounts.h). */
#define ENV_MOUNTS "SLURMVM_MOUNTS"
/* "root": the command runs as root in the guest (unset: as the job's
 * user). */
#define ENV_USER "SLURMVM_USER"
/* The static agent the seed carries (default: beside the launcher, else
 * the installed one): for tests and unusual installs. */
#define ENV_AGENT "SLURMVM_AGENT"
/* Extra QEMU arguments, split on whitespace (allow_qemu_args=yes). */
#define ENV_QEMU_ARGS "SLURMVM_QEMU_ARGS"
/* Where the guest's serial console goes: a file pattern with %j (job),
 * %s (step), %t (rank), %N (node), %% (a %). In --vm-exec=host the
 * command finds the expanded path under the same name. */
#define ENV_CONSOLE "SLURMVM_CONSOLE"
/* Collective snapshots (manifest.h, snapdir.h): the directory saves go to
 * (absolute, existing); the signal that asks for a save, as a number
 * (unset: SIGUSR1); what the guests do after a save ("continue" or
 * "stop"); when to save besides the signal ("signal": only then, "end":
 * also when the step's commands end, "ready": also once every agent is
 * ready, before any command, "fail": also when the first rank's command
 * fails). */
#define ENV_SNAPSHOT "SLURMVM_SNAPSHOT"
#define ENV_SNAPSHOT_SIGNAL "SLURMVM_SNAPSHOT_SIGNAL"
#define ENV_SNAPSHOT_THEN "SLURMVM_SNAPSHOT_THEN"
#define ENV_SNAPSHOT_AT "SLURMVM_SNAPSHOT_AT"
/* Start every guest from a snapshot instead of booting: srun passes the
 * complete snapshot directory it checked (DIR/snap.J.S.Q, holding
 * manifest.json); a directory of snapshots is resolved through its
 * latest link (snap_resolve()). The boot options come from the manifest
 * and are not set. */
#define ENV_RESTORE "SLURMVM_RESTORE"
/* The step's report: "junit:PATH" or "tap:PATH" (PATH absolute; in its
 * file name %j job, %s step, %A array job, %a array task, %% a %), and the
 * name of its test suite (default: the job's name). srun makes the
 * directory the launchers leave their rank records in (rank-R.json,
 * launcher/report/report.h) and passes it to them as ENV_REPORT_DIR; when
 * the step ends its helper turns them into the report. */
#define ENV_REPORT "SLURMVM_REPORT"
#define ENV_REPORT_NAME "SLURMVM_REPORT_NAME"
#define ENV_REPORT_DIR "SLURMVM_REPORT_DIR"
/* --vm-timeout: seconds the command in the guest may run (from when it
 * starts, or from a restore); then it is stopped as by a stop signal and
 * the task ends with LAUNCH_EXIT_TIMEOUT. Also set on the node from the
 * site's default_timeout= (or max_timeout=) when the job gives none. */
#define ENV_TIMEOUT "SLURMVM_TIMEOUT"
/* --vm-keep=fail|always: when the command failed, or always, each rank's
 * evidence (console log, output tails, stats, status) is copied into
 * KEEP_DIR/nNNNN (launcher/boot/keep.h). KEEP_DIR: %j job, %s step, %% a
 * %; absolute, or unset: LAUNCH_KEEP_DIR_DEFAULT in the task's working
 * directory. */
#define ENV_KEEP "SLURMVM_KEEP"
#define ENV_KEEP_DIR "SLURMVM_KEEP_DIR"
/* --vm-capture[=MIB]: the fabric writes the guest's frames, both ways, to
 * LAUNCH_CAPTURE_FILE in the run directory, a pcap file of at most MIB
 * MiB ("": LAUNCH_CAPTURE_DEFAULT_MB); --vm-keep copies it. */
#define ENV_CAPTURE "SLURMVM_CAPTURE"
#define LAUNCH_CAPTURE_FILE "capture.pcap"
#define LAUNCH_CAPTURE_DEFAULT_MB 64
#define LAUNCH_CAPTURE_MAX_MB 4096

/*
 * The per-guest options (image, kernel, initrd, append, mem, cpus, each
 * disk line) may be rank specs in the job's environment ("0:8192,1-:2048");
 * the plugin resolves them for the task's rank on the node, so the
 * launcher only ever sees plain values.
 */

/* Site settings and the task's own argv[0], set by the plugin on the node. */
#define ENV_QEMU "SLURMVM_QEMU"
#define ENV_ACCEL "SLURMVM_ACCEL"
#define ENV_RUNDIR "SLURMVM_RUNDIR"
#define ENV_BOOT_TIMEOUT "SLURMVM_BOOT_TIMEOUT"
#define ENV_ARGV0 "SLURMVM_ARGV0"
/* "1": the launcher's argv[1..] is the whole command (Slurm put the
 * launcher before it); unset: argv[0] was swapped for the launcher. */
#define ENV_ARGV_PREPENDED "SLURMVM_ARGV_PREPENDED"
#define ENV_MTU "SLURMVM_MTU"
/* plugstack.conf max_cpus: caps the default vCPU count (unset: no cap). */
#define ENV_MAX_CPUS "SLURMVM_MAX_CPUS"
/* plugstack.conf image_cache= and image_cache_max=: the node's image
 * cache (launcher/boot/image_cache.h), a directory (unset: no cache), and
 * how many GB of it one user's entries may take (unset: the default). */
#define ENV_IMAGE_CACHE "SLURMVM_IMAGE_CACHE"
#define ENV_IMAGE_CACHE_MAX "SLURMVM_IMAGE_CACHE_MAX"

/* --vm-exec=endpoint: no guest; the command gets the fabric's guest-side
 * socket as this fd and speaks QEMU's stream protocol on it itself. */
#define ENV_NET_FD "SLURMVM_NET_FD"

/* Tests only (the plugin never sets it): caps QEMU's migration at this
 * many bytes/s, so that a save takes long on any disk and a test can stop
 * the step in the middle of one (t98). */
#define ENV_TEST_SAVE_BPS "SLURMVM_TEST_SAVE_BPS"

/*
 * Defaults and limits: the one home of each, for the plugin (site.c,
 * request checks) and the launcher (launch_config.c) alike.
 * LAUNCH_MEM_MB_MAX bounds --vm-mem, SLURMVM_MEM, default_mem=, max_mem=
 * and a snapshot's manifest (16 TiB).
 */
#define LAUNCH_MEM_MB_MAX (1UL << 24)
#define LAUNCH_MEM_MB_DEFAULT 512
#define LAUNCH_CPUS_MAX 1024
#define LAUNCH_BOOT_TIMEOUT_S 300
#define LAUNCH_BOOT_TIMEOUT_MAX_S 86400
#define LAUNCH_MTU_DEFAULT 1500
#define LAUNCH_MTU_MAX 65521
#define LAUNCH_QEMU_DEFAULT "qemu-system-x86_64"
#define LAUNCH_RUNDIR_DEFAULT "/tmp"
/* --vm-timeout, default_timeout= and max_timeout= (30 days). */
#define LAUNCH_TIMEOUT_MAX_S 2592000UL
#define LAUNCH_KEEP_DIR_DEFAULT "slurm-vm-results.%j.%s"
/* image_cache_max= in GB (2^30 bytes): per user and node. */
#define LAUNCH_IMAGE_CACHE_MAX_GB_DEFAULT 20
#define LAUNCH_IMAGE_CACHE_MAX_GB_MAX (1UL << 20)

/* Exit codes of the launcher besides the command's own (0-255, 128+N for
 * signal N): the launcher or the guest failed before or around the
 * command. Documented in the README. */
#define LAUNCH_EXIT_FAILED 125
/* The command ran past --vm-timeout and was stopped (whatever status the
 * stop left it with). */
#define LAUNCH_EXIT_TIMEOUT 124

/* Run directories: <rundir>/slurm-vm.<job>.<step>.<rank>.XXXXXX */
#define RUNDIR_PREFIX "slurm-vm."

#endif
