"""The binary form of ``GET /v1/videos/{id}/embeddings`` (``Accept: application/octet-stream``).

All little-endian::

    0       4           magic b"RSE1"
    4       4           uint32 count (frames)
    8       4           uint32 dims
    12      4           uint32 reserved (0)
    16      8*count     float64 times (seconds since the stream start)
    16+8c   4*count     uint32 frame indices
    16+12c  count       uint8 kinds, b"I" (stored) or b"P" (reconstructed), zero-padded to a multiple of 4
    then    4*count*dims float32 rows, row-major
"""

import numpy as np

from .errors import ProtocolError

MAGIC = b"RSE1"


def decode_embeddings(data):
    """Decodes RSE1 bytes into ``(times, indices, kinds, embeddings)``.

    ``times``: float64 [count]; ``indices``: uint32 [count]; ``kinds``: a numpy array of the
    strings ``"I"``/``"P"``; ``embeddings``: float32 [count, dims]. Raises ``ProtocolError``
    when the bytes are not a complete, consistent RSE1 message (wrong magic, sizes that do not
    add up, kinds other than I and P).
    """
    data = memoryview(data).cast("B")
    if len(data) < 16 or bytes(data[:4]) != MAGIC:
        raise ProtocolError("not RSE1 embeddings (bad magic or shorter than its header)")
    count, dims, reserved = np.frombuffer(data, dtype="<u4", count=3, offset=4)
    count, dims = int(count), int(dims)
    kind_bytes = (count + 3) // 4 * 4
    rows_at = 16 + 12 * count + kind_bytes
    expected = rows_at + 4 * count * dims
    if reserved != 0 or len(data) != expected:
        raise ProtocolError(f"RSE1 of {count} x {dims} needs {expected} bytes, got {len(data)}")
    times = np.frombuffer(data, dtype="<f8", count=count, offset=16).astype(np.float64)
    indices = np.frombuffer(data, dtype="<u4", count=count, offset=16 + 8 * count).astype(np.uint32)
    raw_kinds = np.frombuffer(data, dtype=np.uint8, count=count, offset=16 + 12 * count)
    if not np.all((raw_kinds == ord("I")) | (raw_kinds == ord("P"))):
        raise ProtocolError("RSE1 frame kinds must be I or P")
    kinds = np.where(raw_kinds == ord("I"), "I", "P")
    rows = np.frombuffer(data, dtype="<f4", count=count * dims, offset=rows_at).astype(np.float32).reshape(count, dims)
    return times, indices, kinds, rows
