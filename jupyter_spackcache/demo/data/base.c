/* DEMO_PREFIX is the install prefix, compiled in so that relocation has to rewrite it. */
#include "demo_base.h"

const char *demo_base_prefix(void) { return DEMO_PREFIX; }

long demo_base_square(long x) { return x * x; }
