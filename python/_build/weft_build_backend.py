"""A self-contained PEP 517 build backend for the `weft` package.

It needs nothing but the standard library, so `pip install ./python` works
offline and with build isolation: pip has nothing to download (setuptools
would need itself and `wheel` fetched, or `wheel` installed beside it). It
builds the pure-Python wheel (the `weft/` folder and its metadata), an
editable wheel (a .pth file pointing at this folder) and an sdist.
"""

import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = "weft"
VERSION = "0.1.0"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAG = "py3-none-any"
DIST_INFO = "%s-%s.dist-info" % (NAME, VERSION)


def _readme():
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        return f.read()


def _metadata():
    return (
        "Metadata-Version: 2.1\n"
        "Name: %s\n"
        "Version: %s\n"
        "Summary: Load and run weft programs built with `weft build FILE --lib`: "
        "NumPy and PyTorch bindings over the C API\n"
        "Requires-Python: >=3.8\n"
        "Requires-Dist: numpy\n"
        "Provides-Extra: torch\n"
        'Requires-Dist: torch; extra == "torch"\n'
        "Description-Content-Type: text/markdown\n"
        "\n%s" % (NAME, VERSION, _readme())
    )


def _wheel_file():
    return (
        "Wheel-Version: 1.0\n"
        "Generator: weft_build_backend\n"
        "Root-Is-Purelib: true\n"
        "Tag: %s\n" % TAG
    )


def _package_files():
    """(path in the wheel, path on disk) for every file of the package."""
    out = []
    for root, dirs, files in os.walk(os.path.join(HERE, NAME)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for f in sorted(files):
            if f.endswith((".pyc", ".pyo")):
                continue
            disk = os.path.join(root, f)
            out.append((os.path.relpath(disk, HERE).replace(os.sep, "/"), disk))
    return out


def _write_wheel(wheel_directory, entries):
    """entries: (archive name, bytes). Adds the dist-info and RECORD."""
    entries = list(entries) + [
        (DIST_INFO + "/METADATA", _metadata().encode("utf-8")),
        (DIST_INFO + "/WHEEL", _wheel_file().encode("utf-8")),
        (DIST_INFO + "/top_level.txt", (NAME + "\n").encode("utf-8")),
    ]
    record = []
    for arc, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (arc, digest, len(data)))
    record.append(DIST_INFO + "/RECORD,,")
    entries.append((DIST_INFO + "/RECORD", ("\n".join(record) + "\n").encode("utf-8")))
    filename = "%s-%s-%s.whl" % (NAME, VERSION, TAG)
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in entries:
            info = zipfile.ZipInfo(arc, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return filename


def _read(path):
    with open(path, "rb") as f:
        return f.read()


# -- PEP 517 hooks ---------------------------------------------------------


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    d = os.path.join(metadata_directory, DIST_INFO)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    with open(os.path.join(d, "WHEEL"), "w", encoding="utf-8") as f:
        f.write(_wheel_file())
    return DIST_INFO


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [(arc, _read(disk)) for arc, disk in _package_files()])


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    pth = (HERE + "\n").encode("utf-8")
    return _write_wheel(wheel_directory, [("__editable__.%s.pth" % NAME, pth)])


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % (NAME, VERSION)
    filename = base + ".tar.gz"
    files = ["pyproject.toml", "README.md", "_build/weft_build_backend.py"]
    files += [os.path.relpath(disk, HERE) for _, disk in _package_files()]
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as t:
        for rel in files:
            t.add(os.path.join(HERE, rel), arcname=base + "/" + rel.replace(os.sep, "/"))
        pkg_info = _metadata().encode("utf-8")
        info = tarfile.TarInfo(base + "/PKG-INFO")
        info.size = len(pkg_info)
        t.addfile(info, io.BytesIO(pkg_info))
    return filename
