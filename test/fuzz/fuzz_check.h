// FUZZ_CHECK: the invariant checks of the fuzz targets. A failed check
// prints what failed and aborts, so libFuzzer (and the replay driver under
// ctest) report the input; unlike assert() it is never compiled out.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                          \
  do {                                                                 \
    if (!(condition)) {                                                \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, \
                   __LINE__, #condition);                              \
      std::abort();                                                    \
    }                                                                  \
  } while (0)
