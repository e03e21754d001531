/* SPDX-License-Identifier: MIT */
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

/* The three ways of passing a message; also the rows of the table. */
enum mech { POLLING, BLOCKING, PIPE };
static const char *const mech_name[] = {"hsipc (polling)", "hsipc (blocking)", "pipe"};

struct options { long count; size_t size; char region[HSIPC_NAME_MAX + 1]; };

/* What one process needs to reach the other, by each mechanism. */
struct link {
    hsipc_endpoint *ep; /* our endpoint ("ping" in the parent, "pong" in the child) */
    hsipc_id peer;      /* the other one */
    int in, out;        /* our ends of the two pipes */
    unsigned char *buf; /* message buffer for the pipes */
    size_t size;
};

struct result { uint64_t min, p50, p99, p999; double per_sec; }; /* ns; round trips/s */

/* Process state, global so that fail() can clean up from anywhere. */
static struct state {
    int is_child;
    int share_cpu;           /* the two processes share one CPU, so spinning must yield */
    pid_t parent, child;     /* child is 0 once reaped, and always in the child */
    hsipc_region *region;    /* this process's own attachment */
    const char *region_name; /* set while the parent should unlink the region on failure */
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
    static char text[48];
    if (WIFEXITED(status)) snprintf(text, sizeof text, "exited with status %d", WEXITSTATUS(status));
    else snprintf(text, sizeof text, "killed by signal %d", WTERMSIG(status));
    return text;
}

/* Spinning or sleeping on a peer that died would hang forever: look now and then. */
static void check_peer(void) {
    int status;
    if (g.is_child && getppid() != g.parent) fail("parent", "went away");
    if (!g.is_child && waitpid(g.child, &status, WNOHANG) == g.child) {
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

/* ---- Moving one message --------------------------------------------------- */

/* Polling mode spins on timeout 0, which never makes a system call; blocking
 * mode waits in hsipc_poll (a short spin, then a futex sleep), waking after
 * SLICE_NS only to check the peer. */
static void receive(hsipc_endpoint *ep, hsipc_msg *msg, enum mech m) {
    unsigned long spins = 0;
    for (;;) {
        int rc = hsipc_poll(ep, msg, m == POLLING ? 0 : SLICE_NS);
        if (rc == HSIPC_OK) return;
        if (rc != HSIPC_EAGAIN) check(rc, "hsipc_poll");
        if (m == BLOCKING || (++spins & 0xffff) == 0) check_peer();
        if (m == POLLING && g.share_cpu) sched_yield(); /* don't spin out the peer's CPU time */
    }
}

/* A pipe may move fewer bytes than asked (a message larger than the pipe's
 * capacity always does); loop until all have gone. */
static void transfer(int fd, unsigned char *p, size_t len, int writing) {
    while (len > 0) {
        ssize_t k = writing ? write(fd, p, len) : read(fd, p, len);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) fail(writing ? "write" : "read", strerror(errno));
        if (k == 0) fail("read", "the peer closed its end of the pipe");
        p += k;
        len -= (size_t)k;
    }
}

/* Parent: one message out and its echo back. With hsipc the message is
 * written in place in a buffer of the region and never copied. */
static void round_trip(const struct link *l, enum mech m, uint64_t seq) {
    if (m == PIPE) {
        fill(l->buf, l->size, seq);
        transfer(l->out, l->buf, l->size, 1);
        transfer(l->in, l->buf, l->size, 0);
        if (seq_of(l->buf) != seq) fail("parent", "pipe reply out of sequence");
        return;
    }
    hsipc_off off;
    hsipc_msg msg;
    check(hsipc_alloc(g.region, l->size, &off), "hsipc_alloc");
    fill(hsipc_ptr(g.region, off), l->size, seq);
    check(hsipc_send_offset(l->ep, l->peer, off, l->size), "hsipc_send_offset");
    receive(l->ep, &msg, m);
    if (msg.length != l->size || seq_of(msg.data) != seq) fail("parent", "reply out of sequence");
    check(hsipc_release(g.region, msg.off), "hsipc_release");
}

/* Child: take one message, read all of it, and send it back. With hsipc
 * that is the same buffer, forwarded where it lies (zero copy). */
static void echo(const struct link *l, enum mech m, uint64_t seq) {
    if (m == PIPE) {
        transfer(l->in, l->buf, l->size, 0);
        if (!verify(l->buf, l->size, seq)) fail("child", "pipe message corrupt or out of sequence");
        transfer(l->out, l->buf, l->size, 1);
        return;
    }
    hsipc_msg msg;
    receive(l->ep, &msg, m);
    if (msg.length != l->size || !verify(msg.data, l->size, seq))
        fail("child", "message corrupt or out of sequence");
    check(hsipc_send_offset(l->ep, l->peer, msg.off, l->size), "hsipc_send_offset");
}

/* ---- Measuring -------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile, in thousandths, of n sorted samples. */
static uint64_t permille(const uint64_t *sorted, long n, long k) {
    long rank = (n * k + 999) / 1000;
    return sorted[rank > 0 ? rank - 1 : 0];
}

/* WARMUP unmeasured round trips (page faults, caches, branch predictors),
 * then n timed ones. Sequence numbers run on across both; the child counts
 * the same way. */
static struct result measure(const struct link *l, enum mech m, long n, uint64_t *lat) {
    for (long i = 0; i < WARMUP; i++) round_trip(l, m, (uint64_t)i);
    uint64_t start = now_ns();
    for (long i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        round_trip(l, m, (uint64_t)(WARMUP + i));
        lat[i] = now_ns() - t0;
    }
    uint64_t elapsed = now_ns() - start;
    qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
    return (struct result){lat[0], permille(lat, n, 500), permille(lat, n, 990),
                           permille(lat, n, 999), (double)n * 1e9 / (double)elapsed};
}

/* ---- Setup ------------------------------------------------------------------ */

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
        else {
            fprintf(stderr, "demo: bad option or value: %s %s\n", arg, val);
            usage(stderr, 2);
        }
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

/* The child attaches anew (a handle must not cross fork), opens "pong",
 * and echoes every message of every mechanism in the parent's order. */
_Noreturn static void child_main(const struct options *o, const hsipc_config *cfg, int cpu,
                                 int in, int out) {
    g = (struct state){.is_child = 1, .parent = g.parent, .share_cpu = g.share_cpu}; /* not the parent's handle */
    struct link l = {.in = in, .out = out, .size = o->size, .buf = malloc(o->size)};
    if (!l.buf) fail("malloc", strerror(errno));
    if (cpu >= 0) pin_to(cpu);
    check(hsipc_attach(o->region, cfg, &g.region), "hsipc_attach");
    check(hsipc_endpoint_open(g.region, "pong", &l.ep), "hsipc_endpoint_open(pong)");
    l.peer = wait_for_endpoint(g.region, "ping");
    for (int m = POLLING; m <= PIPE; m++)
        for (long seq = 0; seq < WARMUP + o->count; seq++) echo(&l, (enum mech)m, (uint64_t)seq);
    hsipc_region *r = g.region;
    g.region = NULL;
    check(hsipc_detach(r), "hsipc_detach");
    _exit(0);
}

int main(int argc, char **argv) {
    struct options o;
    struct result res[3];
    int to_child[2], to_parent[2], cpus[2], status;

    parse_args(argc, argv, &o);
    hsipc_config cfg = demo_config(o.size);
    uint64_t *lat = malloc((size_t)o.count * sizeof *lat);
    struct link l = {.size = o.size, .buf = malloc(o.size)};
    if (!lat || !l.buf) fail("malloc", strerror(errno));
    int pinned = pick_cpus(cpus);
    if (pipe(to_child) != 0 || pipe(to_parent) != 0) fail("pipe", strerror(errno));
    signal(SIGPIPE, SIG_IGN); /* a dead peer should make write() fail, not kill us */

    g.parent = getpid();
    g.share_cpu = !pinned;
    g.region_name = o.region;
    check(hsipc_attach(o.region, &cfg, &g.region), "hsipc_attach");
    check(hsipc_endpoint_open(g.region, "ping", &l.ep), "hsipc_endpoint_open(ping)");

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
    l.out = to_child[1];
    l.in = to_parent[0];
    if (pinned) pin_to(cpus[0]);
    l.peer = wait_for_endpoint(g.region, "pong");
    /* Both processes are attached, and the name only serves to attach: remove
     * it now, so that even a Ctrl-C or a crash of either process cannot leave
     * /dev/shm/hsipc.NAME behind. The memory lives until both have detached. */
    g.region_name = NULL;
    check(hsipc_unlink(o.region), "hsipc_unlink");

    for (int m = POLLING; m <= PIPE; m++) res[m] = measure(&l, (enum mech)m, o.count, lat);

    if (waitpid(pid, &status, 0) != pid) fail("waitpid", strerror(errno));
    g.child = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("child", describe_status(status));
    hsipc_region *r = g.region;
    g.region = NULL; /* detach frees the handle even when it fails */
    check(hsipc_detach(r), "hsipc_detach");

    printf("hsipc demo: %ld round trips of %zu-byte messages between two processes", o.count, o.size);
    if (pinned) printf(" (CPUs %d and %d)", cpus[0], cpus[1]);
    printf("\n%-18s %10s %10s %10s %11s %15s\n", "mechanism", "min (ns)", "p50 (ns)", "p99 (ns)",
           "p99.9 (ns)", "round trips/s");
    for (int m = POLLING; m <= PIPE; m++)
        printf("%-18s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %11" PRIu64 " %15.0f\n", mech_name[m],
               res[m].min, res[m].p50, res[m].p99, res[m].p999, res[m].per_sec);
    double ratio = (double)res[PIPE].p50 / (double)(res[POLLING].p50 ? res[POLLING].p50 : 1);
    printf("hsipc polling is %.1fx %s than a pipe at p50\n", ratio >= 1 ? ratio : 1 / ratio,
           ratio >= 1 ? "faster" : "slower");
    printf("messages passed: %ld (3 mechanisms x %ld round trips incl. %d warm-up x 2 messages)\n",
           3 * 2 * (o.count + WARMUP), o.count + WARMUP, WARMUP);
    free(lat);
    free(l.buf);
    return 0;
}
