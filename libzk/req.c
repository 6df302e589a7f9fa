/* req.c: client requests to lines and reply lines to frames (zk-gate) */
#include <sys/types.h>

#include "zk.h"

int
zkreq_decode(struct zkbuf *line, const char *body, size_t len,
    int64_t session, const char *auth, int32_t *xid, int32_t *type)
{
	(void)line; (void)body; (void)len; (void)session; (void)auth;
	*xid = 0;
	*type = 0;
	return ZUNIMPLEMENTED;		/* to be written */
}

int
zkrep_encode(struct zkbuf *frame, const struct zkline *r, int32_t type)
{
	(void)frame; (void)r; (void)type;
	return -1;
}
