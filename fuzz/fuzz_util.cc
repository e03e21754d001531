// SPDX-License-Identifier: MIT
#include "fuzz_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace fuzz {
namespace {

// The write end of the pipe to the watchdog; -1 before it starts.
int g_watchdog_fd = -1;
std::vector<std::string>* g_names = new std::vector<std::string>();  // never freed: used at exit

void unlink_registered() {
    for (const std::string& name : *g_names) hsipc_unlink(name.c_str());
}

// The watchdog is a child that reads region names from a pipe until the
// pipe closes — which the kernel does when this process dies, however it
// dies — and then unlinks them. It uses only async-signal-safe calls and
// no memory allocation after fork.
[[noreturn]] void watchdog_main(int read_fd) {
    static char names[1 << 16];
    size_t used = 0;
    for (;;) {
        ssize_t n = read(read_fd, names + used, sizeof names - 1 - used);
        if (n > 0) {
            used += size_t(n);
            if (used == sizeof names - 1) break;  // full: no more names fit
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break;
    }
    names[used] = '\0';
    char path[128];
    const char prefix[] = "/dev/shm/hsipc.";
    for (char* line = names; *line;) {
        char* end = std::strchr(line, '\n');
        if (!end) break;  // a partial name was never registered
        size_t len = size_t(end - line);
        if (len + sizeof prefix <= sizeof path) {
            std::memcpy(path, prefix, sizeof prefix - 1);
            std::memcpy(path + sizeof prefix - 1, line, len);
            path[sizeof prefix - 1 + len] = '\0';
            unlink(path);
        }
        line = end + 1;
    }
    _exit(0);
}

void start_watchdog() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) fail("pipe2: %s", std::strerror(errno));
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) fail("fork: %s", std::strerror(errno));
    if (pid == 0) {
        // Its own session, so a ^C to the fuzzer's terminal does not kill
        // it before the fuzzer; no terminal output, so a CTest run does not
        // wait for it.
        setsid();
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        close(fds[1]);
        int null_fd = open("/dev/null", O_RDWR);
        if (null_fd >= 0) {
            dup2(null_fd, 0);
            dup2(null_fd, 1);
            dup2(null_fd, 2);
        }
        watchdog_main(fds[0]);
    }
    close(fds[0]);
    g_watchdog_fd = fds[1];
    std::atexit(unlink_registered);
}

}  // namespace

void fail(const char* format, ...) {
    std::fprintf(stderr, "fuzz: ");
    va_list ap;
    va_start(ap, format);
    std::vfprintf(stderr, format, ap);
    va_end(ap);
    std::fprintf(stderr, "\n");
    std::fflush(stderr);
    std::abort();
}

std::string vformat(const char* format, va_list ap) {
    char buf[2048];
    std::vsnprintf(buf, sizeof buf, format, ap);
    return buf;
}

std::string format(const char* format, ...) {
    va_list ap;
    va_start(ap, format);
    std::string s = vformat(format, ap);
    va_end(ap);
    return s;
}

std::string status_name(int status) {
#define FUZZ_STATUS_CASE_(name, value, sentence) \
    case value:                                  \
        return #name;
    switch (status) {
        HSIPC_STATUS_MAP(FUZZ_STATUS_CASE_)
        default:
            return "status " + std::to_string(status);
    }
#undef FUZZ_STATUS_CASE_
}

void expect_status(int rc, std::initializer_list<int> allowed, const char* call) {
    for (int a : allowed) {
        if (rc == a) return;
    }
    std::string list;
    for (int a : allowed) list += " " + status_name(a);
    fail("%s returned %s, which is not in its documented list:%s", call, status_name(rc).c_str(), list.c_str());
}

std::string unique_region_name(const char* tag) {
    static int counter = 0;
    std::string name = "fz-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" + tag;
    if (g_watchdog_fd < 0) start_watchdog();
    g_names->push_back(name);
    std::string line = name + "\n";
    if (write(g_watchdog_fd, line.data(), line.size()) != ssize_t(line.size())) {
        fail("cannot register %s with the watchdog", name.c_str());
    }
    return name;
}

hsipc_region* attach_or_die(const std::string& name, const hsipc_config& cfg) {
    hsipc_region* r = nullptr;
    int rc = hsipc_attach(name.c_str(), &cfg, &r);
    if (rc != HSIPC_OK) fail("hsipc_attach(%s): %s", name.c_str(), status_name(rc).c_str());
    return r;
}

Mapping map_object(const std::string& name) {
    std::string path = "/dev/shm/hsipc." + name;
    Mapping m;
    m.fd = open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (m.fd < 0) fail("open %s: %s", path.c_str(), std::strerror(errno));
    struct stat st;
    if (fstat(m.fd, &st) != 0) fail("fstat %s: %s", path.c_str(), std::strerror(errno));
    m.size = uint64_t(st.st_size);
    void* p = mmap(nullptr, size_t(m.size), PROT_READ | PROT_WRITE, MAP_SHARED, m.fd, 0);
    if (p == MAP_FAILED) fail("mmap %s: %s", path.c_str(), std::strerror(errno));
    m.base = static_cast<uint8_t*>(p);
    return m;
}

void run_dead_peer(const std::function<int()>& body) {
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) fail("fork: %s", std::strerror(errno));
    if (pid == 0) _exit(body());  // no detach, no atexit: as if killed
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) fail("waitpid: %s", std::strerror(errno));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("the dead peer's setup failed (status %d)", status);
}

bool in_mapping(hsipc_region* r, const void* p, uint64_t len) {
    const hsipc::Region& c = *core(r);
    auto a = reinterpret_cast<uintptr_t>(p);
    auto base = reinterpret_cast<uintptr_t>(c.base);
    return a >= base && a - base <= c.size && len <= c.size - (a - base);
}

const char* seed_dir() {
    const char* dir = std::getenv("HSIPC_FUZZ_WRITE_SEEDS");
    return dir && *dir ? dir : nullptr;
}

void write_seed(const char* dir, const std::string& file, const std::vector<uint8_t>& bytes) {
    std::string path = std::string(dir) + "/" + file;
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) {
        fail("cannot write %s", path.c_str());
    }
}

}  // namespace fuzz
