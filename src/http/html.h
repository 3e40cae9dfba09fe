/* Small helpers for the pages the HTTPS service writes: escaping text
 * into HTML, and reading form and query values.
 *
 * Every text that did not come from a literal in our sources (names from
 * the configuration, values a client sent) goes through html_text or
 * html_attr before it is part of a page.
 */
#ifndef TAUBE_HTML_H
#define TAUBE_HTML_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Appends s (len bytes) escaped for element content: & < > " ' become
 * entities. 0 or -ENOMEM. */
int html_text(struct buf *b, const char *s, size_t len);
/* The same for a NUL-terminated string. */
int html_str(struct buf *b, const char *s);

/* Finds name in an application/x-www-form-urlencoded body or a query
 * string (len bytes) and decodes its value (+ and %XX) into out (at most
 * n - 1 bytes and a NUL). Returns the value's length, -ENOENT if the name
 * is absent, -EINVAL for a bad %-escape, a NUL byte or invalid UTF-8,
 * -E2BIG if it does not fit. */
int html_form_value(const char *body, size_t len, const char *name, char *out, size_t n);

/* Whether s (len bytes) is well-formed UTF-8 without overlong forms or
 * surrogates. */
bool html_utf8_valid(const char *s, size_t len);

#endif
