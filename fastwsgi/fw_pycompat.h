/* The few CPython calls the core needs that are not in every version's
 * public API, each with a public fallback. */
#ifndef FW_PYCOMPAT_H
#define FW_PYCOMPAT_H

#include <Python.h>

/* A dict with room for n items before it has to grow. The environ template is
 * made this way so that each request's copy holds all its keys without
 * resizing; without the private call the dict just grows as usual. */
static inline PyObject *fw_dict_presized(Py_ssize_t n)
{
#if PY_VERSION_HEX < 0x030E0000
    return _PyDict_NewPresized(n);
#else
    (void)n;
    return PyDict_New();
#endif
}

/* The characters of str s as latin-1 bytes, when all of them fit in one byte
 * (the PEP 393 one-byte kind is latin-1), else NULL. Strings made by Python
 * are always ready; before 3.12 one from the legacy C API may not be yet. */
static inline const unsigned char *fw_str_latin1(PyObject *s, Py_ssize_t *len)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(s) < 0) {
        PyErr_Clear();
        return NULL;
    }
#endif
    if (PyUnicode_KIND(s) != PyUnicode_1BYTE_KIND)
        return NULL;
    *len = PyUnicode_GET_LENGTH(s);
    return PyUnicode_1BYTE_DATA(s);
}

#endif
