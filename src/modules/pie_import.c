/* Reading XEP-0227 files: see pie_import.h. */
#include "modules/pie_import.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <linux/limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "core/arena.h"
#include "modules/pie.h"
#include "modules/vcard.h"
#include "store/roster.h"
#include "xml/reader.h"
#include "xmpp/ns.h"
#include "xmpp/sasl.h"

#define NS_XINCLUDE "http://www.w3.org/2001/XInclude"
#define NS_DELAY "urn:xmpp:delay"
#define NS_ROSTER_IQ "jabber:iq:roster"
#define NS_VCARD_TEMP "vcard-temp"
#define NS_PRIVATE_IQ "jabber:iq:private"
#define NS_PRIVACY "jabber:iq:privacy"
#define BARE_MAX (2 * JID_PART_MAX + 2)
#define FULL_MAX (3 * JID_PART_MAX + 3)
#define PIE_CHUNK 65536 /* bytes read from an included file at a time */

/* ---- one account ---- */

struct conv {
    struct stanza *st;
    struct pie_account *pa;
    char *why;
    pie_notice_fn notice;
    void *ud;
    char jid[BARE_MAX]; /* the account, for messages */
    int64_t now;
    struct import_contact *contacts;
    struct private_item *priv;
    struct import_message *offline;
    const char **blocked;
};

__attribute__((format(printf, 2, 3))) static int fail(struct conv *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, PIE_WHY_MAX, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static void notice(struct conv *c, const char *what, const struct xml_node *n)
{
    char line[PIE_WHY_MAX];
    snprintf(line, sizeof line, "%s <%s xmlns='%s'>", what, n->name, n->ns);
    if (c->notice)
        c->notice(c->ud, c->jid, line);
}

static bool is(const struct xml_node *n, const char *ns, const char *name)
{
    return strcmp(n->ns, ns) == 0 && strcmp(n->name, name) == 0;
}

/* The text of n without surrounding white space, in the arena. */
static const char *trimmed_text(struct conv *c, const struct xml_node *n, size_t *len)
{
    const char *t = xml_text(c->st, n);
    if (!t)
        return NULL;
    while (isspace((unsigned char)*t))
        t++;
    size_t l = strlen(t);
    while (l > 0 && isspace((unsigned char)t[l - 1]))
        l--;
    *len = l;
    return t;
}

/* n serialized, as a string in the arena. */
static const char *serialized(struct conv *c, const struct xml_node *n, size_t *len)
{
    struct buf b;
    buf_init(&b, PIE_USER_MAX * 2ULL);
    const char *s =
        xml_serialize(n, "", &b) == 0 ? arena_strndup(c->st->arena, b.data, b.len) : NULL;
    *len = b.len;
    buf_free(&b);
    return s;
}

/* A JID from the file, prepared (bare: without resource), in the arena;
 * NULL if it is not a valid JID. */
static const char *prepared_jid(struct conv *c, const char *s, bool bare)
{
    struct jid j;
    if (!s || jid_parse(&j, s, strlen(s)) < 0)
        return NULL;
    char out[FULL_MAX];
    size_t n = jid_format(&j, bare, out, sizeof out);
    jid_free(&j);
    return n < sizeof out ? arena_strdup(c->st->arena, out) : NULL;
}

static void *arena_array(struct conv *c, size_t n, size_t size)
{
    if (n == 0)
        return NULL;
    if (n > SIZE_MAX / size)
        return NULL;
    return arena_alloc(c->st->arena, n * size);
}

/* ---- credentials (§4.3 and the 'password' attribute) ---- */

/* iter-count: a positive integer without leading zeros. */
static bool parse_iterations(const char *t, size_t len, uint32_t *out)
{
    if (len == 0 || len > 10 || t[0] == '0')
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i] < '0' || t[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(t[i] - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* The text of child name of n, base64-decoded times times, into out:
 * its length, or 0 if it is not that or longer than cap. */
static size_t b64_child(struct conv *c, const struct xml_node *n, const char *name, int times,
                        uint8_t *out, size_t cap)
{
    const struct xml_node *e = xml_child(n, name, NS_PIE_SCRAM);
    size_t len = 0;
    const char *src = e ? trimmed_text(c, e, &len) : NULL;
    uint8_t *v = NULL;
    size_t vlen = 0;
    for (int i = 0; src && len > 0 && i < times; i++) {
        uint8_t *next = NULL;
        size_t nlen = 0;
        int rc = sasl_b64_decode(src, len, &next, &nlen);
        if (v)
            OPENSSL_cleanse(v, vlen);
        free(v);
        v = rc == 0 ? next : NULL;
        vlen = rc == 0 ? nlen : 0;
        src = (const char *)v;
        len = vlen;
    }
    size_t got = v && vlen > 0 && vlen <= cap ? vlen : 0;
    if (got)
        memcpy(out, v, got);
    if (v)
        OPENSSL_cleanse(v, vlen);
    free(v);
    return got;
}

static int scram_of(struct conv *c, const struct xml_node *n)
{
    const char *mech = xml_attr(n, "mechanism");
    int h = mech && strcmp(mech, "SCRAM-SHA-1") == 0     ? SCRAM_SHA1
            : mech && strcmp(mech, "SCRAM-SHA-256") == 0 ? SCRAM_SHA256
                                                         : -1;
    if (h < 0) {
        notice(c, "skipped credentials of a mechanism Taube does not offer:", n);
        return 0;
    }
    struct account_creds *ac = &c->pa->a.creds;
    if (ac->have[h])
        return fail(c, "two <scram-credentials/> for %s", mech);
    struct scram_creds *sc = &ac->scram[h];
    const struct xml_node *it = xml_child(n, "iter-count", NS_PIE_SCRAM);
    size_t len = 0, klen = scram_hash_len((enum scram_hash)h);
    const char *t = it ? trimmed_text(c, it, &len) : NULL;
    if (!t || !parse_iterations(t, len, &sc->iterations))
        return fail(c, "%s: <iter-count/> is not a positive integer", mech);
    /* ejabberd 23.01's export_piefxis encodes its already base64 values
     * once more: keys of the wrong length that decode twice to the right
     * one are taken so, and then the salt too. */
    int times = b64_child(c, n, "server-key", 1, sc->server_key, klen) == klen ? 1 : 2;
    if (b64_child(c, n, "server-key", times, sc->server_key, klen) != klen ||
        b64_child(c, n, "stored-key", times, sc->stored_key, klen) != klen)
        return fail(c, "%s: a key is not base64 of the hash's length", mech);
    if (!(sc->salt_len = b64_child(c, n, "salt", times, sc->salt, SCRAM_MAX_SALT)))
        return fail(c, "%s: <salt/> is not base64 of 1 to 64 bytes", mech);
    if (times == 2)
        notice(c, "took base64 encoded twice (as ejabberd 23.01 exports it) in", n);
    sc->hash = (enum scram_hash)h;
    ac->have[h] = true;
    return 0;
}

/* A plaintext password (discouraged by §4.2, still written by old
 * exports): hashed for every mechanism the file gave no keys for. */
static int password_creds(struct conv *c, const char *pw, uint32_t iterations)
{
    char *prepped = NULL;
    int rc = sasl_saslprep(pw, strlen(pw), &prepped);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0 || prepped[0] == '\0') {
        free(prepped);
        return fail(c, "the password is empty or has characters SASLprep forbids");
    }
    struct account_creds *ac = &c->pa->a.creds;
    for (int h = 0; h < SCRAM_NHASH && rc == 0; h++)
        if (!ac->have[h] &&
            (rc = scram_derive((enum scram_hash)h, prepped, iterations, &ac->scram[h])) == 0)
            ac->have[h] = true;
    OPENSSL_cleanse(prepped, strlen(prepped));
    free(prepped);
    return rc;
}

/* ---- roster (§4.4) and pending requests (§4.9) ---- */

static struct import_contact *contact(struct conv *c, const char *jid)
{
    struct import_account *a = &c->pa->a;
    for (size_t i = 0; i < a->ncontacts; i++)
        if (strcmp(c->contacts[i].jid, jid) == 0)
            return &c->contacts[i];
    struct import_contact *k = &c->contacts[a->ncontacts++];
    *k = (struct import_contact){.jid = jid, .groups = ""};
    return k;
}

static unsigned subscription_flags(const char *sub)
{
    if (!sub || strcmp(sub, "none") == 0)
        return 0;
    if (strcmp(sub, "to") == 0)
        return ROSTER_TO;
    if (strcmp(sub, "from") == 0)
        return ROSTER_FROM;
    if (strcmp(sub, "both") == 0)
        return ROSTER_TO | ROSTER_FROM;
    return UINT_MAX;
}

/* The groups joined with U+001F (which XML text cannot hold). */
static const char *groups_of(struct conv *c, const struct xml_node *item)
{
    struct buf b;
    buf_init(&b, PIE_USER_MAX);
    int rc = 0;
    for (const struct xml_node *g = xml_first_elem(item); g && rc == 0; g = xml_next_elem(g)) {
        size_t len = 0;
        const char *t = is(g, NS_ROSTER_IQ, "group") ? trimmed_text(c, g, &len) : NULL;
        if (t && len > 0 && b.len > 0)
            rc = buf_append(&b, "\x1f", 1);
        if (t && len > 0 && rc == 0)
            rc = buf_append(&b, t, len);
    }
    const char *s = rc == 0 ? arena_strndup(c->st->arena, b.data ? b.data : "", b.len) : NULL;
    buf_free(&b);
    return s;
}

static int roster_item(struct conv *c, const struct xml_node *it)
{
    const char *jid = prepared_jid(c, xml_attr(it, "jid"), true);
    unsigned sub = subscription_flags(xml_attr(it, "subscription"));
    if (!jid || sub == UINT_MAX) {
        notice(c, "skipped a roster item with a bad jid or subscription:", it);
        return 0;
    }
    const char *ask = xml_attr(it, "ask");
    struct import_contact *k = contact(c, jid);
    k->flags |= ROSTER_ITEM | sub | (ask && strcmp(ask, "subscribe") == 0 ? ROSTER_ASK : 0);
    k->name = xml_attr(it, "name");
    k->groups = groups_of(c, it);
    return k->groups ? 0 : -ENOMEM;
}

static int roster_of(struct conv *c, const struct xml_node *q)
{
    int rc = 0;
    for (const struct xml_node *it = xml_first_elem(q); it && rc == 0; it = xml_next_elem(it))
        if (is(it, NS_ROSTER_IQ, "item"))
            rc = roster_item(c, it);
    return rc;
}

static int request_of(struct conv *c, const struct xml_node *p)
{
    const char *type = xml_attr(p, "type");
    const char *jid = prepared_jid(c, xml_attr(p, "from"), true);
    if (!type || strcmp(type, "subscribe") != 0 || !jid) {
        notice(c, "skipped a presence that is not a subscription request:", p);
        return 0;
    }
    struct import_contact *k = contact(c, jid);
    k->flags |= ROSTER_PENDING_IN;
    const struct xml_node *status = xml_child(p, "status", NS_CLIENT);
    k->status = status ? xml_text(c->st, status) : NULL;
    return 0;
}

/* ---- vCard (§4.7), private XML (§4.6) ---- */

static int vcard_of(struct conv *c, const struct xml_node *v)
{
    struct import_account *a = &c->pa->a;
    char hash[VCARD_HASH_LEN + 1];
    vcard_photo_hash(c->st, v, hash);
    a->vcard = serialized(c, v, &a->vcard_len);
    a->photo_hash = arena_strdup(c->st->arena, hash);
    return a->vcard && a->photo_hash ? 0 : -ENOMEM;
}

static int private_of(struct conv *c, const struct xml_node *q)
{
    struct import_account *a = &c->pa->a;
    for (const struct xml_node *e = xml_first_elem(q); e; e = xml_next_elem(e)) {
        struct private_item *it = &c->priv[a->npriv];
        *it = (struct private_item){.ns = e->ns, .name = e->name};
        if (!e->ns[0]) {
            notice(c, "skipped private XML without a namespace:", e);
            continue;
        }
        if (!(it->xml = serialized(c, e, &it->len)))
            return -ENOMEM;
        a->npriv++;
    }
    return 0;
}

/* ---- offline messages (§4.5) ---- */

/* XEP-0082 dateTime (fractions and offsets allowed) as unix time; 0 if
 * it is not one. */
static int64_t parse_stamp(const char *s)
{
    struct tm tm = {0};
    const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!p)
        return 0;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    long off = 0;
    if ((p[0] == '+' || p[0] == '-') && strlen(p) == 6 && p[3] == ':') {
        int hh = 0, mm = 0;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return 0;
        off = (p[0] == '+' ? 1 : -1) * (hh * 3600L + mm * 60L);
    } else if (strcmp(p, "Z") != 0) {
        return 0;
    }
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? 0 : (int64_t)t - off;
}

static int message_of(struct conv *c, struct xml_node *m)
{
    struct import_account *a = &c->pa->a;
    if (!is(m, NS_CLIENT, "message")) {
        notice(c, "skipped an offline element that is not a jabber:client message:", m);
        return 0;
    }
    if (!xml_attr(m, "to") && xml_set_attr(c->st, m, "to", c->jid) < 0)
        return -ENOMEM;
    const struct xml_node *delay = xml_child(m, "delay", NS_DELAY);
    int64_t stamp = delay ? parse_stamp(xml_attr(delay, "stamp")) : 0;
    struct import_message *im = &c->offline[a->noffline];
    im->stamp = stamp > 0 ? stamp : c->now;
    if (!(im->xml = serialized(c, m, &im->len)))
        return -ENOMEM;
    a->noffline++;
    return 0;
}

static int offline_of(struct conv *c, struct xml_node *o)
{
    int rc = 0;
    for (struct xml_node *m = xml_first_elem(o); m && rc == 0; m = xml_next_elem(m))
        rc = message_of(c, m);
    return rc;
}

/* ---- the block list (§4.8, mapped as XEP-0191 §5) ---- */

static const struct xml_node *default_list(const struct xml_node *q)
{
    const struct xml_node *d = xml_child(q, "default", NS_PRIVACY);
    const char *name = d ? xml_attr(d, "name") : NULL;
    for (const struct xml_node *l = xml_first_elem(q); name && l; l = xml_next_elem(l)) {
        const char *ln = xml_attr(l, "name");
        if (is(l, NS_PRIVACY, "list") && ln && strcmp(ln, name) == 0)
            return l;
    }
    return NULL;
}

static int privacy_of(struct conv *c, const struct xml_node *q)
{
    struct import_account *a = &c->pa->a;
    const struct xml_node *l = default_list(q);
    if (!l) {
        notice(c, "skipped privacy lists without a default list:", q);
        return 0;
    }
    for (const struct xml_node *it = xml_first_elem(l); it; it = xml_next_elem(it)) {
        const char *type = xml_attr(it, "type"), *action = xml_attr(it, "action");
        const char *jid = prepared_jid(c, xml_attr(it, "value"), false);
        if (!type || strcmp(type, "jid") != 0 || !action || strcmp(action, "deny") != 0 || !jid) {
            notice(c, "skipped a privacy rule other than blocking a JID:", it);
            continue;
        }
        c->blocked[a->nblocked++] = jid;
    }
    return 0;
}

/* ---- the <user/> ---- */

/* Upper bounds of the arrays: children of the user's children. */
static size_t grandchildren(const struct xml_node *user, size_t *lists)
{
    size_t n = 0;
    for (const struct xml_node *e = xml_first_elem(user); e; e = xml_next_elem(e)) {
        n += xml_count_elems(e) + 1;
        for (const struct xml_node *l = xml_first_elem(e); l; l = xml_next_elem(l))
            if (is(l, NS_PRIVACY, "list"))
                *lists += xml_count_elems(l);
    }
    return n;
}

static int child_of_user(struct conv *c, struct xml_node *e)
{
    if (is(e, NS_PIE_SCRAM, "scram-credentials"))
        return scram_of(c, e);
    if (is(e, NS_ROSTER_IQ, "query"))
        return roster_of(c, e);
    if (is(e, NS_CLIENT, "presence"))
        return request_of(c, e);
    if (is(e, NS_VCARD_TEMP, "vCard"))
        return vcard_of(c, e);
    if (is(e, NS_PRIVATE_IQ, "query"))
        return private_of(c, e);
    if (is(e, NS_PIE, "offline-messages"))
        return offline_of(c, e);
    if (is(e, NS_PRIVACY, "query"))
        return privacy_of(c, e);
    notice(c, "skipped", e);
    return 0;
}

static int alloc_arrays(struct conv *c, const struct xml_node *user)
{
    size_t lists = 0, n = grandchildren(user, &lists);
    if (n == 0)
        return 0;
    c->contacts = arena_array(c, n, sizeof *c->contacts);
    c->priv = arena_array(c, n, sizeof *c->priv);
    c->offline = arena_array(c, n, sizeof *c->offline);
    c->blocked = lists ? arena_array(c, lists, sizeof *c->blocked) : NULL;
    return c->contacts && c->priv && c->offline && (!lists || c->blocked) ? 0 : -ENOMEM;
}

static int convert(struct conv *c, struct xml_node *user, uint32_t iterations)
{
    struct pie_account *pa = c->pa;
    int rc = alloc_arrays(c, user);
    for (struct xml_node *e = xml_first_elem(user); rc == 0 && e; e = xml_next_elem(e))
        rc = child_of_user(c, e);
    const char *pw = xml_attr(user, "password");
    if (rc == 0 && pw)
        rc = password_creds(c, pw, iterations);
    if (rc == 0 && !pa->a.creds.have[SCRAM_SHA1] && !pa->a.creds.have[SCRAM_SHA256])
        rc = fail(c, "no password and no SCRAM-SHA-1 or SCRAM-SHA-256 credentials");
    pa->a.contacts = c->contacts;
    pa->a.priv = c->priv;
    pa->a.offline = c->offline;
    pa->a.blocked = c->blocked;
    return rc;
}

int pie_account_from(struct pie_account *out, const char *host, struct stanza *tree,
                     uint32_t iterations, int64_t now, pie_notice_fn notice_fn, void *ud,
                     char why[PIE_WHY_MAX])
{
    memset(out, 0, sizeof *out);
    out->tree = tree;
    struct conv c = {.st = tree, .pa = out, .why = why, .notice = notice_fn, .ud = ud, .now = now};
    const char *name = xml_attr(tree->root, "name");
    snprintf(out->domain, sizeof out->domain, "%s", host);
    if (!name || jid_prep_local(name, out->user, sizeof out->user) < 0 ||
        strlen(host) > JID_PART_MAX)
        return fail(&c, "a <user/> of %s has no valid 'name'", host);
    snprintf(c.jid, sizeof c.jid, "%s@%s", out->user, out->domain);
    out->a.domain = out->domain;
    out->a.user = out->user;
    return convert(&c, tree->root, iterations);
}

void pie_account_free(struct pie_account *pa)
{
    OPENSSL_cleanse(&pa->a.creds, sizeof pa->a.creds);
    if (pa->tree)
        stanza_unref(pa->tree);
    pa->tree = NULL;
}

/* ---- the file, and the files it includes (§5) ---- */

/* One document being read: the main file or an included one. offset is
 * the level of its root in the whole export (0 <server-data/>, 1 <host/>,
 * 2 <user/>), so that the same callbacks serve all three layouts. */
struct part {
    struct pie_file *f;
    struct xml_reader *r;
    unsigned offset;
    const char *href; /* NULL for the main file */
};

struct pie_file {
    struct part main;
    struct pie_file_handler h;
    void *ud;
    char *base_dir;              /* where hrefs are resolved; NULL: no XInclude */
    char host[JID_PART_MAX + 1]; /* "" outside a usable <host/> */
    bool canceled;
    char error[PIE_WHY_MAX + 64 + PIE_HREF_MAX];
};

__attribute__((format(printf, 2, 3))) static void part_error(struct part *p, const char *fmt, ...)
{
    unsigned long line = 0, col = 0;
    xml_reader_position(p->r, &line, &col);
    char msg[PIE_WHY_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->href)
        snprintf(p->f->error, sizeof p->f->error, "%s in %s (line %lu, column %lu)", msg, p->href,
                 line, col);
    else
        snprintf(p->f->error, sizeof p->f->error, "%s (line %lu, column %lu)", msg, line, col);
}

static int read_part(struct pie_file *f, struct part *parent, const char *href, unsigned offset);

/* §5: <include href='relative file'/>, no 'parse', no 'xpointer'. The
 * href stays below the main file's directory. 0, or 1 to stop. */
static int include(struct part *p, const struct xml_node *n, unsigned level)
{
    const char *href = xml_attr(n, "href");
    if (!p->f->base_dir) {
        part_error(p, "XInclude is not supported here");
        return 1;
    }
    if (!href || !href[0] || strlen(href) >= PIE_HREF_MAX || href[0] == '/' || strstr(href, "..") ||
        strchr(href, ':') || xml_attr(n, "parse") || xml_attr(n, "xpointer")) {
        part_error(p, "only <include href='FILE'/> with a relative FILE below the main file's "
                      "directory is supported");
        return 1;
    }
    return read_part(p->f, p, href, level) == 0 ? 0 : 1;
}

static int on_open(void *ud, unsigned depth, const struct xml_node *n)
{
    struct part *p = ud;
    struct pie_file *f = p->f;
    if (depth + p->offset == 0) {
        if (is(n, NS_PIE, "server-data"))
            return 0;
        part_error(p,
                   "not a XEP-0227 file: the root is <%s>, not <server-data "
                   "xmlns='urn:xmpp:pie:0'>",
                   n->name);
        return 1;
    }
    f->host[0] = '\0';
    if (is(n, NS_XINCLUDE, "include"))
        return include(p, n, 1);
    if (!is(n, NS_PIE, "host")) {
        if (f->h.notice)
            f->h.notice(f->ud, "", "skipped an element that is not a <host/>");
        return 0;
    }
    const char *jid = xml_attr(n, "jid");
    if (!jid || jid_prep_domain(jid, f->host, sizeof f->host) < 0) {
        f->host[0] = '\0';
        part_error(p, "a <host/> without a valid 'jid'");
        return 1;
    }
    return 0;
}

static int on_tree(void *ud, struct stanza *st)
{
    struct part *p = ud;
    struct pie_file *f = p->f;
    if (is(st->root, NS_XINCLUDE, "include")) {
        int rc = p->offset < 2 ? include(p, st->root, 2) : 1;
        stanza_unref(st);
        return rc;
    }
    if (!f->host[0] || !is(st->root, NS_PIE, "user")) {
        if (f->host[0] && f->h.notice)
            f->h.notice(f->ud, f->host, "skipped an element that is not a <user/>");
        if (!f->host[0] && p->offset == 2)
            part_error(p, "an included <user/> file outside a <host/>");
        stanza_unref(st);
        return !f->host[0] && p->offset == 2;
    }
    if (f->h.user(f->ud, f->host, st) != 0) {
        f->canceled = true;
        return 1;
    }
    return 0;
}

static bool part_init(struct part *p, struct pie_file *f, unsigned offset, const char *href)
{
    static const struct xml_reader_handler rh = {on_open, on_tree};
    struct xml_reader_limits lim = {2 - offset, PIE_USER_MAX, PIE_MAX_DEPTH, PIE_MAX_ATTRS};
    *p = (struct part){f, NULL, offset, href};
    p->r = xml_reader_new(&lim, &rh, p);
    return p->r != NULL;
}

/* What a reader's result means for the whole file. */
static int part_result(struct part *p, int rc)
{
    if (rc == 0)
        return 0;
    if (rc == XMLE_STOPPED)
        return p->f->canceled ? -ECANCELED : -EINVAL;
    if (rc == XMLE_NOMEM)
        return -ENOMEM;
    if (rc == XMLE_TOO_BIG)
        part_error(p, "a <user/> larger than %u MiB", PIE_USER_MAX >> 20);
    else
        part_error(p, "the file is not acceptable XML: %s", xml_error_string((enum xml_error)rc));
    return -EINVAL;
}

/* Reads an included file to its end. 0 or -errno (f->error set). */
static int read_part(struct pie_file *f, struct part *parent, const char *href, unsigned offset)
{
    char path[PATH_MAX];
    struct part p;
    if (snprintf(path, sizeof path, "%s/%s", f->base_dir, href) >= (int)sizeof path) {
        part_error(parent, "the path of '%s' is too long", href);
        return -EINVAL;
    }
    FILE *in = fopen(path, "re");
    if (!in) {
        part_error(parent, "cannot open the included '%s': %s", href, strerror(errno));
        return -EINVAL;
    }
    if (!part_init(&p, f, offset, href)) {
        fclose(in);
        return -ENOMEM;
    }
    /* Not static: a host file's reader is mid-parse in its buffer while
     * a user file it includes is read. */
    char *chunk = malloc(PIE_CHUNK);
    int rc = chunk ? 0 : -ENOMEM;
    while (rc == 0) {
        size_t n = fread(chunk, 1, PIE_CHUNK, in);
        bool end = n < PIE_CHUNK;
        if (end && ferror(in)) {
            part_error(parent, "cannot read the included '%s'", href);
            rc = -EIO;
            break;
        }
        rc = part_result(&p, xml_reader_feed(p.r, chunk, n, end));
        if (end)
            break;
    }
    free(chunk);
    xml_reader_free(p.r);
    fclose(in);
    if (offset == 1)
        f->host[0] = '\0'; /* the host ends with its file */
    return rc;
}

struct pie_file *pie_file_new(const struct pie_file_handler *h, void *ud, const char *base_dir)
{
    struct pie_file *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->h = *h;
    f->ud = ud;
    if ((base_dir && !(f->base_dir = strdup(base_dir))) || !part_init(&f->main, f, 0, NULL)) {
        free(f->base_dir);
        free(f);
        return NULL;
    }
    return f;
}

void pie_file_free(struct pie_file *f)
{
    if (!f)
        return;
    xml_reader_free(f->main.r);
    free(f->base_dir);
    free(f);
}

int pie_file_feed(struct pie_file *f, const char *data, size_t len, bool final)
{
    return part_result(&f->main, xml_reader_feed(f->main.r, data, len, final));
}

const char *pie_file_error(const struct pie_file *f) { return f->error; }
