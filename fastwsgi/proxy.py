"""Trusted proxies: which peers may say who the client is, and how their
forwarding headers rewrite the environ.

The core decides once per connection whether the peer is trusted (a set
lookup, TrustedProxies.peers) and calls TrustedProxies.rewrite only for a
request from a trusted peer that carries X-Forwarded-For, X-Forwarded-Proto
or Forwarded, so requests without them pay nothing here.

Which header counts: X-Forwarded-For / X-Forwarded-Proto when the request has
either, else RFC 7239 Forwarded (its for= and proto=; by= and host= are not
used).  The X- headers win because they are what nginx, HAProxy, Envoy and
the cloud load balancers set, while most proxies pass a client's Forwarded
header through untouched: preferring it would let any client pick its own
REMOTE_ADDR through a proxy that only appends X-Forwarded-For.

Unix socket peers (the "" address) are trusted whenever the list is not
empty: only processes the socket file's mode lets in can connect.

A header we cannot read (bad syntax, a proto other than http/https) leaves
the environ as it was; nothing here raises on what a request carries.
"""

import re
import socket
from typing import List, Optional, Tuple

# Addresses are read with inet_pton. ipaddress (about 280 KiB of a worker's
# memory) is imported only when the list holds a network, and then by
# parse_trusted, before any switch to --user: a worker may be unable to read
# the interpreter's files after it.

__all__ = ["TrustedProxies", "parse_trusted", "ANY"]

ANY = "*"

UNIX_PEER = ""  # the peer address the core records for unix socket connections

_SCHEMES = ("http", "https")


def parse_trusted(items) -> List[str]:
    """Validate and normalise trusted peer entries: IP addresses, networks in
    CIDR notation, or "*".  Empty items are skipped; ["*"] if "*" is among
    them.  Raises ValueError with a one-line reason."""
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError("%r is not a string" % (item,))
        text = item.strip()
        if text == ANY:
            return [ANY]
        if not text:
            continue
        bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
        normal = _network_text(bare) if "/" in bare else _address_text(bare)
        if normal is None:
            raise ValueError("%r is not an IP address or network (host names are not"
                             " resolved)" % text)
        out.append(normal)
    return out


_V4_MAPPED = b"\0" * 10 + b"\xff\xff"


def _address_text(text) -> Optional[str]:
    """An address written as the core writes a peer's (inet_ntop), or None.
    An IPv4-mapped IPv6 address becomes its IPv4: TrustedProxies matches
    that in both forms. (Before 3.13 ipaddress writes ::ffff:10.0.0.1 as
    ::ffff:a00:1, which no peer's address would equal.)"""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            packed = socket.inet_pton(family, text)
        except (OSError, ValueError):   # ValueError: an embedded NUL
            continue
        if packed.startswith(_V4_MAPPED):
            return socket.inet_ntop(socket.AF_INET, packed[12:])
        return socket.inet_ntop(family, packed)
    return None


def _network_text(text) -> Optional[str]:
    """A network in CIDR notation, or None. One inside the IPv4-mapped range
    becomes its IPv4 network, as a mapped address becomes its IPv4; one with
    a zone is refused, as a zoned address is."""
    import ipaddress
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    if network.version == 6:
        if network.network_address.scope_id is not None:
            return None
        mapped = network.network_address.ipv4_mapped
        if mapped is not None and network.prefixlen >= 96:
            network = ipaddress.ip_network((mapped, network.prefixlen - 96))
    return str(network)


ANSWERS_KEPT = 4096                       # distinct forwarding-header values remembered
ANSWER_KEY_BYTES = 256                    # longer ones (a long chain) are parsed each time


class TrustedProxies:
    """The trusted peers of one server (the --forwarded-allow-ips entries).

    trust_all   "*" was given: every peer is trusted
    peers       what the core tests a peer's address against with `in`:
                a frozenset of address strings when no network was given
                (a lookup at C speed), else this object
    """

    def __init__(self, entries):
        self.trust_all = ANY in entries
        addresses, networks = set(), []
        if entries:
            addresses.add(UNIX_PEER)
        for entry in entries:
            if entry == ANY:
                continue
            if "/" in entry:
                import ipaddress    # parse_trusted has loaded it: a network was given
                network = ipaddress.ip_network(entry, strict=False)
                if network.num_addresses > 1:
                    networks.append(network)
                    continue
                entry = _address_text(str(network.network_address))
            addresses.add(entry)
            if ":" not in entry:
                # what the kernel reports for IPv4 clients of a dual-stack socket
                addresses.add("::ffff:" + entry)
        self.addresses = frozenset(addresses)
        self.networks = tuple(networks)
        if networks:
            self._ip_address = ipaddress.ip_address    # for __contains__
        self.peers = self if self.networks else self.addresses
        # A proxy sends the same few header values again and again (one per
        # client): each is parsed once. The answer depends on nothing else.
        self._answers = {}

    def __contains__(self, address) -> bool:
        if self.trust_all or address in self.addresses:
            return True
        if not self.networks:
            return False
        text = _address_text(address)
        if text is None:
            return False
        ip = self._ip_address(text)
        return any(ip in network for network in self.networks)

    def rewrite(self, environ) -> None:
        """Set REMOTE_ADDR, REMOTE_PORT and wsgi.url_scheme from the forwarding
        headers of a request whose peer is trusted (module docstring)."""
        headers = (environ.get("HTTP_X_FORWARDED_FOR"), environ.get("HTTP_X_FORWARDED_PROTO"),
                   environ.get("HTTP_FORWARDED"))
        answer = self._answers.get(headers)
        if answer is None:
            answer = self._answer(*headers)
            if sum(len(h) for h in headers if h) <= ANSWER_KEY_BYTES:   # memory stays bounded
                if len(self._answers) >= ANSWERS_KEPT:
                    self._answers.clear()
                self._answers[headers] = answer
        client, proto = answer
        if client is not None:
            environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = client
        if proto is not None:
            environ["wsgi.url_scheme"] = proto

    def _answer(self, forwarded_for, forwarded_proto, forwarded):
        """((REMOTE_ADDR, REMOTE_PORT) or None, wsgi.url_scheme or None)."""
        if forwarded_for is not None or forwarded_proto is not None:
            hops = _x_forwarded_hops(forwarded_for, forwarded_proto)
        else:
            hops = _forwarded_hops(forwarded or "")
        if not hops:
            return None, None
        # Walk from our peer outward.  Each hop was written by the proxy one
        # step closer to us, so it is believable only while every proxy from
        # our peer to it is trusted: the first untrusted address met (the
        # rightmost) is the client, and whatever lies left of it that client
        # may have made up.  A hop naming no address ("unknown", an
        # obfuscated name) ends the walk too: we cannot tell if it is trusted.
        # If every address is trusted, the leftmost one is the client.
        for node, proto in reversed(hops):
            client = _node_address(node)
            if client is None or client[0] not in self:
                break
        return client, proto


Hop = Tuple[Optional[str], Optional[str]]  # (node as sent, scheme), client side first


def _scheme(text) -> Optional[str]:
    scheme = text.strip().lower()
    return scheme if scheme in _SCHEMES else None


def _x_forwarded_hops(forwarded_for, forwarded_proto) -> Optional[List[Hop]]:
    """X-Forwarded-For is a list of addresses, client first.  X-Forwarded-Proto
    holds one scheme (the one the client used), or one per X-Forwarded-For
    entry; any other shape is unreadable (None)."""
    nodes = [n.strip() for n in forwarded_for.split(",")] if forwarded_for is not None else []
    if "" in nodes:
        return None
    if forwarded_proto is None:
        return [(node, None) for node in nodes]
    schemes = [_scheme(p) for p in forwarded_proto.split(",")]
    if None in schemes:
        return None
    if len(schemes) == 1:
        return [(node, schemes[0]) for node in nodes] or [(None, schemes[0])]
    if len(schemes) != len(nodes):
        return None
    return list(zip(nodes, schemes))


# RFC 7239 §4: Forwarded = 1#forwarded-element; an element is pairs joined by
# ";"; a pair is token "=" (token / quoted-string).  RFC 9110 §5.6.2 tokens.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PAIR = re.compile(r"[ \t]*(%s)=(?:(%s)|\"((?:[^\"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\x00-\x08\x0a-\x1f\x7f])*)\")[ \t]*"
                   % (_TOKEN, _TOKEN))
_QUOTED_PAIR = re.compile(r"\\(.)")


def _forwarded_hops(header) -> Optional[List[Hop]]:
    """The (for, proto) of each element of a Forwarded header, client first;
    None when its syntax is broken, a parameter repeats within an element,
    or a proto is not http/https."""
    hops, element, pos, end = [], {}, 0, len(header)
    while pos < end:
        match = _PAIR.match(header, pos)
        if match is not None:
            name = match.group(1).lower()
            value = match.group(2)
            if value is None:
                value = _QUOTED_PAIR.sub(r"\1", match.group(3))
            if name in element:
                return None  # RFC 7239 §4: a parameter occurs once per element
            element[name] = value
            pos = match.end()
            if pos == end:
                break
        separator = header[pos]
        if separator == ",":
            hops.append(element)
            element = {}
        elif separator not in "; \t":
            return None
        pos += 1
    hops.append(element)
    out = []
    for element in hops:
        if not element:
            continue  # an empty list item: "a, , b" is allowed by the # rule
        proto = element.get("proto")
        if proto is not None:
            proto = _scheme(proto)
            if proto is None:
                return None
        out.append((element.get("for"), proto))
    return out


def _node_address(node) -> Optional[Tuple[str, str]]:
    """(REMOTE_ADDR, REMOTE_PORT) for a node: "192.0.2.1", "192.0.2.1:80",
    "[2001:db8::1]:80", "2001:db8::1"; the port is "" when not given or
    obfuscated.  None when the node names no IP address."""
    if node is None:
        return None
    if node.startswith("["):
        host, _, rest = node[1:].partition("]")
        if rest and not rest.startswith(":"):
            return None
        port = rest[1:]
    elif node.count(":") == 1:
        host, port = node.split(":")
    else:
        host, port = node, ""
    address = _address_text(host)
    if address is None:
        return None
    if not (port.isdigit() and port.isascii() and 0 < int(port) < 65536):
        port = ""
    return address, port
