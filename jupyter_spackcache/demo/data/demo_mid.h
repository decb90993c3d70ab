/* libdemo-mid: links libdemo-base. */
#ifndef DEMO_MID_H
#define DEMO_MID_H
const char *demo_mid_prefix(void);
long demo_mid_combine(long x);
#endif
