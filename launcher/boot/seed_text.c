/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NoCloud seed's text. The user-data is YAML for cloud-init; nothing
 * in it comes unquoted from outside but numbers: ssh keys go in
 * double-quoted scalars, the user's own user-data in a MIME part of its
 * own, behind a boundary checked not to occur in it.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fabric/addr.h"
#include "launcher/boot/plan.h"
#include "launcher/boot/seed_text.h"

/* Where the guest keeps the agent it runs. */
#define SEED_AGENT_PATH "/usr/local/sbin/" SEED_AGENT_FILE

/*
 * Started from bootcmd, which runs early in cloud-init's init stage and
 * on every boot: cloud-init has read the seed and let go of it, so the
 * agent can be copied off it (it is not in the image) to the root disk
 * (/run is often mounted noexec), replacing any older one. The transient
 * service starts once the init stage is over, so the command finds the
 * hostname, /etc/hosts and the keys in place. Without systemd the agent
 * is started at once. Lines joined with && or ;, no "set -e": the
 * user's own bootcmd lines, appended, run in the same script.
 */
static const char start_agent[] =
    "- |\n"
    "  d=/run/slurm-vm\n"
    "  mkdir -p $d/seed &&\n"
    "  mount -o ro /dev/disk/by-label/" SEED_LABEL " $d/seed &&\n"
    "  cp $d/seed/" SEED_AGENT_FILE " " SEED_AGENT_PATH " &&\n"
    "  chmod 0755 " SEED_AGENT_PATH ";\n"
    "  umount $d/seed;\n"
    "  if command -v systemd-run >/dev/null; then\n"
    "    systemd-run --no-block --unit=slurm-vm-agent"
    " -p After=cloud-init.service " SEED_AGENT_PATH "\n"
    "  else\n"
    "    setsid " SEED_AGENT_PATH " </dev/null >/dev/console 2>&1 &\n"
    "  fi\n";

/* The user's part adds to ours: lists appended, our values kept. */
static const char merge_type[] =
    "dict(recurse_array,no_replace)+list(append)+str()";

static void put_hostname(FILE *f, unsigned long rank)
{
	char name[FABRIC_HOSTNAME_MAX];

	if (fabric_addr_hostname((uint32_t)rank, name, sizeof(name)) > 0)
		fputs(name, f);
}

/* One ssh key line as a YAML double-quoted scalar; a line with control
 * characters is left out (it cannot be a key). */
static void put_key(FILE *f, const char *line, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			return;
	fputs("- \"", f);
	for (i = 0; i < n; i++) {
		if (line[i] == '"' || line[i] == '\\')
			fputc('\\', f);
		fputc(line[i], f);
	}
	fputs("\"\n", f);
}

static void put_keys(FILE *f, const char *keys)
{
	const char *p = keys;
	int any = 0;

	while (p && *p) {
		size_t n = strcspn(p, "\n"), skip = strspn(p, " \t");

		if (n > skip && p[skip] != '#' && p[skip] != '\r') {
			if (!any)
				fputs("ssh_authorized_keys:\n", f);
			any = 1;
			/* A key file written on another system may end its
			 * lines with CR LF. */
			put_key(f, p + skip,
				n - skip - (p[n - 1] == '\r' ? 1 : 0));
		}
		p += n + (p[n] == '\n');
	}
}

static void put_hosts(FILE *f, unsigned long nranks)
{
	unsigned long r;

	fputs("write_files:\n"
	      "- path: /etc/hosts\n"
	      "  permissions: '0644'\n"
	      "  content: |\n"
	      "    127.0.0.1 localhost\n"
	      "    ::1 localhost ip6-localhost ip6-loopback\n",
	      f);
	for (r = 0; r < nranks && r < SEED_HOSTS_MAX; r++) {
		uint32_t ip = fabric_addr_ip((uint32_t)r);

		fprintf(f, "    %u.%u.%u.%u ", ip >> 24, ip >> 16 & 255,
			ip >> 8 & 255, ip & 255);
		put_hostname(f, r);
		fputs("." FABRIC_DOMAIN " ", f);
		put_hostname(f, r);
		fputc('\n', f);
	}
}

static void put_cloud_config(FILE *f, const struct seed_info *s)
{
	fprintf(f,
		"#cloud-config\n"
		"# slurm-vm: job %lu, step %lu, rank %lu of %lu\n"
		"hostname: ",
		s->job_id, s->step_id, s->rank, s->nranks);
	put_hostname(f, s->rank);
	fputs("\nmanage_etc_hosts: false\n", f);
	put_hosts(f, s->nranks);
	put_keys(f, s->ssh_keys);
	fputs("bootcmd:\n", f);
	fputs(start_agent, f);
}

/* True when needle (NUL-terminated) occurs in hay[0..n). */
static int occurs(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle), i;

	for (i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return 1;
	return 0;
}

static void put_multipart(FILE *f, const struct seed_info *s)
{
	char boundary[96];
	size_t n = s->user_data_len;
	unsigned tries;

	for (tries = 0;; tries++) {
		snprintf(boundary, sizeof(boundary),
			 "==slurm-vm-%lu.%lu.%lu-%u==", s->job_id, s->step_id,
			 s->rank, tries);
		if (!occurs(s->user_data, n, boundary))
			break;
	}
	fprintf(f,
		"Content-Type: multipart/mixed; boundary=\"%s\"\n"
		"MIME-Version: 1.0\n"
		"\n"
		"--%s\n"
		"Content-Type: text/cloud-config; charset=\"us-ascii\"\n"
		"Content-Disposition: attachment; filename=\"slurm-vm.cfg\"\n"
		"\n",
		boundary, boundary);
	put_cloud_config(f, s);
	/* text/plain: cloud-init tells a cloud-config from a script by its
	 * first line. */
	fprintf(f,
		"--%s\n"
		"Content-Type: text/plain\n"
		"Content-Disposition: attachment; filename=\"user-data\"\n"
		"Merge-Type: %s\n"
		"\n",
		boundary, merge_type);
	fwrite(s->user_data, 1, n, f);
	/* The newline before a boundary belongs to the boundary. */
	fprintf(f, "\n--%s--\n", boundary);
}

/* Closes f; on success hands over the text, else frees it. */
static int finish(FILE *f, char **out)
{
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

int seed_meta_data(const struct seed_info *s, char **out, size_t *len)
{
	FILE *f;

	*out = NULL;
	f = open_memstream(out, len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "instance-id: slurm-vm-%lu.%lu.%lu\nlocal-hostname: ",
		s->job_id, s->step_id, s->rank);
	put_hostname(f, s->rank);
	fputc('\n', f);
	return finish(f, out);
}

int seed_network_config(const struct seed_info *s, char **out, size_t *len)
{
	uint8_t mac[FABRIC_MAC_LEN], out_mac[6];
	FILE *f;

	*out = NULL;
	if (fabric_addr_mac((uint32_t)s->rank, mac) < 0)
		return -EINVAL;
	plan_egress_mac(s->rank, out_mac);
	f = open_memstream(out, len);
	if (!f)
		return -ENOMEM;
	fprintf(f,
		"version: 2\nethernets:\n  fabric:\n    match:\n"
		"      macaddress: \"%02x:%02x:%02x:%02x:%02x:%02x\"\n"
		"    dhcp4: true\n",
		mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	fprintf(f,
		"  outside:\n    match:\n"
		"      macaddress: \"%02x:%02x:%02x:%02x:%02x:%02x\"\n"
		"    dhcp4: true\n",
		out_mac[0], out_mac[1], out_mac[2], out_mac[3], out_mac[4],
		out_mac[5]);
	return finish(f, out);
}

int seed_user_data(const struct seed_info *s, char **out, size_t *len)
{
	FILE *f;

	*out = NULL;
	f = open_memstream(out, len);
	if (!f)
		return -ENOMEM;
	if (s->user_data)
		put_multipart(f, s);
	else
		put_cloud_config(f, s);
	return finish(f, out);
}
