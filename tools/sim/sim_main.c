/*
 * sim_main.c — the qunbot-sim program: a NapCat-like OneBot v11 implementation on the
 * command line for the sandbox, demos and e2e scenario files. Parses options, runs the
 * simulator library on the default libev loop, appends API calls to --record, writes
 * --port-file, and exits 0, 1 (a script expectation failed / could not start) or 2 (usage).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <ev.h>
#include <libwebsockets.h>

#include <qunbot/qunbot.h>

#include "sim.h"
#include "util/util.h"

struct app {
    struct qb_sim *sim;
    FILE *record;
    size_t recorded;
    bool exit_after_script, has_script;
    ev_prepare prepare;
    ev_signal sigint, sigterm;
};

static void usage(FILE *f)
{
    fputs("usage: qunbot-sim [options]\n"
          "A NapCat-like OneBot v11 implementation for trying qunbot without a QQ account.\n"
          "\n"
          "  --listen HOST:PORT    listen for the bot (forward WebSocket; default 127.0.0.1:3001)\n"
          "  --reverse URL         connect to the bot instead (ws://HOST:PORT/PATH), retrying\n"
          "  --token T             access token the bot must present (default: none)\n"
          "  --auth napcat|http    how a wrong token is refused (default napcat: one 1403\n"
          "                        frame then close; http: 401/403 before the upgrade)\n"
          "  --self-id ID          the bot account's QQ number (default 10001)\n"
          "  --heartbeat MS        heartbeat interval, 0 = none (default 30000)\n"
          "  --report-self         report the bot's own messages as message_sent events\n"
          "  --string-format       post messages as CQ strings instead of segment arrays\n"
          "  --transcript          print every message (members' and the bot's) to stdout\n"
          "  --demo                start with a lively demo community (3 groups)\n"
          "  --chatter MS          let members do something every MS milliseconds\n"
          "  --script FILE         run a scenario file (see docs/SIMULATOR.md)\n"
          "  --exit-after-script   exit when the script has finished (status 1 if an\n"
          "                        expectation failed)\n"
          "  --record FILE         append every API call the bot makes as a JSON line\n"
          "  --port-file FILE      write the listening port to FILE once ready\n"
          "  --seed N              seed for the demo and chatter (default fixed)\n"
          "  --media-dir DIR       serve GET /media/NAME from DIR over plain HTTP on the\n"
          "                        listening port (a stand-in for QQ's picture server)\n"
          "  --help, --version\n",
          f);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void write_record(struct app *a)
{
    if (!a->record)
        return;
    size_t n = qb_sim_ncalls(a->sim);
    for (; a->recorded < n; a->recorded++) {
        const struct qb_sim_call *c = qb_sim_call_at(a->sim, a->recorded);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "at_ms", (double)c->at_ms);
        cJSON_AddStringToObject(o, "action", c->action);
        cJSON_AddStringToObject(o, "echo", c->echo);
        cJSON *params = cJSON_Parse(c->params);
        cJSON_AddItemToObject(o, "params", params ? params : cJSON_CreateObject());
        char *line = cJSON_PrintUnformatted(o);
        if (line)
            fprintf(a->record, "%s\n", line);
        cJSON_free(line);
        cJSON_Delete(o);
    }
    fflush(a->record);
}

static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)revents;
    struct app *a = w->data;
    write_record(a);
    if (a->exit_after_script && a->has_script && qb_sim_script_finished(a->sim))
        ev_break(loop, EVBREAK_ALL);
}

static int write_port_file(const char *path, int port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

static bool parse_listen(const char *arg, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(arg, ':');
    if (!colon || colon == arg)
        return false;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || colon[1] == '\0' || p < 0 || p > 65535)
        return false;
    size_t n = (size_t)(colon - arg);
    if (n >= hostlen)
        return false;
    memcpy(host, arg, n);
    host[n] = '\0';
    *port = (int)p;
    return true;
}

static bool parse_int(const char *s, long long min, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < min)
        return false;
    *out = v;
    return true;
}

enum {
    OPT_LISTEN = 1000,
    OPT_REVERSE,
    OPT_TOKEN,
    OPT_AUTH,
    OPT_SELF,
    OPT_HEARTBEAT,
    OPT_REPORT_SELF,
    OPT_STRING,
    OPT_TRANSCRIPT,
    OPT_DEMO,
    OPT_CHATTER,
    OPT_SCRIPT,
    OPT_EXIT,
    OPT_RECORD,
    OPT_PORT_FILE,
    OPT_SEED,
    OPT_MEDIA_DIR,
    OPT_HELP,
    OPT_VERSION,
};

static const struct option long_opts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"reverse", required_argument, NULL, OPT_REVERSE},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"auth", required_argument, NULL, OPT_AUTH},
        {"self-id", required_argument, NULL, OPT_SELF},
        {"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
        {"report-self", no_argument, NULL, OPT_REPORT_SELF},
        {"string-format", no_argument, NULL, OPT_STRING},
        {"transcript", no_argument, NULL, OPT_TRANSCRIPT},
        {"demo", no_argument, NULL, OPT_DEMO},
        {"chatter", required_argument, NULL, OPT_CHATTER},
        {"script", required_argument, NULL, OPT_SCRIPT},
        {"exit-after-script", no_argument, NULL, OPT_EXIT},
        {"record", required_argument, NULL, OPT_RECORD},
        {"port-file", required_argument, NULL, OPT_PORT_FILE},
        {"seed", required_argument, NULL, OPT_SEED},
        {"media-dir", required_argument, NULL, OPT_MEDIA_DIR},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
};

struct cli {
    struct qb_sim_opts o;
    char host[256];
    bool listen_given, demo, exit_after;
    long long chatter;
    const char *script, *record, *port_file;
};

static int bad_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "qunbot-sim: %s%s%s\nTry 'qunbot-sim --help'.\n", msg, arg ? ": " : "",
            arg ? arg : "");
    return 2;
}

/* Returns -1 to continue, else an exit status. */
static int parse_args(int argc, char **argv, struct cli *c)
{
    long long v;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_LISTEN:
            if (!parse_listen(optarg, c->host, sizeof c->host, &c->o.port))
                return bad_usage("--listen needs HOST:PORT, for example 127.0.0.1:3001", optarg);
            c->listen_given = true;
            break;
        case OPT_REVERSE:
            c->o.reverse_url = optarg;
            break;
        case OPT_TOKEN:
            c->o.token = optarg;
            break;
        case OPT_AUTH:
            if (!strcmp(optarg, "napcat"))
                c->o.auth_style = QB_SIM_AUTH_NAPCAT;
            else if (!strcmp(optarg, "http"))
                c->o.auth_style = QB_SIM_AUTH_HTTP;
            else
                return bad_usage("--auth must be napcat or http", optarg);
            break;
        case OPT_SELF:
            c->o.self_id = optarg;
            break;
        case OPT_HEARTBEAT:
            if (!parse_int(optarg, 0, &v) || v > 86400000)
                return bad_usage("--heartbeat needs milliseconds (0 = none)", optarg);
            c->o.heartbeat_ms = (int)v;
            break;
        case OPT_REPORT_SELF:
            c->o.report_self = true;
            break;
        case OPT_STRING:
            c->o.string_format = true;
            break;
        case OPT_TRANSCRIPT:
            c->o.transcript = true;
            break;
        case OPT_DEMO:
            c->demo = true;
            break;
        case OPT_CHATTER:
            if (!parse_int(optarg, 1, &c->chatter) || c->chatter > 86400000)
                return bad_usage("--chatter needs milliseconds greater than 0", optarg);
            break;
        case OPT_SCRIPT:
            c->script = optarg;
            break;
        case OPT_EXIT:
            c->exit_after = true;
            break;
        case OPT_RECORD:
            c->record = optarg;
            break;
        case OPT_PORT_FILE:
            c->port_file = optarg;
            break;
        case OPT_SEED:
            if (!parse_int(optarg, 0, &v))
                return bad_usage("--seed needs a number", optarg);
            c->o.seed = (uint64_t)v;
            break;
        case OPT_MEDIA_DIR:
            c->o.media_dir = optarg;
            break;
        case OPT_HELP:
            usage(stdout);
            return 0;
        case OPT_VERSION:
            printf("qunbot-sim %s\n", QB_VERSION);
            return 0;
        default:
            return bad_usage("unknown option or missing value", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bad_usage("unexpected argument", argv[optind]);
    return -1;
}

static void banner(const struct cli *c, struct qb_sim *sim)
{
    const char *tok = qb_str_empty(c->o.token) ? "no token" : "token required";
    if (c->o.port >= 0 && c->o.reverse_url)
        fprintf(stderr,
                "qunbot-sim: NapCat-like OneBot v11 on ws://%s:%d (%s), also connecting to %s\n",
                c->host, qb_sim_port(sim), tok, c->o.reverse_url);
    else if (c->o.port >= 0)
        fprintf(stderr, "qunbot-sim: NapCat-like OneBot v11 on ws://%s:%d (%s)\n", c->host,
                qb_sim_port(sim), tok);
    else
        fprintf(stderr, "qunbot-sim: NapCat-like OneBot v11 connecting to %s (%s)\n",
                c->o.reverse_url, tok);
}

int main(int argc, char **argv)
{
    struct cli c;
    memset(&c, 0, sizeof c);
    c.o.heartbeat_ms = 30000;
    c.o.port = 3001;
    snprintf(c.host, sizeof c.host, "127.0.0.1");
    int rc = parse_args(argc, argv, &c);
    if (rc >= 0)
        return rc;
    if (c.exit_after && !c.script)
        return bad_usage("--exit-after-script needs --script FILE", NULL);
    if (c.o.reverse_url && !c.listen_given)
        c.o.port = -1;
    c.o.listen_host = c.host;

    lws_set_log_level(LLL_ERR, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct ev_loop *loop = ev_default_loop(0);
    c.o.loop = loop;
    char err[400] = "";
    struct app a;
    memset(&a, 0, sizeof a);
    a.sim = qb_sim_new(&c.o, err, sizeof err);
    if (!a.sim) {
        fprintf(stderr, "qunbot-sim: %s\n", err);
        return 1;
    }
    if (c.demo)
        qb_sim_populate_demo(a.sim);
    if (c.script && qb_sim_load_script(a.sim, c.script, err, sizeof err)) {
        fprintf(stderr, "qunbot-sim: %s\n", err);
        qb_sim_free(a.sim);
        return 2;
    }
    a.has_script = c.script != NULL;
    a.exit_after_script = c.exit_after;
    if (c.record && !(a.record = fopen(c.record, "a"))) {
        fprintf(stderr, "qunbot-sim: cannot open %s for the call record: %s\n", c.record,
                strerror(errno));
        qb_sim_free(a.sim);
        return 1;
    }
    if (c.port_file && qb_sim_port(a.sim) >= 0 &&
        write_port_file(c.port_file, qb_sim_port(a.sim))) {
        fprintf(stderr, "qunbot-sim: cannot write the port file %s: %s\n", c.port_file,
                strerror(errno));
        qb_sim_free(a.sim);
        return 1;
    }
    if (c.chatter)
        qb_sim_chatter(a.sim, (int)c.chatter);
    banner(&c, a.sim);

    ev_prepare_init(&a.prepare, on_prepare);
    a.prepare.data = &a;
    ev_prepare_start(loop, &a.prepare);
    ev_signal_init(&a.sigint, on_signal, SIGINT);
    ev_signal_start(loop, &a.sigint);
    ev_signal_init(&a.sigterm, on_signal, SIGTERM);
    ev_signal_start(loop, &a.sigterm);

    ev_run(loop, 0);

    write_record(&a);
    int failures = qb_sim_script_failures(a.sim);
    if (a.has_script)
        fprintf(stderr, "qunbot-sim: script %s: %s, %d expectation(s) failed\n", c.script,
                qb_sim_script_finished(a.sim) ? "finished" : "stopped early", failures);
    ev_prepare_stop(loop, &a.prepare);
    ev_signal_stop(loop, &a.sigint);
    ev_signal_stop(loop, &a.sigterm);
    qb_sim_free(a.sim);
    if (a.record)
        fclose(a.record);
    ev_run(loop, EVRUN_NOWAIT);
    ev_loop_destroy(loop);
    return failures ? 1 : 0;
}
