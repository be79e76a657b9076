"""Signed evidence bundles: made, verified, and refused when anything in them changes.

No expected number here comes from saylau's own output: the checks are properties (one byte
changed anywhere fails; the right file is named), and the SHA-256 of a file is recomputed with
:mod:`hashlib` independently of the manifest.
"""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from saylau._exceptions import DataFormatError, SaylauInputError
from saylau.cli import app
from saylau.report.bundle import (
    MANIFEST,
    SIGNATURE,
    BundleCheck,
    create_bundle,
    extract_verified,
    generate_keypair,
    load_private_key,
    load_public_key,
    unsafe_name,
    verify_bundle,
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bundle")
    generate_keypair(d / "org.key")
    generate_keypair(d / "other.key")
    inputs = d / "inputs"
    (inputs / "data").mkdir(parents=True)
    (inputs / "report.html").write_text("<h1>Сайлау есебі — Қазақстан</h1>", encoding="utf-8")
    (inputs / "data" / "protocols.csv").write_text(
        "station,voters_on_list,Аманат\n1,100,60\n2,120,70\n", encoding="utf-8"
    )
    (inputs / "figure.png").write_bytes(bytes(range(256)) * 2)
    create_bundle(
        d / "evidence.zip",
        [inputs / "report.html", inputs / "data", inputs / "figure.png"],
        private_key=d / "org.key",
    )
    return d


def _verify(path: Path, workdir: Path, key: str = "org.key.pub") -> BundleCheck:
    return verify_bundle(path, public_key=workdir / key)


def test_round_trip_and_extract(workdir: Path, tmp_path: Path) -> None:
    check = _verify(workdir / "evidence.zip", workdir)
    assert check.ok and check.signature == "valid" and not check.problems
    assert [f.path for f in check.files] == [
        "report.html",
        "data/protocols.csv",
        "figure.png",
    ]
    assert check.signer == check.key
    out = extract_verified(check, tmp_path / "x")
    assert (
        (tmp_path / "x" / "data" / "protocols.csv")
        .read_text(encoding="utf-8")
        .endswith("2,120,70\n")
    )
    assert len(out) == 3
    with zipfile.ZipFile(workdir / "evidence.zip") as z:
        manifest = json.loads(z.read(MANIFEST))
    original = (workdir / "inputs" / "figure.png").read_bytes()
    entry = next(e for e in manifest["files"] if e["path"] == "figure.png")
    assert entry["sha256"] == hashlib.sha256(original).hexdigest()
    assert entry["size"] == 512


def test_keys_are_private_and_never_packed(workdir: Path, tmp_path: Path) -> None:
    mode = stat.S_IMODE((workdir / "org.key").stat().st_mode)
    assert mode == 0o600
    assert b"PRIVATE KEY" not in (workdir / "evidence.zip").read_bytes()
    with pytest.raises(SaylauInputError, match="private key itself"):
        create_bundle(tmp_path / "b.zip", [workdir / "org.key"], private_key=workdir / "org.key")
    # another private key inside a folder is refused too
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "notes.txt").write_bytes((workdir / "other.key").read_bytes())
    with pytest.raises(SaylauInputError, match="holds a private key"):
        create_bundle(tmp_path / "b.zip", [folder], private_key=workdir / "org.key")
    with pytest.raises(SaylauInputError, match="refusing to overwrite"):
        generate_keypair(workdir / "org.key")
    with pytest.raises(DataFormatError, match="this is a private key"):
        load_public_key(workdir / "org.key")


def test_passphrase(tmp_path: Path) -> None:
    keys = generate_keypair(tmp_path / "k", passphrase=b"kazakh steppe 2026")
    assert keys.encrypted
    assert b"ENCRYPTED PRIVATE KEY" in (tmp_path / "k").read_bytes()
    with pytest.raises(DataFormatError, match="encrypted: give its passphrase"):
        load_private_key(tmp_path / "k")
    with pytest.raises(DataFormatError, match="wrong passphrase"):
        load_private_key(tmp_path / "k", b"wrong")
    (tmp_path / "a.txt").write_text("a", encoding="utf-8")
    create_bundle(
        tmp_path / "b.zip",
        [tmp_path / "a.txt"],
        private_key=tmp_path / "k",
        passphrase=b"kazakh steppe 2026",
    )
    assert verify_bundle(tmp_path / "b.zip", public_key=tmp_path / "k.pub").ok


def test_one_changed_byte_anywhere_fails(workdir: Path, tmp_path: Path) -> None:
    """Every byte of the archive (contents, manifest, signature, headers, directory)."""
    original = (workdir / "evidence.zip").read_bytes()
    with zipfile.ZipFile(workdir / "evidence.zip") as z:
        spans = {
            i.filename: (i.header_offset + 30 + len(i.filename.encode()), i.file_size)
            for i in z.infolist()
        }
    target = tmp_path / "t.zip"
    for pos in range(len(original)):
        changed = bytearray(original)
        changed[pos] ^= 0x01
        target.write_bytes(bytes(changed))
        check = _verify(target, workdir)
        assert not check.ok, pos
        assert check.problems, pos
        for name, (start, size) in spans.items():
            if start <= pos < start + size and name.startswith("files/"):
                # a changed byte in a file's contents names that file
                bad = {f.path for f in check.files if f.status != "ok"}
                assert name.removeprefix("files/") in bad, (pos, name, check.problems)
            if start <= pos < start + size and name in (MANIFEST, SIGNATURE):
                assert check.signature != "valid" or any("manifest" in p for p in check.problems), (
                    pos
                )


def test_wrong_key_truncated_and_extra_file(workdir: Path, tmp_path: Path) -> None:
    wrong = _verify(workdir / "evidence.zip", workdir, key="other.key.pub")
    assert not wrong.ok and wrong.signature == "invalid"
    assert any("does not verify" in p and wrong.signer in p for p in wrong.problems)  # type: ignore[operator]
    data = (workdir / "evidence.zip").read_bytes()
    for cut in (len(data) - 1, len(data) - 22, len(data) // 2, 10, 0):
        (tmp_path / "cut.zip").write_bytes(data[:cut])
        check = _verify(tmp_path / "cut.zip", workdir)
        assert not check.ok and check.problems, cut
    assert "truncated" in check.problems[0]
    for name, body in (("appended.zip", data + b"\0"), ("prepended.zip", b"#!/bin/sh\n" + data)):
        (tmp_path / name).write_bytes(body)  # a byte added outside every member
        check = _verify(tmp_path / name, workdir)
        assert not check.ok and check.problems, name
    (tmp_path / "garbage.pub").write_text("not a key", encoding="utf-8")
    with pytest.raises(DataFormatError, match="not a readable public key"):
        verify_bundle(workdir / "evidence.zip", public_key=tmp_path / "garbage.pub")
    extra = tmp_path / "extra.zip"
    extra.write_bytes(data)
    with zipfile.ZipFile(extra, "a") as z:
        z.writestr("files/ballots-added.csv", "1,2,3\n")
    check = _verify(extra, workdir)
    assert not check.ok and check.signature == "valid"
    assert [(f.path, f.status) for f in check.files if f.status != "ok"] == [
        ("ballots-added.csv", "extra")
    ]


def _rebuild(src: Path, dst: Path, *, drop: str = "", replace: dict[str, bytes] | None = None,
             add: dict[str, bytes] | None = None) -> None:  # fmt: skip
    """An attacker's rebuild: valid zip structure and CRCs, contents changed."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename == drop:
                continue
            zout.writestr(info.filename, (replace or {}).get(info.filename, zin.read(info)))
        for name, body in (add or {}).items():
            zout.writestr(name, body)


def test_rebuilt_archives_name_the_file(workdir: Path, tmp_path: Path) -> None:
    src = workdir / "evidence.zip"
    _rebuild(src, tmp_path / "m.zip", drop="files/figure.png")
    check = _verify(tmp_path / "m.zip", workdir)
    assert not check.ok
    assert ("figure.png", "missing") in {(f.path, f.status) for f in check.files}
    _rebuild(src, tmp_path / "d.zip", replace={"files/report.html": b"<h1>edited</h1>"})
    check = _verify(tmp_path / "d.zip", workdir)
    assert not check.ok and check.signature == "valid"
    bad = {f.path: f for f in check.files if f.status != "ok"}
    assert list(bad) == ["report.html"] and "SHA-256" in bad["report.html"].detail
    # the same members rebuilt by another zip writer: contents fine, the layout is not saylau's
    _rebuild(src, tmp_path / "same.zip")
    check = _verify(tmp_path / "same.zip", workdir)
    assert not check.ok and all(f.status == "ok" for f in check.files)
    assert "header" in check.problems[0]


def test_path_traversal_is_refused(workdir: Path, tmp_path: Path) -> None:
    assert unsafe_name("files/../../etc/cron.d/x") == "climbs out of the folder (..)"
    assert unsafe_name("/etc/passwd") == "is an absolute path"
    assert unsafe_name("files\\..\\x") is not None and unsafe_name("C:/x") is not None
    for evil in ("../../evil.sh", "files/../../evil.sh", "/tmp/evil.sh"):
        _rebuild(workdir / "evidence.zip", tmp_path / "e.zip", add={evil: b"rm -rf ~\n"})
        check = _verify(tmp_path / "e.zip", workdir)
        assert not check.ok
        assert any("unsafe member name" in p and evil in p for p in check.problems), evil
        with pytest.raises(SaylauInputError, match="did not verify"):
            extract_verified(check, tmp_path / "out")
    assert not (tmp_path / "evil.sh").exists()


def test_openssh_public_key(workdir: Path, tmp_path: Path) -> None:
    pub = load_public_key(workdir / "org.key.pub")
    ssh = pub.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    (tmp_path / "org.pub").write_bytes(ssh + b" org@example\n")
    assert verify_bundle(workdir / "evidence.zip", public_key=tmp_path / "org.pub").ok


def test_bundle_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("ORG_PASSPHRASE", "қазақ тілі 2026")
    res = runner.invoke(
        app, ["bundle", "keygen", str(tmp_path / "org.key"), "--passphrase-env", "ORG_PASSPHRASE"]
    )
    assert res.exit_code == 0, res.output
    assert "encrypted" in res.output and "SHA256:" in res.output
    assert stat.S_IMODE((tmp_path / "org.key").stat().st_mode) == 0o600
    (tmp_path / "report.html").write_text("<p>есеп</p>", encoding="utf-8")
    bundle = tmp_path / "out" / "evidence.zip"
    res = runner.invoke(
        app,
        ["bundle", "create", str(bundle), str(tmp_path / "report.html"),
         "--key", str(tmp_path / "org.key"), "--passphrase-env", "ORG_PASSPHRASE"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    verify = ["bundle", "verify", str(bundle), "--public-key", str(tmp_path / "org.key.pub")]
    res = runner.invoke(app, [*verify, "--extract", str(tmp_path / "x")])
    assert res.exit_code == 0 and "VERIFIED" in res.output, res.output
    assert (tmp_path / "x" / "report.html").exists()
    data = bytearray(bundle.read_bytes())
    data[data.index("есеп".encode())] ^= 0x01
    bundle.write_bytes(bytes(data))
    res = runner.invoke(app, verify)
    assert res.exit_code == 1
    assert "REFUSED" in res.output and "report.html" in res.output
    res = runner.invoke(app, [*verify, "--json"])
    body = json.loads(res.stdout)
    assert res.exit_code == 1 and body["ok"] is False and body["files"][0]["status"] == "differs"
    res = runner.invoke(app, ["bundle", "create", str(bundle), str(tmp_path / "report.html"),
                              "--key", str(tmp_path / "org.key")])  # fmt: skip
    assert res.exit_code == 2 and "passphrase" in res.output
