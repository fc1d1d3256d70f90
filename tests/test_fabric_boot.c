/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Address cards: format, parse, and refusal of malformed text. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "fabric/boot.h"
#include "tap.h"

int main(void)
{
	struct boot_card c = {.node = "n1",
			      .addr = "10.77.0.11",
			      .port = 4242,
			      .tag = 0x0123456789abcdefULL},
			 back;
	char text[BOOT_CARD_TEXT_MAX + 2], bad[BOOT_CARD_TEXT_MAX + 2];
	int i;

	for (i = 0; i < BOOT_SECRET_LEN; i++)
		c.secret[i] = (uint8_t)(i * 7 + 1);
	ok(boot_card_format(&c, text, sizeof(text)) > 0, "a card formats: %s",
	   text);
	ok(boot_card_parse(text, &back) == 0 && !strcmp(back.node, "n1") &&
	       !strcmp(back.addr, "10.77.0.11") && back.port == 4242 &&
	       back.tag == 0x0123456789abcdefULL &&
	       !memcmp(back.secret, c.secret, BOOT_SECRET_LEN),
	   "and parses back to the same card");
	ok(boot_card_parse("v1 n1 1.2.3.4 5 00", &back) == -EPROTO,
	   "another version is refused");
	ok(boot_card_parse("v2 n1 1.2.3.4 0 0123456789abcdef 00", &back) ==
	       -EPROTO,
	   "port 0 is refused");
	strcpy(bad, text);
	strcat(bad, " ");
	ok(boot_card_parse(bad, &back) == -EPROTO,
	   "trailing bytes are refused");
	snprintf(bad, sizeof(bad), "%.*s", (int)strlen(text) - 1, text);
	ok(boot_card_parse(bad, &back) == -EPROTO, "a short secret is refused");
	memcpy(bad, text, sizeof(bad));
	bad[strlen(bad) - 1] = 'g';
	ok(boot_card_parse(bad, &back) == -EPROTO,
	   "a non-hex secret is refused");
	ok(boot_card_parse("v2 n1 1.2.3.4 5 0123456789abcdeg 00", &back) ==
	       -EPROTO,
	   "a tag that is not 16 hex digits is refused");
	ok(boot_card_parse("v2 n1  1.2.3.4 5 00", &back) == -EPROTO,
	   "an empty field is refused");
	memset(bad, 'x', sizeof(bad) - 1);
	bad[sizeof(bad) - 1] = 0;
	memcpy(bad, "v2 ", 3);
	ok(boot_card_parse(bad, &back) == -EPROTO,
	   "an overlong node is refused");
	return done_testing();
}
