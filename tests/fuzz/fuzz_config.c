/* Fuzz target: the configuration loader on arbitrary bytes. It must never
 * crash or leak, and must either succeed or explain itself. */
#include "core/config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include "modules/module.h"

/* The server's whole option schema: the core's and every module's. */
static const struct config_schema *test_schema(void)
{
    static struct config_schema s;
    if (s.n == 0)
        modules_config_schema(&s);
    return &s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config c;
    char *err = NULL;
    int r = config_load_buffer(&c, test_schema(), "fuzz.yaml", (const char *)data, size, &err);
    /* A refusal other than out-of-memory always says why. */
    if (r < 0 && r != -ENOMEM && !err)
        abort();
    if (r == 0 && (c.domains.n == 0 || !c.path || !c.store_path))
        abort();
    free(err);
    config_free(&c);
    return 0;
}
