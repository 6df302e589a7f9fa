/* fuzz.h: what the libFuzzer targets in t/fuzz share. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdio.h>
#include <stdlib.h>

/* a property that must hold: else say which and abort, for libFuzzer */
#define ASSERT(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);	\
		abort();						\
	}								\
} while (0)

#endif
