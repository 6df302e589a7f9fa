/* zk-snap: write, check and dump znode snapshots (see zk-snap(1)) */
#include <stdio.h>
#include <sysexits.h>

#include "zk.h"

int
main(void)
{
	fprintf(stderr, "usage: zk-snap command ...\n");
	return EX_USAGE;
}
