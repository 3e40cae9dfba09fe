/* XEP-0227 export pieces: see pie.h. */
#include "modules/pie.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "store/store.h"
#include "xml/xml.h"

const char *pie_mechanism_name(enum scram_hash h)
{
    return h == SCRAM_SHA1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
}

/* <name>base64</name>. 0 or -errno. */
static int b64_elem(struct buf *out, const char *name, const uint8_t *v, size_t len)
{
    char *b64 = NULL;
    size_t n = 0;
    int rc = sasl_b64_encode(v, len, &b64, &n);
    if (rc == 0)
        rc = buf_printf(out, "<%s>%s</%s>", name, b64, name);
    free(b64);
    return rc;
}

/* XEP-0227 §4.3: one <scram-credentials/> per mechanism. */
static int write_creds(struct buf *out, const struct scram_creds *c)
{
    size_t klen = scram_hash_len(c->hash);
    int rc = buf_printf(out,
                        "<scram-credentials xmlns='" NS_PIE_SCRAM "' mechanism='%s'>"
                        "<iter-count>%" PRIu32 "</iter-count>",
                        pie_mechanism_name(c->hash), c->iterations);
    if (rc == 0)
        rc = b64_elem(out, "salt", c->salt, c->salt_len);
    if (rc == 0)
        rc = b64_elem(out, "server-key", c->server_key, klen);
    if (rc == 0)
        rc = b64_elem(out, "stored-key", c->stored_key, klen);
    return rc ? rc : buf_append_str(out, "</scram-credentials>\n");
}

int pie_user_open(struct store *store, const char *domain, const char *user, struct buf *out)
{
    struct account_creds c;
    int rc = store_account_get_creds_sync(store, domain, user, &c);
    if (rc == 0)
        rc = buf_append_str(out, "<user name='");
    if (rc == 0)
        rc = xml_escape(out, user, strlen(user), true);
    if (rc == 0)
        rc = buf_append_str(out, "'>\n");
    for (int h = 0; rc == 0 && h < SCRAM_NHASH; h++)
        if (c.have[h])
            rc = write_creds(out, &c.scram[h]);
    OPENSSL_cleanse(&c, sizeof c);
    return rc;
}

int pie_export_user(const struct data_ctx *d, const char *domain, const char *user, struct buf *out)
{
    size_t mark = out->len;
    int rc = pie_user_open(d->store, domain, user, out);
    if (rc == 0)
        rc = account_export(d, domain, user, out);
    if (rc == 0)
        rc = buf_append_str(out, "</user>");
    if (rc < 0 && out->data) {
        out->len = mark;
        out->data[mark] = '\0';
    }
    return rc;
}

int pie_export_document(const struct data_ctx *d, const char *domain, const char *user,
                        struct buf *out)
{
    size_t mark = out->len;
    int rc = buf_append_str(out, "<?xml version='1.0' encoding='UTF-8'?>\n"
                                 "<server-data xmlns='" NS_PIE "'>\n<host jid='");
    if (rc == 0)
        rc = xml_escape(out, domain, strlen(domain), true);
    if (rc == 0)
        rc = buf_append_str(out, "'>\n");
    if (rc == 0)
        rc = pie_export_user(d, domain, user, out);
    if (rc == 0)
        rc = buf_append_str(out, "\n</host>\n</server-data>\n");
    if (rc < 0 && out->data) {
        out->len = mark;
        out->data[mark] = '\0';
    }
    return rc;
}
