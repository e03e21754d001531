// Reclaiming what dead processes held.
#pragma once

#include "region.h"

namespace hsipc {

// Under the region lock. Returns the number of buffers and endpoints
// reclaimed, or a negative status.
int reap_locked(Region& r);

// Takes the region lock and reaps.
int reap(Region& r);

}  // namespace hsipc
