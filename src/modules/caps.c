/* The XEP-0115 §5.1 verification string (see caps.h). */
#include "modules/caps.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/buf.h"

#define CAPS_S_MAX (1024 * 1024)

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : ""); /* strcmp compares as unsigned bytes: i;octet */
}

static int cmp_identity(const void *pa, const void *pb)
{
    const struct disco_identity *a = *(const struct disco_identity *const *)pa;
    const struct disco_identity *b = *(const struct disco_identity *const *)pb;
    int c = cmp_str(a->category, b->category);
    if (!c)
        c = cmp_str(a->type, b->type);
    if (!c)
        c = cmp_str(a->lang, b->lang);
    return c ? c : cmp_str(a->name, b->name);
}

static int cmp_pstr(const void *pa, const void *pb)
{
    return cmp_str(*(const char *const *)pa, *(const char *const *)pb);
}

static int cmp_field(const void *pa, const void *pb)
{
    return cmp_str((*(const struct disco_field *const *)pa)->var,
                   (*(const struct disco_field *const *)pb)->var);
}

static int cmp_form(const void *pa, const void *pb)
{
    return cmp_str((*(const struct disco_form *const *)pa)->form_type,
                   (*(const struct disco_form *const *)pb)->form_type);
}

/* Sorted array of pointers to n elements of size sz at base. */
static const void **sorted(const void *base, size_t n, size_t sz, bool by_ptr,
                           int (*cmp)(const void *, const void *))
{
    const void **p = calloc(n ? n : 1, sizeof *p);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++)
        p[i] = by_ptr ? ((const void *const *)base)[i] : (const char *)base + i * sz;
    qsort(p, n, sizeof *p, cmp);
    return p;
}

/* Appends s and '<'. */
static int add(struct buf *S, const char *s)
{
    if (!s)
        return -EINVAL;
    int rc = buf_append_str(S, s);
    return rc ? rc : buf_append(S, "<", 1);
}

static int add_identities(struct buf *S, const struct disco_identity *ids, size_t n)
{
    const void **p = sorted(ids, n, sizeof *ids, false, cmp_identity);
    int rc = p ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct disco_identity *id = p[i];
        if (!id->category || !id->type)
            rc = -EINVAL;
        else
            rc = buf_printf(S, "%s/%s/%s/%s<", id->category, id->type, id->lang ? id->lang : "",
                            id->name ? id->name : "");
    }
    free(p);
    return rc;
}

static int add_strings(struct buf *S, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!v[i])
            return -EINVAL;
    const void **p = sorted(v, n, 0, true, cmp_pstr);
    int rc = p ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = add(S, p[i]);
    free(p);
    return rc;
}

static int add_form(struct buf *S, const struct disco_form *f)
{
    int rc = add(S, f->form_type);
    const void **p = rc ? NULL : sorted(f->fields, f->nfields, sizeof *f->fields, false, cmp_field);
    if (rc == 0 && !p)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < f->nfields; i++) {
        const struct disco_field *fd = p[i];
        rc = add(S, fd->var);
        if (rc == 0)
            rc = add_strings(S, fd->values, fd->nvalues);
    }
    free(p);
    return rc;
}

static int add_forms(struct buf *S, const struct disco_form *forms, size_t n)
{
    const void **p = sorted(forms, n, sizeof *forms, false, cmp_form);
    int rc = p ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = add_form(S, p[i]);
    free(p);
    return rc;
}

int caps_ver_sha1(const struct disco_identity *ids, size_t nids, const char *const *features,
                  size_t nfeatures, const struct disco_form *forms, size_t nforms,
                  char ver[CAPS_VER_LEN + 1])
{
    struct buf S;
    buf_init(&S, CAPS_S_MAX);
    int rc = add_identities(&S, ids, nids);
    if (rc == 0)
        rc = add_strings(&S, features, nfeatures);
    if (rc == 0)
        rc = add_forms(&S, forms, nforms);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if (rc == 0 && (EVP_Digest(S.data ? S.data : "", S.len, md, &md_len, EVP_sha1(), NULL) != 1 ||
                    md_len != 20))
        rc = -ENOMEM;
    if (rc == 0 && EVP_EncodeBlock((unsigned char *)ver, md, (int)md_len) != CAPS_VER_LEN)
        rc = -EINVAL;
    buf_free(&S);
    return rc == -ENOBUFS ? -EINVAL : rc;
}
