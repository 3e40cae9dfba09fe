/* Schema migrations of the SQLite store (private to src/store/).
 *
 * The steps come from the parts of a struct store_schema (store.h);
 * step v brings the schema from version v - 1 to v. Each step runs in
 * one transaction together with the update of schema_version, so a
 * crash leaves the database at one version or the next, never between.
 */
#ifndef TAUBE_STORE_MIGRATIONS_H
#define TAUBE_STORE_MIGRATIONS_H

#include <stddef.h>

#include "store/store.h"

#define STORE_MAX_STEPS 256

/* Puts the steps of schema in version order: sql[v - 1] is step v, *n
 * the newest version. 0, or -EINVAL with *err (malloc'ed) naming a
 * version declared twice, missing below the newest, or out of 1..max. */
int store_migrations_order(const struct store_schema *schema, const char **sql, size_t max,
                           size_t *n, char **err);

#endif
