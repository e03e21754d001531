/* SPDX-License-Identifier: MIT */
/*
 * hsipc — shared-memory IPC for processes on one Linux machine.
 *
 * A sender allocates a buffer in a named shared region, writes its message
 * there in place, and appends the buffer's offset to the receiver's inbox;
 * the receiver reads the message where it lies and releases the buffer.
 * No copy through the kernel, and no system call while the receiver polls.
 *
 * This header is the reference manual. Every function that can fail returns
 * HSIPC_OK (0) or one of the negative HSIPC_E* codes below; each function's
 * comment ends with the codes it can return ("Errors:"). The codes are
 * hsipc's own, not negated errno values. On failure a function leaves its
 * out-parameters unchanged. No function aborts, prints, or throws.
 *
 * Thread safety: every call is thread-safe, except that one endpoint is
 * polled by one thread at a time. A handle is not used in a child after
 * fork(): the child attaches anew.
 */
#ifndef HSIPC_H
#define HSIPC_H

#include <stddef.h>
#include <stdint.h>

/* The one source of version truth; CMake parses these three lines. */
#define HSIPC_VERSION_MAJOR 0
#define HSIPC_VERSION_MINOR 1
#define HSIPC_VERSION_PATCH 0
#define HSIPC_VERSION \
    ((HSIPC_VERSION_MAJOR << 16) | (HSIPC_VERSION_MINOR << 8) | HSIPC_VERSION_PATCH)

#if defined(HSIPC_BUILDING_LIBRARY) && defined(__GNUC__)
#define HSIPC_API __attribute__((visibility("default")))
#else
#define HSIPC_API
#endif

#ifdef __cplusplus
#define HSIPC_NOEXCEPT noexcept
extern "C" {
#else
#define HSIPC_NOEXCEPT
#endif

/* ---- Types ------------------------------------------------------------ */

typedef struct hsipc_region hsipc_region;     /* one process's attachment to a named region */
typedef struct hsipc_endpoint hsipc_endpoint; /* one named inbox, owned by the process that opened it */
typedef uint64_t hsipc_off; /* offset of a buffer's payload from the region's base; never 0 for a live buffer */
typedef uint32_t hsipc_id;  /* address of an endpoint; carries a generation so a stale id is refused */

#define HSIPC_FOREVER (-1) /* timeout: wait without limit */
#define HSIPC_MAX_POOLS 8
#define HSIPC_NAME_MAX 63 /* longest region or endpoint name, in bytes */

typedef struct hsipc_pool_config {
    uint64_t buffer_size; /* usable bytes of each buffer in this pool */
    uint32_t buffer_count;
    uint32_t reserved; /* 0 */
} hsipc_pool_config;

/*
 * Limits checked by hsipc_attach and hsipc_config_load (HSIPC_EINVAL beyond):
 *   struct_size     sizeof(hsipc_config), or an older size of it (below)
 *   max_endpoints   1 .. 4096
 *   inbox_capacity  1 .. 1048576, rounded up to a power of two
 *   pool_count      1 .. HSIPC_MAX_POOLS
 *   pools           buffer_size 1 .. 1 GiB, strictly ascending;
 *                   buffer_count >= 1, all pools together <= 16000000 buffers;
 *                   reserved 0
 *   mode            permission bits only (<= 0777) and including 0600, so
 *                   the creator can always reattach
 *   max_buffers_per_process  0 (no limit) or 1 .. the number of buffers
 *   spin_ns         0 .. 1000000000 (1 s)
 *   max_topics      0 (no topics) .. 4096
 *   max_subscribers 1 .. 64
 *   the whole region at most 1 TiB.
 *
 * Fields are only ever appended. A program built against an older header
 * keeps working: hsipc_config_init sets struct_size to the size the program
 * was built with (symbol versions pick the right one), and the functions
 * that take a hsipc_config accept any size the struct has had, read and
 * write only that many bytes, and treat the fields past it as their
 * defaults. Sizes so far: 152 (up to max_buffers_per_process), 168 (with
 * spin_ns, max_topics and max_subscribers).
 */
typedef struct hsipc_config {
    uint32_t struct_size;    /* sizeof(hsipc_config); set by hsipc_config_init */
    uint32_t max_endpoints;  /* default 64 */
    uint32_t inbox_capacity; /* messages an inbox holds; rounded up to a power of two; default 1024 */
    uint32_t pool_count;     /* default 3 */
    hsipc_pool_config pools[HSIPC_MAX_POOLS]; /* strictly ascending sizes; default
                                                 256 B x 4096, 64 KiB x 256, 4 MiB x 8 */
    uint32_t mode; /* permission bits of the shared memory object; default 0600 */
    uint32_t max_buffers_per_process; /* buffers one process may hold at once
                                         (allocated or received); 0 = no limit, the default */
    int64_t spin_ns; /* how long a waiting poll on an endpoint of this region spins before
                        it sleeps, unless hsipc_endpoint_set_spin says otherwise;
                        default 50000 (50 us), 0 sleeps at once */
    uint32_t max_topics;      /* topics the region can hold; default 64, 0 for none */
    uint32_t max_subscribers; /* subscribers per topic; default 16. Every buffer carries
                                 max_subscribers 8-byte reference words where
                                 max_topics > 0 */
} hsipc_config;

typedef struct hsipc_msg {
    hsipc_off off;   /* the buffer; the receiver now owns it (or, shared, a reference to it) */
    uint64_t length; /* bytes the sender declared */
    hsipc_id from;   /* the sending endpoint, for replies */
    uint32_t flags;  /* HSIPC_MSG_* bits */
    void *data;      /* off translated into this process's mapping */
} hsipc_msg;

/* msg.flags: the buffer came from hsipc_publish and is shared with the
 * topic's other subscribers: read it, never write it, and do not send or
 * publish it on (HSIPC_EBADOFF); hsipc_release lets this receiver's
 * reference go. */
#define HSIPC_MSG_SHARED 1u

/* ---- Status codes ----------------------------------------------------- */

/* Defined once: X(name, value, sentence). The enum below, hsipc_strerror
 * and the language bindings are all generated from this list. */
#define HSIPC_STATUS_MAP(X)                                                                     \
    X(HSIPC_OK, 0, "success")                                                                   \
    X(HSIPC_EINVAL, -1, "invalid argument")                                                     \
    X(HSIPC_ENOENT, -2, "no region, endpoint or file of that name")                             \
    X(HSIPC_EEXIST, -3, "a live endpoint already has that name")                                \
    X(HSIPC_ENOMEM, -4, "no free buffer large enough, or no free endpoint or process slot")     \
    X(HSIPC_EFULL, -5, "destination inbox is full; the sender still owns the buffer")           \
    X(HSIPC_EAGAIN, -6, "nothing arrived within the timeout")                                   \
    X(HSIPC_EBADOFF, -7, "the offset is not a live buffer owned by the caller")                 \
    X(HSIPC_EPEER, -8, "destination endpoint is closed, stale or its process died")             \
    X(HSIPC_EVERSION, -9, "region was made by an incompatible layout version")                  \
    X(HSIPC_ECORRUPT, -10, "region failed validation")                                          \
    X(HSIPC_EPERM, -11, "access refused")                                                       \
    X(HSIPC_ETOOBIG, -12, "size exceeds the largest pool's buffer size")                        \
    X(HSIPC_ESYS, -13, "operating-system error; errno holds it")                                \
    X(HSIPC_EINTR, -14, "a signal handler ran while waiting")

#define HSIPC_STATUS_ENUM_ENTRY_(name, value, sentence) name = (value),
enum hsipc_status { HSIPC_STATUS_MAP(HSIPC_STATUS_ENUM_ENTRY_) HSIPC_STATUS_END_ = 1 };
#undef HSIPC_STATUS_ENUM_ENTRY_

/* A static English sentence for any value, including unknown ones. */
HSIPC_API const char *hsipc_strerror(int status) HSIPC_NOEXCEPT;

/* (major << 16) | (minor << 8) | patch of the library actually loaded. */
HSIPC_API uint32_t hsipc_version(void) HSIPC_NOEXCEPT;

/* ---- Configuration ---------------------------------------------------- */

/* Fills *cfg with the defaults above and sets struct_size to
 * sizeof(hsipc_config) as the caller was compiled (a program built against
 * an older header binds an older version of this symbol, which writes only
 * its smaller struct). NULL is ignored. */
HSIPC_API void hsipc_config_init(hsipc_config *cfg) HSIPC_NOEXCEPT;

/*
 * Overlays the stored configuration file at `path` on *cfg. The file holds
 * lines of `key = value`; `#` starts a comment. Keys: max_endpoints,
 * inbox_capacity, mode (octal), max_buffers_per_process, spin_ns
 * (nanoseconds, or in the unit ns, us, ms or s written right after the
 * number), max_topics, max_subscribers, and `pool = SIZE x COUNT` once per pool (SIZE may end in K, M
 * or G). Keys absent from the file keep cfg's values; pool lines, where
 * present, replace the whole pool list. The merged result is validated as
 * hsipc_attach would. A key for a field past cfg->struct_size (a caller
 * built against an older header) is checked and then dropped. On any error
 * *cfg is unchanged.
 * Errors: HSIPC_EINVAL (NULL, bad struct_size, unknown key, malformed line,
 * bad number, out-of-range value, a directory or a file over 1 MiB),
 * HSIPC_ENOENT (no such file), HSIPC_EPERM (not readable), HSIPC_ESYS.
 */
HSIPC_API int hsipc_config_load(hsipc_config *cfg, const char *path) HSIPC_NOEXCEPT;

/* ---- Regions ---------------------------------------------------------- */

/*
 * Attaches to region `name` (shared memory object /hsipc.NAME, i.e.
 * /dev/shm/hsipc.NAME), creating and configuring it from cfg where none
 * exists. Exactly one of any number of racing attachers creates it; the
 * region is built unnamed and published complete, so no one ever sees it
 * half-made. cfg NULL means the defaults overlaid with the file named by the
 * HSIPC_CONFIG environment variable where that is set and non-empty; a cfg
 * of an older struct_size creates with the defaults of the fields past it.
 * Where the region exists cfg is ignored (see hsipc_region_config). Every
 * attach validates the region (magic, layout version, layout fingerprint,
 * sizes against the object's real size). Space is reserved at creation, so
 * a full /dev/shm is an error here, never a SIGBUS later. An existing
 * object not owned by the caller's effective uid is refused unless its mode
 * grants the caller read and write (privileged callers included). When the
 * region's process table is full, dead processes are reaped first.
 * Errors: HSIPC_EINVAL (NULL, bad name, bad cfg), HSIPC_EPERM (ownership
 * check, symlink or non-regular file at the name, or refused by the OS),
 * HSIPC_EVERSION, HSIPC_ECORRUPT, HSIPC_ENOMEM (process table full),
 * HSIPC_ESYS (e.g. ENOSPC when /dev/shm is full), and the errors of
 * hsipc_config_load for HSIPC_CONFIG.
 */
HSIPC_API int hsipc_attach(const char *name, const hsipc_config *cfg,
                           hsipc_region **out) HSIPC_NOEXCEPT;

/*
 * As hsipc_attach, but never creates: a missing region is HSIPC_ENOENT.
 * For tools that inspect regions (the hsipc command).
 * Errors: those of hsipc_attach, and HSIPC_ENOENT.
 */
HSIPC_API int hsipc_attach_existing(const char *name, hsipc_region **out) HSIPC_NOEXCEPT;

/*
 * Closes the handle's endpoints (messages queued to them return to the
 * pools), unmaps, and frees the handle, even when it returns an error. When
 * this is the process's last handle to the region, every buffer the process
 * still holds there returns to the pools, as if it had died. The region
 * itself stays until hsipc_unlink.
 * Errors: HSIPC_EINVAL (NULL), HSIPC_ESYS.
 */
HSIPC_API int hsipc_detach(hsipc_region *r) HSIPC_NOEXCEPT;

/*
 * Removes the name; attached processes keep working, and the memory is
 * freed when the last of them detaches.
 * Errors: HSIPC_EINVAL (bad name), HSIPC_ENOENT, HSIPC_EPERM, HSIPC_ESYS.
 */
HSIPC_API int hsipc_unlink(const char *name) HSIPC_NOEXCEPT;

/*
 * Writes the region's effective configuration (inbox_capacity after
 * rounding) to *out, as far as out->struct_size reaches: the caller sets it
 * first (hsipc_config_init does) to a size hsipc_config has had, so a
 * library whose struct has grown never writes past an older caller's.
 * Errors: HSIPC_EINVAL (NULL or unknown struct_size).
 */
HSIPC_API int hsipc_region_config(hsipc_region *r, hsipc_config *out) HSIPC_NOEXCEPT;

/* ---- Introspection ---------------------------------------------------- */
/* Snapshots for tools (the hsipc command): the region may change while
 * they are taken, so counts can be off by the operations in flight. The
 * caller sets struct_size to sizeof the struct; later versions may add
 * fields at the end. */

typedef struct hsipc_pool_stats {
    uint32_t struct_size; /* sizeof(hsipc_pool_stats), set by the caller */
    uint32_t buffer_count;
    uint64_t buffer_size;
    uint32_t free_count;   /* in the pool */
    uint32_t held_count;   /* allocated or received by some process */
    uint32_t queued_count; /* sent and not yet received */
    uint32_t shared_count; /* published: referenced by subscribers (queued to them or received)
                              until the last lets go. The four counts add up to buffer_count */
} hsipc_pool_stats;

/*
 * Buffer counts of pool `pool` (0 .. pool_count - 1).
 * Errors: HSIPC_EINVAL (NULL, bad struct_size, pool out of range).
 */
HSIPC_API int hsipc_region_pool_stats(hsipc_region *r, uint32_t pool, hsipc_pool_stats *out) HSIPC_NOEXCEPT;

typedef struct hsipc_endpoint_info {
    uint32_t struct_size; /* sizeof(hsipc_endpoint_info), set by the caller */
    hsipc_id id;
    char name[HSIPC_NAME_MAX + 1];
    int32_t owner_pid;    /* as the owner recorded it (pids are reused: see owner_alive) */
    uint32_t owner_alive; /* 1 while the owning process lives */
    uint32_t queued;      /* messages waiting in its inbox */
    uint32_t reserved;
} hsipc_endpoint_info;

/*
 * The endpoint in table slot `slot` (0 .. max_endpoints - 1).
 * Errors: HSIPC_EINVAL (NULL, bad struct_size, slot out of range),
 * HSIPC_ENOENT (no endpoint in that slot), HSIPC_ESYS.
 */
HSIPC_API int hsipc_region_endpoint_info(hsipc_region *r, uint32_t slot,
                                         hsipc_endpoint_info *out) HSIPC_NOEXCEPT;

#define HSIPC_MAX_SUBSCRIBERS 64 /* the largest max_subscribers */

typedef struct hsipc_topic_info {
    uint32_t struct_size; /* sizeof(hsipc_topic_info), set by the caller */
    hsipc_id id;          /* for hsipc_publish */
    char name[HSIPC_NAME_MAX + 1];
    uint32_t subscriber_count;                 /* open endpoints subscribed now */
    uint32_t reserved;
    hsipc_id subscribers[HSIPC_MAX_SUBSCRIBERS]; /* the first subscriber_count: their ids */
} hsipc_topic_info;

/*
 * The topic in table slot `slot` (0 .. max_topics - 1), with its
 * subscribers as one consistent snapshot.
 * Errors: HSIPC_EINVAL (NULL, bad struct_size, slot out of range),
 * HSIPC_ENOENT (no topic in that slot), HSIPC_ESYS.
 */
HSIPC_API int hsipc_region_topic_info(hsipc_region *r, uint32_t slot, hsipc_topic_info *out) HSIPC_NOEXCEPT;

/* ---- Endpoints -------------------------------------------------------- */

/*
 * Creates this process's inbox `name` and registers it in the region's
 * naming service. An endpoint whose process died is reaped rather than
 * reported as existing.
 * Each open gets an id no endpoint of the region ever had before: an
 * endpoint slot whose ids are used up retires, so a region serves about
 * 2^30 opens in its life (34 years at one a second), after which opening
 * fails with HSIPC_ENOMEM until the region is made anew.
 * Errors: HSIPC_EINVAL (NULL, bad name), HSIPC_EEXIST, HSIPC_ENOMEM (no free
 * endpoint slot even after reaping), HSIPC_ESYS (errno ETIMEDOUT where the
 * region lock, held only for microseconds by others, was not obtained
 * within 10 s).
 */
HSIPC_API int hsipc_endpoint_open(hsipc_region *r, const char *name,
                                  hsipc_endpoint **out) HSIPC_NOEXCEPT;

/*
 * Closes the endpoint and frees the handle: messages queued to it return to
 * the pools and its id becomes stale for good (no later endpoint gets it).
 * Errors: HSIPC_EINVAL (NULL), HSIPC_ESYS.
 */
HSIPC_API int hsipc_endpoint_close(hsipc_endpoint *ep) HSIPC_NOEXCEPT;

/* The endpoint's id, for hsipc_send_offset; 0 (never valid) for NULL. */
HSIPC_API hsipc_id hsipc_endpoint_id(const hsipc_endpoint *ep) HSIPC_NOEXCEPT;

/*
 * Finds the id of the open endpoint `name`, from any process.
 * Errors: HSIPC_EINVAL (NULL, bad name), HSIPC_ENOENT, HSIPC_ESYS.
 */
HSIPC_API int hsipc_lookup(hsipc_region *r, const char *name, hsipc_id *out) HSIPC_NOEXCEPT;

/*
 * As hsipc_lookup, but where no endpoint has the name yet, sleeps until one
 * is opened or timeout_ns passes (0 looks once, > 0 waits at most that
 * long, HSIPC_FOREVER without limit): what a client starting beside its
 * server needs instead of a loop with sleeps. It sleeps on a futex in the
 * region that every endpoint open wakes, and looks again at least every
 * 64 ms; it never spins.
 * Errors: HSIPC_EINVAL (NULL, bad name, other negative timeout),
 * HSIPC_ENOENT (the timeout passed), HSIPC_EINTR (a signal handler ran while
 * it slept), HSIPC_ESYS.
 */
HSIPC_API int hsipc_lookup_wait(hsipc_region *r, const char *name, int64_t timeout_ns,
                                hsipc_id *out) HSIPC_NOEXCEPT;

/*
 * Sets how long a waiting hsipc_poll, hsipc_poll_many or hsipc_poll_batch on
 * this endpoint spins before it sleeps (0: sleep at once), in place of the
 * region's spin_ns (hsipc_config; 50 us unless configured) that it opened with.
 * Spinning catches a reply within a round trip without a system call on
 * either side, at the price of a core while it lasts: a receiver of 10,000
 * evenly spaced messages a second used 56% of a core with the default spin
 * and 10% with 0 (docs/performance.md, "Spinning"). Any thread may call it,
 * also while another polls.
 * Errors: HSIPC_EINVAL (NULL, negative spin_ns).
 */
HSIPC_API int hsipc_endpoint_set_spin(hsipc_endpoint *ep, int64_t spin_ns) HSIPC_NOEXCEPT;

/*
 * A file descriptor that becomes readable when a message may be waiting in
 * ep's inbox, for epoll, poll, select or io_uring beside sockets, timers
 * and signals. The same fd every call; owned by the endpoint and closed by
 * hsipc_endpoint_close (or hsipc_detach): never read from it, never close
 * it. It is a Unix datagram socket named /dev/shm/hsipc.REGION@...; its
 * file has the region's permission bits and group, so only a process that
 * may open the region can make it readable. It goes when the endpoint
 * closes, when a reap finds its process dead, or with hsipc_unlink.
 * The loop, level- or edge-triggered alike:
 *     hsipc_endpoint_fd(ep, &fd);  add fd to epoll for EPOLLIN
 *     for (;;) {
 *         while (hsipc_poll(ep, &msg, 0) == HSIPC_OK) handle(&msg);
 *         if (hsipc_endpoint_arm(ep) == 1) continue;  a message came meanwhile
 *         epoll_wait(...);
 *     }
 * Errors: HSIPC_EINVAL (NULL), HSIPC_EPERM (the socket file cannot be
 * given the region's group), HSIPC_ENOMEM (out of file descriptors),
 * HSIPC_ESYS.
 */
HSIPC_API int hsipc_endpoint_fd(hsipc_endpoint *ep, int *fd) HSIPC_NOEXCEPT;

/*
 * Call before waiting on the endpoint's fd (makes it if need be). Returns
 * HSIPC_OK where the inbox is empty and the endpoint is now "armed": the
 * next message sent to it makes the fd readable. Returns 1 where a message
 * is already waiting: poll it now, do not wait. Arming clears readiness
 * left from earlier wake-ups. Senders make a system call only for an armed
 * (or sleeping) receiver, and a burst of messages to it costs one wake-up.
 * The next hsipc_poll, hsipc_poll_many or hsipc_poll_batch disarms it and
 * clears the fd's readiness, so arm again before every wait; a poll with a
 * timeout may be used on the same endpoint in between. A sender that dies
 * between its message and its wake-up leaves the fd unreadable until a
 * reap (hsipc_reap, or the one an allocation or an endpoint open makes)
 * finds it dead and makes every armed endpoint's fd readable; a loop that
 * must not depend on others' reaps waits with a timeout and arms again.
 * Call it from the thread that polls the endpoint.
 * Errors: as hsipc_endpoint_fd.
 */
HSIPC_API int hsipc_endpoint_arm(hsipc_endpoint *ep) HSIPC_NOEXCEPT;

/* ---- Buffers and messages --------------------------------------------- */

/*
 * Gives the calling process a buffer of at least `size` bytes from the
 * smallest pool that fits and has a free buffer. Lock-free; no system call
 * unless every fitting pool is exhausted. Then it looks for processes that
 * died (one system call per attached process, without the region lock) and,
 * where one did, reaps it and tries once more. It looks on the first 8
 * failures in a row and then at most every 5 ms, so a caller spinning on
 * HSIPC_ENOMEM costs the kernel little and still gets a dead holder's
 * buffers within about 5 ms.
 * Errors: HSIPC_EINVAL (NULL, size 0), HSIPC_ETOOBIG, HSIPC_ENOMEM (no free
 * buffer, or the process holds max_buffers_per_process already).
 */
HSIPC_API int hsipc_alloc(hsipc_region *r, size_t size, hsipc_off *out) HSIPC_NOEXCEPT;

/* The buffer's address in this mapping; NULL unless off is a live buffer of
 * this process (held, or received shared). */
HSIPC_API void *hsipc_ptr(hsipc_region *r, hsipc_off off) HSIPC_NOEXCEPT;

/* Usable bytes of the buffer; 0 unless off is a live buffer of this process
 * (held, or received shared). */
HSIPC_API size_t hsipc_capacity(hsipc_region *r, hsipc_off off) HSIPC_NOEXCEPT;

/*
 * Appends buffer `off` (a buffer this process holds, allocated or received)
 * with `length` declared bytes to the inbox of endpoint `to`. On HSIPC_OK
 * the receiver owns the buffer and the sender must not touch it; on any
 * error the sender still owns it. Never blocks; makes a system call only to
 * wake a receiver that is asleep. A send to an endpoint whose process died
 * but was not yet reaped succeeds; the message returns to its pool when the
 * dead process is reaped. A send that races the close of its destination
 * returns HSIPC_OK where the message reached the inbox before the close
 * (which then returned it to its pool), else HSIPC_EPEER; it never reaches
 * an endpoint opened later under the same name.
 * Errors: HSIPC_EINVAL (NULL, length > capacity), HSIPC_EBADOFF, HSIPC_EPEER
 * (closed, stale, dead or made-up id), HSIPC_EFULL, HSIPC_ECORRUPT.
 */
HSIPC_API int hsipc_send_offset(hsipc_endpoint *from, hsipc_id to, hsipc_off off,
                                size_t length) HSIPC_NOEXCEPT;

/*
 * Takes the next message from the endpoint's inbox into *msg; the caller
 * now owns msg->off. timeout_ns 0 checks once and never makes a system call;
 * > 0 waits at most that long; HSIPC_FOREVER waits without limit. A waiting
 * receiver spins briefly, then sleeps on a futex in the region, looking at
 * its inbox again at least every 64 ms: a sender killed between publishing
 * a message and waking the receiver delays it by at most that. Messages
 * from one sender arrive in the order sent. Entries a faulty peer wrote into
 * the inbox that name no buffer queued to it are dropped.
 * A wait during which a signal handler ran returns HSIPC_EINTR promptly,
 * with or without SA_RESTART, as read() and poll() do, so that a daemon's
 * stop flag is seen; a message that arrived meanwhile is returned instead.
 * Errors: HSIPC_EINVAL (NULL, other negative timeout), HSIPC_EAGAIN,
 * HSIPC_ECORRUPT (the inbox itself is damaged), HSIPC_EINTR, HSIPC_ESYS.
 */
HSIPC_API int hsipc_poll(hsipc_endpoint *ep, hsipc_msg *msg, int64_t timeout_ns) HSIPC_NOEXCEPT;

/*
 * As hsipc_poll, but takes up to `max` messages at once into msgs[0..]:
 * waits (as hsipc_poll does with timeout_ns) for the first, then takes
 * those already queued behind it, and sets *count to how many it took (at
 * least 1 on HSIPC_OK). Their buffer headers and payloads are fetched from
 * the sender's cache together rather than one by one, which is what makes
 * a batch faster than as many polls. A batch ends before a damaged entry,
 * which the next call reports; an entry naming a buffer not queued to this
 * endpoint is dropped, as hsipc_poll drops it, and also ends the batch.
 * Errors: HSIPC_EINVAL (NULL, max 0, other negative timeout), HSIPC_EAGAIN,
 * HSIPC_ECORRUPT, HSIPC_EINTR, HSIPC_ESYS.
 */
HSIPC_API int hsipc_poll_many(hsipc_endpoint *ep, hsipc_msg *msgs, size_t max, int64_t timeout_ns,
                              size_t *count) HSIPC_NOEXCEPT;

/*
 * The receive for a stream of small messages: as hsipc_poll_many, except
 * that once the first message is there it waits up to linger_ns more for
 * `max` messages (at most the inbox capacity) to be queued, then takes up
 * to `max`. Lingering spins and makes no system call; with timeout_ns 0 an
 * empty inbox still returns HSIPC_EAGAIN at once. linger_ns 0, max 1 or a
 * single online CPU make it hsipc_poll_many.
 * Why: a receiver that takes each message the moment it lands reads the
 * inbox and buffer lines its sender is still writing, and every such read
 * stalls the sender's next atomic operation until the line comes back; on
 * 64-byte messages that costs the sender more than half its rate (see
 * docs/performance.md). Taking whole batches keeps the receiver on lines
 * the sender is done with. The price: a message may wait up to linger_ns
 * for its batch to fill. Use hsipc_poll for latency, this for throughput.
 * Errors: HSIPC_EINVAL (NULL, max 0, negative linger_ns, other negative
 * timeout), HSIPC_EAGAIN, HSIPC_ECORRUPT, HSIPC_EINTR, HSIPC_ESYS.
 */
HSIPC_API int hsipc_poll_batch(hsipc_endpoint *ep, hsipc_msg *msgs, size_t max, int64_t timeout_ns,
                               int64_t linger_ns, size_t *count) HSIPC_NOEXCEPT;

/*
 * Returns a buffer the process holds to its pool. For a buffer received
 * shared (HSIPC_MSG_SHARED), lets this receiver's reference go; the buffer
 * returns to its pool with the last one. Lock-free, no system call.
 * Errors: HSIPC_EINVAL (NULL), HSIPC_EBADOFF (double release, an offset from
 * nowhere, or one held by another process; nothing changes).
 */
HSIPC_API int hsipc_release(hsipc_region *r, hsipc_off off) HSIPC_NOEXCEPT;

/* ---- Topics: one buffer, many receivers ---------------------------------- */

/*
 * Finds or creates topic `name` (the endpoint name rules) and gives its id,
 * for hsipc_publish. Topic ids are hsipc_id values in a space of their own
 * (a topic id is never an endpoint's); a topic lives as long as its region.
 * Errors: HSIPC_EINVAL (NULL, bad name), HSIPC_ENOMEM (max_topics topics
 * exist, or the region has none configured), HSIPC_ESYS.
 */
HSIPC_API int hsipc_topic_open(hsipc_region *r, const char *name, hsipc_id *out) HSIPC_NOEXCEPT;

/*
 * From now on, messages published to topic `topic` (found or created by
 * name) also arrive in ep's inbox, mixed with point-to-point ones and taken
 * by the same hsipc_poll calls, each publisher's in the order published.
 * Subscribing again changes nothing. Closing the endpoint (or its
 * process's death and reap) unsubscribes it.
 * Errors: HSIPC_EINVAL (NULL, bad name), HSIPC_ENOMEM (the topic has
 * max_subscribers subscribers, or the table is full), HSIPC_EPEER (the
 * endpoint was closed), HSIPC_ESYS.
 */
HSIPC_API int hsipc_subscribe(hsipc_endpoint *ep, const char *topic) HSIPC_NOEXCEPT;

/*
 * Stops delivery of topic `topic` to ep; messages already queued stay.
 * Errors: HSIPC_EINVAL (NULL, bad name), HSIPC_ENOENT (not subscribed),
 * HSIPC_ESYS.
 */
HSIPC_API int hsipc_unsubscribe(hsipc_endpoint *ep, const char *topic) HSIPC_NOEXCEPT;

/*
 * Delivers buffer `off` (held by the caller, `length` declared bytes) to
 * every current subscriber of `topic` whose inbox has room, and sets
 * *delivered to how many received it. The bytes are written once and read
 * in place by every subscriber: each gets the same offset, flagged
 * HSIPC_MSG_SHARED, and the buffer returns to its pool when the last of
 * them releases it (by hsipc_release, closing its endpoint, detaching or
 * dying). On HSIPC_OK the caller no longer owns the buffer, even when
 * *delivered is 0 (it returns to its pool at once). A subscriber whose
 * inbox is full misses this message and is counted in *skipped (NULL
 * allowed); it never slows the publisher or the others. Lock-free; a
 * system call only to wake a subscriber that waits. On any error nothing
 * was delivered and the caller still owns the buffer.
 * Errors: HSIPC_EINVAL (NULL, length > capacity, an id no topic has),
 * HSIPC_EBADOFF (not a buffer the caller holds, e.g. one received shared).
 */
HSIPC_API int hsipc_publish(hsipc_endpoint *from, hsipc_id topic, hsipc_off off, size_t length,
                            uint32_t *delivered, uint32_t *skipped) HSIPC_NOEXCEPT;

/*
 * Finds processes attached to the region that died (the kernel drops a lock
 * each one holds, so pid reuse cannot fool it) and returns to the pools every
 * buffer they held and every message queued to their endpoints, and frees
 * their endpoint names. Messages they sent that sit in a live inbox stay;
 * buffers they were sending and had not yet published return. Linear in
 * the region's size.
 * Returns the number of buffers and endpoints reclaimed (0 when nothing was
 * dead), or an error.
 * Errors: HSIPC_EINVAL (NULL), HSIPC_ECORRUPT, HSIPC_ESYS.
 */
HSIPC_API int hsipc_reap(hsipc_region *r) HSIPC_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HSIPC_H */
