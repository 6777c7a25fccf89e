/* metrics.c — the registry of counters and its Prometheus text output. */
#include "obs/obs.h"

#include "base/base.h"

static obs_counter_t *counters, **counters_tail = &counters;

void obs_counter_register(obs_counter_t *c)
{
    for (obs_counter_t *p = counters; p; p = p->next)
        if (p == c)
            return;
    c->next = NULL;
    *counters_tail = c;
    counters_tail = &c->next;
}

int obs_metrics_write(FILE *out)
{
    for (obs_counter_t *c = counters; c; c = c->next) {
        fprintf(out, "# HELP %s ", c->name);
        for (const char *h = c->help ? c->help : ""; *h; h++) {
            if (*h == '\\')
                fputs("\\\\", out);
            else if (*h == '\n')
                fputs("\\n", out);
            else
                fputc(*h, out);
        }
        fprintf(out, "\n# TYPE %s counter\n%s %llu\n", c->name, c->name,
                (unsigned long long)c->value);
    }
    return ferror(out) ? FEDGE_EIO : 0;
}
