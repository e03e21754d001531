/* hsipc demo: round-trip latency between two processes, hsipc against a pipe.
 *
 * The parent sends a message to a forked child, which reads every byte and
 * sends it straight back; the parent times each round trip. Three ways:
 * hsipc with both sides spinning on hsipc_poll(timeout 0), hsipc with both
 * sides sleeping in hsipc_poll until a message arrives, and a pair of pipes.
 *
 * Run it with scripts/demo.sh [--count N] [--size BYTES] [--region NAME].
 */
#define _GNU_SOURCE /* sched_setaffinity and CPU_SET; also gives POSIX 2008 */
#include <hsipc.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 1000              /* unmeasured round trips: fault in pages, warm caches */
#define MIN_SIZE 8               /* room for the sequence number */
#define MAX_SIZE (16u << 20)     /* the region holds a few buffers of this size */
#define MAX_COUNT 100000000L     /* 800 MB of latency samples */
#define SLICE_NS 100000000       /* blocking polls wake this often to see if the peer died */

enum mode { POLLING, BLOCKING };

struct options {
    long count;
    size_t size;
    char region[HSIPC_NAME_MAX + 1];
};

struct result {
    uint64_t min, p50, p99, p999; /* ns */
    double per_sec;               /* round trips per second */
};

/* Process state, global so that fail() can clean up from anywhere. */
static struct {
    int is_child;
    pid_t parent, child;      /* child is 0 once reaped (and always in the child) */
    hsipc_region *region;     /* this process's own attachment */
    const char *region_name;  /* set only in the parent, which unlinks the region */
} g;

/* Prints what failed and exits; the parent first kills and reaps the child
 * and removes the region, so an error leaves no process or object behind. */
_Noreturn static void fail(const char *what, const char *why) {
    fprintf(stderr, "demo%s: %s: %s\n", g.is_child ? " (child)" : "", what, why);
    if (g.child > 0) {
        kill(g.child, SIGKILL);
        waitpid(g.child, NULL, 0);
    }
    if (g.region) hsipc_detach(g.region); /* returns every buffer we hold */
    if (g.region_name) hsipc_unlink(g.region_name);
    if (g.is_child) _exit(1); /* never run the parent's atexit handlers or flush its stdio */
    exit(1);
}

static void check(int rc, const char *what) {
    if (rc < 0) fail(what, hsipc_strerror(rc));
}

static const char *describe_status(int status) {
    static char text[64];
    if (WIFEXITED(status)) snprintf(text, sizeof text, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) snprintf(text, sizeof text, "killed by signal %d", WTERMSIG(status));
    else snprintf(text, sizeof text, "stopped (status 0x%x)", (unsigned)status);
    return text;
}

/* Spinning or sleeping on a peer that died would hang forever: look now and then. */
static void check_peer(void) {
    if (g.is_child) {
        if (getppid() != g.parent) fail("parent", "went away");
        return;
    }
    int status;
    if (waitpid(g.child, &status, WNOHANG) == g.child) {
        g.child = 0;
        fail("child", describe_status(status));
    }
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- The message: a sequence number, then a fill derived from it ------- */

static void fill(unsigned char *p, size_t size, uint64_t seq) {
    memcpy(p, &seq, sizeof seq);
    memset(p + sizeof seq, (int)(seq & 0xff), size - sizeof seq);
}

static uint64_t seq_of(const unsigned char *p) {
    uint64_t seq;
    memcpy(&seq, p, sizeof seq);
    return seq;
}

/* Reads every byte, as a real consumer would, and checks the sum against
 * what fill() wrote, so a torn or stale message is caught. */
static int verify(const unsigned char *p, size_t size, uint64_t seq) {
    uint64_t sum = 0, word, b = seq & 0xff;
    size_t i;
    for (i = 0; i + 8 <= size; i += 8) {
        memcpy(&word, p + i, 8);
        sum += word;
    }
    for (; i < size; i++) sum += p[i];
    uint64_t want = seq + (size / 8 - 1) * (b * 0x0101010101010101u) + (size % 8) * b;
    return seq_of(p) == seq && sum == want;
}

/* ---- hsipc --------------------------------------------------------------- */

/* Polling mode spins on timeout 0, which never makes a system call; blocking
 * mode sleeps in hsipc_poll, waking after SLICE_NS only to check the peer. */
static void receive(hsipc_endpoint *ep, hsipc_msg *msg, enum mode mode) {
    unsigned long spins = 0;
    for (;;) {
        int rc = hsipc_poll(ep, msg, mode == POLLING ? 0 : SLICE_NS);
        if (rc == HSIPC_OK) return;
        if (rc != HSIPC_EAGAIN) check(rc, "hsipc_poll");
        if (mode == BLOCKING || (++spins & 0xfffff) == 0) check_peer();
    }
}

/* The peer opens its endpoint after fork; retry the lookup until it appears. */
static hsipc_id wait_for_endpoint(hsipc_region *r, const char *name) {
    const struct timespec ms = {0, 1000000};
    for (int tries = 0; tries < 15000; tries++) {
        hsipc_id id;
        int rc = hsipc_lookup(r, name, &id);
        if (rc == HSIPC_OK) return id;
        if (rc != HSIPC_ENOENT) check(rc, "hsipc_lookup");
        check_peer();
        nanosleep(&ms, NULL);
    }
    fail("hsipc_lookup", "the peer's endpoint did not appear within 15 s");
}

/* Parent: n round trips; each sample is alloc, write, send, wait, check, release. */
static void ping_hsipc(hsipc_endpoint *ping, hsipc_id pong, size_t size, long n,
                       enum mode mode, uint64_t *lat) {
    for (long i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        hsipc_off off;
        hsipc_msg msg;
        check(hsipc_alloc(g.region, size, &off), "hsipc_alloc");
        fill(hsipc_ptr(g.region, off), size, (uint64_t)i); /* written in place */
        check(hsipc_send_offset(ping, pong, off, size), "hsipc_send_offset");
        receive(ping, &msg, mode);
        if (msg.length != size || seq_of(msg.data) != (uint64_t)i)
            fail("parent", "reply out of sequence");
        check(hsipc_release(g.region, msg.off), "hsipc_release");
        if (lat) lat[i] = now_ns() - t0;
    }
}

/* Child: read each message where it lies and forward the same buffer back. */
static void pong_hsipc(hsipc_endpoint *pong, hsipc_id ping, size_t size, long n, enum mode mode) {
    for (long i = 0; i < n; i++) {
        hsipc_msg msg;
        receive(pong, &msg, mode);
        if (msg.length != size || !verify(msg.data, size, (uint64_t)i))
            fail("child", "message corrupt or out of sequence");
        check(hsipc_send_offset(pong, ping, msg.off, size), "hsipc_send_offset");
    }
}

/* ---- Pipes --------------------------------------------------------------- */

/* A pipe may move fewer bytes than asked; loop until all have gone. */
static void write_all(int fd, const unsigned char *p, size_t len) {
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) fail("write", strerror(errno));
        p += k;
        len -= (size_t)k;
    }
}

static void read_all(int fd, unsigned char *p, size_t len) {
    while (len > 0) {
        ssize_t k = read(fd, p, len);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) fail("read", strerror(errno));
        if (k == 0) fail("read", "the peer closed its end of the pipe");
        p += k;
        len -= (size_t)k;
    }
}

static void ping_pipe(int out, int in, unsigned char *buf, size_t size, long n, uint64_t *lat) {
    for (long i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        fill(buf, size, (uint64_t)i);
        write_all(out, buf, size);
        read_all(in, buf, size);
        if (seq_of(buf) != (uint64_t)i) fail("parent", "pipe reply out of sequence");
        if (lat) lat[i] = now_ns() - t0;
    }
}

static void pong_pipe(int in, int out, unsigned char *buf, size_t size, long n) {
    for (long i = 0; i < n; i++) {
        read_all(in, buf, size);
        if (!verify(buf, size, (uint64_t)i)) fail("child", "pipe message corrupt or out of sequence");
        write_all(out, buf, size);
    }
}

/* ---- Setup and statistics -------------------------------------------------- */

/* Two spinning processes on one CPU would take turns instead of running side
 * by side, so each gets its own: the first two CPUs we may use (0 and 1 on
 * an unrestricted machine). Returns 0 when there are fewer than two. */
static int pick_cpus(int cpus[2]) {
    cpu_set_t set;
    int found = 0;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    for (int c = 0; c < CPU_SETSIZE && found < 2; c++)
        if (CPU_ISSET(c, &set)) cpus[found++] = c;
    return found == 2;
}

static void pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)sched_setaffinity(0, sizeof set, &set); /* only a hint for steadier numbers */
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile, in thousandths, of n sorted samples. */
static uint64_t permille(const uint64_t *sorted, long n, long k) {
    long rank = (n * k + 999) / 1000;
    return sorted[rank > 0 ? rank - 1 : 0];
}

static struct result summarize(uint64_t *lat, long n, uint64_t elapsed_ns) {
    struct result r;
    qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
    r.min = lat[0];
    r.p50 = permille(lat, n, 500);
    r.p99 = permille(lat, n, 990);
    r.p999 = permille(lat, n, 999);
    r.per_sec = (double)n * 1e9 / (double)elapsed_ns;
    return r;
}

_Noreturn static void usage(FILE *to, int code) {
    fprintf(to, "usage: demo [--count N] [--size BYTES] [--region NAME] [--help]\n"
                "  --count N       measured round trips per mechanism (default 100000)\n"
                "  --size BYTES    message size, %u..%u (default 64)\n"
                "  --region NAME   hsipc region name (default demo-<pid>)\n",
            MIN_SIZE, MAX_SIZE);
    exit(code);
}

static long parse_number(const char *text, long lo, long hi, const char *what) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        fprintf(stderr, "demo: %s must be a number from %ld to %ld, not '%s'\n", what, lo, hi, text);
        usage(stderr, 2);
    }
    return v;
}

static void parse_args(int argc, char **argv, struct options *o) {
    o->count = 100000;
    o->size = 64;
    snprintf(o->region, sizeof o->region, "demo-%ld", (long)getpid());
    for (int i = 1; i < argc; i += 2) { /* option, value */
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) usage(stdout, 0);
        if (!val) usage(stderr, 2); /* every other option takes a value */
        if (strcmp(arg, "--count") == 0) o->count = parse_number(val, 1, MAX_COUNT, "--count");
        else if (strcmp(arg, "--size") == 0) o->size = (size_t)parse_number(val, MIN_SIZE, MAX_SIZE, "--size");
        else if (strcmp(arg, "--region") == 0 && strlen(val) <= HSIPC_NAME_MAX) strcpy(o->region, val);
        else usage(stderr, 2);
    }
}

/* One pool of buffers exactly the message size; one is in flight at a time. */
static hsipc_config demo_config(size_t size) {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    cfg.max_endpoints = 4;
    cfg.inbox_capacity = 16;
    cfg.pool_count = 1;
    cfg.pools[0].buffer_size = size;
    cfg.pools[0].buffer_count = 8;
    return cfg;
}

/* The child runs the same schedule as the parent: warm-up then measured
 * round trips for each mechanism, with sequence numbers restarting at 0. */
_Noreturn static void child_main(const struct options *o, const hsipc_config *cfg, int cpu,
                                 int in, int out) {
    hsipc_endpoint *pong;
    g.is_child = 1;
    g.child = 0;
    g.region = NULL; /* the parent's handle: not ours to use or detach after fork */
    g.region_name = NULL;
    if (cpu >= 0) pin_to(cpu);
    check(hsipc_attach(o->region, cfg, &g.region), "hsipc_attach");
    check(hsipc_endpoint_open(g.region, "pong", &pong), "hsipc_endpoint_open(pong)");
    hsipc_id ping = wait_for_endpoint(g.region, "ping");
    for (int mode = POLLING; mode <= BLOCKING; mode++) {
        pong_hsipc(pong, ping, o->size, WARMUP, (enum mode)mode);
        pong_hsipc(pong, ping, o->size, o->count, (enum mode)mode);
    }
    unsigned char *buf = malloc(o->size);
    if (!buf) fail("malloc", strerror(errno));
    pong_pipe(in, out, buf, o->size, WARMUP);
    pong_pipe(in, out, buf, o->size, o->count);
    hsipc_region *r = g.region;
    g.region = NULL;
    check(hsipc_detach(r), "hsipc_detach");
    _exit(0);
}

int main(int argc, char **argv) {
    struct options o;
    struct result res[3];
    int to_child[2], to_parent[2], cpus[2];
    hsipc_endpoint *ping;

    parse_args(argc, argv, &o);
    hsipc_config cfg = demo_config(o.size);
    uint64_t *lat = malloc((size_t)o.count * sizeof *lat);
    unsigned char *buf = malloc(o.size);
    if (!lat || !buf) fail("malloc", strerror(errno));
    int pinned = pick_cpus(cpus);
    if (pipe(to_child) != 0 || pipe(to_parent) != 0) fail("pipe", strerror(errno));
    signal(SIGPIPE, SIG_IGN); /* a dead peer should make write() fail, not kill us */

    g.parent = getpid();
    g.region_name = o.region;
    check(hsipc_attach(o.region, &cfg, &g.region), "hsipc_attach");
    check(hsipc_endpoint_open(g.region, "ping", &ping), "hsipc_endpoint_open(ping)");

    fflush(NULL); /* or the child would inherit, and one day print, our buffered output */
    pid_t pid = fork();
    if (pid < 0) fail("fork", strerror(errno));
    if (pid == 0) {
        close(to_child[1]);
        close(to_parent[0]);
        child_main(&o, &cfg, pinned ? cpus[1] : -1, to_child[0], to_parent[1]);
    }
    g.child = pid;
    close(to_child[0]); /* so that read() sees EOF, not a hang, if the child dies */
    close(to_parent[1]);
    if (pinned) pin_to(cpus[0]);
    hsipc_id pong = wait_for_endpoint(g.region, "pong");

    for (int mode = POLLING; mode <= BLOCKING; mode++) {
        ping_hsipc(ping, pong, o.size, WARMUP, (enum mode)mode, NULL);
        uint64_t t0 = now_ns();
        ping_hsipc(ping, pong, o.size, o.count, (enum mode)mode, lat);
        res[mode] = summarize(lat, o.count, now_ns() - t0);
    }
    ping_pipe(to_child[1], to_parent[0], buf, o.size, WARMUP, NULL);
    uint64_t t0 = now_ns();
    ping_pipe(to_child[1], to_parent[0], buf, o.size, o.count, lat);
    res[2] = summarize(lat, o.count, now_ns() - t0);

    int status;
    if (waitpid(pid, &status, 0) != pid) fail("waitpid", strerror(errno));
    g.child = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("child", describe_status(status));
    hsipc_region *r = g.region;
    g.region = NULL; /* detach frees the handle even when it fails */
    check(hsipc_detach(r), "hsipc_detach");
    g.region_name = NULL;
    check(hsipc_unlink(o.region), "hsipc_unlink");

    static const char *names[3] = {"hsipc (polling)", "hsipc (blocking)", "pipe"};
    printf("hsipc demo: %ld round trips of %zu-byte messages between two processes", o.count, o.size);
    if (pinned) printf(" (CPUs %d and %d)", cpus[0], cpus[1]);
    printf("\n%-18s %10s %10s %10s %11s %15s\n", "mechanism", "min (ns)", "p50 (ns)", "p99 (ns)",
           "p99.9 (ns)", "round trips/s");
    for (int m = 0; m < 3; m++)
        printf("%-18s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %11" PRIu64 " %15.0f\n", names[m],
               res[m].min, res[m].p50, res[m].p99, res[m].p999, res[m].per_sec);
    printf("hsipc polling is %.1fx faster than a pipe at p50\n",
           (double)res[2].p50 / (double)(res[0].p50 ? res[0].p50 : 1));
    printf("messages passed: %ld (3 mechanisms x %ld round trips incl. %d warm-up x 2 messages)\n",
           3 * 2 * (o.count + WARMUP), o.count + WARMUP, WARMUP);
    free(lat);
    free(buf);
    return 0;
}
