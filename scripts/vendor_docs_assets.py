"""Refresh the API documentation's vendored assets (Swagger UI, Redoc) from the npm registry.

Run by a maintainer when a pin changes (`python scripts/vendor_docs_assets.py`); installing and
running Herald never needs npm: the files are committed under herald/web/docs/vendor/, each
package in a folder named with its version, with its licence files and a manifest
(vendor.json: version, licence, the registry's integrity hash, SHA-256 of every file) that
tests/web/test_vendored_assets.py checks. Decision record: docs/decisions/0015-web-pages.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "herald" / "web" / "docs" / "vendor"
# package -> (pinned version, files to take from the tarball's package/ folder)
PINS: dict[str, tuple[str, tuple[str, ...]]] = {
    "swagger-ui-dist": (
        "5.35.0",
        (
            "swagger-ui-bundle.js",
            "swagger-ui-bundle.js.LICENSE.txt",
            "swagger-ui.css",
            "favicon-32x32.png",
            "LICENSE",
            "NOTICE",
        ),
    ),
    # 2.x on purpose: Redoc 3 posts telemetry to otel.cloud.redocly.com and loads icons from
    # cdn.redocly.com, which an offline, self-hosted page must not do.
    "redoc": (
        "2.5.4",
        ("bundles/redoc.standalone.js", "bundles/redoc.standalone.js.LICENSE.txt", "LICENSE"),
    ),
}


def npm(*args: str, cwd: Path | None = None) -> str:
    """Run npm (the registry's own client) and return what it printed."""
    command = ["npm", *args]  # the maintainer's npm, with our own fixed arguments
    done = subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True)  # noqa: S603
    return done.stdout.strip()


def integrity_of(tarball: Path) -> str:
    """The tarball's Subresource Integrity string, as the registry publishes it."""
    digest = hashlib.sha512(tarball.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def vendor(package: str, version: str, files: tuple[str, ...], work: Path) -> dict[str, object]:
    """Fetch one pinned package, check it against the registry's hash, copy its files."""
    spec = f"{package}@{version}"
    published = npm("view", spec, "dist.integrity")
    tarball = work / npm("pack", spec, "--silent", cwd=work).splitlines()[-1]
    if integrity_of(tarball) != published:
        raise SystemExit(f"{spec}: the tarball does not match the registry's integrity hash")
    with tarfile.open(tarball) as archive:
        archive.extractall(work / package, filter="data")
    root = work / package / "package"
    meta = json.loads((root / "package.json").read_text())
    target = VENDOR / f"{package}-{version}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    hashes = {}
    for name in files:
        copied = target / Path(name).name
        shutil.copyfile(root / name, copied)
        hashes[copied.name] = hashlib.sha256(copied.read_bytes()).hexdigest()
    return {
        "version": version,
        "license": meta["license"],
        "integrity": published,
        "folder": target.name,
        "files": hashes,
    }


def main() -> None:
    """Vendor every pinned package and write the manifest."""
    manifest = {}
    with tempfile.TemporaryDirectory() as work:
        for package, (version, files) in PINS.items():
            manifest[package] = vendor(package, version, files, Path(work))
            print(f"vendored {package}@{version}", file=sys.stderr)
    for stale in VENDOR.iterdir():
        if stale.is_dir() and stale.name not in {m["folder"] for m in manifest.values()}:
            shutil.rmtree(stale)
    (VENDOR / "vendor.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
