#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 60-fault-kill-create-b.sh - vssd killed at the last five kill points of a set creation, then
# restarted: the set is rolled back whole, nothing held, no leak, data intact (lib-fault-kill.sh)
TEST_FAULT_CREATION_POINTS="kill-after-last-suspend kill-after-snapshots-resumed
kill-after-origins-resumed kill-after-commit kill-before-created-save"
TEST_FAULT_DELETE_POINTS= TEST_FAULT_GROW_POINTS= TEST_FAULT_NO_REVERT=1
export TEST_FAULT_CREATION_POINTS TEST_FAULT_DELETE_POINTS TEST_FAULT_GROW_POINTS TEST_FAULT_NO_REVERT
exec /bin/sh "${0%/*}/lib-fault-kill.sh"
