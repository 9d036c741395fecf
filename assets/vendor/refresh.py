#!/usr/bin/env python3
"""Refreshes the vendored browser assets from the npm registry.

`manifest.json` beside this script is the one place that names what is vendored:
each package, its pinned version, its licence, and the files taken from its tarball
with their SHA-256. This script downloads each tarball, checks it against the
registry's integrity hash, copies the named files and the package's licence here,
and rewrites the checksums and licences in the manifest. Nothing is downloaded at
build or run time: Roster embeds the files as they are committed, and a test checks
them against the manifest.

Usage: assets/vendor/refresh.py            # the pinned versions, checksums rewritten
       assets/vendor/refresh.py --check    # verify the files on disk only
To move a package to another version, edit its "version" in manifest.json and run it.
"""

import base64
import hashlib
import io
import json
import pathlib
import sys
import tarfile
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
REGISTRY = "https://registry.npmjs.org"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def tarball(package: str, version: str) -> tarfile.TarFile:
    meta = json.loads(fetch(f"{REGISTRY}/{package}/{version}"))
    data = fetch(meta["dist"]["tarball"])
    algorithm, _, expected = meta["dist"]["integrity"].partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        sys.exit(f"{package}@{version}: tarball integrity mismatch")
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz"), meta.get("license", "")


def refresh(manifest: list) -> None:
    for entry in manifest:
        archive, licence = tarball(entry["package"], entry["version"])
        entry["license"] = licence
        for file in entry["files"]:
            data = archive.extractfile(file["from"]).read()
            (HERE / file["name"]).write_bytes(data)
            file["sha256"] = sha256(data)
        notice = archive.extractfile(entry["licenseFile"]["from"]).read()
        (HERE / entry["licenseFile"]["name"]).write_bytes(notice)
        entry["licenseFile"]["sha256"] = sha256(notice)
        print(f"{entry['package']}@{entry['version']} ({licence})")
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")


def check(manifest: list) -> None:
    bad = [
        file["name"]
        for entry in manifest
        for file in entry["files"] + [entry["licenseFile"]]
        if sha256((HERE / file["name"]).read_bytes()) != file["sha256"]
    ]
    if bad:
        sys.exit(f"checksum mismatch: {', '.join(bad)}")
    print("vendored assets match manifest.json")


if __name__ == "__main__":
    entries = json.loads(MANIFEST.read_text())
    check(entries) if "--check" in sys.argv[1:] else refresh(entries)
