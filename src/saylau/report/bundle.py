"""Signed evidence bundles: the report, its inputs and a manifest of hashes in one zip archive.

A bundle is a zip archive laid out the same way every time (stored, not compressed; fixed
dates and attributes; the files in the order given):

- ``files/…``: every file packed, under a safe relative name;
- ``manifest.json``: the format, saylau's version, the time of packing, the signer's key
  fingerprint, and each file's name, size and SHA-256;
- ``manifest.sig``: the Ed25519 signature of ``manifest.json``'s bytes (base64).

:func:`verify_bundle` checks the signature with the public key the reader trusts, every file
against the manifest (naming each one that differs, is missing or is extra), every member
name (a name that climbs out of the folder, ``../x`` or ``/etc/x``, is refused), and finally
rebuilds the archive from its verified parts and compares it byte for byte with the file: a
changed byte anywhere (a file, the manifest, the signature, a header, a date, the comment)
fails verification. The private key never enters a bundle: :func:`create_bundle` refuses a
file that holds a private key.

Keys are made by :func:`generate_keypair` (the `cryptography` package): the private key as
PKCS#8 PEM, written with mode 0600 and optionally encrypted with a passphrase; the public key
as PEM. A public key in OpenSSH form (``ssh-ed25519 AAAA…``) is read as well.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> keys = generate_keypair(d / "org.key")
>>> _ = (d / "report.html").write_text("<p>Сайлау</p>", encoding="utf-8")
>>> made = create_bundle(d / "evidence.zip", [d / "report.html"], private_key=d / "org.key")
>>> made.files
('report.html',)
>>> check = verify_bundle(d / "evidence.zip", public_key=d / "org.key.pub")
>>> check.ok, check.signature, [f.status for f in check.files]
(True, 'valid', ['ok'])
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .._exceptions import DataFormatError, SaylauInputError
from ..results import Result

__all__ = [
    "BundleCheck",
    "BundleMade",
    "FileCheck",
    "KeyPair",
    "create_bundle",
    "extract_verified",
    "generate_keypair",
    "key_fingerprint",
    "load_private_key",
    "load_public_key",
    "unsafe_name",
    "verify_bundle",
]

FORMAT = "saylau-evidence-bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
FILES = "files/"
_DATE = (1980, 1, 1, 0, 0, 0)
_CHUNK = 1 << 20
_PRIVATE_MARK = b"PRIVATE KEY-----"


# --------------------------------------------------------------------------- results
@dataclasses.dataclass(frozen=True)
class KeyPair(Result):
    """The key files written by :func:`generate_keypair`."""

    private_key: str
    public_key: str
    fingerprint: str
    encrypted: bool


@dataclasses.dataclass(frozen=True)
class BundleMade(Result):
    """A bundle written by :func:`create_bundle`."""

    bundle: str
    files: tuple[str, ...]
    sha256: str
    signer: str


@dataclasses.dataclass(frozen=True)
class FileCheck:
    """One file of a bundle: ``ok``, ``differs``, ``missing`` (in the manifest, not in the
    archive) or ``extra`` (in the archive, not in the manifest), with the reason."""

    path: str
    status: str
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class BundleCheck(Result):
    """The verdict of :func:`verify_bundle`.

    Attributes
    ----------
    bundle : str
    ok : bool
        True only when the signature is valid for the key given, every file matches the
        manifest, no file is missing or extra, and the archive is byte for byte the one saylau
        writes for those parts.
    signature : {"valid", "invalid", "absent", "unchecked"}
    key : str
        Fingerprint of the public key given.
    signer : str or None
        Fingerprint of the signer's key, as the manifest states it.
    files : tuple of FileCheck
    problems : tuple of str
        Every reason the bundle is refused, one line each.
    created, saylau_version : str or None
        From the manifest (trustworthy only when ``ok``).
    """

    bundle: str
    ok: bool
    signature: str
    key: str
    signer: str | None
    files: tuple[FileCheck, ...]
    problems: tuple[str, ...]
    created: str | None = None
    saylau_version: str | None = None


# --------------------------------------------------------------------------- keys
def key_fingerprint(key: Ed25519PublicKey) -> str:
    """``SHA256:`` and the unpadded base64 of the raw public key's SHA-256 (as OpenSSH does)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


def _create_private(path: Path) -> int:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SaylauInputError(
            "refusing to overwrite an existing file",
            file=str(path),
            expected="a new file name",
            found="an existing file",
        ) from None
    except OSError as exc:
        raise SaylauInputError(
            f"cannot create the key file ({exc.strerror or exc})", file=str(path)
        ) from None
    os.fchmod(fd, 0o600)  # whatever the umask: only the owner reads the private key
    return fd


def generate_keypair(
    private_key: str | Path,
    public_key: str | Path | None = None,
    *,
    passphrase: bytes | None = None,
) -> KeyPair:
    """Make an Ed25519 key pair: the private key (mode 0600) and the public key files.

    Parameters
    ----------
    private_key : path
        New file for the private key (PKCS#8 PEM); an existing file is never overwritten.
    public_key : path, optional
        New file for the public key (PEM); default ``PRIVATE.pub``.
    passphrase : bytes, optional
        Encrypt the private key with it (the best encryption `cryptography` offers).

    Raises
    ------
    SaylauInputError
        When a file exists already, or the passphrase is empty.
    """
    priv_path = Path(private_key)
    pub_path = Path(public_key) if public_key is not None else Path(f"{priv_path}.pub")
    if passphrase is not None and not passphrase:
        raise SaylauInputError("the passphrase is empty", field="passphrase", expected="text")
    if pub_path.exists():
        raise SaylauInputError(
            "refusing to overwrite an existing file", file=str(pub_path), found="an existing file"
        )
    key = Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    fd = _create_private(priv_path)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public = key.public_key()
    pub_path.write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return KeyPair(
        private_key=str(priv_path),
        public_key=str(pub_path),
        fingerprint=key_fingerprint(public),
        encrypted=passphrase is not None,
    )


def _read_key_file(path: Path, field: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SaylauInputError(
            f"cannot read the key file ({exc.strerror or exc})", file=str(path), field=field
        ) from None


def load_private_key(path: str | Path, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    """Read an Ed25519 private key (PEM, encrypted or not).

    Raises
    ------
    DataFormatError
        When the file is not an Ed25519 private key, or the passphrase is wrong or missing.
    """
    p = Path(path)
    data = _read_key_file(p, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError:
        raise DataFormatError(
            "the private key is encrypted: give its passphrase"
            if passphrase is None
            else "the private key is not encrypted: give no passphrase",
            file=str(p),
            field="passphrase",
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise DataFormatError(
            "not a readable private key, or a wrong passphrase",
            file=str(p),
            field="private key",
            expected="an Ed25519 private key in PEM form (saylau bundle keygen)",
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise DataFormatError(
            "the private key is not an Ed25519 key",
            file=str(p),
            field="private key",
            expected="Ed25519",
            found=type(key).__name__,
        )
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """Read an Ed25519 public key: PEM (``saylau bundle keygen``) or OpenSSH (``ssh-ed25519``).

    Raises
    ------
    DataFormatError
        When the file is a private key, or not an Ed25519 public key.
    """
    p = Path(path)
    data = _read_key_file(p, "public key")
    if _PRIVATE_MARK in data:
        raise DataFormatError(
            "this is a private key: verify with the public one (keep the private key apart)",
            file=str(p),
            field="public key",
        )
    try:
        if data.lstrip().startswith(b"ssh-"):
            key: Any = serialization.load_ssh_public_key(data.strip())
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise DataFormatError(
            "not a readable public key",
            file=str(p),
            field="public key",
            expected="an Ed25519 public key (PEM or ssh-ed25519)",
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise DataFormatError(
            "the public key is not an Ed25519 key",
            file=str(p),
            field="public key",
            expected="Ed25519",
            found=type(key).__name__,
        )
    return key


# --------------------------------------------------------------------------- names
_UNSAFE = re.compile(r"[\x00-\x1f\\:]")


def unsafe_name(name: str) -> str | None:
    """Why a member name is unsafe to extract (None when it is safe).

    >>> unsafe_name("files/report.html") is None
    True
    >>> unsafe_name("files/../../etc/passwd")
    'climbs out of the folder (..)'
    >>> unsafe_name("/etc/passwd")
    'is an absolute path'
    """
    if not name:
        return "is empty"
    if name.startswith("/"):
        return "is an absolute path"
    if _UNSAFE.search(name):
        return "holds a backslash, a colon or a control character"
    parts = name.split("/")
    if any(part == ".." for part in parts):
        return "climbs out of the folder (..)"
    if any(part in ("", ".") for part in parts):
        return "has an empty or '.' path segment"
    return None


def _inputs(paths: Sequence[str | Path]) -> list[tuple[str, Path]]:
    """Every file to pack with its name in the bundle (a folder packs the files under it)."""
    out: list[tuple[str, Path]] = []
    for given in paths:
        p = Path(given)
        if p.is_dir():
            for f in sorted(x for x in p.rglob("*") if x.is_file()):
                out.append((f"{p.name}/{f.relative_to(p).as_posix()}", f))
        elif p.is_file():
            out.append((p.name, p))
        else:
            raise SaylauInputError(
                "no such file or folder", file=str(p), expected="a file to pack", found="nothing"
            )
    seen: dict[str, Path] = {}
    for name, p in out:
        why = unsafe_name(name)
        if why is not None:
            raise SaylauInputError(f"the name in the bundle {why}", file=str(p), found=name)
        if name in seen:
            raise SaylauInputError(
                "two files would have the same name in the bundle",
                file=str(p),
                expected="distinct names",
                found=f"{name} (also {seen[name]})",
            )
        seen[name] = p
    if not out:
        raise SaylauInputError("nothing to pack", expected="at least one file", found=0)
    return out


def _hash_file(path: Path, key_path: Path | None) -> tuple[str, int]:
    """SHA-256 and size; refuses the private key and any file that holds a private key."""
    if key_path is not None and path.resolve() == key_path.resolve():
        raise SaylauInputError("refusing to pack the private key itself", file=str(path))
    h = hashlib.sha256()
    size = 0
    tail = b""
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            if _PRIVATE_MARK in tail + chunk:
                raise SaylauInputError(
                    "refusing to pack a file that holds a private key",
                    file=str(path),
                    expected="no private key in a bundle",
                    found="-----BEGIN ... PRIVATE KEY-----",
                )
            tail = chunk[-len(_PRIVATE_MARK) :]
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


# --------------------------------------------------------------------------- the archive
def _info(name: str, size: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 3
    info.external_attr = 0o100644 << 16
    info.file_size = size
    return info


def _write_archive(target: IO[bytes], members: Sequence[tuple[str, int, Iterator[bytes]]]) -> None:
    """The one way saylau writes a bundle (creation and verification use it alike)."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        for name, size, chunks in members:
            with z.open(_info(name, size), "w", force_zip64=size >= 0x7FFFFFFF) as w:
                for chunk in chunks:
                    w.write(chunk)


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    for chunk in _file_chunks(path):
        h.update(chunk)
    return h.hexdigest()


def create_bundle(
    out: str | Path,
    files: Sequence[str | Path],
    *,
    private_key: str | Path | Ed25519PrivateKey,
    passphrase: bytes | None = None,
    created: dt.datetime | None = None,
) -> BundleMade:
    """Pack files (a folder: every file under it) with a signed manifest into one zip archive.

    Parameters
    ----------
    out : path
        The bundle to write (replaced atomically if it exists).
    files : sequence of path
        The report, the inputs... Each is stored under its file name (a folder under its
        name and the relative paths inside).
    private_key : path or Ed25519PrivateKey
        The organisation's signing key (it is never packed).
    passphrase : bytes, optional
        The private key's passphrase, when it is encrypted.
    created : datetime, optional
        Time written in the manifest (default: now, UTC).

    Raises
    ------
    SaylauInputError
        For a missing file, two files with one name, a private key among the files, or an
        unreadable key.
    """
    key_path = None if isinstance(private_key, Ed25519PrivateKey) else Path(private_key)
    key = (
        private_key
        if isinstance(private_key, Ed25519PrivateKey)
        else load_private_key(private_key, passphrase)
    )
    target = Path(out)
    entries = []
    members: list[tuple[str, int, Iterator[bytes]]] = []
    for name, path in _inputs(files):
        if path.resolve() == target.resolve():
            raise SaylauInputError("the bundle cannot contain itself", file=str(path))
        digest, size = _hash_file(path, key_path)
        entries.append({"path": name, "sha256": digest, "size": size})
        members.append((FILES + name, size, _file_chunks(path)))
    from .. import __version__

    when = (created or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    manifest = {
        "format": FORMAT,
        "saylau": __version__,
        "created": when.isoformat().replace("+00:00", "Z"),
        "signer": {"algorithm": "Ed25519", "fingerprint": key_fingerprint(key.public_key())},
        "files": entries,
    }
    body = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    sig = base64.b64encode(key.sign(body)) + b"\n"
    members += [(MANIFEST, len(body), iter([body])), (SIGNATURE, len(sig), iter([sig]))]
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".bundle-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_archive(f, members)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return BundleMade(
        bundle=str(target),
        files=tuple(str(e["path"]) for e in entries),
        sha256=_sha256_of(target),
        signer=key_fingerprint(key.public_key()),
    )


# --------------------------------------------------------------------------- verification
def _read_member(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[bytes | None, str]:
    try:
        return z.read(info), ""
    except Exception as exc:  # a damaged archive makes zipfile raise almost anything
        return None, f"unreadable ({type(exc).__name__}: {exc})"


def _manifest_entries(manifest: Any) -> list[Mapping[str, Any]] | str:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return f"the manifest is not a {FORMAT} manifest"
    files = manifest.get("files")
    if not isinstance(files, list) or not all(
        isinstance(e, dict)
        and isinstance(e.get("path"), str)
        and isinstance(e.get("sha256"), str)
        and isinstance(e.get("size"), int)
        for e in files
    ):
        return "the manifest's file list is malformed"
    return files


def verify_bundle(bundle: str | Path, *, public_key: str | Path | Ed25519PublicKey) -> BundleCheck:
    """Check a bundle's signature with a trusted public key, and every file against it.

    Nothing is extracted. Every reason to refuse the bundle is listed in ``problems``: an
    unreadable or truncated archive, a missing or invalid signature (naming the signer the
    manifest states when it is another key), an unsafe member name, a file that differs from
    the manifest, is missing or is extra, a changed header.

    Raises
    ------
    SaylauInputError
        When the bundle file or the public key cannot be read at all.
    """
    path = Path(bundle)
    key = public_key if isinstance(public_key, Ed25519PublicKey) else load_public_key(public_key)
    given = key_fingerprint(key)
    if not path.is_file():
        raise SaylauInputError("no such bundle", file=str(path), expected="a bundle file")
    problems: list[str] = []
    checks: list[FileCheck] = []

    def refused(reason: str, signature: str = "unchecked") -> BundleCheck:
        return BundleCheck(str(path), False, signature, given, None, tuple(checks), (reason,))

    try:
        z = zipfile.ZipFile(path)
    except Exception as exc:  # a damaged archive makes zipfile raise almost anything
        return refused(f"not a complete zip archive (truncated or damaged): {exc}")
    with z:
        infos = z.infolist()
        names = [i.filename for i in infos]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"{name}: the archive holds this name more than once")
        for name in names:
            why = unsafe_name(name)
            if why is not None:
                problems.append(f"{name!r}: unsafe member name, {why} (refused)")
        by_name = {i.filename: i for i in infos}
        if MANIFEST not in by_name or SIGNATURE not in by_name:
            absent = [n for n in (MANIFEST, SIGNATURE) if n not in by_name]
            return dataclasses.replace(
                refused(f"not a saylau bundle: {', '.join(absent)} missing", "absent"),
                problems=(*problems, f"not a saylau bundle: {', '.join(absent)} missing"),
            )
        body, err = _read_member(z, by_name[MANIFEST])
        sig_text, err_sig = _read_member(z, by_name[SIGNATURE])
        if body is None or sig_text is None:
            return refused(f"manifest or signature {err or err_sig}")
        signature = "invalid"
        try:
            key.verify(base64.b64decode(sig_text.strip(), validate=True), body)
            signature = "valid"
        except (InvalidSignature, ValueError):
            pass
        try:
            manifest = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            manifest = None
            problems.append(f"{MANIFEST}: not readable JSON ({exc})")
        signer = None
        if isinstance(manifest, dict) and isinstance(manifest.get("signer"), dict):
            signer = str(manifest["signer"].get("fingerprint"))
        if signature != "valid":
            who = (
                f"; the manifest names signer {signer}, the key given is {given}"
                if signer and signer != given
                else ""
            )
            problems.append(
                "the signature does not verify with the public key given: the manifest was "
                f"changed or signed with another key{who}"
            )
        entries = _manifest_entries(manifest) if manifest is not None else []
        if isinstance(entries, str):
            problems.append(entries)
            entries = []
        contents: dict[str, bytes] = {}
        listed = set()
        for e in entries:
            name = str(e["path"])
            listed.add(FILES + name)
            why = unsafe_name(name)
            if why is not None:
                problems.append(f"{name!r}: unsafe name in the manifest, {why} (refused)")
                checks.append(FileCheck(name, "differs", f"unsafe name: {why}"))
                continue
            info = by_name.get(FILES + name)
            if info is None:
                checks.append(FileCheck(name, "missing", "in the manifest, not in the archive"))
                continue
            data, err = _read_member(z, info)
            if data is None:
                checks.append(FileCheck(name, "differs", err))
                continue
            digest = hashlib.sha256(data).hexdigest()
            if len(data) != e["size"] or digest != e["sha256"]:
                checks.append(
                    FileCheck(
                        name,
                        "differs",
                        f"size {len(data):,} (manifest {e['size']:,}), SHA-256 {digest[:16]}… "
                        f"(manifest {str(e['sha256'])[:16]}…)",
                    )
                )
                continue
            contents[name] = data
            checks.append(FileCheck(name, "ok"))
        for name in names:
            if name in (MANIFEST, SIGNATURE) or name in listed:
                continue
            shown = name[len(FILES) :] if name.startswith(FILES) else name
            checks.append(FileCheck(shown, "extra", "in the archive, not in the manifest"))
        for c in checks:
            if c.status != "ok":
                problems.append(f"{c.path}: {c.status} ({c.detail})")
        if not problems and signature == "valid":
            problems.extend(_layout_problem(path, entries, contents, body, sig_text, names))
    created = manifest.get("created") if isinstance(manifest, dict) else None
    version = manifest.get("saylau") if isinstance(manifest, dict) else None
    return BundleCheck(
        bundle=str(path),
        ok=not problems and signature == "valid",
        signature=signature,
        key=given,
        signer=signer,
        files=tuple(checks),
        problems=tuple(problems),
        created=str(created) if created is not None else None,
        saylau_version=str(version) if version is not None else None,
    )


def _layout_problem(
    path: Path,
    entries: Sequence[Mapping[str, Any]],
    contents: Mapping[str, bytes],
    body: bytes,
    sig: bytes,
    names: Sequence[str],
) -> list[str]:
    """Rebuild the archive from its verified parts; any byte elsewhere that differs fails."""
    expected = [FILES + str(e["path"]) for e in entries] + [MANIFEST, SIGNATURE]
    if list(names) != expected:
        return ["the archive's members are not in the manifest's order (the archive was rebuilt)"]
    members = [
        (FILES + str(e["path"]), len(contents[str(e["path"])]), iter([contents[str(e["path"])]]))
        for e in entries
    ] + [(MANIFEST, len(body), iter([body])), (SIGNATURE, len(sig), iter([sig]))]
    with tempfile.SpooledTemporaryFile(max_size=64 << 20) as rebuilt:
        _write_archive(rebuilt, members)
        rebuilt.seek(0)
        h = hashlib.sha256()
        while chunk := rebuilt.read(_CHUNK):
            h.update(chunk)
    if h.hexdigest() != _sha256_of(path):
        return [
            "the archive differs from the one saylau writes for these files, manifest and "
            "signature: a header, a date or the archive comment was changed"
        ]
    return []


def extract_verified(check: BundleCheck, dest: str | Path) -> list[Path]:
    """Extract the files of a bundle that verified (``check.ok``) into ``dest``.

    The names were checked by :func:`verify_bundle` (none climbs out of ``dest``).
    """
    if not check.ok:
        raise SaylauInputError(
            "refusing to extract a bundle that did not verify", file=check.bundle
        )
    out = Path(dest)
    written = []
    with zipfile.ZipFile(check.bundle) as z:
        for f in check.files:
            target = out / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(FILES + f.path) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            written.append(target)
    return written
