"""Plain records with defaults: what the engine used dataclasses for, without their import and
code generation (≈10 ms of every command-line start)."""


class Record:
    """Fields are the class annotations, in order; defaults are class attributes, and
    `_factories` gives fresh mutable defaults (lists, dicts) per instance."""

    _factories: dict = {}
    _fields: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        names = []
        for klass in reversed(cls.__mro__):
            for name in klass.__dict__.get("__annotations__", {}):
                if not name.startswith("_") and name not in names:
                    names.append(name)
        cls._fields = tuple(names)

    def __init__(self, *args, **kwargs):
        if len(args) > len(self._fields):
            raise TypeError(f"{type(self).__name__}: too many arguments")
        values = dict(zip(self._fields, args, strict=False))
        for name, value in kwargs.items():
            if name not in self._fields or name in values:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated {name!r}")
            values[name] = value
        for name in self._fields:
            if name in values:
                setattr(self, name, values[name])
            elif name in self._factories:
                setattr(self, name, self._factories[name]())
            elif not hasattr(type(self), name):
                raise TypeError(f"{type(self).__name__}: missing {name!r}")

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._fields)

    __hash__ = None  # mutable, like a dataclass with eq

    def __repr__(self):
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields)
        return f"{type(self).__name__}({inner})"
