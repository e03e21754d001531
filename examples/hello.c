/* SPDX-License-Identifier: MIT */
/* The smallest complete hsipc program: one process sends itself a message.
 * Build: cc hello.c -lhsipc */
#include <hsipc.h>
#include <stdio.h>
#include <string.h>

static int check(int rc, const char *what) {
    if (rc < 0) fprintf(stderr, "%s: %s\n", what, hsipc_strerror(rc));
    return rc < 0;
}

int main(void) {
    hsipc_region *region;
    hsipc_endpoint *inbox;
    hsipc_id me;
    hsipc_off off;
    hsipc_msg msg;

    if (check(hsipc_attach("hello", NULL, &region), "attach")) return 1;
    if (check(hsipc_endpoint_open(region, "greeter", &inbox), "open")) goto detach;
    if (check(hsipc_lookup(region, "greeter", &me), "lookup")) goto detach;

    if (check(hsipc_alloc(region, 64, &off), "alloc")) goto detach;
    strcpy(hsipc_ptr(region, off), "hello, shared memory");          /* write in place */
    if (check(hsipc_send_offset(inbox, me, off, 21), "send")) {        /* on error we still own it */
        hsipc_release(region, off);
        goto detach;
    }

    if (check(hsipc_poll(inbox, &msg, 1000000000), "poll")) goto detach; /* wait up to 1 s */
    printf("received %llu bytes: %s\n", (unsigned long long)msg.length, (const char *)msg.data);
    hsipc_release(region, msg.off);

detach:
    hsipc_detach(region); /* closes the endpoint too */
    hsipc_unlink("hello");
    return 0;
}
