/* Self-service commands for every local account (XEP-0050): "Export my
 * data" (promise P19) and "What do you store about me?" (P20).
 *
 * Both act on the requester's own account only (the framework lets only
 * local sessions run commands) and complete in one stage.
 *
 * How the data travels (see docs/admin.md): there is no HTTP upload yet,
 * so the export goes inline, in the completed command's result form, as
 * one text-multi field whose values are the document's lines (XEP-0004
 * §3.3: text-multi values are lines); Gajim, for one, shows a completed
 * command's form read-only, as text the member can copy. The whole reply must fit in
 * limits.max_stanza_size, the bound the server holds every client to;
 * above it the command completes with a note saying how large the data
 * is and that the operator can export it (`taubectl user export`). The
 * report is text for a person: it goes in a <note/>, the part of a
 * completed command clients show most reliably. Both speak the request's xml:lang
 * (German or English).
 *
 * The store reads are synchronous, on the loop, as the rest of the data
 * contract is (taubectl shares it); their work is bounded by the size
 * limit and by the per-account limits on stored data.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "modules/access_report.h"
#include "modules/adhoc.h"
#include "modules/pie.h"
#include "xml/xml.h"

#define NS_MEMBER "urn:taube:member"
#define NOTE_MAX 512

static struct data_ctx ctx_of(const struct adhoc_stage *s) { return modules_data_ctx(s->srv); }

static const char *pick(const struct adhoc_stage *s, const char *en, const char *de)
{
    return access_report_lang(s->lang) == DATA_DE ? de : en;
}

/* The export as a result form: one text-multi value per line. */
static int export_form(struct adhoc_stage *s, const struct buf *doc)
{
    struct xml_node *x = adhoc_form(s, "result", NULL,
                                    pick(s, "Your data (XEP-0227)", "Ihre Daten (XEP-0227)"), NULL);
    struct xml_node *f = x ? adhoc_field(s, x, "export", "text-multi",
                                         pick(s, "XEP-0227 document", "XEP-0227-Dokument"), false)
                           : NULL;
    if (!f)
        return -ENOMEM;
    for (const char *line = doc->data, *end = doc->data + doc->len; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
        struct xml_node *v = xml_add_child(s->res, f, "value", NULL);
        if (!v || (len && !xml_add_text(s->res, v, line, len)))
            return -ENOMEM;
        line += len + 1;
    }
    return 0;
}

/* Does the reply, as it stands, fit in one stanza? Room is kept for the
 * note and the status the framework adds. */
static int reply_fits(const struct adhoc_stage *s)
{
    struct buf b;
    buf_init(&b, s->srv->cfg->max_stanza_size > NOTE_MAX * 2
                     ? s->srv->cfg->max_stanza_size - NOTE_MAX * 2
                     : 1);
    int rc = xml_serialize(s->res->root, "", &b);
    buf_free(&b);
    return rc == -ENOBUFS ? 0 : rc < 0 ? rc : 1;
}

static int too_large(struct adhoc_stage *s, size_t have)
{
    char note[NOTE_MAX];
    size_t limit = s->srv->cfg->max_stanza_size;
    if (access_report_lang(s->lang) == DATA_DE)
        snprintf(note, sizeof note,
                 "Ihre Daten sind größer, als eine Antwort tragen kann (%zu Bytes oder mehr, "
                 "höchstens %zu). Bitte fragen Sie den Betreiber danach: er kann sie mit "
                 "`taubectl user export` vollständig für Sie exportieren.",
                 have, limit);
    else
        snprintf(note, sizeof note,
                 "Your data is larger than one reply may carry (%zu bytes or more, of at most "
                 "%zu). Please ask the operator for it: they can export all of it for you with "
                 "`taubectl user export`.",
                 have, limit);
    return adhoc_note(s, "error", note) < 0 ? adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL)
                                            : ADHOC_COMPLETED;
}

static int export_data(struct adhoc_stage *s)
{
    struct data_ctx d = ctx_of(s);
    struct buf doc;
    buf_init(&doc, s->srv->cfg->max_stanza_size);
    int rc = pie_export_document(&d, s->from->domain, s->from->local, &doc);
    size_t len = doc.len;
    struct xml_node *x = NULL;
    if (rc == 0 && (rc = export_form(s, &doc)) == 0)
        x = xml_child(s->cmd, "x", NS_XDATA);
    buf_free(&doc);
    int fits = rc == 0 ? reply_fits(s) : rc;
    if (rc == -ENOBUFS || fits == 0) {
        if (x)
            xml_remove(x);
        return too_large(s, rc == -ENOBUFS ? s->srv->cfg->max_stanza_size : len);
    }
    if (rc < 0 || fits < 0)
        return adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL);
    char note[NOTE_MAX];
    if (access_report_lang(s->lang) == DATA_DE)
        snprintf(note, sizeof note,
                 "Alle Daten, die der Server für Ihr Konto speichert, als XEP-0227-Dokument "
                 "(%zu Bytes) im Feld unten. Es enthält die SCRAM-Schlüssel Ihres Passworts: "
                 "bewahren Sie es vertraulich auf.",
                 len);
    else
        snprintf(note, sizeof note,
                 "All data the server keeps for your account, as a XEP-0227 document (%zu "
                 "bytes), in the field below. It holds your password's SCRAM keys: keep it "
                 "private.",
                 len);
    return adhoc_note(s, "info", note) < 0 ? adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL)
                                           : ADHOC_COMPLETED;
}

static int access_report_cmd(struct adhoc_stage *s)
{
    struct data_ctx d = ctx_of(s);
    struct buf text;
    buf_init(&text, s->srv->cfg->max_stanza_size / 2);
    int rc = access_report(&d, s->from->domain, s->from->local, access_report_lang(s->lang), &text);
    if (rc == 0)
        rc = adhoc_note(s, "info", text.data);
    buf_free(&text);
    return rc < 0 ? adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL) : ADHOC_COMPLETED;
}

static const struct adhoc_command member_commands[] = {
    {NS_MEMBER "#export", "Export my data", false, export_data},
    {NS_MEMBER "#report", "What do you store about me?", false, access_report_cmd},
};
const struct module mod_member = {
    .name = "member",
    .id = MOD_ID_member,
    .commands = member_commands,
    .n_commands = sizeof member_commands / sizeof member_commands[0],
};
