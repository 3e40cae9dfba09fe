/* Fuzz target for the SASL server side. The first byte picks what runs:
 *   low 2 bits 0: base64 decode of the rest; a decoded value must encode
 *                 back to the same text (the decoder is strict).
 *              1: PLAIN with the rest as the client message.
 *              2: a SCRAM exchange; the rest is client-first '\n'
 *                 client-final. Bits 2-3 pick the mechanism, bit 4 an
 *                 unknown user, bit 5 whether -PLUS was advertised.
 *              3: SASLprep of the rest.
 * Credentials use one PBKDF2 iteration and the server nonce is fixed to
 * "SNONCE", so seeds can hold complete, successful exchanges. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmpp/sasl.h"

static const uint8_t secret[] = "fuzz secret";

static void fuzz_b64(const uint8_t *d, size_t n)
{
    uint8_t *out;
    size_t ol, el;
    char *enc;
    if (sasl_b64_decode((const char *)d, n, &out, &ol) != 0)
        return;
    if (ol > 0) {
        if (sasl_b64_encode(out, ol, &enc, &el) != 0)
            abort();
        if (el != n || memcmp(enc, d, n) != 0)
            abort();
        free(enc);
    }
    free(out);
}

static void creds_for(enum scram_hash h, struct scram_creds *c)
{
    static const uint8_t salt[] = "saltsalt";
    if (scram_derive_salt(h, "pencil", salt, 8, 1, c) != 0)
        abort();
}

static void fuzz_plain(const uint8_t *d, size_t n)
{
    struct sasl *s = sasl_new(SASL_PLAIN, NULL);
    struct scram_creds c;
    uint8_t *out = NULL;
    size_t ol;
    if (!s)
        return;
    if (sasl_step(s, d, n, &out, &ol) == SASL_NEED_CREDS) {
        if (!sasl_username(s))
            abort();
        creds_for(SCRAM_SHA256, &c);
        sasl_creds(s, &c, secret, sizeof(secret) - 1, &out, &ol);
    }
    free(out);
    sasl_free(s);
}

static void fuzz_scram(uint8_t flags, const uint8_t *d, size_t n)
{
    static const enum sasl_mech mechs[] = {SASL_SCRAM_SHA1, SASL_SCRAM_SHA1_PLUS, SASL_SCRAM_SHA256,
                                           SASL_SCRAM_SHA256_PLUS};
    enum sasl_mech m = mechs[(flags >> 2) & 3];
    struct sasl_cb cb = {.tls = true, .have_exporter = true, .endpoint_len = 32};
    memset(cb.exporter, 'E', sizeof(cb.exporter));
    memset(cb.endpoint, 'P', 32);
    cb.plus_advertised = flags & 0x20;
    if (flags & 0x40) { /* a TLS 1.2 connection with tls-unique */
        memset(cb.unique, 'U', 12);
        cb.unique_len = 12;
    } else {
        cb.tls13 = flags & 0x80;
    }
    const uint8_t *nl = memchr(d, '\n', n);
    size_t first_len = nl ? (size_t)(nl - d) : n;

    struct sasl *s = sasl_new(m, &cb);
    if (!s || sasl_set_server_nonce(s, "SNONCE") != 0)
        abort();
    uint8_t *out = NULL;
    size_t ol;
    struct scram_creds c;
    enum sasl_result r1 = sasl_step(s, d, first_len, &out, &ol);
    /* Nothing was checked against credentials yet: never a password
     * attempt. */
    if (r1 == SASL_FAIL && sasl_failure_is_attempt(s))
        abort();
    if (r1 != SASL_NEED_CREDS)
        goto done;
    creds_for(m <= SASL_SCRAM_SHA1_PLUS ? SCRAM_SHA1 : SCRAM_SHA256, &c);
    if (sasl_creds(s, (flags & 0x10) ? NULL : &c, secret, sizeof(secret) - 1, &out, &ol) !=
            SASL_CONTINUE ||
        !nl)
        goto done;
    free(out);
    out = NULL;
    enum sasl_result r = sasl_step(s, nl + 1, n - first_len - 1, &out, &ol);
    /* An unknown user never succeeds. */
    if (r == SASL_OK && (flags & 0x10))
        abort();
done:
    free(out);
    sasl_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 8192)
        return 0;
    const uint8_t *d = data + 1;
    size_t n = size - 1;
    char *prep = NULL;
    switch (data[0] & 3) {
    case 0: fuzz_b64(d, n); break;
    case 1: fuzz_plain(d, n); break;
    case 2: fuzz_scram(data[0], d, n); break;
    default:
        sasl_saslprep((const char *)d, n, &prep);
        free(prep);
        break;
    }
    return 0;
}
