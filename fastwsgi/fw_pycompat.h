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

#endif
