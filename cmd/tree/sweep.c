/*
 * zk-tree's container and TTL sweep.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>


#include "zk.h"
#include "tree.h"

static struct zkbuf	 pbuf;

static void
candidate(const char *verb, const struct node *n)
{
	size_t	 off;

	zkbuf_reset(&pbuf);
	off = nodepath(&pbuf, n);
	zkl_begin(&logc->out, verb);
	zkl_put(&logc->out, "path", pbuf.p + off, pbuf.len - off);
	zkl_end(&logc->out);
}

void
sweep(struct node *n, int64_t now)
{
	struct node	*k;

	RB_FOREACH(k, kids, &n->kids)
		sweep(k, now);
	if (n->nkids > 0)
		return;
	if (n->kind == K_CONTAINER && n->cver > 0)
		candidate("deleteContainer", n);
	else if (n->kind == K_TTL && now > n->mtime + n->owner)
		candidate("deleteTTL", n);
}
