/* Chunked transfer coding decoder (RFC 9112 §7.1); the contract is in fw_chunked.h.
 *
 * A byte-at-a-time state machine with no lookahead, so any split of the input
 * decodes the same way; only chunk data is handed out in slices.
 *
 *   chunked-body   = *chunk last-chunk trailer-section CRLF
 *   chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-size     = 1*HEXDIG
 *   last-chunk     = 1*("0") [ chunk-ext ] CRLF
 *   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 *   chunk-ext-name = token
 *   chunk-ext-val  = token / quoted-string
 *   trailer-section = *( field-line CRLF )
 */
#include "fw_chunked.h"
#include "fw_chars.h"

#define FW_I63_MAX UINT64_C(0x7FFFFFFFFFFFFFFF)

/* Hex digits allowed in one chunk-size, leading zeros included. Sizes only need
 * 16 significant digits (2^63-1 is 7fffffffffffffff); the cap stops an endless
 * run of zeros from keeping a connection busy without ever producing data. */
#define FW_CHUNK_MAX_SIZE_DIGITS 64

enum {
    FW_CS_SIZE_START = 0,  /* first hex digit of chunk-size (zeroed state) */
    FW_CS_SIZE,            /* more hex digits */
    FW_CS_EXT_SEMI_BWS,    /* BWS, expecting more BWS or ';' */
    FW_CS_EXT_NAME_PRE,    /* after ';': BWS, then chunk-ext-name */
    FW_CS_EXT_NAME,        /* in chunk-ext-name */
    FW_CS_EXT_NAME_BWS,    /* BWS after the name: '=' or ';' next */
    FW_CS_EXT_VAL_PRE,     /* after '=': BWS, then token or quoted-string */
    FW_CS_EXT_VAL_TOKEN,   /* in a token value */
    FW_CS_EXT_VAL_QS,      /* in a quoted-string value */
    FW_CS_EXT_VAL_QP,      /* after a backslash in a quoted-string */
    FW_CS_EXT_VAL_END,     /* after the closing DQUOTE */
    FW_CS_SIZE_LF,         /* CR of the size line seen, LF next */
    FW_CS_DATA,            /* chunk-data, dec->remaining bytes left */
    FW_CS_DATA_CR,         /* CR after chunk-data */
    FW_CS_DATA_LF,         /* LF after chunk-data */
    FW_CS_TRAILER_START,   /* start of a trailer line, or the final CRLF */
    FW_CS_TR_NAME,         /* in a trailer field-name */
    FW_CS_TR_VALUE,        /* in a trailer field-value */
    FW_CS_TR_LF,           /* CR of a trailer line seen, LF next */
    FW_CS_END_LF,          /* CR of the final empty line seen, LF next */
    FW_CS_DONE,
    FW_CS_ERR_BAD,         /* failed with FW_E_BAD_REQUEST (sticky) */
    FW_CS_ERR_LARGE        /* failed with FW_E_HEADERS_TOO_LARGE (sticky) */
};

/* Step the chunk-ext states by one byte; returns the next state, or
 * FW_CS_ERR_BAD. CR moves to FW_CS_SIZE_LF where the grammar allows a line end. */
static int fw_ext_step(int st, unsigned char c)
{
    switch (st) {
    case FW_CS_EXT_SEMI_BWS:
        if (fw_is_ows(c))
            return st;
        return c == ';' ? FW_CS_EXT_NAME_PRE : FW_CS_ERR_BAD;
    case FW_CS_EXT_NAME_PRE:
        if (fw_is_ows(c))
            return st;
        return fw_is_tchar(c) ? FW_CS_EXT_NAME : FW_CS_ERR_BAD;
    case FW_CS_EXT_NAME:
        if (fw_is_tchar(c))
            return st;
        if (fw_is_ows(c))
            return FW_CS_EXT_NAME_BWS;
        if (c == '=')
            return FW_CS_EXT_VAL_PRE;
        if (c == ';')
            return FW_CS_EXT_NAME_PRE;
        return c == '\r' ? FW_CS_SIZE_LF : FW_CS_ERR_BAD;
    case FW_CS_EXT_NAME_BWS:
        /* BWS is only allowed before "=" or the next ";" (no trailing BWS
         * before CRLF: the grammar has none) */
        if (fw_is_ows(c))
            return st;
        if (c == '=')
            return FW_CS_EXT_VAL_PRE;
        return c == ';' ? FW_CS_EXT_NAME_PRE : FW_CS_ERR_BAD;
    case FW_CS_EXT_VAL_PRE:
        if (fw_is_ows(c))
            return st;
        if (c == '"')
            return FW_CS_EXT_VAL_QS;
        return fw_is_tchar(c) ? FW_CS_EXT_VAL_TOKEN : FW_CS_ERR_BAD;
    case FW_CS_EXT_VAL_TOKEN:
        if (fw_is_tchar(c))
            return st;
        if (fw_is_ows(c))
            return FW_CS_EXT_SEMI_BWS;
        if (c == ';')
            return FW_CS_EXT_NAME_PRE;
        return c == '\r' ? FW_CS_SIZE_LF : FW_CS_ERR_BAD;
    case FW_CS_EXT_VAL_QS:
        if (c == '"')
            return FW_CS_EXT_VAL_END;
        if (c == '\\')
            return FW_CS_EXT_VAL_QP;
        return fw_is_qdtext(c) ? st : FW_CS_ERR_BAD;
    case FW_CS_EXT_VAL_QP:
        return fw_is_qp_byte(c) ? FW_CS_EXT_VAL_QS : FW_CS_ERR_BAD;
    case FW_CS_EXT_VAL_END:
        if (fw_is_ows(c))
            return FW_CS_EXT_SEMI_BWS;
        if (c == ';')
            return FW_CS_EXT_NAME_PRE;
        return c == '\r' ? FW_CS_SIZE_LF : FW_CS_ERR_BAD;
    default:
        return FW_CS_ERR_BAD;
    }
}

static int fw_chunk_fail(fw_chunked_t *dec, int code, size_t at, size_t *consumed)
{
    dec->state = code == FW_E_HEADERS_TOO_LARGE ? FW_CS_ERR_LARGE : FW_CS_ERR_BAD;
    *consumed = at;
    return code;
}

int fw_chunked_decode(fw_chunked_t *dec, const char *in, size_t len,
                      size_t *consumed, fw_slice_t *data)
{
    size_t i = 0;

    data->off = 0;
    data->len = 0;
    switch (dec->state) {
    case FW_CS_DONE:
        *consumed = 0;
        return FW_CHUNK_DONE;
    case FW_CS_ERR_BAD:
        *consumed = 0;
        return FW_E_BAD_REQUEST;
    case FW_CS_ERR_LARGE:
        *consumed = 0;
        return FW_E_HEADERS_TOO_LARGE;
    default:
        break;
    }

    while (i < len) {
        unsigned char c = (unsigned char)in[i];
        int st = dec->state;

        switch (st) {
        case FW_CS_SIZE_START:
        case FW_CS_SIZE: {
            int d = fw_hexval(c);
            if (d >= 0) {
                /* RFC 9112 §7.1: chunk-size = 1*HEXDIG; refuse sizes beyond
                 * 2^63-1 instead of wrapping (a classic smuggling trick) */
                if (dec->remaining > (FW_I63_MAX - (uint64_t)d) / 16)
                    return fw_chunk_fail(dec, FW_E_BAD_REQUEST, i, consumed);
                if (dec->size_digits >= FW_CHUNK_MAX_SIZE_DIGITS)
                    return fw_chunk_fail(dec, FW_E_BAD_REQUEST, i, consumed);
                dec->remaining = dec->remaining * 16 + (uint64_t)d;
                dec->size_digits++;
                dec->state = FW_CS_SIZE;
                break;
            }
            /* at least one digit (RFC 9112 §7.1: 1*HEXDIG) */
            if (st == FW_CS_SIZE_START)
                return fw_chunk_fail(dec, FW_E_BAD_REQUEST, i, consumed);
            if (c == '\r') {
                dec->state = FW_CS_SIZE_LF;
                break;
            }
            dec->line_bytes = 0;
            if (c == ';')
                dec->state = FW_CS_EXT_NAME_PRE;
            else if (fw_is_ows(c))
                dec->state = FW_CS_EXT_SEMI_BWS;   /* BWS before ";" */
            else    /* includes bare LF (RFC 9112 §7.1 lines end in CRLF) */
                return fw_chunk_fail(dec, FW_E_BAD_REQUEST, i, consumed);
            /* the ';' or BWS counts as extension bytes */
            if (++dec->line_bytes > dec->max_extension_bytes)
                return fw_chunk_fail(dec, FW_E_BAD_REQUEST, i, consumed);
            break;
        }
        case FW_CS_EXT_SEMI_BWS:
        case FW_CS_EXT_NAME_PRE:
        case FW_CS_EXT_NAME:
        case FW_CS_EXT_NAME_BWS:
        case FW_CS_EXT_VAL_PRE:
        case FW_CS_EXT_VAL_TOKEN:
        case FW_CS_EXT_VAL_QS:
        case FW_CS_EXT_VAL_QP:
        case FW_CS_EXT_VAL_END: {
            int next = fw_ext_step(st, c);
            if (next == FW_CS_ERR_BAD)
                return fw_chunk_fail(dec, FW_E_BAD_REQUEST, i, consumed);
            /* chunk extensions are capped per line (the CR ends them) */
            if (next != FW_CS_SIZE_LF && ++dec->line_bytes > dec->max_extension_bytes)
                return fw_chunk_fail(dec, FW_E_BAD_REQUEST, i, consumed);
            dec->state = next;
            break;
        }
        case FW_CS_SIZE_LF:
            /* RFC 9112 §7.1: the size line ends in CRLF; a bare CR → 400 */
            if (c != '\n')
                return fw_chunk_fail(dec, FW_E_BAD_REQUEST, i, consumed);
            dec->line_bytes = 0;
            dec->size_digits = 0;
            if (dec->remaining == 0) {
                /* last-chunk: trailer section follows */
                dec->state = FW_CS_TRAILER_START;
            } else {
                dec->state = FW_CS_DATA;
            }
            break;
        case FW_CS_DATA: {
            size_t avail = len - i;
            size_t n = dec->remaining < (uint64_t)avail ? (size_t)dec->remaining : avail;
            data->off = i;
            data->len = n;
            dec->remaining -= n;
            if (dec->remaining == 0)
                dec->state = FW_CS_DATA_CR;
            *consumed = i + n;
            return FW_CHUNK_DATA;
        }
        case FW_CS_DATA_CR:
            /* RFC 9112 §7.1: chunk-data is followed by exactly CRLF */
            if (c != '\r')
                return fw_chunk_fail(dec, FW_E_BAD_REQUEST, i, consumed);
            dec->state = FW_CS_DATA_LF;
            break;
        case FW_CS_DATA_LF:
            if (c != '\n')
                return fw_chunk_fail(dec, FW_E_BAD_REQUEST, i, consumed);
            dec->state = FW_CS_SIZE_START;
            break;
        case FW_CS_TRAILER_START:
            if (c == '\r') {
                dec->state = FW_CS_END_LF;
                break;
            }
            /* RFC 9112 §7.1.2: trailer fields use the field-line syntax, so a
             * name is a token; a leading SP/HTAB (obs-fold) or bare LF → 400 */
            if (!fw_is_tchar(c))
                return fw_chunk_fail(dec, FW_E_BAD_REQUEST, i, consumed);
            if (++dec->trailer_bytes > dec->max_trailer_bytes)
                return fw_chunk_fail(dec, FW_E_HEADERS_TOO_LARGE, i, consumed);
            dec->state = FW_CS_TR_NAME;
            break;
        case FW_CS_TR_NAME:
        case FW_CS_TR_VALUE:
        case FW_CS_TR_LF:
            /* every byte of a trailer line, its CRLF included, counts */
            if (++dec->trailer_bytes > dec->max_trailer_bytes)
                return fw_chunk_fail(dec, FW_E_HEADERS_TOO_LARGE, i, consumed);
            if (st == FW_CS_TR_NAME) {
                /* RFC 9112 §5.1: no whitespace between name and colon */
                if (c == ':')
                    dec->state = FW_CS_TR_VALUE;
                else if (!fw_is_tchar(c))
                    return fw_chunk_fail(dec, FW_E_BAD_REQUEST, i, consumed);
            } else if (st == FW_CS_TR_VALUE) {
                if (c == '\r')
                    dec->state = FW_CS_TR_LF;
                else if (!fw_is_field_byte(c))  /* NUL, LF, CTL, DEL → 400 */
                    return fw_chunk_fail(dec, FW_E_BAD_REQUEST, i, consumed);
            } else {
                if (c != '\n')                  /* bare CR → 400 */
                    return fw_chunk_fail(dec, FW_E_BAD_REQUEST, i, consumed);
                dec->state = FW_CS_TRAILER_START;
            }
            break;
        case FW_CS_END_LF:
            if (c != '\n')
                return fw_chunk_fail(dec, FW_E_BAD_REQUEST, i, consumed);
            dec->state = FW_CS_DONE;
            *consumed = i + 1;
            return FW_CHUNK_DONE;
        default:
            /* a state this decoder never sets: the struct was not zeroed */
            return fw_chunk_fail(dec, FW_E_BAD_REQUEST, i, consumed);
        }
        i++;
    }
    *consumed = len;
    return FW_INCOMPLETE;
}
