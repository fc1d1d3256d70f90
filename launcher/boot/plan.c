/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fabric/addr.h"
#include "launcher/agent/agent_proto.h"
#include "launcher/boot/plan.h"
#include "launcher/common/launch_env.h"

const char *plan_accel(const char *want, int kvm_module)
{
	if (!strcmp(want, "kvm") || !strcmp(want, "tcg"))
		return want;
	if (!strcmp(want, "auto"))
		return kvm_module ? "kvm" : "tcg";
	return NULL;
}

struct argv_builder {
	char **v;
	size_t n, cap;
	int oom;
};

static void add(struct argv_builder *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (b->oom)
		return;
	if (b->n + 2 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		char **v = realloc(b->v, cap * sizeof(*v));

		if (!v) {
			b->oom = 1;
			return;
		}
		b->v = v;
		b->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		b->oom = 1;
	else
		b->v[b->n++] = s;
	va_end(ap);
	b->v[b->n] = NULL;
}

/*
 * QEMU option values are comma-separated: a comma inside a path must be
 * doubled. Returns a malloc'd copy, or NULL.
 */
static char *qemu_escape(const char *s)
{
	size_t n = strlen(s), commas = 0, i, j;
	char *out;

	for (i = 0; i < n; i++)
		commas += s[i] == ',';
	out = malloc(n + commas + 1);
	if (!out)
		return NULL;
	for (i = j = 0; i < n; i++) {
		out[j++] = s[i];
		if (s[i] == ',')
			out[j++] = ',';
	}
	out[j] = 0;
	return out;
}

static void add_disk(struct argv_builder *b, const struct plan_disk *d)
{
	char *file = qemu_escape(d->file);

	if (!file) {
		b->oom = 1;
		return;
	}
	add(b, "-drive");
	/* A disk that dies with the task need not be flushed. */
	add(b, "file=%s,format=%s,if=virtio%s", file, d->format,
	    d->readonly ? ",readonly=on"
	    : d->keep	? ""
			: ",cache=unsafe");
	free(file);
}

/* The user's extra arguments, split on whitespace: no quoting. */
static void add_split(struct argv_builder *b, const char *s)
{
	const char *space = " \t\n";

	for (s += strspn(s, space); *s; s += strspn(s, space)) {
		size_t n = strcspn(s, space);

		add(b, "%.*s", (int)n, s);
		s += n;
	}
}

/*
 * Each mount is a virtio-9p device. The launcher (and so QEMU) runs as
 * the job's user: with security_model=none, what the guest creates is the
 * user's on the host, and the host's permissions hold for guest root too.
 * readonly=on makes QEMU itself refuse writes to a read-only mount.
 */
static void add_mounts(struct argv_builder *b, const char *mounts)
{
	const char *p = mounts, *src, *dst;
	size_t i, srclen, dstlen;
	int ro;

	for (i = 0;
	     config_next_mount(&p, &src, &srclen, &dst, &dstlen, &ro) > 0;
	     i++) {
		char *path = strndup(src, srclen), *esc;

		esc = path ? qemu_escape(path) : NULL;
		free(path);
		if (!esc) {
			b->oom = 1;
			return;
		}
		add(b, "-fsdev");
		add(b,
		    "local,id=mount%zu,path=%s,security_model=none,"
		    "multidevs=remap%s",
		    i, esc, ro ? ",readonly=on" : "");
		add(b, "-device");
		add(b, "virtio-9p-pci,fsdev=mount%zu,mount_tag=" PLAN_MOUNT_TAG,
		    i, i);
		free(esc);
	}
}

int plan_console_path(const char *pattern, const struct launch_config *c,
		      char *out, size_t len)
{
	size_t n = 0;
	const char *p;

	for (p = pattern; *p; p++) {
		char field[96];
		int w;

		if (*p != '%') {
			field[0] = *p;
			field[1] = 0;
		} else if (*++p == 'j') {
			snprintf(field, sizeof(field), "%lu", c->job_id);
		} else if (*p == 's') {
			snprintf(field, sizeof(field), "%lu", c->step_id);
		} else if (*p == 't') {
			snprintf(field, sizeof(field), "%lu", c->rank);
		} else if (*p == 'N') {
			snprintf(field, sizeof(field), "%s",
				 c->node ? c->node : "");
		} else if (*p == '%') {
			strcpy(field, "%");
		} else {
			return -EINVAL;
		}
		w = snprintf(out + n, len - n, "%s", field);
		if (w < 0 || (size_t)w >= len - n)
			return -ENAMETOOLONG;
		n += (size_t)w;
	}
	if (!len)
		return -ENAMETOOLONG;
	out[n] = 0;
	return 0;
}

/* The machine: name, accelerator, memory (the launcher's, when it holds
 * it), vCPUs, and nothing implicit. */
static void add_machine(struct argv_builder *b, const struct launch_config *c,
			const char *accel, const struct plan_fds *fds)
{
	add(b, "%s", c->qemu);
	add(b, "-name");
	add(b, "slurm-vm.%lu.%lu.%lu,debug-threads=on", c->job_id, c->step_id,
	    c->rank);
	add(b, "-accel");
	add(b, "%s", accel);
	add(b, "-m");
	add(b, "%lu", c->mem_mb);
	/* Memory the launcher holds too, so it can save and restore it
	 * itself, or a snapshot's file mapped copy-on-write (memory.h);
	 * QEMU's migration then skips it (restore.c). */
	if (fds->memory >= 0) {
		add(b, "-object");
		add(b,
		    "memory-backend-file,id=slurmvm-memory,size=%luM,"
		    "mem-path=/proc/self/fd/%d,share=%s",
		    c->mem_mb, fds->memory, fds->memory_cow ? "off" : "on");
		add(b, "-machine");
		add(b, "memory-backend=slurmvm-memory");
	}
	add(b, "-smp");
	add(b, "%lu", c->cpus);
	/* Nothing implicit: no default NIC, VGA, monitor or user config. */
	add(b, "-nodefaults");
	add(b, "-no-user-config");
	add(b, "-display");
	add(b, "none");
	add(b, "-no-reboot");
}

/* The console, the launcher's and the user's QMP, the agent's channel. */
static void add_channels(struct argv_builder *b, const char *con,
			 const char *uq, const struct plan_fds *fds)
{
	add(b, "-chardev");
	add(b, "file,id=console,path=%s", con ? con : "");
	add(b, "-serial");
	add(b, "chardev:console");
	add(b, "-chardev");
	add(b, "socket,id=qmp,fd=%d", fds->qmp);
	add(b, "-mon");
	add(b, "chardev=qmp,mode=control");
	add(b, "-chardev");
	add(b, "socket,id=user-qmp,path=%s,server=on,wait=off", uq ? uq : "");
	add(b, "-mon");
	add(b, "chardev=user-qmp,mode=control");
	add(b, "-device");
	add(b, "virtio-serial-pci,id=vser");
	add(b, "-chardev");
	add(b, "socket,id=agent,fd=%d", fds->agent);
	add(b, "-device");
	add(b, "virtserialport,bus=vser.0,chardev=agent,name=%s",
	    AGENT_PORT_NAME);
}

/* The fabric NIC: QEMU's stream netdev on a socket the launcher's fabric
 * holds the other end of, with the rank's MAC (fabric/addr.h). */
static void add_nic(struct argv_builder *b, const struct launch_config *c,
		    const struct plan_fds *fds)
{
	uint8_t mac[FABRIC_MAC_LEN];

	if (fabric_addr_mac((uint32_t)c->rank, mac) < 0) {
		b->oom = 1; /* no such rank: plan nothing */
		return;
	}
	add(b, "-netdev");
	add(b, "stream,id=net0,server=off,addr.type=fd,addr.str=%d", fds->net);
	add(b, "-device");
	add(b,
	    "virtio-net-pci,netdev=net0,mac=%02x:%02x:%02x:%02x:%02x:%02x,"
	    "romfile=",
	    mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/* The outside network (ENV_EGRESS): a second NIC on QEMU's user-mode NAT,
 * which makes the guest's connections from QEMU, as the job's user, on
 * the node; its addresses apart from the fabric's (launch_env.h). */
void plan_egress_mac(unsigned long rank, uint8_t mac[6])
{
	mac[0] = LAUNCH_EGRESS_MAC0;
	mac[1] = LAUNCH_EGRESS_MAC1;
	mac[2] = (uint8_t)(rank >> 24);
	mac[3] = (uint8_t)(rank >> 16);
	mac[4] = (uint8_t)(rank >> 8);
	mac[5] = (uint8_t)rank;
}

static void add_egress(struct argv_builder *b, const struct launch_config *c)
{
	uint8_t mac[6];

	if (!c->egress)
		return;
	plan_egress_mac(c->rank, mac);
	add(b, "-netdev");
	add(b, "user,id=egress,net=" LAUNCH_EGRESS_NET
	       ",host=" LAUNCH_EGRESS_HOST ",dns=" LAUNCH_EGRESS_DNS
	       ",dhcpstart=" LAUNCH_EGRESS_GUEST ",ipv6=off");
	add(b, "-device");
	add(b,
	    "virtio-net-pci,netdev=egress,mac=%02x:%02x:%02x:%02x:%02x:%02x,"
	    "romfile=",
	    mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/* A kernel to boot directly, and a restored guest's wait for its state. */
static void add_boot(struct argv_builder *b, const struct launch_config *c)
{
	if (c->kernel) {
		add(b, "-kernel");
		add(b, "%s", c->kernel);
		if (c->initrd) {
			add(b, "-initrd");
			add(b, "%s", c->initrd);
		}
		add(b, "-append");
		add(b, "console=ttyS0 quiet panic=-1%s%s", c->append ? " " : "",
		    c->append ? c->append : "");
	}
	/* Restored: paused, waiting for the saved state (restore.c). */
	if (c->restore) {
		add(b, "-incoming");
		add(b, "defer");
		add(b, "-S");
	}
}

char **plan_qemu_argv(const struct launch_config *c, const char *accel,
		      const struct plan_disk *disks, size_t ndisks,
		      const char *console, const char *user_qmp,
		      const struct plan_fds *fds)
{
	struct argv_builder b = {0};
	char *con = qemu_escape(console), *uq = qemu_escape(user_qmp);
	size_t i;

	if (!con || !uq)
		b.oom = 1;
	add_machine(&b, c, accel, fds);
	add_channels(&b, con, uq, fds);
	add_nic(&b, c, fds);
	add_egress(&b, c);
	for (i = 0; i < ndisks; i++)
		add_disk(&b, &disks[i]);
	if (c->mounts)
		add_mounts(&b, c->mounts);
	add_boot(&b, c);
	if (c->qemu_args)
		add_split(&b, c->qemu_args);
	free(con);
	free(uq);
	if (b.oom) {
		plan_argv_free(b.v);
		return NULL;
	}
	return b.v;
}

void plan_argv_free(char **argv)
{
	char **p;

	for (p = argv; p && *p; p++)
		free(*p);
	free(argv);
}
