/* log.c — the process-wide logger: level filter, text and JSON line
 * formats with escaping of untrusted text, one write per line. */
#include "obs/obs.h"

#include "base/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSG_MAX 4096   /* bytes of message kept */
#define VALUE_MAX 1024 /* bytes of a key=value value kept */
#define PAIRS_MAX 32

obs_level_t obs__log_min_level = OBS_LOG_INFO;
static obs_format_t log_format = OBS_LOG_TEXT;
static FILE *log_out; /* NULL: stderr */
static int64_t (*log_clock)(void);

static const char *const level_names[] = {"debug", "info", "notice", "warning", "error"};

const char *obs_level_name(obs_level_t level)
{
    if ((unsigned)level >= FEDGE_ARRAY_LEN(level_names))
        return "?";
    return level_names[level];
}

int obs_level_parse(const char *s, obs_level_t *out)
{
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(level_names); i++)
        if (!strcmp(s, level_names[i])) {
            *out = (obs_level_t)i;
            return 0;
        }
    if (!strcmp(s, "warn")) {
        *out = OBS_LOG_WARNING;
        return 0;
    }
    return FEDGE_EINVAL;
}

const char *obs_format_name(obs_format_t format)
{
    return format == OBS_LOG_JSON ? "json" : "text";
}

int obs_format_parse(const char *s, obs_format_t *out)
{
    if (!strcmp(s, "text"))
        *out = OBS_LOG_TEXT;
    else if (!strcmp(s, "json"))
        *out = OBS_LOG_JSON;
    else
        return FEDGE_EINVAL;
    return 0;
}

void obs_log_init(obs_level_t level, obs_format_t format, FILE *out)
{
    obs__log_min_level = level;
    log_format = format;
    log_out = out;
}

void obs_log_set_clock(int64_t (*now_ms)(void))
{
    log_clock = now_ms;
}

/* ---- a line buffer: on the stack for usual lines, on the heap beyond ---- */

typedef struct {
    char *p;
    size_t len, cap;
    char stack[2048];
} line_t;

static void line_init(line_t *l)
{
    l->p = l->stack;
    l->len = 0;
    l->cap = sizeof(l->stack);
}

static void line_reserve(line_t *l, size_t n)
{
    if (l->len + n <= l->cap)
        return;
    size_t cap = l->cap * 2;
    while (cap < l->len + n)
        cap *= 2;
    if (l->p == l->stack) {
        l->p = fedge_malloc(cap);
        memcpy(l->p, l->stack, l->len);
    } else {
        l->p = fedge_realloc(l->p, cap);
    }
    l->cap = cap;
}

static void put(line_t *l, const char *s, size_t n)
{
    line_reserve(l, n);
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

static void puts_(line_t *l, const char *s)
{
    put(l, s, strlen(s));
}

static void putc_(line_t *l, char ch)
{
    line_reserve(l, 1);
    l->p[l->len++] = ch;
}

static void put_hex(line_t *l, const char *prefix, unsigned v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    puts_(l, prefix);
    for (int i = digits - 1; i >= 0; i--)
        putc_(l, hex[(v >> (4 * i)) & 0xf]);
}

/* s[0..n) as the inside of a JSON string: escapes, invalid UTF-8 → U+FFFD. */
static void put_json_str(line_t *l, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        switch (c) {
        case '"':
            puts_(l, "\\\"");
            i++;
            continue;
        case '\\':
            puts_(l, "\\\\");
            i++;
            continue;
        case '\n':
            puts_(l, "\\n");
            i++;
            continue;
        case '\r':
            puts_(l, "\\r");
            i++;
            continue;
        case '\t':
            puts_(l, "\\t");
            i++;
            continue;
        }
        if (c < 0x20) {
            put_hex(l, "\\u", c, 4);
            i++;
            continue;
        }
        size_t k = fedge_utf8_len(u + i, n - i);
        if (k == 0) {
            puts_(l, "\\ufffd");
            i++;
        } else {
            put(l, s + i, k);
            i += k;
        }
    }
}

/* Text format: control bytes escaped so that a line stays one line; inside
 * quotes (quoted true) also '"' and '\'. */
static void put_text(line_t *l, const char *s, size_t n, bool quoted)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            puts_(l, "\\n");
        else if (c == '\r')
            puts_(l, "\\r");
        else if (c == '\t')
            puts_(l, "\\t");
        else if (c < 0x20 || c == 0x7f)
            put_hex(l, "\\x", c, 2);
        else if (quoted && (c == '"' || c == '\\')) {
            putc_(l, '\\');
            putc_(l, (char)c);
        } else
            putc_(l, (char)c);
    }
}

static bool needs_quotes(const char *s, size_t n)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
            return true;
    }
    return false;
}

static int64_t real_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put_timestamp(line_t *l)
{
    int64_t ms = log_clock ? log_clock() : real_clock();
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char buf[40];
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof(buf) - n, ".%03dZ", (int)(ms % 1000));
    puts_(l, buf);
}

static void put_field(line_t *l, const char *key, const char *v, size_t vn, bool is_null)
{
    if (log_format == OBS_LOG_JSON) {
        puts_(l, ",\"");
        put_json_str(l, key, strlen(key));
        puts_(l, "\":");
        if (is_null) {
            puts_(l, "null");
        } else {
            putc_(l, '"');
            put_json_str(l, v, vn);
            putc_(l, '"');
        }
        return;
    }
    putc_(l, ' ');
    put_text(l, key, strlen(key), false);
    putc_(l, '=');
    if (is_null) {
        putc_(l, '-');
    } else if (needs_quotes(v, vn)) {
        putc_(l, '"');
        put_text(l, v, vn, true);
        putc_(l, '"');
    } else {
        put(l, v, vn);
    }
}

/* Writes the head of a line and the message. */
static void put_head(line_t *l, obs_level_t level, const char *component, const char *msg,
                     size_t mn)
{
    bool cut = mn > MSG_MAX;
    if (cut)
        mn = MSG_MAX;
    if (!component)
        component = "fedge";
    if (log_format == OBS_LOG_JSON) {
        puts_(l, "{\"ts\":\"");
        put_timestamp(l);
        puts_(l, "\",\"level\":\"");
        puts_(l, obs_level_name(level));
        puts_(l, "\",\"component\":\"");
        put_json_str(l, component, strlen(component));
        puts_(l, "\",\"msg\":\"");
        put_json_str(l, msg, mn);
        if (cut)
            puts_(l, "...");
        putc_(l, '"');
        return;
    }
    put_timestamp(l);
    putc_(l, ' ');
    puts_(l, obs_level_name(level));
    putc_(l, ' ');
    put_text(l, component, strlen(component), false);
    puts_(l, ": ");
    put_text(l, msg, mn, false);
    if (cut)
        puts_(l, "...");
}

static void emit(line_t *l)
{
    if (log_format == OBS_LOG_JSON)
        putc_(l, '}');
    putc_(l, '\n');
    FILE *out = log_out ? log_out : stderr;
    fwrite(l->p, 1, l->len, out); /* one call per line: stdio keeps it whole */
    fflush(out);
    if (l->p != l->stack)
        free(l->p);
}

void obs_logf(obs_level_t level, const char *component, const char *fmt, ...)
{
    if (!obs_log_enabled(level))
        return;
    char small[512];
    char *msg = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = 0;
        small[0] = '\0';
    } else if ((size_t)n >= sizeof(small)) {
        /* Format at most MSG_MAX + 1 bytes (enough to know it was cut). */
        size_t cap = (size_t)n < MSG_MAX + 1 ? (size_t)n + 1 : MSG_MAX + 2;
        msg = fedge_malloc(cap);
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
        if ((size_t)n >= cap)
            n = (int)cap - 1;
    }
    line_t l;
    line_init(&l);
    put_head(&l, level, component, msg, (size_t)n);
    emit(&l);
    if (msg != small)
        free(msg);
}

void obs_logkv(obs_level_t level, const char *component, const char *msg, ...)
{
    if (!obs_log_enabled(level))
        return;
    if (!msg)
        msg = "";
    line_t l;
    line_init(&l);
    put_head(&l, level, component, msg, strlen(msg));
    va_list ap;
    va_start(ap, msg);
    for (int i = 0; i < PAIRS_MAX; i++) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        size_t vn = v ? strnlen(v, VALUE_MAX + 1) : 0;
        if (vn > VALUE_MAX) {
            /* Cut long values, marking the cut inside the value. */
            char tmp[VALUE_MAX + 3];
            memcpy(tmp, v, VALUE_MAX);
            memcpy(tmp + VALUE_MAX, "...", 3);
            put_field(&l, k, tmp, VALUE_MAX + 3, false);
        } else {
            put_field(&l, k, v, vn, v == NULL);
        }
    }
    va_end(ap);
    emit(&l);
}
