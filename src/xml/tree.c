/* Stanzas and their trees: building, copying and reading. Every node and
 * string lives in the stanza's arena, and so does the struct stanza itself:
 * a small stanza is one malloc, freed in one go. */
#include "core/arena.h"
#include "xml/xml.h"
#include "xml/xml_internal.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

static const char empty[] = "";

struct stanza *stanza_create(void)
{
    struct arena *a = arena_new();
    if (!a)
        return NULL;
    struct stanza *st = arena_alloc(a, sizeof *st);
    if (!st) {
        arena_free(a);
        return NULL;
    }
    *st = (struct stanza){.root = NULL, .arena = a, .refs = 1};
    return st;
}

static void link_child(struct xml_node *parent, struct xml_node *n)
{
    n->parent = parent;
    n->next = NULL;
    if (!parent)
        return;
    if (parent->last)
        parent->last->next = n;
    else
        parent->children = n;
    parent->last = n;
}

/* The namespace string for a child of parent: shared with the parent when
 * equal (the common case: most of a stanza is in one namespace). */
static const char *ns_intern(struct stanza *st, const struct xml_node *parent, const char *ns,
                             size_t len)
{
    if (len == 0)
        return empty;
    if (parent && strncmp(parent->ns, ns, len) == 0 && parent->ns[len] == '\0')
        return parent->ns;
    return arena_strndup(st->arena, ns, len);
}

struct xml_node *xml_elem_new(struct stanza *st, struct xml_node *parent, const char *name,
                              size_t name_len, const char *ns, size_t ns_len)
{
    struct xml_node *n = arena_alloc(st->arena, sizeof *n);
    if (!n)
        return NULL;
    *n = (struct xml_node){.type = XML_ELEMENT};
    n->name = arena_strndup(st->arena, name, name_len);
    n->ns = ns_intern(st, parent, ns, ns_len);
    if (!n->name || !n->ns)
        return NULL;
    link_child(parent, n);
    return n;
}

int xml_attr_append(struct stanza *st, struct xml_node *n, struct xml_attr **tail, const char *name,
                    const char *value)
{
    struct xml_attr *at = arena_alloc(st->arena, sizeof *at);
    if (!at)
        return -ENOMEM;
    at->name = name;
    at->value = arena_strdup(st->arena, value);
    at->next = NULL;
    if (!at->value)
        return -ENOMEM;
    if (*tail)
        (*tail)->next = at;
    else
        n->attrs = at;
    *tail = at;
    return 0;
}

struct stanza *stanza_new(const char *name, const char *ns)
{
    struct stanza *st = stanza_create();
    if (!st)
        return NULL;
    if (!ns)
        ns = empty;
    st->root = xml_elem_new(st, NULL, name, strlen(name), ns, strlen(ns));
    if (!st->root) {
        arena_free(st->arena);
        return NULL;
    }
    return st;
}

struct stanza *stanza_ref(struct stanza *st)
{
    st->refs++;
    return st;
}

void stanza_unref(struct stanza *st)
{
    if (st && --st->refs == 0)
        arena_free(st->arena); /* st itself lives in the arena */
}

struct stanza *stanza_copy(const struct stanza *st)
{
    struct stanza *c = stanza_create();
    if (!c)
        return NULL;
    if (st->root && !(c->root = xml_copy_into(c, NULL, st->root))) {
        arena_free(c->arena);
        return NULL;
    }
    return c;
}

struct xml_node *xml_add_child(struct stanza *st, struct xml_node *parent, const char *name,
                               const char *ns)
{
    if (!ns)
        ns = parent ? parent->ns : empty;
    return xml_elem_new(st, parent, name, strlen(name), ns, strlen(ns));
}

struct xml_node *xml_add_text(struct stanza *st, struct xml_node *parent, const char *text,
                              size_t len)
{
    struct xml_node *n = arena_alloc(st->arena, sizeof *n);
    if (!n)
        return NULL;
    *n = (struct xml_node){.type = XML_TEXT, .text_len = len};
    n->text = arena_strndup(st->arena, text, len);
    if (!n->text)
        return NULL;
    link_child(parent, n);
    return n;
}

int xml_set_attr(struct stanza *st, struct xml_node *n, const char *name, const char *value)
{
    struct xml_attr **pp = &n->attrs;
    struct xml_attr *tail = NULL;
    for (; *pp; pp = &(*pp)->next) {
        tail = *pp;
        if (strcmp(tail->name, name) != 0)
            continue;
        if (!value) {
            *pp = tail->next;
            return 0;
        }
        const char *v = arena_strdup(st->arena, value);
        if (!v)
            return -ENOMEM;
        tail->value = v;
        return 0;
    }
    if (!value)
        return 0;
    const char *nm = arena_strdup(st->arena, name);
    if (!nm)
        return -ENOMEM;
    return xml_attr_append(st, n, &tail, nm, value);
}

/* Copies one node (not its children) under parent. */
static struct xml_node *copy_one(struct stanza *st, struct xml_node *parent,
                                 const struct xml_node *src)
{
    if (src->type == XML_TEXT)
        return xml_add_text(st, parent, src->text, src->text_len);
    const char *ns = src->ns ? src->ns : empty;
    struct xml_node *n = xml_elem_new(st, parent, src->name, strlen(src->name), ns, strlen(ns));
    if (!n)
        return NULL;
    struct xml_attr *tail = NULL;
    for (const struct xml_attr *a = src->attrs; a; a = a->next) {
        const char *nm = arena_strdup(st->arena, a->name);
        if (!nm || xml_attr_append(st, n, &tail, nm, a->value) < 0)
            return NULL;
    }
    return n;
}

/* Iterative pre-order walk, so a deep tree cannot exhaust the C stack. */
static struct xml_node *copy_tree(struct stanza *st, struct xml_node *top,
                                  const struct xml_node *src)
{
    const struct xml_node *s = src;
    struct xml_node *d = top;
    for (;;) {
        if (s->type == XML_ELEMENT && s->children) {
            s = s->children;
            d = copy_one(st, d, s);
        } else {
            while (s != src && !s->next) {
                s = s->parent;
                d = d->parent;
            }
            if (s == src)
                return top;
            s = s->next;
            d = copy_one(st, d->parent, s);
        }
        if (!d)
            return NULL;
    }
}

struct xml_node *xml_copy_into(struct stanza *st, struct xml_node *parent,
                               const struct xml_node *src)
{
    struct xml_node *top = copy_one(st, parent, src);
    if (!top)
        return NULL;
    if (!copy_tree(st, top, src)) {
        xml_remove(top);
        return NULL;
    }
    return top;
}

void xml_remove(struct xml_node *n)
{
    struct xml_node *parent = n->parent;
    if (!parent)
        return;
    struct xml_node *prev = NULL;
    for (struct xml_node *c = parent->children; c && c != n; c = c->next)
        prev = c;
    if (prev)
        prev->next = n->next;
    else if (parent->children == n)
        parent->children = n->next;
    else
        return; /* not actually linked: leave everything alone */
    if (parent->last == n)
        parent->last = prev;
    n->parent = NULL;
    n->next = NULL;
}

const char *xml_attr(const struct xml_node *n, const char *name)
{
    for (const struct xml_attr *a = n->attrs; a; a = a->next)
        if (strcmp(a->name, name) == 0)
            return a->value;
    return NULL;
}

struct xml_node *xml_child(const struct xml_node *n, const char *name, const char *ns)
{
    for (struct xml_node *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT)
            continue;
        if ((!name || strcmp(c->name, name) == 0) && (!ns || strcmp(c->ns, ns) == 0))
            return c;
    }
    return NULL;
}

struct xml_node *xml_first_elem(const struct xml_node *n)
{
    struct xml_node *c = n->children;
    while (c && c->type != XML_ELEMENT)
        c = c->next;
    return c;
}

struct xml_node *xml_next_elem(const struct xml_node *n)
{
    struct xml_node *c = n->next;
    while (c && c->type != XML_ELEMENT)
        c = c->next;
    return c;
}

const char *xml_text(struct stanza *st, const struct xml_node *n)
{
    size_t total = 0, count = 0;
    const struct xml_node *only = NULL;
    for (const struct xml_node *c = n->children; c; c = c->next) {
        if (c->type != XML_TEXT)
            continue;
        if (c->text_len > SIZE_MAX - 1 - total)
            return NULL;
        total += c->text_len;
        count++;
        only = c;
    }
    if (count == 0)
        return empty;
    if (count == 1) /* the parser coalesces text, so this is the usual case */
        return only->text;
    char *out = arena_alloc(st->arena, total + 1);
    if (!out)
        return NULL;
    size_t off = 0;
    for (const struct xml_node *c = n->children; c; c = c->next) {
        if (c->type == XML_TEXT) {
            memcpy(out + off, c->text, c->text_len);
            off += c->text_len;
        }
    }
    out[off] = '\0';
    return out;
}

size_t xml_count_elems(const struct xml_node *n)
{
    size_t count = 0;
    for (const struct xml_node *c = n->children; c; c = c->next)
        count += c->type == XML_ELEMENT;
    return count;
}

/* ---- building from expat's names (stream.c, reader.c) ---- */

struct xml_qname xml_split_qname(const char *name)
{
    struct xml_qname q = {.uri = "", .local = name, .prefix = ""};
    const char *s1 = strchr(name, NS_SEP);
    if (s1) {
        q.uri = name;
        q.uri_len = (size_t)(s1 - name);
        q.local = s1 + 1;
    }
    const char *s2 = s1 ? strchr(q.local, NS_SEP) : NULL;
    if (s2) {
        q.prefix = s2 + 1;
        q.prefix_len = strlen(q.prefix);
    }
    q.local_len = s2 ? (size_t)(s2 - q.local) : strlen(q.local);
    return q;
}

/* Attribute name as xml.h promises: "local", "xml:local" or "{uri}local". */
static const char *attr_name(struct arena *ar, const char *raw)
{
    struct xml_qname q = xml_split_qname(raw);
    if (q.uri_len == 0)
        return arena_strndup(ar, q.local, q.local_len);
    bool xml = q.uri_len == sizeof XML_NS_URI - 1 && memcmp(q.uri, XML_NS_URI, q.uri_len) == 0;
    size_t pre = xml ? 4 : q.uri_len + 2;
    if (q.local_len > SIZE_MAX - 1 - pre)
        return NULL;
    char *s = arena_alloc(ar, pre + q.local_len + 1);
    if (!s)
        return NULL;
    if (xml) {
        memcpy(s, "xml:", 4);
    } else {
        s[0] = '{';
        memcpy(s + 1, q.uri, q.uri_len);
        s[q.uri_len + 1] = '}';
    }
    memcpy(s + pre, q.local, q.local_len);
    s[pre + q.local_len] = '\0';
    return s;
}

struct xml_node *xml_build_elem(struct stanza *st, struct xml_node *parent, const char *name,
                                const char **atts)
{
    struct xml_qname q = xml_split_qname(name);
    struct xml_node *n = xml_elem_new(st, parent, q.local, q.local_len, q.uri, q.uri_len);
    if (!n)
        return NULL;
    struct xml_attr *tail = NULL;
    for (; atts[0]; atts += 2) {
        const char *an = attr_name(st->arena, atts[0]);
        if (!an || xml_attr_append(st, n, &tail, an, atts[1]) < 0)
            return NULL;
    }
    if (!parent)
        st->root = n;
    return n;
}
