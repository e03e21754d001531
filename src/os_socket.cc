// SPDX-License-Identifier: MIT
// The OS layer's wake sockets (os.h): Unix datagram sockets named in the
// shm directory, through which a sender makes an endpoint's fd readable.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "os.h"

namespace hsipc::os {
namespace {

int errno_or(int fallback) { return errno != 0 ? errno : fallback; }

bool make_address(const char* path, sockaddr_un* addr, socklen_t* len) {
    const size_t n = strlen(path);
    if (n >= sizeof addr->sun_path) return false;
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    memcpy(addr->sun_path, path, n);
    *len = socklen_t(offsetof(sockaddr_un, sun_path) + n + 1);
    return true;
}

int datagram_socket(int* fd) {
    int f = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (f < 0) return errno_or(EIO);
    *fd = f;
    return 0;
}

// Binds fd in a new directory only we can enter, gives the socket file its
// mode and group there, and moves it to `path`: bind makes the file with
// umask's mode, which may let others in until a chmod, and nothing must be
// able to reach the socket by that name in between.
int bind_in_private_dir(int fd, const std::string& path, const std::string& private_dir_template, uint32_t mode,
                        uint32_t gid) {
    std::string dir = private_dir_template;
    if (!mkdtemp(dir.data())) return errno_or(EIO);  // mode 0700
    const std::string inner = dir + "/s";
    sockaddr_un addr;
    socklen_t len;
    int err = 0;
    if (!make_address(inner.c_str(), &addr, &len)) {
        err = ENAMETOOLONG;
    } else if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
        err = errno_or(EIO);
    } else if (chmod(inner.c_str(), mode_t(mode)) != 0) {
        err = errno_or(EIO);
    } else if (gid != getegid() && chown(inner.c_str(), uid_t(-1), gid_t(gid)) != 0) {
        err = errno_or(EIO);
    } else if (renameat2(AT_FDCWD, inner.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
        err = errno_or(EIO);
    }
    unlink(inner.c_str());  // where the move failed; ENOENT where it worked
    rmdir(dir.c_str());
    return err;
}

}  // namespace

int bind_wake_socket(const std::string& path, const std::string& private_dir_template, uint32_t mode, uint32_t gid,
                     int* fd) {
    sockaddr_un addr;
    socklen_t len;
    if (!make_address(path.c_str(), &addr, &len)) return ENAMETOOLONG;
    int f;
    int err = datagram_socket(&f);
    if (err != 0) return err;
    err = bind_in_private_dir(f, path, private_dir_template, mode, gid);
    if (err == EEXIST && socket_abandoned(path) && unlink(path.c_str()) == 0) {
        // A crashed receiver's leftover of the same name (only where the
        // region object was replaced by hand and its inode reused).
        err = bind_in_private_dir(f, path, private_dir_template, mode, gid);
    }
    if (err != 0) {
        close(f);
        return err;
    }
    *fd = f;
    return 0;
}

int open_wake_sender(int* fd) { return datagram_socket(fd); }

int send_wake(int sender_fd, const char* path) {
    sockaddr_un addr;
    socklen_t len;
    if (!make_address(path, &addr, &len)) return ENAMETOOLONG;
    const char byte = 0;
    ssize_t n;
    do {
        n = sendto(sender_fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), len);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? errno_or(EIO) : 0;
}

void drain_wake_socket(int fd) {
    // Usually one datagram waits, or none; a batch call takes up to 16 in
    // one system call, and only a flood (a hostile peer) needs more.
    char bytes[16];
    struct iovec iov[16];
    struct mmsghdr msgs[16];
    for (int i = 0; i < 16; i++) {
        iov[i] = {&bytes[i], 1};
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    for (int rounds = 0; rounds < 64; rounds++) {
        int n = recvmmsg(fd, msgs, 16, MSG_DONTWAIT, nullptr);
        if (n < 0 && errno == EINTR) continue;
        if (n < 16) return;
    }
}

bool socket_abandoned(const std::string& path) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
    sockaddr_un addr;
    socklen_t len;
    if (!make_address(path.c_str(), &addr, &len)) return false;
    int f;
    if (datagram_socket(&f) != 0) return false;
    // A bound socket accepts the association; a file whose socket has
    // closed refuses it.
    const bool refused = connect(f, reinterpret_cast<const sockaddr*>(&addr), len) != 0 && errno == ECONNREFUSED;
    close(f);
    return refused;
}

int list_shm_names(const std::string& prefix, std::vector<ShmEntry>* out) {
    const std::string shm_dir = shm_path("");
    DIR* dir = opendir(shm_dir.c_str());
    if (!dir) return errno_or(EIO);
    try {
        while (struct dirent* d = readdir(dir)) {
            if (strncmp(d->d_name, prefix.c_str(), prefix.size()) != 0) continue;
            const std::string path = shm_dir + d->d_name;
            struct stat st;
            if (lstat(path.c_str(), &st) != 0) continue;
            out->push_back({path, S_ISSOCK(st.st_mode), S_ISDIR(st.st_mode)});
        }
    } catch (...) {
        closedir(dir);
        return ENOMEM;
    }
    closedir(dir);
    return 0;
}

void remove_path(const std::string& path, bool is_dir) {
    if (is_dir) {
        rmdir(path.c_str());
    } else {
        unlink(path.c_str());
    }
}

}  // namespace hsipc::os
