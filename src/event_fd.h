// SPDX-License-Identifier: MIT
// An endpoint's file descriptor for event loops (hsipc_endpoint_fd): a Unix
// datagram socket named in the shm directory beside the region, with the
// region's mode and group. A receiver "arms" it before it waits in epoll;
// the first sender to find it armed sends it one datagram, so the fd
// becomes readable. Unarmed, nothing changes: no sender makes a system call.
//
// Why a socket: it is the one kernel object another process can make
// readable by name, with file permissions deciding who may (an eventfd can
// only be reached by passing its descriptor over a socket first), and the
// kernel drops it when its process dies. See docs/region-format.md,
// "Waiting", for the protocol and its races.
#pragma once

#include <cstdint>
#include <string>

#include "region.h"

namespace hsipc {

// Bits of EndpointSlot::wake_socket, written by the receiver only.
enum WakeSocketState : uint32_t {
    kWakeSocketBound = 1,  // a socket file may exist for this incarnation
    kWakeSocketArmed = 2,  // the receiver armed it and has not polled since
};

// "/dev/shm/hsipc.NAME@INODE.": the start of every wake socket name of the
// region object with that inode. Names cannot hold '@', so one region's
// sockets never match another's prefix.
std::string wake_path_prefix(const char* region_name, uint64_t object_ino);

// hsipc_endpoint_fd: makes the socket at the first call.
int endpoint_fd(Endpoint& ep, int* fd);

// hsipc_endpoint_arm: HSIPC_OK armed, 1 where a message already waits.
int endpoint_arm(Endpoint& ep);

// Undoes an arm before the receiver polls: every poll call starts here when
// ep.armed. Takes what a sender sent meanwhile, so the fd is not left
// readable (one system call, only then).
void endpoint_disarm(Endpoint& ep);

// Sender side, where wake_if_sleeping (wait.h) found the receiver of
// endpoint slot `index` armed.
void signal_wake_socket(Region& r, uint32_t index);

// Closes the endpoint's socket (its owner closes the endpoint).
void close_endpoint_fd(Endpoint& ep);

// Under the region lock, as endpoint slot `index` closes: removes the
// socket's name, whoever owned it.
void remove_wake_socket_locked(Region& r, uint32_t index, uint32_t gen);

// After a reap found dead processes: a sender may have died between its
// publish and its wake. Wakes every receiver asleep in a poll or armed.
void wake_waiting_receivers(Region& r);

// Closes the socket the handle sends wake-ups from (at detach).
void close_wake_sender(Region& r);

// Removes wake socket files of any incarnation of region `name` whose
// sockets have closed, and private directories a process died in while it
// made one (with the region's name: hsipc_unlink).
void remove_abandoned_wake_sockets(const char* region_name);

}  // namespace hsipc
