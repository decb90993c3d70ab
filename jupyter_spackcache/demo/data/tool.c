/* demo-tool: prints its own (compiled-in) prefix and a value computed through both libraries. */
#include <stdio.h>
#include <stdlib.h>

#include "demo_mid.h"

int main(int argc, char **argv) {
    long x = argc > 1 ? strtol(argv[1], NULL, 10) : 7;
    printf("demo-tool prefix: %s\n", DEMO_PREFIX);
    printf("libdemo-mid prefix: %s\n", demo_mid_prefix());
    printf("value: %ld\n", demo_mid_combine(x));
    return 0;
}
