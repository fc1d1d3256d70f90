/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slurm-vm-control: the node-side part of slurm-vm(1) (ctl.h). It prints
 * one line per guest of this node, sorted by step and rank: tab-separated
 * fields, or with --json one JSON object each; `console` prints the
 * guest's console log (and with --follow what comes after, until the
 * guest is gone).
 *
 * Exit status: 0 when every guest answered, 1 when one did not or
 * refused, 2 for bad usage.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "launcher/common/launch_env.h"
#include "launcher/control/control.h"
#include "launcher/control/ctl.h"

#define ASK_MS 10000
/* console: at most this much of the log's end is printed at first. */
#define CONSOLE_MAX (16L << 20)
#define FOLLOW_POLL_US 200000

struct opts {
	const char *rundir, *ranks, *request, *arg;
	unsigned long job;
	long step;
	char **cmd;	 /* exec, shell: the command */
	long stdin_rank; /* exec: -1, every rank */
	long code_of;	 /* exec: whose exit code, -1: the highest here */
	int json, follow;
	int slurm_node; /* node is Slurm's name for this node */
	char node[256];
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: slurm-vm-control [--rundir DIR] [--json] [--follow] "
		"[--stdin RANK]\n"
		"       [--code-of RANK] "
		"       JOB[.STEP] RANKS REQUEST [ARG | [--] CMD...]\n"
		"  RANKS    all, or a list of N, N-M, N- (e.g. 0,2-3)\n"
		"  REQUEST  status | pause | resume | qmp JSON | console |\n"
		"           exec CMD... | shell [CMD...]\n"
		"Asks the launchers of this node (run directories in DIR, "
		"default %s) of\nthe step's guests; run it through srun "
		"--jobid=JOB --overlap (slurm-vm(1)).\n",
		LAUNCH_RUNDIR_DEFAULT);
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static long num(json_t *o, const char *k)
{
	return (long)json_integer_value(json_object_get(o, k));
}

/* One guest's row; returns 0 when it answered without an error. */
static int print_row(const struct opts *o, const struct ctl_guest *g,
		     const char *reply, const char *what)
{
	json_t *j = reply ? json_loads(reply, 0, NULL) : NULL;
	json_t *ret = json_object_get(j, "return");
	const char *err = json_is_object(j) ? str(j, "error") : "";
	int bad = !json_is_object(ret);
	char *s;

	if (bad && !err[0])
		err = reply ? "a reply that is not JSON" : what;
	if (o->json) {
		json_t *row = bad ? json_object() : json_deep_copy(ret);

		json_object_set_new(row, "job",
				    json_integer((json_int_t)o->job));
		json_object_set_new(row, "step",
				    json_integer((json_int_t)g->step));
		json_object_set_new(row, "rank",
				    json_integer((json_int_t)g->rank));
		json_object_set_new(row, "node", json_string(o->node));
		if (bad)
			json_object_set_new(row, "error", json_string(err));
		s = json_dumps(row, JSON_COMPACT);
		printf("%s\n", s ? s : "{}");
		free(s);
		json_decref(row);
	} else if (bad) {
		printf("%lu.%lu\t%lu\t%s\terror\t%s\n", o->job, g->step,
		       g->rank, o->node, err);
	} else if (!strcmp(o->request, "status")) {
		printf("%lu.%lu\t%lu\t%s\t%s\t%s\t%s\t%ld\t%ld\t%ld\t%.1f\n",
		       o->job, g->step, g->rank, o->node, str(ret, "state"),
		       str(ret, "hostname"), str(ret, "address"),
		       num(ret, "cpus"), num(ret, "mem_mb"),
		       num(ret, "uptime_s"),
		       json_real_value(json_object_get(ret, "cpu_s")));
	} else {
		printf("%lu.%lu\t%lu\t%s\t%s\n", o->job, g->step, g->rank,
		       o->node,
		       !strcmp(o->request, "pause") ? "paused" : "resumed");
	}
	json_decref(j);
	return bad ? -1 : 0;
}

static const char *ask_error(int rc)
{
	if (rc == -ENOENT || rc == -ECONNREFUSED)
		return "its launcher does not answer (the guest is ending, or "
		       "was started before slurm-vm could reach it)";
	if (rc == -ETIMEDOUT)
		return "its launcher did not answer in time";
	return strerror(-rc);
}

/* status, pause, resume, qmp: one request to each guest. */
static int ask_all(const struct opts *o, struct ctl_guest *g, size_t n)
{
	char req[CONTROL_LINE_MAX], *reply;
	int bad = 0, rc;
	size_t i;

	if (snprintf(req, sizeof(req), "%s%s%s", o->request, o->arg ? " " : "",
		     o->arg ? o->arg : "") >= (int)sizeof(req)) {
		fprintf(stderr,
			"slurm-vm-control: the request is longer than "
			"%d bytes\n",
			CONTROL_LINE_MAX - 1);
		return 2;
	}
	for (i = 0; i < n; i++) {
		rc = ctl_ask(&g[i], req, &reply, ASK_MS);
		if (!strcmp(o->request, "qmp") && rc == 0) {
			printf("%s\n", reply);
			bad |= strncmp(reply, "{\"return\"", 9) != 0;
		} else {
			bad |= print_row(o, &g[i], rc ? NULL : reply,
					 ask_error(rc)) < 0;
		}
		free(reply);
	}
	fflush(stdout);
	return bad;
}

/* Copies fd from off to its end to stdout. Returns the new offset. */
static off_t copy_from(int fd, off_t off)
{
	char buf[65536];
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return -1;
		off += n;
	}
	fflush(stdout);
	return off;
}

/* The console path from g's status, into path. */
static int console_path(const struct ctl_guest *g, char *path, size_t len)
{
	char *reply = NULL;
	json_t *j;
	int rc = ctl_ask(g, "status", &reply, ASK_MS);

	if (rc < 0)
		return rc;
	j = json_loads(reply, 0, NULL);
	free(reply);
	rc = snprintf(path, len, "%s",
		      str(json_object_get(j, "return"), "console"));
	json_decref(j);
	return rc > 0 && (size_t)rc < len ? 0 : -EPROTO;
}

static int console(const struct opts *o, const struct ctl_guest *g)
{
	char path[4300], *reply;
	struct stat st;
	off_t off = 0;
	int fd, rc = console_path(g, path, sizeof(path));

	if (rc < 0) {
		fprintf(stderr, "slurm-vm-control: rank %lu: %s\n", g->rank,
			rc == -EPROTO ? "no console path" : ask_error(rc));
		return 1;
	}
	/* The user's own file (--vm-console may put it anywhere): never a
	 * FIFO or a device, which could hang or feed us forever. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "slurm-vm-control: %s: %s\n", path,
			fd < 0 ? strerror(errno) : "not a regular file");
		return 1;
	}
	if (st.st_size > CONSOLE_MAX) {
		off = st.st_size - CONSOLE_MAX;
		printf("[slurm-vm: the console's first %lld bytes are left "
		       "out]\n",
		       (long long)off);
	}
	off = copy_from(fd, off);
	while (o->follow && off >= 0) {
		usleep(FOLLOW_POLL_US);
		off = copy_from(fd, off);
		/* The guest gone (its socket too): what is left, then end. */
		if (ctl_ask(g, "status", &reply, ASK_MS) < 0) {
			copy_from(fd, off);
			break;
		}
		free(reply);
	}
	close(fd);
	return off < 0;
}

/*
 * Whether g's launcher runs on this node: run directories on a file
 * system that nodes share (a one-host lab, a shared rundir=) are seen
 * from every node, and each guest is this node's to answer for only once.
 * A launcher that does not answer is kept, for its error.
 */
static int on_this_node(const struct opts *o, const struct ctl_guest *g)
{
	char *reply = NULL;
	const char *node;
	json_t *j;
	int mine = 1;

	if (!o->slurm_node || ctl_ask(g, "status", &reply, ASK_MS) < 0)
		return 1;
	j = json_loads(reply, 0, NULL);
	node = str(json_object_get(j, "return"), "node");
	if (node[0] && strcmp(node, o->node))
		mine = 0;
	json_decref(j);
	free(reply);
	return mine;
}

/* Keeps the guests of this node. Returns how many. */
static size_t keep_mine(const struct opts *o, struct ctl_guest *g, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (on_this_node(o, &g[i]))
			g[k++] = g[i];
		else
			close(g[i].dfd);
	}
	return k;
}

/* The login shell of the guest's user, or sh, for shell without CMD. */
static char *default_shell[] = {
    "/bin/sh", "-c",
    "if [ -x \"$SHELL\" ]; then exec \"$SHELL\" -l; fi; exec /bin/sh -l", NULL};

static int run_exec(const struct opts *o, struct ctl_guest *g, size_t n)
{
	struct ctl_exec x = {.argv = o->cmd,
			     .pty = o->request[0] == 's',
			     .stdin_rank = o->stdin_rank,
			     .code_of = o->code_of,
			     .job = o->job};

	if (x.pty && !x.argv[0])
		x.argv = default_shell;
	if (!n) {
		fprintf(stderr,
			"slurm-vm-control: no guest of %lu.%ld with "
			"ranks %s on this node\n",
			o->job, o->step, o->ranks);
		return 125;
	}
	return ctl_exec_run(&x, g, n);
}

static int parse_id(const char *s, struct opts *o)
{
	char *end;

	errno = 0;
	o->job = strtoul(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	o->step = -1;
	if (*end == '.') {
		s = end + 1;
		o->step = strtol(s, &end, 10);
		if (errno || end == s || *s == '-' || o->step < 0)
			return -1;
	}
	return *end ? -1 : 0;
}

/* A rank number, or -2. */
static long parse_rank(const char *s)
{
	char *end;
	long r;

	if (!strcmp(s, "all"))
		return -1;
	errno = 0;
	r = strtol(s, &end, 10);
	return errno || end == s || *end || r < 0 ? -2 : r;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int i = 1;

	o->stdin_rank = -1;
	o->code_of = -1;
	o->rundir = LAUNCH_RUNDIR_DEFAULT;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json"))
			o->json = 1;
		else if (!strcmp(argv[i], "--follow"))
			o->follow = 1;
		else if (!strcmp(argv[i], "--rundir") && i + 1 < argc)
			o->rundir = argv[++i];
		else if (!strcmp(argv[i], "--stdin") && i + 1 < argc)
			o->stdin_rank = parse_rank(argv[++i]);
		else if (!strcmp(argv[i], "--code-of") && i + 1 < argc)
			o->code_of = parse_rank(argv[++i]);
		else
			return -1;
	}
	if (argc - i < 3 || parse_id(argv[i], o) < 0 ||
	    ctl_rank_in(argv[i + 1], 0) < 0 || o->stdin_rank < -1 ||
	    o->code_of < -1)
		return -1;
	o->ranks = argv[i + 1];
	o->request = argv[i + 2];
	if (!strcmp(o->request, "exec") || !strcmp(o->request, "shell")) {
		i += 3;
		if (i < argc && !strcmp(argv[i], "--"))
			i++;
		o->cmd = argv + i;
		return o->step >= 0 && (i < argc || o->request[0] == 's') ? 0
									  : -1;
	}
	if (argc - i > 4)
		return -1;
	o->arg = argc - i == 4 ? argv[i + 3] : NULL;
	if (!strcmp(o->request, "qmp") != !!o->arg)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct ctl_guest *g;
	const char *node = getenv("SLURMD_NODENAME");
	size_t n;
	int rc;

	if (argc == 2 && !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (parse_args(argc, argv, &o) < 0) {
		usage(stderr);
		return 2;
	}
	o.slurm_node = node && *node;
	if (o.slurm_node)
		snprintf(o.node, sizeof(o.node), "%s", node);
	else if (gethostname(o.node, sizeof(o.node) - 1) < 0)
		strcpy(o.node, "?");
	rc = ctl_find(o.rundir, o.job, o.step, o.ranks, &g, &n);
	if (rc < 0) {
		fprintf(stderr, "slurm-vm-control: %s: %s\n", o.rundir,
			strerror(-rc));
		return 1;
	}
	n = keep_mine(&o, g, n);
	if (o.cmd)
		rc = run_exec(&o, g, n);
	else if (!strcmp(o.request, "console"))
		rc = n == 1 ? console(&o, g) : n != 0;
	else if (strcmp(o.request, "status") && strcmp(o.request, "pause") &&
		 strcmp(o.request, "resume") && strcmp(o.request, "qmp"))
		rc = 2, usage(stderr);
	else
		rc = ask_all(&o, g, n);
	ctl_free(g, n);
	return rc;
}
