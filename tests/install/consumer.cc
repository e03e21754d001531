// SPDX-License-Identifier: MIT
// The consumer of consumer.c, compiled as C++: the header must serve both.
#include "consumer.c"
