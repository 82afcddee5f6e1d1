/* Moves this process's wall clock (CLOCK_REALTIME, gettimeofday) ahead by $MERT_TEST_CLOCK_AHEAD_SECONDS, loaded with
   LD_PRELOAD: a process whose clock runs ahead, as on a machine without NTP, for Core.Tests.ps1. Monotonic clocks
   (Stopwatch, timers) are left alone. Built by the test with gcc (Linux only). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long ahead(void)
{
    const char *s = getenv("MERT_TEST_CLOCK_AHEAD_SECONDS");
    return s ? atol(s) : 0;
}

int clock_gettime(clockid_t id, struct timespec *tp)
{
    static int (*real)(clockid_t, struct timespec *);
    if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int r = real(id, tp);
    if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) tp->tv_sec += ahead();
    return r;
}

int gettimeofday(struct timeval *tv, void *tz)
{
    static int (*real)(struct timeval *, void *);
    if (!real) real = (int (*)(struct timeval *, void *))dlsym(RTLD_NEXT, "gettimeofday");
    int r = real(tv, tz);
    if (r == 0 && tv) tv->tv_sec += ahead();
    return r;
}
