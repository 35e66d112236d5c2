/* Byte classes of the HTTP and URI grammars, shared by the parser, the chunked
 * decoder and the percent-decoder. Header-only: every function is static inline
 * and takes the byte as unsigned char, so there is nothing to link. */
#ifndef FW_CHARS_H
#define FW_CHARS_H

/* RFC 5234 Appendix B.1: ALPHA = %x41-5A / %x61-7A */
static inline int fw_is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 5234 Appendix B.1: DIGIT = %x30-39 */
static inline int fw_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
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

/* RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" /
 * "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
static inline int fw_is_tchar(unsigned char c)
{
    if (fw_is_alpha(c) || fw_is_digit(c))
        return 1;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return 1;
    default:
        return 0;
    }
}

/* RFC 9110 §5.6.3: OWS = *( SP / HTAB ), and BWS = OWS */
static inline int fw_is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 9110 §5.5: field-content is field-vchar (VCHAR / obs-text) with SP / HTAB
 * between; so HTAB, 0x20-0x7E and 0x80-0xFF. NUL, other CTLs, CR, LF and DEL
 * are not field bytes. */
static inline int fw_is_field_byte(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7F);
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

/* RFC 3986 §2.3 unreserved and §2.2 sub-delims. */
static inline int fw_is_unreserved_or_subdelim(unsigned char c)
{
    if (fw_is_alpha(c) || fw_is_digit(c))
        return 1;
    switch (c) {
    case '-': case '.': case '_': case '~':                       /* unreserved */
    case '!': case '$': case '&': case '\'': case '(': case ')':  /* sub-delims */
    case '*': case '+': case ',': case ';': case '=':
        return 1;
    default:
        return 0;
    }
}

#endif
