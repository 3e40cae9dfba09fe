/* Fuzz target for the XML stream parser and the serializer.
 *
 * Input: byte 0 selects small limits, whether to idle between chunks and
 * whether to cap the tree's memory;
 * bytes 1..4 give a cycle of chunk sizes (1..64); the rest is the stream.
 * Each stanza is serialized, parsed back as a stream of its own and
 * serialized again: both serializations must be identical. A stanza
 * callback may ask to stop (every 7th stanza): the rest is fed afterwards,
 * as the connection code does; with bit 5 of byte 0 it pauses after every
 * 3rd (XML_STREAM_PAUSE), and the loop resumes before feeding on. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xml/xml.h"

#define HDR "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"

struct fz {
    struct buf out;
    unsigned stanzas;
    bool roundtrip;
    bool pauses;
};

static int fz_again(void *ud, struct stanza *st)
{
    struct buf *b = ud;
    xml_serialize(st->root, "jabber:client", b);
    stanza_unref(st);
    return 0;
}

/* Serializer output must parse back to the same serialization. */
static void roundtrip(const struct buf *first)
{
    static const struct xml_stream_handler h = {NULL, fz_again, NULL};
    const struct xml_limits lim = {first->len + sizeof HDR + 16, 1000, 1000};
    struct buf again;
    buf_init(&again, 0);
    struct xml_stream *xs = xml_stream_new(&lim, &h, &again);
    if (!xs)
        return;
    if (xml_stream_feed(xs, HDR, sizeof HDR - 1) > 0 &&
        xml_stream_feed(xs, first->data, first->len) == (long)first->len) {
        if (again.len != first->len || memcmp(again.data, first->data, first->len) != 0)
            abort();
    }
    xml_stream_free(xs);
    buf_free(&again);
}

static int fz_open(void *ud, const struct xml_node *root)
{
    (void)ud;
    return xml_attr(root, "stop") != NULL;
}

static int fz_stanza(void *ud, struct stanza *st)
{
    struct fz *f = ud;
    buf_reset(&f->out);
    if (xml_serialize(st->root, "jabber:client", &f->out) == 0 && f->roundtrip)
        roundtrip(&f->out);
    stanza_unref(st);
    ++f->stanzas;
    if (f->pauses && f->stanzas % 3 == 0)
        return XML_STREAM_PAUSE;
    return f->stanzas % 7 == 0;
}

static void fz_close(void *ud) { (void)ud; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct xml_stream_handler h = {fz_open, fz_stanza, fz_close};
    if (size < 5)
        return 0;
    const struct xml_limits lim = {
        .max_stanza_size = (data[0] & 1) ? 512 : 8192,
        .max_depth = (data[0] & 2) ? 4 : 32,
        .max_attrs = (data[0] & 4) ? 3 : 16,
    };
    bool idle = data[0] & 8;
    struct fz f = {.roundtrip = true, .pauses = (data[0] & 32) != 0};
    buf_init(&f.out, 1 << 20);
    struct xml_stream *xs = xml_stream_new(&lim, &h, &f);
    if (!xs)
        return 0;
    if (data[0] & 16)
        xml_stream_set_max_tree(xs, 4096);
    const char *in = (const char *)data + 5;
    size_t len = size - 5, off = 0;
    for (unsigned i = 0; off < len; i++) {
        size_t n = (size_t)(data[1 + i % 4] & 63) + 1;
        if (n > len - off)
            n = len - off;
        long rc = xml_stream_feed(xs, in + off, n);
        if (rc < 0)
            break;
        if ((size_t)rc > n)
            abort();
        off += (size_t)rc; /* a stop leaves the rest to feed again */
        while (rc >= 0 && xml_stream_paused(xs)) {
            if (xml_stream_feed(xs, in + off, len - off) != 0)
                abort(); /* a paused stream takes nothing */
            rc = xml_stream_resume(xs);
        }
        if (rc < 0)
            break;
        /* an unfinished element never holds more than the limit */
        if (xml_stream_pending(xs) > lim.max_stanza_size)
            abort();
        if (idle)
            xml_stream_idle(xs);
    }
    xml_stream_free(xs);
    buf_free(&f.out);
    return 0;
}
