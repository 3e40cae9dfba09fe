/* Registration codes (promise P1): making, reading and hashing them.
 *
 * A code is INVITE_CODE_BYTES random bytes from RAND_bytes (160 bits),
 * shown in Crockford base32 (digits and letters without I, L, O, U) in
 * groups of four joined by '-', e.g. "7K3M-Q9XA-...". Reading is
 * forgiving, as Crockford intends for codes people type: case, '-' and
 * spaces do not matter, and I/L read as 1, O as 0.
 *
 * Only a keyed hash of the code's bytes is stored (HMAC-SHA-256 keyed
 * with the store's server secret), so a copy of the database does not
 * give away codes that still work, and a guess cannot be checked
 * offline without the secret as well.
 *
 * No state; any thread. Used by taubectl (invite create) and the server
 * (registration).
 */
#ifndef TAUBE_INVITE_H
#define TAUBE_INVITE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"

#define INVITE_CODE_BYTES 20
#define INVITE_HASH_LEN 32
#define INVITE_KEY_LEN 32 /* the store's server secret (store.h) */
/* 32 base32 characters in 8 groups of 4, 7 dashes, NUL. */
#define INVITE_CODE_TEXT (32 + 7 + 1)
/* Longest text invite_code_parse looks at (spaces and dashes included). */
#define INVITE_CODE_INPUT_MAX 128

/* Fills code with fresh random bytes and text with its printed form.
 * 0 or -EIO (no randomness). */
int invite_code_new(uint8_t code[INVITE_CODE_BYTES], char text[INVITE_CODE_TEXT]);

/* The printed form of code. */
void invite_code_text(const uint8_t code[INVITE_CODE_BYTES], char text[INVITE_CODE_TEXT]);

/* Reads a typed code back into its bytes. 0, or -EINVAL if s is not a
 * code (wrong length, a character outside the alphabet, over-long). */
int invite_code_parse(const char *s, size_t len, uint8_t code[INVITE_CODE_BYTES]);

/* The stored form: HMAC-SHA-256(secret, code). 0 or -EIO. */
int invite_code_hash(const uint8_t *secret, size_t secret_len,
                     const uint8_t code[INVITE_CODE_BYTES], uint8_t out[INVITE_HASH_LEN]);

/* Parses a duration for --expires: a positive number with a unit s, m,
 * h, d or w ("7d", "12h"); *secs gets seconds. 0 or -EINVAL (also for
 * more than ten years). */
int invite_parse_duration(const char *s, int64_t *secs);

/* The web address of path ("/invite/CODE", "/policy") on the HTTPS
 * service for domain: http.public_url + path, or https://DOMAIN:PORT +
 * path (the port left out if 443). Appends to out: 0, -ENOENT if the
 * service is off (http.port 0 and no public_url), -ENOMEM. */
int invite_web_url(const struct config *cfg, const char *domain, const char *path, struct buf *out);

#endif
