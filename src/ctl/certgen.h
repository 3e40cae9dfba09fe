/* Self-signed server certificates for `taubectl init` (OpenSSL 3 API).
 *
 * Used once at set-up, so a fresh P-256 key and a certificate valid for
 * CERTGEN_DAYS days, naming DOMAIN, conference.DOMAIN and upload.DOMAIN
 * (the MUC and HTTP upload hosts), are enough. Operators replace them with
 * CA-issued ones for federation and for clients that insist.
 */
#ifndef TAUBE_CTL_CERTGEN_H
#define TAUBE_CTL_CERTGEN_H

#define CERTGEN_DAYS 365

/* Generates a key and a certificate for dns_name (ASCII: letters, digits,
 * '-' and '.') and writes them as PEM: the key to key_path with mode 0600,
 * the certificate to crt_path. Neither file may exist already. On failure
 * nothing is left behind; returns a negative errno and *err (malloc'ed)
 * says what failed. */
int certgen_write(const char *dns_name, const char *crt_path, const char *key_path, char **err);

#endif
