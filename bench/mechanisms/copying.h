// SPDX-License-Identifier: MIT
// What the copying mechanisms (pipe, Unix socket, POSIX and System V message
// queues, Boost.Interprocess) have in common: the sender fills a local
// buffer and the mechanism copies it out; the receiver has it copied into
// another local buffer and reads it there. Each mechanism supplies only a
// Transport that moves n bytes:
//   void connect();  void close();
//   void send(uint8_t* p, size_t n);     may scribble on p[-8, 0) and restore it
//   void receive(uint8_t* p, size_t n);
//   size_t tailroom() const;             bytes past p[n] the transport may be told about
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "../util.h"

namespace bench {

// A local message buffer: 64-byte aligned, with room before it (System V's
// mtype goes there) and after it, all touched once so that no page fault
// lands in a measurement.
class MessageBuffer {
public:
    static constexpr size_t kHeadroom = 64;
    MessageBuffer(size_t n, size_t tailroom) : bytes_(kHeadroom + (n + tailroom + 63) / 64 * 64) {
        base_ = static_cast<uint8_t*>(std::aligned_alloc(64, bytes_));
        if (!base_) throw Error("out of memory for a message buffer");
        std::memset(base_, 0, bytes_);
    }
    ~MessageBuffer() { std::free(base_); }
    MessageBuffer(const MessageBuffer&) = delete;
    MessageBuffer& operator=(const MessageBuffer&) = delete;
    uint8_t* data() const { return base_ + kHeadroom; }

private:
    size_t bytes_;
    uint8_t* base_;
};

template <class Transport>
class CopyingChannel {
public:
    CopyingChannel(Transport t, size_t n) : t_(std::move(t)), out_(n, t_.tailroom()), in_(n, t_.tailroom()) {}
    void connect() { t_.connect(); }
    void* begin_send(size_t) { return out_.data(); }
    void end_send(size_t n) { t_.send(out_.data(), n); }
    const void* receive(size_t n) {
        t_.receive(in_.data(), n);
        return in_.data();
    }
    void end_receive() {}
    void close() { t_.close(); }

private:
    Transport t_;
    MessageBuffer out_, in_;
};

// Calls f(pointer, length) for consecutive pieces of at most `chunk` bytes:
// how a message larger than a queue's message size limit travels.
template <class F>
void for_each_chunk(uint8_t* p, size_t n, size_t chunk, F f) {
    for (size_t off = 0; off < n; off += chunk) f(p + off, std::min(chunk, n - off));
}

// Reads a number from a /proc/sys file; `fallback` when unreadable.
long read_proc_long(const char* path, long fallback);

}  // namespace bench
