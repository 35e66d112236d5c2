/* Byte classes of the HTTP and URI grammars, shared by the parser, the chunked
 * decoder and the percent-decoder. Header-only: every function is static inline
 * and takes the byte as unsigned char, so there is nothing to link.
 *
 * The hot classes are looked up in a 256-entry table (fw_ctab) instead of being
 * computed with compare-and-branch chains. The table is not written out by hand:
 * each class is defined once below as a constant expression over the byte
 * (FW_CC_*_), and the preprocessor evaluates those for all 256 values. */
#ifndef FW_CHARS_H
#define FW_CHARS_H

/* RFC 5234 Appendix B.1: ALPHA = %x41-5A / %x61-7A */
#define FW_CC_ALPHA_(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))

/* RFC 5234 Appendix B.1: DIGIT = %x30-39 */
#define FW_CC_DIGIT_(c) ((c) >= '0' && (c) <= '9')

/* RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" /
 * "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
#define FW_CC_TCHAR_(c)                                                          \
    (FW_CC_ALPHA_(c) || FW_CC_DIGIT_(c) || (c) == '!' || (c) == '#' ||           \
     (c) == '$' || (c) == '%' || (c) == '&' || (c) == '\'' || (c) == '*' ||      \
     (c) == '+' || (c) == '-' || (c) == '.' || (c) == '^' || (c) == '_' ||       \
     (c) == '`' || (c) == '|' || (c) == '~')

/* RFC 9110 §5.5: field-content is field-vchar (VCHAR / obs-text) with SP / HTAB
 * between; so HTAB, 0x20-0x7E and 0x80-0xFF. NUL, other CTLs, CR, LF and DEL
 * are not field bytes. */
#define FW_CC_FIELD_(c) ((c) == '\t' || ((c) >= 0x20 && (c) != 0x7F))

/* RFC 9110 §5.6.3: OWS = *( SP / HTAB ), and BWS = OWS */
#define FW_CC_OWS_(c) ((c) == ' ' || (c) == '\t')

/* A request-target byte (RFC 9112 §3.2): visible ASCII (VCHAR, %x21-7E), since
 * RFC 3986 has no other characters and §3.2 allows no whitespace inside; and
 * not "#", as the request-target has no fragment component. */
#define FW_CC_TARGET_(c) ((c) >= 0x21 && (c) <= 0x7E && (c) != '#')

/* A request-target byte before the query: the same, less "?" (RFC 3986 §3.4:
 * the first "?" starts the query). */
#define FW_CC_PATH_(c) (FW_CC_TARGET_(c) && (c) != '?')

/* RFC 3986 §2.3 unreserved and §2.2 sub-delims. */
#define FW_CC_URIHOST_(c)                                                        \
    (FW_CC_ALPHA_(c) || FW_CC_DIGIT_(c) ||                                       \
     (c) == '-' || (c) == '.' || (c) == '_' || (c) == '~' ||      /* unreserved */ \
     (c) == '!' || (c) == '$' || (c) == '&' || (c) == '\'' ||     /* sub-delims */ \
     (c) == '(' || (c) == ')' || (c) == '*' || (c) == '+' || (c) == ',' ||       \
     (c) == ';' || (c) == '=')

/* bits of fw_ctab[c] */
#define FW_C_TCHAR    0x01u   /* FW_CC_TCHAR_ */
#define FW_C_FIELD    0x02u   /* FW_CC_FIELD_ */
#define FW_C_OWS      0x04u   /* FW_CC_OWS_ */
#define FW_C_TARGET   0x08u   /* FW_CC_TARGET_ */
#define FW_C_PATH     0x10u   /* FW_CC_PATH_ */
#define FW_C_URIHOST  0x20u   /* FW_CC_URIHOST_ */

#define FW_CC_(c)                                                                \
    ((FW_CC_TCHAR_(c) ? FW_C_TCHAR : 0u) | (FW_CC_FIELD_(c) ? FW_C_FIELD : 0u) | \
     (FW_CC_OWS_(c) ? FW_C_OWS : 0u) | (FW_CC_TARGET_(c) ? FW_C_TARGET : 0u) |   \
     (FW_CC_PATH_(c) ? FW_C_PATH : 0u) | (FW_CC_URIHOST_(c) ? FW_C_URIHOST : 0u))
#define FW_CC4_(c)  FW_CC_(c), FW_CC_((c) + 1), FW_CC_((c) + 2), FW_CC_((c) + 3)
#define FW_CC16_(c) FW_CC4_(c), FW_CC4_((c) + 4), FW_CC4_((c) + 8), FW_CC4_((c) + 12)

static const unsigned char fw_ctab[256] = {
    FW_CC16_(0x00), FW_CC16_(0x10), FW_CC16_(0x20), FW_CC16_(0x30),
    FW_CC16_(0x40), FW_CC16_(0x50), FW_CC16_(0x60), FW_CC16_(0x70),
    FW_CC16_(0x80), FW_CC16_(0x90), FW_CC16_(0xA0), FW_CC16_(0xB0),
    FW_CC16_(0xC0), FW_CC16_(0xD0), FW_CC16_(0xE0), FW_CC16_(0xF0)
};

/* RFC 5234 Appendix B.1: ALPHA */
static inline int fw_is_alpha(unsigned char c)
{
    return FW_CC_ALPHA_(c);
}

/* RFC 5234 Appendix B.1: DIGIT */
static inline int fw_is_digit(unsigned char c)
{
    return FW_CC_DIGIT_(c);
}

/* RFC 5234 Appendix B.1: HEXDIG = DIGIT / "A"-"F", either case (RFC 3986 §2.1,
 * RFC 9112 §7.1). The digit's value 0-15, or -1 for any other byte. */
static inline int fw_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static inline int fw_is_hex(unsigned char c)
{
    return fw_hexval(c) >= 0;
}

/* RFC 9110 §5.6.2: tchar (FW_CC_TCHAR_) */
static inline int fw_is_tchar(unsigned char c)
{
    return (fw_ctab[c] & FW_C_TCHAR) != 0;
}

/* RFC 9110 §5.6.3: OWS / BWS byte, SP or HTAB (FW_CC_OWS_) */
static inline int fw_is_ows(unsigned char c)
{
    return (fw_ctab[c] & FW_C_OWS) != 0;
}

/* RFC 9110 §5.5: field byte, HTAB / SP / VCHAR / obs-text (FW_CC_FIELD_) */
static inline int fw_is_field_byte(unsigned char c)
{
    return (fw_ctab[c] & FW_C_FIELD) != 0;
}

/* RFC 9110 §5.6.4: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text */
static inline int fw_is_qdtext(unsigned char c)
{
    return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) ||
           (c >= 0x5D && c <= 0x7E) || c >= 0x80;
}

/* RFC 9110 §5.6.4: quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ), the byte
 * after the backslash; the same set as the field bytes (§5.5). */
static inline int fw_is_qp_byte(unsigned char c)
{
    return fw_is_field_byte(c);
}

/* RFC 3986 §2.3 unreserved and §2.2 sub-delims (FW_CC_URIHOST_) */
static inline int fw_is_unreserved_or_subdelim(unsigned char c)
{
    return (fw_ctab[c] & FW_C_URIHOST) != 0;
}

#endif
