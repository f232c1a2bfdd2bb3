/*
 * engine_load.c — compiles rule packs (JSON files, format in docs/RULES.md) into a
 * struct qb_ruleset: checks every rule (id, version, detector, action, parameters), reads
 * word lists and models relative to the pack, compiles regexes with PCRE2 and builds one
 * keyword automaton for all keyword rules.
 *
 * Problems are reported as "file:line:col: reason" through the config module's JSON
 * reader; the first one is returned to the caller. Nothing here logs.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_json.h"
#include "engine_int.h"
#include "util/util.h"

static const char *const det_names[QB_DET__COUNT + 1] = {
        /* NULL-terminated for qb_closest */
        "keywords",      "regex", "link",  "contact",   "card",        "forward", "long_paste",
        "sticker_flood", "atall", "flood", "duplicate", "cross_group", "repost",  "model",
};

static const char *const det_reasons[QB_DET__COUNT] = {
        "禁止发广告",
        "触发了本群的禁用规则",
        "本群不允许发这类链接",
        "禁止在群里留联系方式拉人",
        "本群不允许发分享卡片和小程序",
        "转发聊天记录请附上说明",
        "请不要大段粘贴文字",
        "请不要连续刷表情",
        "请不要随意 @全体成员",
        "发言太快了，请不要刷屏",
        "请不要重复发送相同内容",
        "请不要在多个群重复发同样的内容",
        "这段内容在群里流传过了",
        "疑似广告",
};

static const char *const action_names[] = {"strike", "recall", "note", "log", NULL};

static const char *const pack_keys[] = {"name", "rules", "description", NULL};
static const char *const rule_keys[] = {"id",       "version", "detector",   "action",     "reason",
                                        "newcomer", "words",   "words_file", "pattern",    "on",
                                        "links",    "deny",    "model_file", "chain_file", NULL};

const char *qb_det_name(enum qb_det d)
{
    return d < QB_DET__COUNT ? det_names[d] : "?";
}

const char *qb_det_default_reason(enum qb_det d)
{
    return d < QB_DET__COUNT ? det_reasons[d] : "违反群规";
}

void qb_rules__free_rule(struct qb_rule *rule)
{
    pcre2_code_free(rule->re);
    qb_nb_free(rule->model);
    for (size_t i = 0; i < rule->n_deny; i++)
        free(rule->deny[i]);
    free(rule->deny);
}

int qb_rules__add_word(struct qb_ruleset *r, const char *word, uint32_t ri)
{
    if (r->n_words == r->cap_words) {
        size_t cap = r->cap_words ? r->cap_words * 2 : 256;
        char **v = realloc(r->wordv, cap * sizeof *v);
        if (!v)
            return QB_ENOMEM;
        r->wordv = v;
        uint32_t *w = realloc(r->word_rule, cap * sizeof *w);
        if (!w)
            return QB_ENOMEM;
        r->word_rule = w;
        r->cap_words = cap;
    }
    char *copy = strdup(word);
    if (!copy)
        return QB_ENOMEM;
    int rc = qb_ac_add(r->words, copy, strlen(copy), (uint32_t)r->n_words);
    if (rc != QB_OK) {
        free(copy);
        return rc;
    }
    r->wordv[r->n_words] = copy;
    r->word_rule[r->n_words++] = ri;
    return QB_OK;
}

/* Loading context: the pack being read and the rule being built. */
struct load {
    struct qb_ruleset *r;
    struct qb_jdoc *j;
    char dir[4096]; /* the pack's directory, for relative file names */
};

/* The path of a file a pack names (relative to the pack); false if it is too long. */
static bool path_in(const struct load *ld, const cJSON *item, char *out, size_t n)
{
    const char *name = item->valuestring;
    int len = name[0] == '/' ? snprintf(out, n, "%s", name)
                             : snprintf(out, n, "%s/%s", ld->dir, name);
    if (len < 0 || (size_t)len >= n) {
        qb_jdoc_err(ld->j, item, false, "the file name is too long");
        return false;
    }
    return true;
}

/* Normalise one word and add it; "" after normalisation is an error the caller reports. */
static int add_word_text(struct load *ld, const char *text, uint32_t ri, bool *empty)
{
    size_t nlen = 0;
    char *norm = qb_rules_normalize(text, strlen(text), &nlen);
    if (!norm)
        return QB_ENOMEM;
    *empty = nlen == 0;
    int rc = *empty ? QB_OK : qb_rules__add_word(ld->r, norm, ri);
    free(norm);
    return rc;
}

/* Read a word list: one entry per line, '#' starts a comment line. */
static bool load_words_file(struct load *ld, const cJSON *item, uint32_t ri)
{
    char path[4096];
    if (!path_in(ld, item, path, sizeof path))
        return false;
    FILE *f = fopen(path, "r");
    if (!f) {
        qb_jdoc_err(ld->j, item, false, "cannot read the word list %s: %s", path, strerror(errno));
        return false;
    }
    char line[1024];
    int lineno = 0;
    bool ok = true;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        qb_trim(line);
        if (!line[0] || line[0] == '#')
            continue;
        if (!qb_utf8_valid(line, strlen(line))) {
            qb_jdoc_err(ld->j, item, false, "%s:%d: the line is not valid UTF-8", path, lineno);
            ok = false;
            continue;
        }
        bool empty = false;
        if (add_word_text(ld, line, ri, &empty) != QB_OK) {
            ld->j->oom = true;
            ok = false;
            break;
        }
        if (empty) {
            qb_jdoc_err(ld->j, item, false,
                        "%s:%d: the word has no letters or digits, so it would match nothing", path,
                        lineno);
            ok = false;
        }
    }
    fclose(f);
    return ok;
}

static bool load_words(struct load *ld, const cJSON *obj, uint32_t ri)
{
    const cJSON *words = qb_json_member(obj, "words");
    const cJSON *file = qb_json_member(obj, "words_file");
    bool ok = true;
    if (!words && !file) {
        qb_jdoc_err(ld->j, obj, false, "a keywords rule needs \"words\" or \"words_file\"");
        return false;
    }
    if (words && !cJSON_IsArray(words)) {
        qb_jdoc_err(ld->j, words, false, "\"words\" must be a list of strings, found %s",
                    qb_json_kind(words));
        return false;
    }
    const cJSON *w;
    cJSON_ArrayForEach(w, words)
    {
        bool empty = false;
        if (!cJSON_IsString(w) || !w->valuestring[0]) {
            qb_jdoc_err(ld->j, w, false, "each word must be a non-empty string");
            ok = false;
        } else if (add_word_text(ld, w->valuestring, ri, &empty) != QB_OK) {
            ld->j->oom = true;
            return false;
        } else if (empty) {
            qb_jdoc_err(ld->j, w, false,
                        "the word has no letters or digits, so it would match "
                        "nothing");
            ok = false;
        }
    }
    if (file && !cJSON_IsString(file)) {
        qb_jdoc_err(ld->j, file, false, "\"words_file\" must be a file name");
        return false;
    }
    if (file)
        ok = load_words_file(ld, file, ri) && ok;
    return ok;
}

static bool load_regex(struct load *ld, const cJSON *obj, struct qb_rule *rule)
{
    const cJSON *pat = qb_json_member(obj, "pattern");
    if (!pat || !cJSON_IsString(pat) || !pat->valuestring[0]) {
        qb_jdoc_err(ld->j, pat ? pat : obj, false, "a regex rule needs a \"pattern\" string");
        return false;
    }
    const cJSON *on = qb_json_member(obj, "on");
    if (on && !(cJSON_IsString(on) &&
                (!strcmp(on->valuestring, "raw") || !strcmp(on->valuestring, "normalized")))) {
        qb_jdoc_err(ld->j, on, false, "\"on\" must be \"normalized\" (default) or \"raw\"");
        return false;
    }
    rule->on_raw = on && !strcmp(on->valuestring, "raw");
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    rule->re = pcre2_compile((PCRE2_SPTR)pat->valuestring, PCRE2_ZERO_TERMINATED,
                             PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS, &errcode, &erroff, NULL);
    if (!rule->re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(errcode, msg, sizeof msg);
        qb_jdoc_err(ld->j, pat, false, "the pattern does not compile at character %zu: %s",
                    (size_t)erroff, (const char *)msg);
        return false;
    }
    return true;
}

static bool load_links(struct load *ld, const cJSON *obj, struct qb_rule *rule)
{
    const cJSON *links = qb_json_member(obj, "links");
    if (links && !(cJSON_IsString(links) &&
                   (!strcmp(links->valuestring, "any") || !strcmp(links->valuestring, "deny")))) {
        qb_jdoc_err(ld->j, links, false,
                    "\"links\" must be \"any\" (every link not allowed) or \"deny\" (only "
                    "denied domains)");
        return false;
    }
    rule->any_link = links && !strcmp(links->valuestring, "any");
    const cJSON *deny = qb_json_member(obj, "deny");
    if (!deny)
        return true;
    if (!cJSON_IsArray(deny)) {
        qb_jdoc_err(ld->j, deny, false, "\"deny\" must be a list of domains");
        return false;
    }
    int n = cJSON_GetArraySize(deny);
    rule->deny = calloc((size_t)n + 1, sizeof *rule->deny);
    if (!rule->deny) {
        ld->j->oom = true;
        return false;
    }
    const cJSON *d;
    cJSON_ArrayForEach(d, deny)
    {
        if (!cJSON_IsString(d) || !strchr(d->valuestring, '.')) {
            qb_jdoc_err(ld->j, d, false, "each denied domain must look like example.com");
            return false;
        }
        char *v = strdup(d->valuestring);
        if (!v) {
            ld->j->oom = true;
            return false;
        }
        for (char *p = v; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        rule->deny[rule->n_deny++] = v;
    }
    return true;
}

static bool load_model(struct load *ld, const cJSON *obj, struct qb_rule *rule)
{
    const cJSON *file = qb_json_member(obj, "model_file");
    if (!file || !cJSON_IsString(file)) {
        qb_jdoc_err(ld->j, file ? file : obj, false, "a model rule needs a \"model_file\"");
        return false;
    }
    char path[4096], err[256] = "";
    if (!path_in(ld, file, path, sizeof path))
        return false;
    if (qb_nb_load(path, &rule->model, err, sizeof err) != QB_OK) {
        qb_jdoc_err(ld->j, file, false, "the model %s cannot be used: %s", path, err);
        return false;
    }
    return true;
}

/* Known chain texts for the repost rule: one per line. */
static bool load_chain(struct load *ld, const cJSON *obj)
{
    const cJSON *file = qb_json_member(obj, "chain_file");
    if (!file)
        return true;
    if (!cJSON_IsString(file)) {
        qb_jdoc_err(ld->j, file, false, "\"chain_file\" must be a file name");
        return false;
    }
    char path[4096];
    if (!path_in(ld, file, path, sizeof path))
        return false;
    FILE *f = fopen(path, "r");
    if (!f) {
        qb_jdoc_err(ld->j, file, false, "cannot read the chain-text list %s: %s", path,
                    strerror(errno));
        return false;
    }
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        qb_trim(line);
        if (!line[0] || line[0] == '#')
            continue;
        size_t nlen = 0;
        char *norm = qb_rules_normalize(line, strlen(line), &nlen);
        if (!norm)
            break;
        struct qb_simentry e = {.hash = qb_simhash(norm, nlen), .ts_ms = 0};
        free(norm);
        if (qb_simidx_add(ld->r->chain, &e) != QB_OK)
            break;
    }
    fclose(f);
    return true;
}

static bool parse_enum(struct load *ld, const cJSON *item, const char *const *names, int n,
                       const char *what, int *out)
{
    if (!cJSON_IsString(item)) {
        qb_jdoc_err(ld->j, item, false, "%s must be a string, found %s", what, qb_json_kind(item));
        return false;
    }
    for (int i = 0; i < n && names[i]; i++)
        if (!strcmp(item->valuestring, names[i])) {
            *out = i;
            return true;
        }
    const char *near = qb_closest(item->valuestring, names);
    qb_jdoc_err(ld->j, item, false, "unknown %s \"%s\"%s%s%s", what, item->valuestring,
                near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
    return false;
}

static bool valid_id(const char *s)
{
    size_t n = strlen(s);
    if (!n || n >= QB_RULE_ID_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("._-", *p)))
            return false;
    return true;
}

static bool load_header(struct load *ld, const cJSON *obj, struct qb_rule *rule)
{
    const cJSON *id = qb_json_member(obj, "id");
    if (!id || !cJSON_IsString(id) || !valid_id(id->valuestring)) {
        qb_jdoc_err(ld->j, id ? id : obj, false,
                    "each rule needs an \"id\" of lower-case letters, digits, '.', '_' or '-' "
                    "(at most %d characters)",
                    QB_RULE_ID_MAX - 1);
        return false;
    }
    for (size_t i = 0; i < ld->r->n; i++)
        if (!strcmp(ld->r->rules[i].id, id->valuestring)) {
            qb_jdoc_err(ld->j, id, false, "the rule id \"%s\" is used twice", id->valuestring);
            return false;
        }
    snprintf(rule->id, sizeof rule->id, "%s", id->valuestring);
    int64_t version = 1;
    bool newcomer = false;
    if (!qb_get_int(ld->j, obj, "version", 1, 1000000, &version) ||
        !qb_get_bool(ld->j, obj, "newcomer", &newcomer))
        return false;
    rule->version = (int)version;
    rule->newcomer_only = newcomer;
    const cJSON *det = qb_json_member(obj, "detector");
    int v = 0;
    if (!det) {
        qb_jdoc_err(ld->j, obj, false, "rule \"%s\" needs a \"detector\"", rule->id);
        return false;
    }
    if (!parse_enum(ld, det, det_names, QB_DET__COUNT, "detector", &v))
        return false;
    rule->det = (enum qb_det)v;
    rule->action = rule->det == QB_DET_REPOST ? QB_RACT_NOTE : QB_RACT_STRIKE;
    const cJSON *act = qb_json_member(obj, "action");
    if (act) {
        if (!parse_enum(ld, act, action_names, 4, "action", &v))
            return false;
        rule->action = (enum qb_rule_action)v;
    }
    const cJSON *reason = qb_json_member(obj, "reason");
    if (reason && (!cJSON_IsString(reason) || !reason->valuestring[0])) {
        qb_jdoc_err(ld->j, reason, false, "\"reason\" must be a short sentence for members");
        return false;
    }
    qb_strlcpy(rule->reason, reason ? reason->valuestring : qb_det_default_reason(rule->det),
               sizeof rule->reason);
    return true;
}

static bool load_params(struct load *ld, const cJSON *obj, struct qb_rule *rule, uint32_t ri)
{
    switch (rule->det) {
    case QB_DET_KEYWORDS:
        return load_words(ld, obj, ri);
    case QB_DET_REGEX:
        return load_regex(ld, obj, rule);
    case QB_DET_LINK:
        return load_links(ld, obj, rule);
    case QB_DET_MODEL:
        return load_model(ld, obj, rule);
    case QB_DET_REPOST:
        return load_chain(ld, obj);
    default:
        return true;
    }
}

static bool load_rule(struct load *ld, const cJSON *obj)
{
    if (!cJSON_IsObject(obj)) {
        qb_jdoc_err(ld->j, obj, false, "each rule must be an object, found %s", qb_json_kind(obj));
        return false;
    }
    if (!qb_jdoc_check_keys(ld->j, obj, rule_keys, NULL))
        return false;
    struct qb_ruleset *r = ld->r;
    struct qb_rule *v = realloc(r->rules, (r->n + 1) * sizeof *v);
    if (!v) {
        ld->j->oom = true;
        return false;
    }
    r->rules = v;
    struct qb_rule *rule = &r->rules[r->n];
    memset(rule, 0, sizeof *rule);
    if (!load_header(ld, obj, rule) || !load_params(ld, obj, rule, (uint32_t)r->n)) {
        /* Keep the slot, disabled: words it added to the automaton point at this index. */
        qb_rules__free_rule(rule);
        memset(rule, 0, sizeof *rule);
        rule->disabled = true;
        r->n++;
        return false;
    }
    r->n++;
    return true;
}

static bool load_pack(struct qb_ruleset *r, const char *path, struct qb_diag *d)
{
    struct qb_jdoc j;
    if (qb_jdoc_load(&j, path, d) != QB_OK)
        return false;
    struct load ld = {.r = r, .j = &j};
    char tmp[4096];
    qb_strlcpy(tmp, path, sizeof tmp);
    qb_strlcpy(ld.dir, dirname(tmp), sizeof ld.dir);
    bool ok = true;
    const cJSON *rules = qb_json_member(j.root, "rules");
    if (!cJSON_IsObject(j.root)) {
        qb_jdoc_err(&j, j.root, false, "a rule pack is a JSON object with a \"rules\" list");
        ok = false;
    } else if (!qb_jdoc_check_keys(&j, j.root, pack_keys, NULL)) {
        ok = false;
    } else if (!cJSON_IsArray(rules)) {
        qb_jdoc_err(&j, rules ? rules : j.root, false, "\"rules\" must be a list of rules");
        ok = false;
    } else {
        const cJSON *it;
        cJSON_ArrayForEach(it, rules) ok = load_rule(&ld, it) && ok;
    }
    if (j.oom)
        qb_diag_add(d, path, 0, 0, "out of memory while reading the pack");
    ok = ok && j.nerr == 0 && !j.oom;
    qb_jdoc_free(&j);
    return ok;
}

static struct qb_ruleset *engine_new(void)
{
    struct qb_ruleset *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->words = qb_ac_new();
    r->recent = qb_simidx_new(65536);
    r->seen = qb_simidx_new(65536);
    r->chain = qb_simidx_new(4096);
    r->mem = calloc(QB_MEM_SLOTS, sizeof *r->mem);
    r->mctx = pcre2_match_context_create(NULL);
    r->md = pcre2_match_data_create(8, NULL);
    if (!r->words || !r->recent || !r->seen || !r->chain || !r->mem || !r->mctx || !r->md) {
        qb_ruleset_free(r);
        return NULL;
    }
    /* Pathological patterns on long hostile text must not stall the loop. */
    pcre2_set_match_limit(r->mctx, 100000);
    pcre2_set_depth_limit(r->mctx, 1000);
    return r;
}

int qb_ruleset_load(const char *const *pack_paths, size_t n, struct qb_ruleset **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    struct qb_ruleset *r = engine_new();
    if (!r)
        return QB_ENOMEM;
    struct qb_diag d = {0};
    bool ok = true;
    for (size_t i = 0; i < n; i++)
        ok = load_pack(r, pack_paths[i], &d) && ok;
    if (ok && qb_ac_build(r->words) != QB_OK) {
        qb_diag_add(&d, pack_paths[0], 0, 0, "out of memory while building the word automaton");
        ok = false;
    }
    if (!ok) {
        if (err && errlen && d.n)
            snprintf(err, errlen, "%s%s", d.v[0], d.n > 1 ? " (and more problems after it)" : "");
        else if (err && errlen)
            snprintf(err, errlen, "the rule packs could not be loaded");
        qb_diag_free(&d);
        qb_ruleset_free(r);
        return QB_EINVAL;
    }
    qb_diag_free(&d);
    *out = r;
    return QB_OK;
}

int qb_ruleset_load_partial(const char *const *pack_paths, size_t n, struct qb_ruleset **out,
                            void (*on_problem)(const char *msg, void *ud), void *ud)
{
    *out = NULL;
    struct qb_ruleset *r = engine_new();
    if (!r)
        return QB_ENOMEM;
    struct qb_diag d = {0};
    for (size_t i = 0; i < n; i++)
        load_pack(r, pack_paths[i], &d); /* a broken rule is left out, the rest stays */
    int rc = qb_ac_build(r->words);
    for (size_t i = 0; on_problem && i < d.n; i++)
        on_problem(d.v[i], ud);
    qb_diag_free(&d);
    if (rc != QB_OK) {
        qb_ruleset_free(r);
        return QB_ENOMEM;
    }
    *out = r;
    return QB_OK;
}

size_t qb_ruleset_count(const struct qb_ruleset *r)
{
    size_t n = 0;
    for (size_t i = 0; r && i < r->n; i++)
        n += !r->rules[i].disabled;
    return n;
}

void qb_ruleset_free(struct qb_ruleset *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        qb_rules__free_rule(&r->rules[i]);
    free(r->rules);
    for (size_t i = 0; i < r->n_words; i++)
        free(r->wordv[i]);
    free(r->wordv);
    free(r->word_rule);
    qb_ac_free(r->words);
    qb_simidx_free(r->recent);
    qb_simidx_free(r->seen);
    qb_simidx_free(r->chain);
    free(r->mem);
    pcre2_match_context_free(r->mctx);
    pcre2_match_data_free(r->md);
    free(r);
}
