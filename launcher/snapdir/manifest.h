/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A snapshot's manifest: what a collective snapshot of one step holds,
 * written last, so a snapshot without one is never used.
 *
 * Inside a snapshot directory, per rank R: rank-R.vmstate (device state),
 * rank-R.memory (the guest's memory, as an image of it: sparse where the
 * guest never wrote), rank-R.disk.qcow2 (the image overlay, optional),
 * rank-R.frames (the fabric's frames in flight at the cut), rank-R.agent
 * (the agent session's state) and rank-R.json (that rank's entry, written
 * by its launcher); then manifest.json, the header and every rank's
 * entry, written by rank 0 once every rank's entry is there.
 *
 * manifest.json, format 2:
 *   { "format": "slurm-vm-snapshot", "version": 2,
 *     "job": J, "step": S, "ntasks": N, "seq": Q,
 *     "cut_time": "2026-11-22T10:00:00.123Z", "pause_ms": 250,
 *     "qemu_version": "8.2.2", "at": "command",
 *     "ranks": [ ENTRY for rank 0, ..., ENTRY for rank N-1 ] }
 *   ENTRY (also the whole of rank-R.json):
 *   { "rank": R, "node": "n1", "mem_mb": 256, "cpus": 1,
 *     "image":  {"path": "/abs", "size": B, "mtime_ns": T} or null,
 *     "kernel": ... or null, "initrd": ... or null,
 *     "files": { "vmstate": FILE, "memory": FILE + "stored",
 *                "disk": FILE (only with a disk), "frames": FILE,
 *                "agent": FILE } }
 *   FILE: {"name": "rank-R.vmstate", "size": B, "sha256": "64 hex"}
 *   "stored": the bytes of data the memory file holds (size less holes)
 *   "at": "command" (a command was running: a restore resumes it) or
 *   "ready" (--vm-snapshot-at=ready: every agent was ready and no command
 *   had been sent: a restore runs the restoring step's own); absent in
 *   older snapshots, read as "command"
 *
 * Everything read is untrusted (the user owns the directory): every
 * field is type- and range-checked, file names must be exactly the ones
 * above, so no entry can point outside its snapshot.
 *
 * All functions return >= 0 or -errno; those with err fill it with a
 * message for the user (naming the file and the field) on failure.
 */
#ifndef SLURM_VM_MANIFEST_H
#define SLURM_VM_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define SNAP_MANIFEST "manifest.json"
#define SNAP_FORMAT "slurm-vm-snapshot"
#define SNAP_VERSION 2
/* The most tasks a manifest may describe (Slurm's own task limit). */
#define SNAP_MAX_TASKS 16777213u

/* One file of a rank, inside the snapshot directory. */
struct snap_file {
	char name[64];	 /* "rank-R.vmstate": never a path */
	uint64_t size;	 /* bytes */
	uint64_t stored; /* bytes of data: size less holes (memory only) */
	char sha256[65]; /* lowercase hex, NUL-terminated, of all size bytes */
};

/* What a guest booted from, to tell whether it changed since. */
struct snap_ident {
	char path[4096]; /* absolute; path[0] == 0: none */
	uint64_t size;
	int64_t mtime_ns;
};

/* Which file of a rank: the suffix after "rank-R.". SNAP_ENTRY, the rank's
 * manifest entry, is not one of its saved files. */
enum snap_kind {
	SNAP_VMSTATE,
	SNAP_MEMORY,
	SNAP_DISK,
	SNAP_FRAMES,
	SNAP_AGENT,
	SNAP_ENTRY
};

struct snap_rank {
	uint32_t rank;
	char node[64]; /* where it was saved, for messages */
	struct snap_ident image, kernel, initrd;
	unsigned long mem_mb, cpus;
	int has_disk; /* disk holds the image overlay */
	struct snap_file vmstate, memory, disk, frames, agent;
};

struct snap_manifest {
	uint32_t job, step, ntasks, seq;
	char cut_time[40]; /* UTC, ISO 8601 */
	long pause_ms;	   /* how long the guests were stopped */
	char qemu_version[96];
	int at_ready; /* "at": "ready": no command inside */
	/* "at": "fail": saved when rank failed_rank's command ended with
	 * failed_code (the others' commands running or ended) */
	int at_fail, failed_code;
	uint32_t failed_rank;
	struct snap_rank *ranks; /* ntasks entries, rank i at i; owned */
};

/*
 * The name of rank's file of this kind ("rank-3.vmstate", "rank-3.memory",
 * "rank-3.disk.qcow2", "rank-3.frames", "rank-3.agent", "rank-3.json") into
 * name (at least 64 bytes). Returns 0 or -ENAMETOOLONG.
 */
int snap_file_name(uint32_t rank, enum snap_kind kind, char *name, size_t len);

/* Fills id with path's size and modification time (stat, following
 * links). Returns 0 or -errno (id untouched). path must be absolute. */
int snap_ident_of(const char *path, struct snap_ident *id);

/*
 * Checks that the file id names is still what it was: same size, same
 * modification time. what names it for the message ("image"). Returns 0
 * (also for an empty id), -ESTALE ("image X changed since the snapshot
 * (size A -> B)") or -errno when it cannot be read (e.g. -ENOENT).
 */
int snap_ident_check(const struct snap_ident *id, const char *what, char *err,
		     size_t errlen);

/*
 * Sets f's name to name and its size (and stored) and SHA-256 to those of
 * dir/name, read whole. Returns 0 or -errno (f untouched): -ENAMETOOLONG, an
 * open/read error, -EIO from the digest.
 */
int snap_file_hash(const char *dir, const char *name, struct snap_file *f);

/* Ends a SHA-256 digest (an EVP_MD_CTX) into lowercase hex. 0 or -EIO. */
struct evp_md_ctx_st;
int snap_digest_hex(struct evp_md_ctx_st *ctx, char hex[65]);

/*
 * Checks dir/f->name against f: its size, and its SHA-256 when hash is
 * set (reading the whole file). Returns 0, -EBADMSG (a size or checksum
 * that differs, with both in err) or -errno (missing, unreadable; and as
 * every read of a snapshot file here, through safe_open() of snapdir.h:
 * -ELOOP for a symbolic link, -EINVAL for a FIFO or any other non-regular
 * file, -EPERM for a file or directory of another user).
 */
int snap_file_verify(const char *dir, const struct snap_file *f, int hash,
		     char *err, size_t errlen);

/*
 * snap_file_verify() on a file open already as fd (path names it in
 * messages): the fd is left at offset 0, for the reader that follows.
 */
int snap_file_verify_fd(int fd, const char *path, const struct snap_file *f,
			int hash, char *err, size_t errlen);

/* Writes r as dir/rank-R.json: a temporary file, fsync, rename. Returns
 * 0 or -errno, with a message in err. */
int snap_rank_write(const char *dir, const struct snap_rank *r, char *err,
		    size_t errlen);

/* Reads and checks dir/rank-R.json into r; its "rank" must be rank.
 * Returns 0, -ENOENT (not written yet) or -EINVAL/-errno with err. */
int snap_rank_read(const char *dir, uint32_t rank, struct snap_rank *r,
		   char *err, size_t errlen);

/*
 * Fills m->ranks from dir/rank-R.json for every R below m->ntasks (the
 * header fields are the caller's). Returns 0, or the first rank's error
 * (the message names the rank); m->ranks is then NULL.
 */
int manifest_collect(const char *dir, struct snap_manifest *m, char *err,
		     size_t errlen);

/*
 * Writes m as dir/manifest.json: a temporary file, fsync, rename, fsync
 * of dir. Checks m first as manifest_read() would. Returns 0 or -errno
 * with a message.
 */
int manifest_write(const char *dir, const struct snap_manifest *m, char *err,
		   size_t errlen);

/*
 * Reads dir/manifest.json into m (m->ranks malloc'd, freed with
 * manifest_free()). Checks everything: format and version, every field's
 * type and range, one entry per rank in order, the file names. Does not
 * open the rank files (manifest_verify() does). Returns 0, -ENOENT (no
 * manifest: not a complete snapshot) or -EINVAL, with a message naming
 * the file and the field; m is then empty.
 */
int manifest_read(const char *dir, struct snap_manifest *m, char *err,
		  size_t errlen);

/*
 * Checks every rank file of m in dir: sizes, and checksums when hash is
 * set. Returns 0 or the first failure of snap_file_verify(), the message
 * naming the rank.
 */
int manifest_verify(const char *dir, const struct snap_manifest *m, int hash,
		    char *err, size_t errlen);

/* Total bytes of data in m's rank files (a memory file's stored bytes). */
uint64_t manifest_bytes(const struct snap_manifest *m);

/* Frees m->ranks; m can be reused. Freeing an empty m does nothing. */
void manifest_free(struct snap_manifest *m);

/*
 * Parses a manifest (or with rank_only, one rank entry into m->ranks[0],
 * ntasks 1) from text: the pure core of manifest_read(), for tests and
 * fuzzing. source names the text in messages. Returns 0 or -EINVAL.
 */
int manifest_parse(const char *text, size_t len, int rank_only,
		   const char *source, struct snap_manifest *m, char *err,
		   size_t errlen);

#endif
