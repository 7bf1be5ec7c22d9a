"""A byte-bounded LRU that builds each value once even when many threads ask at the same time."""

import gzip
import threading
import zlib
from collections import OrderedDict

GZIP_LEVEL = 6


def hash_bytes(data: bytes) -> int:
    return zlib.crc32(data) << 32 | zlib.adler32(data)


class Body:
    """A response body with its gzip form computed once, on first use (size counts it ahead)."""

    __slots__ = ("raw", "_gz", "_lock", "extra")

    def __init__(self, raw: bytes, extra=None):
        self.raw = raw
        self._gz = None
        self._lock = threading.Lock()
        self.extra = extra

    @property
    def gz(self) -> bytes:
        with self._lock:
            if self._gz is None:
                self._gz = gzip.compress(self.raw, compresslevel=GZIP_LEVEL, mtime=0)
            return self._gz

    @property
    def etag(self) -> str:
        return f'"{abs(hash_bytes(self.raw)):x}"'

    def size(self) -> int:
        return len(self.raw) * 11 // 10 + 200


class LRU:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.used = 0
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()
        self.building: dict = {}

    def get(self, key, build):
        """Return the cached value for key, calling build() once if it is missing."""
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key][0]
            gate = self.building.setdefault(key, threading.Lock())
        with gate:
            with self.lock:
                if key in self.items:
                    return self.items[key][0]
            value = build()
            size = value.size() if hasattr(value, "size") else 1000
            with self.lock:
                self.items[key] = (value, size)
                self.used += size
                self.building.pop(key, None)
                while self.used > self.max_bytes and len(self.items) > 1:
                    _, (_, old_size) = self.items.popitem(last=False)
                    self.used -= old_size
            return value
