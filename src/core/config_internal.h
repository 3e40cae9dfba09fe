/* Internals of the configuration engine shared by config.c (loading)
 * and config_doc.c (the default file and the reference). */
#ifndef TAUBE_CONFIG_INTERNAL_H
#define TAUBE_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

#define WHY_LEN 200 /* bytes of a "why a value is wrong" message */
#define CONFIG_SECRET_MIN 16   /* a component's shared secret (CFG_SECRETS) */
#define CONFIG_SECRET_MAX 1023

bool config_is_list(enum config_type t);
/* "0 to 65535", "error, warn, info or debug", ... for messages and docs. */
void config_describe_allowed(const struct config_option *o, char *out, size_t n);
const char *config_type_name(enum config_type t);
/* Checks and lower-cases a domain (IDN to Unicode form); *out malloc'ed.
 * 0 or -EINVAL with the reason in why. */
int config_normalize_domain(const char *s, size_t len, char **out, char *why, size_t wn);

#endif
