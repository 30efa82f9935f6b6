"""Byte-reproducible ``.npz`` files: same arrays, same bytes, same checksum."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

_EPOCH = (1980, 1, 1, 0, 0, 0)  # numpy's savez stamps the current time into each zip entry


def write_npz(path: Path, arrays: Mapping[str, npt.NDArray[np.generic]]) -> None:
    """Write arrays as an uncompressed ``.npz`` whose bytes depend only on the arrays."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for key, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{key}.npy", date_time=_EPOCH), buffer.getvalue())
