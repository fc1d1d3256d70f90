/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside the snapshot handler (snapshot.h), shared by its three parts:
 * snapshot.c (the handler and rank 0's coordination), snapshot_part.c
 * (this launcher's part, a state machine on the loop) and snapshot_save.c
 * (this rank's files: QEMU's device state, then the rest on a thread).
 */
#ifndef SLURM_VM_SNAPSHOT_INT_H
#define SLURM_VM_SNAPSHOT_INT_H

#include <pthread.h>
#include <stdint.h>

#include "launcher/snapdir/manifest.h"
#include "launcher/snapdir/snapdir.h"
#include "launcher/save/snapshot.h"

#define HOLD_MS 5000
#define CUT_MS 30000
#define WAIT_MS 600000 /* a save of big guests on slow disks */
#define MIGRATE_POLL_MS 10

/* This launcher's part in a snapshot. */
enum part_state {
	PART_IDLE,
	PART_PAUSED,	/* sent PAUSED; awaiting SAVE */
	PART_MIGRATING, /* QEMU writes the device state */
	PART_WRITING,	/* the writer thread writes the rest */
	PART_SAVED,	/* sent SAVED; awaiting DONE or ABORT */
};

/* This rank's files of one save. */
struct save {
	struct snap_rank r;
	char dir[4200];
	int dfd, vmstate_fd;
	long t0, t1;
	/* The writer thread: */
	pthread_t thread;
	int running, done_fd; /* eventfd, written once the thread ends */
	int stop;	      /* set by the loop: give up */
	int rc;
	char err[512];
};

struct snapshot {
	const struct launch_config *c;
	struct loop *loop;
	struct fabric *f;
	struct qmp *qmp;
	const struct vm *vm;
	struct snapshot_hooks h;
	struct loop_fd msgs;	/* the fabric's messages */
	struct loop_fd written; /* the writer thread's end */
	struct loop_timer wait; /* the state's time limit */
	struct loop_timer poll; /* query-migrate, while MIGRATING */
	uint32_t seq; /* the last snapshot started (rank 0) or joined */
	/* Rank 0: the snapshot under way. */
	uint32_t paused, saved, failed_rank;
	int failed; /* errno of the first failure, or -1 for a lost rank */
	uint64_t bytes;
	long t_cut, t_paused;
	char cut_time[40];
	int ending; /* this one saves the step Slurm is ending */
	/* Rank 0, --vm-snapshot-at=ready: the ranks whose agent is ready (a
	 * bit each), how many, and whether the save under way is that one. */
	uint8_t *ready_seen;
	uint32_t nready;
	int ready_started, ready_save;
	/* Rank 0, --vm-snapshot-at=fail: the ranks whose command ended or
	 * whose launcher was lost (a bit each), how many; the save at fail
	 * (started once, for the first failure: its rank and code); whether
	 * the waiting ranks were let go. */
	uint8_t *exit_seen;
	uint32_t nexited, fail_rank;
	int fail_started, fail_save, fail_code, released;
	/* This launcher: its command ended and rank 0 was told; it waits
	 * for rank 0's word (the save at fail, or being let go). */
	int exit_wait;
	/* This launcher's part. */
	enum part_state state;
	uint32_t part_seq;
	int guest_stopped; /* QMP stop worked: cont after */
	int stopped;	   /* the guest stays paused: it is to stop */
	int refuse;	   /* the step is being stopped: no more parts */
	int awaiting;	   /* told rank 0 READY; the save at ready is to come */
	int part_failed;   /* the last part (or the wait) did not complete */
	struct save save;
};

void snap_say(const struct snapshot *sn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void snap_partial_dir(const struct snapshot *sn, uint32_t seq, char *buf,
		      size_t len);
void snap_name_of(const struct snapshot *sn, uint32_t seq,
		  enum snap_state state, char *buf, size_t len);

/* A QMP command with no answer to keep (10 s). Returns 0 or -errno. */
int snap_qmp(struct snapshot *sn, const char *cmd, json_t *args, char *err,
	     size_t errlen);

/* snapshot.c: rank 0, a message of the snapshot under way. */
void snap_coordinate(struct snapshot *sn, const struct fabric_msg *m);

/* snapshot_fail.c: rank 0's side of the save at fail, before and after
 * each message (snap_coordinate); this launcher let go of its wait. */
void fail_note(struct snapshot *sn, const struct fabric_msg *m);
void fail_check(struct snapshot *sn);
void fail_released(struct snapshot *sn, const char *why);

/* snapshot_part.c: a message for this launcher's part; the writer ended;
 * a stop signal; the end; the wait for the save at ready given up. */
int part_create(struct snapshot *sn);
void part_on_msg(struct snapshot *sn, const struct fabric_msg *m);
void part_on_written(struct snapshot *sn);
void part_cancel(struct snapshot *sn);
void part_destroy(struct snapshot *sn);
void part_ready_failed(struct snapshot *sn, const char *why);

/* snapshot_save.c. save_begin: this rank's directory open, QEMU's
 * migration started (0, or -errno with err). save_migrated: QEMU is done
 * (1), not yet (0), or failed (-errno); save_write: the rest on the
 * thread, whose end makes done_fd readable; save_end: joins it, closes,
 * returns its result. save_remove: this rank's files of seq go. */
int save_begin(struct snapshot *sn, char *err, size_t errlen);
int save_migrated(struct snapshot *sn, char *err, size_t errlen);
int save_write(struct snapshot *sn, char *err, size_t errlen);
int save_end(struct snapshot *sn, char *err, size_t errlen);
void save_abandon(struct snapshot *sn);
/* Copies in (read from offset 0) or src into a new file dfd/name, synced,
 * stopping within a chunk once told to. 0 or -errno with err. */
int save_copy_fd(const struct save *v, int in, const char *name, char *err,
		 size_t errlen);
int save_copy_file(const struct save *v, const char *src, const char *name,
		   char *err, size_t errlen);
/* snapshot_disk.c: a restored guest's disk, made over the image again
 * (launch_config.h's restored_image). On the writer thread. */
int save_restored_disk(struct snapshot *sn, char *err, size_t errlen);
void save_remove(struct snapshot *sn, uint32_t seq);

#endif
