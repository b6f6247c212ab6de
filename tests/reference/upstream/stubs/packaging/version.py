"""Stand-in for packaging.version: release numbers compared as integer tuples,
which is all diffusers, transformers and open_clip use it for (torch,
Python and their own version checks). Pre-release and local parts are kept
in the text and ignored in comparisons."""
import re


class InvalidVersion(ValueError):
    pass


class Version:
    def __init__(self, text):
        m = re.match(r"\s*v?(\d+(?:\.\d+)*)", str(text))
        if not m:
            raise InvalidVersion(text)
        self.release = tuple(int(p) for p in m.group(1).split("."))
        self._text = str(text)

    @property
    def base_version(self):
        return ".".join(str(p) for p in self.release)

    @property
    def major(self):
        return self.release[0]

    @property
    def minor(self):
        return self.release[1] if len(self.release) > 1 else 0

    def _key(self):
        r = list(self.release)
        while r and r[-1] == 0:
            r.pop()
        return tuple(r)

    def __eq__(self, o):
        return self._key() == _v(o)._key()

    def __lt__(self, o):
        return self._key() < _v(o)._key()

    def __le__(self, o):
        return self._key() <= _v(o)._key()

    def __gt__(self, o):
        return self._key() > _v(o)._key()

    def __ge__(self, o):
        return self._key() >= _v(o)._key()

    def __hash__(self):
        return hash(self._key())

    def __str__(self):
        return self._text

    def __repr__(self):
        return f"<Version({self._text!r})>"


def _v(o):
    return o if isinstance(o, Version) else Version(o)


def parse(text):
    return Version(text)
