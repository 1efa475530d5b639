"""`Snapshots`: `RiskEngine`'s whole state written to a file and read back (`snapshot`, `restore`; docs/live.md);
`write_snapshot` and `read_snapshot`, the file both engines write (a pickle behind a header and its SHA-256, so
a file changed after it was written is refused, not restored with wrong figures); and `write_atomic`, which
writes a file so that a crash leaves the one that was there.
"""

from __future__ import annotations

import hashlib
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
SNAPSHOT_HEADER = b"riskoffset snapshot sha256\n"  # then the pickle's 32-byte SHA-256, then the pickle


class Snapshots(EngineState):
    """The engine's state to a file and back (module doc)."""

    @_locked
    def snapshot(self, path: str | os.PathLike[str], **meta: Any) -> None:
        """Write the engine's whole state to ``path`` (atomically: a crash leaves the previous file); ``meta``
        (e.g. the stream line reached) is stored with it.  The file is a Python pickle: restore only files
        you wrote."""
        write_snapshot(path, self.snapshot_document(**meta))

    @_locked
    def snapshot_document(self, **meta: Any) -> dict[str, Any]:
        """What `snapshot` writes, as a dictionary (`from_document` makes the engine again)."""
        self.positions.compact()
        state = {k: v for k, v in self.__getstate__().items() if k not in ("_callbacks", "_events", "_to_notify")}
        return {"format": SNAPSHOT_FORMAT, "meta": meta, "state": state, "events": list(self._events)}

    @classmethod
    def restore(cls, path: str | os.PathLike[str]) -> Self:
        """An engine in the state `snapshot` wrote (its ``meta`` in ``engine.snapshot_meta``)."""
        doc = read_snapshot(path)
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


def write_snapshot(path: str | os.PathLike[str], document: Mapping[str, Any]) -> None:
    """``document`` pickled behind `SNAPSHOT_HEADER` and its SHA-256, written atomically."""
    blob = pickle.dumps(document, protocol=pickle.HIGHEST_PROTOCOL)
    write_atomic(path, SNAPSHOT_HEADER + hashlib.sha256(blob).digest() + blob)


def read_snapshot(path: str | os.PathLike[str]) -> Any:
    """What `write_snapshot` wrote at ``path`` (or a bare pickle, as snapshots were written before the checksum);
    ValueError when the file is not one, or changed after it was written.  Unpickling runs code the file names:
    read only files you wrote."""
    data = Path(path).read_bytes()
    if data.startswith(SNAPSHOT_HEADER):
        start = len(SNAPSHOT_HEADER) + 32
        digest, blob = data[len(SNAPSHOT_HEADER) : start], memoryview(data)[start:]
        if hashlib.sha256(blob).digest() != digest:
            raise ValueError(f"{path}: the snapshot is corrupted: its content does not match the checksum written "
                             "with it (the file changed after it was written)")  # fmt: skip
    else:
        blob = memoryview(data)
    try:
        return pickle.loads(blob)
    except Exception as exc:  # noqa: BLE001 - whatever a damaged pickle raises, said as one error
        raise ValueError(f"{path}: not a readable riskoffset snapshot ({type(exc).__name__}: {exc})") from None


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
