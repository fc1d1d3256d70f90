/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <hwloc.h>

#include "launcher/boot/pin.h"

int pin_plan_make(hwloc_topology_t topo, hwloc_const_bitmap_t task_cpuset,
		  unsigned nvcpus, struct pin_plan *p, char *err, size_t errlen)
{
	hwloc_obj_t pu = NULL;
	unsigned pus[PIN_MAX_VCPUS], n = 0, i;

	memset(p, 0, sizeof(*p));
	if (nvcpus < 1 || nvcpus > PIN_MAX_VCPUS) {
		snprintf(err, errlen, "%u vCPUs: pinning handles 1 to %u",
			 nvcpus, PIN_MAX_VCPUS);
		return -EINVAL;
	}
	p->cpuset = hwloc_bitmap_alloc();
	p->nodeset = hwloc_bitmap_alloc();
	if (!p->cpuset || !p->nodeset) {
		pin_plan_free(p);
		return -ENOMEM;
	}
	/* PUs in logical order: siblings of a core stay next to each other. */
	while ((pu = hwloc_get_next_obj_inside_cpuset_by_type(
		    topo, task_cpuset, HWLOC_OBJ_PU, pu)) &&
	       n < PIN_MAX_VCPUS) {
		pus[n++] = pu->os_index;
		hwloc_bitmap_set(p->cpuset, pu->os_index);
	}
	if (!n) {
		char set[256];

		hwloc_bitmap_list_snprintf(set, sizeof(set), task_cpuset);
		snprintf(err, errlen,
			 "the task's CPUs (%s) are not in this node's topology",
			 set);
		pin_plan_free(p);
		return -EINVAL;
	}
	hwloc_cpuset_to_nodeset(topo, p->cpuset, p->nodeset);
	p->nvcpus = nvcpus;
	for (i = 0; i < nvcpus; i++)
		p->vcpu_pu[i] = pus[i % n];
	return 0;
}

void pin_plan_free(struct pin_plan *p)
{
	hwloc_bitmap_free(p->cpuset);
	hwloc_bitmap_free(p->nodeset);
	p->cpuset = p->nodeset = NULL;
}

void pin_plan_format(const struct pin_plan *p, char *buf, size_t len)
{
	size_t used = 0;
	unsigned i;

	buf[0] = 0;
	for (i = 0; i < p->nvcpus && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "vcpu%u=pu%u ",
					 i, p->vcpu_pu[i]);
	if (used < len) {
		used += (size_t)snprintf(buf + used, len - used, "mem=numa");
		if (used < len)
			hwloc_bitmap_list_snprintf(buf + used, len - used,
						   p->nodeset);
	}
}

int pin_apply(hwloc_topology_t topo, const struct pin_plan *p, const pid_t *tid,
	      unsigned n, char *err, size_t errlen)
{
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	unsigned i;
	int r = 0;

	if (!set)
		return -ENOMEM;
	for (i = 0; i < n && i < p->nvcpus; i++) {
		hwloc_bitmap_only(set, p->vcpu_pu[i]);
		if (hwloc_set_proc_cpubind(topo, tid[i], set,
					   HWLOC_CPUBIND_THREAD) < 0) {
			r = -errno;
			snprintf(err, errlen,
				 "hwloc_set_proc_cpubind(thread %d of vCPU %u, "
				 "PU %u): %s",
				 (int)tid[i], i, p->vcpu_pu[i],
				 strerror(errno));
			break;
		}
	}
	hwloc_bitmap_free(set);
	return r;
}

int pin_prepare(hwloc_topology_t *topo, struct pin_plan *p, unsigned nvcpus,
		char *err, size_t errlen)
{
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	int r = -ENOMEM;

	*topo = NULL;
	if (!set || hwloc_topology_init(topo) < 0)
		goto out;
	if (hwloc_topology_load(*topo) < 0) {
		r = -errno;
		snprintf(err, errlen, "hwloc_topology_load: %s",
			 strerror(errno));
		goto out;
	}
	if (hwloc_get_cpubind(*topo, set, HWLOC_CPUBIND_PROCESS) < 0) {
		r = -errno;
		snprintf(err, errlen, "hwloc_get_cpubind: %s", strerror(errno));
		goto out;
	}
	r = pin_plan_make(*topo, set, nvcpus, p, err, errlen);
	if (r < 0)
		goto out;
	r = pin_membind(*topo, p);
	if (r < 0) {
		snprintf(err, errlen, "hwloc_set_membind: %s", strerror(-r));
		pin_plan_free(p);
	}
out:
	hwloc_bitmap_free(set);
	if (r < 0 && *topo) {
		hwloc_topology_destroy(*topo);
		*topo = NULL;
	}
	return r;
}

int pin_membind(hwloc_topology_t topo, const struct pin_plan *p)
{
	/* One NUMA node in the whole machine: nothing to choose. */
	if (hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE) <= 1)
		return 0;
	if (hwloc_set_membind(topo, p->nodeset, HWLOC_MEMBIND_BIND,
			      HWLOC_MEMBIND_PROCESS | HWLOC_MEMBIND_BYNODESET) <
	    0)
		return -errno;
	return 0;
}
