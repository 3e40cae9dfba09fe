/* Fuzz target: the control socket's request line (control_parse), as the
 * server hands it over: at most 4 KiB, cut at the first LF, a trailing CR
 * dropped, NUL-terminated. Checks that a parsed request respects its
 * command's argument counts and that every argument lies inside the line
 * and holds no TAB. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/control.h"

#define LINE_MAX_BYTES 4095

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char line[LINE_MAX_BYTES + 1];
    size_t len = size < LINE_MAX_BYTES ? size : LINE_MAX_BYTES;
    const uint8_t *lf = memchr(data, '\n', len);
    if (lf)
        len = (size_t)(lf - data);
    memcpy(line, data, len);
    if (len > 0 && line[len - 1] == '\r')
        len--;
    line[len] = '\0';
    const char *args[CONTROL_MAX_ARGS];
    int nargs = -1;
    const char *why = NULL;
    const struct control_command *cmd = control_parse(line, len, args, &nargs, &why);
    if (!cmd) {
        if (!why || nargs != 0)
            abort();
        return 0;
    }
    if (nargs < cmd->min_args || nargs > cmd->max_args || nargs > CONTROL_MAX_ARGS)
        abort();
    for (int i = 0; i < nargs; i++)
        if (args[i] < line || args[i] > line + len || strchr(args[i], '\t'))
            abort();
    return 0;
}
