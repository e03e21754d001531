// SPDX-License-Identifier: MIT
// hsipc: create, list, inspect, remove and reap hsipc regions, as ipcmk,
// ipcs and ipcrm do for System V IPC. Uses only the public API (and
// /dev/shm to list names and to tell how much space is free there, and to
// remove what stopped hsipc-bridge processes left of a region there).
//
// Exit status: 0 success, 1 failure (message on stderr), 2 bad usage.
#include <dirent.h>
#include <fcntl.h>
#include <hsipc.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr const char* kShmDir = "/dev/shm";
constexpr const char* kPrefix = "hsipc.";

const char* const kUsage =
    "usage: hsipc COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  create NAME [--config FILE]  create region NAME (defaults, or FILE)\n"
    "  ls [--json]                  list the regions on this machine\n"
    "  stat NAME [--json]           configuration, pools, endpoints and topics of NAME\n"
    "  rm NAME...                   remove regions (attached processes keep working)\n"
    "  reap NAME                    reclaim what dead processes held in NAME\n"
    "  bench [ARGS]                 the quick benchmark (hsipc_bench --quick ARGS)\n"
    "\n"
    "  hsipc COMMAND --help         help on one command;  hsipc --version\n";

struct Options {
    bool json = false;
    std::string config;  // create --config FILE
};

struct Command {
    const char* name;
    const char* help;
    int (*run)(const std::vector<std::string>& args, const Options& options);
};

int usage_error(const char* message) {
    std::fprintf(stderr, "hsipc: %s\n%s", message, kUsage);
    return 2;
}

// HSIPC_ESYS alone ("operating-system error; errno holds it") hides the
// cause: say what errno said. `err` is errno as the failing call left it.
int fail(const std::string& what, int status, int err = 0) {
    if (status == HSIPC_ESYS && err != 0) {
        std::fprintf(stderr, "hsipc: %s: %s\n", what.c_str(), std::strerror(err));
    } else {
        std::fprintf(stderr, "hsipc: %s: %s\n", what.c_str(), hsipc_strerror(status));
    }
    return 1;
}

// A JSON string literal.
std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += char(c);
        }
    }
    return out + "\"";
}

std::string user_name(uid_t uid) {
    struct passwd* pw = getpwuid(uid);
    return pw ? pw->pw_name : std::to_string(uid);
}

// ---- create ---------------------------------------------------------------

std::string human_size(uint64_t bytes) {
    char buf[32];
    if (bytes >= (1ull << 30)) {
        std::snprintf(buf, sizeof buf, "%.1f GiB", double(bytes) / double(1ull << 30));
    } else {
        std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / double(1ull << 20));
    }
    return buf;
}

// A full /dev/shm is the usual reason a region cannot be made (a Docker
// container's 64 MiB holds one default region of about 50 MB). Say how big
// the region is beside what is free. The region's exact size is the
// library's business; its buffers alone are a lower bound.
void explain_no_space(const hsipc_config& cfg) {
    uint64_t buffers = 0;
    for (uint32_t p = 0; p < cfg.pool_count; p++) buffers += cfg.pools[p].buffer_size * cfg.pools[p].buffer_count;
    std::fprintf(stderr, "hsipc: the region needs more than %s (%llu bytes of buffers alone)", human_size(buffers).c_str(),
                 (unsigned long long)buffers);
    struct statvfs vfs;
    if (statvfs(kShmDir, &vfs) == 0) {
        std::fprintf(stderr, "; %s has %s free", kShmDir, human_size(uint64_t(vfs.f_bavail) * vfs.f_frsize).c_str());
    }
    std::fprintf(stderr, ".\nhsipc: remove unused regions (hsipc ls, hsipc rm NAME), enlarge %s, or configure\n"
                 "       fewer or smaller buffers.\n", kShmDir);
}

int cmd_create(const std::vector<std::string>& args, const Options& options) {
    if (args.size() != 1) return usage_error("create takes one region name");
    const std::string& name = args[0];
    // The configuration hsipc_attach would use, made here so that a
    // failure can say what it asked for.
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    const char* env = std::getenv("HSIPC_CONFIG");
    std::string file = !options.config.empty() ? options.config : env && *env ? env : "";
    if (!file.empty()) {
        int rc = hsipc_config_load(&cfg, file.c_str());
        if (rc != HSIPC_OK) return fail(file, rc, errno);
    }
    hsipc_region* r;
    if (hsipc_attach_existing(name.c_str(), &r) == HSIPC_OK) {
        hsipc_detach(r);
        std::fprintf(stderr, "hsipc: %s: the region exists already (hsipc rm %s first to reconfigure it)\n",
                     name.c_str(), name.c_str());
        return 1;
    }
    int rc = hsipc_attach(name.c_str(), &cfg, &r);
    if (rc != HSIPC_OK) {
        int err = errno;
        fail(name, rc, err);
        if (rc == HSIPC_ESYS && err == ENOSPC) explain_no_space(cfg);
        return 1;
    }
    hsipc_detach(r);  // the region stays until hsipc rm
    return 0;
}

// ---- ls -----------------------------------------------------------------

struct Listing {
    std::string name;
    uint64_t bytes;
    unsigned mode;
    std::string owner;
};

int cmd_ls(const std::vector<std::string>& args, const Options& options) {
    const bool json = options.json;
    if (!args.empty()) return usage_error("ls takes no arguments");
    DIR* dir = opendir(kShmDir);
    if (!dir) {
        std::fprintf(stderr, "hsipc: %s: %s\n", kShmDir, std::strerror(errno));
        return 1;
    }
    std::vector<Listing> regions;
    while (struct dirent* d = readdir(dir)) {
        if (std::strncmp(d->d_name, kPrefix, std::strlen(kPrefix)) != 0) continue;
        struct stat st;
        std::string path = std::string(kShmDir) + "/" + d->d_name;
        if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        regions.push_back({d->d_name + std::strlen(kPrefix), uint64_t(st.st_size), unsigned(st.st_mode & 07777),
                           user_name(st.st_uid)});
    }
    closedir(dir);
    if (json) {
        std::printf("[");
        for (size_t i = 0; i < regions.size(); i++) {
            const Listing& r = regions[i];
            std::printf("%s{\"name\":%s,\"bytes\":%llu,\"mode\":\"%04o\",\"owner\":%s}", i ? "," : "",
                        quoted(r.name).c_str(), (unsigned long long)r.bytes, r.mode, quoted(r.owner).c_str());
        }
        std::printf("]\n");
        return 0;
    }
    std::printf("%-32s %12s %6s %s\n", "NAME", "BYTES", "MODE", "OWNER");
    for (const Listing& r : regions) {
        std::printf("%-32s %12llu %6o %s\n", r.name.c_str(), (unsigned long long)r.bytes, r.mode, r.owner.c_str());
    }
    return 0;
}

// ---- stat ---------------------------------------------------------------

// "50 us", "1.5 ms": nanoseconds in the largest unit they reach.
std::string human_duration(int64_t ns) {
    static const struct {
        int64_t ns;
        const char* name;
    } units[] = {{1000000000, "s"}, {1000000, "ms"}, {1000, "us"}, {1, "ns"}};
    char buf[32];
    for (const auto& u : units) {
        if (ns >= u.ns || u.ns == 1) {
            std::snprintf(buf, sizeof buf, "%g %s", double(ns) / double(u.ns), u.name);
            break;
        }
    }
    return buf;
}

// The name of endpoint `id` among those listed, or the id in decimal (an
// endpoint that opened after the list was taken).
std::string endpoint_name(const std::vector<hsipc_endpoint_info>& endpoints, hsipc_id id) {
    for (const hsipc_endpoint_info& e : endpoints) {
        if (e.id == id) return e.name;
    }
    return std::to_string(id);
}

int cmd_stat(const std::vector<std::string>& args, const Options& options) {
    const bool json = options.json;
    if (args.size() != 1) return usage_error("stat takes one region name");
    const std::string& name = args[0];
    hsipc_region* r;
    int rc = hsipc_attach_existing(name.c_str(), &r);
    if (rc != HSIPC_OK) return fail(name, rc, errno);
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    rc = hsipc_region_config(r, &cfg);
    int err = 0;
    std::vector<hsipc_pool_stats> pools(cfg.pool_count);
    for (uint32_t p = 0; rc == HSIPC_OK && p < cfg.pool_count; p++) {
        pools[p].struct_size = sizeof pools[p];
        rc = hsipc_region_pool_stats(r, p, &pools[p]);
    }
    std::vector<hsipc_endpoint_info> endpoints;
    for (uint32_t slot = 0; rc == HSIPC_OK && slot < cfg.max_endpoints; slot++) {
        hsipc_endpoint_info info;
        info.struct_size = sizeof info;
        int e = hsipc_region_endpoint_info(r, slot, &info);
        if (e == HSIPC_OK) endpoints.push_back(info);
        if (e != HSIPC_OK && e != HSIPC_ENOENT) rc = e;
    }
    std::vector<hsipc_topic_info> topics;
    for (uint32_t slot = 0; rc == HSIPC_OK && slot < cfg.max_topics; slot++) {
        hsipc_topic_info info;
        info.struct_size = sizeof info;
        int e = hsipc_region_topic_info(r, slot, &info);
        if (e == HSIPC_OK) topics.push_back(info);
        if (e != HSIPC_OK && e != HSIPC_ENOENT) rc = e;
    }
    if (rc != HSIPC_OK) err = errno;  // before hsipc_detach can change it
    hsipc_detach(r);
    if (rc != HSIPC_OK) return fail(name, rc, err);

    if (json) {
        std::printf("{\"name\":%s,\"max_endpoints\":%u,\"inbox_capacity\":%u,\"mode\":\"%04o\","
                    "\"max_buffers_per_process\":%u,\"spin_ns\":%lld,\"max_topics\":%u,\"max_subscribers\":%u,"
                    "\"pools\":[",
                    quoted(name).c_str(), cfg.max_endpoints, cfg.inbox_capacity, cfg.mode, cfg.max_buffers_per_process,
                    (long long)cfg.spin_ns, cfg.max_topics, cfg.max_subscribers);
        for (size_t p = 0; p < pools.size(); p++) {
            std::printf("%s{\"buffer_size\":%llu,\"buffers\":%u,\"free\":%u,\"held\":%u,\"queued\":%u,\"shared\":%u}",
                        p ? "," : "", (unsigned long long)pools[p].buffer_size, pools[p].buffer_count,
                        pools[p].free_count, pools[p].held_count, pools[p].queued_count, pools[p].shared_count);
        }
        std::printf("],\"endpoints\":[");
        for (size_t i = 0; i < endpoints.size(); i++) {
            const hsipc_endpoint_info& e = endpoints[i];
            std::printf("%s{\"name\":%s,\"id\":%u,\"owner_pid\":%d,\"alive\":%s,\"queued\":%u}", i ? "," : "",
                        quoted(e.name).c_str(), e.id, e.owner_pid, e.owner_alive ? "true" : "false", e.queued);
        }
        std::printf("],\"topics\":[");
        for (size_t i = 0; i < topics.size(); i++) {
            const hsipc_topic_info& t = topics[i];
            std::printf("%s{\"name\":%s,\"id\":%u,\"subscribers\":[", i ? "," : "", quoted(t.name).c_str(), t.id);
            for (uint32_t s = 0; s < t.subscriber_count; s++) {
                std::printf("%s{\"id\":%u,\"name\":%s}", s ? "," : "", t.subscribers[s],
                            quoted(endpoint_name(endpoints, t.subscribers[s])).c_str());
            }
            std::printf("]}");
        }
        std::printf("]}\n");
        return 0;
    }
    std::printf("region %s\n", name.c_str());
    std::printf("  max_endpoints %u, inbox_capacity %u, mode %04o, max_buffers_per_process %u%s\n",
                cfg.max_endpoints, cfg.inbox_capacity, cfg.mode, cfg.max_buffers_per_process,
                cfg.max_buffers_per_process ? "" : " (no limit)");
    if (cfg.spin_ns > 0) {
        std::printf("  spin_ns %lld (%s spin before a waiting receiver sleeps)\n", (long long)cfg.spin_ns,
                    human_duration(cfg.spin_ns).c_str());
    } else {
        std::printf("  spin_ns 0 (a waiting receiver sleeps at once)\n");
    }
    if (cfg.max_topics > 0) {
        std::printf("  max_topics %u, max_subscribers %u\n", cfg.max_topics, cfg.max_subscribers);
    } else {
        std::printf("  max_topics 0 (no topics)\n");
    }
    std::printf("\n%12s %8s %8s %8s %8s %8s\n", "POOL SIZE", "BUFFERS", "FREE", "HELD", "QUEUED", "SHARED");
    for (const hsipc_pool_stats& p : pools) {
        std::printf("%12llu %8u %8u %8u %8u %8u\n", (unsigned long long)p.buffer_size, p.buffer_count, p.free_count,
                    p.held_count, p.queued_count, p.shared_count);
    }
    std::printf("\n%-32s %10s %8s %6s %7s\n", "ENDPOINT", "ID", "PID", "ALIVE", "QUEUED");
    for (const hsipc_endpoint_info& e : endpoints) {
        std::printf("%-32s %10u %8d %6s %7u\n", e.name, e.id, e.owner_pid, e.owner_alive ? "yes" : "no", e.queued);
    }
    if (!topics.empty()) {
        std::printf("\n%-32s %10s  %s\n", "TOPIC", "ID", "SUBSCRIBERS");
        for (const hsipc_topic_info& t : topics) {
            std::string subscribers;
            for (uint32_t s = 0; s < t.subscriber_count; s++) {
                subscribers += (s ? ", " : "") + endpoint_name(endpoints, t.subscribers[s]);
            }
            std::printf("%-32s %10u  %s\n", t.name, t.id, t.subscriber_count ? subscribers.c_str() : "(none)");
        }
    }
    return 0;
}

// ---- rm, reap, bench ------------------------------------------------------

// An hsipc-bridge host name: 1-31 of [A-Za-z0-9_-], no dot.
bool bridge_host_name(const std::string& s) {
    if (s.empty() || s.size() > 31) return false;
    for (char c : s) {
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

// hsipc-bridge keeps its counters in /dev/shm/hsipc-bridge.REGION.HOST
// (bridge/stats_page.h), and leaves them there when it stops, for
// `hsipc-bridge --stats`; they go with the region. A running bridge holds
// an OFD write lock on its file: that file stays, as the bridge keeps
// working. We remove a file while holding its lock, so a bridge starting
// at that moment either finds the name gone once it has the lock (and
// makes a new file) or waits for us. Host names have no dot, so region
// "a" never takes region "a.b"'s files.
void remove_stopped_bridges_files(const std::string& region) {
    const std::string prefix = "hsipc-bridge." + region + ".";
    std::vector<std::string> hosts;
    if (DIR* dir = opendir(kShmDir)) {
        while (struct dirent* d = readdir(dir)) {
            if (std::strncmp(d->d_name, prefix.c_str(), prefix.size()) != 0) continue;
            const std::string host = d->d_name + prefix.size();
            if (bridge_host_name(host)) hosts.push_back(host);
        }
        closedir(dir);
    }
    for (const std::string& host : hosts) {
        const std::string path = std::string(kShmDir) + "/" + prefix + host;
        const int fd = open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) continue;  // gone, or not ours to remove
        struct stat st;
        struct flock lock;
        std::memset(&lock, 0, sizeof lock);
        lock.l_type = F_WRLCK;
        lock.l_whence = SEEK_SET;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            if (fcntl(fd, F_OFD_SETLK, &lock) == 0) {
                unlink(path.c_str());
            } else if (errno == EAGAIN || errno == EACCES) {
                std::fprintf(stderr, "hsipc: %s: hsipc-bridge %s is running; its counters (%s) stay\n",
                             region.c_str(), host.c_str(), path.c_str());
            }
        }
        close(fd);
    }
}

int cmd_rm(const std::vector<std::string>& args, const Options&) {
    if (args.empty()) return usage_error("rm takes one or more region names");
    int status = 0;
    for (const std::string& name : args) {
        int rc = hsipc_unlink(name.c_str());
        const int err = errno;
        remove_stopped_bridges_files(name);  // also where the region itself was gone already
        if (rc != HSIPC_OK) status = fail(name, rc, err);
    }
    return status;
}

int cmd_reap(const std::vector<std::string>& args, const Options&) {
    if (args.size() != 1) return usage_error("reap takes one region name");
    hsipc_region* r;
    int rc = hsipc_attach_existing(args[0].c_str(), &r);
    if (rc != HSIPC_OK) return fail(args[0], rc, errno);
    int reaped = hsipc_reap(r);
    int err = errno;  // before hsipc_detach can change it
    hsipc_detach(r);
    if (reaped < 0) return fail(args[0], reaped, err);
    std::printf("reclaimed %d buffers and endpoints\n", reaped);
    return 0;
}

// The benchmark program: where the package installs it (libexec, see
// tools/CMakeLists.txt), beside this one, in the build tree layout
// (../bench/), then on PATH.
int cmd_bench(const std::vector<std::string>& args, const Options&) {
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    std::vector<std::string> candidates;
    if (n > 0) {
        self[n] = '\0';
        std::string dir(self);
        dir.erase(dir.rfind('/'));
        candidates = {dir + "/" HSIPC_BENCH_FROM_BINDIR, dir + "/hsipc_bench", dir + "/../bench/hsipc_bench"};
    }
    std::vector<std::string> argv_strings = {"hsipc_bench", "--quick"};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& s : argv_strings) argv.push_back(&s[0]);
    argv.push_back(nullptr);
    for (const std::string& path : candidates) {
        if (access(path.c_str(), X_OK) == 0) execv(path.c_str(), argv.data());
    }
    execvp("hsipc_bench", argv.data());
    std::fprintf(stderr, "hsipc: bench: hsipc_bench is not installed (it is in the hsipc-tools package; in a\n"
                         "       source tree, build the hsipc_bench target)\n");
    return 1;
}

const Command kCommands[] = {
    {"create",
     "usage: hsipc create NAME [--config FILE]\n  Creates region NAME from the defaults overlaid with the stored\n"
     "  configuration FILE (or the file HSIPC_CONFIG names), as the first\n"
     "  hsipc_attach would; the region stays until hsipc rm. An existing region\n"
     "  is an error (exit 1): its configuration cannot change.\n",
     cmd_create},
    {"ls", "usage: hsipc ls [--json]\n  Lists the regions in /dev/shm: name, size, mode and owner.\n", cmd_ls},
    {"stat",
     "usage: hsipc stat NAME [--json]\n  Shows region NAME's configuration, each pool's free, held, queued and\n"
     "  shared buffers, each endpoint with its owner's pid, liveness and queue,\n"
     "  and each topic with its subscribers.\n"
     "  Never creates the region: a missing one is an error (exit 1).\n",
     cmd_stat},
    {"rm",
     "usage: hsipc rm NAME...\n  Removes the regions' names; attached processes keep working. Also removes\n"
     "  the counters that stopped hsipc-bridge processes left for each region\n"
     "  (/dev/shm/hsipc-bridge.NAME.HOST; a running bridge's stay).\n",
     cmd_rm},
    {"reap",
     "usage: hsipc reap NAME\n  Returns to the pools what dead processes held in region NAME, frees\n"
     "  their endpoint names, and prints how much it reclaimed.\n",
     cmd_reap},
    {"bench",
     "usage: hsipc bench [ARGS]\n  Runs the quick benchmark, hsipc against pipes, sockets and message\n"
     "  queues: hsipc_bench --quick ARGS (under a minute). ARGS are hsipc_bench's\n"
     "  options, e.g. --sizes 64,4K --modes rt --no-plot, or --list.\n",
     cmd_bench},
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage_error("missing command");
    std::string command = argv[1];
    if (command == "--help" || command == "-h" || command == "help") {
        std::printf("%s", kUsage);
        return 0;
    }
    if (command == "--version") {
        uint32_t v = hsipc_version();
        std::printf("hsipc %u.%u.%u\n", v >> 16, (v >> 8) & 0xff, v & 0xff);
        return 0;
    }
    for (const Command& c : kCommands) {
        if (command != c.name) continue;
        std::vector<std::string> args;
        Options options;
        for (int i = 2; i < argc; i++) {
            std::string a = argv[i];
            if (a == "--help" || a == "-h") {
                std::printf("%s", c.help);
                return 0;
            }
            if (a == "--json" && (command == "ls" || command == "stat")) {
                options.json = true;
            } else if (a == "--config" && command == "create") {
                if (i + 1 == argc) return usage_error("--config needs a file");
                options.config = argv[++i];
            } else if (a.size() > 1 && a[0] == '-' && command != "bench") {
                return usage_error(("unknown option " + a).c_str());
            } else {
                args.push_back(a);
            }
        }
        return c.run(args, options);
    }
    return usage_error(("unknown command " + command).c_str());
}
