/* vcard-temp (XEP-0054) and vCard-based avatars (XEP-0153).
 *
 * A user sets their own vCard (no 'to', or their own bare JID) and anyone
 * may read it at the user's bare JID: vCards are public profiles. It is
 * stored as given (promise P13), up to vcard.max_size bytes serialized.
 * With no vCard stored, the owner gets an empty <vCard/> (§3.1) and
 * everyone else service-unavailable, the same answer as for an account
 * that does not exist (§3.3, v1.3), so the answer does not tell which.
 *
 * XEP-0153: when the vCard has a PHOTO with a BINVAL, the SHA-1 of the
 * decoded image is stored with it and, while the account is online, kept
 * in memory, so each broadcast presence the user sends without an
 * <x xmlns='vcard-temp:x:update'/> gets one with that hash. A presence
 * that has the element is left as the client wrote it: the client is
 * authoritative (§4.3, e.g. an empty one while it resets its hash).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/hmap.h"
#include "core/log.h"
#include "modules/fragment.h"
#include "modules/iq_later.h"
#include "modules/vcard.h"
#include "modules/module.h"
#include "store/requests.h"
#include "store/vcard.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"
#include "xmpp/sasl.h"

/* Its options, in its own block (core/config.h, config_block): struct
 * config knows nothing of them. */
struct vcard_config {
    uint64_t max_size; /* vcard.max_size: 128 KiB */
};
static const struct config_table vcard_cfg;

static const struct vcard_config *options_of(const struct server *srv)
{
    return config_block(srv->cfg, &vcard_cfg);
}

#define NS_VCARD "vcard-temp"
#define NS_VCARD_UPDATE "vcard-temp:x:update"
/* Reading back: the most vcard.max_size allows, plus room for escaping
 * differences; a stored vCard larger than today's limit is still served. */
#define VCARD_READ_MAX (2u * 1024 * 1024)

struct vcard_state {
    struct hmap hashes; /* bare JID of an online account -> struct photo */
};

struct photo {
    char *bare; /* key */
    char hash[VCARD_HASH_LEN + 1]; /* "" if the vCard has no photo */
};

static int vcard_init(struct server *srv, void *state)
{
    (void)srv;
    struct vcard_state *vs = state;
    hmap_init(&vs->hashes);
    return 0;
}

static void photo_free(struct photo *p)
{
    if (p) {
        free(p->bare);
        free(p);
    }
}

static void vcard_fini(struct server *srv, void *state)
{
    (void)srv;
    struct vcard_state *vs = state;
    if (!vs)
        return;
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&vs->hashes, i, &k, &v)) != 0;)
        photo_free(v);
    hmap_free(&vs->hashes);
}

/* ---- the photo hash ---- */

/* The vCard is still stored as given when its photo is not base64;
 * only no hash is advertised. */
void vcard_photo_hash(struct stanza *st, const struct xml_node *vcard,
                      char hash[VCARD_HASH_LEN + 1])
{
    hash[0] = '\0';
    const struct xml_node *photo = xml_child(vcard, "PHOTO", NS_VCARD);
    const struct xml_node *bin = photo ? xml_child(photo, "BINVAL", NS_VCARD) : NULL;
    const char *text = bin ? xml_text(st, bin) : NULL;
    if (!text)
        return;
    size_t n = strlen(text), k = 0;
    char *b64 = malloc(n + 1);
    if (!b64)
        return;
    for (size_t i = 0; i < n; i++) /* base64 in vCards is often folded */
        if (!isspace((unsigned char)text[i]))
            b64[k++] = text[i];
    uint8_t *img = NULL;
    size_t img_len = 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if (k > 0 && sasl_b64_decode(b64, k, &img, &img_len) == 0 && img_len > 0 &&
        EVP_Digest(img, img_len, md, &md_len, EVP_sha1(), NULL) == 1 && md_len == 20) {
        static const char hex[] = "0123456789abcdef";
        for (unsigned i = 0; i < md_len; i++) {
            hash[2 * i] = hex[md[i] >> 4];
            hash[2 * i + 1] = hex[md[i] & 15];
        }
        hash[2 * md_len] = '\0';
    }
    free(img);
    free(b64);
}

/* Sets the in-memory hash of an online account (adds the entry). */
static void remember_hash(struct vcard_state *vs, const char *bare, const char *hash)
{
    struct photo *p = hmap_get(&vs->hashes, bare);
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p || !(p->bare = strdup(bare)) || hmap_put(&vs->hashes, p->bare, p) < 0) {
            photo_free(p); /* no hash in presence: the client's own x:update still works */
            return;
        }
    }
    snprintf(p->hash, sizeof p->hash, "%s", hash);
}

static void vcard_session_event(struct server *srv, void *state, struct session *s,
                                enum session_event ev)
{
    struct vcard_state *vs = state;
    if (ev == SESSION_BOUND && !hmap_get(&vs->hashes, s->bare)) {
        char hash[VCARD_HASH_LEN + 1] = "";
        int rc = store_vcard_photo_hash(srv->store, s->jid.domain, s->jid.local, hash);
        if (rc < 0 && rc != -ENOENT)
            log_warn("vcard: could not read a photo hash (%d)", rc);
        remember_hash(vs, s->bare, hash);
    } else if (ev == SESSION_CLOSING) {
        if (router_is_last(srv->router, s))
            photo_free(hmap_del(&vs->hashes, s->bare));
    }
}

/* Adds <x xmlns='vcard-temp:x:update'><photo>HASH</photo></x> to the
 * user's available broadcast presence, unless the client put one in. */
static enum hook_result vcard_outbound(struct hook_ctx *c)
{
    if (c->kind != STANZA_PRESENCE || !c->no_to || !c->origin || xml_attr(c->st->root, "type"))
        return HOOK_PASS;
    struct vcard_state *vs = c->state;
    const struct photo *p = hmap_get(&vs->hashes, c->origin->bare);
    if (!p || !p->hash[0] || xml_child(c->st->root, "x", NS_VCARD_UPDATE))
        return HOOK_PASS;
    struct xml_node *x = xml_add_child(c->st, c->st->root, "x", NS_VCARD_UPDATE);
    if (!x || xml_add_text_elem(c->st, x, "photo", p->hash) < 0) {
        if (x)
            xml_remove(x);
        log_debug("vcard: no memory to add the avatar hash to presence");
    }
    return HOOK_PASS;
}

/* ---- get and set ---- */

static bool is_own(const struct iq_request *rq) { return jid_bare_equal(rq->from, rq->to); }

/* Answers with the stored vCard parsed back into the result. */
static void reply_stored(const struct iq_request *rq, const struct buf *xml)
{
    struct stanza *v = fragment_parse(xml->data, xml->len, rq->srv->cfg->max_depth);
    struct stanza *res = v ? iq_result_new(rq->st) : NULL;
    if (!res || !xml_copy_into(res, res->root, v->root)) {
        if (!v)
            log_warn("vcard: a stored vCard does not parse");
        if (res)
            stanza_unref(res);
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
    } else {
        iq_reply(rq, res);
    }
    if (v)
        stanza_unref(v);
}

static void reply_empty(const struct iq_request *rq)
{
    struct stanza *res = iq_result_new(rq->st);
    if (!res || !xml_add_child(res, res->root, "vCard", NS_VCARD)) {
        if (res)
            stanza_unref(res);
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    iq_reply(rq, res);
}

static void vcard_get(const struct iq_request *rq)
{
    struct buf xml;
    buf_init(&xml, VCARD_READ_MAX);
    char hash[VCARD_HASH_LEN + 1];
    int rc = store_vcard_get(rq->srv->store, rq->to->domain, rq->to->local, &xml, hash);
    if (rc == 0)
        reply_stored(rq, &xml);
    else if (rc == -ENOENT && is_own(rq))
        reply_empty(rq);
    else if (rc == -ENOENT)
        iq_reply_error(rq, SC_SERVICE_UNAVAILABLE, NULL);
    else
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
    buf_free(&xml);
}

/* A vCard set waiting for its commit; the hash goes to presence after it. */
struct vcard_pending {
    struct iq_later *l;
    char hash[VCARD_HASH_LEN + 1];
};

static void vcard_stored(void *ud, int rc, int64_t value)
{
    struct vcard_pending *p = ud;
    (void)value;
    if (rc < 0) {
        iq_later_error(p->l, SC_INTERNAL_SERVER_ERROR, NULL);
    } else {
        char bare[3 * (JID_PART_MAX + 1)];
        /* For presence (XEP-0153), while the account has sessions: the
         * entry goes with its last one. */
        if (jid_format(&p->l->account, true, bare, sizeof bare) < sizeof bare &&
            router_count(p->l->srv->router, bare) > 0)
            remember_hash(p->l->state, bare, p->hash);
        iq_later_result(p->l);
    }
    iq_later_free(p->l);
    free(p);
}

static void vcard_set(const struct iq_request *rq)
{
    if (!is_own(rq)) {
        iq_reply_error(rq, SC_FORBIDDEN, NULL);
        return;
    }
    struct buf xml;
    buf_init(&xml, options_of(rq->srv)->max_size);
    int rc = xml_serialize(rq->payload, "", &xml);
    if (rc == -ENOBUFS) {
        buf_free(&xml);
        iq_reply_error(rq, SC_NOT_ACCEPTABLE, "The vCard is too large");
        return;
    }
    struct vcard_pending *p = rc == 0 ? calloc(1, sizeof *p) : NULL;
    if (p && !(p->l = iq_later_new(rq))) {
        free(p);
        p = NULL;
    }
    int64_t id = -ENOMEM;
    if (p) {
        vcard_photo_hash((struct stanza *)rq->st, rq->payload, p->hash);
        /* Answered from vcard_stored, after the commit. */
        id = store_vcard_set_req(rq->srv->storeq, rq->to->domain, rq->to->local, xml.data, xml.len,
                                 p->hash, vcard_stored, p);
    }
    buf_free(&xml);
    if (id < 0) {
        if (p) {
            iq_later_free(p->l);
            free(p);
        }
        iq_reply_error(rq, id == -EAGAIN ? SC_RESOURCE_CONSTRAINT : SC_INTERNAL_SERVER_ERROR, NULL);
    }
}

/* ---- data contract ---- */

static int vcard_describe(const struct data_ctx *d, const char *domain, const char *user,
                          data_fact_fn fn, void *ud)
{
    char hash[VCARD_HASH_LEN + 1] = "";
    struct buf xml;
    buf_init(&xml, 0);
    int rc = store_vcard_get(d->store, domain, user, &xml, hash);
    struct data_fact f = {
        .kind = "vcard",
        .what = {hash[0] ? "Your profile (vCard, XEP-0054) as your client published it, with an "
                           "avatar image; anyone who asks can read it."
                         : "Your profile (vCard, XEP-0054) as your client published it; anyone "
                           "who asks can read it.",
                 hash[0] ? "Ihr Profil (vCard, XEP-0054), wie Ihr Client es veröffentlicht hat, "
                           "mit einem Avatarbild; jeder, der danach fragt, kann es lesen."
                         : "Ihr Profil (vCard, XEP-0054), wie Ihr Client es veröffentlicht hat; "
                           "jeder, der danach fragt, kann es lesen."},
        .unit = {"profile", "Profil"},
        .count = 1,
        .bytes = xml.len,
        .keep = KEEP_UNTIL_REPLACED,
    };
    buf_free(&xml);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    return fn(ud, &f);
}

/* XEP-0227 §5: the <vCard xmlns='vcard-temp'/> element as stored. */
static int vcard_export(const struct data_ctx *d, const char *domain, const char *user,
                        struct buf *out)
{
    char hash[VCARD_HASH_LEN + 1];
    int rc = store_vcard_get(d->store, domain, user, out, hash);
    return rc == -ENOENT ? 0 : rc;
}

static int vcard_erase(const struct data_ctx *d, const char *domain, const char *user)
{
    return store_vcard_delete(d->store, domain, user);
}

static const struct iq_handler vcard_iq[] = {
    {NS_VCARD, "vCard", IQ_GET, IQ_TO_ACCOUNT, NULL, vcard_get},
    {NS_VCARD, "vCard", IQ_SET, IQ_TO_ACCOUNT, NULL, vcard_set},
};

static const char *const vcard_features[] = {NS_VCARD, NULL};

/* Its configuration: merged after the core's options (core/config.h),
 * in registry order, for loading, --check, init and the reference. */
static const struct config_section vcard_cfg_sections[] = {
    {"vcard", "Profiles (vCard, XEP-0054) that users publish, stored as given (promise P13)."},
};

static const struct config_option vcard_cfg_options[] = {
    /* vcard */
    {.key = "vcard.max_size",
     .type = CFG_SIZE,
     CFG_IN_INT(struct vcard_config, max_size),
     .min = 1 * CFG_KiB,
     .max = 1 * CFG_MiB,
     .def = "128KiB",
     .help = "Largest vCard (with its avatar image) one user can store; a larger one is "
             "refused with not-acceptable and the old one kept."},
};

static const struct config_table vcard_cfg = {
    .sections = vcard_cfg_sections,
    .n_sections = sizeof vcard_cfg_sections / sizeof vcard_cfg_sections[0],
    .options = vcard_cfg_options,
    .n_options = sizeof vcard_cfg_options / sizeof vcard_cfg_options[0],
    .block_size = sizeof(struct vcard_config),
};

const struct module mod_vcard = {
    .name = "vcard",
    .id = MOD_ID_vcard,
    .state_size = sizeof(struct vcard_state),
    .config = &vcard_cfg,
    .migrations = store_vcard_migrations,
    .iq = vcard_iq,
    .n_iq = sizeof vcard_iq / sizeof vcard_iq[0],
    .features = vcard_features,
    .init = vcard_init,
    .fini = vcard_fini,
    .outbound = vcard_outbound,
    .session_event = vcard_session_event,
    .describe = vcard_describe,
    .export_xml = vcard_export,
    .erase = vcard_erase,
};
