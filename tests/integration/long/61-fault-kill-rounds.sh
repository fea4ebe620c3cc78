#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 61-fault-kill-rounds.sh - make check-long only: lib-fault-kill.sh with every kill point three
# times (TEST_FAULT_ROUNDS), the creation points of the later rounds on one volume
TEST_FAULT_ROUNDS=${TEST_FAULT_ROUNDS:-3}
export TEST_FAULT_ROUNDS
exec /bin/sh "${0%/*}/../lib-fault-kill.sh"
