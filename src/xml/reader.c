/* The document reader: see reader.h. */
#define XML_DTD /* declares the billion-laughs setters (STACK-NOTES) */
#include <expat.h>

#include "xml/reader.h"
#include "xml/xml_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FEED_PIECE 65536 /* XML_Parse takes an int */

struct xml_reader {
    XML_Parser p;
    struct xml_reader_limits lim;
    struct xml_reader_handler h;
    void *ud;
    unsigned depth;         /* open elements */
    unsigned ndecls;        /* namespace declarations before the next start */
    struct stanza *tree;    /* the tree being built, or NULL */
    struct xml_node *cur;   /* its innermost open element */
    XML_Index tree_start;   /* byte index of the tree's start tag */
    int err;                /* 0, enum xml_error or XMLE_STOPPED */
};

static void fail(struct xml_reader *r, int e)
{
    if (r->err == 0)
        r->err = e;
    XML_StopParser(r->p, XML_FALSE);
}

static bool tree_too_big(struct xml_reader *r)
{
    XML_Index at = XML_GetCurrentByteIndex(r->p) + XML_GetCurrentByteCount(r->p);
    return r->tree && (uint64_t)(at - r->tree_start) > r->lim.max_tree;
}

static bool too_many_attrs(struct xml_reader *r, const char **atts)
{
    unsigned n = r->ndecls;
    r->ndecls = 0;
    for (; atts[0]; atts += 2)
        n++;
    return n > r->lim.max_attrs;
}

/* An element above the trees: built alone for the open handler. */
static void open_above(struct xml_reader *r, const char *name, const char **atts)
{
    struct stanza *st = stanza_create();
    struct xml_node *n = st ? xml_build_elem(st, NULL, name, atts) : NULL;
    if (!n)
        fail(r, XMLE_NOMEM);
    else if (r->h.open && r->h.open(r->ud, r->depth, n) != 0)
        fail(r, XMLE_STOPPED);
    if (st)
        stanza_unref(st);
}

/* Why an element cannot start here, or 0. */
static int start_refused(struct xml_reader *r, const char **atts)
{
    if (r->depth >= r->lim.max_depth)
        return XMLE_TOO_DEEP;
    if (too_many_attrs(r, atts))
        return XMLE_TOO_MANY_ATTRS;
    return tree_too_big(r) ? XMLE_TOO_BIG : 0;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct xml_reader *r = ud;
    int e = r->err ? r->err : start_refused(r, atts);
    if (e) {
        fail(r, e);
        return;
    }
    if (r->depth < r->lim.tree_depth) {
        open_above(r, name, atts);
        r->depth++;
        return;
    }
    if (r->depth == r->lim.tree_depth) {
        r->tree = stanza_create();
        r->tree_start = XML_GetCurrentByteIndex(r->p);
        r->cur = NULL;
    }
    struct xml_node *n = r->tree ? xml_build_elem(r->tree, r->cur, name, atts) : NULL;
    if (!n) {
        fail(r, XMLE_NOMEM);
        return;
    }
    r->cur = n;
    r->depth++;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name;
    struct xml_reader *r = ud;
    if (r->err)
        return;
    r->depth--;
    if (r->depth < r->lim.tree_depth || !r->tree)
        return;
    if (r->depth > r->lim.tree_depth) {
        r->cur = r->cur->parent;
        return;
    }
    if (tree_too_big(r)) {
        fail(r, XMLE_TOO_BIG);
        return;
    }
    struct stanza *st = r->tree;
    r->tree = NULL;
    r->cur = NULL;
    if (r->h.tree(r->ud, st) != 0)
        fail(r, XMLE_STOPPED);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct xml_reader *r = ud;
    if (r->err || !r->tree || len <= 0)
        return; /* text outside the trees is ignored */
    if (tree_too_big(r))
        fail(r, XMLE_TOO_BIG);
    else if (!xml_add_text(r->tree, r->cur, s, (size_t)len))
        fail(r, XMLE_NOMEM);
}

static void XMLCALL on_ns_decl(void *ud, const XML_Char *prefix, const XML_Char *uri)
{
    (void)prefix;
    (void)uri;
    ((struct xml_reader *)ud)->ndecls++;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    fail(ud, XMLE_RESTRICTED);
}

static void XMLCALL on_xml_decl(void *ud, const XML_Char *version, const XML_Char *encoding,
                                int standalone)
{
    (void)version;
    (void)standalone;
    if (encoding && strcasecmp(encoding, "UTF-8") != 0)
        fail(ud, XMLE_BAD_ENCODING);
}

static int map_expat_error(enum XML_Error e)
{
    switch (e) {
    case XML_ERROR_NO_MEMORY: return XMLE_NOMEM;
    case XML_ERROR_UNDEFINED_ENTITY:
    case XML_ERROR_RECURSIVE_ENTITY_REF:
    case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
    case XML_ERROR_AMPLIFICATION_LIMIT_BREACH: return XMLE_RESTRICTED;
    default: return XMLE_NOT_WELL_FORMED;
    }
}

struct xml_reader *xml_reader_new(const struct xml_reader_limits *lim,
                                  const struct xml_reader_handler *h, void *ud)
{
    struct xml_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->lim = *lim;
    r->h = *h;
    r->ud = ud;
    r->p = XML_ParserCreateNS("UTF-8", NS_SEP);
    if (!r->p) {
        free(r);
        return NULL;
    }
    XML_SetUserData(r->p, r);
    XML_SetElementHandler(r->p, on_start, on_end);
    XML_SetCharacterDataHandler(r->p, on_text);
    XML_SetStartNamespaceDeclHandler(r->p, on_ns_decl);
    XML_SetStartDoctypeDeclHandler(r->p, on_doctype);
    XML_SetXmlDeclHandler(r->p, on_xml_decl);
    XML_SetParamEntityParsing(r->p, XML_PARAM_ENTITY_PARSING_NEVER);
    XML_SetBillionLaughsAttackProtectionMaximumAmplification(r->p, 10.0f);
    XML_SetBillionLaughsAttackProtectionActivationThreshold(r->p, 1024 * 1024);
    return r;
}

void xml_reader_free(struct xml_reader *r)
{
    if (!r)
        return;
    if (r->tree)
        stanza_unref(r->tree);
    XML_ParserFree(r->p);
    free(r);
}

int xml_reader_feed(struct xml_reader *r, const char *data, size_t len, bool final)
{
    do {
        size_t n = len < FEED_PIECE ? len : FEED_PIECE;
        bool last = final && n == len;
        if (r->err == 0 && XML_Parse(r->p, data, (int)n, last) == XML_STATUS_ERROR && r->err == 0)
            r->err = map_expat_error(XML_GetErrorCode(r->p));
        data += n;
        len -= n;
    } while (r->err == 0 && len > 0);
    return r->err;
}

void xml_reader_position(const struct xml_reader *r, unsigned long *line, unsigned long *col)
{
    *line = (unsigned long)XML_GetCurrentLineNumber(r->p);
    *col = (unsigned long)XML_GetCurrentColumnNumber(r->p) + 1;
}
