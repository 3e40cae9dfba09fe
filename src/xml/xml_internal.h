/* Private to src/xml/: tree building helpers shared by tree.c and stream.c.
 * They take lengths so the parser can build from expat's strings without
 * an intermediate copy. */
#ifndef TAUBE_XML_INTERNAL_H
#define TAUBE_XML_INTERNAL_H

#include "xml/xml.h"

/* expat's separator between a namespace URI and a local name: it cannot
 * occur in UTF-8 input, so it cannot appear inside a name or URI. */
#define NS_SEP '\xFF'
#define XML_NS_URI "http://www.w3.org/XML/1998/namespace"

/* expat's "uri SEP local [SEP prefix]" (or "local"), split in place. */
struct xml_qname {
    const char *uri, *local, *prefix;
    size_t uri_len, local_len, prefix_len;
};
struct xml_qname xml_split_qname(const char *name);
/* A new element from expat's name and attributes (under parent, or as
 * st's root), attribute names as xml.h promises ("local", "xml:local",
 * "{uri}local"). NULL on ENOMEM. */
struct xml_node *xml_build_elem(struct stanza *st, struct xml_node *parent, const char *name,
                                const char **atts);

/* A stanza with refs 1 and no root yet. NULL on ENOMEM. */
struct stanza *stanza_create(void);
/* A new element appended under parent (NULL: unlinked). ns is copied unless
 * it equals the parent's, whose string is then shared. NULL on ENOMEM. */
struct xml_node *xml_elem_new(struct stanza *st, struct xml_node *parent, const char *name,
                              size_t name_len, const char *ns, size_t ns_len);
/* Appends an attribute after *tail (NULL: n has none yet) without looking
 * for duplicates; name is used as is (already in st's arena or static),
 * value is copied. Updates *tail. 0 or -ENOMEM. */
int xml_attr_append(struct stanza *st, struct xml_node *n, struct xml_attr **tail, const char *name,
                    const char *value);

#endif
