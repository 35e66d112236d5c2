# The WSGI environ (PEP 3333): a per-server template holds the constant keys;
# each request copies it and adds its own, decoding every native string as
# latin-1 straight from the parser's slices of the read buffer.
from cpython.dict cimport PyDict_Copy, PyDict_SetDefault
from cpython.ref cimport PyObject
from cpython.unicode cimport PyUnicode_DecodeLatin1

from fastwsgi cimport curl

DEF HEADER_KEY_CACHE = 1024               # distinct field names remembered per server

cdef object NO_KEY = object()             # header_keys miss marker


cdef extern from "fw_pycompat.h":
    dict fw_dict_presized(Py_ssize_t n)

cdef extern from "<strings.h>" nogil:
    int strncasecmp(const char *a, const char *b, size_t n)

DEF ENVIRON_ROOM = 48                     # keys a request's environ holds before it must grow


cdef dict make_environ_template(base_environ):
    cdef dict env = fw_dict_presized(ENVIRON_ROOM)
    for key, value in base_environ.items():
        env[key] = value                  # not update(): it may swap in a small key table
    env["wsgi.version"] = (1, 0)
    env["wsgi.input_terminated"] = True   # the whole body is there; read() to EOF is safe
    env["wsgi.file_wrapper"] = FileWrapper
    env.setdefault("wsgi.url_scheme", "http")
    env.setdefault("wsgi.errors", sys.stderr)
    env.setdefault("wsgi.multithread", False)
    env.setdefault("wsgi.multiprocess", False)
    env.setdefault("wsgi.run_once", False)
    env.setdefault("SCRIPT_NAME", "")
    env.setdefault("GATEWAY_INTERFACE", "CGI/1.1")
    # Every request sets these: holding them already makes each copy's
    # assignments replace values instead of growing the dict.
    for key in ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "RAW_URI", "SERVER_PROTOCOL",
                "REMOTE_ADDR", "REMOTE_PORT", "wsgi.input"):
        env[key] = None
    return env


# The keys of the forwarding headers (fastwsgi.proxy), compared by identity:
# the first two are the very objects in COMMON_FIELDS, the last is interned
# as environ_key() interns every key it makes.
cdef str KEY_X_FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"
cdef str KEY_X_FORWARDED_PROTO = "HTTP_X_FORWARDED_PROTO"
cdef str KEY_FORWARDED = sys.intern("HTTP_FORWARDED")

# Field names most requests carry, mapped to their environ keys without
# building a bytes object or hashing it (lower-case name, key).
cdef tuple COMMON_FIELDS = (
    (b"host", "HTTP_HOST"), (b"accept", "HTTP_ACCEPT"), (b"cookie", "HTTP_COOKIE"),
    (b"origin", "HTTP_ORIGIN"), (b"pragma", "HTTP_PRAGMA"), (b"referer", "HTTP_REFERER"),
    (b"user-agent", "HTTP_USER_AGENT"), (b"connection", "HTTP_CONNECTION"),
    (b"x-real-ip", "HTTP_X_REAL_IP"), (b"content-type", "CONTENT_TYPE"),
    (b"authorization", "HTTP_AUTHORIZATION"), (b"cache-control", "HTTP_CACHE_CONTROL"),
    (b"if-none-match", "HTTP_IF_NONE_MATCH"), (b"content-length", "CONTENT_LENGTH"),
    (b"accept-encoding", "HTTP_ACCEPT_ENCODING"), (b"accept-language", "HTTP_ACCEPT_LANGUAGE"),
    (b"x-forwarded-for", KEY_X_FORWARDED_FOR), (b"x-requested-with", "HTTP_X_REQUESTED_WITH"),
    (b"if-modified-since", "HTTP_IF_MODIFIED_SINCE"), (b"x-forwarded-proto", KEY_X_FORWARDED_PROTO),
    (b"upgrade-insecure-requests", "HTTP_UPGRADE_INSECURE_REQUESTS"),
)


cdef object common_field_key(const char *name, size_t n):
    """The environ key of a common field name (any case), or None."""
    cdef bytes lower
    for lower, key in COMMON_FIELDS:
        if <size_t>PyBytes_GET_SIZE(lower) == n and strncasecmp(name, PyBytes_AS_STRING(lower), n) == 0:
            return key
    return None


cdef object environ_key(bytes name):
    """HTTP_* key for a field name; None for names we drop. A name with '_'
    would collide with its '-' twin after the mapping (an old header-spoofing
    trick), so it is dropped, like nginx and gunicorn do."""
    text = name.decode("latin-1")
    if "_" in text:
        return None
    key = text.upper().replace("-", "_")
    if key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
        return sys.intern(key)
    return sys.intern("HTTP_" + key)


cdef dict build_environ(Server srv, Connection conn, cparser.fw_request_t *req, const char *buf):
    cdef dict env = PyDict_Copy(srv.environ_template)
    cdef size_t i, n
    cdef cparser.fw_header_t *h
    cdef PyObject *found
    cdef bint trusted = conn.peer_trusted
    cdef bint forwarded = False               # a trusted peer sent a forwarding header
    if req.method.len == 3 and memcmp(buf + req.method.off, b"GET", 3) == 0:
        env["REQUEST_METHOD"] = "GET"       # most requests: no new str for it
    else:
        env["REQUEST_METHOD"] = PyUnicode_DecodeLatin1(buf + req.method.off, req.method.len, NULL)
    if req.path.len == 0:
        env["PATH_INFO"] = "/" if req.flags & cparser.FW_REQ_ABSOLUTE_FORM else ""
    else:
        n = curl.fw_percent_decode(buf + req.path.off, req.path.len, srv.path_scratch)
        env["PATH_INFO"] = PyUnicode_DecodeLatin1(srv.path_scratch, n, NULL)
    env["QUERY_STRING"] = PyUnicode_DecodeLatin1(buf + req.query.off, req.query.len, NULL)
    env["RAW_URI"] = PyUnicode_DecodeLatin1(buf + req.target.off, req.target.len, NULL)
    env["SERVER_PROTOCOL"] = "HTTP/1.1" if req.minor_version == 1 else "HTTP/1.0"
    env["REMOTE_ADDR"] = conn.remote_addr
    env["REMOTE_PORT"] = conn.remote_port
    for i in range(req.num_headers):
        h = &req.headers[i]
        key = common_field_key(buf + h.name.off, h.name.len)
        if key is None:
            name = PyBytes_FromStringAndSize(buf + h.name.off, h.name.len)
            key = srv.header_keys.get(name, NO_KEY)
            if key is NO_KEY:
                key = environ_key(name)
                if len(srv.header_keys) < HEADER_KEY_CACHE:
                    srv.header_keys[name] = key
            if key is None:
                continue
        if trusted and (key is KEY_X_FORWARDED_FOR or key is KEY_X_FORWARDED_PROTO
                        or key is KEY_FORWARDED):
            forwarded = True
        value = PyUnicode_DecodeLatin1(buf + h.value.off, h.value.len, NULL)
        found = PyDict_SetDefault(env, key, value)  # one lookup: insert, or find the earlier one
        if found == <PyObject *>value:
            continue
        old = <object>found
        if key == "HTTP_COOKIE":
            env[key] = old + "; " + value     # RFC 6265 §5.4: cookies join with "; "
        else:
            env[key] = old + ", " + value     # RFC 9110 §5.3: a list joins with ", "
    if forwarded:
        srv.rewrite_forwarded(env)            # fastwsgi.proxy: REMOTE_ADDR, wsgi.url_scheme
    return env
