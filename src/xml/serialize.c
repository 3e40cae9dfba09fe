/* Serializer: appends a tree as XML straight into a struct buf.
 *
 * Elements are always written unprefixed, with a default-namespace xmlns
 * where a node's namespace differs from the one in scope. Attributes named
 * "{uri}local" get a generated prefix declared on the same element. */
#include "xml/xml.h"

#include <stdint.h>
#include <string.h>

/* Escape classes: 0 never escaped, 1 escaped in text and attributes,
 * 2 escaped in attributes only. \r is escaped in text too: a parser would
 * otherwise turn it into \n. Tab and \n in attributes: otherwise normalised
 * to spaces. */
static const unsigned char esc_class[256] = {
    ['&'] = 1, ['<'] = 1, ['>'] = 1, ['\r'] = 1, ['"'] = 2, ['\''] = 2, ['\n'] = 2, ['\t'] = 2,
};

static const char *esc_entity(unsigned char c)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&apos;";
    case '\r': return "&#xD;";
    case '\n': return "&#xA;";
    default: return "&#x9;";
    }
}

int xml_escape(struct buf *out, const char *s, size_t len, bool attr)
{
    unsigned char max_class = attr ? 2 : 1;
    size_t run = 0; /* start of the pending run of plain bytes */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        unsigned char k = esc_class[c];
        if (k == 0 || k > max_class)
            continue;
        int rc = buf_append(out, s + run, i - run);
        if (rc == 0)
            rc = buf_append_str(out, esc_entity(c));
        if (rc < 0)
            return rc;
        run = i + 1;
    }
    return buf_append(out, s + run, len - run);
}

static int put(struct buf *out, const char *s) { return buf_append_str(out, s); }

/* ` xmlns:nsK='uri' nsK:local='` for an attribute named {uri}local. Rare
 * (the parser only produces it for foreign namespaced attributes), so
 * printf's cost does not matter here. */
static int put_ns_attr(struct buf *out, const char *name, const char *close, unsigned k)
{
    const char *uri = name + 1;
    int rc = buf_printf(out, " xmlns:ns%u='", k);
    if (rc == 0)
        rc = xml_escape(out, uri, (size_t)(close - uri), true);
    if (rc == 0)
        rc = buf_printf(out, "' ns%u:%s='", k, close + 1);
    return rc;
}

static int put_attrs(struct buf *out, const struct xml_attr *a)
{
    unsigned k = 0;
    for (; a; a = a->next) {
        int rc;
        const char *close = a->name[0] == '{' ? strrchr(a->name, '}') : NULL;
        if (close) {
            rc = put_ns_attr(out, a->name, close, k++);
        } else if ((rc = put(out, " ")) == 0 && (rc = put(out, a->name)) == 0) {
            rc = put(out, "='");
        }
        if (rc == 0)
            rc = xml_escape(out, a->value, strlen(a->value), true);
        if (rc == 0)
            rc = put(out, "'");
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Writes a text node, or an element's start tag ("/>" when it is empty). */
static int put_open(struct buf *out, const struct xml_node *n, const char *scope)
{
    if (n->type == XML_TEXT)
        return xml_escape(out, n->text, n->text_len, false);
    const char *ns = n->ns ? n->ns : "";
    int rc = put(out, "<");
    if (rc == 0)
        rc = put(out, n->name);
    if (rc == 0 && strcmp(ns, scope) != 0) {
        rc = put(out, " xmlns='");
        if (rc == 0)
            rc = xml_escape(out, ns, strlen(ns), true);
        if (rc == 0)
            rc = put(out, "'");
    }
    if (rc == 0)
        rc = put_attrs(out, n->attrs);
    if (rc == 0)
        rc = put(out, n->children ? ">" : "/>");
    return rc;
}

static int put_close(struct buf *out, const struct xml_node *n)
{
    int rc = put(out, "</");
    if (rc == 0)
        rc = put(out, n->name);
    if (rc == 0)
        rc = put(out, ">");
    return rc;
}

/* Iterative pre-order walk: no recursion depth to worry about. */
static int put_tree(struct buf *out, const struct xml_node *top, const char *top_ns)
{
    const struct xml_node *n = top;
    for (;;) {
        const char *scope = n == top ? top_ns : (n->parent->ns ? n->parent->ns : "");
        int rc = put_open(out, n, scope);
        if (rc < 0)
            return rc;
        if (n->type == XML_ELEMENT && n->children) {
            n = n->children;
            continue;
        }
        while (n != top && !n->next) {
            n = n->parent;
            if ((rc = put_close(out, n)) < 0)
                return rc;
        }
        if (n == top)
            return 0;
        n = n->next;
    }
}

int xml_serialize(const struct xml_node *n, const char *parent_ns, struct buf *out)
{
    size_t start = out->len;
    int rc = put_tree(out, n, parent_ns ? parent_ns : "");
    if (rc < 0 && out->data) {
        /* never leave half an element behind for the writer to send */
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}
