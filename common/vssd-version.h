/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssd-version.h - the version that vssd and vssctl report */
#pragma once

#define VSSD_VERSION "0.1"
