/* Stanza kinds and the stanza and stream error conditions of RFC 6120,
 * mapped to XML in one place (STYLE 11).
 *
 * Loop thread. Functions that build stanzas return a new reference the
 * caller owns, or NULL on ENOMEM.
 */
#ifndef TAUBE_STANZA_H
#define TAUBE_STANZA_H

#include <stdbool.h>

#include "core/buf.h"
#include "xml/xml.h"

enum stanza_kind { STANZA_OTHER = 0, STANZA_MESSAGE, STANZA_PRESENCE, STANZA_IQ };

/* message, presence or iq in the jabber:client or jabber:server namespace. */
enum stanza_kind stanza_kind(const struct xml_node *root);
/* The type attribute is "error". */
bool stanza_is_error(const struct xml_node *root);
/* An iq as RFC 6120 §8.2.3 requires: an id and a type; get and set carry
 * exactly one child, a result at most one. */
bool stanza_iq_valid(const struct xml_node *root);

/* RFC 6120 §8.3.3, in the order of the RFC. */
enum stanza_cond {
    SC_BAD_REQUEST = 0,
    SC_CONFLICT,
    SC_FEATURE_NOT_IMPLEMENTED,
    SC_FORBIDDEN,
    SC_GONE,
    SC_INTERNAL_SERVER_ERROR,
    SC_ITEM_NOT_FOUND,
    SC_JID_MALFORMED,
    SC_NOT_ACCEPTABLE,
    SC_NOT_ALLOWED,
    SC_NOT_AUTHORIZED,
    SC_POLICY_VIOLATION,
    SC_RECIPIENT_UNAVAILABLE,
    SC_REDIRECT,
    SC_REGISTRATION_REQUIRED,
    SC_REMOTE_SERVER_NOT_FOUND,
    SC_REMOTE_SERVER_TIMEOUT,
    SC_RESOURCE_CONSTRAINT,
    SC_SERVICE_UNAVAILABLE,
    SC_SUBSCRIPTION_REQUIRED,
    SC_UNDEFINED_CONDITION,
    SC_UNEXPECTED_REQUEST,
};
const char *stanza_cond_name(enum stanza_cond c);

/* An error reply to orig (RFC 6120 §8.3): same kind and id, to and from
 * swapped, type "error", the condition with its default error type, and
 * an optional human-readable text. Returns NULL (nothing to send) if orig
 * is itself an error: errors are never answered with errors. */
struct stanza *stanza_error_reply(const struct stanza *orig, enum stanza_cond c, const char *text);
/* Adds <name>text</name> under parent (parent's namespace). 0 or -ENOMEM. */
int xml_add_text_elem(struct stanza *st, struct xml_node *parent, const char *name,
                      const char *text);

/* An empty iq result to an iq get/set: same id, to and from swapped. */
struct stanza *iq_result_new(const struct stanza *req);

/* RFC 6120 §4.9.3 stream error conditions. */
enum stream_cond {
    STREAM_BAD_FORMAT = 0,
    STREAM_BAD_NAMESPACE_PREFIX,
    STREAM_CONFLICT,
    STREAM_CONNECTION_TIMEOUT,
    STREAM_HOST_GONE,
    STREAM_HOST_UNKNOWN,
    STREAM_IMPROPER_ADDRESSING,
    STREAM_INTERNAL_SERVER_ERROR,
    STREAM_INVALID_FROM,
    STREAM_INVALID_NAMESPACE,
    STREAM_INVALID_XML,
    STREAM_NOT_AUTHORIZED,
    STREAM_NOT_WELL_FORMED,
    STREAM_POLICY_VIOLATION,
    STREAM_REMOTE_CONNECTION_FAILED,
    STREAM_RESET,
    STREAM_RESOURCE_CONSTRAINT,
    STREAM_RESTRICTED_XML,
    STREAM_SEE_OTHER_HOST,
    STREAM_SYSTEM_SHUTDOWN,
    STREAM_UNDEFINED_CONDITION,
    STREAM_UNSUPPORTED_ENCODING,
    STREAM_UNSUPPORTED_FEATURE,
    STREAM_UNSUPPORTED_STANZA_TYPE,
    STREAM_UNSUPPORTED_VERSION,
};
const char *stream_cond_name(enum stream_cond c);
/* Appends <stream:error>…</stream:error></stream:stream> to out. */
int stream_error_write(struct buf *out, enum stream_cond c, const char *text);

#endif
