#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 60-fault-kill-create-a.sh - vssd killed at the first five kill points of a set creation, then
# restarted: the set is rolled back whole, nothing held, no leak, data intact (lib-fault-kill.sh)
TEST_FAULT_CREATION_POINTS="kill-after-prepare-snapshot kill-after-tables-loaded
kill-after-writers-frozen kill-after-fs-frozen kill-after-first-suspend"
TEST_FAULT_DELETE_POINTS= TEST_FAULT_GROW_POINTS= TEST_FAULT_NO_REVERT=1
export TEST_FAULT_CREATION_POINTS TEST_FAULT_DELETE_POINTS TEST_FAULT_GROW_POINTS TEST_FAULT_NO_REVERT
exec /bin/sh "${0%/*}/lib-fault-kill.sh"
