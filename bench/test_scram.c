/* The load generator's SCRAM client against the examples of RFC 5802
 * (SHA-1) and RFC 7677 (SHA-256): `make -C bench check`. The cache is used
 * twice per case, so a wrong cache hit would fail too. */
#include "loadgen.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

struct vector {
    const char *md, *nonce, *server_first, *client_final, *server_final;
};

static const struct vector rfc5802 = {
    "SHA1", "fyko+d2lbbFgONRv9qkxdawL",
    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="};

static const struct vector rfc7677 = {
    "SHA256", "rOprNGfwEbeRWgbNEkqO",
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="};

static void run_vector(const struct vector *v)
{
    struct scram_cache *sc = scram_cache_new(4);
    assert_non_null(sc);
    for (int round = 0; round < 2; round++) {
        struct scram s;
        char first[200], final[400];
        int n = scram_client_first(&s, EVP_get_digestbyname(v->md), "user", first, sizeof first);
        assert_true(n > 0);
        /* replace the random nonce with the RFC's */
        snprintf(s.nonce, sizeof s.nonce, "%s", v->nonce);
        snprintf(s.first_bare, sizeof s.first_bare, "n=user,r=%s", v->nonce);
        n = scram_client_final(&s, sc, "pencil", v->server_first, strlen(v->server_first), final,
                               sizeof final);
        assert_int_equal(n, (int)strlen(v->client_final));
        assert_string_equal(final, v->client_final);
        assert_int_equal(scram_check_server_final(&s, v->server_final, strlen(v->server_final)), 0);
        assert_int_not_equal(scram_check_server_final(&s, "v=AAAA", 6), 0);
    }
    scram_cache_free(sc);
}

static void test_sha1(void **state)
{
    (void)state;
    run_vector(&rfc5802);
}

static void test_sha256(void **state)
{
    (void)state;
    run_vector(&rfc7677);
}

static void test_foreign_nonce_refused(void **state)
{
    (void)state;
    struct scram_cache *sc = scram_cache_new(4);
    struct scram s;
    char first[200], final[400];
    assert_true(scram_client_first(&s, EVP_sha256(), "user", first, sizeof first) > 0);
    const char *sf = "r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    assert_int_equal(scram_client_final(&s, sc, "pencil", sf, strlen(sf), final, sizeof final),
                     -EPROTO);
    scram_cache_free(sc);
}

static void test_base64(void **state)
{
    (void)state;
    unsigned char out[16];
    char enc[16];
    assert_int_equal(b64_encode("n,,", 3, enc, sizeof enc), 4);
    assert_string_equal(enc, "biws");
    assert_int_equal(b64_decode("YQ==", 4, out, sizeof out), 1);
    assert_int_equal(out[0], 'a');
    assert_int_equal(b64_decode("YWI=", 4, out, sizeof out), 2);
    assert_int_equal(b64_decode("YQ=", 3, out, sizeof out), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha1),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_foreign_nonce_refused),
        cmocka_unit_test(test_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
