/*
 * detect.c — the single-message detectors: link domains in raw text (qb_detect_links,
 * qb_domain_in) and contact offers in normalised text (qb_detect_contact).
 *
 * Both are hand-written scanners over bytes: one pass, a bounded look around each candidate,
 * no allocation, so 5000 characters of hostile text cost microseconds. They own nothing and
 * keep no state between calls; they never print. Evidence strings mask digits and ids.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rules.h"
#include "util/util.h"

/* ================================================================== UTF-8 */

/* Decode the code point at s[i]; returns its length (1 for an invalid byte, cp = 0xFFFD). */
static size_t utf8_at(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned c = s[i];
    size_t n;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        v = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        v = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        v = c & 0x07;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (i + n > len) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t k = 1; k < n; k++) {
        if ((s[i + k] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (s[i + k] & 0x3F);
    }
    *cp = v;
    return n;
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* ================================================================== links */

enum tok_kind { T_END = 0, T_ALNUM, T_HYPHEN, T_WORD, T_DOT, T_SPACE, T_AT, T_OTHER };

/* One code point of raw text as the link scanner sees it: full-width letters, digits and
 * dots fold to ASCII, U+3000 and no-break spaces are spaces. */
struct tok {
    enum tok_kind kind;
    char c;     /* lower-case ASCII for T_ALNUM */
    bool upper; /* the letter was written upper-case */
    bool ascii_dot;
    size_t n; /* bytes */
};

static void tok_at(const unsigned char *s, size_t len, size_t i, struct tok *t)
{
    memset(t, 0, sizeof *t);
    if (i >= len)
        return;
    uint32_t cp;
    t->n = utf8_at(s, len, i, &cp);
    if (cp >= 0xFF01 && cp <= 0xFF5E)
        cp -= 0xFEE0; /* full-width ASCII */
    if (is_digit((int)cp) || is_alpha((int)cp)) {
        t->kind = T_ALNUM;
        t->upper = cp >= 'A' && cp <= 'Z';
        t->c = (char)lower((int)cp);
    } else if (cp == '-') {
        t->kind = T_HYPHEN;
        t->c = '-';
    } else if (cp == '_') {
        t->kind = T_WORD;
    } else if (cp == '.' || cp == 0x3002 || cp == 0xFF61) {
        t->kind = T_DOT;
        t->ascii_dot = s[i] == '.';
    } else if (cp == ' ' || cp == '\t' || cp == 0x3000 || cp == 0xA0) {
        t->kind = T_SPACE;
    } else if (cp == '@') {
        t->kind = T_AT;
    } else {
        t->kind = T_OTHER;
    }
}

#define HOST_MAX  254
#define MAX_SPACE 3 /* spaces allowed on each side of a dot ("abc . com") */

/* A run of dot-separated labels ("www.abc.com"), lower-cased, dots as ASCII. */
struct chain {
    char host[HOST_MAX + 1];
    size_t hlen;
    bool overflow;
    size_t nlabels;
    size_t last;      /* offset of the last label in host */
    size_t end;       /* text offset just past the last label */
    bool tainted;     /* glued to an identifier ("my_file.cc", "abc.com_x") */
    bool ip_like;     /* every label a number 0-255 */
    bool multi_digit; /* some numeric label has two or more digits */
};

static void host_put(struct chain *ch, char c)
{
    if (ch->hlen < HOST_MAX)
        ch->host[ch->hlen++] = c;
    else
        ch->overflow = true;
    ch->host[ch->hlen] = '\0';
}

/* Parse one label at i (a T_ALNUM); returns the offset past it. */
static size_t parse_label(const unsigned char *s, size_t len, size_t i, struct chain *ch)
{
    struct tok t;
    size_t digits = 0, chars = 0;
    unsigned value = 0;
    ch->last = ch->hlen;
    for (tok_at(s, len, i, &t); t.kind == T_ALNUM || t.kind == T_HYPHEN; tok_at(s, len, i, &t)) {
        host_put(ch, t.c);
        chars++;
        if (is_digit(t.c)) {
            digits++;
            if (value < 1000)
                value = value * 10 + (unsigned)(t.c - '0');
        }
        i += t.n;
    }
    if (t.kind == T_WORD)
        ch->tainted = true;
    if (digits != chars || value > 255 || chars > 3)
        ch->ip_like = false;
    if (digits == chars && chars >= 2)
        ch->multi_digit = true;
    ch->nlabels++;
    return i;
}

/* After a label ending at i: is there a separator ("." "．" "。", spaces around) and another
 * label? Returns the offset of that label, or 0 if the chain ends here. */
static size_t next_label(const unsigned char *s, size_t len, size_t i)
{
    struct tok t;
    int before = 0, after = 0;
    for (tok_at(s, len, i, &t); t.kind == T_SPACE && before < MAX_SPACE; tok_at(s, len, i, &t)) {
        before++;
        i += t.n;
    }
    if (t.kind != T_DOT)
        return 0;
    bool ascii_dot = t.ascii_dot;
    i += t.n;
    for (tok_at(s, len, i, &t); t.kind == T_SPACE && after < MAX_SPACE; tok_at(s, len, i, &t)) {
        after++;
        i += t.n;
    }
    if (t.kind != T_ALNUM)
        return 0;
    /* "it. Me too": a sentence, not "it.me". */
    if (ascii_dot && after && !before && t.upper)
        return 0;
    return i;
}

static void parse_chain(const unsigned char *s, size_t len, size_t i, struct chain *ch)
{
    memset(ch, 0, sizeof *ch);
    ch->ip_like = true;
    for (;;) {
        i = parse_label(s, len, i, ch);
        ch->end = i;
        size_t next = next_label(s, len, i);
        if (!next)
            break;
        host_put(ch, '.');
        i = next;
    }
}

/* Top-level domains that are common in links people paste into Chinese groups. */
static const char *const tlds[] = {
        "com",   "cn",   "net",  "org",    "top",  "xyz",  "cc",   "io",    "me",   "vip",
        "club",  "shop", "site", "online", "info", "tk",   "ml",   "ga",    "link", "live",
        "fun",   "ink",  "icu",  "biz",    "tv",   "co",   "app",  "dev",   "pw",   "hk",
        "tw",    "jp",   "ru",   "cf",     "gq",   "pro",  "asia", "store", "tech", "website",
        "cloud", "wang", "ltd",  "run",    "cyou", "buzz", "sbs",  "mobi",  "xin",  "bet",
};

/* Short-link and invite hosts whose top-level domain is not in the list above. */
static const char *const known_hosts[] = {"discord.gg", "bit.ly", "goo.gl"};

static bool ends_with_label(const char *host, size_t hlen, const char *dom)
{
    size_t n = strlen(dom);
    if (hlen < n || memcmp(host + hlen - n, dom, n) != 0)
        return false;
    return hlen == n || host[hlen - n - 1] == '.';
}

static bool known_tld(const struct chain *ch)
{
    const char *tld = ch->host + ch->last;
    bool alpha = false;
    for (const char *p = tld; *p; p++) {
        if (is_digit(*p))
            return false;
        alpha = alpha || is_alpha(*p);
    }
    if (!alpha)
        return false;
    for (size_t k = 0; k < sizeof tlds / sizeof *tlds; k++)
        if (!strcmp(tld, tlds[k]))
            return true;
    for (size_t k = 0; k < sizeof known_hosts / sizeof *known_hosts; k++)
        if (ends_with_label(ch->host, ch->hlen, known_hosts[k]))
            return true;
    return false;
}

/* Is this chain a link when it stands without a scheme? */
static bool bare_link(const struct chain *ch)
{
    if (ch->tainted || ch->overflow || ch->nlabels < 2)
        return false;
    if (ch->nlabels == 4 && ch->ip_like)
        return ch->multi_digit; /* "47.100.2.5", not the version "1.2.3.4" */
    if (known_tld(ch))
        return true;
    return ch->nlabels >= 3 && !strncmp(ch->host, "www.", 4);
}

/* Skip a path, port, query or fragment after a host ("/a/b?c=1", ":8080"). */
static size_t skip_path(const unsigned char *s, size_t len, size_t i)
{
    if (i >= len || !strchr("/:?#", s[i]))
        return i;
    while (i < len && s[i] > ' ' && s[i] < 0x7F && !strchr("\"'<>`{}|\\^", s[i]))
        i++;
    return i;
}

static bool report(struct chain *ch, void (*fn)(const char *domain, void *ud), void *ud)
{
    const char *d = ch->host;
    if (!strncmp(d, "www.", 4) && strchr(d + 4, '.'))
        d += 4;
    if (!*d)
        return false;
    if (fn)
        fn(d, ud);
    return true;
}

/* "http://" or "https://" at i (ASCII, any case)? Returns its length or 0. */
static size_t scheme_at(const unsigned char *s, size_t len, size_t i)
{
    static const char *const schemes[] = {"https://", "http://"};
    for (size_t k = 0; k < 2; k++) {
        size_t n = strlen(schemes[k]);
        if (len - i >= n && !strncasecmp((const char *)s + i, schemes[k], n))
            return n;
    }
    return 0;
}

/* A URL with a scheme at i: every host counts, whatever its top-level domain. Returns the
 * offset to continue from; *found is set when a host was reported. */
static size_t scan_url(const unsigned char *s, size_t len, size_t i, struct chain *ch,
                       void (*fn)(const char *domain, void *ud), void *ud, bool *found)
{
    struct tok t;
    tok_at(s, len, i, &t);
    if (t.kind != T_ALNUM)
        return i;
    parse_chain(s, len, i, ch);
    i = ch->end;
    tok_at(s, len, i, &t);
    if (t.kind == T_AT) { /* user@host */
        size_t host = i + t.n;
        tok_at(s, len, host, &t);
        if (t.kind != T_ALNUM)
            return i;
        parse_chain(s, len, host, ch);
        i = ch->end;
    }
    if (!ch->overflow && !ch->tainted)
        *found = report(ch, fn, ud);
    return skip_path(s, len, i);
}

size_t qb_detect_links(const char *text, size_t len, void (*fn)(const char *domain, void *ud),
                       void *ud)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t count = 0, i = 0;
    enum tok_kind prev = T_SPACE;
    struct chain ch;
    if (!text)
        return 0;
    while (i < len) {
        struct tok t;
        tok_at(s, len, i, &t);
        /* A link starts at a letter or digit that does not continue a word or an e-mail. */
        if (t.kind != T_ALNUM || prev == T_ALNUM || prev == T_HYPHEN || prev == T_WORD ||
            prev == T_AT) {
            prev = t.kind;
            i += t.n;
            continue;
        }
        size_t sch = scheme_at(s, len, i);
        bool found = false;
        if (sch) {
            size_t next = scan_url(s, len, i + sch, &ch, fn, ud, &found);
            if (next == i + sch) /* "http://" and nothing usable: skip the word */
                next = i + 4;
            i = next;
        } else {
            parse_chain(s, len, i, &ch);
            i = ch.end;
            if (bare_link(&ch)) {
                found = report(&ch, fn, ud);
                i = skip_path(s, len, i);
            }
        }
        count += found;
        prev = T_ALNUM;
    }
    return count;
}

/* An IPv4 address ("47.100.23.5") matches only itself, never as a "subdomain". */
static bool is_ip(const char *d)
{
    for (; *d; d++)
        if (!is_digit(*d) && *d != '.')
            return false;
    return true;
}

bool qb_domain_in(const char *domain, const char *const *list, size_t n)
{
    if (!domain || !*domain || !list)
        return false;
    size_t dlen = strlen(domain);
    bool ip = is_ip(domain);
    for (size_t k = 0; k < n; k++) {
        const char *e = list[k];
        if (!e)
            continue;
        /* Entries may be written "*.example.com", ".example.com" or "www.example.com". */
        if (!strncmp(e, "*.", 2))
            e += 2;
        while (*e == '.')
            e++;
        if (!strncasecmp(e, "www.", 4) && strchr(e + 4, '.'))
            e += 4;
        size_t elen = strlen(e);
        while (elen && e[elen - 1] == '.')
            elen--;
        if (!elen || elen > dlen || (ip && elen != dlen))
            continue;
        if (strncasecmp(domain + dlen - elen, e, elen) != 0)
            continue;
        if (dlen == elen || domain[dlen - elen - 1] == '.')
            return true;
    }
    return false;
}

/* ================================================================== contacts */

/* Does norm[pos - strlen(w), pos) equal w? ASCII compared without case. A word that starts
 * with a letter must not continue a longer run of letters ("faq12345" is not "q"). */
static bool word_before(const char *s, size_t pos, const char *w)
{
    size_t n = strlen(w);
    if (pos < n || strncasecmp(s + pos - n, w, n) != 0)
        return false;
    return !is_alpha((unsigned char)w[0]) || pos == n || !is_alpha((unsigned char)s[pos - n - 1]);
}

/* Does norm[pos, …) start with w? */
static bool word_after(const char *s, size_t len, size_t pos, const char *w)
{
    if (pos >= len || lower((unsigned char)s[pos]) != (unsigned char)w[0])
        return false; /* the common case, without a call */
    size_t n = strlen(w);
    return len - pos >= n && strncasecmp(s + pos, w, n) == 0;
}

static size_t digit_run(const char *s, size_t len, size_t i)
{
    size_t j = i;
    while (j < len && is_digit((unsigned char)s[j]))
        j++;
    return j;
}

/* Mask the middle of a number or id: keep `head` and `tail` characters. */
static void mask(const char *p, size_t n, size_t head, size_t tail, size_t stars, char *out,
                 size_t outlen)
{
    size_t o = 0;
    if (head + tail > n)
        head = tail = 0;
    for (size_t k = 0; k < head && o + 1 < outlen; k++)
        out[o++] = p[k];
    for (size_t k = 0; k < stars && o + 1 < outlen; k++)
        out[o++] = '*';
    for (size_t k = n - tail; k < n && o + 1 < outlen; k++)
        out[o++] = p[k];
    out[o] = '\0';
}

struct found {
    enum qb_contact_kind kind;
    char ev[96];
};

/* Keep the most specific contact (lowest kind number); the first of a kind wins. */
static void found_set(struct found *f, enum qb_contact_kind k, const char *ev)
{
    if (f->kind != QB_CONTACT_NONE && f->kind <= k)
        return;
    f->kind = k;
    qb_strlcpy(f->ev, ev, sizeof f->ev);
}

/* Words right before a number that make it a QQ number or a QQ group number. */
struct qq_ctx {
    const char *word;
    size_t min_digits;
    const char *label;
};
static const struct qq_ctx qq_before[] = {
        {"qq号码", 5, "QQ号"}, {"qq号", 5, "QQ号"},   {"qq群", 5, "群号"}, {"qq", 5, "QQ号"},
        {"q号", 5, "QQ号"},    {"q群", 5, "群号"},    {"q", 5, "QQ号"},    {"qun", 5, "群号"},
        {"扣", 5, "QQ号"},     {"企鹅号", 5, "QQ号"}, {"企鹅", 5, "QQ号"}, {"群号码", 5, "群号"},
        {"群号", 5, "群号"},   {"群", 5, "群号"},     {"裙", 5, "群号"},   {"加我", 5, "QQ号"},
        {"联系", 6, "QQ号"},   {"加", 6, "QQ号"},
};
/* Filler between the word and the number ("qq号是12345678"). */
static const char *const qq_fill[] = {"", "是", "为", "号是"};
/* "加" that belongs to another word: 增加, 参加, 更加 … */
static const char *const jia_words[] = {"增", "参", "更", "附", "追", "叠", "外", "施"};
/* A number followed by one of these is an amount, not an account. */
static const char *const units[] = {
        "元", "块", "万", "亿", "个", "人", "次", "分", "秒", "米", "天", "年",
        "月", "日", "点", "岁", "级", "金", "经", "积", "倍", "张", "条", "件",
        "币", "票", "字", "楼", "页", "期", "届", "斤", "克", "多", "余", "来",
        "左", "以", "r",  "w",  "k",  "m",  "g",  "b",  "s",  "h",
};
/* Words before an 11-digit number that make it an order or tracking number. */
static const char *const not_phone[] = {"单号", "订单", "编号", "运单", "快递", "物流",
                                        "uid",  "id",   "工号", "学号", "卡号", "流水"};

static bool followed_by_unit(const char *s, size_t len, size_t j)
{
    for (size_t k = 0; k < sizeof units / sizeof *units; k++)
        if (word_after(s, len, j, units[k]))
            return true;
    return false;
}

static const struct qq_ctx *qq_context(const char *s, size_t i, size_t n)
{
    for (size_t f = 0; f < sizeof qq_fill / sizeof *qq_fill; f++) {
        if (!word_before(s, i, qq_fill[f]))
            continue;
        size_t pos = i - strlen(qq_fill[f]);
        for (size_t k = 0; k < sizeof qq_before / sizeof *qq_before; k++) {
            const struct qq_ctx *c = &qq_before[k];
            if (n < c->min_digits || !word_before(s, pos, c->word))
                continue;
            if (!strcmp(c->word, "加")) {
                size_t at = pos - strlen("加");
                bool other = false;
                for (size_t w = 0; w < sizeof jia_words / sizeof *jia_words; w++)
                    other = other || word_before(s, at, jia_words[w]);
                if (other)
                    continue;
            }
            return c;
        }
    }
    return NULL;
}

static bool phone_number(const char *s, size_t i, size_t n)
{
    const char *d = s + i;
    if (n == 13 && d[0] == '8' && d[1] == '6') { /* +86 */
        d += 2;
        n -= 2;
    }
    if (n != 11 || d[0] != '1' || d[1] < '3' || d[1] > '9')
        return false;
    for (size_t k = 0; k < sizeof not_phone / sizeof *not_phone; k++)
        if (word_before(s, i, not_phone[k]))
            return false;
    return true;
}

/* A maximal run of digits [i, j). */
static void check_number(const char *s, size_t len, size_t i, size_t j, struct found *f)
{
    size_t n = j - i;
    char ev[64], m[32];
    if (phone_number(s, i, n)) {
        const char *d = s + j - 11;
        mask(d, 11, 3, 4, 4, m, sizeof m);
        snprintf(ev, sizeof ev, "手机号 %s", m);
        found_set(f, QB_CONTACT_PHONE, ev);
        return;
    }
    if (n < 5 || n > 11 || s[i] == '0' || followed_by_unit(s, len, j))
        return;
    mask(s + i, n, 2, 2, n - 4, m, sizeof m);
    const struct qq_ctx *c = qq_context(s, i, n);
    if (c) {
        snprintf(ev, sizeof ev, "%s %s", c->label, m);
        found_set(f, QB_CONTACT_QQ, ev);
        return;
    }
    if (word_after(s, len, j, "qq") || word_after(s, len, j, "企鹅") ||
        word_after(s, len, j, "扣")) {
        snprintf(ev, sizeof ev, "QQ号 %s", m);
        found_set(f, QB_CONTACT_QQ, ev);
        return;
    }
    if (word_before(s, i, "微信") || word_before(s, i, "微信号")) {
        snprintf(ev, sizeof ev, "微信号 %s", m);
        found_set(f, QB_CONTACT_WECHAT, ev);
    }
}

#define ID_MAX 20 /* longest WeChat id */

/* An id of [a-z0-9_-] at i; returns its length, at most ID_MAX + 1 (longer is no id). */
static size_t id_run(const char *s, size_t len, size_t i)
{
    size_t j = i;
    while (j < len && j - i <= ID_MAX &&
           (is_alpha((unsigned char)s[j]) || is_digit((unsigned char)s[j]) || s[j] == '_' ||
            s[j] == '-'))
        j++;
    return j - i;
}

static void wechat_id(const char *p, size_t n, struct found *f)
{
    if (n < 6 || n > ID_MAX || !is_alpha((unsigned char)p[0]))
        return;
    char ev[64], m[32];
    mask(p, n, 2, 0, 3, m, sizeof m);
    snprintf(ev, sizeof ev, "微信号 %s", m);
    found_set(f, QB_CONTACT_WECHAT, ev);
}

/* After "微信" at pos: an id, possibly after "号", "号码", "是", "为". */
static void after_wechat_word(const char *s, size_t len, size_t pos, struct found *f)
{
    static const char *const fill[] = {"号码是", "号码", "号是", "号", "是", "为"};
    for (size_t k = 0; k < sizeof fill / sizeof *fill; k++)
        if (word_after(s, len, pos, fill[k])) {
            pos += strlen(fill[k]);
            break;
        }
    wechat_id(s + pos, id_run(s, len, pos), f);
}

/* A run of letters and digits that starts a word: "vxabc123", "wxid_abc123", "v" after 加. */
static void ascii_word(const char *s, size_t i, size_t n, struct found *f)
{
    if (n >= 10 && !strncasecmp(s + i, "wxid", 4)) {
        wechat_id(s + i, n, f);
        return;
    }
    if (n > 2 && (!strncasecmp(s + i, "vx", 2) || !strncasecmp(s + i, "wx", 2))) {
        wechat_id(s + i + 2, n - 2, f);
        return;
    }
    if (n > 1 && lower(s[i]) == 'v' &&
        (word_before(s, i, "加") || word_before(s, i, "私") || word_before(s, i, "联系")))
        wechat_id(s + i + 1, n - 1, f);
}

/* "加我", "私聊我" … and the words that make them a contact offer nearby. */
struct ask {
    const char *phrase;
    bool group; /* 进群/加群: only a QR code counts before it ("扫码进群") */
};
static const struct ask asks[] = {
        {"私聊我", false}, {"私信我", false}, {"滴滴我", false}, {"联系我", false}, {"加我", false},
        {"私我", false},   {"找我", false},   {"进群", true},    {"加群", true},
};
/* Contact words written in CJK (ASCII ones — qq, q号, v — are found with the letters). */
static const char *const contact_words[] = {"微信",   "企鹅", "扣",     "号码",  "联系方式",
                                            "二维码", "扫码", "电话号", "手机号"};
static bool is_qr(const char *w)
{
    return !strcmp(w, "二维码") || !strcmp(w, "扫码");
}
#define ASK_WINDOW 8 /* code points on each side of an ask */

static size_t back_chars(const char *s, size_t pos, int n)
{
    while (pos > 0 && n > 0) {
        pos--;
        while (pos > 0 && ((unsigned char)s[pos] & 0xC0) == 0x80)
            pos--;
        n--;
    }
    return pos;
}

static size_t fwd_chars(const char *s, size_t len, size_t pos, int n)
{
    while (pos < len && n > 0) {
        pos++;
        while (pos < len && ((unsigned char)s[pos] & 0xC0) == 0x80)
            pos++;
        n--;
    }
    return pos;
}

/* One forward pass over normalised text. Asks and contact words are paired through the last
 * one seen of each, so every byte is looked at a bounded number of times. */
struct scan {
    const char *s;
    size_t len;
    struct found f;
    const char *c_word, *qr_word; /* last contact word (or number), last QR word */
    size_t c_end, qr_end;
    const char *a_phrase; /* last ask, and how far its forward window reaches */
    size_t a_end, a_limit;
};

static void ask_hit(struct scan *sc, const char *phrase, const char *word)
{
    char ev[64];
    snprintf(ev, sizeof ev, "%s+%s", phrase, word);
    found_set(&sc->f, QB_CONTACT_ASK, ev);
}

static void saw_contact(struct scan *sc, size_t p, size_t n, const char *word)
{
    if (sc->a_phrase && p >= sc->a_end && p < sc->a_limit)
        ask_hit(sc, sc->a_phrase, word);
    sc->c_word = word;
    sc->c_end = p + n;
    if (is_qr(word)) {
        sc->qr_word = word;
        sc->qr_end = p + n;
    }
}

static bool ask_excluded(const char *s, size_t len, size_t start, size_t end, const char *phrase)
{
    if (!strcmp(phrase, "加群") || !strcmp(phrase, "进群")) {
        static const char *const not_join[] = {"主", "友", "员", "管", "聊"};
        for (size_t k = 0; k < sizeof not_join / sizeof *not_join; k++)
            if (word_after(s, len, end, not_join[k]))
                return true;
    }
    if (!strcmp(phrase, "加我"))
        for (size_t k = 0; k < sizeof jia_words / sizeof *jia_words; k++)
            if (word_before(s, start, jia_words[k]))
                return true;
    return false;
}

static void saw_ask(struct scan *sc, size_t i, const struct ask *a)
{
    size_t end = i + strlen(a->phrase);
    if (ask_excluded(sc->s, sc->len, i, end, a->phrase))
        return;
    size_t ws = back_chars(sc->s, i, ASK_WINDOW);
    const char *w = a->group ? sc->qr_word : sc->c_word;
    size_t wend = a->group ? sc->qr_end : sc->c_end;
    if (w && wend > ws && wend <= i)
        ask_hit(sc, a->phrase, w);
    sc->a_phrase = a->phrase;
    sc->a_end = end;
    sc->a_limit = fwd_chars(sc->s, sc->len, end, ASK_WINDOW);
}

/* A CJK (or other non-ASCII) character at i. */
static void scan_cjk(struct scan *sc, size_t i)
{
    const char *s = sc->s;
    if (word_after(s, sc->len, i, "微信"))
        after_wechat_word(s, sc->len, i + strlen("微信"), &sc->f);
    else if (word_after(s, sc->len, i, "加微")) /* "加微：abc_123" */
        after_wechat_word(s, sc->len, i + strlen("加微"), &sc->f);
    for (size_t k = 0; k < sizeof contact_words / sizeof *contact_words; k++)
        if (word_after(s, sc->len, i, contact_words[k])) {
            saw_contact(sc, i, strlen(contact_words[k]), contact_words[k]);
            break;
        }
    for (size_t k = 0; k < sizeof asks / sizeof *asks; k++)
        if (word_after(s, sc->len, i, asks[k].phrase)) {
            saw_ask(sc, i, &asks[k]);
            break;
        }
}

/* A run of ASCII letters [i, j) that starts a word. */
static void scan_letters(struct scan *sc, size_t i, size_t j)
{
    const char *s = sc->s;
    ascii_word(s, i, id_run(s, sc->len, i), &sc->f);
    if (j - i >= 2 && !strncasecmp(s + i, "qq", 2)) {
        saw_contact(sc, i, 2, "qq");
    } else if (j - i == 1 && j < sc->len && is_digit((unsigned char)s[j])) {
        return; /* "v4", "q1": a version or a number, handled with the digits */
    } else if (j - i == 1 && lower((unsigned char)s[i]) == 'q') {
        if (word_after(s, sc->len, j, "号"))
            saw_contact(sc, i, 1 + strlen("号"), "q号");
        else if (word_after(s, sc->len, j, "群"))
            saw_contact(sc, i, 1 + strlen("群"), "q群");
        else
            saw_contact(sc, i, 1, "q");
    } else if (j - i == 1 && lower((unsigned char)s[i]) == 'v') {
        saw_contact(sc, i, 1, "v"); /* "私我v" */
    }
}

enum qb_contact_kind qb_detect_contact(const char *norm, size_t len, char *ev, size_t evlen)
{
    struct scan sc = {.s = norm, .len = len};
    size_t i = 0;
    if (ev && evlen)
        ev[0] = '\0';
    if (!norm)
        return QB_CONTACT_NONE;
    while (i < len && sc.f.kind != QB_CONTACT_PHONE) {
        unsigned char c = (unsigned char)norm[i];
        size_t j = i + 1;
        if (is_digit(c)) {
            j = digit_run(norm, len, i);
            check_number(norm, len, i, j, &sc.f);
            if (j - i >= 5)
                saw_contact(&sc, i, j - i, "号码");
        } else if (is_alpha(c)) {
            while (j < len && is_alpha((unsigned char)norm[j]))
                j++;
            scan_letters(&sc, i, j);
        } else {
            if (c >= 0x80)
                scan_cjk(&sc, i);
            while (j < len && ((unsigned char)norm[j] & 0xC0) == 0x80)
                j++;
        }
        i = j;
    }
    if (sc.f.kind != QB_CONTACT_NONE && ev && evlen)
        qb_strlcpy(ev, sc.f.ev, evlen);
    return sc.f.kind;
}

const char *qb_contact_name(enum qb_contact_kind k)
{
    switch (k) {
    case QB_CONTACT_NONE:
        return "无";
    case QB_CONTACT_PHONE:
        return "手机号";
    case QB_CONTACT_QQ:
        return "QQ号";
    case QB_CONTACT_WECHAT:
        return "微信号";
    case QB_CONTACT_ASK:
        return "加好友邀约";
    }
    return "未知";
}
