/*
 * zk-tree's four-letter words: stats and the text ones.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <inttypes.h>
#include <string.h>

#include "zk.h"
#include "tree.h"

static struct zkbuf	 res, pbuf;

static void
text_watches(struct zkbuf *b, const char *word)
{
	struct wpath	*wp;
	struct wsess	*ws;
	struct watch	*w;
	size_t		 nsess = 0, npath = 0, total = 0;
	int		 any;

	if (strcmp(word, "wchs") == 0) {
		RB_FOREACH(ws, wstree, &wsessions) {
			TAILQ_FOREACH(w, &ws->w, bysess)
				if (w->mode[WT_DATA] != WM_NONE)
					break;
			nsess += w != NULL;
		}
		RB_FOREACH(wp, wptree, &wpaths) {
			any = 0;
			TAILQ_FOREACH(w, &wp->w, bypath)
				if (w->mode[WT_DATA] != WM_NONE) {
					any = 1;
					total++;
				}
			npath += any;
		}
		zkbuf_printf(b, "%zu connections watching %zu paths\n"
		    "Total watches:%zu\n", nsess, npath, total);
		return;
	}
	if (strcmp(word, "wchp") == 0) {
		RB_FOREACH(wp, wptree, &wpaths) {
			any = 0;
			TAILQ_FOREACH(w, &wp->w, bypath) {
				if (w->mode[WT_DATA] == WM_NONE)
					continue;
				if (!any)
					zkbuf_printf(b, "%s\n", wp->path);
				any = 1;
				zkbuf_printf(b, "\t0x%" PRIx64 "\n",
				    (uint64_t)w->ws->id);
			}
		}
	} else {
		RB_FOREACH(ws, wstree, &wsessions) {
			any = 0;
			TAILQ_FOREACH(w, &ws->w, bysess) {
				if (w->mode[WT_DATA] == WM_NONE)
					continue;
				if (!any)
					zkbuf_printf(b, "0x%" PRIx64 "\n",
					    (uint64_t)ws->id);
				any = 1;
				zkbuf_printf(b, "\t%s\n", w->wp->path);
			}
		}
	}
	zkbuf_addc(b, '\n');
}

static void
text_dump(struct zkbuf *b)
{
	struct sess		*s;
	const struct node	*n;
	size_t			 k = 0, off;

	RB_FOREACH(s, sesstree, &sessions)
		k += s->hadeph;
	zkbuf_printf(b, "ephemeral nodes dump:\nSessions with Ephemerals "
	    "(%zu):\n", k);
	RB_FOREACH(s, sesstree, &sessions) {
		if (!s->hadeph)
			continue;
		zkbuf_printf(b, "0x%" PRIx64 ":\n", (uint64_t)s->id);
		LIST_FOREACH(n, &s->eph, eph) {
			zkbuf_reset(&pbuf);
			off = nodepath(&pbuf, n);
			zkbuf_printf(b, "\t%s\n", pbuf.p + off);
		}
	}
}

void
text(struct zkconn *c, const char *word)
{
	zkbuf_reset(&res);
	if (word == NULL)
		word = "";
	if (strcmp(word, "dump") == 0)
		text_dump(&res);
	else if (strcmp(word, "wchs") == 0 || strcmp(word, "wchc") == 0 ||
	    strcmp(word, "wchp") == 0)
		text_watches(&res, word);
	bufcheck(&res);
	zkl_begin(&c->out, "text");
	zkl_puts(&c->out, "word", word);
	zkl_put(&c->out, "data", res.p, res.len);
	zkl_end(&c->out);
}

void
stats(struct zkconn *c)
{
	struct zkbuf	*o = &c->out;

	zkl_begin(o, "stats");
	zkl_putd(o, "nodes", (int64_t)nnodes + 1);
	zkl_putd(o, "watches", (int64_t)(nwatch * 2 -
	    nwmode[WT_DATA][WM_NONE] - nwmode[WT_CHILD][WM_NONE]));
	zkl_putd(o, "ephemerals", (int64_t)nephem);
	zkl_putd(o, "datasize", datasize);
	zkl_putx(o, "zxid", lastzxid);
	zkl_putd(o, "sessions", (int64_t)nsess);
	zkl_putd(o, "watchpaths", (int64_t)nwpath);
	zkl_putd(o, "watchsessions", (int64_t)nwsess);
	zkl_end(o);
}
