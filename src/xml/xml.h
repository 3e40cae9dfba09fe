/* XML stanza trees, the streaming parser and the serializer.
 *
 * Ownership: a struct stanza owns an arena; every node, attribute and
 * string of its tree lives in that arena and dies with it. Stanzas are
 * reference counted (stanza_ref/stanza_unref), so the router can hand the
 * same parsed stanza to several destinations without copying. All
 * functions run on the loop thread (or any single thread); nothing here is
 * thread-safe.
 *
 * Namespaces: a node carries its namespace URI (ns) and local name (name)
 * separately, as expat reports them. Attributes keep their qualified name
 * as written in the namespace-free form ("type", "to") or, for the xml:
 * namespace, "xml:lang". Other namespaced attributes keep "{uri}local"
 * as name and are serialized with a generated prefix.
 */
#ifndef TAUBE_XML_H
#define TAUBE_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

struct arena;

enum xml_node_type { XML_ELEMENT, XML_TEXT };

struct xml_attr {
    const char *name;
    const char *value;
    struct xml_attr *next;
};

struct xml_node {
    enum xml_node_type type;
    const char *name;          /* XML_ELEMENT: local name */
    const char *ns;            /* XML_ELEMENT: namespace URI ("" if none) */
    struct xml_attr *attrs;    /* XML_ELEMENT: in document order */
    const char *text;          /* XML_TEXT: unescaped UTF-8, NUL-terminated */
    size_t text_len;           /* XML_TEXT */
    struct xml_node *parent;
    struct xml_node *children; /* first child */
    struct xml_node *last;     /* last child */
    struct xml_node *next;     /* next sibling */
};

struct stanza {
    struct xml_node *root;
    struct arena *arena;
    int refs;
};

/* ---- stanzas and building trees ---- */

/* A new stanza whose root is an element name in ns. NULL on ENOMEM. */
struct stanza *stanza_new(const char *name, const char *ns);
struct stanza *stanza_ref(struct stanza *st);
void stanza_unref(struct stanza *st);
/* Deep copy into a new stanza (for a destination that must modify it). */
struct stanza *stanza_copy(const struct stanza *st);

/* Strings and nodes allocated in the stanza's arena. All return NULL on
 * ENOMEM. ns NULL means the parent's namespace. */
struct xml_node *xml_add_child(struct stanza *st, struct xml_node *parent, const char *name,
                               const char *ns);
struct xml_node *xml_add_text(struct stanza *st, struct xml_node *parent, const char *text,
                              size_t len);
/* Sets or replaces an attribute; value NULL removes it. 0 or -ENOMEM. */
int xml_set_attr(struct stanza *st, struct xml_node *n, const char *name, const char *value);
/* Copies the subtree src (from any stanza) under parent in st. */
struct xml_node *xml_copy_into(struct stanza *st, struct xml_node *parent,
                               const struct xml_node *src);
/* Unlinks n from its parent (memory stays in the arena). */
void xml_remove(struct xml_node *n);

/* ---- reading trees ---- */

const char *xml_attr(const struct xml_node *n, const char *name); /* NULL if absent */
/* First child element with this local name and namespace (ns NULL: any). */
struct xml_node *xml_child(const struct xml_node *n, const char *name, const char *ns);
/* First child element of any name (skips text). */
struct xml_node *xml_first_elem(const struct xml_node *n);
struct xml_node *xml_next_elem(const struct xml_node *n);
/* Concatenated text of the direct text children, in the stanza's arena
 * (or a static "" if none). NULL on ENOMEM. */
const char *xml_text(struct stanza *st, const struct xml_node *n);
size_t xml_count_elems(const struct xml_node *n);

/* ---- serializing ---- */

/* Appends n and its subtree to out as XML. parent_ns is the default
 * namespace in scope where n is written: an xmlns attribute is written
 * only where a node's ns differs from its parent's. Text and attribute
 * values are escaped. 0, -ENOBUFS (out's limit) or -ENOMEM; on failure out
 * is left as it was. */
int xml_serialize(const struct xml_node *n, const char *parent_ns, struct buf *out);
/* Escapes text for an element body (&<>) or an attribute value (&<>"'). */
int xml_escape(struct buf *out, const char *s, size_t len, bool attr);

/* ---- the streaming parser ---- */

enum xml_error {
    XMLE_OK = 0,
    XMLE_NOT_WELL_FORMED, /* any expat syntax error, bad UTF-8, text at top level */
    XMLE_RESTRICTED,      /* DTD, comment, processing instruction, entity reference */
    XMLE_TOO_BIG,         /* stanza over max_stanza_size: policy-violation */
    XMLE_TOO_DEEP,        /* nesting over max_depth: policy-violation */
    XMLE_TOO_MANY_ATTRS,  /* over max_attrs on one element (namespace declarations
                           * count), or over XML_HEADER_MAX_DECLS on the header */
    XMLE_NOMEM,           /* allocation failed: internal-server-error */
    XMLE_BAD_ENCODING,    /* the XML declaration names an encoding other than UTF-8 */
};

struct xml_limits {
    size_t max_stanza_size; /* bytes of one top-level element, as received */
    unsigned max_depth;     /* element depth below the stream element */
    unsigned max_attrs;     /* attributes plus namespace declarations on one element */
};                          /* 0 in any field: a built-in default */

/* The stream header is fixed in shape and small (a few hundred bytes, two
 * or three declarations); its copy is kept for the stream's life (the
 * replay), so it gets tight limits of its own: XML_HEADER_MAX bytes from
 * the start of the document (XML declaration included) to its '>', and
 * XML_HEADER_MAX_DECLS namespace declarations (XMLE_TOO_BIG,
 * XMLE_TOO_MANY_ATTRS). */
#define XML_HEADER_MAX 4096
#define XML_HEADER_MAX_DECLS 4

#define XML_STREAM_PAUSE 2 /* a stanza handler's "pause after this one" */

struct xml_stream_handler {
    /* The stream header (<stream:stream ...>) was read. root is an element
     * in a scratch stanza that lives until the next reset or until
     * xml_stream_idle releases memory (copy what you keep), with the
     * header's attributes (to, from, version, xml:lang, id) and its ns and
     * name as given, plus an attribute "xmlns" holding the default namespace
     * it declares, if any (check it is jabber:client). Return 0 to go on,
     * non-zero to stop parsing (feed returns). */
    int (*stream_open)(void *ud, const struct xml_node *root);
    /* A complete top-level element. The callee consumes the reference.
     * Return 0 to go on, non-zero to stop after this stanza: feed then
     * returns the number of bytes consumed up to the end of this element,
     * so the caller can see bytes sent after it (STARTTLS, SASL). Feeding
     * the rest later, without a reset, carries on with the next element.
     * XML_STREAM_PAUSE instead pauses after it, cheaply: feed returns
     * having taken the piece of input it was parsing (the parser keeps
     * what follows the element), xml_stream_paused is true, and nothing
     * may be fed until xml_stream_resume has parsed that kept input. A
     * handler called from xml_stream_resume may pause again, or stop only
     * to end the stream (what the parser kept is then dropped). */
    int (*stanza)(void *ud, struct stanza *st);
    /* </stream:stream> was read. Parsing ends there: feed counts any later
     * bytes as consumed and ignores them until a reset. */
    void (*stream_close)(void *ud);
};

struct xml_stream;

/* The expat parser is created lazily on the first feed and may be released
 * while idle (xml_stream_idle), so an idle stream costs only this struct. */
struct xml_stream *xml_stream_new(const struct xml_limits *limits,
                                  const struct xml_stream_handler *h, void *ud);
void xml_stream_free(struct xml_stream *xs);
/* Feeds bytes; returns the number of bytes consumed (len unless a handler
 * asked to stop), or a negative enum xml_error. After an error the stream
 * must not be fed again. A handler may not call xml_stream_free or
 * xml_stream_reset from inside a callback; ask to stop and do it after. */
long xml_stream_feed(struct xml_stream *xs, const char *data, size_t len);
/* Paused by a stanza handler (XML_STREAM_PAUSE): feed takes nothing. */
bool xml_stream_paused(const struct xml_stream *xs);
/* Parses what the pause kept; handlers run and may pause again. 0 or a
 * negative enum xml_error (the stream is then failed, as after feed). */
long xml_stream_resume(struct xml_stream *xs);
/* Starts over for a stream restart (after STARTTLS or SASL success). */
void xml_stream_reset(struct xml_stream *xs);
/* Replaces the limits (0 fields: defaults), e.g. raises the stanza size
 * once the peer has authenticated; they apply from the next byte fed. */
void xml_stream_set_limits(struct xml_stream *xs, const struct xml_limits *limits);
/* Caps the memory one stanza's tree may take (XMLE_TOO_BIG): "<a/>" is 4
 * bytes of input but a whole node. 0 (the default): no cap, for trusted
 * input such as the store's. */
void xml_stream_set_max_tree(struct xml_stream *xs, size_t max);
/* Releases the expat parser if it sits between two top-level elements;
 * the next feed recreates it, replaying the stream header silently.
 * Returns true if memory was released. */
bool xml_stream_idle(struct xml_stream *xs);
/* Bytes of the current partial stanza held (for diagnostics/tests). */
size_t xml_stream_pending(const struct xml_stream *xs);

const char *xml_error_string(enum xml_error e);

#endif
