/* SPDX-License-Identifier: MIT */
/* eventloop: one thread, one epoll set, three kinds of event.
 *
 *   eventloop [REGION [ENDPOINT [SOCKET]]]
 *   (defaults: eventloop eventloop /tmp/hsipc-eventloop.sock)
 *
 * Serves at once
 *   - a Unix stream socket at SOCKET: every byte a client sends comes back
 *     to it, so each line is echoed (try `nc -U /tmp/hsipc-eventloop.sock`);
 *   - the hsipc endpoint ENDPOINT of region REGION (created with the
 *     defaults if need be): every message is answered as examples/echo.c
 *     answers it, its bytes reversed in place and the same buffer sent back
 *     to msg.from;
 *   - SIGTERM and SIGINT, through a signalfd: it closes the clients, the
 *     socket and the endpoint, detaches and exits 0.
 * No threads, no timeouts: between events it sleeps in epoll_wait and uses
 * no CPU at all. It prints "eventloop: ready ..." on stdout once all three
 * are in place. Errors go to stderr with hsipc_strerror or strerror; a
 * failed setup or a broken loop ends it with status 1, a bad command line
 * with 2.
 *
 * The hsipc part is three calls (include/hsipc.h): hsipc_endpoint_fd once,
 * to add the endpoint's fd to epoll; before every epoll_wait, take what
 * the inbox holds with hsipc_poll(ep, &msg, 0), then hsipc_endpoint_arm,
 * which returns 1 where a message came meanwhile (take it, do not wait).
 * The fd is the endpoint's: never read it or close it.
 */
#define _GNU_SOURCE /* accept4; also gives POSIX 2008 */
#include <hsipc.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CLIENT_BUFFER 4096 /* bytes read from a client before they are written back */

/* What an epoll event is about: the tag sits first in every source. */
enum kind { INBOX, SIGNALS, LISTENER, CLIENT };

struct source {
    enum kind kind;
    int fd;
};

/* A connected client and the bytes it sent that are not yet written back. */
struct client {
    struct source src; /* first: epoll hands back &src */
    struct client *next;
    size_t pending, written;
    unsigned char buf[CLIENT_BUFFER];
};

struct server {
    int epfd;
    hsipc_region *region;
    hsipc_endpoint *ep;
    struct source inbox, signals, listener;
    struct client *clients;
    const char *socket_path; /* set once we made the file, so we remove it */
};

static int hsipc_failed(int rc, const char *what) {
    if (rc >= 0) return 0;
    fprintf(stderr, "eventloop: %s: %s\n", what, hsipc_strerror(rc));
    return 1;
}

static int sys_failed(const char *what) {
    fprintf(stderr, "eventloop: %s: %s\n", what, strerror(errno));
    return 1;
}

static int watch(struct server *s, struct source *src, uint32_t events, int op) {
    struct epoll_event ev = {.events = events, .data.ptr = src};
    return epoll_ctl(s->epfd, op, src->fd, &ev);
}

/* ---- hsipc -------------------------------------------------------------- */

static void reverse(unsigned char *p, size_t n) {
    for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
        unsigned char t = p[i];
        p[i] = p[j - 1];
        p[j - 1] = t;
    }
}

/* Answers every message the inbox holds. A reply that cannot go (its
 * sender closed its endpoint, or its inbox is full) is that sender's
 * loss, not the server's: the buffer, still ours, goes back to the pool. */
static int drain_inbox(struct server *s) {
    for (;;) {
        hsipc_msg msg;
        int rc = hsipc_poll(s->ep, &msg, 0); /* 0: look once, no system call, never wait */
        if (rc == HSIPC_EAGAIN) return 0;
        if (hsipc_failed(rc, "poll")) return 1;
        reverse(msg.data, (size_t)msg.length);
        rc = hsipc_send_offset(s->ep, msg.from, msg.off, (size_t)msg.length);
        if (rc != HSIPC_OK) {
            fprintf(stderr, "eventloop: reply to endpoint %lu: %s\n", (unsigned long)msg.from, hsipc_strerror(rc));
            if (hsipc_failed(hsipc_release(s->region, msg.off), "release")) return 1;
        }
    }
}

/* ---- the Unix socket ---------------------------------------------------- */

/* Binds and listens at path. A socket file left by a server that died is
 * replaced; one a live server answers on is not. */
static int listen_at(struct server *s, const char *path) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        fprintf(stderr, "eventloop: socket path longer than %zu bytes: %s\n", sizeof addr.sun_path - 1, path);
        return 1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return sys_failed("socket");
    s->listener.fd = fd;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        struct stat st;
        if (errno != EADDRINUSE || lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) return sys_failed(path);
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe < 0) return sys_failed("socket");
        int alive = connect(probe, (struct sockaddr *)&addr, sizeof addr) == 0 || errno != ECONNREFUSED;
        close(probe);
        if (alive) {
            fprintf(stderr, "eventloop: %s: another server listens there\n", path);
            return 1;
        }
        if (unlink(path) != 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return sys_failed(path);
    }
    s->socket_path = path;
    if (listen(fd, 16) != 0) return sys_failed("listen");
    if (watch(s, &s->listener, EPOLLIN, EPOLL_CTL_ADD) != 0) return sys_failed("epoll_ctl");
    return 0;
}

static void drop_client(struct server *s, struct client *c) {
    for (struct client **p = &s->clients; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    close(c->src.fd); /* also takes it out of the epoll set */
    free(c);
}

static int accept_clients(struct server *s) {
    for (;;) {
        int fd = accept4(s->listener.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EINTR) return 0;
            /* Out of descriptors or memory: refuse this one, keep serving the rest. */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                sys_failed("accept");
                return 0;
            }
            return sys_failed("accept");
        }
        struct client *c = malloc(sizeof *c);
        if (!c) {
            fprintf(stderr, "eventloop: out of memory for a client\n");
            close(fd);
            continue;
        }
        c->src = (struct source){CLIENT, fd};
        c->pending = c->written = 0;
        if (watch(s, &c->src, EPOLLIN, EPOLL_CTL_ADD) != 0) {
            sys_failed("epoll_ctl");
            close(fd);
            free(c);
            continue;
        }
        c->next = s->clients;
        s->clients = c;
    }
}

/* Echoes what the client sent. While its bytes cannot all be written back
 * (it does not read), it is watched for room to write instead of for
 * input, so a slow client holds at most CLIENT_BUFFER bytes here. */
static void serve_client(struct server *s, struct client *c) {
    for (;;) {
        if (c->written < c->pending) {
            ssize_t n = send(c->src.fd, c->buf + c->written, c->pending - c->written, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (watch(s, &c->src, EPOLLOUT, EPOLL_CTL_MOD) != 0) break;
                return;
            }
            if (n < 0) break; /* the client went away */
            c->written += (size_t)n;
            if (c->written < c->pending) continue;
            c->pending = c->written = 0;
            if (watch(s, &c->src, EPOLLIN, EPOLL_CTL_MOD) != 0) break;
        }
        ssize_t n = recv(c->src.fd, c->buf, sizeof c->buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0) break; /* end of file, or an error: either way it is gone */
        c->pending = (size_t)n;
    }
    drop_client(s, c);
}

/* ---- setup and teardown ------------------------------------------------- */

/* The signals arrive as reads from a descriptor, not as handlers: blocked
 * first, so that none is delivered the ordinary way. */
static int watch_signals(struct server *s) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return sys_failed("sigprocmask");
    s->signals.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->signals.fd < 0) return sys_failed("signalfd");
    if (watch(s, &s->signals, EPOLLIN, EPOLL_CTL_ADD) != 0) return sys_failed("epoll_ctl");
    return 0;
}

static int open_endpoint(struct server *s, const char *region, const char *endpoint) {
    if (hsipc_failed(hsipc_attach(region, NULL, &s->region), "attach")) return 1;
    if (hsipc_failed(hsipc_endpoint_open(s->region, endpoint, &s->ep), "endpoint_open")) return 1;
    if (hsipc_failed(hsipc_endpoint_fd(s->ep, &s->inbox.fd), "endpoint_fd")) return 1;
    if (watch(s, &s->inbox, EPOLLIN, EPOLL_CTL_ADD) != 0) return sys_failed("epoll_ctl");
    return 0;
}

static int shut_down(struct server *s) {
    int status = 0;
    while (s->clients) drop_client(s, s->clients);
    if (s->listener.fd >= 0) close(s->listener.fd);
    if (s->socket_path && unlink(s->socket_path) != 0) status = sys_failed(s->socket_path);
    /* The endpoint's fd goes with the endpoint: not ours to close. */
    if (s->ep && hsipc_failed(hsipc_endpoint_close(s->ep), "endpoint_close")) status = 1;
    if (s->region && hsipc_failed(hsipc_detach(s->region), "detach")) status = 1;
    if (s->signals.fd >= 0) close(s->signals.fd);
    if (s->epfd >= 0) close(s->epfd);
    return status;
}

/* ---- the loop ----------------------------------------------------------- */

/* Until a stop signal: 0 then, 1 where the loop itself broke. */
static int run(struct server *s) {
    for (;;) {
        /* Every pass, whatever woke us: take what the inbox holds, then arm
         * the fd so the next message makes it readable. 1: a message came
         * between the last look and the arm; take it rather than sleep. */
        if (drain_inbox(s)) return 1;
        int rc = hsipc_endpoint_arm(s->ep);
        if (rc == 1) continue;
        if (hsipc_failed(rc, "endpoint_arm")) return 1;

        struct epoll_event events[16];
        int n = epoll_wait(s->epfd, events, 16, -1); /* no timeout: only events wake us */
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_failed("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct source *src = events[i].data.ptr;
            switch (src->kind) {
                case INBOX:
                    break; /* the next pass takes the messages */
                case SIGNALS: {
                    struct signalfd_siginfo si;
                    if (read(src->fd, &si, sizeof si) == (ssize_t)sizeof si) {
                        printf("eventloop: %s: shutting down\n", strsignal((int)si.ssi_signo));
                        return 0;
                    }
                    break; /* EAGAIN: someone else took it */
                }
                case LISTENER:
                    if (accept_clients(s)) return 1;
                    break;
                case CLIENT:
                    /* Dropping a client frees it; events later in this batch
                     * name only other sources, since each fd appears once. */
                    serve_client(s, (struct client *)src);
                    break;
            }
        }
    }
}

int main(int argc, char **argv) {
    if (argc > 4 || (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))) {
        fprintf(stderr,
                "usage: eventloop [REGION [ENDPOINT [SOCKET]]]\n"
                "  (defaults: eventloop eventloop /tmp/hsipc-eventloop.sock)\n"
                "Echoes lines on the Unix stream socket SOCKET and answers hsipc messages to\n"
                "ENDPOINT in REGION, in one epoll loop; SIGTERM or SIGINT stop it.\n");
        return argc > 4 ? 2 : 0;
    }
    const char *region = argc > 1 ? argv[1] : "eventloop";
    const char *endpoint = argc > 2 ? argv[2] : "eventloop";
    const char *socket_path = argc > 3 ? argv[3] : "/tmp/hsipc-eventloop.sock";

    struct server s = {.epfd = -1,
                       .inbox = {INBOX, -1},
                       .signals = {SIGNALS, -1},
                       .listener = {LISTENER, -1}};
    int status = 1;
    s.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s.epfd < 0) {
        sys_failed("epoll_create1");
    } else if (!watch_signals(&s) && !open_endpoint(&s, region, endpoint) && !listen_at(&s, socket_path)) {
        printf("eventloop: ready: region %s, endpoint %s, socket %s\n", region, endpoint, socket_path);
        fflush(stdout);
        status = run(&s);
    }
    if (shut_down(&s)) status = 1;
    fflush(stdout);
    return status;
}
