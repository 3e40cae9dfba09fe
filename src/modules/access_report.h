/* The access report (promise P20): what the server stores about one
 * account, how much, since when and until when, generated from every
 * module's describe (account_describe) in English or German. Used
 * by `taubectl user report` and the member's ad-hoc command "What do you
 * store about me?".
 *
 * Any thread that owns the store (the loop, or taubectl).
 */
#ifndef TAUBE_ACCESS_REPORT_H
#define TAUBE_ACCESS_REPORT_H

#include "core/buf.h"
#include "modules/module.h"

/* The language for an xml:lang value (RFC 5646 tag) or a --lang option:
 * German for "de" and its subtags ("de-AT"), English for anything else
 * or NULL. */
enum data_lang access_report_lang(const char *tag);

/* Appends the report for domain/user at d->now as plain UTF-8 text, one
 * paragraph per kind of data. 0, -ENOENT (no such account) or -errno;
 * out is left as it was on failure. */
int access_report(const struct data_ctx *d, const char *domain, const char *user,
                  enum data_lang lang, struct buf *out);

#endif
