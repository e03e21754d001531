/* SPDX-License-Identifier: MIT */
/* pubsub: one publisher, three subscribers, each frame written once.
 *
 *   pubsub [--frames N] [--size BYTES] [--region NAME]
 *   (defaults: 1000 frames of 65536 bytes, region pubsub-<pid>)
 *
 * The program forks three subscribers. Each attaches anew, opens its own
 * endpoint, subscribes to topic "frames" and tells the publisher it is
 * ready with a point-to-point message. The publisher then writes each frame
 * once (a sequence number, a checksum, and data that differs from frame to
 * frame) and publishes it with hsipc_publish: every subscriber receives the
 * same buffer, flagged HSIPC_MSG_SHARED, reads every byte where it lies,
 * checks the checksum and the order, and releases it; the buffer returns
 * to its pool with the last release. A subscriber whose inbox is full when
 * a frame is published misses that frame, and the publisher goes on
 * without waiting for it: the summary says how many each one missed.
 *
 * A stop frame ends the run. Each subscriber answers it with a report
 * (frames received, frames missed); the publisher checks that the reports
 * add up to what hsipc_publish said it delivered and skipped, and that
 * every buffer is back in the pool once the subscribers are gone.
 *
 * Exit status 0 when all of that holds; 1, with the reason on stderr
 * (hsipc_strerror for hsipc's errors), when a call fails or a frame is
 * corrupt, out of order or miscounted; 2 for a bad command line.
 */
#define _POSIX_C_SOURCE 200809L
#include <hsipc.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SUBSCRIBERS 3
#define TOPIC "frames"
#define PUBLISHER "publisher" /* the publisher's endpoint, for readiness and reports */
#define INBOX_DEPTH 16        /* frames a subscriber may fall behind before it misses one */
/* Each subscriber keeps at most INBOX_DEPTH frames queued and one in hand,
 * so this many buffers are never all in use and publishing never waits. */
#define BUFFERS (SUBSCRIBERS * (INBOX_DEPTH + 1) + 16)
#define MAX_FRAMES 100000000L
#define MAX_SIZE (4u << 20) /* BUFFERS of them: 268 MB of /dev/shm */
#define WAIT_NS 10000000000LL /* the longest wait for any one message */
#define SLICE_NS 100000000LL  /* waits wake this often to see if the others died */
#define STOP_NS 10000000LL    /* the stop frame is published again after this long without a report */

enum kind { FRAME = 1, STOP, READY, REPORT };

/* The first bytes of a published message. The data of a frame follows. */
struct frame {
    uint32_t kind;     /* FRAME or STOP */
    uint32_t reserved;
    uint64_t seq;      /* FRAME: 0, 1, 2, ...; STOP: how many frames were published */
    uint64_t checksum; /* FRAME: of the bytes after this header */
};

/* A point-to-point message from a subscriber to the publisher. */
struct note {
    uint32_t kind;       /* READY or REPORT */
    uint32_t subscriber; /* 1 .. SUBSCRIBERS */
    uint64_t received;   /* REPORT: frames received and checked */
    uint64_t missed;     /* REPORT: frames skipped because its inbox was full */
};

#define MIN_SIZE (sizeof(struct frame) + 8)

struct options { long frames; size_t size; char region[HSIPC_NAME_MAX + 1]; };

/* Process state, global so that fail() can clean up from anywhere. */
static struct state {
    int subscriber;              /* 0 in the publisher, 1 .. SUBSCRIBERS in a subscriber */
    pid_t parent;
    pid_t children[SUBSCRIBERS]; /* the publisher's subscribers; 0 once waited for */
    hsipc_region *region;        /* this process's own attachment */
    const char *region_name;     /* set while the publisher should unlink the region on failure */
} g;

/* Prints what failed and exits; the publisher first kills and waits for its
 * subscribers and removes the region, so a failure leaves nothing behind. */
_Noreturn static void fail(const char *what, const char *why) {
    if (g.subscriber) fprintf(stderr, "pubsub (subscriber %d): %s: %s\n", g.subscriber, what, why);
    else fprintf(stderr, "pubsub: %s: %s\n", what, why);
    for (int i = 0; i < SUBSCRIBERS; i++) {
        if (g.children[i] > 0) {
            kill(g.children[i], SIGKILL);
            waitpid(g.children[i], NULL, 0);
        }
    }
    if (g.region) hsipc_detach(g.region); /* returns every buffer we hold */
    if (g.region_name) hsipc_unlink(g.region_name);
    if (g.subscriber) _exit(1); /* never flush the publisher's stdio a second time */
    exit(1);
}

static void check(int rc, const char *what) {
    if (rc < 0) fail(what, hsipc_strerror(rc));
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *describe_status(int status) {
    static char text[48];
    if (WIFEXITED(status)) snprintf(text, sizeof text, "exited with status %d", WEXITSTATUS(status));
    else snprintf(text, sizeof text, "killed by signal %d", WTERMSIG(status));
    return text;
}

/* A wait on a process that died would last forever: look now and then.
 * A subscriber that ended with status 0 is fine (it sent its report
 * first); any other end is a failure. Returns how many still run. */
static int check_peers(void) {
    if (g.subscriber) {
        if (getppid() != g.parent) fail("publisher", "went away");
        return 1;
    }
    int running = 0;
    for (int i = 0; i < SUBSCRIBERS; i++) {
        int status;
        if (g.children[i] <= 0) continue;
        if (waitpid(g.children[i], &status, WNOHANG) != g.children[i]) {
            running++;
            continue;
        }
        g.children[i] = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char what[32];
            snprintf(what, sizeof what, "subscriber %d", i + 1);
            fail(what, describe_status(status));
        }
    }
    return running;
}

/* Takes the next message, waiting up to WAIT_NS. */
static void take(hsipc_endpoint *ep, hsipc_msg *msg) {
    uint64_t deadline = now_ns() + WAIT_NS;
    for (;;) {
        int rc = hsipc_poll(ep, msg, SLICE_NS);
        if (rc == HSIPC_OK) return;
        if (rc != HSIPC_EAGAIN) check(rc, "hsipc_poll");
        check_peers();
        if (now_ns() > deadline) fail("hsipc_poll", "nothing arrived within 10 s");
    }
}

/* ---- Frame data ----------------------------------------------------------- */

/* FNV-1a over 8-byte words, then the bytes left over: every byte counts. */
static uint64_t checksum(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325u, word;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&word, p + i, 8);
        h = (h ^ word) * 0x100000001b3u;
    }
    for (; i < n; i++) h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

/* Writes frame `seq` in place: its header and n data bytes from a xorshift
 * sequence seeded by seq, so a stale or torn frame fails its checksum. */
static void fill(unsigned char *p, size_t size, uint64_t seq) {
    unsigned char *data = p + sizeof(struct frame);
    size_t n = size - sizeof(struct frame);
    uint64_t x = seq * 0x9e3779b97f4a7c15u | 1; /* odd, so never 0, where xorshift would stay */
    for (size_t i = 0; i < n; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(data + i, &x, n - i < 8 ? n - i : 8);
    }
    struct frame f = {.kind = FRAME, .seq = seq, .checksum = checksum(data, n)};
    memcpy(p, &f, sizeof f);
}

/* ---- Subscriber -------------------------------------------------------------- */

static void send_note(hsipc_endpoint *ep, hsipc_id to, struct note note) {
    hsipc_off off;
    check(hsipc_alloc(g.region, sizeof note, &off), "hsipc_alloc");
    memcpy(hsipc_ptr(g.region, off), &note, sizeof note);
    int rc = hsipc_send_offset(ep, to, off, sizeof note);
    if (rc != HSIPC_OK) {
        hsipc_release(g.region, off); /* still ours after a failed send */
        check(rc, "hsipc_send_offset");
    }
}

/* Receives frames until the stop frame, checking each, and reports. */
_Noreturn static void subscriber_main(const struct options *o, const hsipc_config *cfg, int index) {
    g = (struct state){.subscriber = index, .parent = g.parent}; /* not the publisher's handle or children */
    hsipc_endpoint *ep;
    hsipc_id publisher;
    char name[HSIPC_NAME_MAX + 1];
    snprintf(name, sizeof name, "subscriber-%d", index);

    check(hsipc_attach(o->region, cfg, &g.region), "hsipc_attach"); /* a handle never crosses fork */
    check(hsipc_endpoint_open(g.region, name, &ep), "hsipc_endpoint_open");
    check(hsipc_subscribe(ep, TOPIC), "hsipc_subscribe");
    check(hsipc_lookup(g.region, PUBLISHER, &publisher), "hsipc_lookup"); /* opened before the fork */
    send_note(ep, publisher, (struct note){.kind = READY, .subscriber = (uint32_t)index});

    uint64_t expected = 0, received = 0, missed = 0;
    for (;;) {
        hsipc_msg msg;
        struct frame f;
        take(ep, &msg);
        if (!(msg.flags & HSIPC_MSG_SHARED)) fail("frame", "not flagged HSIPC_MSG_SHARED");
        if (msg.length < sizeof f) fail("frame", "shorter than its header");
        memcpy(&f, msg.data, sizeof f);
        if (f.kind == STOP) {
            check(hsipc_release(g.region, msg.off), "hsipc_release");
            if (f.seq < expected) fail("stop frame", "counts fewer frames than arrived");
            missed += f.seq - expected; /* the last frames, where they were skipped */
            break;
        }
        if (f.kind != FRAME || msg.length != o->size) fail("frame", "wrong kind or length");
        if (f.seq < expected) fail("frame", "out of order");
        missed += f.seq - expected; /* frames skipped while our inbox was full */
        expected = f.seq + 1;
        /* Read in place: the bytes are where the publisher wrote them, and
         * shared with the other subscribers, so never written here. */
        if (checksum((const unsigned char *)msg.data + sizeof f, o->size - sizeof f) != f.checksum)
            fail("frame", "checksum mismatch: the bytes changed under us");
        received++;
        check(hsipc_release(g.region, msg.off), "hsipc_release"); /* the last release frees it */
    }
    send_note(ep, publisher,
              (struct note){.kind = REPORT, .subscriber = (uint32_t)index, .received = received, .missed = missed});
    hsipc_region *r = g.region;
    g.region = NULL; /* detach frees the handle even when it fails */
    check(hsipc_detach(r), "hsipc_detach"); /* closes the endpoint: the subscription ends */
    _exit(0);
}

/* ---- Publisher ---------------------------------------------------------------- */

/* A subscriber's note, from our inbox; any other message is a failure. */
static struct note take_note(const hsipc_msg *msg, uint32_t kind) {
    struct note note;
    if (msg->length != sizeof note) fail("note", "wrong length");
    memcpy(&note, msg->data, sizeof note);
    check(hsipc_release(g.region, msg->off), "hsipc_release");
    if (note.kind != kind || note.subscriber < 1 || note.subscriber > SUBSCRIBERS) fail("note", "unexpected");
    return note;
}

/* A free buffer. Subscribers take their time with theirs, and BUFFERS
 * leaves room for that, so waiting here would mean something is wrong. */
static hsipc_off alloc_frame(size_t size) {
    uint64_t deadline = now_ns() + WAIT_NS;
    hsipc_off off;
    int rc;
    while ((rc = hsipc_alloc(g.region, size, &off)) == HSIPC_ENOMEM) {
        check_peers();
        if (now_ns() > deadline) fail("hsipc_alloc", "no buffer came free within 10 s");
    }
    check(rc, "hsipc_alloc");
    return off;
}

/* Publishes a frame; returns how many subscribers received it. */
static uint32_t publish(hsipc_endpoint *ep, hsipc_id topic, hsipc_off off, size_t length, uint32_t *skipped) {
    uint32_t delivered;
    int rc = hsipc_publish(ep, topic, off, length, &delivered, skipped);
    if (rc != HSIPC_OK) {
        hsipc_release(g.region, off); /* still ours after a failed publish */
        check(rc, "hsipc_publish");
    }
    return delivered; /* on success the buffer is the subscribers' (or free), never ours */
}

/* Takes reports until none came for timeout_ns; returns how many. */
static int collect(hsipc_endpoint *ep, int64_t timeout_ns, struct note reports[]) {
    hsipc_msg msg;
    int rc, taken = 0;
    while ((rc = hsipc_poll(ep, &msg, timeout_ns)) == HSIPC_OK) {
        struct note note = take_note(&msg, REPORT);
        if (reports[note.subscriber - 1].kind == REPORT) fail("report", "sent twice");
        reports[note.subscriber - 1] = note;
        taken++;
    }
    if (rc != HSIPC_EAGAIN) check(rc, "hsipc_poll");
    return taken;
}

/* Stops the subscribers and collects their reports. A subscriber whose
 * inbox is full misses the stop frame too, so it is published again until
 * every subscriber has answered. */
static void stop(hsipc_endpoint *ep, hsipc_id topic, long frames, struct note reports[]) {
    uint64_t deadline = now_ns() + WAIT_NS;
    int answered = 0;
    while (answered < SUBSCRIBERS) {
        hsipc_off off = alloc_frame(sizeof(struct frame));
        struct frame f = {.kind = STOP, .seq = (uint64_t)frames};
        memcpy(hsipc_ptr(g.region, off), &f, sizeof f);
        publish(ep, topic, off, sizeof f, NULL);
        answered += collect(ep, STOP_NS, reports);
        int running = check_peers();
        if (answered + running < SUBSCRIBERS) {
            /* One ended: a report it sent before it ended is queued by now. */
            answered += collect(ep, 0, reports);
            if (answered + running < SUBSCRIBERS) fail("subscribers", "one ended without a report");
        }
        if (answered < SUBSCRIBERS && now_ns() > deadline)
            fail("stop", "no report from every subscriber within 10 s");
    }
}

_Noreturn static void usage(FILE *to, int code) {
    fprintf(to, "usage: pubsub [--frames N] [--size BYTES] [--region NAME] [--help]\n"
                "  --frames N      frames to publish (default 1000)\n"
                "  --size BYTES    bytes of each frame, %zu..%u (default 65536)\n"
                "  --region NAME   hsipc region name (default pubsub-<pid>)\n",
            MIN_SIZE, MAX_SIZE);
    exit(code);
}

static long parse_number(const char *text, long lo, long hi, const char *what) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        fprintf(stderr, "pubsub: %s must be a number from %ld to %ld, not '%s'\n", what, lo, hi, text);
        usage(stderr, 2);
    }
    return v;
}

static void parse_args(int argc, char **argv, struct options *o) {
    o->frames = 1000;
    o->size = 65536;
    snprintf(o->region, sizeof o->region, "pubsub-%ld", (long)getpid());
    for (int i = 1; i < argc; i += 2) { /* option, value */
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) usage(stdout, 0);
        if (!val) usage(stderr, 2); /* every other option takes a value */
        if (strcmp(arg, "--frames") == 0) o->frames = parse_number(val, 1, MAX_FRAMES, "--frames");
        else if (strcmp(arg, "--size") == 0) o->size = (size_t)parse_number(val, (long)MIN_SIZE, MAX_SIZE, "--size");
        else if (strcmp(arg, "--region") == 0 && strlen(val) <= HSIPC_NAME_MAX) strcpy(o->region, val);
        else {
            fprintf(stderr, "pubsub: bad option or value: %s %s\n", arg, val);
            usage(stderr, 2);
        }
    }
}

/* One pool of frame-sized buffers (notes and stop frames take one too), and
 * inboxes INBOX_DEPTH deep: how far a subscriber may fall behind. */
static hsipc_config pubsub_config(size_t size) {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    cfg.max_endpoints = SUBSCRIBERS + 1;
    cfg.inbox_capacity = INBOX_DEPTH;
    cfg.pool_count = 1;
    cfg.pools[0].buffer_size = size;
    cfg.pools[0].buffer_count = BUFFERS;
    return cfg;
}

int main(int argc, char **argv) {
    struct options o;
    parse_args(argc, argv, &o);
    hsipc_config cfg = pubsub_config(o.size);
    hsipc_endpoint *ep;
    hsipc_id topic;

    g.parent = getpid();
    g.region_name = o.region;
    check(hsipc_attach(o.region, &cfg, &g.region), "hsipc_attach");
    check(hsipc_endpoint_open(g.region, PUBLISHER, &ep), "hsipc_endpoint_open");
    check(hsipc_topic_open(g.region, TOPIC, &topic), "hsipc_topic_open");

    fflush(NULL); /* or the children would inherit, and one day print, our buffered output */
    for (int i = 0; i < SUBSCRIBERS; i++) {
        pid_t pid = fork();
        if (pid < 0) fail("fork", strerror(errno));
        if (pid == 0) subscriber_main(&o, &cfg, i + 1);
        g.children[i] = pid;
    }

    /* A frame goes to those subscribed when it is published: wait until
     * all three are. */
    for (int ready = 0; ready < SUBSCRIBERS; ready++) {
        hsipc_msg msg;
        take(ep, &msg);
        take_note(&msg, READY);
    }
    /* Every process is attached, and the name only serves to attach: remove
     * it now, so that not even a crash can leave /dev/shm/hsipc.NAME behind.
     * The memory lives until the last process detaches. */
    g.region_name = NULL;
    check(hsipc_unlink(o.region), "hsipc_unlink");

    uint64_t delivered = 0, skipped = 0, start = now_ns();
    for (long seq = 0; seq < o.frames; seq++) {
        hsipc_off off = alloc_frame(o.size);
        fill(hsipc_ptr(g.region, off), o.size, (uint64_t)seq); /* written once, for all of them */
        uint32_t full;
        uint32_t got = publish(ep, topic, off, o.size, &full);
        if (got + full != SUBSCRIBERS) {
            check_peers(); /* says why, where one has ended already */
            fail("hsipc_publish", "a subscriber closed its endpoint before the end");
        }
        delivered += got;
        skipped += full;
    }
    double elapsed_ms = (double)(now_ns() - start) / 1e6;

    struct note reports[SUBSCRIBERS] = {{0}};
    stop(ep, topic, o.frames, reports);
    for (int i = 0; i < SUBSCRIBERS; i++) {
        int status;
        pid_t pid = g.children[i];
        if (pid <= 0) continue; /* already waited for: it ended with status 0 */
        if (waitpid(pid, &status, 0) != pid) fail("waitpid", strerror(errno));
        g.children[i] = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("subscriber", describe_status(status));
    }

    /* The subscribers are gone and every frame was released (or freed when
     * its last subscriber's endpoint closed): the pool must be whole. */
    hsipc_pool_stats pool = {.struct_size = sizeof pool};
    check(hsipc_region_pool_stats(g.region, 0, &pool), "hsipc_region_pool_stats");

    printf("pubsub: published %ld frames of %zu bytes to %d subscribers in %.1f ms, each written once\n",
           o.frames, o.size, SUBSCRIBERS, elapsed_ms);
    uint64_t received = 0, missed = 0;
    for (int i = 0; i < SUBSCRIBERS; i++) {
        printf("subscriber %d: %" PRIu64 " frames received and checked in place, %" PRIu64 " missed\n", i + 1,
               reports[i].received, reports[i].missed);
        if (reports[i].received + reports[i].missed != (uint64_t)o.frames)
            fail("report", "received and missed frames do not add up to those published");
        received += reports[i].received;
        missed += reports[i].missed;
    }
    printf("delivered %" PRIu64 " of %" PRIu64 "; skipped %" PRIu64 " (a subscriber's inbox was full)\n",
           delivered, (uint64_t)o.frames * SUBSCRIBERS, skipped);
    if (received != delivered || missed != skipped)
        fail("reports", "the subscribers' counts differ from what hsipc_publish reported");
    printf("pool: %" PRIu32 " of %" PRIu32 " buffers free again\n", pool.free_count, pool.buffer_count);
    if (pool.free_count != pool.buffer_count) fail("pool", "buffers were not returned");

    hsipc_region *r = g.region;
    g.region = NULL;
    check(hsipc_detach(r), "hsipc_detach");
    return 0;
}
