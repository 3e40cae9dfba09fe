/* The streaming parser: expat, namespace-aware, turning a byte stream into
 * one stream header and a sequence of stanza trees.
 *
 * Depth (level) counts open elements: 0 before the stream header, 1 between
 * stanzas, 2 and more inside a stanza. Byte positions are expat's, counted
 * from the first byte fed to the current parser; "mark" is the position
 * after the last thing fully accepted (stream header, stanza, or keepalive
 * whitespace), so fed - mark is what the peer has sent of an element not
 * yet complete, including bytes expat holds without calling back.
 *
 * The expat parser and the build state live in struct xml_active, which is
 * freed while idle; a new parser is primed with a synthetic copy of the
 * stream header (its element name and namespace declarations), so stanzas
 * resolve their namespaces exactly as before.
 */
#define XML_DTD /* declares the billion-laughs setters (STACK-NOTES) */
#include <expat.h>

#include "core/arena.h"
#include "xml/xml.h"
#include "xml/xml_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

/* XML_Parse takes an int; smaller pieces also let the size limit bite
 * before a huge unterminated element is all buffered. */
#define FEED_PIECE 65536

#define DEFAULT_MAX_STANZA (256 * 1024)
#define DEFAULT_MAX_DEPTH 32
#define DEFAULT_MAX_ATTRS 64

enum phase { PH_PROLOG, PH_OPEN, PH_CLOSED };

struct xml_active {
    XML_Parser p;
    struct xml_stream *xs;
    struct stanza *hdr;    /* scratch stanza of the stream header */
    struct stanza *cur;    /* stanza being built */
    struct xml_node *node; /* innermost open element of cur */
    struct buf text;       /* character data not yet in a node */
    struct buf decls;      /* header's xmlns declarations, while at level 0 */
    const char *default_ns; /* header's xmlns='...', in hdr's arena */
    uint64_t fed;          /* bytes given to this parser */
    uint64_t mark;         /* end of the last accepted element */
    uint64_t stop_at;      /* where a handler asked to stop */
    unsigned level;
    unsigned ndecls;       /* namespace declarations of the element being opened */
    enum xml_error err;
    bool stop;      /* a handler asked to stop (or the stream closed) */
    bool paused;    /* a handler asked to pause: expat is suspended */
    bool replaying; /* feeding the synthetic header */
    bool dirty;     /* parser stopped or reset: XML_ParserReset before use */
};

struct xml_stream {
    struct xml_limits lim;
    struct xml_stream_handler h;
    void *ud;
    size_t max_tree;        /* bytes of one stanza's arena; 0: no cap */
    struct xml_active *act; /* NULL while idle */
    const char *replay;     /* synthetic stream header, once opened */
    bool replay_static;     /* replay points at one of common_headers */
    unsigned char phase;
    unsigned char err; /* enum xml_error, sticky */
};

/* The headers nearly every client and server sends: no allocation then. */
static const char *const common_headers[] = {
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>",
    "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>",
    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:server'>",
};

/* ---- helpers for the callbacks ---- */

static bool halted(const struct xml_active *a) { return a->err != XMLE_OK || a->stop; }

static void fail(struct xml_active *a, enum xml_error e)
{
    if (a->err == XMLE_OK)
        a->err = e;
    XML_StopParser(a->p, XML_FALSE);
}

static void stop_at(struct xml_active *a, uint64_t pos)
{
    a->stop = true;
    a->stop_at = pos;
    XML_StopParser(a->p, XML_FALSE);
}

/* Suspends expat after this element; what it has buffered stays there
 * for xml_stream_resume (no parser reset, no header replay). */
static void pause_here(struct xml_active *a)
{
    a->paused = true;
    XML_StopParser(a->p, XML_TRUE);
}

/* Position just after the event being reported. */
static uint64_t event_end(const struct xml_active *a)
{
    XML_Index idx = XML_GetCurrentByteIndex(a->p);
    int count = XML_GetCurrentByteCount(a->p);
    if (idx < 0 || count < 0)
        return a->fed;
    return (uint64_t)idx + (uint64_t)count;
}

/* Bytes the element being read may take: the header has its own cap. */
static size_t elem_limit(const struct xml_active *a)
{
    size_t max = a->xs->lim.max_stanza_size;
    return a->level == 0 && max > XML_HEADER_MAX ? XML_HEADER_MAX : max;
}

static bool over_size(struct xml_active *a, uint64_t end)
{
    if (end - a->mark <= elem_limit(a))
        return false;
    fail(a, XMLE_TOO_BIG);
    return true;
}

static enum xml_error from_errno(int rc) { return rc == -ENOBUFS ? XMLE_TOO_BIG : XMLE_NOMEM; }

/* expat reports namespace declarations apart from attributes (on_ns_decl,
 * just before the element's start): they count against the same limit,
 * as they cost the same. */
static bool too_many_attrs(struct xml_active *a, const char **atts)
{
    unsigned n = a->ndecls;
    a->ndecls = 0;
    if (n > a->xs->lim.max_attrs) {
        fail(a, XMLE_TOO_MANY_ATTRS);
        return true;
    }
    for (size_t i = 0; atts[i]; i += 2)
        if (++n > a->xs->lim.max_attrs) {
            fail(a, XMLE_TOO_MANY_ATTRS);
            return true;
        }
    return false;
}

/* A tree may cost more than its bytes ("<a/>" is a whole node): bounded. */
static bool tree_too_big(struct xml_active *a)
{
    size_t max = a->xs->max_tree;
    if (max == 0 || arena_footprint(a->cur->arena) <= max)
        return false;
    fail(a, XMLE_TOO_BIG);
    return true;
}

static void flush_text(struct xml_active *a)
{
    if (a->text.len == 0)
        return;
    if (!xml_add_text(a->cur, a->node, a->text.data, a->text.len))
        fail(a, XMLE_NOMEM);
    else
        tree_too_big(a);
    buf_reset(&a->text);
}

/* ---- the stream header ---- */

/* Keeps "<qname xmlns...>" to replay on a new parser; common ones static. */
static int save_replay(struct xml_active *a, const struct xml_qname *q)
{
    struct xml_stream *xs = a->xs;
    struct buf b;
    buf_init(&b, 0);
    int rc = buf_append(&b, "<", 1);
    if (rc == 0 && q->prefix_len)
        rc = buf_printf(&b, "%.*s:", (int)q->prefix_len, q->prefix);
    if (rc == 0)
        rc = buf_append(&b, q->local, q->local_len);
    if (rc == 0)
        rc = buf_append(&b, a->decls.data ? a->decls.data : "", a->decls.len);
    if (rc == 0)
        rc = buf_append(&b, ">", 1);
    buf_free(&a->decls);
    if (rc < 0) {
        buf_free(&b);
        return rc;
    }
    for (size_t i = 0; i < sizeof common_headers / sizeof common_headers[0]; i++) {
        if (strcmp(b.data, common_headers[i]) == 0) {
            buf_free(&b);
            xs->replay = common_headers[i];
            xs->replay_static = true;
            return 0;
        }
    }
    xs->replay = b.data; /* handed over: freed with free() */
    xs->replay_static = false;
    return 0;
}

/* The caller checks the content namespace (jabber:client) from "xmlns":
 * expat reports declarations apart from attributes. */
static int set_header_xmlns(struct stanza *hdr, const char *ns)
{
    struct xml_attr *tail = hdr->root->attrs;
    while (tail && tail->next)
        tail = tail->next;
    return xml_attr_append(hdr, hdr->root, &tail, "xmlns", ns);
}

static void on_header(struct xml_active *a, const char *name, const char **atts)
{
    struct xml_stream *xs = a->xs;
    uint64_t end = event_end(a);
    if (a->replaying) {
        a->level = 1;
        a->mark = end;
        return;
    }
    a->ndecls = 0; /* capped apart (XML_HEADER_MAX_DECLS, on_ns_decl) */
    if (over_size(a, end) || too_many_attrs(a, atts))
        return;
    struct xml_qname q = xml_split_qname(name);
    if (!a->hdr)
        a->hdr = stanza_create();
    if (!a->hdr || !xml_build_elem(a->hdr, NULL, name, atts) || save_replay(a, &q) < 0 ||
        (a->default_ns && set_header_xmlns(a->hdr, a->default_ns) < 0)) {
        fail(a, XMLE_NOMEM);
        return;
    }
    a->level = 1;
    a->mark = end;
    xs->phase = PH_OPEN;
    if (xs->h.stream_open && xs->h.stream_open(xs->ud, a->hdr->root) != 0)
        stop_at(a, end);
}

/* Counts declarations on every element; on the header, also keeps them. */
static void XMLCALL on_ns_decl(void *ud, const XML_Char *prefix, const XML_Char *uri)
{
    struct xml_active *a = ud;
    if (halted(a) || a->replaying)
        return;
    unsigned max = a->level == 0 ? XML_HEADER_MAX_DECLS : a->xs->lim.max_attrs;
    if (++a->ndecls > max) {
        fail(a, XMLE_TOO_MANY_ATTRS);
        return;
    }
    if (a->level != 0)
        return;
    int rc = buf_append_str(&a->decls, " xmlns");
    if (rc == 0 && prefix)
        rc = buf_printf(&a->decls, ":%s", prefix);
    if (rc == 0)
        rc = buf_append(&a->decls, "='", 2);
    if (rc == 0 && uri)
        rc = xml_escape(&a->decls, uri, strlen(uri), true);
    if (rc == 0)
        rc = buf_append(&a->decls, "'", 1);
    if (rc < 0) {
        fail(a, from_errno(rc));
        return;
    }
    if (prefix)
        return;
    if (!a->hdr)
        a->hdr = stanza_create();
    if (!a->hdr || !(a->default_ns = arena_strdup(a->hdr->arena, uri ? uri : "")))
        fail(a, XMLE_NOMEM);
}

/* ---- element and text callbacks ---- */

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct xml_active *a = ud;
    if (halted(a))
        return;
    if (a->level == 0) {
        on_header(a, name, atts);
        return;
    }
    if (a->level >= 2)
        flush_text(a);
    if (halted(a) || over_size(a, event_end(a)) || too_many_attrs(a, atts))
        return;
    /* stanza root is depth 1: its level before this element is 1 */
    if (a->level > a->xs->lim.max_depth) {
        fail(a, XMLE_TOO_DEEP);
        return;
    }
    if (a->level == 1 && !(a->cur = stanza_create())) {
        fail(a, XMLE_NOMEM);
        return;
    }
    struct xml_node *n = xml_build_elem(a->cur, a->level == 1 ? NULL : a->node, name, atts);
    if (!n) {
        fail(a, XMLE_NOMEM);
        return;
    }
    if (tree_too_big(a))
        return;
    a->node = n;
    a->level++;
}

static void stanza_done(struct xml_active *a)
{
    struct xml_stream *xs = a->xs;
    uint64_t end = event_end(a);
    if (over_size(a, end))
        return;
    a->mark = end;
    buf_shrink(&a->text, 4096); /* one big body must not pin its buffer */
    struct stanza *st = a->cur;
    a->cur = NULL;
    a->node = NULL;
    if (!xs->h.stanza) {
        stanza_unref(st);
        return;
    }
    int r = xs->h.stanza(xs->ud, st);
    if (r == XML_STREAM_PAUSE)
        pause_here(a);
    else if (r != 0)
        stop_at(a, end);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name; /* expat has checked that it matches */
    struct xml_active *a = ud;
    if (halted(a))
        return;
    if (a->level >= 2)
        flush_text(a);
    if (halted(a))
        return;
    a->level--;
    if (a->level >= 2) {
        a->node = a->node->parent;
    } else if (a->level == 1) {
        stanza_done(a);
    } else {
        a->xs->phase = PH_CLOSED;
        a->mark = event_end(a);
        stop_at(a, a->mark); /* anything after the stream's end is ignored */
        if (a->xs->h.stream_close)
            a->xs->h.stream_close(a->xs->ud);
    }
}

static bool all_space(const char *s, int len)
{
    for (int i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct xml_active *a = ud;
    if (halted(a))
        return;
    if (a->level >= 2) {
        /* coalesced in text until the next tag; text's limit bounds it */
        int rc = buf_append(&a->text, s, (size_t)len);
        if (rc < 0)
            fail(a, from_errno(rc));
        return;
    }
    if (!all_space(s, len)) {
        fail(a, XMLE_NOT_WELL_FORMED);
        return;
    }
    a->mark = event_end(a); /* whitespace keepalive: accepted as is */
}

/* ---- RFC 6120 §11.1: constructs a stream must not contain ---- */

static void XMLCALL on_comment(void *ud, const XML_Char *data)
{
    (void)data;
    fail(ud, XMLE_RESTRICTED);
}

static void XMLCALL on_pi(void *ud, const XML_Char *target, const XML_Char *data)
{
    (void)target;
    (void)data;
    fail(ud, XMLE_RESTRICTED);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    fail(ud, XMLE_RESTRICTED);
}

/* RFC 6120 §11.6: streams are UTF-8; a declaration naming another
 * encoding gets unsupported-encoding (expat would silently decode it). */
static void XMLCALL on_xml_decl(void *ud, const XML_Char *version, const XML_Char *encoding,
                                int standalone)
{
    (void)version;
    (void)standalone;
    if (encoding && strcasecmp(encoding, "UTF-8") != 0)
        fail(ud, XMLE_BAD_ENCODING);
}

static enum xml_error map_expat_error(enum XML_Error e)
{
    switch (e) {
    case XML_ERROR_NO_MEMORY: return XMLE_NOMEM;
    case XML_ERROR_UNDEFINED_ENTITY:
    case XML_ERROR_RECURSIVE_ENTITY_REF:
    case XML_ERROR_ASYNC_ENTITY:
    case XML_ERROR_BINARY_ENTITY_REF:
    case XML_ERROR_ATTRIBUTE_EXTERNAL_ENTITY_REF:
    case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
    case XML_ERROR_ENTITY_DECLARED_IN_PE:
    case XML_ERROR_AMPLIFICATION_LIMIT_BREACH: return XMLE_RESTRICTED;
    default: return XMLE_NOT_WELL_FORMED;
    }
}

/* ---- parser life cycle ---- */

/* The salt of expat's hash tables (against attribute-name hash
 * flooding). Given none, expat makes one at every parse start (after
 * every stop: a stream held for a store commit, a stream restart) with a
 * getrandom(2) call and two getenv(3) lookups. OpenSSL's per-thread
 * generator gives one without a system call. 0 lets expat make its own. */
static unsigned long hash_salt(void)
{
    unsigned long salt = 0;
    if (RAND_bytes((unsigned char *)&salt, sizeof salt) != 1)
        return 0;
    return salt;
}

/* Everything XML_ParserReset forgets. */
static void parser_setup(struct xml_active *a)
{
    XML_Parser p = a->p;
    unsigned long salt = hash_salt();
    if (salt)
        XML_SetHashSalt(p, salt);
    XML_SetUserData(p, a);
    XML_SetReturnNSTriplet(p, XML_TRUE); /* the header's prefix, for the replay */
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    XML_SetStartNamespaceDeclHandler(p, on_ns_decl);
    XML_SetCommentHandler(p, on_comment);
    XML_SetProcessingInstructionHandler(p, on_pi);
    XML_SetStartDoctypeDeclHandler(p, on_doctype);
    XML_SetXmlDeclHandler(p, on_xml_decl);
    XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
    /* No entity can be declared (no DTD), so this is belt and braces. */
    XML_SetBillionLaughsAttackProtectionMaximumAmplification(p, 10.0f);
    XML_SetBillionLaughsAttackProtectionActivationThreshold(p, 1024 * 1024);
#ifdef HAVE_XML_ALLOC_TRACKER
    /* expat >= 2.7.2 bounds its own memory against the input's size; the
     * input limits above (header, stanza, attributes) are what bound it
     * on older ones, Debian 12's 2.5 among them. */
    XML_SetAllocTrackerMaximumAmplification(p, 100.0f);
    XML_SetAllocTrackerActivationThreshold(p, 1024 * 1024);
#endif
#ifdef HAVE_XML_REPARSE_DEFERRAL
    /* deferral could hold a complete stanza back until more bytes arrive */
    XML_SetReparseDeferralEnabled(p, XML_FALSE);
#endif
    a->fed = a->mark = a->stop_at = 0;
    a->paused = false;
    a->level = a->ndecls = 0;
    a->err = XMLE_OK;
    a->stop = a->replaying = a->dirty = false;
}

static void active_free(struct xml_active *a)
{
    if (!a)
        return;
    if (a->p)
        XML_ParserFree(a->p);
    stanza_unref(a->hdr);
    stanza_unref(a->cur);
    buf_free(&a->text);
    buf_free(&a->decls);
    free(a);
}

static struct xml_active *active_new(struct xml_stream *xs)
{
    struct xml_active *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->xs = xs;
    buf_init(&a->text, xs->lim.max_stanza_size);
    buf_init(&a->decls, XML_HEADER_MAX);
    a->p = XML_ParserCreateNS("UTF-8", NS_SEP); /* UTF-8 only (RFC 6120 §11.6) */
    if (!a->p) {
        free(a);
        return NULL;
    }
    return a;
}

/* Drops what a stopped parse leaves behind; the parser is reset lazily. */
static void active_park(struct xml_active *a)
{
    stanza_unref(a->cur);
    a->cur = NULL;
    a->node = NULL;
    buf_reset(&a->text);
    buf_free(&a->decls);
    a->dirty = true;
    a->paused = false;
}

/* Makes xs->act ready to parse; primes a new parser with the header. */
static enum xml_error activate(struct xml_stream *xs)
{
    struct xml_active *a = xs->act;
    if (a && !a->dirty)
        return XMLE_OK;
    if (!a) {
        if (!(a = xs->act = active_new(xs)))
            return XMLE_NOMEM;
    } else if (!XML_ParserReset(a->p, "UTF-8")) {
        return XMLE_NOMEM;
    }
    parser_setup(a);
    if (xs->phase != PH_OPEN)
        return XMLE_OK;
    size_t len = strlen(xs->replay);
    a->replaying = true;
    a->fed = len;
    if (XML_Parse(a->p, xs->replay, (int)len, XML_FALSE) != XML_STATUS_OK || a->level != 1)
        return a->err ? a->err : XMLE_NOMEM;
    a->replaying = false;
    return XMLE_OK;
}

static long stream_fail(struct xml_stream *xs, enum xml_error e)
{
    xs->err = (unsigned char)e;
    active_free(xs->act);
    xs->act = NULL;
    return -(long)e;
}

/* One XML_Parse call. Returns 1 to go on, 0 if stopped (*stopped_at set),
 * 2 if paused (the piece is expat's), or a negative enum xml_error. */
static int feed_piece(struct xml_stream *xs, const char *data, size_t n, size_t *stopped_at)
{
    struct xml_active *a = xs->act;
    uint64_t base = a->fed;
    a->fed += n;
    enum XML_Status s = XML_Parse(a->p, data, (int)n, XML_FALSE);
    if (a->err != XMLE_OK)
        return -(int)a->err;
    if (a->stop) {
        *stopped_at = (size_t)(a->stop_at - base);
        return 0;
    }
    if (a->paused && s == XML_STATUS_SUSPENDED)
        return 2;
    if (s != XML_STATUS_OK)
        return -(int)map_expat_error(XML_GetErrorCode(a->p));
    if (a->fed - a->mark > elem_limit(a))
        return -(int)XMLE_TOO_BIG;
    return 1;
}

/* The next piece: at most one byte past what the element being read may
 * still take, so expat never buffers much more than the limit. */
static size_t piece_len(const struct xml_stream *xs, size_t left)
{
    const struct xml_active *a = xs->act;
    size_t limit = elem_limit(a), used = (size_t)(a->fed - a->mark);
    size_t room = used < limit ? limit - used + 1 : 1;
    size_t n = left < FEED_PIECE ? left : FEED_PIECE;
    return n < room ? n : room;
}

long xml_stream_feed(struct xml_stream *xs, const char *data, size_t len)
{
    if (xs->err != XMLE_OK)
        return -(long)xs->err;
    if (len > LONG_MAX)
        len = LONG_MAX; /* the return value must fit; the caller feeds the rest */
    if (xs->phase == PH_CLOSED || len == 0)
        return (long)len;
    if (xs->act && xs->act->paused)
        return 0; /* xml_stream_resume first */
    enum xml_error e = activate(xs);
    if (e != XMLE_OK)
        return stream_fail(xs, e);
    for (size_t done = 0; done < len;) {
        size_t n = piece_len(xs, len - done);
        size_t at = 0;
        int rc = feed_piece(xs, data + done, n, &at);
        if (rc < 0)
            return stream_fail(xs, (enum xml_error) - rc);
        if (rc == 0) {
            active_park(xs->act);
            return xs->phase == PH_CLOSED ? (long)len : (long)(done + at);
        }
        if (rc == 2)
            return (long)(done + n);
        done += n;
    }
    return (long)len;
}

bool xml_stream_paused(const struct xml_stream *xs) { return xs->act && xs->act->paused; }

long xml_stream_resume(struct xml_stream *xs)
{
    struct xml_active *a = xs->act;
    if (!a || !a->paused)
        return 0;
    a->paused = false;
    enum XML_Status s = XML_ResumeParser(a->p);
    if (a->err != XMLE_OK)
        return stream_fail(xs, a->err);
    if (a->stop) { /* the stream closed, or a handler stopped: the rest goes */
        active_park(a);
        return 0;
    }
    if (a->paused && s == XML_STATUS_SUSPENDED)
        return 0;
    if (s != XML_STATUS_OK)
        return stream_fail(xs, map_expat_error(XML_GetErrorCode(a->p)));
    if (a->fed - a->mark > elem_limit(a))
        return stream_fail(xs, XMLE_TOO_BIG);
    return 0;
}

/* ---- public life cycle ---- */

void xml_stream_set_max_tree(struct xml_stream *xs, size_t max) { xs->max_tree = max; }

void xml_stream_set_limits(struct xml_stream *xs, const struct xml_limits *limits)
{
    xs->lim = *limits;
    if (!xs->lim.max_stanza_size)
        xs->lim.max_stanza_size = DEFAULT_MAX_STANZA;
    if (!xs->lim.max_depth)
        xs->lim.max_depth = DEFAULT_MAX_DEPTH;
    if (!xs->lim.max_attrs)
        xs->lim.max_attrs = DEFAULT_MAX_ATTRS;
    if (xs->act) /* the buffers were sized by the old limit */
        xs->act->text.limit = xs->lim.max_stanza_size;
}

struct xml_stream *xml_stream_new(const struct xml_limits *limits,
                                  const struct xml_stream_handler *h, void *ud)
{
    struct xml_stream *xs = calloc(1, sizeof *xs);
    if (!xs)
        return NULL;
    xml_stream_set_limits(xs, limits);
    xs->h = *h;
    xs->ud = ud;
    xs->phase = PH_PROLOG;
    return xs;
}

static void replay_free(struct xml_stream *xs)
{
    if (!xs->replay_static)
        free((void *)xs->replay);
    xs->replay = NULL;
    xs->replay_static = false;
}

void xml_stream_free(struct xml_stream *xs)
{
    if (!xs)
        return;
    active_free(xs->act);
    replay_free(xs);
    free(xs);
}

void xml_stream_reset(struct xml_stream *xs)
{
    struct xml_active *a = xs->act;
    if (a) {
        active_park(a);
        stanza_unref(a->hdr);
        a->hdr = NULL;
        a->default_ns = NULL;
    }
    replay_free(xs);
    xs->phase = PH_PROLOG;
    xs->err = XMLE_OK;
}

bool xml_stream_idle(struct xml_stream *xs)
{
    struct xml_active *a = xs->act;
    if (!a || a->paused)
        return false;
    bool between = a->level == 1 && a->fed == a->mark;
    bool untouched = a->level == 0 && a->fed == 0;
    if (!a->dirty && !between && !untouched)
        return false;
    active_free(a);
    xs->act = NULL;
    return true;
}

size_t xml_stream_pending(const struct xml_stream *xs)
{
    const struct xml_active *a = xs->act;
    return a && !a->dirty ? (size_t)(a->fed - a->mark) : 0;
}

const char *xml_error_string(enum xml_error e)
{
    switch (e) {
    case XMLE_OK: return "no error";
    case XMLE_NOT_WELL_FORMED: return "not well-formed XML";
    case XMLE_RESTRICTED: return "restricted XML (DTD, comment, PI or entity)";
    case XMLE_TOO_BIG: return "stanza too big";
    case XMLE_TOO_DEEP: return "elements nested too deep";
    case XMLE_TOO_MANY_ATTRS: return "too many attributes";
    case XMLE_NOMEM: return "out of memory";
    case XMLE_BAD_ENCODING: return "encoding other than UTF-8";
    }
    return "unknown XML error";
}
