/* Unit tests: the document reader (xml/reader.h) and the XEP-0227 import
 * parser (modules/pie_import.h), without a store. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "modules/pie_import.h"
#include "store/roster.h"
#include "xml/reader.h"

/* ---- the reader ---- */

struct rec {
    struct buf log;
    int stop_at_tree;
    int trees;
};

static int rec_open(void *ud, unsigned depth, const struct xml_node *n)
{
    struct rec *r = ud;
    return buf_printf(&r->log, "OPEN %u {%s}%s\n", depth, n->ns, n->name);
}

static int rec_tree(void *ud, struct stanza *st)
{
    struct rec *r = ud;
    buf_printf(&r->log, "TREE ");
    xml_serialize(st->root, "", &r->log);
    buf_append_str(&r->log, "\n");
    stanza_unref(st);
    return ++r->trees == r->stop_at_tree;
}

static const struct xml_reader_handler rec_h = {rec_open, rec_tree};

static const char DOC[] = "<?xml version='1.0'?><!-- a comment --><a xmlns='urn:a'>"
                          "<b x='1'> <c xmlns='urn:c' xml:lang='de'>t&amp;u</c><d/></b>"
                          "text<b y='2'/></a>";
static const char DOC_LOG[] = "OPEN 0 {urn:a}a\nOPEN 1 {urn:a}b\n"
                              "TREE <c xmlns='urn:c' xml:lang='de'>t&amp;u</c>\n"
                              "TREE <d xmlns='urn:a'/>\nOPEN 1 {urn:a}b\n";

static int read_in_pieces(const char *doc, size_t piece, struct rec *r,
                          const struct xml_reader_limits *lim)
{
    struct xml_reader *x = xml_reader_new(lim, &rec_h, r);
    assert_non_null(x);
    size_t len = strlen(doc);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < len; i += piece)
        rc = xml_reader_feed(x, doc + i, len - i < piece ? len - i : piece, false);
    if (rc == 0)
        rc = xml_reader_feed(x, "", 0, true);
    xml_reader_free(x);
    return rc;
}

/* Trees at depth 2, ancestors announced, the same for any chunking. */
static void test_reader_trees(void **state)
{
    (void)state;
    struct xml_reader_limits lim = {2, 1024, 16, 8};
    for (size_t piece = 1; piece <= sizeof DOC; piece *= 3) {
        struct rec r = {.trees = 0};
        buf_init(&r.log, 0);
        assert_int_equal(read_in_pieces(DOC, piece, &r, &lim), 0);
        assert_string_equal(r.log.data, DOC_LOG);
        buf_free(&r.log);
    }
}

static int read_doc(const char *doc, const struct xml_reader_limits *lim, struct rec *r)
{
    buf_init(&r->log, 0);
    int rc = read_in_pieces(doc, 7, r, lim);
    buf_free(&r->log);
    return rc;
}

static void test_reader_limits(void **state)
{
    (void)state;
    struct rec r = {.trees = 0};
    struct xml_reader_limits lim = {1, 20, 4, 2};
    assert_int_equal(read_doc("<a><b>0123456789</b></a>", &lim, &r), 0);
    assert_int_equal(read_doc("<a><b>0123456789ABCDEF</b></a>", &lim, &r), XMLE_TOO_BIG);
    assert_int_equal(read_doc("<a><b><c><d><e/></d></c></b></a>", &lim, &r), XMLE_TOO_DEEP);
    assert_int_equal(read_doc("<a><b x='1' y='2' z='3'/></a>", &lim, &r), XMLE_TOO_MANY_ATTRS);
    assert_int_equal(read_doc("<a xmlns:p='1' xmlns:q='2' xmlns:r='3'/>", &lim, &r),
                     XMLE_TOO_MANY_ATTRS);
    assert_int_equal(read_doc("<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>", &lim, &r),
                     XMLE_RESTRICTED);
    assert_int_equal(read_doc("<a>&e;</a>", &lim, &r), XMLE_RESTRICTED);
    assert_int_equal(read_doc("<?xml version='1.0' encoding='ISO-8859-1'?><a/>", &lim, &r),
                     XMLE_BAD_ENCODING);
    assert_int_equal(read_doc("<a><b></a>", &lim, &r), XMLE_NOT_WELL_FORMED);
    assert_int_equal(read_doc("", &lim, &r), XMLE_NOT_WELL_FORMED);
    /* a handler stops it; the unfinished tree is freed (ASan checks) */
    r.stop_at_tree = 1;
    r.trees = 0;
    assert_int_equal(read_doc("<a><b/><b><c/></b></a>", &lim, &r), XMLE_STOPPED);
}

/* ---- one account ---- */

struct notes {
    struct buf log;
};

static void note(void *ud, const char *account, const char *what)
{
    buf_printf(&((struct notes *)ud)->log, "%s: %s\n", account, what);
}

static int keep(void *ud, struct stanza *st)
{
    *(struct stanza **)ud = st;
    return 0;
}

/* xml parsed as one tree (the root at depth 0). */
static struct stanza *user_tree(const char *xml)
{
    struct stanza *got = NULL;
    struct xml_reader_limits lim = {0, 1 << 20, 32, 32};
    static const struct xml_reader_handler h = {NULL, keep};
    struct xml_reader *x = xml_reader_new(&lim, &h, &got);
    assert_int_equal(xml_reader_feed(x, xml, strlen(xml), true), 0);
    xml_reader_free(x);
    assert_non_null(got);
    return got;
}

static const char USER[] =
    "<user xmlns='urn:xmpp:pie:0' name='Juliet'>"
    "<scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'>"
    "<iter-count>100000</iter-count>"
    "<salt>TmFDbE5hQ2xOYUNsTmFDbE5hQ2xOYUNsTmFDbE5hQ2xOYUNsTmFDbE5hQ2wK</salt>"
    "<server-key>0pXWGK0GZJ6TR73AIUN3ITYtA1g=</server-key>"
    "<stored-key>Q6qT/SbybblGCZz8e8eSfCJOQic=</stored-key></scram-credentials>"
    "<query xmlns='jabber:iq:roster'><item jid='Romeo@Montague.net/x' name='R' "
    "subscription='to' ask='subscribe'><group>A</group><group> B </group></item>"
    "<item jid='bad@@jid' subscription='both'/></query>"
    "<presence xmlns='jabber:client' type='subscribe' from='romeo@montague.net'>"
    "<status>hi</status></presence>"
    "<offline-messages><message xmlns='jabber:client' from='r@m.net'><body>b</body>"
    "<delay xmlns='urn:xmpp:delay' stamp='2020-01-01T01:00:00.123+01:00'/></message>"
    "<iq xmlns='jabber:client'/></offline-messages>"
    "<query xmlns='jabber:iq:privacy'><default name='l'/><list name='l'>"
    "<item type='jid' value='Spam@Example.net' action='deny' order='1'/>"
    "<item action='allow' order='2'/></list></query>"
    "<unknown xmlns='urn:x'/></user>";

static void test_account(void **state)
{
    (void)state;
    struct notes n;
    buf_init(&n.log, 0);
    struct pie_account pa;
    char why[PIE_WHY_MAX] = "";
    assert_int_equal(pie_account_from(&pa, "capulet.com", user_tree(USER), 1, 1000, note, &n, why),
                     0);
    const struct import_account *a = &pa.a;
    assert_string_equal(a->user, "juliet");
    assert_string_equal(a->domain, "capulet.com");
    assert_true(a->creds.have[SCRAM_SHA1]);
    assert_false(a->creds.have[SCRAM_SHA256]); /* no password to derive it from */
    assert_int_equal(a->creds.scram[SCRAM_SHA1].iterations, 100000);
    assert_int_equal(a->creds.scram[SCRAM_SHA1].salt_len, 45);
    assert_memory_equal(a->creds.scram[SCRAM_SHA1].stored_key,
                        "\x43\xaa\x93\xfd\x26\xf2\x6d\xb9\x46\x09", 10);
    /* one contact: the item and the pending request merged */
    assert_int_equal(a->ncontacts, 1);
    assert_string_equal(a->contacts[0].jid, "romeo@montague.net");
    assert_int_equal(a->contacts[0].flags,
                     ROSTER_ITEM | ROSTER_TO | ROSTER_ASK | ROSTER_PENDING_IN);
    assert_string_equal(a->contacts[0].groups, "A\x1f"
                                               "B");
    assert_string_equal(a->contacts[0].status, "hi");
    assert_int_equal(a->noffline, 1);
    assert_int_equal(a->offline[0].stamp, 1577836800); /* 01:00+01:00 */
    assert_non_null(strstr(a->offline[0].xml, "to='juliet@capulet.com'"));
    assert_int_equal(a->nblocked, 1);
    assert_string_equal(a->blocked[0], "spam@example.net");
    assert_null(a->vcard);
    assert_int_equal(a->npriv, 0);
    const char *want[] = {"skipped a roster item", "not a jabber:client message",
                          "other than blocking", "skipped <unknown xmlns='urn:x'>"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(n.log.data, want[i]))
            fail_msg("no notice %s in %s", want[i], n.log.data);
    pie_account_free(&pa);
    buf_free(&n.log);
}

static void refused(const char *xml, const char *reason)
{
    struct pie_account pa;
    char why[PIE_WHY_MAX] = "";
    assert_int_equal(pie_account_from(&pa, "h.example", user_tree(xml), 1, 0, NULL, NULL, why),
                     -EINVAL);
    if (!strstr(why, reason))
        fail_msg("want %s, got %s", reason, why);
    pie_account_free(&pa);
}

#define SCRAM1(it, salt, sk, vk) \
    "<scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'><iter-count>" it \
    "</iter-count><salt>" salt "</salt><server-key>" sk "</server-key><stored-key>" vk \
    "</stored-key></scram-credentials>"
#define KEY "0pXWGK0GZJ6TR73AIUN3ITYtA1g="

static void test_account_refusals(void **state)
{
    (void)state;
    refused("<user xmlns='urn:xmpp:pie:0'/>", "no valid 'name'");
    refused("<user xmlns='urn:xmpp:pie:0' name='a b'/>", "no valid 'name'");
    refused("<user xmlns='urn:xmpp:pie:0' name='a'/>", "no password");
    refused("<user xmlns='urn:xmpp:pie:0' name='a' password=''/>", "password is empty");
    refused("<user xmlns='urn:xmpp:pie:0' name='a'>" SCRAM1("0100", "YQ==", KEY, KEY) "</user>",
            "iter-count");
    refused("<user xmlns='urn:xmpp:pie:0' name='a'>" SCRAM1("0", "YQ==", KEY, KEY) "</user>",
            "iter-count");
    refused(
        "<user xmlns='urn:xmpp:pie:0' name='a'>" SCRAM1("4294967296", "YQ==", KEY, KEY) "</user>",
        "iter-count");
    refused("<user xmlns='urn:xmpp:pie:0' name='a'>" SCRAM1("1", "", KEY, KEY) "</user>", "salt");
    refused("<user xmlns='urn:xmpp:pie:0' name='a'>" SCRAM1("1", "YQ==", "YQ==", KEY) "</user>",
            "a key");
    refused("<user xmlns='urn:xmpp:pie:0' name='a'>" SCRAM1("1", "YQ==", KEY, KEY)
                SCRAM1("1", "YQ==", KEY, KEY) "</user>",
            "two <scram-credentials/>");
}

/* ejabberd 23.01 encodes its stored base64 once more: recognised by the
 * keys' length, and the salt is decoded twice with them. */
static void test_twice_encoded(void **state)
{
    (void)state;
    /* base64(base64(x)) of a 16-byte salt and of 20-byte keys */
    static const char xml[] = "<user xmlns='urn:xmpp:pie:0' name='a'>" SCRAM1(
        "4096", "TURFeU16UTFOamM0T1RBeE1qTTBOUT09", "MHBYV0dLMEdaSjZUUjczQUlVTjNJVFl0QTFnPQ==",
        "UTZxVC9TYnliYmxHQ1p6OGU4ZVNmQ0pPUWljPQ==") "</user>";
    struct notes n;
    buf_init(&n.log, 0);
    struct pie_account pa;
    char why[PIE_WHY_MAX] = "";
    assert_int_equal(pie_account_from(&pa, "h.example", user_tree(xml), 1, 0, note, &n, why), 0);
    const struct scram_creds *c = &pa.a.creds.scram[SCRAM_SHA1];
    assert_int_equal(c->salt_len, 16);
    assert_memory_equal(c->salt, "0123456789012345", 16);
    assert_memory_equal(c->server_key, "\xd2\x95\xd6\x18\xad\x06\x64\x9e\x93\x47", 10);
    assert_memory_equal(c->stored_key, "\x43\xaa\x93\xfd\x26\xf2\x6d\xb9\x46\x09", 10);
    assert_non_null(strstr(n.log.data, "encoded twice"));
    pie_account_free(&pa);
    buf_free(&n.log);
}

/* A plaintext password becomes both SCRAM credentials. */
static void test_password(void **state)
{
    (void)state;
    struct pie_account pa;
    char why[PIE_WHY_MAX] = "";
    assert_int_equal(pie_account_from(&pa, "h.example",
                                      user_tree("<user xmlns='urn:xmpp:pie:0' name='a' "
                                                "password='pencil'/>"),
                                      2, 0, NULL, NULL, why),
                     0);
    for (int h = 0; h < SCRAM_NHASH; h++) {
        assert_true(pa.a.creds.have[h]);
        assert_true(scram_verify_password(&pa.a.creds.scram[h], "pencil"));
        assert_false(scram_verify_password(&pa.a.creds.scram[h], "pencil2"));
    }
    pie_account_free(&pa);
}

/* ---- the file ---- */

struct users {
    struct buf log;
};

static int user_cb(void *ud, const char *host, struct stanza *tree)
{
    struct users *u = ud;
    buf_printf(&u->log, "%s/%s\n", host, xml_attr(tree->root, "name"));
    stanza_unref(tree);
    return 0;
}

static int read_file_doc(const char *doc, struct users *u, char *err, size_t cap)
{
    static const struct pie_file_handler h = {user_cb, NULL};
    struct pie_file *f = pie_file_new(&h, u, NULL);
    int rc = pie_file_feed(f, doc, strlen(doc), true);
    snprintf(err, cap, "%s", pie_file_error(f));
    pie_file_free(f);
    return rc;
}

static void test_file(void **state)
{
    (void)state;
    struct users u;
    buf_init(&u.log, 0);
    char err[512];
    assert_int_equal(read_file_doc("<server-data xmlns='urn:xmpp:pie:0'><host jid='A.Example'>"
                                   "<user name='x'/><other/><user name='y'/></host><junk>"
                                   "<user name='z'/></junk><host jid='b.example'><user "
                                   "name='w'/></host></server-data>",
                                   &u, err, sizeof err),
                     0);
    assert_string_equal(u.log.data, "a.example/x\na.example/y\nb.example/w\n");
    assert_int_equal(read_file_doc("<server-data xmlns='urn:other'/>", &u, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "not a XEP-0227 file"));
    assert_non_null(strstr(err, "line 1"));
    assert_int_equal(read_file_doc("<server-data xmlns='urn:xmpp:pie:0'><host jid='a@b/c'/>"
                                   "</server-data>",
                                   &u, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "'jid'"));
    assert_int_equal(read_file_doc("<server-data xmlns='urn:xmpp:pie:0'><host jid='a'>"
                                   "<include xmlns='http://www.w3.org/2001/XInclude' href='x'/>"
                                   "</host></server-data>",
                                   &u, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "XInclude"));
    assert_int_equal(
        read_file_doc("<server-data xmlns='urn:xmpp:pie:0'><host jid='a'>", &u, err, sizeof err),
        -EINVAL);
    assert_non_null(strstr(err, "not acceptable XML"));
    buf_free(&u.log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_trees), cmocka_unit_test(test_reader_limits),
        cmocka_unit_test(test_account),      cmocka_unit_test(test_account_refusals),
        cmocka_unit_test(test_password),     cmocka_unit_test(test_twice_encoded),
        cmocka_unit_test(test_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
