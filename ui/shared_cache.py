"""A small least-recently-used cache that every session shares, for immutable results made on a rerun path.

Not st.cache_data: a page draws several maps per rerun, and st.cache_data's hashing of the arguments and copy of the
result cost ~2 ms a map where a dict lookup costs nothing. Callers name what they cache with a hashable key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class SharedCache:
    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __iter__(self):
        """The keys cached now, oldest first (a copy: other sessions may add meanwhile)."""
        with self._lock:
            return iter(list(self._items))

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value under `key`, made by make() the first time (outside the lock: two sessions may both make it)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value
