/* Fuzz target: registration codes as people type them (invite_code_parse)
 * and --expires durations (invite_parse_duration). A code that parses
 * must print back (through a fresh encoding of its bytes) to a text that
 * parses to the same bytes; a duration must be positive and at most ten
 * years. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modules/invite.h"

/* The printed form of code, as invite_code_new prints it. */
static void print_code(const uint8_t code[INVITE_CODE_BYTES], char text[INVITE_CODE_TEXT])
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    size_t o = 0, n = 0;
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < INVITE_CODE_BYTES; i++) {
        acc = (acc << 8) | code[i];
        for (bits += 8; bits >= 5; n++) {
            bits -= 5;
            if (n > 0 && n % 4 == 0)
                text[o++] = '-';
            text[o++] = alphabet[(acc >> bits) & 31];
        }
    }
    text[o] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t code[INVITE_CODE_BYTES], again[INVITE_CODE_BYTES];
    if (invite_code_parse((const char *)data, size, code) == 0) {
        char text[INVITE_CODE_TEXT];
        print_code(code, text);
        if (invite_code_parse(text, strlen(text), again) != 0 ||
            memcmp(code, again, sizeof code) != 0)
            abort();
    }
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t secs = 0;
    if (invite_parse_duration(s, &secs) == 0 && (secs <= 0 || secs > 10 * 366 * 86400LL))
        abort();
    free(s);
    return 0;
}
