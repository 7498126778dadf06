"""The packager's parts without the network: manifest, requirement files, tree tidying, zip writer,
and a whole build of a small fake repository."""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts.package import (
    ROOT,
    Deployable,
    PackageError,
    Packager,
    Target,
    load_manifest,
    read_requirements,
    tidy_site,
    write_zip,
    zip_date_time,
)

pytestmark = pytest.mark.packaging

MakeTree = Callable[[dict[str, str]], Path]

GOOD_ENTRY = '[[deployable]]\nname = "ns_create"\npackage = "ns_create"\nmodule = "ns_create.function"\n'


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- manifest -------------------------------------------------------------------------------


def test_manifest_every_package_and_handler_module_exists() -> None:
    # GIVEN the real manifest
    manifest = load_manifest(ROOT)
    # THEN each deployable's package and handler module exist (the packager needs them all)
    packager = Packager(root=ROOT)
    missing: list[str] = []
    for deployable in manifest:
        try:
            packager.check(deployable)
        except PackageError as exc:
            missing.append(str(exc))
    assert not missing


def test_manifest_names_are_unique_and_labs_keep_their_zip_names() -> None:
    manifest = load_manifest(ROOT)
    names = [d.name for d in manifest]
    assert len(names) == len(set(names))
    labs = {d.name: d.module for d in manifest if d.package == "udf_helpers"}
    assert all(name.endswith("-pre") for name in labs)
    assert all(module.startswith("udf_helpers.labs.") for module in labs.values())


def test_manifest_parses_entries(make_tree: MakeTree) -> None:
    root = make_tree({"deployables.toml": GOOD_ENTRY})
    assert load_manifest(root) == [Deployable("ns_create", "ns_create", "ns_create.function")]


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ('name = "Bad Name"\npackage = "ns_create"\nmodule = "ns_create.function"\n', "'name'"),
        ('name = "x"\npackage = "ns-create"\nmodule = "ns_create.function"\n', "'package'"),
        ('name = "x"\npackage = "ns_create"\nmodule = "shared.function"\n', "'module'"),
        ('name = "x"\npackage = "ns_create"\n', "'module'"),
    ],
)
def test_manifest_bad_entry_names_the_field(make_tree: MakeTree, entry: str, field: str) -> None:
    root = make_tree({"deployables.toml": "[[deployable]]\n" + entry})
    with pytest.raises(PackageError, match=field):
        load_manifest(root)


def test_manifest_duplicate_name_is_rejected(make_tree: MakeTree) -> None:
    root = make_tree({"deployables.toml": GOOD_ENTRY + GOOD_ENTRY})
    with pytest.raises(PackageError, match="listed twice"):
        load_manifest(root)


# --- requirement files ----------------------------------------------------------------------


def test_requirements_merge_follow_includes_and_drop_the_sdk(make_tree: MakeTree) -> None:
    # GIVEN a root file with comments, a continuation, an include and the SDK, and a worker file
    root = make_tree(
        {
            "requirements.txt": (
                "# every zip\n"
                "requests==2.34.2  # HTTP\n"
                "aws-lambda-powertools==3.37.0 \\\n"
                "    --hash=sha256:abc\n"
                "boto3==1.44.8\n"
                "-r more.txt\n"
                "-c pins.txt\n"
            ),
            "more.txt": "botocore>=1.0\nrequests==2.34.2\n",
            "pins.txt": "urllib3==2.8.0\n",
            "w/requirements.txt": "# no extras\n\n",
            "x/requirements.txt": "cryptography==50.0.2\n",
        }
    )
    # WHEN they are read together
    merged = read_requirements([root / "requirements.txt", root / "x/requirements.txt"])
    # THEN lines come once each, in order, without the SDK, and the constraint file is kept
    assert merged.lines == (
        "requests==2.34.2",
        "aws-lambda-powertools==3.37.0 --hash=sha256:abc",
        "cryptography==50.0.2",
    )
    assert merged.dropped == ("boto3==1.44.8", "botocore>=1.0")
    assert merged.constraints == ((root / "pins.txt").resolve(),)
    # AND a worker file with only comments adds nothing
    assert read_requirements([root / "w/requirements.txt"]).lines == ()


@pytest.mark.parametrize("line", ["./local/pkg", "https://example.com/x.whl", "-e .", "--index-url x"])
def test_requirements_reject_what_bypasses_the_constraints(make_tree: MakeTree, line: str) -> None:
    root = make_tree({"requirements.txt": line + "\n"})
    with pytest.raises(PackageError, match="unsupported line"):
        read_requirements([root / "requirements.txt"])


def test_requirement_set_key_follows_constraints_and_target(make_tree: MakeTree) -> None:
    root = make_tree({"r.txt": "requests==2.34.2\n", "c.txt": "idna==3.20\n"})
    merged = read_requirements([root / "r.txt"], [root / "c.txt"])
    key = merged.key(Target())
    assert merged.key(Target()) == key
    assert merged.key(Target(platform="manylinux2014_aarch64")) != key
    (root / "c.txt").write_text("idna==3.21\n")
    assert merged.key(Target()) != key


# --- installed trees ------------------------------------------------------------------------


def test_tidy_site_drops_scripts_bytecode_and_the_sdk(make_tree: MakeTree) -> None:
    # GIVEN what `pip install --target` leaves, with console scripts and an SDK pulled in
    site = make_tree(
        {
            "bin/jp.py": "#!/home/me/.venv/bin/python\n",
            "jmespath/__init__.py": "",
            "jmespath/__pycache__/x.cpython-311.pyc": "",
            "jmespath-1.1.0.dist-info/METADATA": "Name: jmespath\n",
            "jmespath-1.1.0.dist-info/RECORD": (
                "jmespath/__init__.py,sha256=a,1\n../../bin/jp.py,sha256=b,2\n"
                "jmespath-1.1.0.dist-info/RECORD,,\n"
            ),
            "botocore/__init__.py": "",
            "botocore/data/x.json": "{}",
            "botocore-1.44.8.dist-info/RECORD": "botocore/__init__.py,,\nbotocore/data/x.json,,\n",
        }
    )
    logged: list[str] = []
    # WHEN it is tidied
    tidy_site(site, logged.append)
    # THEN scripts, bytecode and the SDK are gone, and RECORD names only files in the tree
    assert not (site / "bin").exists()
    assert not list(site.rglob("__pycache__"))
    assert not (site / "botocore").exists() and not (site / "botocore-1.44.8.dist-info").exists()
    assert (site / "jmespath-1.1.0.dist-info/RECORD").read_text() == (
        "jmespath/__init__.py,sha256=a,1\njmespath-1.1.0.dist-info/RECORD,,\n"
    )
    assert any("botocore" in line for line in logged)


# --- zips -----------------------------------------------------------------------------------


def test_write_zip_same_content_same_bytes_whatever_the_metadata(make_tree: MakeTree, tmp_path: Path) -> None:
    # GIVEN two trees with the same files, written in another order, with other times and modes
    files = {"function.py": "x = 1\n", "pkg/__init__.py": "", "pkg/a.py": "a = 'a' * 100\n", "z.txt": "z"}
    first = make_tree(files)
    second = make_tree(dict(reversed(list(files.items()))))
    for path in second.rglob("*"):
        os.utime(path, (2_000_000_000, 2_000_000_000))
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    # WHEN both are zipped
    write_zip(first, tmp_path / "one.zip")
    write_zip(second, tmp_path / "two.zip")
    # THEN the bytes are the same
    assert _sha(tmp_path / "one.zip") == _sha(tmp_path / "two.zip")
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        infos = {info.filename: info for info in archive.infolist()}
        assert archive.read("pkg/a.py") == files["pkg/a.py"].encode()
    assert list(infos) == ["function.py", "pkg/", "pkg/__init__.py", "pkg/a.py", "z.txt"]
    assert infos["pkg/"].external_attr >> 16 == stat.S_IFDIR | 0o755
    assert infos["pkg/a.py"].external_attr >> 16 == stat.S_IFREG | 0o644
    assert {info.date_time for info in infos.values()} == {(1980, 1, 1, 0, 0, 0)}
    # AND no partial file is left beside the zip
    assert sorted(p.name for p in tmp_path.glob("*.zip*")) == ["one.zip", "two.zip"]


def test_write_zip_other_content_other_bytes(make_tree: MakeTree, tmp_path: Path) -> None:
    write_zip(make_tree({"a.py": "a = 1\n"}), tmp_path / "one.zip")
    write_zip(make_tree({"a.py": "a = 2\n"}), tmp_path / "two.zip")
    assert _sha(tmp_path / "one.zip") != _sha(tmp_path / "two.zip")


def test_write_zip_refuses_symlinks(make_tree: MakeTree, tmp_path: Path) -> None:
    tree = make_tree({"a.py": ""})
    (tree / "b.py").symlink_to(tree / "a.py")
    with pytest.raises(PackageError, match="symlink"):
        write_zip(tree, tmp_path / "out.zip")
    assert not list(tmp_path.glob("*.zip*"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, (1980, 1, 1, 0, 0, 0)),
        ("1700000000", (2023, 11, 14, 22, 13, 20)),
        ("0", (1980, 1, 1, 0, 0, 0)),
    ],
)
def test_zip_date_time_honours_source_date_epoch(value: str | None, expected: tuple[int, ...]) -> None:
    environ = {} if value is None else {"SOURCE_DATE_EPOCH": value}
    assert zip_date_time(environ) == expected


def test_zip_date_time_rejects_garbage() -> None:
    with pytest.raises(PackageError, match="SOURCE_DATE_EPOCH"):
        zip_date_time({"SOURCE_DATE_EPOCH": "yesterday"})


# --- a whole build, offline -----------------------------------------------------------------


def test_build_of_a_fake_repo_copies_only_code(make_tree: MakeTree) -> None:
    # GIVEN a repository whose worker has tests, caches and a requirements file with no requirements
    root = make_tree(
        {
            "deployables.toml": (
                '[[deployable]]\nname = "demo-pre"\npackage = "demo"\nmodule = "demo.labs.one"\n'
            ),
            "shared/__init__.py": "",
            "shared/tests/test_x.py": "",
            "shared/__pycache__/x.cpython-311.pyc": "",
            "demo/__init__.py": "",
            "demo/requirements.txt": "# nothing extra\n",
            "demo/labs/__init__.py": "",
            "demo/labs/one.py": "def lambda_handler(event, context):\n    return {'statusCode': 200}\n",
            "demo/labs/data.json": "{}",
            "demo/labs/.DS_Store": "",
            "demo/tests/test_one.py": "",
            "demo/conftest.py": "",
            "demo/.mypy_cache/x": "",
        }
    )
    packager = Packager(root=root, pip=("false",))  # no requirement lines: pip must not run
    deployable = load_manifest(root)[0]
    # WHEN it is built twice
    first = packager.build(deployable)
    first_bytes = first.path.read_bytes()
    second = packager.build(deployable)
    # THEN the zip holds the code and data files, the generated handler, and nothing else
    with zipfile.ZipFile(first.path) as archive:
        names = archive.namelist()
        handler = archive.read("function.py").decode()
    assert [n for n in names if not n.endswith("/")] == [
        "demo/__init__.py",
        "demo/labs/__init__.py",
        "demo/labs/data.json",
        "demo/labs/one.py",
        "function.py",
        "shared/__init__.py",
    ]
    assert handler.splitlines()[-1] == "from demo.labs.one import lambda_handler  # noqa: F401"
    assert first.path == root / "dist" / "demo-pre.zip"
    assert second.path.read_bytes() == first_bytes


def test_build_missing_module_names_it(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "deployables.toml": GOOD_ENTRY,
            "shared/__init__.py": "",
            "ns_create/__init__.py": "",
        }
    )
    with pytest.raises(PackageError, match=r"ns_create\.function not found"):
        Packager(root=root, pip=("false",)).build(load_manifest(root)[0])


def test_tidy_site_prunes_unused_powertools_parts_and_their_record_lines(make_tree: MakeTree) -> None:
    # GIVEN Powertools with a part the workers use and one they never import
    site = make_tree(
        {
            "aws_lambda_powertools/logging/__init__.py": "",
            "aws_lambda_powertools/event_handler/api.py": "",
            "aws_lambda_powertools-3.37.0.dist-info/RECORD": (
                "aws_lambda_powertools/logging/__init__.py,,\naws_lambda_powertools/event_handler/api.py,,\n"
            ),
        }
    )
    # WHEN it is tidied
    tidy_site(site, lambda line: None)
    # THEN the unused part and its RECORD line are gone, the used part stays
    assert (site / "aws_lambda_powertools/logging/__init__.py").exists()
    assert not (site / "aws_lambda_powertools/event_handler").exists()
    assert (site / "aws_lambda_powertools-3.37.0.dist-info/RECORD").read_text() == (
        "aws_lambda_powertools/logging/__init__.py,,\n"
    )
