/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>

#include "fabric/be.h"
#include "fabric/ctl.h"

void fabric_ctl_pack(const struct fabric_ctl *c, uint8_t out[FABRIC_CTL_LEN])
{
	fabric_put_be32(out, FABRIC_CTL_TAG | c->type);
	fabric_put_be32(out + 4, c->seq);
	fabric_put_be32(out + 8, c->arg);
}

int fabric_rx_ctl(struct fabric_rx *rx, struct fabric_ctl *c)
{
	const uint8_t *p = rx->buf + rx->start;
	size_t have = rx->len - rx->start;
	uint32_t tag;

	if (have < 4)
		return 0;
	tag = fabric_get_be32(p);
	if ((tag & 0xffffff00u) != FABRIC_CTL_TAG)
		return 0;
	if ((tag & 0xff) < FABRIC_CTL_MARKER || (tag & 0xff) > FABRIC_CTL_LAST)
		return -EPROTO;
	if (have < FABRIC_CTL_LEN)
		return -EAGAIN;
	c->type = (uint8_t)(tag & 0xff);
	c->seq = fabric_get_be32(p + 4);
	c->arg = fabric_get_be32(p + 8);
	rx->start += FABRIC_CTL_LEN;
	return 1;
}
