/* Fuzz target: the web pages' form decoding (html_form_value) and HTML
 * escaping on arbitrary bytes. A value found must be NUL-terminated,
 * fit the buffer, be valid UTF-8 and hold no NUL; escaped text must hold
 * none of the five special characters unescaped. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/html.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    static const char *const names[] = {"username", "password", "consent", "", "a"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char out[64];
        int n = html_form_value(body, size, names[i], out, sizeof out);
        if (n >= 0) {
            if ((size_t)n >= sizeof out || out[n] != '\0' || strlen(out) != (size_t)n ||
                !html_utf8_valid(out, (size_t)n))
                abort();
        }
    }
    struct buf b;
    buf_init(&b, 0);
    if (html_text(&b, body, size) == 0) {
        for (size_t i = 0; i < b.len; i++)
            if (strchr("<>\"'", b.data[i]) && b.data[i] != '\0')
                abort();
        size_t amps = 0;
        for (size_t i = 0; i < b.len; i++)
            amps += b.data[i] == '&';
        if (amps < (size_t)(memchr(body, '&', size) != NULL))
            abort();
    }
    buf_free(&b);
    return 0;
}
