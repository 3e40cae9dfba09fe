/* Unit tests of the self-signed certificate generator of `taubectl init`.
 *
 * certgen.c belongs to taubectl, not to libtaube.a (the Makefile links
 * src/ctl/ only into taubectl), so the test compiles it in directly. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/ctl/certgen.c"

struct fixture {
    char dir[64];
    char crt[128];
    char key[128];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/taube-cert-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->crt, sizeof f->crt, "%s/d.crt", f->dir);
    snprintf(f->key, sizeof f->key, "%s/d.key", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->crt);
    unlink(f->key);
    rmdir(f->dir);
    free(f);
    return 0;
}

static X509 *read_cert(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    EVP_PKEY *k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(k);
    return k;
}

static void generate(struct fixture *f, const char *domain)
{
    char *err = NULL;
    int rc = certgen_write(domain, f->crt, f->key, &err);
    if (rc != 0)
        fail_msg("certgen_write: %d %s", rc, err ? err : "");
}

static void test_names(void **state)
{
    struct fixture *f = *state;
    generate(f, "example.org");
    X509 *x = read_cert(f->crt);
    static const char *const good[] = {"example.org", "conference.example.org",
                                       "upload.example.org"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(X509_check_host(x, good[i], 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "other.example.org", 0, 0, NULL), 0);
    assert_int_equal(X509_check_host(x, "example.net", 0, 0, NULL), 0);
    char cn[128] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    assert_string_equal(cn, "example.org");
    assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
    X509_free(x);
}

static void test_profile(void **state)
{
    struct fixture *f = *state;
    generate(f, "example.org");
    X509 *x = read_cert(f->crt);
    assert_int_equal(X509_get_version(x), X509_VERSION_3);
    assert_int_equal(X509_check_ca(x), 0);
    assert_true(X509_get_extension_flags(x) & EXFLAG_BCONS);
    assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
    assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
    int days = 0, secs = 0;
    assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)),
                     1);
    assert_int_equal(days, CERTGEN_DAYS);
    assert_int_equal(X509_cmp_current_time(X509_get0_notBefore(x)) <= 0, 1);
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    assert_non_null(bn);
    assert_false(BN_is_negative(bn));
    assert_true(BN_num_bits(bn) > 64);
    BN_free(bn);
    /* Self-signed: verifies with its own key. */
    EVP_PKEY *pub = X509_get0_pubkey(x);
    assert_int_equal(X509_verify(x, pub), 1);
    X509_free(x);
}

static void test_key_file(void **state)
{
    struct fixture *f = *state;
    generate(f, "example.org");
    struct stat st;
    assert_int_equal(stat(f->key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    X509 *x = read_cert(f->crt);
    EVP_PKEY *k = read_key(f->key);
    assert_int_equal(X509_check_private_key(x, k), 1);
    assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
    assert_int_equal(EVP_PKEY_get_bits(k), 256);
    EVP_PKEY_free(k);
    X509_free(x);
}

static void test_serials_differ(void **state)
{
    struct fixture *f = *state;
    generate(f, "example.org");
    X509 *a = read_cert(f->crt);
    unlink(f->crt);
    unlink(f->key);
    generate(f, "example.org");
    X509 *b = read_cert(f->crt);
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(a), X509_get0_serialNumber(b)), 0);
    X509_free(a);
    X509_free(b);
}

static void test_refuses_existing(void **state)
{
    struct fixture *f = *state;
    FILE *fp = fopen(f->crt, "w");
    assert_non_null(fp);
    fputs("keep me\n", fp);
    fclose(fp);
    char *err = NULL;
    assert_int_equal(certgen_write("example.org", f->crt, f->key, &err), -EEXIST);
    assert_non_null(err);
    free(err);
    /* The key written first was removed again, the old file kept. */
    assert_int_equal(access(f->key, F_OK), -1);
    char buf[16] = "";
    fp = fopen(f->crt, "r");
    assert_non_null(fgets(buf, sizeof buf, fp));
    fclose(fp);
    assert_string_equal(buf, "keep me\n");
}

static void test_bad_names(void **state)
{
    struct fixture *f = *state;
    static const char *const bad[] = {"",   "a,DNS:evil.org", "a..b", ".a",
                                      "a.", "é.org",          "a b",  "a/b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *err = NULL;
        assert_int_equal(certgen_write(bad[i], f->crt, f->key, &err), -EINVAL);
        assert_non_null(err);
        free(err);
    }
    assert_int_equal(access(f->key, F_OK), -1);
    assert_int_equal(access(f->crt, F_OK), -1);
}

/* A name too long for a CN: empty subject, critical SAN, still valid. */
static void test_long_name(void **state)
{
    struct fixture *f = *state;
    char name[100];
    memset(name, 'a', 70);
    strcpy(name + 70, ".example.org");
    generate(f, name);
    X509 *x = read_cert(f->crt);
    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
    int crit = -2;
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
    assert_non_null(gens);
    assert_int_equal(crit, 1);
    assert_int_equal(sk_GENERAL_NAME_num(gens), 3);
    GENERAL_NAMES_free(gens);
    assert_int_equal(X509_check_host(x, name, 0, 0, NULL), 1);
    X509_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serials_differ, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_existing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_name, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
