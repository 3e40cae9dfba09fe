#include "xmpp/stanza.h"

#include <errno.h>
#include <string.h>

#include "xmpp/ns.h"

enum stanza_kind stanza_kind(const struct xml_node *root)
{
    if (strcmp(root->ns, NS_CLIENT) != 0 && strcmp(root->ns, NS_SERVER) != 0)
        return STANZA_OTHER;
    if (strcmp(root->name, "message") == 0)
        return STANZA_MESSAGE;
    if (strcmp(root->name, "presence") == 0)
        return STANZA_PRESENCE;
    if (strcmp(root->name, "iq") == 0)
        return STANZA_IQ;
    return STANZA_OTHER;
}

bool stanza_is_error(const struct xml_node *root)
{
    const char *type = xml_attr(root, "type");
    return type && strcmp(type, "error") == 0;
}

bool stanza_iq_valid(const struct xml_node *root)
{
    const char *type = xml_attr(root, "type");
    if (!xml_attr(root, "id") || !type)
        return false;
    size_t n = xml_count_elems(root);
    if (strcmp(type, "get") == 0 || strcmp(type, "set") == 0)
        return n == 1;
    if (strcmp(type, "result") == 0)
        return n <= 1;
    return strcmp(type, "error") == 0;
}

static const struct {
    const char *name;
    const char *type; /* RFC 6120 §8.3.3 default error type */
} stanza_conds[] = {
    [SC_BAD_REQUEST] = {"bad-request", "modify"},
    [SC_CONFLICT] = {"conflict", "cancel"},
    [SC_FEATURE_NOT_IMPLEMENTED] = {"feature-not-implemented", "cancel"},
    [SC_FORBIDDEN] = {"forbidden", "auth"},
    [SC_GONE] = {"gone", "cancel"},
    [SC_INTERNAL_SERVER_ERROR] = {"internal-server-error", "cancel"},
    [SC_ITEM_NOT_FOUND] = {"item-not-found", "cancel"},
    [SC_JID_MALFORMED] = {"jid-malformed", "modify"},
    [SC_NOT_ACCEPTABLE] = {"not-acceptable", "modify"},
    [SC_NOT_ALLOWED] = {"not-allowed", "cancel"},
    [SC_NOT_AUTHORIZED] = {"not-authorized", "auth"},
    [SC_POLICY_VIOLATION] = {"policy-violation", "modify"},
    [SC_RECIPIENT_UNAVAILABLE] = {"recipient-unavailable", "wait"},
    [SC_REDIRECT] = {"redirect", "modify"},
    [SC_REGISTRATION_REQUIRED] = {"registration-required", "auth"},
    [SC_REMOTE_SERVER_NOT_FOUND] = {"remote-server-not-found", "cancel"},
    [SC_REMOTE_SERVER_TIMEOUT] = {"remote-server-timeout", "wait"},
    [SC_RESOURCE_CONSTRAINT] = {"resource-constraint", "wait"},
    [SC_SERVICE_UNAVAILABLE] = {"service-unavailable", "cancel"},
    [SC_SUBSCRIPTION_REQUIRED] = {"subscription-required", "auth"},
    [SC_UNDEFINED_CONDITION] = {"undefined-condition", "cancel"},
    [SC_UNEXPECTED_REQUEST] = {"unexpected-request", "wait"},
};

const char *stanza_cond_name(enum stanza_cond c) { return stanza_conds[c].name; }

/* A stanza of orig's kind with id and swapped addresses. */
static struct stanza *reply_skeleton(const struct stanza *orig, const char *type)
{
    const struct xml_node *o = orig->root;
    struct stanza *st = stanza_new(o->name, NS_CLIENT);
    if (!st)
        return NULL;
    const char *id = xml_attr(o, "id");
    const char *from = xml_attr(o, "from");
    const char *to = xml_attr(o, "to");
    if ((id && xml_set_attr(st, st->root, "id", id) < 0) ||
        (from && xml_set_attr(st, st->root, "to", from) < 0) ||
        (to && xml_set_attr(st, st->root, "from", to) < 0) ||
        xml_set_attr(st, st->root, "type", type) < 0) {
        stanza_unref(st);
        return NULL;
    }
    return st;
}

struct stanza *stanza_error_reply(const struct stanza *orig, enum stanza_cond c, const char *text)
{
    if (stanza_is_error(orig->root))
        return NULL;
    struct stanza *st = reply_skeleton(orig, "error");
    if (!st)
        return NULL;
    struct xml_node *err = xml_add_child(st, st->root, "error", NULL);
    if (!err || xml_set_attr(st, err, "type", stanza_conds[c].type) < 0 ||
        !xml_add_child(st, err, stanza_conds[c].name, NS_STANZA_ERRORS))
        goto fail;
    if (text) {
        struct xml_node *t = xml_add_child(st, err, "text", NS_STANZA_ERRORS);
        if (!t || xml_set_attr(st, t, "xml:lang", "en") < 0 ||
            !xml_add_text(st, t, text, strlen(text)))
            goto fail;
    }
    return st;
fail:
    stanza_unref(st);
    return NULL;
}

int xml_add_text_elem(struct stanza *st, struct xml_node *parent, const char *name,
                      const char *text)
{
    struct xml_node *n = xml_add_child(st, parent, name, NULL);
    return n && xml_add_text(st, n, text, strlen(text)) ? 0 : -ENOMEM;
}

struct stanza *iq_result_new(const struct stanza *req) { return reply_skeleton(req, "result"); }

static const char *const stream_conds[] = {
    [STREAM_BAD_FORMAT] = "bad-format",
    [STREAM_BAD_NAMESPACE_PREFIX] = "bad-namespace-prefix",
    [STREAM_CONFLICT] = "conflict",
    [STREAM_CONNECTION_TIMEOUT] = "connection-timeout",
    [STREAM_HOST_GONE] = "host-gone",
    [STREAM_HOST_UNKNOWN] = "host-unknown",
    [STREAM_IMPROPER_ADDRESSING] = "improper-addressing",
    [STREAM_INTERNAL_SERVER_ERROR] = "internal-server-error",
    [STREAM_INVALID_FROM] = "invalid-from",
    [STREAM_INVALID_NAMESPACE] = "invalid-namespace",
    [STREAM_INVALID_XML] = "invalid-xml",
    [STREAM_NOT_AUTHORIZED] = "not-authorized",
    [STREAM_NOT_WELL_FORMED] = "not-well-formed",
    [STREAM_POLICY_VIOLATION] = "policy-violation",
    [STREAM_REMOTE_CONNECTION_FAILED] = "remote-connection-failed",
    [STREAM_RESET] = "reset",
    [STREAM_RESOURCE_CONSTRAINT] = "resource-constraint",
    [STREAM_RESTRICTED_XML] = "restricted-xml",
    [STREAM_SEE_OTHER_HOST] = "see-other-host",
    [STREAM_SYSTEM_SHUTDOWN] = "system-shutdown",
    [STREAM_UNDEFINED_CONDITION] = "undefined-condition",
    [STREAM_UNSUPPORTED_ENCODING] = "unsupported-encoding",
    [STREAM_UNSUPPORTED_FEATURE] = "unsupported-feature",
    [STREAM_UNSUPPORTED_STANZA_TYPE] = "unsupported-stanza-type",
    [STREAM_UNSUPPORTED_VERSION] = "unsupported-version",
};

const char *stream_cond_name(enum stream_cond c) { return stream_conds[c]; }

int stream_error_write(struct buf *out, enum stream_cond c, const char *text)
{
    int rc = buf_printf(out, "<stream:error><%s xmlns='" NS_STREAM_ERRORS "'/>", stream_conds[c]);
    if (rc == 0 && text) {
        rc = buf_append_str(out, "<text xmlns='" NS_STREAM_ERRORS "' xml:lang='en'>");
        if (rc == 0)
            rc = xml_escape(out, text, strlen(text), false);
        if (rc == 0)
            rc = buf_append_str(out, "</text>");
    }
    if (rc == 0)
        rc = buf_append_str(out, "</stream:error></stream:stream>");
    return rc;
}
