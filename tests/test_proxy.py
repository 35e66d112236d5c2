"""--forwarded-allow-ips: trusted peers' X-Forwarded-For / X-Forwarded-Proto and
RFC 7239 Forwarded set REMOTE_ADDR and wsgi.url_scheme; nobody else's do.

The rules are tested on TrustedProxies.rewrite directly, then through real
server processes: trust is decided per connection from the peer address."""
import json
import random
import socket
import sys

import pytest

from conftest import ServerProcess
from fastwsgi.proxy import TrustedProxies, parse_trusted
from http_client import get, read_reply, request, unix_request

ORIGINAL = {"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50000", "wsgi.url_scheme": "http"}


def rewritten(headers, trusted=("127.0.0.1",)):
    """The (REMOTE_ADDR, REMOTE_PORT, wsgi.url_scheme) a request from a trusted
    peer ends up with."""
    environ = dict(ORIGINAL)
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    TrustedProxies(parse_trusted(trusted)).rewrite(environ)
    return environ["REMOTE_ADDR"], environ["REMOTE_PORT"], environ["wsgi.url_scheme"]


UNCHANGED = ("127.0.0.1", "50000", "http")


@pytest.mark.parametrize("xff, expected", [
    ("203.0.113.7", ("203.0.113.7", "", "http")),
    ("203.0.113.7, 127.0.0.1", ("203.0.113.7", "", "http")),      # trusted hops are skipped
    # The rightmost untrusted address: 203.0.113.7 connected to our trusted proxy,
    # and anything it sent, like 198.51.100.1, it may have made up.
    ("198.51.100.1, 203.0.113.7", ("203.0.113.7", "", "http")),
    ("198.51.100.1,203.0.113.7,127.0.0.1", ("203.0.113.7", "", "http")),
    ("127.0.0.1", ("127.0.0.1", "", "http")),                      # all trusted: the leftmost
    ("203.0.113.7:4711", ("203.0.113.7", "4711", "http")),
    ("[2001:db8::1]:4711", ("2001:db8::1", "4711", "http")),
    ("2001:DB8::1", ("2001:db8::1", "", "http")),
    ("::ffff:203.0.113.7", ("203.0.113.7", "", "http")),           # IPv4-mapped: the IPv4
    ("203.0.113.7:99999", ("203.0.113.7", "", "http")),            # a bad port is dropped
    ("unknown", UNCHANGED),                                        # names no address
    ("203.0.113.7, unknown", UNCHANGED),                           # can't see past it
    ("unknown, 203.0.113.7", ("203.0.113.7", "", "http")),
    ("", UNCHANGED),
    ("203.0.113.7,,127.0.0.1", UNCHANGED),
])
def test_x_forwarded_for(xff, expected):
    assert rewritten({"X-Forwarded-For": xff}) == expected


@pytest.mark.parametrize("headers, expected", [
    ({"X-Forwarded-Proto": "https"}, ("127.0.0.1", "50000", "https")),
    ({"X-Forwarded-Proto": " HTTPS "}, ("127.0.0.1", "50000", "https")),
    ({"X-Forwarded-Proto": "http"}, UNCHANGED),
    ({"X-Forwarded-Proto": "gopher"}, UNCHANGED),
    ({"X-Forwarded-Proto": "https, http"}, UNCHANGED),            # which one? unknowable
    ({"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
     ("203.0.113.7", "", "https")),
    ({"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "ftp"}, UNCHANGED),
    # one scheme per hop: the chosen hop's scheme counts
    ({"X-Forwarded-For": "203.0.113.7, 127.0.0.1", "X-Forwarded-Proto": "https, http"},
     ("203.0.113.7", "", "https")),
    ({"X-Forwarded-For": "203.0.113.7, 127.0.0.1", "X-Forwarded-Proto": "https,http,http"},
     UNCHANGED),
])
def test_x_forwarded_proto(headers, expected):
    assert rewritten(headers) == expected


@pytest.mark.parametrize("forwarded, expected", [
    ("for=192.0.2.60;proto=https;by=203.0.113.43", ("192.0.2.60", "", "https")),
    ('for="[2001:db8:cafe::17]:4711"', ("2001:db8:cafe::17", "4711", "http")),
    ('For="[2001:db8:cafe::17]"; PROTO=HTTPS', ("2001:db8:cafe::17", "", "https")),
    ('for="192.0.2.43:47011"', ("192.0.2.43", "47011", "http")),
    ("for=192.0.2.43, for=198.51.100.17", ("198.51.100.17", "", "http")),
    ("for=192.0.2.43;proto=http, for=198.51.100.17;proto=https", ("198.51.100.17", "", "https")),
    ('for=192.0.2.43, for="[2001:db8::17]";proto=https, for=127.0.0.1;proto=http',
     ("2001:db8::17", "", "https")),
    ("for=127.0.0.1", ("127.0.0.1", "", "http")),
    ("for=192.0.2.43,, ,for=198.51.100.17", ("198.51.100.17", "", "http")),   # empty items
    ("for=192.0.2.43;;proto=https;", ("192.0.2.43", "", "https")),            # empty pairs
    ('for="192.0.2.43";proto="ht\\tps"', ("192.0.2.43", "", "https")),        # quoted-pair
    ("for=unknown;proto=https", ("127.0.0.1", "50000", "https")),             # proto still counts
    ("proto=https", ("127.0.0.1", "50000", "https")),
    ("for=_hidden, for=127.0.0.1", UNCHANGED),                                # obfuscated
    ("host=example.com;by=10.0.0.1", UNCHANGED),
    # malformed: left alone
    ("for=192.0.2.43;for=198.51.100.17", UNCHANGED),   # a parameter twice in one element
    ("for", UNCHANGED),
    ("for=", UNCHANGED),
    ('for="192.0.2.43', UNCHANGED),
    ("for=[2001:db8::17]", UNCHANGED),                  # IPv6 must be quoted
    ("for=192.0.2.43 junk", UNCHANGED),
    ("for=192.0.2.43;proto=gopher", UNCHANGED),
    ('for="192.0.2.43"x', UNCHANGED),
    ("for=192.0.2.43\x00", UNCHANGED),
])
def test_forwarded(forwarded, expected):
    assert rewritten({"Forwarded": forwarded}) == expected


def test_x_forwarded_headers_win_over_forwarded():
    # Proxies that append X-Forwarded-For mostly pass a client's Forwarded on.
    headers = {"Forwarded": "for=198.51.100.1;proto=https", "X-Forwarded-For": "203.0.113.7"}
    assert rewritten(headers) == ("203.0.113.7", "", "http")
    headers = {"Forwarded": "for=198.51.100.1", "X-Forwarded-Proto": "https"}
    assert rewritten(headers) == ("127.0.0.1", "50000", "https")


def test_trust_list_shapes_the_chain():
    xff = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7, 10.1.2.3"}
    assert rewritten(xff, ["10.0.0.0/8"])[0] == "203.0.113.7"
    assert rewritten(xff, ["10.0.0.0/8", "203.0.113.0/24"])[0] == "198.51.100.1"
    assert rewritten(xff, ["*"])[0] == "198.51.100.1"     # everyone trusted: the leftmost
    assert rewritten(xff, ["10.1.2.3/32"])[0] == "203.0.113.7"


def test_peer_membership():
    default = TrustedProxies(["127.0.0.1"])
    assert "127.0.0.1" in default.peers and "::ffff:127.0.0.1" in default.peers
    assert "" in default.peers                          # unix socket peers
    assert "127.0.0.2" not in default.peers and "::1" not in default.peers
    assert isinstance(default.peers, frozenset)         # the core's lookup stays a set lookup
    nets = TrustedProxies(["10.0.0.0/8", "2001:db8::/32", "::1"])
    assert nets.peers is nets
    for inside in ("10.9.8.7", "::ffff:10.9.8.7", "2001:db8::5", "::1", ""):
        assert inside in nets.peers, inside
    mapped = TrustedProxies(parse_trusted(["::ffff:10.0.0.0/104"]))
    assert "10.0.0.5" in mapped.peers and "::ffff:10.0.0.5" in mapped.peers
    assert "11.0.0.5" not in mapped.peers
    for outside in ("11.0.0.1", "2001:db9::1", "not an address"):
        assert outside not in nets.peers, outside
    nobody = TrustedProxies([])
    assert "" not in nobody.peers and "127.0.0.1" not in nobody.peers
    assert TrustedProxies(["*"]).trust_all


def test_any_header_value_leaves_a_valid_environ():
    # Whatever a trusted peer sends, rewrite() neither raises nor writes
    # anything but an IP address, a port and http/https.
    rng = random.Random(7239)
    pieces = ["for=", "proto=", "by=", "https", "http", "1.2.3.4", "[::1]", ":80", '"', "\\",
              ";", ",", " ", "=", "unknown", "_x", "2001:db8::1", "\x00", "\xff", "é", "[", "]"]
    trusted = TrustedProxies(["127.0.0.1", "10.0.0.0/8"])
    for _ in range(3000):
        environ = dict(ORIGINAL)
        for key in ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO"):
            if rng.random() < 0.5:
                environ[key] = "".join(rng.choice(pieces) for _ in range(rng.randrange(8)))
        trusted.rewrite(environ)
        assert environ["wsgi.url_scheme"] in ("http", "https")
        if environ["REMOTE_ADDR"] != "127.0.0.1":
            socket.inet_pton(socket.AF_INET6 if ":" in environ["REMOTE_ADDR"] else socket.AF_INET,
                             environ["REMOTE_ADDR"])
        assert environ["REMOTE_PORT"] == "" or 0 < int(environ["REMOTE_PORT"]) < 65536


# -- through a real server ----------------------------------------------------------


FORWARDED_HEADERS = [("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https")]


def environ_of(server, headers=(), path="/environ"):
    reply = request(server, get(path, headers=headers))
    assert reply.status == 200, reply
    return json.loads(reply.body)


def test_default_trusts_the_loopback_peer(server):
    env = environ_of(server("apps:app"), FORWARDED_HEADERS)
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"], env["wsgi.url_scheme"]) == (
        "203.0.113.7", "", "https")
    assert env["HTTP_X_FORWARDED_FOR"] == "203.0.113.7"        # the headers stay for the app


@pytest.mark.parametrize("how", ["flag", "env"])
def test_untrusted_peer_changes_nothing(server, how):
    if how == "flag":
        proc = server("apps:app", "--forwarded-allow-ips", "10.0.0.1,192.168.0.0/16")
    else:
        proc = server("apps:app", env={"FASTWSGI_FORWARDED_ALLOW_IPS": "10.0.0.0/8"})
    env = environ_of(proc, FORWARDED_HEADERS + [("Forwarded", "for=192.0.2.1;proto=https")])
    assert env["REMOTE_ADDR"] == "127.0.0.1" and env["REMOTE_PORT"] != ""
    assert env["wsgi.url_scheme"] == "http"


@pytest.mark.parametrize("allow", ["127.0.0.0/8", "*"])
def test_trusted_by_network_or_star(server, allow):
    env = environ_of(server("apps:app", "--forwarded-allow-ips", allow), FORWARDED_HEADERS)
    assert (env["REMOTE_ADDR"], env["wsgi.url_scheme"]) == ("203.0.113.7", "https")


def test_a_mapped_entry_trusts_that_peer_on_a_dual_stack_socket():
    # On a dual-stack socket (here an inherited one) an IPv4 client's address
    # is ::ffff:127.0.0.1; the entry must match it however it is written.
    if not socket.has_ipv6:
        pytest.skip("IPv6 is not available: Python was built without IPv6 (socket.has_ipv6 is False)")
    listener = socket.socket(socket.AF_INET6)
    listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    listener.bind(("::", 0))
    listener.listen()
    with listener:
        for allow in ("::ffff:127.0.0.1", "[::FFFF:127.0.0.1]", "::ffff:127.0.0.1/128",
                      "::ffff:127.0.0.0/104"):
            proc = ServerProcess([sys.executable, "-m", "fastwsgi", "--bind",
                                  "fd://%d" % listener.fileno(), "--forwarded-allow-ips", allow,
                                  "apps:app"], pass_fds=[listener.fileno()])
            try:
                proc.wait_listening(r"listening on http://\[::\]:(\d+)")
                env = environ_of(proc, FORWARDED_HEADERS)
                assert (env["REMOTE_ADDR"], env["wsgi.url_scheme"]) == ("203.0.113.7", "https"), allow
                assert proc.stop() == 0, proc.stderr_text()
            finally:
                proc.close()


# Runs the command line in a process that may not import ipaddress: it costs
# a worker about 280 KiB, and only a network in the list needs it.
WITHOUT_IPADDRESS = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name == "ipaddress":
            raise ImportError("ipaddress is refused in this test")
sys.modules.pop("ipaddress", None)    # an editable install's path hook loads it
sys.meta_path.insert(0, Refuse())
from fastwsgi.cli import main
sys.exit(main())
"""


def test_addresses_are_read_without_ipaddress(server):
    proc = server("bare_app:app", launcher=("-c", WITHOUT_IPADDRESS))
    env = environ_of(proc, FORWARDED_HEADERS, path="/")
    assert (env["REMOTE_ADDR"], env["wsgi.url_scheme"]) == ("203.0.113.7", "https")
    env = environ_of(proc, [("Forwarded", 'for="[2001:db8:cafe::17]:4711"')], path="/")
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == ("2001:db8:cafe::17", "4711")
    assert "ipaddress" not in env["modules"]


def test_forwarded_header_through_the_server(server):
    env = environ_of(server("apps:app"),
                     [("Forwarded", 'for=192.0.2.60, for="[2001:db8:cafe::17]:4711";proto=https')])
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"], env["wsgi.url_scheme"]) == (
        "2001:db8:cafe::17", "4711", "https")


def test_header_names_in_any_case_and_repeated(server):
    proc = server("apps:app")
    env = environ_of(proc, [("forwarded", "for=192.0.2.60"),
                            ("FORWARDED", "for=198.51.100.17;proto=https")])
    assert env["HTTP_FORWARDED"] == "for=192.0.2.60, for=198.51.100.17;proto=https"
    assert (env["REMOTE_ADDR"], env["wsgi.url_scheme"]) == ("198.51.100.17", "https")
    env = environ_of(proc, [("x-forwarded-for", "192.0.2.60"), ("X-FORWARDED-PROTO", "https")])
    assert (env["REMOTE_ADDR"], env["wsgi.url_scheme"]) == ("192.0.2.60", "https")


def test_each_request_on_a_connection_is_judged_alone(server):
    proc = server("apps:app")
    with proc.connect() as sock:
        sock.sendall(get("/environ", headers=FORWARDED_HEADERS))
        first = json.loads(read_reply(sock).body)
        sock.sendall(get("/environ"))
        second = json.loads(read_reply(sock).body)
        port = str(sock.getsockname()[1])
    assert (first["REMOTE_ADDR"], first["wsgi.url_scheme"]) == ("203.0.113.7", "https")
    assert (second["REMOTE_ADDR"], second["wsgi.url_scheme"]) == ("127.0.0.1", "http")
    assert second["REMOTE_PORT"] == port


def test_malformed_headers_from_a_trusted_peer_are_ignored(server):
    proc = server("apps:app")
    for headers in ([("Forwarded", 'for="[2001:db8::1')],
                    [("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "ftp")],
                    [("Forwarded", "for=1.2.3.4;for=5.6.7.8")]):
        env = environ_of(proc, headers)
        assert (env["REMOTE_ADDR"], env["wsgi.url_scheme"]) == ("127.0.0.1", "http")


@pytest.mark.parametrize("allow, trusted", [(None, True), ("10.0.0.1", True), ("", False)])
def test_unix_socket_peers(server, tmp_path, allow, trusted):
    path = tmp_path / "proxied.sock"
    args = ["--bind", "127.0.0.1:0", "--bind", "unix:%s" % path]
    if allow is not None:
        args += ["--forwarded-allow-ips", allow]
    server("apps:app", *args)
    env = json.loads(unix_request(path, get("/environ", headers=FORWARDED_HEADERS)).body)
    expected = ("203.0.113.7", "https") if trusted else ("", "http")
    assert (env["REMOTE_ADDR"], env["wsgi.url_scheme"]) == expected


def test_empty_list_trusts_no_tcp_peer_either(server):
    env = environ_of(server("apps:app", "--forwarded-allow-ips", ""), FORWARDED_HEADERS)
    assert (env["REMOTE_ADDR"], env["wsgi.url_scheme"]) == ("127.0.0.1", "http")
