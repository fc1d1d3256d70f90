/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slurm-vm-fabric-peer: one fabric instance outside Slurm, with a command
 * as its endpoint. Where no Slurm runs (the verbs test runs the fabric
 * inside guests that have an RDMA device), the launchers' cards are
 * swapped over a plain TCP rendezvous instead of PMIx: rank 0 listens,
 * every other rank sends it "RANK CARD\n", and rank 0 answers each with
 * all the cards, one per line, in rank order.
 *
 *   slurm-vm-fabric-peer --rank R --nranks N --rendezvous IP:PORT
 *	--addr IP [--transport auto|tcp|verbs] [--device NAME] -- CMD...
 *
 * CMD runs with its end of the guest socket as SLURMVM_NET_FD and with
 * SLURM_PROCID and SLURM_NTASKS set, as under srun --vm-exec=endpoint.
 * At its end the fabric's counters go to stderr as one line, and CMD's
 * exit status is this program's.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fabric/boot.h"
#include "fabric/fabric.h"
#include "fabric/stats.h"

#define RENDEZVOUS_TIMEOUT_S 120

struct rendezvous {
	struct sockaddr_in sin;
};

static int fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "rendezvous: %s: %s", what,
		 errno ? strerror(errno) : "protocol error");
	return -EIO;
}

static FILE *stream(int fd)
{
	struct timeval tv = {.tv_sec = RENDEZVOUS_TIMEOUT_S};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fdopen(fd, "r+");
}

/* Rank 0: collects every card, then gives each rank all of them. */
static int serve(struct rendezvous *rv, struct boot_card *all, uint32_t n,
		 char *err, size_t errlen)
{
	char line[BOOT_CARD_TEXT_MAX + 16], text[BOOT_CARD_TEXT_MAX];
	FILE **peers = calloc(n, sizeof(*peers));
	int lfd, one = 1, rc = -EIO;
	uint32_t got, r, i;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!peers || lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&rv->sin, sizeof(rv->sin)) ||
	    listen(lfd, (int)n)) {
		rc = fail(err, errlen, "listen");
		goto out;
	}
	for (got = 1; got < n; got++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		FILE *f = fd < 0 ? NULL : stream(fd);
		unsigned long rank;
		char *end;

		if (!f || !fgets(line, sizeof(line), f)) {
			rc = fail(err, errlen, "a peer's card");
			goto out;
		}
		line[strcspn(line, "\n")] = 0;
		errno = 0;
		rank = strtoul(line, &end, 10);
		if (*end != ' ' || rank == 0 || rank >= n || peers[rank] ||
		    boot_card_parse(end + 1, &all[rank]) < 0) {
			fclose(f);
			rc = fail(err, errlen, "a malformed card");
			goto out;
		}
		peers[rank] = f;
	}
	for (r = 1; r < n; r++) {
		for (i = 0; i < n; i++) {
			boot_card_format(&all[i], text, sizeof(text));
			fprintf(peers[r], "%s\n", text);
		}
		if (fflush(peers[r])) {
			rc = fail(err, errlen, "sending the cards");
			goto out;
		}
	}
	rc = 0;
out:
	for (r = 0; peers && r < n; r++)
		if (peers[r])
			fclose(peers[r]);
	free(peers);
	if (lfd >= 0)
		close(lfd);
	return rc;
}

/* Any other rank: sends its card to rank 0, reads everyone's. */
static int join(struct rendezvous *rv, uint32_t rank, struct boot_card *all,
		uint32_t n, char *err, size_t errlen)
{
	char line[BOOT_CARD_TEXT_MAX + 16], text[BOOT_CARD_TEXT_MAX];
	time_t until = time(NULL) + RENDEZVOUS_TIMEOUT_S;
	FILE *f;
	uint32_t i;
	int fd;

	for (;;) { /* rank 0 may not listen yet */
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return fail(err, errlen, "socket");
		if (!connect(fd, (struct sockaddr *)&rv->sin, sizeof(rv->sin)))
			break;
		close(fd);
		if (time(NULL) > until)
			return fail(err, errlen, "connecting to rank 0");
		usleep(100 * 1000);
	}
	f = stream(fd);
	if (!f)
		return fail(err, errlen, "fdopen");
	boot_card_format(&all[rank], text, sizeof(text));
	fprintf(f, "%" PRIu32 " %s\n", rank, text);
	fflush(f);
	for (i = 0; i < n; i++) {
		if (!fgets(line, sizeof(line), f)) {
			fclose(f);
			return fail(err, errlen, "reading the cards");
		}
		line[strcspn(line, "\n")] = 0;
		if (boot_card_parse(line, &all[i]) < 0) {
			fclose(f);
			return fail(err, errlen, "a malformed card");
		}
	}
	fclose(f);
	return 0;
}

static uint32_t my_rank, all_ranks;

static int exchange(void *arg, const struct boot_card *mine, uint32_t *rank,
		    uint32_t *nranks, struct boot_card **cards, char *err,
		    size_t errlen)
{
	struct boot_card *all = calloc(all_ranks, sizeof(*all));
	int rc;

	if (!all)
		return -ENOMEM;
	all[my_rank] = *mine;
	rc = my_rank == 0 ? serve(arg, all, all_ranks, err, errlen)
			  : join(arg, my_rank, all, all_ranks, err, errlen);
	if (rc < 0) {
		free(all);
		return rc;
	}
	*rank = my_rank;
	*nranks = all_ranks;
	*cards = all;
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --rank R --nranks N --rendezvous IP:PORT --addr IP "
		"[--transport auto|tcp|verbs] [--device NAME] -- CMD...\n",
		prog);
	exit(2);
}

static int run(char **cmd, int fd)
{
	char num[16];
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		snprintf(num, sizeof(num), "%d", fd);
		setenv("SLURMVM_NET_FD", num, 1);
		snprintf(num, sizeof(num), "%" PRIu32, my_rank);
		setenv("SLURM_PROCID", num, 1);
		snprintf(num, sizeof(num), "%" PRIu32, all_ranks);
		setenv("SLURM_NTASKS", num, 1);
		execvp(cmd[0], cmd);
		fprintf(stderr, "fabric-peer: %s: %s\n", cmd[0],
			strerror(errno));
		_exit(127);
	}
	close(fd);
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return 125;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	struct fabric_config cfg = {.transport = "auto", .mtu = 1500};
	struct rendezvous rv = {.sin = {.sin_family = AF_INET}};
	char err[512], node[32], line[FABRIC_STATS_LINE_MAX], *colon;
	struct fabric *f;
	int i, sv[2], rc;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i += 2) {
		if (i + 1 >= argc)
			usage(argv[0]);
		if (!strcmp(argv[i], "--rank"))
			my_rank = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--nranks"))
			all_ranks = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--addr"))
			cfg.addr = argv[i + 1];
		else if (!strcmp(argv[i], "--transport"))
			cfg.transport = argv[i + 1];
		else if (!strcmp(argv[i], "--device"))
			cfg.verbs_device = argv[i + 1];
		else if (!strcmp(argv[i], "--rendezvous") &&
			 (colon = strrchr(argv[i + 1], ':'))) {
			*colon = 0;
			rv.sin.sin_port = htons((uint16_t)atoi(colon + 1));
			if (inet_pton(AF_INET, argv[i + 1], &rv.sin.sin_addr) !=
			    1)
				usage(argv[0]);
		} else
			usage(argv[0]);
	}
	if (i + 1 >= argc || !all_ranks || my_rank >= all_ranks || !cfg.addr ||
	    !rv.sin.sin_port)
		usage(argv[0]);
	/* Each instance is its own "node": peers are reached over the
	 * network, never the node-local shortcut. */
	snprintf(node, sizeof(node), "peer%" PRIu32, my_rank);
	cfg.node = node;
	cfg.rank = my_rank;
	cfg.nranks = all_ranks;
	cfg.exchange = exchange;
	cfg.exchange_arg = &rv;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("fabric-peer: socketpair");
		return 125;
	}
	f = fabric_create(&cfg, sv[0], err, sizeof(err));
	if (!f || fabric_start(f, err, sizeof(err)) < 0) {
		fprintf(stderr, "fabric-peer rank %" PRIu32 ": %s\n", my_rank,
			err);
		fabric_destroy(f);
		return 125;
	}
	/* The child's end must survive exec: clear its close-on-exec. */
	{
		int fd = dup(sv[1]);

		close(sv[1]);
		rc = run(argv + i + 1, fd);
	}
	fabric_stop(f);
	if (fabric_stats_summary(fabric_get_stats(f), my_rank, line,
				 sizeof(line)) > 0)
		fprintf(stderr, "fabric-peer: %s\n", line);
	fabric_destroy(f);
	return rc;
}
