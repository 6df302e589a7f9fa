/*
 * fuzz-member: libFuzzer target over libzk's membership parsing (what a
 * client's reconfig request and a zoo.cfg.dynamic file hand it).
 *
 * The input, split at its first two NUL bytes, is joining, leaving and
 * members of a reconfig from a fixed three-server config, then the same
 * bytes as a config text.  Nothing may crash; a reconfig that succeeds
 * gives members whose config text parses back to the same servers at the
 * same version, and formats to the same text again.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zk.h"
#include "fuzz.h"

static void
roundtrip(struct zkserver *sv, int n)
{
	struct zkserver	 back[ZK_MAXSERVERS];
	struct zkbuf	 a = { 0 }, b = { 0 };
	const char	*why;
	int64_t		 v;
	int		 m;

	zkcfg_conftext(&a, sv, n, 0x100000007LL);
	zkbuf_addc(&a, '\0');
	ASSERT(!a.err);
	ASSERT(zkcfg_parsetext(a.p, back, &m, &v, &why) == 0);
	ASSERT(m == n && v == 0x100000007LL);
	zkcfg_conftext(&b, back, m, v);
	zkbuf_addc(&b, '\0');
	ASSERT(!b.err && strcmp(a.p, b.p) == 0);
	zkbuf_free(&a);
	zkbuf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *base =
	    "server.1=h1:2888:3888:participant\n"
	    "server.2=h2:2888:3888:participant;2181\n"
	    "server.3=h3:2888:3888:observer;10.0.0.3:2181\n"
	    "version=0";
	struct zkserver	 cur[ZK_MAXSERVERS], out[ZK_MAXSERVERS];
	const char	*why, *f[3] = { NULL, NULL, NULL };
	char		*s, *p;
	int64_t		 v;
	int		 n, nn, k;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	ASSERT(zkcfg_parsetext(base, cur, &n, &v, &why) == 0 && n == 3);
	/* joining NUL leaving NUL members; an empty part is none */
	for (p = s, k = 0; k < 3 && p <= s + size; k++) {
		f[k] = *p != '\0' ? p : NULL;
		p += strlen(p) + 1;
	}
	if (zkcfg_reconfig(cur, n, f[0], f[1], f[2], out, &nn, &why) == 0) {
		ASSERT(nn >= 0 && nn <= ZK_MAXSERVERS);
		roundtrip(out, nn);
	}
	if (zkcfg_parsetext(s, out, &nn, &v, &why) == 0) {
		ASSERT(nn >= 0 && nn <= ZK_MAXSERVERS);
		roundtrip(out, nn);
	}
	free(s);
	return 0;
}
