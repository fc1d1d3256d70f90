/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The guest's last words for a session's error message (session.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "launcher/common/file_tail.h"
#include "launcher/session.h"

void session_console_tails(const struct vm *vm, char *err, size_t errlen)
{
	size_t n = strlen(err);
	char path[4200];

	snprintf(err + n, errlen - n, "\nlast console lines:\n");
	if (vm_console_path(vm, path, sizeof(path)) == 0)
		file_tail(path, 12, err, errlen);
	n = strlen(err);
	if (n + 40 < errlen &&
	    vm_path(vm, VM_QEMU_LOG, path, sizeof(path)) == 0) {
		char qemu[1024] = "";

		file_tail(path, 5, qemu, sizeof(qemu));
		if (qemu[0])
			snprintf(err + n, errlen - n, "\nQEMU said:\n%s", qemu);
	}
}
