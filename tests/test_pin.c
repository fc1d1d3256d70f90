/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pin plans on the recorded topologies in tests/topo, golden outputs. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hwloc.h>

#include "launcher/boot/pin.h"
#include "tap.h"

struct golden {
	const char *topo, *cpuset;
	unsigned nvcpus;
	const char *want; /* NULL: refused */
};

static const struct golden cases[] = {
    /* one socket, 8 cores, no SMT */
    {"pack1-numa-core8-pu1", "2-3", 2, "vcpu0=pu2 vcpu1=pu3 mem=numa0"},
    {"pack1-numa-core8-pu1", "5", 2, "vcpu0=pu5 vcpu1=pu5 mem=numa0"},
    /* two sockets with SMT, a NUMA node each */
    {"pack2-numa-core4-pu2", "6-9", 4,
     "vcpu0=pu6 vcpu1=pu7 vcpu2=pu8 vcpu3=pu9 mem=numa0-1"},
    {"pack2-numa-core4-pu2", "8-9", 1, "vcpu0=pu8 mem=numa1"},
    /* two sockets of two NUMA nodes each, SMT */
    {"pack2-group2-numa-core4-pu2", "16-17,24", 3,
     "vcpu0=pu16 vcpu1=pu17 vcpu2=pu24 mem=numa2-3"},
    /* four sockets, four NUMA nodes, no SMT */
    {"pack4-numa-l31-core6-pu1", "5-6", 2, "vcpu0=pu5 vcpu1=pu6 mem=numa0-1"},
    {"pack4-numa-l31-core6-pu1", "30", 1, NULL},
    /* this project's CI machine */
    {"host-2core", "1", 1, "vcpu0=pu1 mem=numa0"},
    {"host-2core", "0-1", 2, "vcpu0=pu0 vcpu1=pu1 mem=numa0"},
};

int main(void)
{
	const char *dir = getenv("top_srcdir");
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct golden *g = &cases[i];
		hwloc_topology_t topo;
		hwloc_bitmap_t set = hwloc_bitmap_alloc();
		struct pin_plan p;
		char path[512], got[512] = "", err[256] = "";
		int r;

		snprintf(path, sizeof(path), "%s/tests/topo/%s.xml",
			 dir ? dir : ".", g->topo);
		hwloc_topology_init(&topo);
		if (hwloc_topology_set_xml(topo, path) < 0 ||
		    hwloc_topology_load(topo) < 0) {
			ok(0, "load %s", path);
			continue;
		}
		hwloc_bitmap_list_sscanf(set, g->cpuset);
		r = pin_plan_make(topo, set, g->nvcpus, &p, err, sizeof(err));
		if (g->want) {
			if (r == 0)
				pin_plan_format(&p, got, sizeof(got));
			is_str(got, g->want, "%s, cpus %s, %u vCPUs", g->topo,
			       g->cpuset, g->nvcpus);
			pin_plan_free(&p);
		} else {
			ok(r < 0 && strstr(err, "not in this node's topology"),
			   "%s, cpus %s refused: %s", g->topo, g->cpuset, err);
		}
		hwloc_bitmap_free(set);
		hwloc_topology_destroy(topo);
	}
	return done_testing();
}
