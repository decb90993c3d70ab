/* libdemo-base: the bottom of the demo chain (tool -> mid -> base). */
#ifndef DEMO_BASE_H
#define DEMO_BASE_H
const char *demo_base_prefix(void);
long demo_base_square(long x);
#endif
