/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pinning: vCPU i's host thread goes to the i-th PU of the task's cpuset
 * (wrapping when there are more vCPUs than PUs), QEMU's other threads stay
 * in the task's cpuset, guest memory goes to the NUMA nodes of those PUs.
 * pin_plan_make() is pure given a topology, and tested on recorded ones.
 */
#ifndef SLURM_VM_PIN_H
#define SLURM_VM_PIN_H

#include <stddef.h>
#include <sys/types.h>

#include <hwloc.h>

#define PIN_MAX_VCPUS 1024

struct pin_plan {
	unsigned nvcpus;
	unsigned vcpu_pu[PIN_MAX_VCPUS]; /* OS index of vCPU i's PU */
	hwloc_bitmap_t cpuset;		 /* the task's PUs in the topology */
	hwloc_bitmap_t nodeset;		 /* their NUMA nodes */
};

/*
 * Plans nvcpus vCPUs on the PUs of task_cpuset. Returns 0, or -EINVAL with
 * a message in err when the cpuset holds no PU of the topology or nvcpus
 * is out of range, -ENOMEM. Free with pin_plan_free().
 */
int pin_plan_make(hwloc_topology_t topo, hwloc_const_bitmap_t task_cpuset,
		  unsigned nvcpus, struct pin_plan *p, char *err,
		  size_t errlen);
void pin_plan_free(struct pin_plan *p);

/* "vcpu0=pu2 vcpu1=pu3 mem=numa0" */
void pin_plan_format(const struct pin_plan *p, char *buf, size_t len);

/*
 * Binds thread tid[i] (vCPU i) to its PU. Returns 0, or -errno with the
 * failing call, thread and PU in err.
 */
int pin_apply(hwloc_topology_t topo, const struct pin_plan *p, const pid_t *tid,
	      unsigned n, char *err, size_t errlen);

/* Sets the calling process's memory policy to the plan's nodes (inherited
 * by QEMU across exec). Returns 0 or -errno. */
int pin_membind(hwloc_topology_t topo, const struct pin_plan *p);

/*
 * Loads this node's topology (*topo, destroy it with
 * hwloc_topology_destroy()), plans nvcpus vCPUs on the CPUs this process
 * is bound to (Slurm's binding of the task) and binds memory accordingly.
 * Returns 0 or -errno with a message in err; on failure *topo is NULL.
 */
int pin_prepare(hwloc_topology_t *topo, struct pin_plan *p, unsigned nvcpus,
		char *err, size_t errlen);

#endif
