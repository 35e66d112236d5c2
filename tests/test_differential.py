"""Differential test of the C request parser against h11, an independent
HTTP/1.1 implementation: the same accept/reject verdict, and for accepted
requests the same method, target, version, fields and body framing.

Where the verdicts differ, the input must fall under one of the deliberate
stricter choices listed in STRICTER (we refuse what h11 lets through); an
input that we accept and h11 refuses would be a laxness and fails the test."""
import random
import re

import h11
import pytest

from fastwsgi._core import decode_chunked, parse_head
from test_strict import CASES

GOOD = [
    b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    b"GET /a/b?c=d&e=%20f HTTP/1.1\r\nHost: h:8080\r\nAccept: */*\r\nUser-Agent: x/1\r\n\r\n",
    b"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\n",
    b"PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET http://example.com/p?q HTTP/1.1\r\nHost: example.com\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
    b"DELETE /r HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Tab:\tv\t\r\nX-Latin: caf\xe9\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nCookie: b=2\r\nContent-Length: 0\r\n\r\n",
]

# Bytes that tend to matter to HTTP parsers.
INTERESTING = b" \t\r\n:,;\x00\x01\x7f\x80\xff0123456789aAzZ-_/?#%\"()=+"


def mutants(seeds, seed, count, max_edits=3):
    """count deterministic variants of the seed inputs, each with 1..max_edits
    bytes replaced, inserted or deleted."""
    rng = random.Random(seed)
    for _ in range(count):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, max_edits)):
            pos = rng.randrange(len(data))
            op = rng.random()
            byte = rng.choice(INTERESTING)
            if op < 0.4:
                data[pos] = byte
            elif op < 0.7:
                data.insert(pos, byte)
            else:
                del data[pos]
        yield bytes(data)


def h11_parse(data):
    """h11's reading: ('ok', method, target, version, headers, framing) or ('error',)."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError:
        return ("error",)
    if event is h11.NEED_DATA:
        return ("incomplete",)
    headers = [(k, v) for k, v in event.headers.raw_items()]
    names = {k.lower() for k, _ in headers}
    framing = "chunked" if b"transfer-encoding" in names else "length" if b"content-length" in names else "none"
    return ("ok", event.method, event.target, event.http_version, headers, framing)


def head_part(data):
    end = data.find(b"\r\n\r\n")
    return data[: end + 4] if end >= 0 else data


HOST_VALUE = re.compile(
    rb"(\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(:[0-9]*)?")


def host_is_invalid(head):
    """RFC 9112 §3.2 with RFC 3986 §3.2.2: one Host field holding uri-host[:port]."""
    values = re.findall(rb"\r\nhost:[ \t]*([^\r]*)", head, re.I)
    if len(values) != 1 or HOST_VALUE.fullmatch(values[0].rstrip(b" \t")) is None:
        return True
    # an empty Host only goes with a target that has no authority
    return values[0].strip(b" \t") == b"" and re.match(rb"\S+ https?://", head, re.I) is not None


def target_form_is_invalid(head):
    """RFC 9112 §3.2: origin-form, absolute-form (http/https, no userinfo),
    asterisk-form for OPTIONS, authority-form for CONNECT; visible ASCII, no '#'."""
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    if len(parts) != 3:
        return True
    method, target = parts[0], parts[1]
    if re.search(rb"[^\x21-\x7e]|#", target):
        return True
    if target.startswith(b"/"):
        return False
    absolute = re.match(rb"https?://([^/?]*)", target, re.I)
    if absolute:
        authority = absolute.group(1)
        host_part = HOST_VALUE.fullmatch(authority)
        return host_part is None or host_part.group(1) == b""
    return not ((method == b"OPTIONS" and target == b"*") or method == b"CONNECT")


# Each deliberate stricter choice: a name and a test of the raw head.
STRICTER = [
    ("bare LF or CR as a line ending (RFC 9112 §2.2 lets a server refuse)",
     lambda d: re.search(rb"(?<!\r)\n|\r(?!\n)", d) is not None),
    ("obs-fold, a field line starting with SP or HTAB (RFC 9112 §5.2)",
     lambda d: re.search(rb"\r\n[ \t]", d) is not None),
    ("request line: METHOD SP target SP HTTP/1.0 or HTTP/1.1, single spaces (RFC 9112 §3)",
     lambda d: re.match(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [^ ]+ HTTP/1\.[01]\r\n", d) is None),
    ("request-target form and characters (RFC 9112 §3.2, RFC 3986)", target_form_is_invalid),
    ("Host must be one field holding uri-host[:port] (RFC 9112 §3.2)", host_is_invalid),
    ("Content-Length must be digits; no lists, signs or blanks (RFC 9110 §8.6)",
     lambda d: re.search(rb"\r\ncontent-length:[ \t]*(?![0-9]+[ \t]*\r\n)", d, re.I) is not None),
    ("Transfer-Encoding: only a single final chunked, never on HTTP/1.0 (RFC 9112 §6.1)",
     lambda d: re.search(rb"\r\ntransfer-encoding:", d, re.I) is not None),
    ("field values: no control characters but HTAB (RFC 9110 §5.5)",
     lambda d: re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", d.replace(b"\r\n", b"")) is not None),
]


def stricter_reason(data):
    for name, applies in STRICTER:
        if applies(data):
            return name
    return None


def corpus():
    yield from GOOD
    for case in CASES:
        yield head_part(case[1])
    yield from mutants(GOOD, seed=9112, count=4000)


def test_same_verdicts_and_same_requests():
    laxer, unexplained, compared = [], [], 0
    for data in corpus():
        ours = parse_head(data)
        theirs = h11_parse(data)
        if ours is None or theirs[0] == "incomplete":
            continue                       # one of the two wants more bytes: nothing to compare
        compared += 1
        we_accept = ours[1] is not None
        if we_accept and theirs[0] == "ok":
            _, method, target, version, headers, framing = theirs
            assert ours[1] == method and ours[2] == target, data
            assert b"1.%d" % ours[3] == version, data
            assert [(k.lower(), v) for k, v in ours[4]] == [(k.lower(), v) for k, v in headers], data
            assert ours[5] == framing, data
        elif we_accept:
            laxer.append(data)
        elif theirs[0] == "ok" and stricter_reason(data) is None:
            unexplained.append(data)
    assert compared > 2000
    assert laxer == [], "we accept what h11 refuses: %r" % laxer[:5]
    assert unexplained == [], "we refuse what h11 accepts, for no documented reason: %r" % unexplained[:5]


@pytest.mark.parametrize("data", GOOD)
def test_every_prefix_is_incomplete_and_the_whole_head_parses(data):
    # (Feeding a head in pieces, with last_len, is checked by csrc/tests and the fuzzers.)
    for cut in range(len(data)):
        assert parse_head(data[:cut]) is None       # incomplete before the blank line
    whole = parse_head(data)
    assert whole is not None and whole[0] == len(data) and whole[1] is not None


CHUNKED_GOOD = [
    b"5\r\nhello\r\n0\r\n\r\n",
    b"3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n",
    b"3;ext=1\r\nabc\r\n0\r\nTrailer: v\r\n\r\n",
    b"000003\r\nabc\r\n0\r\n\r\n",
    b"1;a;b=\"q\"\r\nx\r\n0\r\n\r\n",
]
CHUNK_HEAD = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"


def h11_body(data):
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(CHUNK_HEAD + data)
    body = b""
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                return ("incomplete", body)
            if isinstance(event, h11.Data):
                body += event.data
            if isinstance(event, h11.EndOfMessage):
                return ("done", body)
    except h11.RemoteProtocolError:
        return ("error", None)


# Deliberate stricter choices of the chunked decoder.
CHUNKED_STRICTER = [
    ("bare LF or CR as a line ending", lambda d: re.search(rb"(?<!\r)\n|\r(?!\n)", d) is not None),
    ("chunk extensions must follow RFC 9112 §7.1.1 exactly (h11 skips them unread)",
     lambda d: b";" in d),
    ("no whitespace around the chunk size", lambda d: re.search(rb"(^|\n)[0-9A-Fa-f]*[ \t]", d) is not None),
    ("trailer fields must be valid field lines (h11 ignores some errors there)",
     lambda d: re.search(rb"\r\n0[^\r]*\r\n(?!\r\n)", d) is not None),
]


# Where h11 is stricter than RFC 9112 and we follow the RFC.
CHUNKED_RFC_VALID = [
    ("BWS before ';' of a chunk extension (RFC 9112 §7.1.1: chunk-ext = *( BWS \";\" ...))",
     lambda d: re.search(rb"(^|\n)[0-9A-Fa-f]+[ \t]+;", d) is not None),
]


def test_chunked_bodies_decode_like_h11():
    laxer, unexplained, compared = [], [], 0
    for data in list(CHUNKED_GOOD) + list(mutants(CHUNKED_GOOD, seed=7230, count=4000, max_edits=2)):
        ours = decode_chunked(data)
        theirs = h11_body(data)
        if ours[0] == "incomplete" or theirs[0] == "incomplete":
            continue
        compared += 1
        if ours[0] == "done" and theirs[0] == "done":
            assert ours[1] == theirs[1], data
        elif ours[0] == "done":
            if not any(test(data) for _, test in CHUNKED_RFC_VALID):
                laxer.append(data)
        elif theirs[0] == "done" and not any(test(data) for _, test in CHUNKED_STRICTER):
            unexplained.append(data)
    assert compared > 1000
    assert laxer == [], "we accept chunked bodies h11 refuses: %r" % laxer[:5]
    assert unexplained == [], "we refuse chunked bodies h11 accepts: %r" % unexplained[:5]
