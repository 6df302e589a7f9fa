/* snap.c: snapshot files (see zk-snap(1)) */
#include "zk.h"
