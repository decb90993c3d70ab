#include "demo_base.h"
#include "demo_mid.h"

const char *demo_mid_prefix(void) { return DEMO_PREFIX; }

/* x*x + 3x + 1, the square coming from libdemo-base. */
long demo_mid_combine(long x) { return demo_base_square(x) + 3 * x + 1; }
