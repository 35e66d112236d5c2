"""Config: one option table → defaults, FASTWSGI_* variables, overrides."""

import os

import pytest

from fastwsgi.config import OPTIONS, Config, option_names, parse_size
from fastwsgi.errors import ConfigError, FastWSGIError

DEFAULTS = {
    "app": None,
    "host": "127.0.0.1",
    "port": 8000,
    "bind": [],
    "backlog": 2048,
    "log_level": "info",
    "access_log": False,
    "max_request_line": 8190,
    "max_header_count": 100,
    "max_head_bytes": 65536,
    "max_body_size": 1073741824,
    "spool_threshold": 1048576,
    "keepalive_timeout": 5.0,
}


def make(overrides=None, environ=None, **kw):
    return Config.from_sources(overrides or {}, environ or {}, **kw)


def error_of(overrides=None, environ=None, **kw):
    with pytest.raises(ConfigError) as info:
        make(overrides, environ, **kw)
    message = str(info.value)
    assert "\n" not in message
    return message


def subset(config):
    """The values of the options documented above (the table may hold more)."""
    return {name: value for name, value in config.as_dict().items() if name in DEFAULTS}


def test_table_holds_the_documented_options():
    names = option_names()
    assert [name for name in names if name in DEFAULTS] == list(DEFAULTS)
    assert len(set(names)) == len(names)
    for opt in OPTIONS:
        assert opt.env == "FASTWSGI_" + opt.name.upper()
        assert opt.flag == "--" + opt.name.replace("_", "-")
        assert opt.help


def test_defaults():
    config = make()
    assert subset(config) == DEFAULTS
    assert config.as_dict() == {opt.name: opt.default for opt in OPTIONS}
    assert config.binds == ["127.0.0.1:8000"]
    assert config.source_of("port") == "default"
    assert config.unknown_env == []


def test_default_list_is_not_shared():
    make().bind.append("x:1")
    assert make().bind == []


def test_env_overrides_defaults_and_overrides_win():
    env = {"FASTWSGI_PORT": "9000", "FASTWSGI_HOST": "0.0.0.0", "FASTWSGI_APP": "m:app"}
    config = make({}, env)
    assert (config.port, config.host, config.app) == (9000, "0.0.0.0", "m:app")
    assert config.source_of("port") == "FASTWSGI_PORT"
    config = make({"port": "9001", "host": None}, env)
    assert (config.port, config.host) == (9001, "0.0.0.0")
    assert config.source_of("port") == "--port"
    assert config.binds == ["0.0.0.0:9001"]


def test_overridden_env_value_is_not_validated():
    config = make({"port": "1"}, {"FASTWSGI_PORT": "abc"})
    assert config.port == 1


def test_none_override_means_not_given():
    config = make({name: None for name in option_names()})
    assert subset(config) == DEFAULTS


def test_empty_env_var_counts_as_unset():
    config = make({}, {"FASTWSGI_PORT": "", "FASTWSGI_APP": "  "})
    assert config.port == 8000 and config.app is None


def test_environ_defaults_to_os_environ(monkeypatch):
    monkeypatch.setenv("FASTWSGI_BACKLOG", "17")
    assert Config.from_sources({}).backlog == 17


def test_native_values_from_keywords():
    config = make({"port": 0, "access_log": True, "keepalive_timeout": 2,
                   "max_body_size": 10, "bind": ("unix:/tmp/a.sock",)}, origin="api")
    assert config.port == 0 and config.access_log is True
    assert config.keepalive_timeout == 2.0 and isinstance(config.keepalive_timeout, float)
    assert config.max_body_size == 10
    assert config.binds == ["unix:/tmp/a.sock"]


def test_unknown_option():
    message = error_of({"prot": 1})
    assert message.startswith("unknown option 'prot'")
    assert "did you mean 'port'" in message and "fastwsgi --help" in message
    message = error_of({"nonsense": 1}, origin="api")
    assert "unknown option 'nonsense'" in message and "max_body_size" in message


def test_unknown_env_vars_are_collected_not_fatal():
    config = make({}, {"FASTWSGI_PROT": "1", "OTHER": "x"})
    assert config.unknown_env == ["FASTWSGI_PROT"]


def test_build_variables_are_not_unknown_options():
    config = make({}, {"FASTWSGI_CFLAGS": "-O1", "FASTWSGI_LDFLAGS": "-lasan",
                       "FASTWSGI_LOOP": "poll"})
    assert config.unknown_env == []


@pytest.mark.parametrize("value", ["abc", "-1", "65536", "80.5", "1e3", "0x10", ""])
def test_bad_port(value):
    message = error_of({"port": value})
    assert message == "--port must be an integer 0-65535, got %r" % value


def test_bad_env_value_names_the_variable():
    assert error_of({}, {"FASTWSGI_PORT": "abc"}) == (
        "FASTWSGI_PORT must be an integer 0-65535, got 'abc'")
    message = error_of({}, {"FASTWSGI_MAX_BODY_SIZE": "lots"})
    assert message.startswith("FASTWSGI_MAX_BODY_SIZE must be a size in bytes")


def test_api_origin_names_the_keyword():
    assert error_of({"port": "abc"}, origin="api").startswith("port must be an integer")
    assert error_of({"port": True}, origin="api") == (
        "port must be an integer 0-65535, got True")


@pytest.mark.parametrize("text, value", [
    ("0", 0), ("123", 123), ("64k", 65536), ("64K", 65536), ("1m", 1 << 20),
    ("1M", 1 << 20), ("1g", 1 << 30), ("2G", 2 << 30), ("64kb", 65536),
    ("64KiB", 65536), (" 8 k ", 8192), (4096, 4096),
])
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "k", "1.5m", "-1", "1x", "1t", "1 0", "0x10", True, 2.0, None])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_size_options_use_the_size_parser():
    config = make({"max_body_size": "2m", "max_request_line": "16k"},
                  {"FASTWSGI_SPOOL_THRESHOLD": "512k", "FASTWSGI_MAX_HEAD_BYTES": "1m"})
    assert config.max_body_size == 2 << 20
    assert config.max_request_line == 16 << 10
    assert config.spool_threshold == 512 << 10
    assert config.max_head_bytes == 1 << 20
    message = error_of({"max_body_size": "1x"})
    assert message == ("--max-body-size must be a size in bytes >= 0 (an integer, or"
                       " with suffix k, m or g), got '1x'")
    assert error_of({"max_request_line": "0"}).startswith(
        "--max-request-line must be a size in bytes >= 1")


def test_zero_body_size_and_spool_threshold_allowed():
    config = make({"max_body_size": "0", "spool_threshold": "0"})
    assert config.max_body_size == 0 and config.spool_threshold == 0


@pytest.mark.parametrize("name, value, expect", [
    ("backlog", "0", "an integer 1-2147483647"),
    ("backlog", "many", "an integer 1-2147483647"),
    ("max_header_count", "0", "an integer >= 1"),
    ("max_header_count", "1k", "an integer >= 1"),
])
def test_bad_integers(name, value, expect):
    message = error_of({name: value})
    assert message == "--%s must be %s, got %r" % (name.replace("_", "-"), expect, value)


def test_log_level_case_insensitive():
    assert make({"log_level": "DEBUG"}).log_level == "debug"
    assert make({}, {"FASTWSGI_LOG_LEVEL": "Warning"}).log_level == "warning"
    assert error_of({"log_level": "loud"}) == (
        "--log-level must be one of debug, info, warning, error, critical, got 'loud'")
    assert error_of({"log_level": "5"}).startswith("--log-level must be one of")


@pytest.mark.parametrize("text", ["1", "true", "YES", "On"])
def test_access_log_true(text):
    assert make({}, {"FASTWSGI_ACCESS_LOG": text}).access_log is True


@pytest.mark.parametrize("text", ["0", "false", "No", "OFF"])
def test_access_log_false(text):
    assert make({}, {"FASTWSGI_ACCESS_LOG": text}).access_log is False


def test_access_log_override_wins_over_env():
    assert make({"access_log": False}, {"FASTWSGI_ACCESS_LOG": "1"}).access_log is False
    message = error_of({}, {"FASTWSGI_ACCESS_LOG": "maybe"})
    assert message.startswith("FASTWSGI_ACCESS_LOG must be a boolean")


def test_keepalive_timeout():
    assert make({"keepalive_timeout": "0.25"}).keepalive_timeout == 0.25
    for bad in ("0", "-1", "nan", "inf", "soon"):
        assert error_of({"keepalive_timeout": bad}) == (
            "--keepalive-timeout must be a number of seconds > 0, got %r" % bad)


def test_host_validation():
    assert make({"host": "::1"}).binds == ["[::1]:8000"]
    assert make({"host": "[::1]"}).host == "::1"
    assert make({"host": "localhost", "port": "0"}).binds == ["localhost:0"]
    for bad in ("", "a b", "http://x", "unix:/tmp/s", "::1:8000:x", "8000"):
        message = error_of({"host": bad})
        assert message.startswith("--host must be a host name or IP address"), message


def test_bind_forms():
    config = make({"bind": ["0.0.0.0:80", "[::1]:81", "[::]", "localhost",
                            ":82", "unix:/tmp/f.sock", "unix:rel.sock"],
                   "host": "10.0.0.1", "port": "9"})
    assert config.binds == ["0.0.0.0:80", "[::1]:81", "[::]:9", "localhost:9",
                            "10.0.0.1:82", "unix:/tmp/f.sock", "unix:rel.sock"]
    assert config.bind[4] == ":82"  # as given


def test_bind_from_env_is_comma_separated():
    config = make({}, {"FASTWSGI_BIND": "127.0.0.1:1, unix:/tmp/x.sock,"})
    assert config.binds == ["127.0.0.1:1", "unix:/tmp/x.sock"]
    # the CLI/keyword list replaces the environment's list
    assert make({"bind": ["[::1]:2"]}, {"FASTWSGI_BIND": "a:1"}).binds == ["[::1]:2"]


@pytest.mark.parametrize("spec, why", [
    ("::1:8000", "IPv6 addresses need brackets"),
    ("host:abc", "the port must be an integer 0-65535"),
    ("host:70000", "the port must be an integer 0-65535"),
    ("[::1", "missing ']'"),
    ("[::1]8000", "expected ':PORT'"),
    ("[nothex:1]:80", "not an IPv6 address"),
    ("[fe80::1%]:80", "not an IPv6 address"),
    ("[fe80::1%a%b]:80", "not an IPv6 address"),
    ("[1:2:3]:80", "not an IPv6 address"),
    ("[nothex]:80", "only IPv6 addresses go in brackets"),
    ("unix:", "the unix socket path is empty"),
    ("http://localhost:8000", "drop the scheme"),
    ("8000", "a bare number is not a host"),
    ("", "it is empty"),
])
def test_bad_bind(spec, why):
    message = error_of({"bind": [spec]})
    assert message.startswith("--bind: invalid bind address %r" % spec), message
    assert why in message
    assert "HOST:PORT" in message  # says what to use instead


def test_bad_bind_in_env_names_the_variable():
    assert error_of({}, {"FASTWSGI_BIND": "x:y"}).startswith("FASTWSGI_BIND: invalid bind")


def test_duplicate_bind():
    message = error_of({"bind": ["127.0.0.1:80", "127.0.0.1:0080"]})
    assert "same address" in message
    # port 0 means a different free port each time: not a duplicate
    assert len(make({"bind": ["127.0.0.1:0", "127.0.0.1:0"]}).binds) == 2


def test_app_spec_is_stripped_and_empty_rejected():
    assert make({"app": " m:app "}).app == "m:app"
    assert error_of({"app": ""}) == "APP must be a non-empty string, got ''"


def test_config_error_is_a_fastwsgi_error_and_value_error():
    with pytest.raises(FastWSGIError):
        make({"port": "x"})
    with pytest.raises(ValueError):
        make({"port": "x"})


@pytest.mark.parametrize("raw, mode", [("660", 0o660), ("0600", 0o600), ("0o666", 0o666),
                                       (" 7 ", 0o7), ("0", 0), (0o640, 0o640)])
def test_unix_socket_mode(raw, mode):
    assert make({"unix_socket_mode": raw}).unix_socket_mode == mode


def test_unix_socket_mode_three_ways():
    assert make().unix_socket_mode is None                      # the umask decides
    assert make({}, {"FASTWSGI_UNIX_SOCKET_MODE": "640"}).unix_socket_mode == 0o640
    assert make({"unix_socket_mode": 0o600}, origin="api").unix_socket_mode == 0o600


@pytest.mark.parametrize("raw", ["rw", "8", "1000", "-1", "6 6", "", 0o1000, True, 6.6])
def test_bad_unix_socket_mode(raw):
    assert error_of({"unix_socket_mode": raw}) == (
        "--unix-socket-mode must be an octal file mode 0-777, e.g. 660, got %r" % (raw,))


@pytest.mark.parametrize("raw, value", [
    ("10.0.0.1", ["10.0.0.1"]),
    (" 10.0.0.1 , ::1,[2001:db8::1] ", ["10.0.0.1", "::1", "2001:db8::1"]),
    ("10.0.0.0/8,192.168.1.7/24", ["10.0.0.0/8", "192.168.1.0/24"]),
    ("2001:DB8::/32", ["2001:db8::/32"]),
    # an IPv4-mapped address is its IPv4: the form TrustedProxies matches both ways
    ("::FFFF:10.0.0.1, [::ffff:a00:2]", ["10.0.0.1", "10.0.0.2"]),
    ("::ffff:10.0.0.0/104, ::ffff:10.0.0.1/128, ::ffff:0:0/95",
     ["10.0.0.0/8", "10.0.0.1/32", "::fffe:0:0/95"]),
    ("2001:db8:0:0:0:0:0:1", ["2001:db8::1"]),
    ("*", ["*"]),
    ("10.0.0.1,*", ["*"]),
    ("", []),
    (",", []),
    (["127.0.0.1", "10.1.0.0/16"], ["127.0.0.1", "10.1.0.0/16"]),
    ((), []),
])
def test_forwarded_allow_ips(raw, value):
    assert make({"forwarded_allow_ips": raw}).forwarded_allow_ips == value


def test_forwarded_allow_ips_three_ways():
    assert make().forwarded_allow_ips == ["127.0.0.1"]
    env = {"FASTWSGI_FORWARDED_ALLOW_IPS": "10.0.0.2, 10.0.0.3"}
    assert make({}, env).forwarded_allow_ips == ["10.0.0.2", "10.0.0.3"]
    assert make({}, {"FASTWSGI_FORWARDED_ALLOW_IPS": ""}).forwarded_allow_ips == ["127.0.0.1"]
    assert make({"forwarded_allow_ips": ["*"]}, env, origin="api").forwarded_allow_ips == ["*"]


@pytest.mark.parametrize("raw, bad", [("localhost", "localhost"), ("10.0.0.1,proxy", "proxy"),
                                      ("10.0.0.0/33", "10.0.0.0/33"), ("1.2.3", "1.2.3"),
                                      # a zone never matches: peers are written without one
                                      ("fe80::1%eth0", "fe80::1%eth0"), ("010.0.0.1", "010.0.0.1"),
                                      ("fe80::1%eth0/128", "fe80::1%eth0/128"),
                                      ("fe80::%eth0/64", "fe80::%eth0/64")])
def test_bad_forwarded_allow_ips(raw, bad):
    assert error_of({"forwarded_allow_ips": raw}) == (
        "--forwarded-allow-ips: %r is not an IP address or network (host names are not"
        " resolved); use comma-separated IP addresses or networks (CIDR), or *" % bad)
    assert error_of({}, {"FASTWSGI_FORWARDED_ALLOW_IPS": raw}).startswith(
        "FASTWSGI_FORWARDED_ALLOW_IPS: %r is not" % bad)
    assert error_of({"forwarded_allow_ips": [1]}, origin="api").startswith(
        "forwarded_allow_ips: 1 is not a string")


def test_reuse_port_defers_no_accept_unless_told():
    assert make().listener_defer_accept() == 1
    assert make({"reuse_port": True}).listener_defer_accept() == 0
    assert make({"reuse_port": True, "defer_accept": 5}).listener_defer_accept() == 5
    assert make({"reuse_port": True}, {"FASTWSGI_DEFER_ACCEPT": "3"}).listener_defer_accept() == 3


# -- process management: workers, recycling, pid file, accounts, reload ----------


def test_process_options_default_to_a_single_process():
    config = make()
    assert (config.workers, config.reuse_port, config.max_requests, config.max_requests_jitter,
            config.pid, config.user, config.group, config.reload) == (
            1, False, 0, 0, None, None, None, False)


def test_workers():
    assert make({"workers": "4"}).workers == 4
    assert make({}, {"FASTWSGI_WORKERS": "3"}).workers == 3
    assert make({"workers": 2}, origin="api").workers == 2
    assert make({"workers": "auto"}).workers == os.cpu_count()
    assert make({}, {"FASTWSGI_WORKERS": " AUTO "}).workers == os.cpu_count()
    for bad in ("0", "-1", "many", "1.5"):
        assert error_of({"workers": bad}) == (
            "--workers must be an integer >= 1 or auto, got %r" % bad)
    assert error_of({"workers": 0}, origin="api") == (
        "workers must be an integer >= 1 or auto, got 0")


def test_max_requests_and_jitter():
    config = make({"max_requests": "1000"}, {"FASTWSGI_MAX_REQUESTS_JITTER": "50"})
    assert (config.max_requests, config.max_requests_jitter) == (1000, 50)
    assert error_of({"max_requests": "-1"}) == "--max-requests must be an integer >= 0, got '-1'"


def test_flags_and_pid_file():
    config = make({}, {"FASTWSGI_REUSE_PORT": "yes", "FASTWSGI_RELOAD": "1",
                       "FASTWSGI_PID": "/run/app.pid"})
    assert (config.reuse_port, config.reload, config.pid) == (True, True, "/run/app.pid")


def test_user_and_group_must_exist():
    config = make({"user": "root", "group": "0"})
    assert (config.user, config.group) == ("root", "0")
    assert make({"user": 0}, origin="api").user == "0"
    assert error_of({"user": "no-such-user-qq"}) == (
        "--user must be a user name or id that exists on this system, got 'no-such-user-qq'")
    assert error_of({}, {"FASTWSGI_GROUP": "no-such-group-qq"}) == (
        "FASTWSGI_GROUP must be a group name or id that exists on this system,"
        " got 'no-such-group-qq'")


def test_threads_three_ways():
    assert make().threads == 1                                  # inline: the app runs on the loop
    assert make({"threads": "8"}).threads == 8
    assert make({}, {"FASTWSGI_THREADS": "4"}).threads == 4
    assert make({"threads": 2}, {"FASTWSGI_THREADS": "4"}, origin="api").threads == 2


@pytest.mark.parametrize("raw", ["0", "-2", "many", "1.5", True])
def test_bad_threads(raw):
    assert error_of({"threads": raw}) == "--threads must be an integer >= 1, got %r" % (raw,)
    assert error_of({"threads": raw}, origin="api").startswith("threads must be an integer >= 1")
