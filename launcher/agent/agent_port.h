/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The agent's end of its channel: the virtio-serial port by its name. */
#ifndef SLURM_VM_AGENT_PORT_H
#define SLURM_VM_AGENT_PORT_H

/* Returns an open fd (close-on-exec) on the port named AGENT_PORT_NAME,
 * or -1 when none appeared within about 30 s. */
int open_port(void);

#endif
