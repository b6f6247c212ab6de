"""Placeholders for names an upstream module imports but our goldens never use.

A name read from a placeholder module is a class; reading an attribute of it
gives another such class, and calling it gives an inert instance. Nothing in
a golden run may reach one: `used()` raises so that a silent stand-in cannot
change a result.
"""


class _Meta(type):
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return placeholder(f"{cls.__qualname__}.{name}")


def placeholder(qualname):
    def init(self, *args, **kwargs):
        pass

    def used(self, *args, **kwargs):
        raise RuntimeError(f"{qualname}: a stand-in for an upstream dependency was used by a golden run")

    return _Meta(qualname.rsplit(".", 1)[-1], (), {"__init__": init, "__call__": used, "__qualname__": qualname})


def module_getattr(module_name):
    """For a module's __getattr__ (PEP 562): every unknown name is a placeholder."""
    def getattr_(name):
        if name.startswith("__"):
            raise AttributeError(name)
        return placeholder(f"{module_name}.{name}")
    return getattr_
