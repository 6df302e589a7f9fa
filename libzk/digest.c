/* digest.c: the "digest" auth scheme, user:base64(sha1(user:password)) */
#include <sys/types.h>

#include <sha1.h>
#include <string.h>

#include "zk.h"

size_t
zk_base64(char *dst, const void *src, size_t len)
{
	static const char	 tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char	*s = src;
	char			*d = dst;
	uint32_t		 v;
	size_t			 i;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		*d++ = tab[v >> 18];
		*d++ = tab[(v >> 12) & 63];
		*d++ = tab[(v >> 6) & 63];
		*d++ = tab[v & 63];
	}
	if (i < len) {
		v = (uint32_t)s[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)s[i + 1] << 8;
		*d++ = tab[v >> 18];
		*d++ = tab[(v >> 12) & 63];
		*d++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*d++ = '=';
	}
	*d = '\0';
	return (size_t)(d - dst);
}

/*
 * The id that "addauth digest user:password" gives: user (the text
 * before the first ':') then ':' and base64(sha1(the whole text)).
 * dst needs len + 30 bytes.  Text without ':' hashes all of it, as
 * Apache does.
 */
size_t
zk_digest_id(char *dst, const char *auth, size_t len)
{
	SHA1_CTX	 ctx;
	uint8_t		 md[SHA1_DIGEST_LENGTH];
	const char	*colon;
	size_t		 ulen;

	colon = memchr(auth, ':', len);
	ulen = colon ? (size_t)(colon - auth) : len;
	SHA1Init(&ctx);
	SHA1Update(&ctx, (const uint8_t *)auth, len);
	SHA1Final(md, &ctx);
	memcpy(dst, auth, ulen);
	dst[ulen] = ':';
	return ulen + 1 + zk_base64(dst + ulen + 1, md, sizeof(md));
}
