# The WSGI environ (PEP 3333): a per-server template holds the constant keys;
# each request copies it and adds its own, decoding every native string as
# latin-1 straight from the parser's slices of the read buffer.
from cpython.dict cimport PyDict_Copy, PyDict_SetDefault
from cpython.ref cimport Py_INCREF, Py_XDECREF, PyObject
from cpython.unicode cimport PyUnicode_DecodeLatin1

from fastwsgi cimport cnames, curl

DEF FIELD_KEY_CACHE = 1024                # distinct field names remembered per server

cdef extern from "fw_pycompat.h":
    dict fw_dict_presized(Py_ssize_t n)

DEF ENVIRON_ROOM = 48                     # keys a request's environ holds before it must grow


cdef dict make_environ_template(base_environ, bint multithread):
    cdef dict env = fw_dict_presized(ENVIRON_ROOM)
    for key, value in base_environ.items():
        env[key] = value                  # not update(): it may swap in a small key table
    env["wsgi.version"] = (1, 0)
    env["wsgi.input_terminated"] = True   # the whole body is there; read() to EOF is safe
    env["wsgi.file_wrapper"] = FileWrapper
    env.setdefault("wsgi.url_scheme", "http")
    env.setdefault("wsgi.errors", sys.stderr)
    env["wsgi.multithread"] = multithread   # --threads: a fact of this server
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
# interned, as environ_key() interns every key it makes, so a name's key is
# the same object whether the field-key map held it or not.
cdef str KEY_X_FORWARDED_FOR = sys.intern("HTTP_X_FORWARDED_FOR")
cdef str KEY_X_FORWARDED_PROTO = sys.intern("HTTP_X_FORWARDED_PROTO")
cdef str KEY_FORWARDED = sys.intern("HTTP_FORWARDED")

# Field names most requests carry, with their environ keys: put in every
# server's field-key map (fw_names.h) before its first request, so they are
# found even when clients have filled the map with names of their own.
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


cdef cnames.fw_names_t *new_field_keys() except NULL:
    """A server's field-key map, holding COMMON_FIELDS. Its hash is keyed
    per server, so which names share slots cannot be known in advance."""
    cdef bytes name
    cdef cnames.fw_names_t *keys = cnames.fw_names_new(
        FIELD_KEY_CACHE, int.from_bytes(os.urandom(8), "little"))
    if keys == NULL:
        raise MemoryError()
    for name, key in COMMON_FIELDS:
        remember_field_key(keys, PyBytes_AS_STRING(name), PyBytes_GET_SIZE(name), key)
    return keys


cdef void free_field_keys(cnames.fw_names_t *keys):
    cdef size_t i
    if keys == NULL:
        return
    for i in range(cnames.fw_names_count(keys)):
        Py_XDECREF(<PyObject *>cnames.fw_names_value(keys, i))
    cnames.fw_names_free(keys)


cdef void remember_field_key(cnames.fw_names_t *keys, const char *name, size_t n, key):
    # A name the map does not store (full, too long, slots taken, or no memory
    # for it) is only slower: field_key() works it out again each time.
    if cnames.fw_names_put(keys, name, n, <void *>key) == 1:
        Py_INCREF(key)                    # the map's reference, dropped by free_field_keys


cdef object field_key(cnames.fw_names_t *keys, const char *name, size_t n):
    """The environ key of a field name, or None for a name we drop."""
    cdef void *known = cnames.fw_names_get(keys, name, n)
    if known != NULL:
        return <object>known
    key = environ_key(PyBytes_FromStringAndSize(name, n))
    remember_field_key(keys, name, n, key)
    return key


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
        key = field_key(srv.field_keys, buf + h.name.off, h.name.len)
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
