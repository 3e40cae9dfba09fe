/* Unit tests: arena, stanza trees, serializer, streaming parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "xml/xml.h"

#define STREAMS_NS "http://etherx.jabber.org/streams"

/* ---- a recording handler: every event becomes a line in log ---- */

struct rec {
    struct buf log;
    int stanzas, opens, closes;
    int stop_at_stanza; /* stop after the n-th stanza (1-based), 0 never */
    int stop_at_open;
    bool pause_each; /* answer XML_STREAM_PAUSE after every stanza */
};

static void log_attrs(struct buf *b, const struct xml_node *n)
{
    for (const struct xml_attr *a = n->attrs; a; a = a->next)
        buf_printf(b, " %s=%s", a->name, a->value);
}

static int rec_open(void *ud, const struct xml_node *root)
{
    struct rec *r = ud;
    r->opens++;
    buf_printf(&r->log, "OPEN {%s}%s", root->ns, root->name);
    log_attrs(&r->log, root);
    buf_append_str(&r->log, "\n");
    return r->opens == r->stop_at_open;
}

/* Links are consistent and adjacent text is coalesced into one node. */
static void check_tree(const struct xml_node *n)
{
    const struct xml_node *prev = NULL;
    for (const struct xml_node *c = n->children; c; c = c->next) {
        assert_ptr_equal(c->parent, n);
        if (c->type == XML_TEXT) {
            assert_int_equal(strlen(c->text), c->text_len);
            assert_true(c->text_len > 0);
            assert_false(prev && prev->type == XML_TEXT);
        } else {
            check_tree(c);
        }
        prev = c;
    }
    assert_ptr_equal(n->last, prev);
}

static int rec_stanza(void *ud, struct stanza *st)
{
    struct rec *r = ud;
    r->stanzas++;
    assert_int_equal(st->refs, 1);
    assert_null(st->root->parent);
    check_tree(st->root);
    assert_int_equal(xml_serialize(st->root, "jabber:client", &r->log), 0);
    buf_append_str(&r->log, "\n");
    stanza_unref(st);
    if (r->pause_each)
        return XML_STREAM_PAUSE;
    return r->stanzas == r->stop_at_stanza;
}

static void rec_close(void *ud)
{
    struct rec *r = ud;
    r->closes++;
    buf_append_str(&r->log, "CLOSE\n");
}

static const struct xml_stream_handler rec_handler = {rec_open, rec_stanza, rec_close};

static const struct xml_limits big_limits = {65536, 16, 16};

static struct xml_stream *rec_stream(struct rec *r, const struct xml_limits *lim)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->log, 0);
    struct xml_stream *xs = xml_stream_new(lim ? lim : &big_limits, &rec_handler, r);
    assert_non_null(xs);
    return xs;
}

static void rec_done(struct rec *r, struct xml_stream *xs)
{
    xml_stream_free(xs);
    buf_free(&r->log);
}

static long feed_str(struct xml_stream *xs, const char *s)
{
    return xml_stream_feed(xs, s, strlen(s));
}

/* ---- the sample stream ---- */

#define HEADER \
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " \
    "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' " \
    "xml:lang='en'>"

static const char sample[] = HEADER
    "\n"
    "<message to='a@example.com/r' type='chat' id='m1'><body>Hi &amp; &lt;there&gt; &#x263A; "
    "caf\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80</body>"
    "<x xmlns='urn:x' a=\"q&quot;'\">t<y><z  k='1'/></y>u<![CDATA[<raw>]]></x></message> \r\n\t"
    "<iq type='get' id='i1'><query xmlns='jabber:iq:roster' xmlns:p='urn:p' p:attr='v' "
    "xml:lang='de'/></iq> "
    "<presence/>"
    "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>"
    "   \n   "
    "<message><body>line1\nline2</body></message>"
    "</stream:stream>";

static const char sample_expected[] =
    "OPEN {" STREAMS_NS "}stream to=example.com version=1.0 xml:lang=en xmlns=jabber:client\n"
    "<message to='a@example.com/r' type='chat' id='m1'><body>Hi &amp; &lt;there&gt; \xe2\x98\xba "
    "caf\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80</body>"
    "<x xmlns='urn:x' a='q&quot;&apos;'>t<y><z k='1'/></y>u&lt;raw&gt;</x></message>\n"
    "<iq type='get' id='i1'><query xmlns='jabber:iq:roster' xmlns:ns0='urn:p' ns0:attr='v' "
    "xml:lang='de'/></iq>\n"
    "<presence/>\n"
    "<features xmlns='" STREAMS_NS "'><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    "</features>\n"
    "<message><body>line1\nline2</body></message>\n"
    "CLOSE\n";

static void test_sample_one_chunk(void **state)
{
    (void)state;
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, NULL);
    long n = xml_stream_feed(xs, sample, sizeof sample - 1);
    assert_int_equal(n, sizeof sample - 1);
    assert_string_equal(r.log.data, sample_expected);
    assert_int_equal(r.stanzas, 5);
    assert_int_equal(r.closes, 1);
    rec_done(&r, xs);
}

static void test_split_every_byte(void **state)
{
    (void)state;
    size_t len = sizeof sample - 1;
    for (size_t cut = 0; cut <= len; cut++) {
        struct rec r;
        struct xml_stream *xs = rec_stream(&r, NULL);
        assert_int_equal(xml_stream_feed(xs, sample, cut), cut);
        assert_int_equal(xml_stream_feed(xs, sample + cut, len - cut), len - cut);
        if (strcmp(r.log.data, sample_expected) != 0)
            fprintf(stderr, "split at %zu differs\n", cut);
        assert_string_equal(r.log.data, sample_expected);
        rec_done(&r, xs);
    }
}

static void test_one_byte_at_a_time(void **state)
{
    (void)state;
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, NULL);
    for (size_t i = 0; i < sizeof sample - 1; i++)
        assert_int_equal(xml_stream_feed(xs, sample + i, 1), 1);
    assert_string_equal(r.log.data, sample_expected);
    rec_done(&r, xs);
}

/* Releasing the parser between chunks must change nothing. */
static void test_idle_between_chunks(void **state)
{
    (void)state;
    static const size_t steps[] = {1, 3, 7, 64};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        struct rec r;
        struct xml_stream *xs = rec_stream(&r, NULL);
        int released = 0;
        for (size_t i = 0; i < sizeof sample - 1; i += steps[k]) {
            size_t n = sizeof sample - 1 - i < steps[k] ? sizeof sample - 1 - i : steps[k];
            assert_int_equal(xml_stream_feed(xs, sample + i, n), n);
            released += xml_stream_idle(xs);
        }
        assert_string_equal(r.log.data, sample_expected);
        /* Byte steps release after the header, each stanza (5), each
         * keepalive byte but a lone \r (1 + 3 + 1 + 7) and the close. */
        if (steps[k] == 1)
            assert_int_equal(released, 19);
        rec_done(&r, xs);
    }
}

/* ---- the stream header and idle memory ---- */

static void test_idle_rules(void **state)
{
    (void)state;
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, NULL);
    assert_false(xml_stream_idle(xs)); /* nothing to release yet */
    assert_true(feed_str(xs, HEADER "<message><body>par") > 0);
    assert_int_equal(xml_stream_pending(xs), strlen("<message><body>par"));
    assert_false(xml_stream_idle(xs)); /* mid-stanza: expat holds state */
    assert_true(feed_str(xs, "tial</body></message>  ") > 0);
    assert_int_equal(xml_stream_pending(xs), 0);
    assert_true(xml_stream_idle(xs));
    assert_false(xml_stream_idle(xs));
    assert_int_equal(xml_stream_pending(xs), 0);
    assert_true(feed_str(xs, "<iq/></stream:stream>") > 0);
    assert_int_equal(r.opens, 1); /* the replayed header is silent */
    assert_int_equal(r.closes, 1);
    assert_string_equal(strchr(r.log.data, '\n') + 1,
                        "<message><body>partial</body></message>\n<iq/>\nCLOSE\n");
    rec_done(&r, xs);
}

/* A header other than the common ones: its own prefix and declarations
 * must survive idling. */
static void test_idle_custom_header(void **state)
{
    (void)state;
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, NULL);
    assert_true(feed_str(xs, "<s:stream xmlns:s='" STREAMS_NS "' xmlns='jabber:server' "
                             "xmlns:db='jabber:server:dialback' to='a&amp;b'>") > 0);
    assert_true(xml_stream_idle(xs));
    assert_true(feed_str(xs, "<db:result from='x' to='y'>key</db:result><s:features/>") > 0);
    assert_true(xml_stream_idle(xs));
    assert_true(feed_str(xs, "<message/></s:stream>") > 0);
    assert_string_equal(r.log.data,
                        "OPEN {" STREAMS_NS "}stream to=a&b xmlns=jabber:server\n"
                        "<result xmlns='jabber:server:dialback' from='x' to='y'>key</result>\n"
                        "<features xmlns='" STREAMS_NS "'/>\n"
                        "<message xmlns='jabber:server'/>\n"
                        "CLOSE\n");
    rec_done(&r, xs);
}

static void test_header_without_prolog_and_no_default_ns(void **state)
{
    (void)state;
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, NULL);
    assert_true(feed_str(xs, "<stream:stream xmlns:stream='" STREAMS_NS "'><a/>") > 0);
    assert_string_equal(r.log.data, "OPEN {" STREAMS_NS "}stream\n<a xmlns=''/>\n");
    rec_done(&r, xs);
}

/* ---- restricted XML (RFC 6120 §11.1) and well-formedness ---- */

static long feed_all(const char *s, struct rec *r)
{
    struct xml_stream *xs = rec_stream(r, NULL);
    long n = feed_str(xs, s);
    long again = feed_str(xs, "<a/>"); /* errors are sticky */
    if (n < 0)
        assert_int_equal(again, n);
    rec_done(r, xs);
    return n;
}

static void test_restricted(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "<?xml version='1.0'?><!DOCTYPE stream [<!ENTITY x 'y'>]><stream:stream/>",
        "<!DOCTYPE stream SYSTEM 'http://example.com/x.dtd'>",
        "<!-- hello --><stream:stream xmlns:stream='" STREAMS_NS "'>",
        HEADER "<message><!-- c --></message>",
        HEADER "<!-- between stanzas -->",
        "<?pi x?><stream:stream xmlns:stream='" STREAMS_NS "'>",
        HEADER "<message><?target data?></message>",
        HEADER "<message><body>&foo;</body></message>",
        HEADER "<message to='&foo;'/>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct rec r;
        long n = feed_all(bad[i], &r);
        if (n != -XMLE_RESTRICTED)
            fprintf(stderr, "case %zu: %ld\n", i, n);
        assert_int_equal(n, -XMLE_RESTRICTED);
        assert_int_equal(r.stanzas, 0);
    }
}

static void test_not_well_formed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        HEADER "<message></iq>",
        HEADER "<message><body>\xff</body></message>",
        HEADER "<message><body>\xc3</body></message>",
        HEADER "hello",
        HEADER "<message/> x",
        "<stream:stream>",                   /* unbound prefix */
        HEADER "<message to='a' to='b'/>",    /* duplicate attribute */
        HEADER "<message><body>&#0;</body></message>",
        HEADER "<message/></stream:stream><junk",
        HEADER "<?xml version='1.0'?>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct rec r;
        long n = feed_all(bad[i], &r);
        if (n != -XMLE_NOT_WELL_FORMED && !(i == 8 && n > 0))
            fprintf(stderr, "case %zu: %ld\n", i, n);
        if (i == 8) /* bytes after the end of the stream are ignored */
            assert_int_equal(n, (long)strlen(bad[i]));
        else
            assert_int_equal(n, -XMLE_NOT_WELL_FORMED);
    }
}

/* ---- limits ---- */

static void test_size_complete_stanza(void **state)
{
    (void)state;
    const struct xml_limits lim = {200, 8, 8};
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, &lim);
    char big[512];
    memset(big, 'a', sizeof big);
    struct buf in;
    buf_init(&in, 0);
    buf_printf(&in, "%s<message><body>%.150s</body></message>", HEADER, big);
    /* header alone is within 200 bytes; a stanza just below the limit passes */
    assert_int_equal(xml_stream_feed(xs, in.data, in.len), in.len);
    assert_int_equal(r.stanzas, 1);
    buf_reset(&in);
    buf_printf(&in, "<message><body>%.200s</body></message>", big);
    assert_int_equal(xml_stream_feed(xs, in.data, in.len), -XMLE_TOO_BIG);
    assert_int_equal(r.stanzas, 1);
    buf_free(&in);
    rec_done(&r, xs);
}

static void test_size_unterminated_attr(void **state)
{
    (void)state;
    const struct xml_limits lim = {1000, 8, 8};
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, &lim);
    assert_true(feed_str(xs, HEADER "<message to='") > 0);
    char piece[100];
    memset(piece, 'x', sizeof piece);
    long rc = 0;
    int pieces = 0;
    while ((rc = xml_stream_feed(xs, piece, sizeof piece)) > 0) {
        assert_true(xml_stream_pending(xs) <= 1000);
        assert_true(++pieces < 100);
    }
    assert_int_equal(rc, -XMLE_TOO_BIG);
    assert_int_equal(pieces, 9); /* 13 + 900 bytes pass, 1013 do not */
    rec_done(&r, xs);
}

static void test_size_header(void **state)
{
    (void)state;
    const struct xml_limits lim = {100, 8, 8};
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, &lim);
    assert_int_equal(feed_str(xs, HEADER), -XMLE_TOO_BIG); /* HEADER is ~170 bytes */
    assert_int_equal(r.opens, 0);
    rec_done(&r, xs);
}

static void test_keepalives_do_not_add_up(void **state)
{
    (void)state;
    const struct xml_limits lim = {300, 8, 8};
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, &lim);
    assert_true(feed_str(xs, HEADER) > 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(feed_str(xs, " \n"), 2);
    assert_int_equal(xml_stream_pending(xs), 0);
    assert_true(feed_str(xs, "<presence/>") > 0);
    assert_int_equal(r.stanzas, 1);
    rec_done(&r, xs);
}

static void test_depth(void **state)
{
    (void)state;
    const struct xml_limits lim = {4096, 3, 8};
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, &lim);
    assert_true(feed_str(xs, HEADER "<a><b><c/></b></a>") > 0);
    assert_int_equal(r.stanzas, 1);
    assert_int_equal(feed_str(xs, "<a><b><c><d/></c></b></a>"), -XMLE_TOO_DEEP);
    assert_int_equal(r.stanzas, 1);
    rec_done(&r, xs);
}

static void test_attrs(void **state)
{
    (void)state;
    const struct xml_limits lim = {4096, 8, 3};
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, &lim);
    assert_true(feed_str(xs, HEADER "<a x='1' y='2' z='3'><b p='1' q='2' r='3'/></a>") > 0);
    assert_int_equal(r.stanzas, 1);
    assert_int_equal(feed_str(xs, "<a><b p='1' q='2' r='3' s='4'/></a>"), -XMLE_TOO_MANY_ATTRS);
    rec_done(&r, xs);
}

/* ---- namespace declarations, the header's caps, tree memory ---- */

#define HDR_START "<stream:stream xmlns='jabber:client' xmlns:stream='" STREAMS_NS "'"

/* A header with n extra prefix declarations (issue 7: 12,500 of them). */
static void header_with_decls(struct buf *b, unsigned n)
{
    buf_init(b, 0);
    buf_append_str(b, HDR_START " to='example.com' version='1.0'");
    for (unsigned i = 0; i < n; i++)
        buf_printf(b, " xmlns:p%06u='u'", i);
    buf_append_str(b, ">");
}

static void test_header_decls_capped(void **state)
{
    (void)state;
    struct buf b;
    struct rec r;
    /* xmlns and xmlns:stream plus two more: still a header */
    header_with_decls(&b, XML_HEADER_MAX_DECLS - 2);
    struct xml_stream *xs = rec_stream(&r, NULL);
    assert_int_equal(xml_stream_feed(xs, b.data, b.len), (long)b.len);
    assert_int_equal(r.opens, 1);
    rec_done(&r, xs);
    buf_free(&b);
    header_with_decls(&b, XML_HEADER_MAX_DECLS - 1);
    xs = rec_stream(&r, NULL);
    assert_int_equal(xml_stream_feed(xs, b.data, b.len), -XMLE_TOO_MANY_ATTRS);
    assert_int_equal(r.opens, 0);
    rec_done(&r, xs);
    buf_free(&b);
}

static void test_header_decl_flood(void **state)
{
    (void)state;
    struct buf b;
    header_with_decls(&b, 12500); /* 225 KB, under the 256 KiB stanza limit */
    const struct xml_limits lim = {256 * 1024, 16, 64};
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, &lim);
    long rc = xml_stream_feed(xs, b.data, b.len);
    /* refused by size before the start tag is complete */
    assert_int_equal(rc, -XMLE_TOO_BIG);
    assert_int_equal(r.opens, 0);
    rec_done(&r, xs);
    buf_free(&b);
}

static void test_header_size_capped(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    buf_append_str(&b, "<?xml version='1.0'?>" HDR_START " to='");
    while (b.len < XML_HEADER_MAX + 64)
        buf_append_str(&b, "x");
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, NULL);
    /* fed a byte at a time, it stops at the cap, not at the stanza limit */
    long rc = 0;
    size_t i = 0;
    for (; i < b.len && rc >= 0; i++)
        rc = xml_stream_feed(xs, b.data + i, 1);
    assert_int_equal(rc, 0 - XMLE_TOO_BIG);
    assert_true(i > XML_HEADER_MAX - 16);
    assert_true(i <= XML_HEADER_MAX + 1);
    rec_done(&r, xs);
    /* a long but legitimate header (to, from, id) opens */
    xs = rec_stream(&r, NULL);
    buf_reset(&b);
    buf_append_str(&b, HDR_START " version='1.0' to='");
    for (int k = 0; k < 1000; k++)
        buf_append_str(&b, "d");
    buf_append_str(&b, "' from='");
    for (int k = 0; k < 2000; k++)
        buf_append_str(&b, "u");
    buf_append_str(&b, "'>");
    assert_int_equal(xml_stream_feed(xs, b.data, b.len), (long)b.len);
    assert_int_equal(r.opens, 1);
    rec_done(&r, xs);
    buf_free(&b);
}

static void test_stanza_decls_count_as_attrs(void **state)
{
    (void)state;
    const struct xml_limits lim = {4096, 8, 3};
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, &lim);
    assert_true(feed_str(xs, HEADER "<a xmlns='urn:a' xmlns:p='urn:p' p:x='1'/>") > 0);
    assert_int_equal(r.stanzas, 1);
    /* children count on their own */
    assert_true(feed_str(xs, "<a xmlns:p='u' x='1'><b xmlns:q='u' y='1' z='2'/></a>") > 0);
    assert_int_equal(r.stanzas, 2);
    assert_int_equal(feed_str(xs, "<a xmlns:p='u' xmlns:q='u' x='1' y='2'/>"),
                     -XMLE_TOO_MANY_ATTRS);
    rec_done(&r, xs);
    xs = rec_stream(&r, &lim);
    assert_int_equal(feed_str(xs, HEADER "<a><b xmlns:p='u' xmlns:q='u' xmlns:r='u' "
                                         "xmlns:s='u'/></a>"),
                     -XMLE_TOO_MANY_ATTRS);
    assert_int_equal(r.stanzas, 0);
    rec_done(&r, xs);
}

/* "<a/>" is 4 bytes of input but a whole node: the tree cap bounds it. */
static void test_tree_capped(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    buf_append_str(&b, "<m>");
    for (int i = 0; i < 2000; i++)
        buf_append_str(&b, "<a/>");
    buf_append_str(&b, "</m>");
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, NULL);
    assert_true(feed_str(xs, HEADER) > 0);
    assert_int_equal(xml_stream_feed(xs, b.data, b.len), (long)b.len);
    assert_int_equal(r.stanzas, 1);
    xml_stream_set_max_tree(xs, 64 * 1024);
    assert_true(feed_str(xs, "<m><a/><a/>text<a x='1'/></m>") > 0);
    assert_int_equal(r.stanzas, 2);
    assert_int_equal(xml_stream_feed(xs, b.data, b.len), -XMLE_TOO_BIG);
    assert_int_equal(r.stanzas, 2);
    rec_done(&r, xs);
    buf_free(&b);
}

static void test_set_limits(void **state)
{
    (void)state;
    const struct xml_limits small = {10000, 8, 8}, big = {65536, 8, 8};
    char body[12001];
    memset(body, 'x', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    struct buf st;
    buf_init(&st, 0);
    buf_printf(&st, "<message><body>%s</body></message>", body);
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, &small);
    assert_true(feed_str(xs, HEADER) > 0);
    assert_int_equal(xml_stream_feed(xs, st.data, st.len), -XMLE_TOO_BIG);
    rec_done(&r, xs);
    xs = rec_stream(&r, &small);
    assert_true(feed_str(xs, HEADER) > 0);
    xml_stream_reset(xs); /* as after SASL success */
    xml_stream_set_limits(xs, &big);
    assert_true(feed_str(xs, HEADER) > 0);
    assert_int_equal(xml_stream_feed(xs, st.data, st.len), (long)st.len);
    assert_int_equal(r.stanzas, 1);
    rec_done(&r, xs);
    buf_free(&st);
}

/* ---- stopping, reset ---- */

static void test_stop_after_stanza(void **state)
{
    (void)state;
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, NULL);
    assert_true(feed_str(xs, HEADER) > 0);
    r.stop_at_stanza = 2;
    const char *in = "<presence/> <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
                     "<iq type='get'/>\x16\x03\x01";
    long n = feed_str(xs, in);
    const char *end = strstr(in, "<iq");
    assert_int_equal(n, end - in);
    assert_int_equal(r.stanzas, 2);
    /* Without a reset, the rest of the stream carries on where it stopped. */
    assert_int_equal(feed_str(xs, "<iq type='get'/>"), strlen("<iq type='get'/>"));
    assert_int_equal(r.stanzas, 3);
    assert_string_equal(strrchr(r.log.data, '<'), "<iq type='get'/>\n");
    rec_done(&r, xs);
}

/* A pause keeps the rest in the parser: feed takes the whole input but
 * hands out one stanza, refuses more until resumed, and each resume hands
 * out the next, in order; the stream then goes on as before. */
static void test_pause_and_resume(void **state)
{
    (void)state;
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, NULL);
    assert_true(feed_str(xs, HEADER) > 0);
    r.pause_each = true;
    const char *in = "<message id='1'/><message id='2'/><message id='3'/><mess";
    assert_int_equal(feed_str(xs, in), strlen(in));
    assert_int_equal(r.stanzas, 1);
    assert_true(xml_stream_paused(xs));
    assert_false(xml_stream_idle(xs)); /* what it keeps is not thrown away */
    assert_int_equal(feed_str(xs, "<iq/>"), 0);
    for (int i = 2; i <= 3; i++) {
        assert_int_equal(xml_stream_resume(xs), 0);
        assert_int_equal(r.stanzas, i);
        assert_true(xml_stream_paused(xs));
    }
    assert_int_equal(xml_stream_resume(xs), 0); /* the partial <mess */
    assert_false(xml_stream_paused(xs));
    assert_int_equal(r.stanzas, 3);
    r.pause_each = false;
    assert_int_equal(feed_str(xs, "age id='4'/>"), strlen("age id='4'/>"));
    assert_int_equal(r.stanzas, 4);
    assert_non_null(strstr(r.log.data, "id='1'/>\n<message id='2'/>\n<message id='3'/>\n"
                                       "<message id='4'/>"));
    /* An error found while resuming fails the stream. */
    r.pause_each = true;
    assert_int_equal(feed_str(xs, "<a/><b></c>"), strlen("<a/><b></c>"));
    assert_true(xml_stream_resume(xs) < 0);
    assert_true(feed_str(xs, "<a/>") < 0);
    rec_done(&r, xs);
}

static void test_stop_then_reset(void **state)
{
    (void)state;
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, NULL);
    r.stop_at_stanza = 1;
    const char *in = HEADER "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>trailing";
    long n = feed_str(xs, in);
    assert_int_equal(n, strlen(in) - strlen("trailing"));
    xml_stream_reset(xs);
    r.stop_at_stanza = 0;
    assert_true(feed_str(xs, "<stream:stream xmlns='jabber:client' xmlns:stream='" STREAMS_NS
                             "' version='1.0'><iq/>") > 0);
    assert_int_equal(r.opens, 2);
    assert_int_equal(r.stanzas, 2);
    /* reset also clears an error */
    assert_int_equal(feed_str(xs, "<a></b>"), -XMLE_NOT_WELL_FORMED);
    xml_stream_reset(xs);
    assert_true(feed_str(xs, HEADER "<presence/>") > 0);
    assert_int_equal(r.opens, 3);
    assert_int_equal(r.stanzas, 3);
    rec_done(&r, xs);
}

static void test_stop_at_open(void **state)
{
    (void)state;
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, NULL);
    r.stop_at_open = 1;
    long n = feed_str(xs, HEADER "<presence/>");
    assert_int_equal(n, strlen(HEADER));
    assert_int_equal(r.stanzas, 0);
    assert_true(feed_str(xs, "<presence/>") > 0);
    assert_int_equal(r.stanzas, 1);
    rec_done(&r, xs);
}

static void test_reset_mid_stanza(void **state)
{
    (void)state;
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, NULL);
    assert_true(feed_str(xs, HEADER "<message><body>half") > 0);
    xml_stream_reset(xs);
    assert_int_equal(xml_stream_pending(xs), 0);
    assert_true(feed_str(xs, HEADER "<presence/>") > 0);
    assert_int_equal(r.opens, 2);
    assert_int_equal(r.stanzas, 1);
    rec_done(&r, xs);
}

/* ---- serializer ---- */

static void test_serialize_namespaces(void **state)
{
    (void)state;
    struct stanza *st = stanza_new("iq", "jabber:client");
    assert_non_null(st);
    struct xml_node *q = xml_add_child(st, st->root, "query", "jabber:iq:roster");
    struct xml_node *item = xml_add_child(st, q, "item", NULL);
    xml_add_child(st, item, "group", "jabber:iq:roster");
    xml_add_child(st, q, "back", "jabber:client");
    xml_add_child(st, q, "none", "");
    assert_int_equal(xml_set_attr(st, item, "{urn:a}k", "v"), 0);
    assert_int_equal(xml_set_attr(st, item, "{urn:b}k", "w"), 0);
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(xml_serialize(st->root, "jabber:client", &out), 0);
    assert_string_equal(out.data,
                        "<iq><query xmlns='jabber:iq:roster'><item xmlns:ns0='urn:a' ns0:k='v' "
                        "xmlns:ns1='urn:b' ns1:k='w'><group/></item><back xmlns='jabber:client'/>"
                        "<none xmlns=''/></query></iq>");
    buf_reset(&out);
    assert_int_equal(xml_serialize(st->root, "jabber:server", &out), 0);
    assert_string_equal(strstr(out.data, "<query") - strlen("<iq xmlns='jabber:client'>"),
                        out.data);
    assert_memory_equal(out.data, "<iq xmlns='jabber:client'><query", 32);
    buf_reset(&out);
    assert_int_equal(xml_serialize(q, NULL, &out), 0);
    assert_memory_equal(out.data, "<query xmlns='jabber:iq:roster'><item", 37);
    buf_free(&out);
    stanza_unref(st);
}

static void test_escape(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 0);
    const char s[] = "a&b<c>d\"e'f\r\n\tg";
    assert_int_equal(xml_escape(&out, s, sizeof s - 1, false), 0);
    assert_string_equal(out.data, "a&amp;b&lt;c&gt;d\"e'f&#xD;\n\tg");
    buf_reset(&out);
    assert_int_equal(xml_escape(&out, s, sizeof s - 1, true), 0);
    assert_string_equal(out.data, "a&amp;b&lt;c&gt;d&quot;e&apos;f&#xD;&#xA;&#x9;g");
    buf_reset(&out);
    assert_int_equal(xml_escape(&out, "", 0, true), 0);
    assert_int_equal(out.len, 0);
    buf_free(&out);

    struct stanza *st = stanza_new("message", "jabber:client");
    assert_int_equal(xml_set_attr(st, st->root, "to", "a'b\"<&>"), 0);
    struct xml_node *body = xml_add_child(st, st->root, "body", NULL);
    assert_non_null(xml_add_text(st, body, "1 < 2 && 3 > 2 ]]>", 18));
    buf_init(&out, 0);
    assert_int_equal(xml_serialize(st->root, "jabber:client", &out), 0);
    assert_string_equal(out.data, "<message to='a&apos;b&quot;&lt;&amp;&gt;'><body>1 &lt; 2 "
                                  "&amp;&amp; 3 &gt; 2 ]]&gt;</body></message>");
    buf_free(&out);
    stanza_unref(st);
}

static void test_serialize_limit(void **state)
{
    (void)state;
    struct stanza *st = stanza_new("message", "jabber:client");
    struct xml_node *body = xml_add_child(st, st->root, "body", NULL);
    assert_non_null(xml_add_text(st, body, "0123456789012345678901234567890123456789", 40));
    struct buf out;
    buf_init(&out, 40);
    assert_int_equal(buf_append_str(&out, "<x/>"), 0);
    assert_int_equal(xml_serialize(st->root, "jabber:client", &out), -ENOBUFS);
    assert_string_equal(out.data, "<x/>"); /* nothing half-written */
    buf_free(&out);
    stanza_unref(st);
}

/* Parsing what the serializer wrote gives the same serialization. */
static void test_roundtrip(void **state)
{
    (void)state;
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, NULL);
    assert_int_equal(xml_stream_feed(xs, sample, sizeof sample - 1), sizeof sample - 1);
    struct rec r2;
    struct xml_stream *xs2 = rec_stream(&r2, NULL);
    assert_true(feed_str(xs2, HEADER) > 0);
    const char *body = strchr(r.log.data, '\n') + 1;
    size_t len = strlen(body) - strlen("CLOSE\n");
    assert_int_equal(xml_stream_feed(xs2, body, len), len);
    assert_memory_equal(strchr(r2.log.data, '\n') + 1, body, len);
    rec_done(&r2, xs2);
    rec_done(&r, xs);
}

/* ---- building and reading trees ---- */

static void test_tree_building(void **state)
{
    (void)state;
    struct stanza *st = stanza_new("message", "jabber:client");
    assert_non_null(st);
    assert_int_equal(st->refs, 1);
    struct xml_node *m = st->root;
    assert_int_equal(xml_set_attr(st, m, "to", "a@b"), 0);
    assert_int_equal(xml_set_attr(st, m, "type", "chat"), 0);
    assert_int_equal(xml_set_attr(st, m, "id", "1"), 0);
    assert_int_equal(xml_set_attr(st, m, "type", "normal"), 0); /* replace */
    assert_int_equal(xml_set_attr(st, m, "to", NULL), 0);       /* remove */
    assert_int_equal(xml_set_attr(st, m, "absent", NULL), 0);
    assert_null(xml_attr(m, "to"));
    assert_string_equal(xml_attr(m, "type"), "normal");
    assert_string_equal(m->attrs->name, "type");
    assert_string_equal(m->attrs->next->name, "id");

    struct xml_node *body = xml_add_child(st, m, "body", NULL);
    assert_string_equal(body->ns, "jabber:client");
    assert_string_equal(xml_text(st, body), "");
    xml_add_text(st, body, "Hello", 5);
    assert_string_equal(xml_text(st, body), "Hello");
    xml_add_child(st, body, "b", "urn:x");
    xml_add_text(st, body, ", world", 7);
    assert_string_equal(xml_text(st, body), "Hello, world");
    assert_int_equal(xml_count_elems(body), 1);
    struct xml_node *x = xml_add_child(st, m, "x", "urn:x");
    assert_ptr_equal(xml_child(m, "x", "urn:x"), x);
    assert_ptr_equal(xml_child(m, "x", NULL), x);
    assert_null(xml_child(m, "x", "urn:y"));
    assert_ptr_equal(xml_first_elem(m), body);
    assert_ptr_equal(xml_next_elem(body), x);
    assert_null(xml_next_elem(x));
    assert_int_equal(xml_count_elems(m), 2);

    xml_remove(body);
    assert_ptr_equal(xml_first_elem(m), x);
    assert_ptr_equal(m->last, x);
    xml_remove(x);
    assert_null(m->children);
    assert_null(m->last);
    assert_int_equal(xml_count_elems(m), 0);
    xml_remove(x); /* already unlinked: no-op */
    stanza_unref(st);
}

static void test_copy(void **state)
{
    (void)state;
    struct stanza *a = stanza_new("iq", "jabber:client");
    xml_set_attr(a, a->root, "id", "q1");
    struct xml_node *q = xml_add_child(a, a->root, "query", "urn:q");
    xml_set_attr(a, q, "xml:lang", "en");
    struct xml_node *it = xml_add_child(a, q, "item", NULL);
    xml_add_text(a, it, "one", 3);
    xml_add_child(a, q, "empty", NULL);
    xml_add_text(a, q, "tail", 4);

    struct stanza *b = stanza_copy(a);
    assert_non_null(b);
    assert_ptr_not_equal(b->arena, a->arena);
    xml_set_attr(b, b->root, "id", "q2");
    struct buf sa, sb;
    buf_init(&sa, 0);
    buf_init(&sb, 0);
    xml_serialize(a->root, "jabber:client", &sa);
    xml_serialize(b->root, "jabber:client", &sb);
    assert_string_equal(sa.data, "<iq id='q1'><query xmlns='urn:q' xml:lang='en'><item>one</item>"
                                 "<empty/>tail</query></iq>");
    assert_string_equal(sb.data, "<iq id='q2'><query xmlns='urn:q' xml:lang='en'><item>one</item>"
                                 "<empty/>tail</query></iq>");

    /* copy a subtree into another stanza */
    struct stanza *c = stanza_new("message", "jabber:client");
    struct xml_node *cq = xml_copy_into(c, c->root, xml_child(a->root, "query", "urn:q"));
    assert_non_null(cq);
    assert_ptr_equal(cq->parent, c->root);
    assert_ptr_equal(c->root->last, cq);
    stanza_unref(a); /* the copies own their strings */
    buf_reset(&sa);
    xml_serialize(c->root, "jabber:client", &sa);
    assert_string_equal(sa.data, "<message><query xmlns='urn:q' xml:lang='en'><item>one</item>"
                                 "<empty/>tail</query></message>");
    assert_ptr_equal(stanza_ref(c), c);
    assert_int_equal(c->refs, 2);
    stanza_unref(c);
    stanza_unref(c);
    stanza_unref(b);
    stanza_unref(NULL);
    buf_free(&sa);
    buf_free(&sb);
}

static void test_header_attrs(void **state)
{
    (void)state;
    struct rec r;
    struct xml_stream *xs = rec_stream(&r, NULL);
    assert_true(feed_str(xs, HEADER) > 0);
    assert_string_equal(r.log.data,
                        "OPEN {" STREAMS_NS "}stream to=example.com version=1.0 xml:lang=en "
                        "xmlns=jabber:client\n");
    rec_done(&r, xs);
}

/* ---- arena ---- */

static void test_arena(void **state)
{
    (void)state;
    struct arena *a = arena_new();
    assert_non_null(a);
    assert_int_equal(arena_footprint(a), ARENA_FIRST_CHUNK);
    char *s = arena_strdup(a, "hello");
    assert_string_equal(s, "hello");
    void *p = arena_alloc(a, 3);
    void *q = arena_alloc(a, 8);
    assert_int_equal((uintptr_t)q % ARENA_ALIGN, 0);
    assert_true((char *)q >= (char *)p + 3);
    assert_int_equal(arena_footprint(a), ARENA_FIRST_CHUNK); /* still the first chunk */
    /* a large string gets its own chunk, sized to fit */
    size_t before = arena_footprint(a);
    char *big = arena_alloc(a, 100000);
    assert_non_null(big);
    memset(big, 1, 100000);
    assert_true(arena_footprint(a) - before >= 100000 && arena_footprint(a) - before < 100100);
    /* small allocations still go to the current chunk */
    assert_int_equal((char *)arena_alloc(a, 8) - (char *)q, 8);
    /* many small ones: chunks double, footprint stays proportional */
    for (int i = 0; i < 10000; i++)
        assert_non_null(arena_alloc(a, 16));
    assert_true(arena_footprint(a) < 100100 + 2 * 10000 * 16 + ARENA_MAX_CHUNK);
    assert_null(arena_alloc(a, SIZE_MAX));
    assert_null(arena_alloc(a, SIZE_MAX - 4));
    assert_null(arena_strndup(a, "x", SIZE_MAX));
    arena_free(a);
    arena_free(NULL);
}

static void test_small_stanza_one_chunk(void **state)
{
    (void)state;
    struct stanza *st = stanza_new("message", "jabber:client");
    xml_set_attr(st, st->root, "to", "juliet@example.com/balcony");
    xml_set_attr(st, st->root, "from", "romeo@example.net/orchard");
    xml_set_attr(st, st->root, "type", "chat");
    xml_set_attr(st, st->root, "id", "ktx72v49");
    struct xml_node *b = xml_add_child(st, st->root, "body", NULL);
    xml_add_text(st, b, "Art thou not Romeo, and a Montague?", 35);
    assert_int_equal(arena_footprint(st->arena), ARENA_FIRST_CHUNK);
    stanza_unref(st);
}

static void test_error_strings(void **state)
{
    (void)state;
    for (int e = XMLE_OK; e <= XMLE_NOMEM; e++)
        assert_string_not_equal(xml_error_string((enum xml_error)e), "unknown XML error");
    assert_string_equal(xml_error_string((enum xml_error)99), "unknown XML error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_one_chunk),
        cmocka_unit_test(test_split_every_byte),
        cmocka_unit_test(test_one_byte_at_a_time),
        cmocka_unit_test(test_idle_between_chunks),
        cmocka_unit_test(test_idle_rules),
        cmocka_unit_test(test_idle_custom_header),
        cmocka_unit_test(test_header_without_prolog_and_no_default_ns),
        cmocka_unit_test(test_header_attrs),
        cmocka_unit_test(test_restricted),
        cmocka_unit_test(test_not_well_formed),
        cmocka_unit_test(test_size_complete_stanza),
        cmocka_unit_test(test_size_unterminated_attr),
        cmocka_unit_test(test_size_header),
        cmocka_unit_test(test_keepalives_do_not_add_up),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_attrs),
        cmocka_unit_test(test_header_decls_capped),
        cmocka_unit_test(test_header_decl_flood),
        cmocka_unit_test(test_header_size_capped),
        cmocka_unit_test(test_stanza_decls_count_as_attrs),
        cmocka_unit_test(test_tree_capped),
        cmocka_unit_test(test_set_limits),
        cmocka_unit_test(test_stop_after_stanza),
        cmocka_unit_test(test_pause_and_resume),
        cmocka_unit_test(test_stop_then_reset),
        cmocka_unit_test(test_stop_at_open),
        cmocka_unit_test(test_reset_mid_stanza),
        cmocka_unit_test(test_serialize_namespaces),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_serialize_limit),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_tree_building),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_small_stanza_one_chunk),
        cmocka_unit_test(test_error_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
