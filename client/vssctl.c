/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssctl.c - the command-line requester: vssadmin and diskshadow verbs on vssd's D-Bus API */
#include "client/vssctl-verbs.h"
#include "common/log.h"

int main(int argc, char *argv[])
{
	log_set_prefix("vssctl: "); /* plain text for people, no <N> level marks */
	return vssctl_main(argc, argv, stdout, stderr);
}
