/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The guest agent's end of its channel: the virtio-serial port by name. */
#ifndef SLURM_VM_AGENT_PORT_H
#define SLURM_VM_AGENT_PORT_H

/* Returns an open fd on the port named AGENT_PORT_NAME (agent_proto.h),
 * or -1 after about 30 s without one. */
int agent_open_port(void);

#endif
