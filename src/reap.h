// SPDX-License-Identifier: MIT
// Reclaiming what dead processes held.
#pragma once

#include "region.h"

namespace hsipc {

// Under the region lock. Returns the number of buffers and endpoints
// reclaimed, or a negative status.
int reap_locked(Region& r);

// Takes the region lock and reaps.
int reap(Region& r);

// Whether some process marked live has died, asked without the region
// lock: one system call per live process, none of the lock's. True on
// error, so the caller reaps (and reports) rather than miss a death.
bool anyone_dead(Region& r);

}  // namespace hsipc
