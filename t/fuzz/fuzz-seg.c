/*
 * fuzz-seg: libFuzzer target over libzk's log-segment scanner.
 *
 * The input is a flags byte (bit 0: the segment is the log's last;
 * bit 1: strict; the rest: floor), a byte for the zxid in the segment's
 * name, then the segment's bytes.  zkseg_scan must not crash, must say
 * OK, BAD or GAP with an offset inside the segment, and hand on only
 * newline-ended records with zxids after floor that go up by one.  The
 * records a plain scan finds, framed again with zkseg_frame, must scan
 * back clean: the same records, no torn tail, ending where they end;
 * and a scan told to stop half way through them (a DIFF's reader) reads
 * that first half, no more, and says OK.
 *
 * The same bytes are also an epochs file's block (libzk/epochs.c): it
 * parses only if it is exactly what zkep_format makes of the numbers
 * read, and numbers taken from the input format and parse back.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk.h"
#include "fuzz.h"

struct seen {
	struct zkbuf	 again;		/* the records, framed again */
	int64_t		 prev;		/* zxid of the last one, 0 none */
	size_t		 n;
};

static int
check(struct zkscan *w, const char *line, size_t len, int64_t z)
{
	struct seen	*s = w->arg;

	ASSERT(len >= 2 && line[len - 1] == '\n');
	ASSERT(z > w->floor);
	ASSERT(s->prev == 0 || z == s->prev + 1);
	ASSERT(w->off > 0);
	s->prev = z;
	s->n++;
	zkseg_frame(&s->again, line, len);
	return 0;
}

static void
epochs(const uint8_t *data, size_t size)
{
	static char	 blk[ZKEP_BLOCK], again[ZKEP_BLOCK];
	uint64_t	 v[3] = { 0, 0, 0 }, q, q2;
	int64_t		 a, c, a2, c2;

	memset(blk, 0, sizeof(blk));
	memcpy(blk, data, size < sizeof(blk) ? size : sizeof(blk));
	if (zkep_parse(blk, sizeof(blk), &q, &a, &c) == 0) {
		ASSERT(q > 0 && c >= 0 && c <= a && a <= 0xffffffffLL);
		zkep_format(again, q, a, c);
		ASSERT(memcmp(blk, again, sizeof(blk)) == 0);
	}
	memcpy(v, data, size < sizeof(v) ? size : sizeof(v));
	q = v[0] != 0 ? v[0] : 1;
	a = (int64_t)(v[1] & 0xffffffff);
	c = (int64_t)((v[2] & 0xffffffff) % ((uint64_t)a + 1));
	zkep_format(again, q, a, c);
	ASSERT(zkep_parse(again, sizeof(again), &q2, &a2, &c2) == 0 &&
	    q2 == q && a2 == a && c2 == c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zkscan	 w, w2;
	struct seen	 s, s2;
	const uint8_t	*seg;
	int64_t		 first;
	size_t		 len;
	int		 islast, r;

	epochs(data, size);
	if (size < 2)
		return 0;
	islast = data[0] & 1;
	first = data[1];
	seg = data + 2;
	len = size - 2;

	/* as the flags say */
	memset(&w, 0, sizeof(w));
	memset(&s, 0, sizeof(s));
	w.strict = (data[0] & 2) != 0;
	w.floor = data[0] >> 2;
	w.fn = check;
	w.arg = &s;
	r = zkseg_scan(&w, first, islast, seg, len);
	ASSERT(r == ZKSEG_OK || r == ZKSEG_BAD || r == ZKSEG_GAP);
	ASSERT(w.off >= 0 && (size_t)w.off <= len);
	ASSERT(w.ndeliv == s.n && w.nrec >= w.ndeliv);
	ASSERT(!w.torn || islast);
	ASSERT(r != ZKSEG_BAD || w.why != NULL);
	zkbuf_free(&s.again);

	/* every record: framed again they scan back clean */
	memset(&w, 0, sizeof(w));
	memset(&s, 0, sizeof(s));
	w.fn = check;
	w.arg = &s;
	r = zkseg_scan(&w, first, islast, seg, len);
	ASSERT(!s.again.err);
	ASSERT(s.n == w.nrec);

	/* a reader that stops half way reads the same first half */
	if (r == ZKSEG_OK && w.nrec > 0) {
		struct seen	 s3;
		struct zkscan	 w3;

		memset(&w3, 0, sizeof(w3));
		memset(&s3, 0, sizeof(s3));
		w3.fn = check;
		w3.arg = &s3;
		w3.stop = first + (int64_t)(w.nrec / 2);
		ASSERT(zkseg_scan(&w3, first, islast, seg, len) == ZKSEG_OK);
		ASSERT(w3.last == w3.stop && w3.nrec == w.nrec / 2 + 1);
		ASSERT(!w3.torn && (size_t)w3.off <= len);
		zkbuf_free(&s3.again);
	}
	memset(&w2, 0, sizeof(w2));
	memset(&s2, 0, sizeof(s2));
	w2.fn = check;
	w2.arg = &s2;
	r = zkseg_scan(&w2, first, 0, s.again.p == NULL ? "" :
	    ZKBUF_DATA(&s.again), ZKBUF_LEN(&s.again));
	ASSERT(r == ZKSEG_OK && !w2.torn);
	ASSERT(w2.nrec == w.nrec && w2.last == w.last);
	ASSERT((size_t)w2.off == ZKBUF_LEN(&s.again));
	ASSERT(ZKBUF_LEN(&s2.again) == ZKBUF_LEN(&s.again));
	ASSERT(s.again.p == NULL || memcmp(ZKBUF_DATA(&s2.again),
	    ZKBUF_DATA(&s.again), ZKBUF_LEN(&s.again)) == 0);
	zkbuf_free(&s.again);
	zkbuf_free(&s2.again);
	return 0;
}
