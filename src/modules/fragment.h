/* Stored XML back into trees: the modules that keep elements as
 * serialized XML (vCards, private storage) parse them here when they
 * answer. Loop thread (or any single thread).
 */
#ifndef TAUBE_FRAGMENT_H
#define TAUBE_FRAGMENT_H

#include <stddef.h>

#include "xml/xml.h"

/* Parses one element written by xml_serialize (with its xmlns declared)
 * into a new stanza whose root is that element. The parser's usual
 * limits apply, with max_depth levels. NULL if xml is not exactly one
 * well-formed element, or on ENOMEM. */
struct stanza *fragment_parse(const char *xml, size_t len, unsigned max_depth);

#endif
