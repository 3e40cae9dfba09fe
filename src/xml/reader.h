/* A reader for XML documents too large to hold as one tree (XEP-0227
 * files): expat, namespace-aware, turning the document into trees of the
 * elements at one depth (e.g. every <user/> of a <server-data/> file),
 * each handed over as soon as it is complete, with the elements above
 * them announced as they open.
 *
 * Bounded: each tree's input bytes, the nesting depth and the attributes
 * per element have limits; a DTD (and so any entity declaration) is
 * refused, as the stream parser refuses it; the input must be UTF-8.
 * Comments and processing instructions are skipped (a file, unlike a
 * stream, may carry them). Text outside the trees is ignored.
 *
 * Single-threaded; no global state.
 */
#ifndef TAUBE_XML_READER_H
#define TAUBE_XML_READER_H

#include <stdbool.h>
#include <stddef.h>

#include "xml/xml.h"

struct xml_reader_limits {
    unsigned tree_depth; /* depth of the trees: 0 the root, 1 its children... */
    size_t max_tree;     /* input bytes of one tree */
    unsigned max_depth;  /* nesting depth in the whole document */
    unsigned max_attrs;  /* attributes (namespace declarations too) of one element */
};

struct xml_reader_handler {
    /* An element above tree_depth opened (n: scratch, valid during the
     * call; its children are not there). 0 goes on; anything else stops
     * the reader (feed returns XMLE_STOPPED). */
    int (*open)(void *ud, unsigned depth, const struct xml_node *n);
    /* A complete element at tree_depth; the callee owns st. 0 or stop. */
    int (*tree)(void *ud, struct stanza *st);
};

#define XMLE_STOPPED 100 /* a handler asked to stop (not an enum xml_error) */

struct xml_reader;

/* NULL on ENOMEM. */
struct xml_reader *xml_reader_new(const struct xml_reader_limits *lim,
                                  const struct xml_reader_handler *h, void *ud);
void xml_reader_free(struct xml_reader *r);
/* Feeds the next bytes; final is true with the last ones (len may be 0).
 * 0, a positive enum xml_error or XMLE_STOPPED. After a non-zero result
 * the reader must not be fed again. */
int xml_reader_feed(struct xml_reader *r, const char *data, size_t len, bool final);
/* Where the reader is (1-based line and column), for messages. */
void xml_reader_position(const struct xml_reader *r, unsigned long *line, unsigned long *col);

#endif
