#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 61-fault-kill-others.sh - vssd killed at the kill points of a deletion, of storage growth and
# of a revert, then restarted: the deletion is finished, the grown shadow copy stays valid, the
# revert is undone (table loaded) or runs to its end (mid-merge) (lib-fault-kill.sh)
TEST_FAULT_CREATION_POINTS=
export TEST_FAULT_CREATION_POINTS
exec /bin/sh "${0%/*}/lib-fault-kill.sh"
