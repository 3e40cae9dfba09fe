/* In-band registration (XEP-0077) with registration codes (XEP-0401,
 * promise P1) and consent (P2); password change and account removal for
 * logged-in users (XEP-0077 §3.2, §3.3; P18).
 *
 * Before authentication the c2s stream hands over jabber:iq:register and
 * urn:xmpp:pars:0 iqs through this module's stream handler (a
 * STREAM_PREAUTH entry in its descriptor; c2s.c knows nothing of it). A registration is a XEP-0004 form
 * with username, password, token (the registration code; may be left
 * out after a XEP-0401 <preauth/>) and consent (a required boolean whose
 * label names and links the policy). The checks run in an order that
 * tells a caller without a valid code nothing else: code, then consent,
 * then the name and password, then whether the name is taken. Attempts
 * are counted per IP address (IPv6: per /64) in a fixed one-hour window.
 *
 * The SCRAM keys of a new account (PBKDF2, slow on purpose) are derived
 * on libuv's worker pool; the account is then created on the loop. The
 * job and the stream share the struct reg_stream: if the stream goes
 * first, the job frees it (register_stream_free marks it orphaned).
 *
 * A password change derives on the worker pool too and answers through
 * the router (the session may be gone by then).
 *
 * Known limit: when REG_MAX_TRACKED addresses are being counted, new
 * addresses are refused until the window expires.
 */
#include "modules/register.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "core/hmap.h"
#include "core/log.h"
#include "modules/invite.h"
#include "modules/module.h"
#include "store/invites.h"
#include "store/requests.h"
#include "store/store.h"
#include "xmpp/jid.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"
#include "xmpp/sasl.h"

#define NS_DATA "jabber:x:data"
#define NS_OOB "jabber:x:oob"
#define NS_TAUBE_REGISTRATION "urn:taube:registration:0" /* our export element */
#define REG_WINDOW 3600 /* seconds of one rate-limit window */
#define REG_IP_MAX 64

/* The attempts of one address in its current window, on a list from the
 * least to the most recently seen address. */
struct attempts {
    char ip[REG_IP_MAX]; /* the map's key */
    int64_t since;       /* start of the window */
    unsigned n;
    struct attempts *prev, *next;
};

struct reg_state {
    struct hmap by_ip;            /* ip -> struct attempts */
    struct attempts *lru, *mru;   /* least and most recently seen */
    size_t tracked, max_tracked;  /* registration.tracked_addresses */
};

struct reg_stream {
    bool preauth;  /* a valid XEP-0401 token was given */
    int64_t preauth_at; /* when (its expiry is not checked again: XEP-0445 §4) */
    bool busy;     /* a registration job is under way */
    bool orphaned; /* the stream is gone; the job frees this */
    uint8_t hash[INVITE_HASH_LEN];
    uint8_t code[INVITE_CODE_BYTES]; /* the preauth's, for the invite page's address */
    void (*send)(void *ud, const struct stanza *st); /* answers on the stream */
    void *send_ud;
};

/* A registration or password change whose keys are being derived on a
 * worker thread. The worker touches only password, iterations, creds
 * and derive_rc. */
struct reg_job {
    uv_work_t work;
    struct server *srv;
    struct reg_stream *rs;   /* in-band: the stream asking, else NULL */
    register_web_cb web_done; /* from a web page: told instead of a stream */
    void *web_ud;
    enum consent_via via;
    bool derive_failed;      /* rc is the derivation's, not the store's */
    struct stanza *st; /* the in-band request; a reference, or NULL */
    char *password;    /* cleansed and freed with the job */
    uint32_t iterations;
    struct account_creds creds;
    int derive_rc;
    uint8_t hash[INVITE_HASH_LEN];
    int64_t valid_at; /* struct invited_account's */
    char domain[JID_PART_MAX + 1];
    char user[JID_PART_MAX + 1];
};

static void register_stream_free(struct reg_stream *rs);
extern const struct module mod_register;

/* ---- rate limit ---- */

static void lru_unlink(struct reg_state *rs, struct attempts *a)
{
    *(a->prev ? &a->prev->next : &rs->lru) = a->next;
    *(a->next ? &a->next->prev : &rs->mru) = a->prev;
    a->prev = a->next = NULL;
}

static void lru_append(struct reg_state *rs, struct attempts *a)
{
    a->prev = rs->mru;
    *(rs->mru ? &rs->mru->next : &rs->lru) = a;
    rs->mru = a;
}

/* Forgets the address seen least recently, making room for a new one.
 * Under a flood from more addresses than the table holds, the quiet ones
 * go first; an address that keeps trying stays counted. So a member
 * with a valid code is never refused because the table is full. */
static void attempts_evict(struct reg_state *rs)
{
    struct attempts *a = rs->lru;
    lru_unlink(rs, a);
    hmap_del(&rs->by_ip, a->ip);
    free(a);
    rs->tracked--;
}

/* The key an address is counted under: an IPv4 address as it is, an
 * IPv6 address by its /64, which one subscriber usually gets whole (so
 * hopping through it gains nothing). */
static int rate_key(const char *peer, char out[REG_IP_MAX])
{
    struct in6_addr a6;
    if (inet_pton(AF_INET6, peer, &a6) == 1) {
        memset(a6.s6_addr + 8, 0, 8);
        return inet_ntop(AF_INET6, &a6, out, REG_IP_MAX) ? 0 : -EINVAL;
    }
    if (strlen(peer) >= REG_IP_MAX)
        return -EINVAL;
    strcpy(out, peer);
    return 0;
}

/* Counts one attempt from peer. 0, -EAGAIN over the limit, -ENOMEM,
 * -EINVAL. */
static int attempt_count(struct reg_state *rs, const char *peer, unsigned max, int64_t now)
{
    char ip[REG_IP_MAX];
    if (rate_key(peer, ip) < 0)
        return -EINVAL;
    struct attempts *a = hmap_get(&rs->by_ip, ip);
    if (a && now - a->since >= REG_WINDOW) {
        a->since = now;
        a->n = 0;
    }
    if (!a) {
        if (rs->tracked > 0 && rs->tracked >= rs->max_tracked)
            attempts_evict(rs);
        if (!(a = calloc(1, sizeof *a)))
            return -ENOMEM;
        strcpy(a->ip, ip);
        a->since = now;
        if (hmap_put(&rs->by_ip, a->ip, a) < 0) {
            free(a);
            return -ENOMEM;
        }
        rs->tracked++;
    } else {
        lru_unlink(rs, a);
    }
    lru_append(rs, a);
    if (a->n >= max)
        return -EAGAIN;
    a->n++;
    return 0;
}

struct reg_request {
    struct server *srv;
    struct reg_state *state; /* the module's */
    struct reg_stream *rs;
    const char *domain;
    const struct stanza *st;
    struct stanza *reply;
    bool queued; /* answered later, by create_done */
};

/* ---- the form ---- */

/* The form's label for the consent field, naming and linking the policy
 * (malloc'ed; NULL on ENOMEM). */
static char *consent_label(const struct config *cfg, const char *domain)
{
    struct buf page;
    buf_init(&page, 0);
    const char *url = cfg->contact_policy.n > 0 ? cfg->contact_policy.items[0] : NULL;
    if (!url && invite_web_url(cfg, domain, "/policy", &page) == 0)
        url = page.data;
    char *out = NULL;
    int n = url ? asprintf(&out,
                           "I have read and agree to the terms and privacy policy "
                           "at %s (version %s)",
                           url, cfg->registration_policy_version)
                : asprintf(&out,
                           "I agree to this service's terms and privacy policy "
                           "(version %s; ask the administrators for them)",
                           cfg->registration_policy_version);
    buf_free(&page);
    return n < 0 ? NULL : out;
}

static struct xml_node *add_field(struct stanza *st, struct xml_node *x, const char *var,
                                  const char *type, const char *label, bool required)
{
    struct xml_node *f = xml_add_child(st, x, "field", NULL);
    if (!f || xml_set_attr(st, f, "var", var) < 0 || xml_set_attr(st, f, "type", type) < 0 ||
        (label && xml_set_attr(st, f, "label", label) < 0) ||
        (required && !xml_add_child(st, f, "required", NULL)))
        return NULL;
    return f;
}

/* <x xmlns='jabber:x:oob'><url>the invite's page</url></x> under parent
 * (XEP-0066), where a client without a form sends the member to agree. */
static int add_oob(struct stanza *st, struct xml_node *parent, const char *url)
{
    struct xml_node *x = xml_add_child(st, parent, "x", NS_OOB);
    return x && xml_add_text_elem(st, x, "url", url) == 0 ? 0 : -ENOMEM;
}

/* The invite page of the stream's preauth code (a buf the caller frees;
 * empty without a page). */
static void page_url(const struct reg_request *r, struct buf *url)
{
    char text[INVITE_CODE_TEXT], path[sizeof "/invite/" + INVITE_CODE_TEXT];
    invite_code_text(r->rs->code, text);
    snprintf(path, sizeof path, "/invite/%s", text);
    OPENSSL_cleanse(text, sizeof text);
    if (invite_web_url(r->srv->cfg, r->domain, path, url) < 0)
        buf_reset(url);
}

/* <query><instructions/><x type='form'>…</x></query> under res. With a
 * preauth code that carries consent given on its page (consented), the
 * query also offers the legacy <username/> and <password/>, and the form
 * has only those and hidden fields: Conversations then registers with
 * the legacy fields, Monal with the form, and neither needs a consent
 * field. Without, the form asks for code and consent, and the page's
 * address is given as XEP-0066 data for clients that show no form. */
static int build_form(struct stanza *res, const struct reg_request *r, bool consented)
{
    const struct config *cfg = r->srv->cfg;
    bool preauth = r->rs->preauth;
    struct xml_node *q = xml_add_child(res, res->root, "query", NS_REGISTER);
    struct xml_node *x = q ? xml_add_child(res, q, "x", NS_DATA) : NULL;
    if (!x ||
        xml_add_text_elem(res, q, "instructions",
                          consented ? "Choose a user name and a password."
                                    : "Choose a user name and a password, enter your "
                                      "registration code, and agree to the policy.") < 0 ||
        (consented &&
         (!xml_add_child(res, q, "username", NULL) || !xml_add_child(res, q, "password", NULL))) ||
        xml_set_attr(res, x, "type", "form") < 0 ||
        xml_add_text_elem(res, x, "title", "Create an account") < 0)
        return -ENOMEM;
    struct xml_node *ft = add_field(res, x, "FORM_TYPE", "hidden", NULL, false);
    if (!ft || xml_add_text_elem(res, ft, "value", NS_REGISTER) < 0 ||
        !add_field(res, x, "username", "text-single", "User name", true) ||
        !add_field(res, x, "password", "text-private", "Password", true))
        return -ENOMEM;
    if (consented)
        return 0;
    if (preauth) {
        struct buf url;
        buf_init(&url, 0);
        page_url(r, &url);
        int rc = url.len ? add_oob(res, q, url.data) : 0;
        buf_free(&url);
        if (rc < 0)
            return rc;
    }
    if (!add_field(res, x, "token", "text-single", "Registration code", !preauth))
        return -ENOMEM;
    char *label = consent_label(cfg, r->domain);
    struct xml_node *c = label ? add_field(res, x, "consent", "boolean", label, true) : NULL;
    free(label);
    if (!c || xml_add_text_elem(res, c, "desc",
                                "Required: an account is created only with "
                                "your consent to the policy.") < 0)
        return -ENOMEM;
    return 0;
}

/* The first value of field var in a submitted form, or NULL. */
static const char *form_value(struct stanza *st, const struct xml_node *x, const char *var)
{
    for (const struct xml_node *f = xml_first_elem(x); f; f = xml_next_elem(f)) {
        const char *v = xml_attr(f, "var");
        if (strcmp(f->name, "field") != 0 || !v || strcmp(v, var) != 0)
            continue;
        const struct xml_node *val = xml_child(f, "value", NS_DATA);
        return val ? xml_text(st, val) : "";
    }
    return NULL;
}

/* ---- registering ---- */

static void reply_error(struct reg_request *r, enum stanza_cond c, const char *text)
{
    r->reply = stanza_error_reply(r->st, c, text);
}

/* The code's hash from the form or the stream's preauth, and the time
 * it must have been unexpired at (now, or the preauth's). 0 or -ENOENT. */
static int code_hash(struct reg_request *r, const char *token, uint8_t out[INVITE_HASH_LEN],
                     int64_t *valid_at)
{
    uint8_t code[INVITE_CODE_BYTES];
    *valid_at = server_now(r->srv);
    if (token && token[0]) {
        if (invite_code_parse(token, strlen(token), code) < 0 ||
            invite_code_hash(store_server_secret(r->srv->store), INVITE_KEY_LEN, code, out) < 0)
            return -ENOENT;
        return 0;
    }
    if (!r->rs->preauth)
        return -ENOENT;
    memcpy(out, r->rs->hash, INVITE_HASH_LEN);
    *valid_at = r->rs->preauth_at;
    return 0;
}

static bool consent_given(const char *v)
{
    return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

#define WHY_PW_CHARS "the password contains characters that are not allowed"

/* Why a new password is refused by its length, or NULL. */
static const char *password_length_problem(const struct config *cfg, const char *pw)
{
    size_t len = strlen(pw);
    if (len < cfg->registration_min_password)
        return "the password is too short";
    if (len > cfg->registration_max_password)
        return "the password is too long";
    return NULL;
}

/* SASLprep and both SCRAM derivations; any thread. 0, -EINVAL (SASLprep
 * refuses the password: WHY_PW_CHARS), -ENOMEM or -EIO. */
static int password_derive(const char *pw, uint32_t iterations, struct account_creds *c)
{
    char *prepped = NULL;
    int rc = sasl_saslprep(pw, strlen(pw), &prepped);
    if (rc < 0 || !prepped[0]) {
        free(prepped);
        return rc == -ENOMEM ? -ENOMEM : -EINVAL;
    }
    memset(c, 0, sizeof *c);
    for (int h = 0; h < SCRAM_NHASH && rc == 0; h++) {
        rc = scram_derive((enum scram_hash)h, prepped, iterations, &c->scram[h]);
        c->have[h] = rc == 0;
    }
    OPENSSL_cleanse(prepped, strlen(prepped));
    free(prepped);
    return rc;
}

static void job_free(struct reg_job *j)
{
    if (j->password) {
        OPENSSL_cleanse(j->password, strlen(j->password));
        free(j->password);
    }
    if (j->st)
        stanza_unref(j->st);
    OPENSSL_cleanse(j, sizeof *j);
    free(j);
}

/* A job for the request st (referenced) with the password pw (copied),
 * for domain/user. NULL on ENOMEM. */
static struct reg_job *job_new(struct server *srv, const struct stanza *st, const char *pw,
                               const char *domain, const char *user)
{
    struct reg_job *j = calloc(1, sizeof *j);
    if (!j || !(j->password = strdup(pw))) {
        free(j);
        return NULL;
    }
    j->srv = srv;
    j->st = st ? stanza_ref((struct stanza *)st) : NULL;
    j->iterations = srv->cfg->scram_iterations;
    snprintf(j->domain, sizeof j->domain, "%s", domain);
    snprintf(j->user, sizeof j->user, "%s", user);
    j->work.data = j;
    return j;
}

/* Worker thread: only the derivation. */
static void job_derive(uv_work_t *w)
{
    struct reg_job *j = w->data;
    j->derive_rc = password_derive(j->password, j->iterations, &j->creds);
}

/* The answer to a failed derivation (status: the work's), or NULL if it
 * succeeded. */
static struct stanza *derive_failure(const struct reg_job *j, int status)
{
    if (status < 0 || j->derive_rc == -ENOMEM || j->derive_rc == -EIO)
        return stanza_error_reply(j->st, SC_INTERNAL_SERVER_ERROR, NULL);
    if (j->derive_rc < 0)
        return stanza_error_reply(j->st, SC_NOT_ACCEPTABLE, WHY_PW_CHARS);
    return NULL;
}

/* The answer to a creation, from the store's outcome. */
static struct stanza *create_reply(struct reg_job *j, int rc)
{
    if (rc == 0) {
        log_info("register: an account was created with a registration code");
        j->rs->preauth = false;
        return iq_result_new(j->st);
    }
    if (rc == -EEXIST)
        return stanza_error_reply(j->st, SC_CONFLICT, "this user name is taken");
    if (rc == -ENOENT || rc == -ETIME || rc == -ECANCELED || rc == -EUSERS)
        return stanza_error_reply(j->st, SC_NOT_ALLOWED, "a valid registration code is required");
    if (rc == -EACCES) /* the page's consent was used up meanwhile */
        return stanza_error_reply(j->st, SC_NOT_ACCEPTABLE, "consent to the policy is required");
    if (rc == -EAGAIN)
        return stanza_error_reply(j->st, SC_RESOURCE_CONSTRAINT, NULL);
    return stanza_error_reply(j->st, SC_INTERNAL_SERVER_ERROR, NULL);
}

/* The end of a job: the stream is told, if it is still there. */
static void create_answer(struct reg_job *j, struct stanza *reply)
{
    struct reg_stream *rs = j->rs;
    rs->busy = false;
    if (rs->orphaned) {
        /* Nobody to tell: the account is still created if all was
         * right, as it would be had the client left after sending. */
        register_stream_free(rs);
    } else if (reply) {
        rs->send(rs->send_ud, reply);
    }
    stanza_unref(reply);
    job_free(j);
}

/* The end of a job from a web page: its caller is told. */
static void web_answer(struct reg_job *j, int rc)
{
    if (rc == 0)
        log_info("register: an account was created on the invite page");
    if (j->derive_failed && rc != -ENOMEM && rc != -EIO)
        rc = -EILSEQ; /* the password's characters */
    j->web_done(j->web_ud, rc);
    job_free(j);
}

/* The creation's commit (or failure). */
static void create_stored(void *ud, int rc, int64_t value)
{
    struct reg_job *j = ud;
    (void)value;
    if (j->web_done)
        web_answer(j, rc);
    else
        create_answer(j, create_reply(j, rc));
}

/* Loop thread, after the derivation: the account, the code's use and the
 * consent go to the store in one request; the answer comes from
 * create_stored, after the commit. rs stays busy until then. */
static void create_done(uv_work_t *w, int status)
{
    struct reg_job *j = w->data;
    if (status < 0 || j->derive_rc < 0) {
        j->derive_failed = true;
        if (j->web_done)
            web_answer(j, status < 0 ? -EIO : j->derive_rc);
        else
            create_answer(j, derive_failure(j, status));
        return;
    }
    struct invited_account a = {.domain = j->domain,
                                .user = j->user,
                                .creds = &j->creds,
                                .hash = j->hash,
                                .now = server_now(j->srv),
                                .policy_version = j->srv->cfg->registration_policy_version,
                                .valid_at = j->valid_at,
                                .via = j->via};
    int64_t id = store_account_create_invited_req(j->srv->storeq, &a, create_stored, j);
    if (id < 0)
        create_stored(j, (int)id, 0);
}

/* The account's code (checked for expiry at valid_at) and how consent
 * was given; then the derivation goes to a worker and the answer comes
 * from create_done. 0, or -EIO (the job is freed). */
static int job_queue(struct reg_job *j, const uint8_t hash[INVITE_HASH_LEN], int64_t valid_at,
                     enum consent_via via)
{
    memcpy(j->hash, hash, INVITE_HASH_LEN);
    j->valid_at = valid_at;
    j->via = via;
    if (uv_queue_work(j->srv->loop, &j->work, job_derive, create_done) < 0) {
        job_free(j);
        return -EIO;
    }
    return 0;
}

/* Prepares a user name a registration asks for into prepped; false if it
 * is missing or not valid. */
static bool name_prep(const char *user, char prepped[JID_PART_MAX + 1])
{
    return user && user[0] && strlen(user) <= JID_PART_MAX &&
           jid_prep_local(user, prepped, JID_PART_MAX + 1) >= 0;
}

/* Hands the derivation to a worker; the answer comes from create_done. */
static void create_account(struct reg_request *r, const char *user, const char *pw,
                           const uint8_t hash[INVITE_HASH_LEN], int64_t valid_at,
                           enum consent_via via)
{
    const char *why = password_length_problem(r->srv->cfg, pw);
    if (why) {
        reply_error(r, SC_NOT_ACCEPTABLE, why);
        return;
    }
    struct reg_job *j = job_new(r->srv, r->st, pw, r->domain, user);
    if (!j) {
        reply_error(r, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    j->rs = r->rs;
    if (job_queue(j, hash, valid_at, via) < 0) {
        reply_error(r, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    r->rs->busy = true;
    r->queued = true;
}

/* Whether the code carries consent given on its invite page to the
 * current policy version (read on the loop's connection). */
static bool page_consented(const struct reg_request *r, const uint8_t hash[INVITE_HASH_LEN])
{
    int64_t at;
    return store_invite_consent_get_sync(r->srv->store, hash,
                                         r->srv->cfg->registration_policy_version, &at) == 0;
}

/* A registration without consent: not-acceptable, and where to give it
 * (the invite's page, as XEP-0066 data and in the instructions; the
 * policy's address). */
static void consent_refusal(struct reg_request *r)
{
    struct buf url, text;
    buf_init(&url, 0);
    buf_init(&text, 0);
    if (r->rs->preauth)
        page_url(r, &url);
    int rc = url.len ? buf_printf(&text,
                                  "Consent to the policy is required: open %s, read the "
                                  "policy, agree, and register again.",
                                  url.data)
                     : buf_append_str(&text, "consent to the policy is required");
    r->reply = rc < 0 ? NULL : stanza_error_reply(r->st, SC_NOT_ACCEPTABLE, text.data);
    struct xml_node *q =
        r->reply ? xml_add_child(r->reply, r->reply->root, "query", NS_REGISTER) : NULL;
    char *label = q ? consent_label(r->srv->cfg, r->domain) : NULL;
    if (q && (!label || xml_add_text_elem(r->reply, q, "instructions", label) < 0 ||
              (url.len && add_oob(r->reply, q, url.data) < 0))) {
        stanza_unref(r->reply);
        r->reply = NULL;
    }
    free(label);
    if (!r->reply)
        reply_error(r, SC_NOT_ACCEPTABLE, "consent to the policy is required");
    buf_free(&url);
    buf_free(&text);
}

static void checked_create(struct reg_request *r, const char *user, const char *pw,
                           const uint8_t hash[INVITE_HASH_LEN], int64_t valid_at,
                           enum consent_via via);

/* A legacy registration (<username/> and <password/>, XEP-0077 §3.1, as
 * Conversations sends it): only after a XEP-0401 preauth whose code
 * carries consent given on its page. */
static void register_legacy(struct reg_request *r, struct stanza *st, const struct xml_node *q)
{
    uint8_t hash[INVITE_HASH_LEN];
    int64_t valid_at;
    if (code_hash(r, NULL, hash, &valid_at) < 0 ||
        store_invite_check_sync(r->srv->store, r->domain, hash, valid_at) < 0) {
        reply_error(r, SC_NOT_ALLOWED, "a valid registration code is required");
        return;
    }
    if (!page_consented(r, hash)) {
        consent_refusal(r);
        return;
    }
    const struct xml_node *u = xml_child(q, "username", NS_REGISTER),
                          *p = xml_child(q, "password", NS_REGISTER);
    checked_create(r, xml_text(st, u), xml_text(st, p), hash, valid_at, CONSENT_PAGE);
}

/* A submitted registration form, checked in the order described at the
 * top of this file. */
static void register_form(struct reg_request *r, struct stanza *st, const struct xml_node *x)
{
    uint8_t hash[INVITE_HASH_LEN];
    int64_t valid_at;
    const char *token = form_value(st, x, "token");
    if (code_hash(r, token, hash, &valid_at) < 0 ||
        store_invite_check_sync(r->srv->store, r->domain, hash, valid_at) < 0) {
        reply_error(r, SC_NOT_ALLOWED, "a valid registration code is required");
        return;
    }
    enum consent_via via = CONSENT_FORM;
    if (!consent_given(form_value(st, x, "consent"))) {
        if (!page_consented(r, hash)) {
            consent_refusal(r);
            return;
        }
        via = CONSENT_PAGE;
    }
    const char *user = form_value(st, x, "username"), *pw = form_value(st, x, "password");
    checked_create(r, user, pw, hash, valid_at, via);
}

/* The name and password checks every way of registering shares; then
 * the account is created. */
static void checked_create(struct reg_request *r, const char *user, const char *pw,
                           const uint8_t hash[INVITE_HASH_LEN], int64_t valid_at,
                           enum consent_via via)
{
    char prepped[JID_PART_MAX + 1];
    if (!name_prep(user, prepped)) {
        reply_error(r, SC_NOT_ACCEPTABLE, "the user name is missing or not valid");
        return;
    }
    if (!pw || !pw[0]) {
        reply_error(r, SC_NOT_ACCEPTABLE, "a password is required");
        return;
    }
    create_account(r, prepped, pw, hash, valid_at, via);
}

/* iq set with a query before authentication. */
static void register_set(struct reg_request *r, const struct xml_node *q)
{
    struct stanza *st = (struct stanza *)r->st; /* xml_text allocates in its arena */
    const struct xml_node *x = xml_child(q, "x", NS_DATA);
    const char *type = x ? xml_attr(x, "type") : NULL;
    if (xml_child(q, "remove", NS_REGISTER)) {
        reply_error(r, SC_NOT_ALLOWED, "log in to remove an account");
    } else if (!x && xml_child(q, "username", NS_REGISTER) &&
               xml_child(q, "password", NS_REGISTER)) {
        register_legacy(r, st, q);
    } else if (!x) {
        reply_error(r, SC_NOT_ACCEPTABLE,
                    "registration needs the form: a registration code and consent to the "
                    "policy are required");
    } else if (!type || strcmp(type, "submit") != 0) {
        reply_error(r, SC_BAD_REQUEST, "submit the form");
    } else {
        register_form(r, st, x);
    }
}

/* XEP-0401 §5: a token before registering marks the stream as
 * pre-authorised. */
static void preauth(struct reg_request *r, const struct xml_node *p)
{
    const char *token = xml_attr(p, "token");
    uint8_t code[INVITE_CODE_BYTES], hash[INVITE_HASH_LEN];
    if (!token || invite_code_parse(token, strlen(token), code) < 0 ||
        invite_code_hash(store_server_secret(r->srv->store), INVITE_KEY_LEN, code, hash) < 0 ||
        store_invite_check_sync(r->srv->store, r->domain, hash, server_now(r->srv)) < 0) {
        reply_error(r, SC_ITEM_NOT_FOUND, "this registration code is not valid");
        return;
    }
    r->rs->preauth = true;
    r->rs->preauth_at = server_now(r->srv);
    memcpy(r->rs->hash, hash, INVITE_HASH_LEN);
    memcpy(r->rs->code, code, INVITE_CODE_BYTES);
    r->reply = iq_result_new(r->st);
}

/* ---- from the invite's web page (register.h) ---- */

int register_rate(struct server *srv, const char *peer)
{
    struct reg_state *rst = module_state(srv, &mod_register);
    return rst ? attempt_count(rst, peer, srv->cfg->registration_max_attempts, server_now(srv))
               : -EIO;
}

int register_web(struct server *srv, const char *peer, const char *domain,
                 const uint8_t hash[INVITE_HASH_LEN], const char *user, const char *pw,
                 register_web_cb done, void *ud)
{
    int rc = register_rate(srv, peer);
    if (rc < 0)
        return rc;
    if (!srv->cfg->registration_enabled)
        return -EPERM;
    if ((rc = store_invite_check_sync(srv->store, domain, hash, server_now(srv))) < 0)
        return rc;
    char prepped[JID_PART_MAX + 1];
    if (!name_prep(user, prepped))
        return -EINVAL;
    if (password_length_problem(srv->cfg, pw))
        return -ERANGE;
    struct reg_job *j = job_new(srv, NULL, pw, domain, prepped);
    if (!j)
        return -ENOMEM;
    j->web_done = done;
    j->web_ud = ud;
    return job_queue(j, hash, server_now(srv), CONSENT_WEB_FORM);
}

/* Counts a set (registration or preauth) against the address. false if
 * refused (the reply is set). */
static bool rate_ok(struct reg_request *r, const char *peer)
{
    struct reg_state *rst = r->state;
    int rc =
        rst ? attempt_count(rst, peer, r->srv->cfg->registration_max_attempts, server_now(r->srv))
            : -EIO;
    if (rc == 0)
        return true;
    if (rc == -EAGAIN) {
        log_debug("register: too many attempts from %s", peer);
        reply_error(r, SC_POLICY_VIOLATION,
                    "too many registration attempts from this address; try again later");
    } else {
        reply_error(r, SC_RESOURCE_CONSTRAINT, "registration is busy; try again later");
    }
    return false;
}

/* A jabber:iq:register query or a XEP-0401 preauth. */
static bool register_wants(const struct xml_node *root)
{
    if (stanza_kind(root) != STANZA_IQ)
        return false;
    const struct xml_node *p = xml_first_elem(root);
    return p && ((strcmp(p->name, "query") == 0 && strcmp(p->ns, NS_REGISTER) == 0) ||
                 (strcmp(p->name, "preauth") == 0 && strcmp(p->ns, NS_PARS) == 0));
}

/* Dispatches by payload and type; r->reply is set on return (or NULL).
 * A preauth is taken as get or set: XEP-0401 says set, and some
 * Conversations versions send get. */
static void preauth_dispatch(struct reg_request *r, const char *peer)
{
    const struct xml_node *p = xml_first_elem(r->st->root);
    const char *type = xml_attr(r->st->root, "type");
    bool get = type && strcmp(type, "get") == 0, set = type && strcmp(type, "set") == 0;
    bool query = strcmp(p->ns, NS_REGISTER) == 0;
    if (!get && !set) {
        if (!type || strcmp(type, "result") != 0)
            reply_error(r, SC_BAD_REQUEST, NULL);
        return; /* results and errors are not answered */
    }
    if (!r->srv->cfg->registration_enabled) {
        reply_error(r, SC_SERVICE_UNAVAILABLE, NULL);
    } else if (get && query) {
        r->reply = iq_result_new(r->st);
        bool consented = r->rs->preauth && page_consented(r, r->rs->hash);
        if (r->reply && build_form(r->reply, r, consented) < 0) {
            stanza_unref(r->reply);
            reply_error(r, SC_INTERNAL_SERVER_ERROR, NULL);
        }
    } else if (r->rs->busy) {
        reply_error(r, SC_RESOURCE_CONSTRAINT, "a registration is under way on this stream");
    } else if (rate_ok(r, peer)) {
        if (query)
            register_set(r, p);
        else
            preauth(r, p);
    }
}

/* Answers such an iq now or (account creation, whose SCRAM keys are
 * derived on a worker thread) later, through c->send in either case; a
 * result or error iq gets no answer. The stream's slot holds its struct
 * reg_stream, made on first use. 0, or -ENOMEM if no answer could be
 * made (the stream is closed). */
static int register_preauth_iq(const struct stream_ctx *c, const struct stanza *st)
{
    struct reg_stream *rs = *c->slot;
    if (!rs) {
        if (!(rs = calloc(1, sizeof *rs)))
            return -ENOMEM;
        rs->send = c->send;
        rs->send_ud = c->send_ud;
        *c->slot = rs;
    }
    struct reg_request r = {
        .srv = c->srv, .state = c->state, .rs = rs, .domain = c->domain, .st = st};
    preauth_dispatch(&r, c->peer);
    if (r.reply) {
        c->send(c->send_ud, r.reply);
        stanza_unref(r.reply);
        return 0;
    }
    const char *type = xml_attr(st->root, "type");
    bool unanswered = type && (strcmp(type, "result") == 0 || strcmp(type, "error") == 0);
    return r.queued || unanswered ? 0 : -ENOMEM;
}

/* The stream is going away. A registration still under way completes
 * (the account is created if all was right) without an answer. */
static void register_stream_free(struct reg_stream *rs)
{
    if (rs && rs->busy) {
        rs->orphaned = true; /* create_done frees it */
        return;
    }
    if (rs)
        OPENSSL_cleanse(rs, sizeof *rs);
    free(rs);
}

static void register_stream_closed(struct server *srv, void *state, void *slot)
{
    (void)srv;
    (void)state;
    register_stream_free(slot);
}

/* The <register/> stream features, if registration is enabled: in-band
 * registration, and that it takes a registration code as a preauth
 * token. */
static int register_stream_feature(struct server *srv, void *state, struct buf *out)
{
    (void)state;
    if (!srv->cfg->registration_enabled)
        return 0;
    return buf_append_str(out, "<register xmlns='" NS_IBR_TOKEN "'/>"
                               "<register xmlns='" NS_INVITE_FEATURE "'/>"
                               "<register xmlns='" NS_REGISTER_FEATURE "'/>");
}

/* ---- after login: password change, removal ---- */

/* The request is about the sender's own account. */
static bool own_account(const struct iq_request *rq)
{
    return !rq->to->local || jid_bare_equal(rq->to, rq->from);
}

static void registered_info(const struct iq_request *rq)
{
    struct stanza *res = iq_result_new(rq->st);
    struct xml_node *q = res ? xml_add_child(res, res->root, "query", NS_REGISTER) : NULL;
    if (!q || !xml_add_child(res, q, "registered", NULL) ||
        xml_add_text_elem(res, q, "username", rq->from->local) < 0) {
        stanza_unref(res);
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    iq_reply(rq, res);
}

static void removed(void *ud, int rc)
{
    (void)ud;
    if (rc < 0)
        log_error("register: removing an account failed: %s", strerror(-rc));
    else
        log_info("register: an account removed itself");
}

/* §3.2: the result, then every stream of the account ends with
 * <not-authorized/> and everything kept for it is erased (P18), by the
 * same path as `taubectl user delete` on a running server. */
static void remove_account(const struct iq_request *rq, const struct xml_node *q)
{
    if (xml_count_elems(q) != 1) {
        iq_reply_error(rq, SC_BAD_REQUEST, "remove must be the only element");
        return;
    }
    struct stanza *res = iq_result_new(rq->st);
    if (!res) {
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    iq_reply(rq, res);
    /* Copies: rq->from belongs to the session, which the kick unbinds. */
    char domain[JID_PART_MAX + 1], user[JID_PART_MAX + 1];
    snprintf(domain, sizeof domain, "%s", rq->from->domain);
    snprintf(user, sizeof user, "%s", rq->from->local);
    struct data_ctx d = modules_data_ctx(rq->srv);
    int rc = account_delete_live(&d, domain, user, removed, NULL);
    if (rc < 0)
        removed(NULL, rc);
}

static void change_stored(void *ud, int rc, int64_t value)
{
    struct reg_job *j = ud;
    (void)value;
    router_send(j->srv, rc == 0 ? iq_result_new(j->st)
                                : stanza_error_reply(j->st,
                                                     rc == -EAGAIN ? SC_RESOURCE_CONSTRAINT
                                                                   : SC_INTERNAL_SERVER_ERROR,
                                                     NULL));
    job_free(j);
}

/* After the derivation: the new keys go to the store; the answer comes
 * from change_stored, after the commit. */
static void change_done(uv_work_t *w, int status)
{
    struct reg_job *j = w->data;
    struct stanza *reply = derive_failure(j, status);
    if (!reply) {
        int64_t id = store_account_set_creds_req(j->srv->storeq, j->domain, j->user, &j->creds,
                                                 change_stored, j);
        if (id >= 0)
            return;
        reply = stanza_error_reply(j->st, SC_INTERNAL_SERVER_ERROR, NULL);
    }
    router_send(j->srv, reply);
    job_free(j);
}

/* §3.3: <username/> (the sender's) and the new <password/>. The keys are
 * derived on a worker; the answer goes through the router. */
static void change_password(const struct iq_request *rq, const struct xml_node *q)
{
    struct stanza *st = (struct stanza *)rq->st;
    const struct xml_node *u = xml_child(q, "username", NS_REGISTER);
    const struct xml_node *p = xml_child(q, "password", NS_REGISTER);
    const char *user = u ? xml_text(st, u) : NULL, *pw = p ? xml_text(st, p) : NULL;
    char prepped[JID_PART_MAX + 1];
    const char *why = NULL;
    if (!user || !pw || strlen(user) > JID_PART_MAX) {
        iq_reply_error(rq, SC_BAD_REQUEST, "username and password are required");
    } else if (jid_prep_local(user, prepped, sizeof prepped) < 0 ||
               strcmp(prepped, rq->from->local) != 0) {
        iq_reply_error(rq, SC_NOT_ALLOWED, "you can change only your own password");
    } else if (!pw[0]) { /* §3.3: an empty password keeps the old one */
        iq_reply_error(rq, SC_NOT_ACCEPTABLE, "a password is required");
    } else if ((why = password_length_problem(rq->srv->cfg, pw))) {
        iq_reply_error(rq, SC_NOT_ACCEPTABLE, why);
    } else {
        struct reg_job *j = job_new(rq->srv, rq->st, pw, rq->from->domain, rq->from->local);
        if (!j || uv_queue_work(rq->srv->loop, &j->work, job_derive, change_done) < 0) {
            if (j)
                job_free(j);
            iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
        }
    }
}

static void register_iq(const struct iq_request *rq)
{
    if (!own_account(rq) || !rq->from->local) {
        iq_reply_error(rq, SC_SERVICE_UNAVAILABLE, NULL);
        return;
    }
    const struct xml_node *q = rq->payload;
    if (rq->type == IQ_GET)
        registered_info(rq);
    else if (xml_child(q, "remove", NS_REGISTER))
        remove_account(rq, q);
    else if (xml_child(q, "x", "jabber:x:data"))
        iq_reply_error(rq, SC_FEATURE_NOT_IMPLEMENTED, "use <username/> and <password/>");
    else
        change_password(rq, q);
}

/* ---- data contract ---- */

/* Promise P20: the registration record. The code's recipient is the
 * operator's note about the person, so it is part of what is kept. */
static int reg_describe(const struct data_ctx *d, const char *domain, const char *user,
                        data_fact_fn fn, void *ud)
{
    struct account_invite inv;
    int rc = store_account_invite_info_sync(d->store, domain, user, &inv);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    static const char *const via[] = {"in-band form", "invite page", "web form"};
    char detail[sizeof inv.given_to + sizeof inv.policy_version + 64];
    snprintf(detail, sizeof detail, "\"%s\", policy %s, %s", inv.given_to, inv.policy_version,
             (unsigned)inv.via < 3 ? via[inv.via] : "unknown");
    struct data_fact f = {
        .kind = "registration",
        .what = {"The registration code you used and to whom the operator gave it, the time "
                 "you agreed to the privacy policy and the policy's version.",
                 "Der Registrierungscode, den Sie benutzt haben, und an wen der Betreiber ihn "
                 "gegeben hat, der Zeitpunkt Ihrer Zustimmung zur Datenschutzerklärung und "
                 "deren Version."},
        .unit = {"record", "Eintrag"},
        .detail = detail,
        .count = 1,
        .oldest = inv.consent_time,
        .keep = KEEP_WHILE_ACCOUNT,
    };
    return fn(ud, &f);
}

/* No XEP-0227 element exists for it: Taube's own, with the XEP-0082 time
 * of consent. An account made by an operator has none. */
static int reg_export(const struct data_ctx *d, const char *domain, const char *user,
                      struct buf *out)
{
    struct account_invite inv;
    int rc = store_account_invite_info_sync(d->store, domain, user, &inv);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    char stamp[32];
    time_t t = (time_t)inv.consent_time;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return -EINVAL;
    static const char *const via[] = {"form", "page", "web-form"};
    rc = buf_printf(out,
                    "<registration xmlns='" NS_TAUBE_REGISTRATION
                    "' consent='%s' consent-via='%s' policy-version='",
                    stamp, (unsigned)inv.via < 3 ? via[inv.via] : "form");
    if (rc == 0)
        rc = xml_escape(out, inv.policy_version, strlen(inv.policy_version), true);
    if (rc == 0)
        rc = buf_append_str(out, "' code-given-to='");
    if (rc == 0)
        rc = xml_escape(out, inv.given_to, strlen(inv.given_to), true);
    return rc ? rc : buf_append_str(out, "'/>");
}

/* ---- the module ---- */

static int reg_init(struct server *srv, void *state)
{
    struct reg_state *rs = state;
    hmap_init(&rs->by_ip);
    rs->max_tracked = srv->cfg->registration_tracked_addresses;
    return 0;
}

static void reg_fini(struct server *srv, void *state)
{
    (void)srv;
    struct reg_state *rs = state;
    if (!rs)
        return;
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&rs->by_ip, i, &k, &v)) != 0;)
        free(v);
    hmap_free(&rs->by_ip);
}

static const struct iq_handler register_handlers[] = {
    {NS_REGISTER, "query", IQ_GET | IQ_SET, IQ_TO_SERVER, NS_REGISTER, register_iq},
    /* Password change and cancellation at the account: a service of the
     * host, so not advertised in the account's own disco#info. */
    {NS_REGISTER, "query", IQ_GET | IQ_SET, IQ_TO_ACCOUNT, NULL, register_iq},
};

/* Before authentication, on TLS: XEP-0077 §3.1 and XEP-0401 iqs. */
static const struct stream_handler register_stream[] = {
    {STREAM_PREAUTH, NS_CLIENT, "iq", register_wants, register_preauth_iq},
};

/* P18: the codes this user issued as an admin (see invites.h). */
static int reg_erase(const struct data_ctx *d, const char *domain, const char *user)
{
    char issuer[2 * JID_PART_MAX + 2];
    snprintf(issuer, sizeof issuer, "%s@%s", user, domain);
    return store_invites_forget_issuer_sync(d->store, issuer);
}

/* Its configuration: merged after the core's options (core/config.h),
 * in registry order, for loading, --check, init and the reference. */
static const struct config_section register_cfg_sections[] = {
    {"invites", "Registration codes (promise P1): `taubectl invite create` makes them; each "
                "account records the code that created it."},
    {"registration", "In-band registration (XEP-0077, with XEP-0401 codes): only over TLS, "
                     "only with a valid code, and only with consent to the policy (promise P2)."},
};

static const struct config_option register_cfg_options[] = {
    /* invites */
    {.key = "invites.expires",
     .type = CFG_DURATION,
     CFG_AS_INT(invites_expires),
     .min = 1 * CFG_HOUR,
     .max = 365 * CFG_DAY,
     .def = "7d",
     .help = "How long a new registration code stays valid unless `invite create "
             "--expires` says otherwise."},

    /* registration */
    {.key = "registration.enabled",
     .type = CFG_BOOL,
     CFG_AS_BOOL(registration_enabled),
     .def = "true",
     .help = "Offer in-band registration (with a registration code) to clients over TLS."},
    {.key = "registration.policy_version",
     .type = CFG_STRING,
     CFG_AS_STR(registration_policy_version),
     .max = 64,
     .def = "1",
     .help = "Version of the policy (contact.policy, which the consent field of the "
             "registration form names and links); stored with each account's consent. "
             "Change it when the policy changes."},
    {.key = "registration.min_password_length",
     .type = CFG_INT,
     CFG_AS_INT(registration_min_password),
     .min = 1,
     .max = 128,
     .def = "8",
     .help = "Shortest password (bytes) accepted at registration or password change; "
             "shorter is refused with not-acceptable."},
    {.key = "registration.max_password_length",
     .type = CFG_INT,
     CFG_AS_INT(registration_max_password),
     .min = 16,
     .max = 1023,
     .def = "256",
     .help = "Longest password (bytes) accepted at registration or password change."},
    {.key = "registration.max_attempts_per_hour",
     .type = CFG_INT,
     CFG_AS_INT(registration_max_attempts),
     .min = 1,
     .max = 100000,
     .def = "10",
     .help = "Registration attempts (and XEP-0401 code checks) allowed per IP address "
             "(IPv6: per /64) per hour; more are refused with policy-violation."},
    {.key = "registration.tracked_addresses",
     .type = CFG_INT,
     CFG_AS_INT(registration_tracked_addresses),
     .min = 16,
     .max = 1000000,
     .def = "4096",
     .help = "How many addresses the per-address limit above remembers (about 100 bytes "
             "each). When more addresses than this try to register within the hour, the "
             "least recently seen are forgotten first (their count starts again); nobody is "
             "refused because the table is full."},
};

static const struct config_table register_cfg = {
    .sections = register_cfg_sections,
    .n_sections = sizeof register_cfg_sections / sizeof register_cfg_sections[0],
    .options = register_cfg_options,
    .n_options = sizeof register_cfg_options / sizeof register_cfg_options[0],
};

const struct module mod_register = {
    .name = "register",
    .id = MOD_ID_register,
    .state_size = sizeof(struct reg_state),
    .config = &register_cfg,
    .migrations = store_invites_migrations,
    .iq = register_handlers,
    .n_iq = sizeof register_handlers / sizeof register_handlers[0],
    .init = reg_init,
    .fini = reg_fini,
    .stream = register_stream,
    .n_stream = sizeof register_stream / sizeof register_stream[0],
    .preauth_features = register_stream_feature,
    .stream_closed = register_stream_closed,
    /* The account_invite row goes with the account (ON DELETE CASCADE);
     * erase handles the codes the user issued. */
    .describe = reg_describe,
    .export_xml = reg_export,
    .erase = reg_erase,
};
