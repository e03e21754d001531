/* SPDX-License-Identifier: MIT */
/* echo: the C end of the cross-language test (bindings/python/tests).
 *
 *   echo REGION ENDPOINT [COUNT]
 *
 * Attaches to REGION (creating it with the defaults if need be), opens
 * ENDPOINT, and answers every message it receives: it reverses the
 * message's bytes in place and sends the same buffer back to the sender,
 * so the other side can tell that C really touched the data, and nothing
 * is copied. It exits 0 after COUNT messages, or, without COUNT, after
 * answering a message of length 0. Waiting more than 10 s for a message,
 * or any failed call, ends it with status 1 and the reason on stderr
 * (hsipc_strerror).
 *
 * Strict C11 and only <hsipc.h> beyond the standard library.
 */
#include <hsipc.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_NS 10000000000LL /* the longest wait for one message */

static int failed(int rc, const char *what) {
    if (rc == HSIPC_OK) return 0;
    fprintf(stderr, "echo: %s: %s\n", what, hsipc_strerror(rc));
    return 1;
}

static void reverse(unsigned char *p, size_t n) {
    for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
        unsigned char t = p[i];
        p[i] = p[j - 1];
        p[j - 1] = t;
    }
}

/* COUNT: a decimal number of messages, at least 1. */
static int parse_count(const char *text, unsigned long *out) {
    char *end;
    errno = 0;
    unsigned long n = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || n == 0) return 0;
    *out = n;
    return 1;
}

int main(int argc, char **argv) {
    unsigned long count = 0; /* 0: until a message of length 0 */
    if (argc < 3 || argc > 4 || (argc == 4 && !parse_count(argv[3], &count))) {
        fprintf(stderr, "usage: echo REGION ENDPOINT [COUNT]\n");
        return 2;
    }
    hsipc_region *region;
    if (failed(hsipc_attach(argv[1], NULL, &region), "attach")) return 1;
    hsipc_endpoint *ep;
    int status = 1;
    if (failed(hsipc_endpoint_open(region, argv[2], &ep), "open")) goto detach;

    for (unsigned long answered = 0;;) {
        hsipc_msg msg;
        int rc = hsipc_poll(ep, &msg, WAIT_NS);
        if (rc == HSIPC_EAGAIN) {
            fprintf(stderr, "echo: no message within %lld s\n", WAIT_NS / 1000000000LL);
            goto detach;
        }
        if (failed(rc, "poll")) goto detach;
        reverse(msg.data, (size_t)msg.length);
        rc = hsipc_send_offset(ep, msg.from, msg.off, (size_t)msg.length);
        if (failed(rc, "send")) {
            failed(hsipc_release(region, msg.off), "release"); /* on error we still own it */
            goto detach;
        }
        answered++;
        if (count ? answered == count : msg.length == 0) break;
    }
    status = 0;

detach:
    if (failed(hsipc_detach(region), "detach")) status = 1; /* closes the endpoint too */
    return status;
}
