"""Create the instance's secrets once (`python -m careapp.cli.secrets PATH`); never committed.

`add_data_key` adds a new data key to the file's ring (`careapp generate-data-key --env-file`).
Besides the env file (SECRET_KEY, DATA_KEY) this creates the electronic seal's key and
self-signed certificate next to it and adds their paths to the env file.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from careapp.security import DataProtector, new_data_key


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


def write_signing_key(env_path: Path) -> bool:
    """Create the seal's key and certificate beside `env_path` unless its settings are already
    in that file; append their paths to it. Return True if created."""
    from careapp.reports.seal import CERT_FILE, KEY_FILE, create_signing_key

    text = env_path.read_text() if env_path.exists() else ""
    if "CAREAPP_SIGNING_KEY_PATH=" in text:
        return False
    directory = env_path.parent.resolve()
    if (directory / KEY_FILE).exists() and (directory / CERT_FILE).exists():
        key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
        created = False
    else:
        files = create_signing_key(directory)
        key_path, cert_path = files.key_path, files.cert_path
        created = True
    separator = "" if not text or text.endswith("\n") else "\n"
    with env_path.open("a") as env:
        env.write(
            f"{separator}CAREAPP_SIGNING_KEY_PATH={key_path}\nCAREAPP_SIGNING_CERT_PATH={cert_path}\n"
        )
    return created


def add_data_key(path: Path) -> int:
    """Put a new key at the head of `path`'s CAREAPP_DATA_KEY ring (newest first) and, when the
    file has none, pin CAREAPP_INDEX_KEY to the index key in use so that lookups by ID number
    survive the rotation. Return the ring's size; ValueError (a DataKeyError) if the file's
    keys are missing or malformed."""
    lines = path.read_text().splitlines()
    settings = dict(line.split("=", 1) for line in lines if "=" in line)
    ring = settings.get("CAREAPP_DATA_KEY", "").strip()
    if not ring:
        raise ValueError(f"{path} has no CAREAPP_DATA_KEY")
    current = DataProtector(ring, settings.get("CAREAPP_INDEX_KEY") or None)  # checks them
    new_ring = f"{new_data_key()},{ring}"
    text = "".join(
        f"CAREAPP_DATA_KEY={new_ring}\n" if line.startswith("CAREAPP_DATA_KEY=") else f"{line}\n"
        for line in lines
    )
    if not settings.get("CAREAPP_INDEX_KEY"):
        text += f"CAREAPP_INDEX_KEY={current.index_key_setting()}\n"
    replacement = path.with_name(f".{path.name}.new")
    replacement.write_text(text)
    replacement.chmod(0o600)
    replacement.replace(path)
    return current.key_count + 1


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "instance/careapp.env")
    if write_secrets(target):
        print(f"created {target} (keep it safe: it holds the encryption key)")
    if write_signing_key(target):
        print(f"created the electronic seal's key and certificate in {target.parent}")
