/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cloud-init seed's meta-data and user-data: golden text. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "launcher/boot/seed_text.h"
#include "tap.h"

#define BOOTCMD                                                                \
	"bootcmd:\n"                                                           \
	"- |\n"                                                                \
	"  d=/run/slurm-vm\n"                                                  \
	"  mkdir -p $d/seed &&\n"                                              \
	"  mount -o ro /dev/disk/by-label/cidata $d/seed &&\n"                 \
	"  cp $d/seed/slurm-vm-agent /usr/local/sbin/slurm-vm-agent &&\n"      \
	"  chmod 0755 /usr/local/sbin/slurm-vm-agent;\n"                       \
	"  umount $d/seed;\n"                                                  \
	"  if command -v systemd-run >/dev/null; then\n"                       \
	"    systemd-run --no-block --unit=slurm-vm-agent -p "                 \
	"After=cloud-init.service /usr/local/sbin/slurm-vm-agent\n"            \
	"  else\n"                                                             \
	"    setsid /usr/local/sbin/slurm-vm-agent </dev/null >/dev/console "  \
	"2>&1 &\n"                                                             \
	"  fi\n"

#define HOSTS_HEAD                                                             \
	"write_files:\n"                                                       \
	"- path: /etc/hosts\n"                                                 \
	"  permissions: '0644'\n"                                              \
	"  content: |\n"                                                       \
	"    127.0.0.1 localhost\n"                                            \
	"    ::1 localhost ip6-localhost ip6-loopback\n"

static void test_meta_data(void)
{
	struct seed_info s = {
	    .job_id = 12, .step_id = 0, .rank = 1, .nranks = 2};
	char *out;
	size_t len;

	ok(seed_meta_data(&s, &out, &len) == 0, "meta-data is written");
	is_str(out, "instance-id: slurm-vm-12.0.1\nlocal-hostname: n0001\n",
	       "meta-data: instance id per job, step and rank; the hostname "
	       "(golden)");
	ok(len == strlen(out), "its length is returned");
	free(out);
}

static void test_user_data(void)
{
	struct seed_info s = {
	    .job_id = 12, .step_id = 3, .rank = 1, .nranks = 2};
	char *out;
	size_t len;

	ok(seed_user_data(&s, &out, &len) == 0, "user-data is written");
	is_str(out,
	       "#cloud-config\n"
	       "# slurm-vm: job 12, step 3, rank 1 of 2\n"
	       "hostname: n0001\n"
	       "manage_etc_hosts: false\n" HOSTS_HEAD
	       "    10.0.0.1 n0000.vm n0000\n"
	       "    10.0.0.2 n0001.vm n0001\n" BOOTCMD,
	       "user-data without keys: hostname, every rank in /etc/hosts, "
	       "the agent started from bootcmd (golden)");
	free(out);
}

static void test_keys(void)
{
	struct seed_info s = {
	    .job_id = 1,
	    .rank = 0,
	    .nranks = 1,
	    .ssh_keys = "ssh-ed25519 AAAAC3 me@host\n"
			"\n"
			"# a comment\n"
			"  ssh-rsa AAAAB3 \"quoted\\\" key\r\n"
			"ssh-rsa bad\x01key\n"
			"ecdsa-sha2-nistp256 AAAAE2 last",
	};
	char *out;
	size_t len;

	ok(seed_user_data(&s, &out, &len) == 0, "user-data with keys");
	ok(out && strstr(out, "    10.0.0.1 n0000.vm n0000\n"
			      "ssh_authorized_keys:\n"
			      "- \"ssh-ed25519 AAAAC3 me@host\"\n"
			      "- \"ssh-rsa AAAAB3 \\\"quoted\\\\\\\" key\"\n"
			      "- \"ecdsa-sha2-nistp256 AAAAE2 last\"\n"
			      "bootcmd:\n"),
	   "keys: blank, comment and control-character lines skipped, "
	   "quotes and backslashes escaped, CR LF and a last line without "
	   "newline read (golden)");
	if (out && !strstr(out, "ssh_authorized_keys"))
		printf("# %s\n", out);
	free(out);
	s.ssh_keys = "\n# none\n";
	ok(seed_user_data(&s, &out, &len) == 0 && out &&
	       !strstr(out, "ssh_authorized_keys"),
	   "no key: no ssh_authorized_keys");
	free(out);
}

static void test_hosts_cap(void)
{
	struct seed_info s = {.job_id = 1, .rank = 0, .nranks = 70000};
	char *out;
	size_t len;

	ok(seed_user_data(&s, &out, &len) == 0, "user-data for 70000 ranks");
	ok(out && strstr(out, "    10.0.16.0 n4095.vm n4095\n") &&
	       !strstr(out, "n4096"),
	   "hosts entries stop at SEED_HOSTS_MAX ranks (rank 4095 is "
	   "10.0.16.0)");
	free(out);
}

static void test_multipart(void)
{
	const char user[] = "#cloud-config\nruncmd:\n- [touch, /x]\n"
			    "--==slurm-vm-5.0.2-0==\n";
	struct seed_info s = {.job_id = 5,
			      .step_id = 0,
			      .rank = 2,
			      .nranks = 3,
			      .user_data = user,
			      .user_data_len = strlen(user)};
	char *out;
	size_t len;

	ok(seed_user_data(&s, &out, &len) == 0, "user-data with the user's");
	is_str(out,
	       "Content-Type: multipart/mixed; "
	       "boundary=\"==slurm-vm-5.0.2-1==\"\n"
	       "MIME-Version: 1.0\n"
	       "\n"
	       "--==slurm-vm-5.0.2-1==\n"
	       "Content-Type: text/cloud-config; charset=\"us-ascii\"\n"
	       "Content-Disposition: attachment; filename=\"slurm-vm.cfg\"\n"
	       "\n"
	       "#cloud-config\n"
	       "# slurm-vm: job 5, step 0, rank 2 of 3\n"
	       "hostname: n0002\n"
	       "manage_etc_hosts: false\n" HOSTS_HEAD
	       "    10.0.0.1 n0000.vm n0000\n"
	       "    10.0.0.2 n0001.vm n0001\n"
	       "    10.0.0.3 n0002.vm n0002\n" BOOTCMD
	       "--==slurm-vm-5.0.2-1==\n"
	       "Content-Type: text/plain\n"
	       "Content-Disposition: attachment; filename=\"user-data\"\n"
	       "Merge-Type: dict(recurse_array,no_replace)+list(append)+str()\n"
	       "\n"
	       "#cloud-config\nruncmd:\n- [touch, /x]\n"
	       "--==slurm-vm-5.0.2-0==\n"
	       "\n"
	       "--==slurm-vm-5.0.2-1==--\n",
	       "multipart: ours first, the user's merged after it, behind a "
	       "boundary that does not occur in it (golden)");
	free(out);
}

static void test_network_config(void)
{
	struct seed_info s = {
	    .job_id = 12, .step_id = 0, .rank = 258, .nranks = 300};
	char *out;
	size_t len;

	ok(seed_network_config(&s, &out, &len) == 0,
	   "network-config is written");
	is_str(out,
	       "version: 2\nethernets:\n  fabric:\n    match:\n"
	       "      macaddress: \"52:55:00:00:01:02\"\n    dhcp4: true\n"
	       "  outside:\n    match:\n"
	       "      macaddress: \"52:56:00:00:01:02\"\n    dhcp4: true\n",
	       "network-config: DHCP on the fabric's NIC and the NAT's, each "
	       "by its MAC (golden)");
	free(out);
}

int main(void)
{
	test_meta_data();
	test_network_config();
	test_user_data();
	test_keys();
	test_hosts_cap();
	test_multipart();
	return done_testing();
}
