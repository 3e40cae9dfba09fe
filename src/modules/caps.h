/* Entity capabilities (XEP-0115 §5): the verification string of a
 * disco#info answer. Pure computation, any thread.
 *
 * The caller describes the answer (identities, features, XEP-0128 forms)
 * with borrowed strings; the function sorts copies of the pointer arrays
 * (octet order, RFC 4790 i;octet) and hashes. The same description must
 * produce the disco#info answer, or the ver would not verify.
 */
#ifndef TAUBE_CAPS_H
#define TAUBE_CAPS_H

#include <stddef.h>

struct disco_identity {
    const char *category;
    const char *type;
    const char *lang; /* xml:lang, or NULL */
    const char *name; /* or NULL */
};

struct disco_field {
    const char *var;
    const char *const *values; /* nvalues strings */
    size_t nvalues;
};

struct disco_form {
    const char *form_type; /* the FORM_TYPE value */
    const struct disco_field *fields; /* without FORM_TYPE */
    size_t nfields;
};

/* Base64 of SHA-1 is 28 characters. */
#define CAPS_VER_LEN 28

/* Writes the SHA-1 verification string into ver. 0, -ENOMEM, or -EINVAL
 * if a string is NULL where one is required or S would exceed 1 MiB. */
int caps_ver_sha1(const struct disco_identity *ids, size_t nids, const char *const *features,
                  size_t nfeatures, const struct disco_form *forms, size_t nforms,
                  char ver[CAPS_VER_LEN + 1]);

#endif
