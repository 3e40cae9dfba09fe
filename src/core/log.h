/* Logging.
 *
 * Contract: loop thread and worker threads may log; lines are written whole
 * with one write(2). The default level is warn (promise P14): at warn and
 * above no line may name a JID, an IP address, a password or message
 * content. Lines name a short session id ("c2s 3fa1b2") instead.
 */
#ifndef TAUBE_LOG_H
#define TAUBE_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error", "warn", "info", "debug"; returns -1 if unknown. */
int log_level_parse(const char *name);
/* Send further lines to fd (default 2, stderr). */
void log_set_fd(int fd);

void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_enabled(lvl) ((lvl) <= log_get_level())
#define log_error(...) \
    do { \
        log_write(LOG_ERROR, __VA_ARGS__); \
    } while (0)
#define log_warn(...) \
    do { \
        if (log_enabled(LOG_WARN)) \
            log_write(LOG_WARN, __VA_ARGS__); \
    } while (0)
#define log_info(...) \
    do { \
        if (log_enabled(LOG_INFO)) \
            log_write(LOG_INFO, __VA_ARGS__); \
    } while (0)
#define log_debug(...) \
    do { \
        if (log_enabled(LOG_DEBUG)) \
            log_write(LOG_DEBUG, __VA_ARGS__); \
    } while (0)

#endif
