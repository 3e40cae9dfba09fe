/* The pages of the HTTPS service (pages.h). */
#include "http/pages.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/server.h"
#include "http/html.h"
#include "http/policy.h"
#include "modules/invite.h"
#include "modules/register.h"
#include "store/invites.h"
#include "store/requests.h"
#include "store/store.h"
#include "xmpp/jid.h"

#define FORM_MAX 4096 /* bytes of a posted form */
#define FIELD_MAX 1100

struct pages {
    struct policy *policy;
};

/* The few sentences of the pages themselves, in both languages. */
struct text {
    const char *en, *de;
};
#define T(en, de) ((const struct text){en, de})

static const char *tr(enum policy_lang l, struct text t) { return l == POLICY_DE ? t.de : t.en; }

static const char css[] =
    "body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5;color:#222;background:#fff}"
    "h1{font-size:1.6rem}h2{font-size:1.25rem}"
    ".policy{border:1px solid #ccc;padding:0 1rem;max-height:24rem;overflow:auto;margin:1rem 0}"
    ".page-policy .policy{max-height:none;border:none;padding:0}"
    "label{display:block;margin:.6rem 0}input[type=text],input[type=password]{width:100%;"
    "padding:.4rem;font-size:1rem;box-sizing:border-box}"
    ".button{display:inline-block;background:#2a6db0;color:#fff;padding:.6rem 1.2rem;"
    "border-radius:.3rem;text-decoration:none;border:none;font-size:1rem;cursor:pointer}"
    ".error{background:#fde8e8;border:1px solid #e0a0a0;padding:.6rem}"
    ".ok{background:#e8f6e8;border:1px solid #a0d0a0;padding:.6rem}"
    ".qr{width:14rem;height:14rem;background:#fff}"
    "nav a{margin-right:1rem}footer{margin-top:2rem;font-size:.9rem;color:#555}";

static struct pages *pages_of(const struct http_request *r) { return http_server(r)->pages; }

static enum policy_lang lang_of(const struct http_request *r)
{
    char q[8];
    if (http_query(r, "lang", q, sizeof q) > 0) {
        if (strcmp(q, "de") == 0)
            return POLICY_DE;
        if (strcmp(q, "en") == 0)
            return POLICY_EN;
    }
    return policy_lang_pick(http_header(r, "accept-language"));
}

static const char *operator_name(const struct config *cfg, const char *domain)
{
    return cfg->policy_operator && cfg->policy_operator[0] ? cfg->policy_operator : domain;
}

/* ---- The frame every page shares ---- */

static int page_begin(struct buf *b, enum policy_lang l, const char *title, const char *cls)
{
    int r = buf_printf(b,
                       "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                       "<meta name=\"referrer\" content=\"no-referrer\">"
                       "<link rel=\"stylesheet\" href=\"/taube.css\"><title>",
                       l == POLICY_DE ? "de" : "en");
    if (r < 0 || html_str(b, title) < 0 ||
        buf_printf(b, "</title></head><body class=\"%s\"><main><h1>", cls) < 0 ||
        html_str(b, title) < 0 || buf_append_str(b, "</h1>") < 0)
        return -ENOMEM;
    return 0;
}

static int page_end(struct buf *b, enum policy_lang l, const char *path)
{
    /* path may be the request's (a 404 page): escaped like any text. */
    if (buf_printf(b, "</main><footer><nav><a href=\"/policy?lang=%s\">%s</a><a href=\"",
                   l == POLICY_DE ? "de" : "en",
                   tr(l, T("Terms and privacy policy", "Nutzungsbedingungen und Datenschutz"))) <
            0 ||
        html_str(b, path) < 0 ||
        buf_printf(b, "?lang=%s\">%s</a></nav></footer></body></html>\n",
                   l == POLICY_DE ? "en" : "de", l == POLICY_DE ? "English" : "Deutsch") < 0)
        return -ENOMEM;
    return 0;
}

/* Answers r with the page built in b (oom: building it ran out of
 * memory; then a short 500), and frees b. */
static void send_page(struct http_request *r, int status, struct buf *b, bool oom)
{
    if (oom)
        http_respond(r, 500, "text/plain; charset=utf-8", "out of memory\n", 14, NULL);
    else
        http_respond(r, status, "text/html; charset=utf-8", b->data, b->len, NULL);
    buf_free(b);
}

/* A page with a heading and one paragraph. */
static void message_page(struct http_request *r, int status, const char *title, const char *text)
{
    enum policy_lang l = lang_of(r);
    struct buf b;
    buf_init(&b, 0);
    bool oom = page_begin(&b, l, title, "page-message") < 0 || buf_append_str(&b, "<p>") < 0 ||
               html_str(&b, text) < 0 || buf_append_str(&b, "</p>") < 0 ||
               page_end(&b, l, http_path(r)) < 0;
    send_page(r, status, &b, oom);
}

/* ---- /, /taube.css, /policy ---- */

static void front(struct http_request *r, void *ud)
{
    (void)ud;
    if (strcmp(http_path(r), "/") != 0) {
        enum policy_lang l = lang_of(r);
        message_page(r, 404, tr(l, T("Not found", "Nicht gefunden")),
                     tr(l, T("There is no page at this address.",
                             "Unter dieser Adresse gibt es keine Seite.")));
        return;
    }
    enum policy_lang l = lang_of(r);
    const struct config *cfg = http_server(r)->cfg;
    const char *domain = http_domain(r);
    struct buf b;
    buf_init(&b, 0);
    bool oom = page_begin(&b, l, domain, "page-front") < 0 || buf_append_str(&b, "<p>") < 0 ||
               buf_printf(&b, "%s ",
                          tr(l, T("A private chat server (XMPP), run by",
                                  "Ein privater Chat-Server (XMPP), betrieben von"))) < 0 ||
               html_str(&b, operator_name(cfg, domain)) < 0 ||
               buf_printf(&b, ". %s</p>",
                          tr(l, T("Accounts are made with an invitation only.",
                                  "Konten gibt es nur mit einer Einladung."))) < 0 ||
               page_end(&b, l, "/") < 0;
    send_page(r, 200, &b, oom);
}

static void stylesheet(struct http_request *r, void *ud)
{
    (void)ud;
    http_respond(r, 200, "text/css; charset=utf-8", css, sizeof css - 1,
                 "Cache-Control: max-age=3600\r\n");
}

static void policy_page(struct http_request *r, void *ud)
{
    (void)ud;
    enum policy_lang l = lang_of(r);
    const char *domain = http_domain(r);
    size_t len;
    const char *html = policy_html(pages_of(r)->policy, domain, l, &len);
    struct buf b;
    buf_init(&b, 0);
    bool oom =
        page_begin(&b, l,
                   tr(l, T("Terms and privacy policy", "Nutzungsbedingungen und Datenschutz")),
                   "page-policy") < 0 ||
        buf_append(&b, html, len) < 0 || page_end(&b, l, "/policy") < 0;
    send_page(r, 200, &b, oom);
}

/* ---- Invites ---- */

/* What one request about a code knows. */
struct invite_req {
    struct http_request *r;
    enum policy_lang lang;
    const char *domain; /* the code's (configured spelling) */
    uint8_t code[INVITE_CODE_BYTES];
    uint8_t hash[INVITE_HASH_LEN];
    char text[INVITE_CODE_TEXT];
    char page[sizeof "/invite/" + INVITE_CODE_TEXT]; /* its page's path */
    char user[FIELD_MAX]; /* web registration: the name asked for */
};

static void invite_req_free(struct invite_req *iv)
{
    OPENSSL_cleanse(iv, sizeof *iv);
    free(iv);
}

/* Why a code cannot be used, for its page. */
static const char *code_problem(enum policy_lang l, int rc)
{
    switch (rc) {
    case -ETIME:
        return tr(l, T("This invitation has expired. Ask the person who invited you for a new one.",
                       "Diese Einladung ist abgelaufen. Bitten Sie die Person, die Sie eingeladen "
                       "hat, um eine neue."));
    case -EUSERS:
        return tr(l, T("This invitation has already been used.",
                       "Diese Einladung wurde bereits verwendet."));
    case -ECANCELED:
        return tr(l,
                  T("This invitation has been withdrawn.", "Diese Einladung wurde zurückgezogen."));
    default:
        return tr(l, T("This invitation link is not valid. Check that you copied all of it.",
                       "Dieser Einladungslink ist nicht gültig. Prüfen Sie, ob er vollständig "
                       "kopiert wurde."));
    }
}

/* Finds the code of /invite/CODE[/register] among the domains' codes.
 * 0 with iv filled, else the page is sent (and iv freed) and -1. */
static int invite_lookup(struct http_request *r, struct invite_req *iv)
{
    struct server *srv = http_server(r);
    const char *p = http_path(r) + strlen("/invite/");
    size_t len = strcspn(p, "/");
    iv->lang = lang_of(r);
    int rc = -ENOENT;
    if (invite_code_parse(p, len, iv->code) == 0 &&
        invite_code_hash(store_server_secret(srv->store), INVITE_KEY_LEN, iv->code, iv->hash) ==
            0) {
        for (size_t i = 0; i < srv->cfg->domains.n && rc == -ENOENT; i++) {
            rc = store_invite_check_sync(srv->store, srv->cfg->domains.items[i], iv->hash,
                                         server_now(srv));
            if (rc != -ENOENT)
                iv->domain = srv->cfg->domains.items[i];
        }
    }
    if (rc == 0) {
        invite_code_text(iv->code, iv->text);
        snprintf(iv->page, sizeof iv->page, "/invite/%s", iv->text);
        return 0;
    }
    /* A wrong code counts like a failed registration: guessing is slow. */
    if (register_rate(srv, http_peer(r)) == -EAGAIN) {
        message_page(r, 429, tr(iv->lang, T("Too many attempts", "Zu viele Versuche")),
                     tr(iv->lang, T("Too many attempts from your network. Try again in an hour.",
                                    "Zu viele Versuche aus Ihrem Netz. Versuchen Sie es in "
                                    "einer Stunde wieder.")));
    } else {
        message_page(r, rc == -ENOENT || rc == -EINVAL ? 404 : 410,
                     tr(iv->lang, T("Invitation", "Einladung")), code_problem(iv->lang, rc));
    }
    invite_req_free(iv);
    return -1;
}

static int invite_heading(struct buf *b, const struct invite_req *iv, const struct config *cfg)
{
    enum policy_lang l = iv->lang;
    if (page_begin(b, l, tr(l, T("You are invited", "Sie sind eingeladen")), "page-invite") < 0 ||
        buf_printf(b, "<p>%s ", tr(l, T("You have been invited by", "Sie wurden von"))) < 0 ||
        html_str(b, operator_name(cfg, iv->domain)) < 0 ||
        buf_printf(b, " %s <strong>", tr(l, T("to chat on", "eingeladen, auf"))) < 0 ||
        html_str(b, iv->domain) < 0 ||
        buf_printf(b, "</strong>%s</p>",
                   tr(l, T(", a private chat server (XMPP).",
                           " zu chatten, einem privaten Chat-Server (XMPP)."))) < 0)
        return -ENOMEM;
    return 0;
}

/* GET /invite/CODE: the policy and the consent box. */
static int consent_form(struct buf *b, const struct invite_req *iv, struct server *srv)
{
    enum policy_lang l = iv->lang;
    size_t len;
    const char *html = policy_html(((struct pages *)srv->pages)->policy, iv->domain, l, &len);
    if (invite_heading(b, iv, srv->cfg) < 0 ||
        buf_printf(b, "<p>%s</p>",
                   tr(l, T("Before you create your account, read the terms and privacy policy. "
                           "An account is made only if you agree.",
                           "Bevor Sie Ihr Konto anlegen, lesen Sie bitte die Nutzungsbedingungen "
                           "und die Datenschutzerklärung. Ein Konto wird nur mit Ihrer Zustimmung "
                           "angelegt."))) < 0 ||
        buf_append(b, html, len) < 0 ||
        buf_printf(b,
                   "<form method=\"post\" action=\"/invite/%s?lang=%s\">"
                   "<label><input type=\"checkbox\" name=\"consent\" value=\"1\" required> %s "
                   "(%s ",
                   iv->text, l == POLICY_DE ? "de" : "en",
                   tr(l, T("I have read the terms and privacy policy and agree to them",
                           "Ich habe die Nutzungsbedingungen und die Datenschutzerklärung "
                           "gelesen und stimme ihnen zu")),
                   tr(l, T("version", "Version"))) < 0 ||
        html_str(b, srv->cfg->registration_policy_version) < 0 ||
        buf_printf(b, ")</label><button class=\"button\" type=\"submit\">%s</button></form>",
                   tr(l, T("Agree and continue", "Zustimmen und weiter"))) < 0 ||
        page_end(b, l, iv->page) < 0)
        return -ENOMEM;
    return 0;
}

/* The QR code of text as inline SVG (one path; no style attribute, so
 * the Content-Security-Policy allows it). */
static int qr_svg(struct buf *b, const char *text)
{
    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!q)
        return -ENOMEM;
    int w = q->width, r = buf_printf(b,
                                     "<svg class=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" "
                                     "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"QR\">"
                                     "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
                                     "<path fill=\"#000\" d=\"",
                                     w + 8, w + 8, w + 8, w + 8);
    for (int y = 0; r >= 0 && y < w; y++)
        for (int x = 0; r >= 0 && x < w; x++) {
            if (!(q->data[y * w + x] & 1))
                continue;
            int run = 1; /* a row's dark modules side by side: one rectangle */
            while (x + run < w && (q->data[y * w + x + run] & 1))
                run++;
            r = buf_printf(b, "M%d %dh%dv1h-%dz", x + 4, y + 4, run, run);
            x += run - 1;
        }
    QRcode_free(q);
    return r < 0 || buf_append_str(b, "\"/></svg>") < 0 ? -ENOMEM : 0;
}

static int client_list(struct buf *b, const struct config *cfg, enum policy_lang l)
{
    if (cfg->policy_clients.n == 0)
        return 0;
    if (buf_printf(b, "<h2>%s</h2><ul>", tr(l, T("Apps we recommend", "Empfohlene Apps"))) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->policy_clients.n; i++) {
        const char *it = cfg->policy_clients.items[i];
        const char *a = strchr(it, '|'), *c = a ? strchr(a + 1, '|') : NULL;
        if (!c)
            continue;
        if (buf_append_str(b, "<li>") < 0 || html_text(b, it, (size_t)(a - it)) < 0 ||
            buf_append_str(b, ": <a href=\"") < 0 || html_str(b, c + 1) < 0 ||
            buf_append_str(b, "\">") < 0 || html_text(b, a + 1, (size_t)(c - a - 1)) < 0 ||
            buf_append_str(b, "</a></li>") < 0)
            return -ENOMEM;
    }
    return buf_append_str(b, "</ul>") < 0 ? -ENOMEM : 0;
}

/* The web registration form; error: a message above it, or NULL. */
static int register_form(struct buf *b, const struct invite_req *iv, const struct config *cfg,
                         const char *error)
{
    enum policy_lang l = iv->lang;
    if (buf_printf(b, "<h2 id=\"register\">%s</h2>",
                   tr(l, T("Or create your account here", "Oder legen Sie Ihr Konto hier an"))) <
            0 ||
        (error && (buf_append_str(b, "<p class=\"error\">") < 0 || html_str(b, error) < 0 ||
                   buf_append_str(b, "</p>") < 0)) ||
        buf_printf(
            b,
            "<p>%s</p><form method=\"post\" action=\"/invite/%s/register?lang=%s\">"
            "<label>%s <input type=\"text\" name=\"username\" required "
            "autocomplete=\"username\" autocapitalize=\"none\" value=\"",
            tr(l, T("If your app cannot create accounts itself: choose a user name and a "
                    "password here, then log in with them in your app.",
                    "Falls Ihre App selbst keine Konten anlegen kann: Wählen Sie hier einen "
                    "Benutzernamen und ein Passwort und melden Sie sich damit in der App an.")),
            iv->text, l == POLICY_DE ? "de" : "en", tr(l, T("User name", "Benutzername"))) < 0 ||
        html_str(b, iv->user) < 0 ||
        buf_printf(
            b,
            "\"></label><label>%s (%s %u) <input type=\"password\" name=\"password\" "
            "required minlength=\"%u\" autocomplete=\"new-password\"></label>"
            "<label>%s <input type=\"password\" name=\"password2\" required "
            "autocomplete=\"new-password\"></label>"
            "<label><input type=\"checkbox\" name=\"consent\" value=\"1\" required> %s</label>"
            "<button class=\"button\" type=\"submit\">%s</button></form>",
            tr(l, T("Password", "Passwort")), tr(l, T("at least", "mindestens")),
            cfg->registration_min_password, cfg->registration_min_password,
            tr(l, T("Password again", "Passwort wiederholen")),
            tr(l, T("I agree to the terms and privacy policy",
                    "Ich stimme den Nutzungsbedingungen und der Datenschutzerklärung zu")),
            tr(l, T("Create account", "Konto anlegen"))) < 0)
        return -ENOMEM;
    return 0;
}

/* After consent: the link for the app, its QR code, the clients, and the
 * web registration form. */
static int next_steps(struct buf *b, const struct invite_req *iv, const struct config *cfg,
                      const char *error)
{
    enum policy_lang l = iv->lang;
    char uri[512];
    snprintf(uri, sizeof uri, "xmpp:%s?register;preauth=%s", iv->domain, iv->text);
    if (invite_heading(b, iv, cfg) < 0 ||
        (!error && buf_printf(b, "<p class=\"ok\">%s</p>",
                              tr(l, T("Thank you: your consent is recorded.",
                                      "Danke: Ihre Zustimmung ist gespeichert."))) < 0) ||
        buf_printf(
            b, "<h2>%s</h2><p>%s</p><p><a class=\"button\" href=\"",
            tr(l, T("Create your account in your app", "Legen Sie Ihr Konto in Ihrer App an")),
            tr(l, T("On your phone: install one of the apps below, then tap the button. "
                    "On a computer: scan the code with your phone.",
                    "Auf dem Handy: Installieren Sie eine der Apps unten und tippen Sie "
                    "dann auf den Knopf. Am Computer: Scannen Sie den Code mit dem Handy."))) < 0 ||
        html_str(b, uri) < 0 ||
        buf_printf(b, "\">%s</a></p>", tr(l, T("Open in my app", "In meiner App öffnen"))) < 0 ||
        qr_svg(b, uri) < 0 || client_list(b, cfg, l) < 0 || register_form(b, iv, cfg, error) < 0 ||
        page_end(b, l, iv->page) < 0)
        return -ENOMEM;
    return 0;
}

static void invite_get(struct http_request *r, struct invite_req *iv)
{
    struct buf b;
    buf_init(&b, 0);
    bool oom = consent_form(&b, iv, http_server(r)) < 0;
    send_page(r, 200, &b, oom);
    invite_req_free(iv);
}

static void consent_stored(void *ud, int rc, int64_t value)
{
    (void)value;
    struct invite_req *iv = ud;
    struct http_request *r = iv->r;
    if (rc < 0) {
        message_page(r,
                     rc == -ENOENT                 ? 404
                     : rc == -EIO || rc == -ENOMEM ? 500
                                                   : 410,
                     tr(iv->lang, T("Invitation", "Einladung")),
                     rc == -EIO || rc == -ENOMEM
                         ? tr(iv->lang, T("The server could not record your consent. Try again "
                                          "later.",
                                          "Der Server konnte Ihre Zustimmung nicht speichern. "
                                          "Versuchen Sie es später wieder."))
                         : code_problem(iv->lang, rc));
    } else {
        struct buf b;
        buf_init(&b, 0);
        bool oom = next_steps(&b, iv, http_server(r)->cfg, NULL) < 0;
        send_page(r, 200, &b, oom);
    }
    invite_req_free(iv);
}

/* POST /invite/CODE with consent=1: recorded against the code, through
 * the store's writer; the next steps are shown after the commit. */
static void invite_consent(struct http_request *r, struct invite_req *iv)
{
    size_t len;
    const char *body = http_body(r, &len);
    char v[8];
    if (!body || html_form_value(body, len, "consent", v, sizeof v) <= 0 || strcmp(v, "1") != 0) {
        invite_get(r, iv); /* the box was not ticked: the same page again */
        return;
    }
    struct server *srv = http_server(r);
    iv->r = r;
    int64_t id =
        store_invite_consent_req(srv->storeq, iv->domain, iv->hash, server_now(srv),
                                 srv->cfg->registration_policy_version, consent_stored, iv);
    if (id < 0)
        consent_stored(iv, (int)id, 0);
}

static const char *register_problem(enum policy_lang l, int rc, const struct config *cfg, char *tmp,
                                    size_t n)
{
    switch (rc) {
    case -EAGAIN:
        return tr(l, T("Too many attempts from your network. Try again in an hour.",
                       "Zu viele Versuche aus Ihrem Netz. Versuchen Sie es in einer Stunde "
                       "wieder."));
    case -EEXIST:
        return tr(l, T("This user name is taken. Choose another one.",
                       "Dieser Benutzername ist vergeben. Wählen Sie einen anderen."));
    case -EINVAL:
        return tr(l, T("This user name is not possible: use letters, digits, dots, dashes or "
                       "underscores, no spaces and no @.",
                       "Dieser Benutzername geht nicht: Verwenden Sie Buchstaben, Ziffern, Punkte, "
                       "Binde- oder Unterstriche, keine Leerzeichen und kein @."));
    case -ERANGE:
        if (l == POLICY_DE)
            snprintf(tmp, n, "Das Passwort muss mindestens %u und höchstens %u Zeichen haben.",
                     cfg->registration_min_password, cfg->registration_max_password);
        else
            snprintf(tmp, n, "The password must have at least %u and at most %u characters.",
                     cfg->registration_min_password, cfg->registration_max_password);
        return tmp;
    case -EILSEQ:
        return tr(l, T("The password contains characters that are not allowed.",
                       "Das Passwort enthält Zeichen, die nicht erlaubt sind."));
    case -EPERM:
        return tr(l, T("Registration is switched off on this server.",
                       "Die Registrierung ist auf diesem Server abgeschaltet."));
    case -ETIME:
    case -EUSERS:
    case -ECANCELED:
    case -ENOENT: return code_problem(l, rc);
    default:
        return tr(l, T("The server could not create the account. Try again later.",
                       "Der Server konnte das Konto nicht anlegen. Versuchen Sie es später "
                       "wieder."));
    }
}

/* Web registration's answer: the address to log in with, or the form
 * again with what was wrong. */
static void web_registered(void *ud, int rc)
{
    struct invite_req *iv = ud;
    struct http_request *r = iv->r;
    const struct config *cfg = http_server(r)->cfg;
    enum policy_lang l = iv->lang;
    struct buf b;
    buf_init(&b, 0);
    char tmp[200];
    int status = 200;
    bool oom;
    if (rc == 0) {
        oom = page_begin(&b, l, tr(l, T("Your account is ready", "Ihr Konto ist bereit")),
                         "page-done") < 0 ||
              buf_printf(&b, "<p class=\"ok\">%s <strong>",
                         tr(l, T("Your address:", "Ihre Adresse:"))) < 0 ||
              html_str(&b, iv->user) < 0 || buf_append_str(&b, "@") < 0 ||
              html_str(&b, iv->domain) < 0 ||
              buf_printf(
                  &b, "</strong></p><p>%s</p>",
                  tr(l,
                     T("In your app, choose to log in with an existing account and enter "
                       "this address and your password. If the app asks for a server, "
                       "it is the part after the @.",
                       "Wählen Sie in Ihrer App die Anmeldung mit einem bestehenden Konto "
                       "und geben Sie diese Adresse und Ihr Passwort ein. Fragt die App nach einem "
                       "Server, ist es der Teil nach dem @."))) < 0 ||
              client_list(&b, cfg, l) < 0 || page_end(&b, l, iv->page) < 0;
    } else {
        status = rc == -EAGAIN                                       ? 429
                 : rc == -ETIME || rc == -EUSERS || rc == -ECANCELED ? 410
                                                                     : 400;
        const char *why = register_problem(l, rc, cfg, tmp, sizeof tmp);
        oom = rc == -ETIME || rc == -EUSERS || rc == -ECANCELED || rc == -ENOENT
                  ? (page_begin(&b, l, tr(l, T("Invitation", "Einladung")), "page-message") < 0 ||
                     buf_append_str(&b, "<p class=\"error\">") < 0 || html_str(&b, why) < 0 ||
                     buf_append_str(&b, "</p>") < 0 || page_end(&b, l, iv->page) < 0)
                  : next_steps(&b, iv, cfg, why) < 0;
    }
    send_page(r, status, &b, oom);
    invite_req_free(iv);
}

/* POST /invite/CODE/register. */
static void invite_register(struct http_request *r, struct invite_req *iv)
{
    size_t len;
    const char *body = http_body(r, &len);
    char pw[FIELD_MAX], pw2[FIELD_MAX], consent[8];
    int ul = body ? html_form_value(body, len, "username", iv->user, sizeof iv->user) : -ENOENT;
    int pl = body ? html_form_value(body, len, "password", pw, sizeof pw) : -ENOENT;
    int p2 = body ? html_form_value(body, len, "password2", pw2, sizeof pw2) : -ENOENT;
    int cl = body ? html_form_value(body, len, "consent", consent, sizeof consent) : -ENOENT;
    iv->r = r;
    const char *why = NULL;
    enum policy_lang l = iv->lang;
    if (ul == -EINVAL || pl == -EINVAL || p2 == -EINVAL || ul == -E2BIG || pl == -E2BIG) {
        iv->user[0] = '\0';
        why = tr(l, T("The form contained text that is not valid.",
                      "Das Formular enthielt ungültigen Text."));
    } else if (ul <= 0 || pl <= 0) {
        if (ul < 0)
            iv->user[0] = '\0';
        why = tr(l, T("Enter a user name and a password.",
                      "Geben Sie einen Benutzernamen und ein Passwort ein."));
    } else if (p2 < 0 || strcmp(pw, pw2) != 0) {
        why = tr(l, T("The two passwords are not the same.",
                      "Die beiden Passwörter stimmen nicht überein."));
    } else if (cl <= 0 || strcmp(consent, "1") != 0) {
        why = tr(l, T("An account is made only if you agree to the terms and privacy policy.",
                      "Ein Konto wird nur angelegt, wenn Sie den Nutzungsbedingungen und der "
                      "Datenschutzerklärung zustimmen."));
    }
    int rc = why ? 0
                 : register_web(http_server(r), http_peer(r), iv->domain, iv->hash, iv->user, pw,
                                web_registered, iv);
    OPENSSL_cleanse(pw, sizeof pw);
    OPENSSL_cleanse(pw2, sizeof pw2);
    if (rc < 0) { /* refused at once: the same answer as a refusal after the commit */
        web_registered(iv, rc);
    } else if (why) {
        struct buf b;
        buf_init(&b, 0);
        bool oom = next_steps(&b, iv, http_server(r)->cfg, why) < 0;
        send_page(r, 400, &b, oom);
        invite_req_free(iv);
    } /* else web_registered answers */
}

static void invite(struct http_request *r, void *ud)
{
    (void)ud;
    const char *p = http_path(r) + strlen("/invite/");
    const char *slash = strchr(p, '/');
    bool reg = slash && strcmp(slash, "/register") == 0;
    if (slash && !reg) {
        enum policy_lang l = lang_of(r);
        message_page(r, 404, tr(l, T("Not found", "Nicht gefunden")),
                     tr(l, T("There is no page at this address.",
                             "Unter dieser Adresse gibt es keine Seite.")));
        return;
    }
    struct invite_req *iv = calloc(1, sizeof *iv);
    if (!iv) {
        http_respond(r, 503, "text/plain; charset=utf-8", "busy\n", 5, NULL);
        return;
    }
    if (invite_lookup(r, iv) < 0)
        return;
    if (http_method(r) != HTTP_POST) {
        if (reg) { /* the form posts here; a GET goes to the invite */
            char loc[sizeof iv->page + sizeof "?lang=de"];
            snprintf(loc, sizeof loc, "%s?lang=%s", iv->page, iv->lang == POLICY_DE ? "de" : "en");
            http_redirect(r, loc);
            invite_req_free(iv);
            return;
        }
        invite_get(r, iv);
    } else if (reg) {
        invite_register(r, iv);
    } else {
        invite_consent(r, iv);
    }
}

/* ---- Start ---- */

int pages_start(struct server *srv, struct http_route *routes, size_t max, size_t *n, char **err)
{
    static const struct http_route table[] = {
        {.prefix = "/", .handle = front},
        {.prefix = "/taube.css", .handle = stylesheet},
        {.prefix = "/policy", .handle = policy_page},
        {.prefix = "/invite/", .post = true, .body_max = FORM_MAX, .handle = invite},
    };
    size_t nt = sizeof table / sizeof table[0];
    if (nt > max)
        return -E2BIG;
    struct pages *pg = calloc(1, sizeof *pg);
    if (!pg)
        return -ENOMEM;
    int rc = policy_new(&pg->policy, srv->cfg, err);
    if (rc < 0) {
        free(pg);
        return rc;
    }
    srv->pages = pg;
    memcpy(routes, table, sizeof table);
    *n = nt;
    return 0;
}

void pages_free(struct server *srv)
{
    struct pages *pg = srv->pages;
    if (!pg)
        return;
    policy_free(pg->policy);
    free(pg);
    srv->pages = NULL;
}
