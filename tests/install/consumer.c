/* SPDX-License-Identifier: MIT */
/* A program outside the project, built against the installed package only:
 * compiled as C and as C++, linked shared and static. */
#include <hsipc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    char name[64];
    hsipc_region *r;
    hsipc_endpoint *ep;
    hsipc_off off;
    hsipc_msg msg;
    int rc;
    snprintf(name, sizeof name, "install-consumer-%d", (int)getpid());
    if ((rc = hsipc_attach(name, NULL, &r)) != HSIPC_OK) {
        fprintf(stderr, "attach: %s\n", hsipc_strerror(rc));
        return 1;
    }
    hsipc_unlink(name);
    if (hsipc_endpoint_open(r, "me", &ep) || hsipc_alloc(r, 6, &off)) return 2;
    memcpy(hsipc_ptr(r, off), "hello", 6);
    if (hsipc_send_offset(ep, hsipc_endpoint_id(ep), off, 6) || hsipc_poll(ep, &msg, 0)) return 3;
    printf("consumer got \"%s\" from hsipc %u.%u\n", (const char *)msg.data, hsipc_version() >> 16,
           (hsipc_version() >> 8) & 0xff);
    hsipc_release(r, msg.off);
    return hsipc_detach(r) == HSIPC_OK ? 0 : 4;
}
