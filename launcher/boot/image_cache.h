/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The node's image cache (plugstack image_cache=DIR, image_cache_max=GB):
 * a base image, kernel or initrd that lies elsewhere (often on a shared
 * file system) is copied once per node and user, and every task of every
 * job of that user on the node shares the one copy.
 *
 * Trust: DIR is the site's (root's; mode 1777, or 0755 with the users'
 * directories made by the site). A user's entries live in DIR/<uid>,
 * made by the launcher as that user, mode 0700, and used only while it is
 * a directory of theirs (never a link, never another's): nobody else can
 * put a file there, so no user can feed another one a disk. Every entry
 * file is opened without following a link or blocking on a FIFO, and
 * checked to be the user's own regular file. The launcher reads a source
 * as the job's user, so only what the user may read is ever copied.
 *
 * An entry DIR/<uid>/KEY.img is keyed by its source's identity, read with
 * fstat on the opened source: device, inode, size and mtime (ns). Beside
 * it, KEY.meta (that identity, the copy's SHA-256 and the source's path)
 * and KEY.lock (the key's lock file, kept: a lock file removed while
 * another task waits on it would let two copies run at once).
 */
#ifndef SLURM_VM_IMAGE_CACHE_H
#define SLURM_VM_IMAGE_CACHE_H

#include <limits.h>
#include <stddef.h>

struct image_cache {
	const char *dir;	/* the site's directory (absolute) */
	unsigned long long max; /* bytes one user's entries may take */
	long wait_ms;		/* the longest wait for a copy, or for one */
	/* Called once when this task starts waiting for another task's
	 * copy: the source, the bytes copied so far and its size. NULL: no
	 * call. */
	void (*waiting)(void *arg, const char *src, unsigned long long done,
			unsigned long long size);
	void *arg;
};

enum image_cache_how {
	IMAGE_CACHE_ORIGINAL, /* use the source where it is */
	IMAGE_CACHE_HIT,      /* an entry was there (or another task made it) */
	IMAGE_CACHE_COPIED,   /* this task copied it */
};

struct image_cache_entry {
	char path[PATH_MAX]; /* what to boot from: the entry, or the source */
	int fd;		     /* the entry, held with a shared flock; or -1 */
	enum image_cache_how how;
	int waited;		  /* it waited for another task's copy */
	unsigned long long bytes; /* the size copied (COPIED) */
	long copy_ms;		  /* how long the copy took (COPIED) */
};

/*
 * Finds or makes the entry of src (an absolute path) in ic->dir and fills
 * e. A source inside ic->dir is used as it is. Anything that keeps the
 * cache from being used (its directory not safe, a copy failing, a wait
 * or a copy past ic->wait_ms, a source larger than ic->max, a qcow2 image
 * with a backing file) is not an error: e names src itself (how
 * IMAGE_CACHE_ORIGINAL) and err says why, for one line on stderr (err is
 * "" when there is nothing to say). Returns e->how, or -errno when src
 * itself cannot be opened (err says so). Every wait ends at ic->wait_ms.
 * While e->fd is open the entry is never evicted: release it with
 * image_cache_put() once the guest is gone.
 */
int image_cache_get(const struct image_cache *ic, const char *src,
		    struct image_cache_entry *e, char *err, size_t errlen);

/* Releases e's entry (closes e->fd). A zeroed e or fd -1: nothing. */
void image_cache_put(struct image_cache_entry *e);

/*
 * While this user's entries in ic->dir take more than ic->max bytes,
 * removes the least recently used ones (their mtime: each use touches
 * it) that no task holds (their exclusive flock taken without waiting).
 * Returns how many were removed, or -errno (err says why).
 */
int image_cache_evict(const struct image_cache *ic, char *err, size_t errlen);

/*
 * Opens this user's directory DIR/<uid> of ic->dir, made (0700) when
 * absent, refused unless it is this user's own directory and DIR is safe
 * (root's or this user's; writable by others only with the sticky bit).
 * Returns its fd, or -errno with err naming the directory and the fix.
 */
int image_cache_user_dir(const struct image_cache *ic, char *err,
			 size_t errlen);

struct launch_config;

/*
 * The launcher's use: with c->image_cache set, c->image, c->kernel and
 * c->initrd are pointed at this node's entries (held[0..2], in that
 * order; each released with image_cache_put() once the guest is gone),
 * waiting for another task's copy at most c->boot_timeout. Not for a
 * step that saves or restores snapshots or keeps its disk
 * (--vm-disk-persist): their files name the image, which must outlive
 * any entry. Why a file is booted from where it is, and that a task
 * waits, is said on stderr (with c->stats, also each copy and use).
 */
void image_cache_boot(struct launch_config *c,
		      struct image_cache_entry held[3]);

#endif
