"""The peers' virtual environments under bench/.venvs/, installed by `python -m bench peers`.

Each peer runs in a venv of its own (MLServer's pins differ from a1rt's; FastAPI is no a1rt
dependency), installed from the package registry with exact pins chosen to match a1rt's
versions of what they share (XGBoost, NumPy, uvicorn) on Python 3.11. A venv counts as
installed only when its marker file records the same pins, so changing a pin reinstalls.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

VENVS = Path(__file__).resolve().parents[1] / ".venvs"
MARKER = "bench-peer.json"
INSTALL_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class PeerVenv:
    """One peer's venv: its directory name and the exact requirements installed into it."""

    name: str
    requirements: tuple[str, ...]

    @property
    def path(self) -> Path:
        """The venv directory."""
        return VENVS / self.name

    @property
    def python(self) -> Path:
        """The venv's interpreter."""
        return self.path / "bin" / "python"

    def missing(self) -> str | None:
        """Why the venv cannot be used as it is (None: installed with these pins)."""
        marker = self.path / MARKER
        if self.error_path.exists():
            return self.error_path.read_text().strip()
        if not self.python.exists() or not marker.exists():
            return f"{self.path} is not installed (run `python -m bench peers`)"
        recorded = json.loads(marker.read_text()).get("requirements")
        if recorded != list(self.requirements):
            return f"{self.path} was installed with other pins (run `python -m bench peers`)"
        return None

    def install(self) -> dict[str, str]:
        """(Re)create the venv and install the pins; returns the installed versions.

        A failure is kept in ``<name>.error`` beside the venv, so a run that cannot measure
        the peer records the exact reason; a later successful install removes it.
        """
        shutil.rmtree(self.path, ignore_errors=True)
        self.error_path.unlink(missing_ok=True)
        pip = [str(self.python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        try:
            subprocess.run([sys.executable, "-m", "venv", str(self.path)], check=True)
            subprocess.run([*pip, *self.requirements], check=True, timeout=INSTALL_TIMEOUT_S,
                           capture_output=True, text=True)  # fmt: skip
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            output = getattr(exc, "stderr", None) or ""
            self.error_path.write_text(f"installing {' '.join(self.requirements)} failed: "
                                       f"{exc}\n{output[-1500:]}")  # fmt: skip
            raise
        versions = self.versions()
        marker = {"requirements": list(self.requirements), "versions": versions}
        (self.path / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        return versions

    @property
    def error_path(self) -> Path:
        """Where a failed install leaves its reason."""
        return VENVS / f"{self.name}.error"

    def versions(self) -> dict[str, str]:
        """Name -> version of every distribution in the venv (`pip list`)."""
        listed = subprocess.run(
            [str(self.python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return {item["name"].lower(): item["version"] for item in json.loads(listed.stdout)}

    def recorded_versions(self) -> dict[str, str]:
        """The versions recorded at install (no subprocess)."""
        versions: dict[str, str] = json.loads((self.path / MARKER).read_text())["versions"]
        return versions


# uvloop 0.22+ makes MLServer 1.7.1's inference workers die at start (`get_event_loop` raises
# in a fresh process), so its parallel_workers mode needs uvloop 0.21.
MLSERVER = PeerVenv(
    "mlserver", ("mlserver==1.7.1", "mlserver-xgboost==1.7.1", "xgboost==3.2.0", "numpy==2.4.6",
                 "uvloop==0.21.0")
)  # fmt: skip
FASTAPI = PeerVenv(
    "fastapi", ("fastapi==0.165.0", "uvicorn[standard]==0.54.0", "xgboost-cpu==3.2.0",
                "numpy==2.4.6")
)  # fmt: skip
PEER_VENVS = (MLSERVER, FASTAPI)


def install_peers(force: bool = False) -> dict[str, dict[str, str]]:
    """Install every peer venv that is missing (or all with ``force``); name -> versions.

    A venv that fails to install is reported and left out (its reason stays in its
    ``.error`` file for the `rest` scenario to record); the others are still installed.
    """
    installed = {}
    for venv in PEER_VENVS:
        if not force and venv.missing() is None:
            installed[venv.name] = venv.recorded_versions()
            continue
        print(f"installing {venv.name} into {venv.path} ...", file=sys.stderr)
        try:
            installed[venv.name] = venv.install()
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            print(f"{venv.name}: {exc}; see {venv.error_path}", file=sys.stderr)
            installed[venv.name] = {"error": str(venv.error_path)}
    return installed
