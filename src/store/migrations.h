/* Schema migrations of the SQLite store (private to src/store/).
 *
 * store_migrations[i] brings the schema from version i to i + 1. Each step
 * runs in one transaction together with the update of schema_version, so a
 * crash leaves the database at one version or the next, never between.
 */
#ifndef TAUBE_STORE_MIGRATIONS_H
#define TAUBE_STORE_MIGRATIONS_H

#include <stddef.h>

extern const char *const store_migrations[];
extern const size_t store_nmigrations;

#endif
