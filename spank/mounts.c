/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The syntax of a mount (mounts.h): pure, no I/O. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "spank/mounts.h"

static int is_mode(const char *s, size_t n)
{
	return n == 2 && (!strncmp(s, "ro", 2) || !strncmp(s, "rw", 2));
}

int mount_parse(const char *entry, struct mount_entry *m, char *err,
		size_t errlen)
{
	const char *f[4];
	size_t len[4], k = 0;
	const char *p = entry;

	memset(m, 0, sizeof(*m));
	for (;;) {
		size_t n = strcspn(p, ":");

		if (k == 3) {
			snprintf(err, errlen,
				 "too many ':'; write SRC[:DST][:ro|rw] (a "
				 "path holding ':' or ',' cannot be mounted)");
			return -EINVAL;
		}
		f[k] = p;
		len[k++] = n;
		if (!p[n])
			break;
		p += n + 1;
	}
	if (!len[0]) {
		snprintf(
		    err, errlen,
		    "no host directory before ':'; write SRC[:DST][:ro|rw]");
		return -EINVAL;
	}
	if (k == 2 && is_mode(f[1], len[1])) {
		m->ro = f[1][1] == 'o';
	} else if (k >= 2) {
		if (!len[1]) {
			snprintf(err, errlen,
				 "the guest path is empty; write SRC:DST with "
				 "an absolute DST, or SRC alone for the same "
				 "path in the guest");
			return -EINVAL;
		}
		if (len[1] >= sizeof(m->dst))
			goto long_path;
		memcpy(m->dst, f[1], len[1]);
		if (k == 3 && !is_mode(f[2], len[2])) {
			snprintf(err, errlen,
				 "the mode '%.*s' is neither ro (read-only) "
				 "nor rw (read-write, the default)",
				 (int)len[2], f[2]);
			return -EINVAL;
		}
		m->ro = k == 3 && f[2][1] == 'o';
	}
	if (len[0] >= sizeof(m->src))
		goto long_path;
	memcpy(m->src, f[0], len[0]);
	return 0;
long_path:
	snprintf(err, errlen, "the path is too long");
	return -EINVAL;
}

/* The guest paths a mount must not hide: the guest needs its own. */
static const char *const system_dirs[] = {"/proc", "/sys", "/dev"};

int mount_guest_path(char *dst, char *err, size_t errlen)
{
	char out[PATH_MAX];
	const char *p = dst;
	size_t n = 0, i;

	if (dst[0] != '/') {
		snprintf(err, errlen,
			 "the guest path %s is relative; give an absolute "
			 "one (SRC:/DST)",
			 dst);
		return -EINVAL;
	}
	/* Lexically, as the guest will see it: "." dropped, ".." taking
	 * off the component before it, no repeated or trailing '/'. */
	while (*p) {
		size_t c;

		p += strspn(p, "/");
		c = strcspn(p, "/");
		if (!c)
			break;
		if (c == 2 && p[0] == '.' && p[1] == '.') {
			while (n && out[--n] != '/')
				;
		} else if (!(c == 1 && p[0] == '.')) {
			if (n + 1 + c >= sizeof(out)) {
				snprintf(err, errlen,
					 "the guest path is too long");
				return -EINVAL;
			}
			out[n++] = '/';
			memcpy(out + n, p, c);
			n += c;
		}
		p += c;
	}
	out[n] = 0;
	if (!n) {
		snprintf(err, errlen,
			 "the guest path / would hide the guest's whole "
			 "system; mount it below, e.g. at /mnt/data");
		return -EINVAL;
	}
	for (i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++) {
		size_t s = strlen(system_dirs[i]);

		if (!strncmp(out, system_dirs[i], s) &&
		    (!out[s] || out[s] == '/')) {
			snprintf(err, errlen,
				 "the guest path %s would hide (or write into) "
				 "the guest's own %s; mount it elsewhere, e.g. "
				 "at /mnt/data",
				 out, system_dirs[i]);
			return -EINVAL;
		}
	}
	strcpy(dst, out);
	return 0;
}

int mount_list_syntax(const char *list, char *err, size_t errlen)
{
	const char *p = list;
	struct mount_entry m;
	char entry[PATH_MAX], why[256];

	while (*p) {
		size_t n = strcspn(p, ",\n");

		if (n >= sizeof(entry)) {
			snprintf(err, errlen, "an entry is too long");
			return -EINVAL;
		}
		memcpy(entry, p, n);
		entry[n] = 0;
		p += n + (p[n] != 0);
		if (!n || !strcmp(entry, "none"))
			continue;
		if (mount_parse(entry, &m, why, sizeof(why)) < 0 ||
		    (m.dst[0] &&
		     mount_guest_path(m.dst, why, sizeof(why)) < 0)) {
			snprintf(err, errlen, "%s: %s", entry, why);
			return -EINVAL;
		}
		if (entry[0] != '/') {
			snprintf(err, errlen,
				 "%s: the host path must be absolute", entry);
			return -EINVAL;
		}
	}
	return 0;
}
