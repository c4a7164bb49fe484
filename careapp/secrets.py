"""Create the instance's secrets file once (`python -m careapp.secrets PATH`); never committed."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from careapp.security import new_data_key


def write_secrets(path: Path) -> bool:
    """Write SECRET_KEY and DATA_KEY to `path` unless it exists; return True if written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"CAREAPP_SECRET_KEY={secrets.token_urlsafe(32)}\nCAREAPP_DATA_KEY={new_data_key()}\n"
    )
    path.chmod(0o600)
    return True


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "instance/careapp.env")
    if write_secrets(target):
        print(f"created {target} (keep it safe: it holds the encryption key)")
