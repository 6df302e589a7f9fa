/*
 * fuzz-sasl: libFuzzer target over the SASL DIGEST-MD5 server side, the
 * one decoder on the client port that parses text a client chose before
 * it is authenticated.
 *
 * Each input is a client's digest-response to a fresh challenge, with
 * every "@N" replaced by that challenge's nonce (random each time), so
 * that the fuzzer gets past the nonce check to the later ones.  The
 * users' passwords are never in the input's reach: zksasl_step must not
 * crash and must always refuse, leave the exchange over and authenticate
 * no one; a further step must be refused too.
 */
#include <sys/types.h>

#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zk.h"
#include "fuzz.h"

static struct zkjaas	jaas;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 file[] = "/tmp/fuzz-sasl.XXXXXX", errbuf[1200];
	FILE	*fp;
	int	 fd;

	(void)argc;
	(void)argv;
	if ((fd = mkstemp(file)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		err(1, "%s", file);
	fprintf(fp, "Server {\n"
	    "\torg.apache.zookeeper.server.auth.DigestLoginModule required\n"
	    "\tuser_alice=\"a long secret no input holds 7f3a\"\n"
	    "\tuser_bob=\"another one, 91c2\";\n};\n");
	if (fclose(fp) == EOF)
		err(1, "%s", file);
	if (zkjaas_load(&jaas, file, errbuf, sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
	unlink(file);
	ASSERT(jaas.server && jaas.n == 2);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zksasl	 s = { 0 };
	struct zkbuf	 out = { 0 }, tok = { 0 };
	const char	*why = NULL;
	size_t		 i, nl;

	ASSERT(zksasl_step(&s, &jaas, "", 0, &out, &why) == 0);
	ASSERT(s.step == 1 && !s.done);
	ASSERT(memmem(out.p, out.len, s.nonce, strlen(s.nonce)) != NULL);
	zkbuf_consume(&out, out.len);

	nl = strlen(s.nonce);
	for (i = 0; i < size; i++) {
		if (data[i] == '@' && i + 1 < size && data[i + 1] == 'N') {
			zkbuf_add(&tok, s.nonce, nl);
			i++;
		} else
			zkbuf_add(&tok, &data[i], 1);
	}
	ASSERT(!tok.err);
	why = NULL;
	ASSERT(zksasl_step(&s, &jaas, tok.p, tok.len, &out, &why) == -1);
	ASSERT(why != NULL && !s.done && s.step == 2);
	why = NULL;
	ASSERT(zksasl_step(&s, &jaas, "", 0, &out, &why) == -1);
	ASSERT(why != NULL && !s.done);
	zkbuf_free(&tok);
	zkbuf_free(&out);
	return 0;
}
