"""`Snapshots`: `RiskEngine`'s whole state written to a file and read back (`snapshot`, `restore`; docs/live.md),
and `write_atomic`, which writes a file so that a crash leaves the one that was there.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .engine_state import EngineState, _locked

if TYPE_CHECKING:
    from typing import Self  # (3.11+: for the type checker only)

SNAPSHOT_FORMAT = "riskoffset-engine-1"
CLUSTER_SNAPSHOT_FORMAT = "riskoffset-cluster-1"  # (`ClusterEngine`'s: named here to tell the two apart)


class Snapshots(EngineState):
    """The engine's state to a file and back (module doc)."""

    @_locked
    def snapshot(self, path: str | os.PathLike[str], **meta: Any) -> None:
        """Write the engine's whole state to ``path`` (atomically: a crash leaves the previous file); ``meta``
        (e.g. the stream line reached) is stored with it.  The file is a Python pickle: restore only files
        you wrote."""
        write_atomic(path, pickle.dumps(self.snapshot_document(**meta), protocol=pickle.HIGHEST_PROTOCOL))

    @_locked
    def snapshot_document(self, **meta: Any) -> dict[str, Any]:
        """What `snapshot` writes, as a dictionary (`from_document` makes the engine again)."""
        self.positions.compact()
        state = {k: v for k, v in self.__getstate__().items() if k not in ("_callbacks", "_events", "_to_notify")}
        return {"format": SNAPSHOT_FORMAT, "meta": meta, "state": state, "events": list(self._events)}

    @classmethod
    def restore(cls, path: str | os.PathLike[str]) -> Self:
        """An engine in the state `snapshot` wrote (its ``meta`` in ``engine.snapshot_meta``)."""
        with open(path, "rb") as f:
            doc = pickle.load(f)
        if isinstance(doc, dict) and doc.get("format") == CLUSTER_SNAPSHOT_FORMAT:
            raise ValueError(f"{path}: the snapshot of a cluster engine: restore it with ClusterEngine.restore (on the "
                             "command line, with --dask)")  # fmt: skip
        if not isinstance(doc, dict) or doc.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"{path}: not a riskoffset engine snapshot ({SNAPSHOT_FORMAT})")
        return cls.from_document(doc)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Self:
        """An engine in the state of a `snapshot_document`."""
        engine = cls.__new__(cls)
        engine.__setstate__(dict(doc["state"]))
        engine._callbacks = []
        engine._to_notify = []
        engine._events = deque(doc["events"])
        engine.snapshot_meta = dict(doc["meta"])
        return engine


def write_atomic(path: str | os.PathLike[str], blob: bytes) -> None:
    """``blob`` written to ``path`` through a temporary file in its directory and a rename: a crash midway
    leaves the file that was there."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
