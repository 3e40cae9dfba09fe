/* vCards (XEP-0054): what other parts need of the module (vcard.c). */
#ifndef TAUBE_VCARD_H
#define TAUBE_VCARD_H

#include "store/vcard.h"
#include "xml/xml.h"

/* SHA-1 of the image in PHOTO/BINVAL of vcard (a <vCard xmlns='vcard-temp'/>
 * in st) as lower-case hex into hash, or "" if there is none or it is not
 * base64 (XEP-0153's avatar hash). */
void vcard_photo_hash(struct stanza *st, const struct xml_node *vcard,
                      char hash[VCARD_HASH_LEN + 1]);

#endif
