/* Fuzz target: the policy template filler (policy_fill) on arbitrary
 * bytes, as an operator's policy.file_en could hold. It must return 0
 * or -EINVAL (with a line number within the text), never crash, and
 * leave out unchanged on error. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "http/policy.h"
#include "modules/module.h"

static struct config cfg;

static void load(void)
{
    static const char yaml[] = "server:\n  domains: [example.org]\n"
                               "policy:\n  operator: \"A <b> & c\"\n";
    struct config_schema s;
    modules_config_schema(&s);
    char *err = NULL;
    if (config_load_buffer(&cfg, &s, "/tmp/fuzz.yaml", yaml, strlen(yaml), &err) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cfg.domains.n)
        load();
    struct buf out;
    buf_init(&out, 0);
    unsigned line = 0;
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    int rc = policy_fill(&cfg, "example.org", size % 2 ? POLICY_DE : POLICY_EN, (const char *)data,
                         size, &out, &line);
    if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
        abort();
    if (rc == -EINVAL && (line == 0 || line > lines || out.len != 0))
        abort();
    buf_free(&out);
    return 0;
}
