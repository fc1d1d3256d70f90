/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "launcher/common/parse.h"

int parse_count(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_number(const char *s, unsigned long max, unsigned long *out)
{
	if (s && !strcmp(s, "0")) {
		*out = 0;
		return 0;
	}
	return parse_count(s, max, out);
}

static const struct {
	const char *name;
	int sig;
	int reserved; /* Slurm's, the launcher's, or a fault */
} signals[] = {
    {"HUP", SIGHUP, 1},	      {"INT", SIGINT, 1},   {"QUIT", SIGQUIT, 1},
    {"ILL", SIGILL, 1},	      {"TRAP", SIGTRAP, 1}, {"ABRT", SIGABRT, 1},
    {"BUS", SIGBUS, 1},	      {"FPE", SIGFPE, 1},   {"KILL", SIGKILL, 1},
    {"USR1", SIGUSR1, 0},     {"SEGV", SIGSEGV, 1}, {"USR2", SIGUSR2, 0},
    {"PIPE", SIGPIPE, 1},     {"ALRM", SIGALRM, 0}, {"TERM", SIGTERM, 1},
    {"CHLD", SIGCHLD, 1},     {"CONT", SIGCONT, 1}, {"STOP", SIGSTOP, 1},
    {"TSTP", SIGTSTP, 1},     {"TTIN", SIGTTIN, 1}, {"TTOU", SIGTTOU, 1},
    {"URG", SIGURG, 0},	      {"XCPU", SIGXCPU, 0}, {"XFSZ", SIGXFSZ, 0},
    {"VTALRM", SIGVTALRM, 0}, {"PROF", SIGPROF, 0}, {"WINCH", SIGWINCH, 0},
    {"SYS", SIGSYS, 1},
};

#define NSIGNALS (sizeof(signals) / sizeof(signals[0]))

int parse_signal(const char *s, int *sig)
{
	unsigned long n;
	size_t i;

	if (!s)
		return -EINVAL;
	if (parse_count(s, 64, &n) == 0) {
		*sig = (int)n;
		for (i = 0; i < NSIGNALS; i++)
			if (signals[i].sig == *sig)
				return signals[i].reserved ? -EPERM : 0;
		/* Real-time signals are free; anything else is unknown. */
		return *sig >= SIGRTMIN && *sig <= SIGRTMAX ? 0 : -EINVAL;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (i = 0; i < NSIGNALS; i++)
		if (!strcasecmp(s, signals[i].name)) {
			*sig = signals[i].sig;
			return signals[i].reserved ? -EPERM : 0;
		}
	return -EINVAL;
}

const char *signal_name(int sig)
{
	size_t i;

	for (i = 0; i < NSIGNALS; i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	return NULL;
}

int report_spec_parse(char *spec, enum report_format *format, char **path)
{
	char *colon = strchr(spec, ':');

	if (!colon || colon[1] == 0)
		return -EINVAL;
	*colon = 0;
	if (!strcmp(spec, "junit"))
		*format = REPORT_JUNIT;
	else if (!strcmp(spec, "tap"))
		*format = REPORT_TAP;
	else
		return -EINVAL;
	*path = colon + 1;
	return 0;
}
