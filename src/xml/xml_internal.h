/* Private to src/xml/: tree building helpers shared by tree.c and stream.c.
 * They take lengths so the parser can build from expat's strings without
 * an intermediate copy. */
#ifndef TAUBE_XML_INTERNAL_H
#define TAUBE_XML_INTERNAL_H

#include "xml/xml.h"

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
