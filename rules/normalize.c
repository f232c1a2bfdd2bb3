/*
 * normalize.c — qb_rules_normalize: folds message text so that evasion spellings meet the
 * same keywords. Full-width, look-alike, mathematical and enclosed letters become ASCII,
 * symbols, emoji, marks and invisible characters are dropped, spelled-out digit runs become
 * digits and contact-word homophones become the canonical word.
 * Owns only the const tables below: no state, no I/O. Every step is linear in the input;
 * the output is at most three times the input (homophone rewrites) plus the terminator.
 */
#include "rules.h"

#include <stdlib.h>
#include <string.h>

#include <qunbot/qunbot.h>

/* ------------------------------------------------------------------ tables */

/* Digit words: count as digits in a run of four or more digit-like characters. Sorted. */
static const struct digit_word {
    uint32_t cp;
    int8_t value;
} DIGIT_WORDS[] = {
        {0x3007, 0}, /* 〇 */ {0x4E00, 1}, /* 一 */ {0x4E03, 7}, /* 七 */ {0x4E09, 3}, /* 三 */
        {0x4E5D, 9}, /* 九 */ {0x4E8C, 2}, /* 二 */ {0x4E94, 5}, /* 五 */ {0x4F0D, 5}, /* 伍 */
        {0x516B, 8}, /* 八 */ {0x516D, 6}, /* 六 */ {0x53C1, 3}, /* 叁 */ {0x53C3, 3}, /* 參 */
        {0x56DB, 4}, /* 四 */ {0x58F9, 1}, /* 壹 */ {0x5E7A, 1}, /* 幺 */ {0x634C, 8}, /* 捌 */
        {0x67D2, 7}, /* 柒 */ {0x7396, 9}, /* 玖 */ {0x8086, 4}, /* 肆 */ {0x8CB3, 2}, /* 貳 */
        {0x8D30, 2}, /* 贰 */ {0x9646, 6}, /* 陆 */ {0x9678, 6}, /* 陸 */ {0x96F6, 0}, /* 零 */
};

/* Single code points with a fixed ASCII replacement ("" = drop). Checked before the ranges
 * below, so entries here override their block's rule. Sorted by code point. */
static const struct char_map {
    uint32_t cp;
    char to[4];
} CHAR_MAP[] = {
        /* Latin-1 symbols and letters that do not fold to one letter */
        {0x00AA, "a"},
        {0x00B2, "2"},
        {0x00B3, "3"},
        {0x00B5, "u"},
        {0x00B9, "1"},
        {0x00BA, "o"},
        {0x00C6, "ae"},
        {0x00D7, ""},
        {0x00DE, "th"},
        {0x00DF, "ss"},
        {0x00E6, "ae"},
        {0x00F7, ""},
        {0x00FE, "th"},
        /* IPA and small capitals used as fancy Latin */
        {0x0251, "a"},
        {0x0261, "g"},
        {0x0262, "g"},
        {0x026A, "i"},
        {0x0274, "n"},
        {0x0280, "r"},
        {0x028F, "y"},
        {0x0299, "b"},
        {0x029C, "h"},
        {0x029F, "l"},
        /* Greek punctuation and Latin look-alikes */
        {0x0374, ""},
        {0x0375, ""},
        {0x037E, ""},
        {0x0384, ""},
        {0x0385, ""},
        {0x0387, ""},
        {0x0391, "a"},
        {0x0392, "b"},
        {0x0395, "e"},
        {0x0396, "z"},
        {0x0397, "h"},
        {0x0399, "i"},
        {0x039A, "k"},
        {0x039C, "m"},
        {0x039D, "n"},
        {0x039F, "o"},
        {0x03A1, "p"},
        {0x03A4, "t"},
        {0x03A5, "y"},
        {0x03A7, "x"},
        {0x03B1, "a"},
        {0x03B9, "i"},
        {0x03BA, "k"},
        {0x03BD, "v"},
        {0x03BF, "o"},
        {0x03C1, "p"},
        {0x03C5, "u"},
        {0x03C7, "x"},
        /* Cyrillic look-alikes of Latin letters */
        {0x0405, "s"},
        {0x0406, "i"},
        {0x0408, "j"},
        {0x0410, "a"},
        {0x0412, "b"},
        {0x0415, "e"},
        {0x041A, "k"},
        {0x041C, "m"},
        {0x041D, "h"},
        {0x041E, "o"},
        {0x0420, "p"},
        {0x0421, "c"},
        {0x0422, "t"},
        {0x0423, "y"},
        {0x0425, "x"},
        {0x0430, "a"},
        {0x0435, "e"},
        {0x043E, "o"},
        {0x0440, "p"},
        {0x0441, "c"},
        {0x0443, "y"},
        {0x0445, "x"},
        {0x0455, "s"},
        {0x0456, "i"},
        {0x0458, "j"},
        {0x04BB, "h"},
        {0x04C0, "i"},
        {0x04CF, "i"},
        {0x0501, "d"},
        {0x051B, "q"},
        {0x051D, "w"},
        /* small capitals */
        {0x1D00, "a"},
        {0x1D04, "c"},
        {0x1D05, "d"},
        {0x1D07, "e"},
        {0x1D0A, "j"},
        {0x1D0B, "k"},
        {0x1D0D, "m"},
        {0x1D0F, "o"},
        {0x1D18, "p"},
        {0x1D1B, "t"},
        {0x1D1C, "u"},
        {0x1D20, "v"},
        {0x1D21, "w"},
        {0x1D22, "z"},
        /* superscript and subscript digits */
        {0x2070, "0"},
        {0x2071, "i"},
        {0x2074, "4"},
        {0x2075, "5"},
        {0x2076, "6"},
        {0x2077, "7"},
        {0x2078, "8"},
        {0x2079, "9"},
        {0x207F, "n"},
        {0x2080, "0"},
        {0x2081, "1"},
        {0x2082, "2"},
        {0x2083, "3"},
        {0x2084, "4"},
        {0x2085, "5"},
        {0x2086, "6"},
        {0x2087, "7"},
        {0x2088, "8"},
        {0x2089, "9"},
        /* letterlike symbols: the holes of the mathematical alphabets */
        {0x2102, "c"},
        {0x210A, "g"},
        {0x210B, "h"},
        {0x210C, "h"},
        {0x210D, "h"},
        {0x210E, "h"},
        {0x2110, "i"},
        {0x2111, "i"},
        {0x2112, "l"},
        {0x2113, "l"},
        {0x2115, "n"},
        {0x2119, "p"},
        {0x211A, "q"},
        {0x211B, "r"},
        {0x211C, "r"},
        {0x211D, "r"},
        {0x2124, "z"},
        {0x2128, "z"},
        {0x212C, "b"},
        {0x212D, "c"},
        {0x212F, "e"},
        {0x2130, "e"},
        {0x2131, "f"},
        {0x2133, "m"},
        {0x2134, "o"},
        {0x2139, "i"},
        /* katakana middle dot, a separator ("加・微・信") */
        {0x30FB, ""},
        /* more small capitals */
        {0xA730, "f"},
        {0xA731, "s"},
        /* Latin ligatures */
        {0xFB00, "ff"},
        {0xFB01, "fi"},
        {0xFB02, "fl"},
        {0xFB03, "ffi"},
        {0xFB04, "ffl"},
        {0xFB05, "st"},
        {0xFB06, "st"},
};

/* What to do with a code point in a block. */
enum action {
    A_DROP,          /* punctuation, symbols, emoji, marks, invisible characters */
    A_KEEP,          /* a letter of a script we do not fold */
    A_FULLWIDTH,     /* U+FF01–FF5E: ASCII shifted by 0xFEE0 */
    A_LATIN1,        /* À–ÿ: base letter */
    A_LATIN_A,       /* Latin Extended-A: base letter */
    A_PINYIN,        /* Ǎ–ǜ: base letter */
    A_GREEK,         /* lower-cased */
    A_CYRILLIC,      /* lower-cased */
    A_ENCLOSED,      /* ① ⑴ ⒈ ⒜ Ⓐ ⓐ ⓪ ⓫ ⓵ ⓿ */
    A_DINGBAT_DIGIT, /* ❶ ➀ ➊ (1–10) */
    A_CJK_NUMBER,    /* ㈠ ㊀ (一–十) */
    A_CIRCLED_HIGH,  /* ㉑–㉟, ㊱–㊿ */
    A_MATH,          /* mathematical alphanumerics U+1D400–1D7FF */
    A_ENCLOSED_SUPP, /* 🄀 🄐 🄰 🅐 🅰 */
    A_LEGACY_DIGIT,  /* segmented digits U+1FBF0–1FBF9 */
};

/* Blocks, sorted and disjoint. Code points outside every range are kept as they are (CJK,
 * kana, hangul, other scripts). */
static const struct block {
    uint32_t lo, hi;
    uint8_t act;
} BLOCKS[] = {
        {0x0080, 0x00BF, A_DROP}, /* C1 controls, NBSP, Latin-1 punctuation and signs */
        {0x00C0, 0x00FF, A_LATIN1},
        {0x0100, 0x017F, A_LATIN_A},
        {0x01CD, 0x01DC, A_PINYIN},
        {0x02B0, 0x036F, A_DROP}, /* spacing modifiers, combining diacritical marks */
        {0x0370, 0x03FF, A_GREEK},
        {0x0400, 0x0482, A_CYRILLIC},
        {0x0483, 0x0489, A_DROP}, /* Cyrillic combining marks */
        {0x048A, 0x04FF, A_CYRILLIC},
        {0x0591, 0x05C7, A_DROP}, /* Hebrew points */
        {0x061C, 0x061C, A_DROP}, /* Arabic letter mark */
        {0x064B, 0x065F, A_DROP}, /* Arabic vowel marks */
        {0x115F, 0x1160, A_DROP}, /* invisible hangul fillers */
        {0x180B, 0x180F, A_DROP}, /* Mongolian variation selectors */
        {0x1AB0, 0x1AFF, A_DROP}, /* combining marks extended */
        {0x1DC0, 0x1DFF, A_DROP}, /* combining marks supplement */
        {0x2000, 0x218F, A_DROP}, /* general punctuation incl. zero-width, super/subscripts,
                                     currency, symbol marks, letterlike, number forms */
        {0x2190, 0x245F, A_DROP}, /* arrows, maths, technical, control pictures */
        {0x2460, 0x24FF, A_ENCLOSED},
        {0x2500, 0x2775, A_DROP}, /* box drawing, shapes, misc symbols, dingbats */
        {0x2776, 0x2793, A_DINGBAT_DIGIT},
        {0x2794, 0x2BFF, A_DROP}, /* dingbats, arrows, braille (incl. the blank), symbols */
        {0x2DE0, 0x2DFF, A_DROP}, /* Cyrillic combining letters */
        {0x2E00, 0x2E7F, A_DROP}, /* supplemental punctuation */
        {0x2FF0, 0x2FFF, A_DROP}, /* ideographic description characters */
        {0x3000, 0x3004, A_DROP}, /* ideographic space, 、。〃〄 */
        {0x3005, 0x3007, A_KEEP}, /* 々〆〇 */
        {0x3008, 0x3020, A_DROP}, /* brackets, 〒, 〓 */
        {0x3021, 0x3029, A_KEEP}, /* Hangzhou numerals */
        {0x302A, 0x3030, A_DROP}, /* tone marks, 〰 */
        {0x3031, 0x3035, A_KEEP}, /* kana repeat marks */
        {0x3036, 0x3037, A_DROP},
        {0x3038, 0x303C, A_KEEP},
        {0x303D, 0x303F, A_DROP},
        {0x3099, 0x309C, A_DROP}, /* kana voicing marks */
        {0x3164, 0x3164, A_DROP}, /* hangul filler (blank names) */
        {0x3200, 0x321F, A_DROP}, /* parenthesised hangul */
        {0x3220, 0x3229, A_CJK_NUMBER},
        {0x322A, 0x3250, A_DROP},
        {0x3251, 0x325F, A_CIRCLED_HIGH},
        {0x3260, 0x327F, A_DROP},
        {0x3280, 0x3289, A_CJK_NUMBER},
        {0x328A, 0x32B0, A_DROP},
        {0x32B1, 0x32BF, A_CIRCLED_HIGH},
        {0x32C0, 0x33FF, A_DROP}, /* enclosed months, squared words and units */
        {0x4DC0, 0x4DFF, A_DROP}, /* Yijing hexagrams */
        {0xE000, 0xF8FF, A_DROP}, /* private use */
        {0xFE00, 0xFE6F, A_DROP}, /* variation selectors, vertical and small forms */
        {0xFEFF, 0xFF00, A_DROP}, /* byte order mark */
        {0xFF01, 0xFF5E, A_FULLWIDTH},
        {0xFF5F, 0xFF65, A_DROP},   /* full-width brackets, half-width punctuation */
        {0xFFA0, 0xFFA0, A_DROP},   /* half-width hangul filler */
        {0xFFE0, 0xFFFF, A_DROP},   /* full-width signs, specials */
        {0x1D000, 0x1D3FF, A_DROP}, /* musical and other symbols */
        {0x1D400, 0x1D7FF, A_MATH},
        {0x1F000, 0x1F0FF, A_DROP}, /* mahjong, dominoes, cards */
        {0x1F100, 0x1F1FF, A_ENCLOSED_SUPP},
        {0x1F200, 0x1FAFF, A_DROP}, /* emoji and pictographs */
        {0x1FB00, 0x1FBFF, A_LEGACY_DIGIT},
        {0xE0000, 0xE0FFF, A_DROP},  /* tags, variation selectors supplement */
        {0xF0000, 0x10FFFF, A_DROP}, /* private use */
};

/* U+00C0–00FF to base letters ('_' entries are in CHAR_MAP). */
static const char LATIN1[] = "aaaaaaaceeeeiiiidnooooo_ouuuuy__"
                             "aaaaaaaceeeeiiiidnooooo_ouuuuy_y";
/* U+0100–017F to base letters. */
static const char LATIN_A[] = "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkklllllll"
                              "lllnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";
/* U+01CD–01DC (pinyin tones) to base letters. */
static const char PINYIN[] = "aaiioouuuuuuuuuu";
/* ㈠–㈩ and ㊀–㊉ */
static const uint32_t CJK_NUMBERS[10] = {0x4E00, 0x4E8C, 0x4E09, 0x56DB, 0x4E94,
                                         0x516D, 0x4E03, 0x516B, 0x4E5D, 0x5341};

/* Homophone spellings of contact words, rewritten after folding. Longest match wins. */
enum {
    H_NOT_AFTER_ALPHA = 1,  /* not inside an ASCII word ("devx") */
    H_AFTER_JIA = 2,        /* only right after 加 */
    H_NOT_BEFORE_ALPHA = 4, /* not followed by an ASCII letter ("加vip" stays) */
};
#define H(from, to, flags)                                                                         \
    {                                                                                              \
        from, to, sizeof(from) - 1, sizeof(to) - 1, flags                                          \
    }
static const struct homophone {
    const char *from, *to;
    size_t from_len, to_len;
    int flags;
} HOMOPHONES[] = {
        H("薇信", "微信", 0),                /* 薇 wēi sounds like 微 */
        H("威信", "微信", 0),                /* 威 wēi sounds like 微 */
        H("徽信", "微信", 0),                /* 徽 huī looks like 微 */
        H("微x", "微信", 0),                 /* x for xìn */
        H("v信", "微信", H_NOT_AFTER_ALPHA), /* v for wēi */
        H("vx", "微信", H_NOT_AFTER_ALPHA),  /* initials of wēi xìn */
        H("wx", "微信", H_NOT_AFTER_ALPHA),  /* initials of wēi xìn */
        H("扣扣", "qq", 0),                  /* kòu kòu sounds like QQ */
        H("抠抠", "qq", 0),                  /* kōu kōu sounds like QQ */
        H("蔻蔻", "qq", 0),                  /* kòu kòu sounds like QQ */
        H("v", "微信", H_NOT_AFTER_ALPHA | H_AFTER_JIA | H_NOT_BEFORE_ALPHA), /* 加v → 加微信 */
};

/* ------------------------------------------------------------------ UTF-8 */

/* Decode one code point from s[0..n) (n >= 1). Returns its length, 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t k;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        k = 2, v = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        k = 3, v = c & 0x0Fu, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4, v = c & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (k > n)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return k;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ------------------------------------------------------------------ folding one code point */

/* The result of folding one code point: ASCII text, a code point to keep, or nothing. */
struct tok {
    char ascii[4]; /* replacement (ASCII letters or digits), used when ascii[0] != 0 */
    uint32_t keep; /* otherwise the code point kept; 0 = dropped */
    int digit;     /* 0–9 when keep is a digit word (一 幺 壹 〇), else -1 */
};

static int digit_word(uint32_t cp)
{
    size_t lo = 0, hi = sizeof DIGIT_WORDS / sizeof DIGIT_WORDS[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (DIGIT_WORDS[mid].cp == cp)
            return DIGIT_WORDS[mid].value;
        if (DIGIT_WORDS[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static const struct char_map *find_char(uint32_t cp)
{
    size_t lo = 0, hi = sizeof CHAR_MAP / sizeof CHAR_MAP[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (CHAR_MAP[mid].cp == cp)
            return &CHAR_MAP[mid];
        if (CHAR_MAP[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static const struct block *find_block(uint32_t cp)
{
    size_t lo = 0, hi = sizeof BLOCKS / sizeof BLOCKS[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < BLOCKS[mid].lo)
            hi = mid;
        else if (cp > BLOCKS[mid].hi)
            lo = mid + 1;
        else
            return &BLOCKS[mid];
    }
    return NULL;
}

static void tok_char(struct tok *t, char c)
{
    t->ascii[0] = c;
    t->ascii[1] = '\0';
}

/* 0–50 as decimal digits. */
static void tok_number(struct tok *t, unsigned n)
{
    if (n < 10) {
        tok_char(t, (char)('0' + n));
        return;
    }
    t->ascii[0] = (char)('0' + n / 10);
    t->ascii[1] = (char)('0' + n % 10);
    t->ascii[2] = '\0';
}

static void fold_ascii(uint32_t c, struct tok *t)
{
    if (c >= 'A' && c <= 'Z')
        tok_char(t, (char)(c + 32));
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        tok_char(t, (char)c);
}

static void fold_cp(uint32_t cp, struct tok *t);

static void fold_enclosed(uint32_t cp, struct tok *t)
{
    if (cp <= 0x2473)
        tok_number(t, cp - 0x2460 + 1); /* ①–⑳ */
    else if (cp <= 0x2487)
        tok_number(t, cp - 0x2474 + 1); /* ⑴–⒇ */
    else if (cp <= 0x249B)
        tok_number(t, cp - 0x2488 + 1); /* ⒈–⒛ */
    else if (cp <= 0x24B5)
        tok_char(t, (char)('a' + (cp - 0x249C))); /* ⒜–⒵ */
    else if (cp <= 0x24CF)
        tok_char(t, (char)('a' + (cp - 0x24B6))); /* Ⓐ–Ⓩ */
    else if (cp <= 0x24E9)
        tok_char(t, (char)('a' + (cp - 0x24D0))); /* ⓐ–ⓩ */
    else if (cp == 0x24EA || cp == 0x24FF)
        tok_char(t, '0'); /* ⓪ ⓿ */
    else if (cp <= 0x24F4)
        tok_number(t, cp - 0x24EB + 11); /* ⓫–⓴ */
    else
        tok_number(t, cp - 0x24F5 + 1); /* ⓵–⓾ */
}

static void fold_math(uint32_t cp, struct tok *t)
{
    if (cp <= 0x1D6A3) {
        uint32_t l = (cp - 0x1D400) % 52; /* 13 alphabets of A–Z a–z */
        tok_char(t, (char)('a' + (l < 26 ? l : l - 26)));
    } else if (cp == 0x1D6A4 || cp == 0x1D6A5) {
        tok_char(t, cp == 0x1D6A4 ? 'i' : 'j'); /* dotless i, j */
    } else if (cp >= 0x1D6A8 && cp <= 0x1D7C9) {
        uint32_t g = (cp - 0x1D6A8) % 58; /* 5 alphabets: Α–Ω ∇ α–ω ∂ ϵϑϰϕϱϖ */
        if (g < 25 && g != 17)
            fold_cp(0x391 + g, t);
        else if (g >= 26 && g <= 50)
            fold_cp(0x3B1 + (g - 26), t);
    } else if (cp >= 0x1D7CE) {
        tok_char(t, (char)('0' + (cp - 0x1D7CE) % 10)); /* 5 styles of 0–9 */
    }
}

static void fold_enclosed_supp(uint32_t cp, struct tok *t)
{
    if (cp == 0x1F100 || cp == 0x1F10B || cp == 0x1F10C)
        tok_char(t, '0'); /* 🄀 🄋 🄌 */
    else if (cp <= 0x1F10A)
        tok_char(t, (char)('0' + (cp - 0x1F101))); /* 🄁–🄊 */
    else if (cp >= 0x1F110 && cp <= 0x1F129)
        tok_char(t, (char)('a' + (cp - 0x1F110))); /* 🄐–🄩 */
    else if (cp >= 0x1F130 && cp <= 0x1F149)
        tok_char(t, (char)('a' + (cp - 0x1F130))); /* 🄰–🅉 */
    else if (cp >= 0x1F150 && cp <= 0x1F169)
        tok_char(t, (char)('a' + (cp - 0x1F150))); /* 🅐–🅩 */
    else if (cp >= 0x1F170 && cp <= 0x1F189)
        tok_char(t, (char)('a' + (cp - 0x1F170))); /* 🅰–🆉 */
    /* everything else (regional indicators, squared words) is dropped */
}

static void fold_block(uint32_t cp, const struct block *b, struct tok *t)
{
    switch (b->act) {
    case A_DROP:
        break;
    case A_KEEP:
        t->keep = cp;
        break;
    case A_FULLWIDTH:
        fold_ascii(cp - 0xFEE0, t);
        break;
    case A_LATIN1:
        tok_char(t, LATIN1[cp - 0xC0]);
        break;
    case A_LATIN_A:
        tok_char(t, LATIN_A[cp - 0x100]);
        break;
    case A_PINYIN:
        tok_char(t, PINYIN[cp - 0x1CD]);
        break;
    case A_GREEK:
        t->keep = (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) ? cp + 0x20 : cp;
        break;
    case A_CYRILLIC:
        t->keep = (cp >= 0x410 && cp <= 0x42F) ? cp + 0x20 : (cp <= 0x40F) ? cp + 0x50 : cp;
        break;
    case A_ENCLOSED:
        fold_enclosed(cp, t);
        break;
    case A_DINGBAT_DIGIT:
        tok_number(t, (cp - 0x2776) % 10 + 1);
        break;
    case A_CJK_NUMBER:
        t->keep = CJK_NUMBERS[(cp - b->lo) % 10];
        t->digit = digit_word(t->keep);
        break;
    case A_CIRCLED_HIGH:
        tok_number(t, cp <= 0x325F ? cp - 0x3251 + 21 : cp - 0x32B1 + 36);
        break;
    case A_MATH:
        fold_math(cp, t);
        break;
    case A_ENCLOSED_SUPP:
        fold_enclosed_supp(cp, t);
        break;
    case A_LEGACY_DIGIT:
        if (cp >= 0x1FBF0 && cp <= 0x1FBF9)
            tok_char(t, (char)('0' + (cp - 0x1FBF0)));
        break;
    default:
        break;
    }
}

static void fold_cp(uint32_t cp, struct tok *t)
{
    t->ascii[0] = '\0';
    t->keep = 0;
    t->digit = -1;
    if (cp < 0x80) {
        fold_ascii(cp, t);
        return;
    }
    int d = digit_word(cp);
    if (d >= 0) {
        t->keep = cp;
        t->digit = d;
        return;
    }
    if (cp >= 0x4E00 && cp <= 0x9FFF) {
        t->keep = cp;
        return;
    }
    const struct char_map *m = find_char(cp);
    if (m) {
        memcpy(t->ascii, m->to, sizeof t->ascii);
        return;
    }
    const struct block *b = find_block(cp);
    if (b)
        fold_block(cp, b, t);
    else
        t->keep = cp;
}

/* ------------------------------------------------------------------ pass 1: fold, digit runs */

/* The folded output and the digit-like run at its end. */
struct fold_out {
    char *p;
    size_t len;
    size_t run_start; /* offset of the run's first character */
    size_t run_n;     /* digit-like characters in the run */
    int run_digits;   /* the run is long enough: digit words are written as digits */
};

/* The run just reached four characters: turn its digit words into ASCII digits in place
 * (each is three bytes, so the write position never passes the read position). */
static void run_convert(struct fold_out *o)
{
    size_t r = o->run_start, w = o->run_start;
    while (r < o->len) {
        uint32_t cp = 0;
        size_t k = utf8_decode((const unsigned char *)o->p + r, o->len - r, &cp);
        if (k == 0)
            k = 1; /* cannot happen: we wrote valid UTF-8 */
        int d = digit_word(cp);
        o->p[w++] = d >= 0 ? (char)('0' + d) : (char)cp;
        r += k;
    }
    o->len = w;
    o->run_digits = 1;
}

static void run_add(struct fold_out *o)
{
    if (o->run_n++ == 0)
        o->run_start = o->len;
}

static void emit_tok(struct fold_out *o, const struct tok *t)
{
    if (t->ascii[0]) {
        for (const char *c = t->ascii; *c; c++) {
            if (*c >= '0' && *c <= '9') {
                run_add(o);
            } else {
                o->run_n = 0;
                o->run_digits = 0;
            }
            o->p[o->len++] = *c;
            if (!o->run_digits && o->run_n >= 4)
                run_convert(o);
        }
        return;
    }
    if (!t->keep)
        return;
    if (t->digit < 0) {
        o->run_n = 0;
        o->run_digits = 0;
        o->len += utf8_encode(t->keep, o->p + o->len);
        return;
    }
    run_add(o);
    if (o->run_digits)
        o->p[o->len++] = (char)('0' + t->digit);
    else
        o->len += utf8_encode(t->keep, o->p + o->len);
    if (!o->run_digits && o->run_n >= 4)
        run_convert(o);
}

/* Fold text into o->p, which has room for len bytes (folding never grows the text). */
static void fold_text(const unsigned char *s, size_t len, struct fold_out *o)
{
    size_t i = 0;
    struct tok t;
    while (i < len) {
        uint32_t cp;
        size_t k = utf8_decode(s + i, len - i, &cp);
        if (k == 0) {
            i++; /* invalid byte: dropped */
            continue;
        }
        i += k;
        fold_cp(cp, &t);
        emit_tok(o, &t);
    }
    o->p[o->len] = '\0';
}

/* ------------------------------------------------------------------ pass 2: homophones */

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Can a homophone entry start with this byte? (First bytes of 薇威徽微扣抠蔻 v w.) */
static bool may_start(unsigned char c)
{
    return c == 'v' || c == 'w' || c == 0xE5 || c == 0xE6 || c == 0xE8;
}

/* The longest homophone entry matching s at i, or NULL. What comes before is judged on the
 * text written so far, before[0..w) (rewritten already), so that normalising twice gives
 * the same result. */
static const struct homophone *homophone_at(const char *s, size_t n, size_t i, const char *before,
                                            size_t w)
{
    const struct homophone *best = NULL;
    if (!may_start((unsigned char)s[i]))
        return NULL;
    size_t best_len = 0;
    for (size_t h = 0; h < sizeof HOMOPHONES / sizeof HOMOPHONES[0]; h++) {
        const struct homophone *e = &HOMOPHONES[h];
        size_t fl = e->from_len;
        if (e->from[0] != s[i] || fl <= best_len || fl > n - i ||
            (fl > 1 && e->from[1] != s[i + 1]) || memcmp(s + i, e->from, fl) != 0)
            continue;
        if ((e->flags & H_NOT_AFTER_ALPHA) && w > 0 && is_alpha(before[w - 1]))
            continue;
        if ((e->flags & H_AFTER_JIA) && (w < 3 || memcmp(before + w - 3, "加", 3) != 0))
            continue;
        if ((e->flags & H_NOT_BEFORE_ALPHA) && i + fl < n && is_alpha(s[i + fl]))
            continue;
        best = e;
        best_len = fl;
    }
    return best;
}

static size_t utf8_step(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Offset of the first homophone in s, or n. */
static size_t first_homophone(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && !homophone_at(s, n, i, s, i))
        i += utf8_step((unsigned char)s[i]);
    return i < n ? i : n;
}

/* Rewrite the homophones of s, the first of which is at `from`. Every rewrite at most
 * triples its bytes ("vx" → "微信"; "v" only after the three bytes of 加), so the result
 * fits in 3n. Returns a new string (caller frees) or NULL on ENOMEM. */
static char *rewrite(const char *s, size_t n, size_t from, size_t *out_len)
{
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    memcpy(out, s, from);
    size_t i = from, w = from;
    while (i < n) {
        const struct homophone *e = homophone_at(s, n, i, out, w);
        if (e) {
            memcpy(out + w, e->to, e->to_len);
            w += e->to_len;
            i += e->from_len;
            continue;
        }
        size_t k = utf8_step((unsigned char)s[i]);
        if (k > n - i)
            k = n - i;
        memcpy(out + w, s + i, k);
        w += k;
        i += k;
    }
    out[w] = '\0';
    char *shrunk = realloc(out, w + 1);
    *out_len = w;
    return shrunk ? shrunk : out;
}

/* ------------------------------------------------------------------ public */

char *qb_rules_normalize(const char *text, size_t len, size_t *out_len)
{
    if (!text)
        len = 0;
    struct fold_out o = {.p = malloc(len + 1)};
    if (!o.p)
        return NULL;
    if (len)
        fold_text((const unsigned char *)text, len, &o);
    o.p[o.len] = '\0';

    size_t first = first_homophone(o.p, o.len);
    if (first < o.len) {
        size_t n;
        char *r = rewrite(o.p, o.len, first, &n);
        free(o.p);
        if (!r)
            return NULL;
        o.p = r;
        o.len = n;
    }
    if (out_len)
        *out_len = o.len;
    return o.p;
}
