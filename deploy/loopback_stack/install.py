"""`install`: the Debian packages the stack's servers need, and the pinned `stack` extra."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .settings import REPO, StackError, say


def install() -> None:
    """Debian packages if missing (as root), then the pinned `stack` extra into this Python."""
    import tomllib

    missing = []
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        missing.append("postgresql")
    if not shutil.which("redis-server") and not Path("/usr/bin/redis-server").exists():
        missing.append("redis-server")
    if missing:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise StackError(
                f"install {' '.join(missing)} (Debian: apt-get install "
                f"{' '.join(missing)}); this script can only do it as root"
            )
        say(f"apt-get install {' '.join(missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)
    pins = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        "stack"
    ]
    # The extra's pins, each transitive dependency held to requirements.lock.
    lock = ["-c", str(REPO / "requirements.lock")]
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *lock, *pins], check=True)
    say("installed: " + ", ".join(pins))
