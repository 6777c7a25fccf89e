/* chars.c — the character class and lowercase tables the SIP scanners use
 * (generated once from the RFC 3261 ABNF character sets). */
#include "sip/sip_int.h"

const uint16_t sip__cc[256] = {
    [0] = SIP__C_CTL,                          /* 0x0 */
    [1] = SIP__C_CTL,                          /* 0x1 */
    [2] = SIP__C_CTL,                          /* 0x2 */
    [3] = SIP__C_CTL,                          /* 0x3 */
    [4] = SIP__C_CTL,                          /* 0x4 */
    [5] = SIP__C_CTL,                          /* 0x5 */
    [6] = SIP__C_CTL,                          /* 0x6 */
    [7] = SIP__C_CTL,                          /* 0x7 */
    [8] = SIP__C_CTL,                          /* 0x8 */
    [9] = SIP__C_CTL | SIP__C_LWS | SIP__C_WS, /* 0x9 */
    [10] = SIP__C_CTL | SIP__C_LWS,            /* 0xa */
    [11] = SIP__C_CTL,                         /* 0xb */
    [12] = SIP__C_CTL,                         /* 0xc */
    [13] = SIP__C_CTL | SIP__C_LWS,            /* 0xd */
    [14] = SIP__C_CTL,                         /* 0xe */
    [15] = SIP__C_CTL,                         /* 0xf */
    [16] = SIP__C_CTL,                         /* 0x10 */
    [17] = SIP__C_CTL,                         /* 0x11 */
    [18] = SIP__C_CTL,                         /* 0x12 */
    [19] = SIP__C_CTL,                         /* 0x13 */
    [20] = SIP__C_CTL,                         /* 0x14 */
    [21] = SIP__C_CTL,                         /* 0x15 */
    [22] = SIP__C_CTL,                         /* 0x16 */
    [23] = SIP__C_CTL,                         /* 0x17 */
    [24] = SIP__C_CTL,                         /* 0x18 */
    [25] = SIP__C_CTL,                         /* 0x19 */
    [26] = SIP__C_CTL,                         /* 0x1a */
    [27] = SIP__C_CTL,                         /* 0x1b */
    [28] = SIP__C_CTL,                         /* 0x1c */
    [29] = SIP__C_CTL,                         /* 0x1d */
    [30] = SIP__C_CTL,                         /* 0x1e */
    [31] = SIP__C_CTL,                         /* 0x1f */
    [32] = SIP__C_LWS | SIP__C_WS,             /* ' ' */
    [33] = SIP__C_HNV | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC |
           SIP__C_USER | SIP__C_WORD,                                           /* '!' */
    [34] = SIP__C_WORD,                                                         /* '"' */
    [35] = SIP__C_TEL | SIP__C_URIC,                                            /* '#' */
    [36] = SIP__C_HNV | SIP__C_PARAM | SIP__C_PASS | SIP__C_URIC | SIP__C_USER, /* '$' */
    [37] = SIP__C_TOKEN | SIP__C_URIC | SIP__C_WORD,                            /* '%' */
    [38] = SIP__C_PARAM | SIP__C_PASS | SIP__C_URIC | SIP__C_USER,              /* '&' */
    [39] = SIP__C_HNV | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC |
           SIP__C_USER | SIP__C_WORD, /* "'" */
    [40] = SIP__C_HNV | SIP__C_PARAM | SIP__C_PASS | SIP__C_TEL | SIP__C_UNRES | SIP__C_URIC |
           SIP__C_USER | SIP__C_WORD, /* '(' */
    [41] = SIP__C_HNV | SIP__C_PARAM | SIP__C_PASS | SIP__C_TEL | SIP__C_UNRES | SIP__C_URIC |
           SIP__C_USER | SIP__C_WORD, /* ')' */
    [42] = SIP__C_HNV | SIP__C_PARAM | SIP__C_PASS | SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES |
           SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* '*' */
    [43] = SIP__C_HNV | SIP__C_PARAM | SIP__C_PASS | SIP__C_TEL | SIP__C_TOKEN | SIP__C_URIC |
           SIP__C_USER | SIP__C_WORD,               /* '+' */
    [44] = SIP__C_PASS | SIP__C_URIC | SIP__C_USER, /* ',' */
    [45] = SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TEL | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* '-' */
    [46] = SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TEL | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD,              /* '.' */
    [47] = SIP__C_HNV | SIP__C_PARAM | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* '/' */
    [48] = SIP__C_DIGIT | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* '0' */
    [49] = SIP__C_DIGIT | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* '1' */
    [50] = SIP__C_DIGIT | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* '2' */
    [51] = SIP__C_DIGIT | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* '3' */
    [52] = SIP__C_DIGIT | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* '4' */
    [53] = SIP__C_DIGIT | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* '5' */
    [54] = SIP__C_DIGIT | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* '6' */
    [55] = SIP__C_DIGIT | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* '7' */
    [56] = SIP__C_DIGIT | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* '8' */
    [57] = SIP__C_DIGIT | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD,                                           /* '9' */
    [58] = SIP__C_HNV | SIP__C_PARAM | SIP__C_URIC | SIP__C_WORD, /* ':' */
    [59] = SIP__C_URIC | SIP__C_USER,                             /* ';' */
    [60] = SIP__C_WORD,                                           /* '<' */
    [61] = SIP__C_PASS | SIP__C_URIC | SIP__C_USER,               /* '=' */
    [62] = SIP__C_WORD,                                           /* '>' */
    [63] = SIP__C_HNV | SIP__C_URIC | SIP__C_USER | SIP__C_WORD,  /* '?' */
    [64] = SIP__C_URIC,                                           /* '@' */
    [65] = SIP__C_ALPHA | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* 'A' */
    [66] = SIP__C_ALPHA | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* 'B' */
    [67] = SIP__C_ALPHA | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* 'C' */
    [68] = SIP__C_ALPHA | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* 'D' */
    [69] = SIP__C_ALPHA | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* 'E' */
    [70] = SIP__C_ALPHA | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* 'F' */
    [71] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'G' */
    [72] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'H' */
    [73] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'I' */
    [74] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'J' */
    [75] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'K' */
    [76] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'L' */
    [77] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'M' */
    [78] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'N' */
    [79] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'O' */
    [80] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'P' */
    [81] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'Q' */
    [82] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'R' */
    [83] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'S' */
    [84] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'T' */
    [85] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'U' */
    [86] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'V' */
    [87] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'W' */
    [88] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'X' */
    [89] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'Y' */
    [90] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
           SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'Z' */
    [91] = SIP__C_HNV | SIP__C_PARAM | SIP__C_URIC | SIP__C_WORD,  /* '[' */
    [92] = SIP__C_WORD,                                            /* '\\' */
    [93] = SIP__C_HNV | SIP__C_PARAM | SIP__C_URIC | SIP__C_WORD,  /* ']' */
    [94] = SIP__C_URIC,                                            /* '^' */
    [95] = SIP__C_HNV | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC |
           SIP__C_USER | SIP__C_WORD,                /* '_' */
    [96] = SIP__C_TOKEN | SIP__C_URIC | SIP__C_WORD, /* '`' */
    [97] = SIP__C_ALPHA | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* 'a' */
    [98] = SIP__C_ALPHA | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* 'b' */
    [99] = SIP__C_ALPHA | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
           SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
           SIP__C_WORD, /* 'c' */
    [100] = SIP__C_ALPHA | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
            SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
            SIP__C_WORD, /* 'd' */
    [101] = SIP__C_ALPHA | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
            SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
            SIP__C_WORD, /* 'e' */
    [102] = SIP__C_ALPHA | SIP__C_HEX | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS |
            SIP__C_TEL | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC | SIP__C_USER |
            SIP__C_WORD, /* 'f' */
    [103] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'g' */
    [104] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'h' */
    [105] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'i' */
    [106] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'j' */
    [107] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'k' */
    [108] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'l' */
    [109] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'm' */
    [110] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'n' */
    [111] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'o' */
    [112] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'p' */
    [113] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'q' */
    [114] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'r' */
    [115] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 's' */
    [116] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 't' */
    [117] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'u' */
    [118] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'v' */
    [119] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'w' */
    [120] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'x' */
    [121] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'y' */
    [122] = SIP__C_ALPHA | SIP__C_HNV | SIP__C_HOST | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN |
            SIP__C_UNRES | SIP__C_URIC | SIP__C_USER | SIP__C_WORD, /* 'z' */
    [123] = SIP__C_URIC | SIP__C_WORD,                              /* '{' */
    [124] = SIP__C_URIC,                                            /* '|' */
    [125] = SIP__C_URIC | SIP__C_WORD,                              /* '}' */
    [126] = SIP__C_HNV | SIP__C_PARAM | SIP__C_PASS | SIP__C_TOKEN | SIP__C_UNRES | SIP__C_URIC |
            SIP__C_USER | SIP__C_WORD, /* '~' */
    [127] = SIP__C_CTL,                /* 0x7f */
};

const unsigned char sip__lower[256] = {
    0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,  14,  15,  16,  17,  18,
    19,  20,  21,  22,  23,  24,  25,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,
    38,  39,  40,  41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51,  52,  53,  54,  55,  56,
    57,  58,  59,  60,  61,  62,  63,  64,  97,  98,  99,  100, 101, 102, 103, 104, 105, 106, 107,
    108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 91,  92,  93,  94,
    95,  96,  97,  98,  99,  100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113,
    114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131, 132,
    133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 149, 150, 151,
    152, 153, 154, 155, 156, 157, 158, 159, 160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170,
    171, 172, 173, 174, 175, 176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189,
    190, 191, 192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207, 208,
    209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223, 224, 225, 226, 227,
    228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246,
    247, 248, 249, 250, 251, 252, 253, 254, 255};
