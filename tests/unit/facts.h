/* A data_fact_fn for the unit tests: each fact the describe of a module
 * reports becomes one line in a struct buf, so that a test can look for
 * its numbers ("roster count=1 ...") and its English words. */
#ifndef TAUBE_TEST_FACTS_H
#define TAUBE_TEST_FACTS_H

#include <inttypes.h>

#include "core/buf.h"
#include "modules/module.h"

static inline int fact_line(void *ud, const struct data_fact *f)
{
    return buf_printf(ud,
                      "%s count=%" PRIu64 " bytes=%" PRIu64 " oldest=%" PRId64
                      " keep=%d secs=%" PRId64 " until=%" PRId64 " detail=%s | %s | %s\n",
                      f->kind, f->count, f->bytes, f->oldest, (int)f->keep, f->keep_secs, f->until,
                      f->detail ? f->detail : "-", f->what[DATA_EN], f->what[DATA_DE]);
}

#endif
