/* Parsing one stored element (see fragment.h) with the stream parser,
 * inside a made-up stream header, so the same limits and the same
 * refusal of DTDs and entities apply as to anything a client sends. */
#include "modules/fragment.h"

#include <string.h>

#include "xmpp/ns.h"

#define FRAG_OPEN "<stream:stream xmlns='" NS_CLIENT "' xmlns:stream='" NS_STREAMS "'>"

struct frag {
    struct stanza *st;
    int count;
};

static int on_open(void *ud, const struct xml_node *root)
{
    (void)ud, (void)root;
    return 0;
}

static int on_stanza(void *ud, struct stanza *st)
{
    struct frag *f = ud;
    if (f->count++ == 0) {
        f->st = st;
        return 0;
    }
    stanza_unref(st);
    return 1; /* a second element: refused below */
}

static void on_close(void *ud) { (void)ud; }

static const struct xml_stream_handler frag_handler = {on_open, on_stanza, on_close};

struct stanza *fragment_parse(const char *xml, size_t len, unsigned max_depth)
{
    struct frag f = {NULL, 0};
    /* The parser also keeps the header's declarations within this limit. */
    struct xml_limits lim = {len + sizeof FRAG_OPEN, max_depth + 1, 0};
    struct xml_stream *xs = xml_stream_new(&lim, &frag_handler, &f);
    if (!xs)
        return NULL;
    long rc = xml_stream_feed(xs, FRAG_OPEN, strlen(FRAG_OPEN));
    if (rc >= 0)
        rc = xml_stream_feed(xs, xml, len);
    bool whole = rc == (long)len && xml_stream_pending(xs) == 0;
    xml_stream_free(xs);
    if (!whole || f.count != 1) {
        if (f.st)
            stanza_unref(f.st);
        return NULL;
    }
    return f.st;
}
