/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Files in directories another user may write: opened, created and
 * removed without following a link or blocking on a FIFO, with type and
 * owner checked. The one home of these rules.
 */
#ifndef SLURM_VM_SAFEFILE_H
#define SLURM_VM_SAFEFILE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Removes path and everything under it, never following a link. Returns
 * 0 or -errno of the first failure. */
int snap_remove_tree(const char *path);

/*
 * Opening files in directories another user may write (a group project
 * directory, /tmp): the one home of the rule. Every open is close-on-exec
 * and non-blocking (a FIFO or a device never blocks it; the flag is
 * cleared again on a regular file), never follows a symbolic link in
 * name (a single component, no '/', unless SAFE_FOLLOW), and is checked
 * with fstat: the type (a regular file, or a directory with SAFE_DIR) and
 * the owner (this process's effective uid, unless SAFE_ANY_OWNER).
 *
 * dfd is a directory's fd or AT_FDCWD; dir names it in messages (NULL:
 * name alone). On failure err says which file and why, and the return is
 * -errno: -ELOOP (a symbolic link), -EINVAL (not a regular file or not a
 * directory), -EPERM (another user's), or open()'s own.
 */
#define SAFE_DIR 1	 /* a directory, else a regular file */
#define SAFE_FOLLOW 2	 /* a path the user gave: links in it are theirs */
#define SAFE_ANY_OWNER 4 /* a shared directory: anyone's */
#define SAFE_REUSE 8	 /* safe_create(): an own regular file is reused */

/* Opens dfd/name read-only as above; fills st when not NULL. */
int safe_open(int dfd, const char *dir, const char *name, int flags,
	      struct stat *st, char *err, size_t errlen);

/*
 * Creates dfd/name (O_CREAT | O_EXCL | O_NOFOLLOW, mode) for writing;
 * oflags adds O_RDWR, O_APPEND or O_DIRECT (dropped where the file system
 * has no direct I/O). With SAFE_REUSE in flags, an existing name is opened
 * instead when it is this user's own regular file (else refused as
 * safe_open() would), and is not truncated. Returns the fd (blocking,
 * close-on-exec) or -errno with err naming the file.
 */
int safe_create(int dfd, const char *dir, const char *name, int oflags,
		mode_t mode, int flags, char *err, size_t errlen);

/*
 * safe_open() and safe_create() of a whole path: its directory is opened
 * as the user wrote it (its links are the user's own choice, its owner
 * anyone, e.g. a project directory), its last component as above. path
 * must name a file in a directory ("DIR/NAME").
 */
int safe_open_path(const char *path, int flags, struct stat *st, char *err,
		   size_t errlen);
int safe_create_path(const char *path, int oflags, mode_t mode, int flags,
		     char *err, size_t errlen);

/*
 * Makes the directory dfd/name (mode) and opens it. One that exists is an
 * error (-EEXIST): never adopted. Returns its fd or -errno with err.
 */
int safe_mkdir(int dfd, const char *dir, const char *name, mode_t mode,
	       char *err, size_t errlen);

/*
 * Opens dir/name to read: dir as the user wrote it (SAFE_FOLLOW), name as
 * safe_open() does (never a link, never blocking, this user's own regular
 * file). Fills path (len bytes) with "dir/name" and st. Returns the fd, or
 * -errno with err naming the file.
 */
int safe_open_in(const char *dir, const char *name, char *path, size_t len,
		 struct stat *st, char *err, size_t errlen);

/* True for a name of one entry of a directory: no '/', not "." or "..". */
int safe_plain_name(const char *s);

/* "dir/name", or name alone when dir is NULL, for messages. */
void safe_describe(char *buf, size_t len, const char *dir, const char *name);

#endif
