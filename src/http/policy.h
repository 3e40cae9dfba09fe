/* The privacy policy and terms of use page (promises P2, P24), in
 * English and German, with every number taken from the configuration.
 *
 * The text is a template: Taube's own (built into policy.c), or the
 * operator's (policy.file_en, policy.file_de: an HTML body of at most
 * POLICY_MAX_FILE bytes of UTF-8), filled by the same mechanism:
 *
 *   {{section.key}}  any option of the configuration's schema, formatted
 *                    for people in the page's language and HTML-escaped:
 *                    durations "365 days" / "365 Tage" (largest exact unit
 *                    of days, hours, minutes, seconds), sizes "10 MiB" or
 *                    "1,500 bytes" / "1.500 Bytes", integers with thousands
 *                    separators, booleans "yes"/"ja", enums as their
 *                    choice, strings as written, lists joined with ", "
 *                    (items starting with mailto:, xmpp: or https: become
 *                    links). component.secrets is refused: it holds
 *                    secrets.
 *   {{domain}}       the domain the page is for;
 *   {{operator}}     policy.operator, or the domain when that is empty;
 *   {{policy.version}}   registration.policy_version;
 *   {{component.domains}} the domains of component.secrets, without the
 *                    secrets.
 *   {{#if COND}} A {{else}} B {{/if}}   A when COND holds, else B ({{else}}
 *                    and B are optional; nesting up to 8 deep). COND is
 *                    one term or several joined by " or "; a term is KEY
 *                    (true for a true boolean, a non-zero number, a
 *                    non-empty string or list) or KEY=VALUE (an enum's
 *                    choice or a string, compared as written in the
 *                    file, e.g. log.level=debug).
 *
 * Spaces just inside the braces are ignored; a tag must close on the
 * line it opens. The keys of both branches of a conditional are checked,
 * so a text that renders once with any configuration renders with all.
 *
 * Thread: the loop thread. policy_new is the only function that reads
 * files and runs at start-up; the rest only read the rendered pages.
 * struct policy owns copies of everything it serves: the configuration
 * may be freed after policy_new.
 */
#ifndef TAUBE_POLICY_H
#define TAUBE_POLICY_H

#include <stddef.h>

#include "core/buf.h"
#include "core/config.h"

enum policy_lang { POLICY_EN, POLICY_DE };
#define POLICY_LANGS 2

#define POLICY_MAX_FILE (256 * 1024) /* bytes of policy.file_en / policy.file_de */

struct policy;

/* Renders the page of every domain in cfg->domains in both languages,
 * reading policy.file_en / policy.file_de when they are set. Returns 0
 * (*out to free with policy_free), or -errno with *err (malloc'ed, the
 * caller frees; NULL only if memory ran out) holding one line that names
 * the option, the file and the problem, e.g.
 *   "policy.file_en: /etc/taube/policy.en.html: line 12: unknown
 *    placeholder \"{{foo.bar}}\""
 * -EINVAL: a bad placeholder, or a file that is not valid UTF-8 or holds
 * a NUL byte; -EFBIG: a file over POLICY_MAX_FILE; -ENOMEM; or the errno
 * of open/read. */
int policy_new(struct policy **out, const struct config *cfg, char **err);
/* Frees p and its pages; NULL is fine. */
void policy_free(struct policy *p);

/* The rendered HTML fragment (<article class="policy" lang="en|de">
 * ... </article>, no <html>/<head>) for domain in lang, NUL-terminated,
 * owned by p. domain is compared case-insensitively with cfg->domains;
 * NULL or one not served gives the first domain's page. *len (if len is
 * not NULL) gets its length. */
const char *policy_html(const struct policy *p, const char *domain, enum policy_lang lang,
                        size_t *len);

/* The language for an Accept-Language header value (RFC 9110 §12.5.4):
 * whichever of German and English has the higher q-value ("de-DE" and
 * "de-AT" count as de, "*" stands for each one not named, q=0 excludes;
 * a tie goes to the one named first). NULL, empty, unparsable, or
 * neither acceptable: POLICY_EN. */
enum policy_lang policy_lang_pick(const char *accept_language);

/* Fills the template text (len bytes, see the top of this file) for
 * domain in lang from cfg, appending the HTML to out. 0; -ENOMEM (also
 * when out reaches its limit); or -EINVAL for an unknown placeholder or
 * option, an unterminated "{{", a malformed or unbalanced conditional,
 * or component.secrets (then *bad_line, if bad_line is not NULL, is the
 * 1-based line of the tag). On error out is left as it was. */
int policy_fill(const struct config *cfg, const char *domain, enum policy_lang lang,
                const char *text, size_t len, struct buf *out, unsigned *bad_line);

#endif
