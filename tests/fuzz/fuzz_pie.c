/* Fuzz target: XEP-0227 import files (modules/pie_import.h) through the
 * document reader (xml/reader.h), fed in two pieces split where the
 * first byte says, every <user/> turned into an account as taubectl
 * import would (one PBKDF2 iteration, to keep runs fast). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modules/pie_import.h"

static int on_user(void *ud, const char *host, struct stanza *tree)
{
    (void)ud;
    struct pie_account pa;
    char why[PIE_WHY_MAX];
    int rc = pie_account_from(&pa, host, tree, 1, 1000, NULL, NULL, why);
    if (rc == 0 && (!pa.a.user || !pa.a.domain ||
                    (!pa.a.creds.have[SCRAM_SHA1] && !pa.a.creds.have[SCRAM_SHA256])))
        abort(); /* an account is never accepted without credentials */
    pie_account_free(&pa);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t split = data[0] % size;
    const char *text = (const char *)data + 1;
    size--;
    if (split > size)
        split = size;
    static const struct pie_file_handler h = {on_user, NULL};
    struct pie_file *f = pie_file_new(&h, NULL, NULL);
    if (!f)
        return 0;
    int rc = pie_file_feed(f, text, split, false);
    if (rc == 0)
        rc = pie_file_feed(f, text + split, size - split, true);
    if (rc == -EINVAL && !pie_file_error(f)[0])
        abort(); /* a refusal always says why */
    pie_file_free(f);
    return 0;
}
