"""The packager's parts without the network: manifest and runtime settings, requirement files, tree
tidying and merging, bytecode, zip writer, a whole build of a small fake repository, and the
command line."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts.interpreters import find_python
from scripts.package import (
    DEFAULT_RUNTIME,
    ROOT,
    TASK_ROOT,
    Deployable,
    PackageError,
    Packager,
    Target,
    load_manifest,
    load_target,
    merge_site,
    read_requirements,
    requirement_name,
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


def test_requirement_name_reads_pep_508_and_normalises() -> None:
    assert requirement_name("Typing_Extensions>=4 ; python_version >= '3.11'") == "typing-extensions"
    assert requirement_name("moto[server]==5.2.5 --hash=sha256:abc --hash=sha256:def") == "moto"
    assert requirement_name("pkg @ https://example.com/pkg.whl") is None
    assert requirement_name("not a requirement!") is None


@pytest.mark.parametrize(
    "line",
    ["./local/pkg", "https://example.com/x.whl", "-e .", "--index-url x", "pkg @ https://example.com/x.whl"],
)
def test_requirements_reject_what_bypasses_the_constraints(make_tree: MakeTree, line: str) -> None:
    root = make_tree({"requirements.txt": line + "\n"})
    with pytest.raises(PackageError, match="unsupported line"):
        read_requirements([root / "requirements.txt"])


def test_requirement_set_key_follows_constraints_and_target(make_tree: MakeTree) -> None:
    root = make_tree({"r.txt": "requests==2.34.2\n", "c.txt": "idna==3.20\n"})
    merged = read_requirements([root / "r.txt"], [root / "c.txt"])
    key = merged.key(Target())
    assert merged.key(Target()) == key
    assert merged.key(Target(arch="aarch64")) != key
    assert merged.key(Target(also=("python3.11",))) != key
    assert merged.key(Target(runtime="python3.12")) != key
    (root / "c.txt").write_text("idna==3.21\n")
    assert merged.key(Target()) != key


# --- runtimes -------------------------------------------------------------------------------


def test_target_default_is_python313_on_amazon_linux_2023() -> None:
    target = Target()
    assert target.runtime == DEFAULT_RUNTIME == "python3.13"
    assert target.python_version == "3.13"
    assert target.glibc == (2, 34)
    assert target.platforms[0] == "manylinux_2_34_x86_64"
    assert target.platforms[-1] == "manylinux2014_x86_64"


def test_target_with_python311_only_takes_wheels_for_amazon_linux_2() -> None:
    # GIVEN zips that must also run on python3.11 (Amazon Linux 2, glibc 2.26)
    target = Target(runtime="python3.13", also=("python3.11", "python3.12", "python3.13"))
    # THEN the runtimes come once each, target first, and no wheel may need a glibc above 2.26
    assert [r.name for r in target.runtimes] == ["python3.13", "python3.11", "python3.12"]
    assert target.glibc == (2, 26)
    assert target.platforms[0] == "manylinux_2_26_x86_64"
    assert "manylinux_2_28_x86_64" not in target.platforms
    args = target.pip_args(target.runtimes[1])
    assert args[args.index("--python-version") + 1] == "3.11"
    assert args.count("--platform") == len(target.platforms)


def test_target_unknown_runtime_is_refused() -> None:
    with pytest.raises(PackageError, match="unknown Lambda runtime 'python3.9'"):
        Target(runtime="python3.9")


def test_load_target_reads_the_runtime_table(make_tree: MakeTree) -> None:
    root = make_tree({"deployables.toml": '[runtime]\ntarget = "python3.12"\nalso = ["python3.11"]\n'})
    assert load_target(root) == Target(runtime="python3.12", also=("python3.11",))
    assert load_target(make_tree({"deployables.toml": GOOD_ENTRY})) == Target()
    bad = make_tree({"deployables.toml": '[runtime]\ntarget = "python2.7"\n'})
    with pytest.raises(PackageError, match=r"\[runtime\].*python2\.7"):
        load_target(bad)


def test_real_manifest_targets_python313_and_keeps_311_and_312() -> None:
    target = load_target(ROOT)
    assert target.runtime == "python3.13"
    assert {r.name for r in target.runtimes} == {"python3.11", "python3.12", "python3.13"}


# --- installed trees ------------------------------------------------------------------------


def test_merge_site_adds_the_other_versions_native_modules_side_by_side(make_tree: MakeTree) -> None:
    # GIVEN the python3.13 and python3.11 installs of the same pinned cffi
    common = {"cffi/__init__.py": "x = 1\n", "cffi-2.1.1.dist-info/INSTALLER": "pip\n"}
    target = make_tree(
        {
            **common,
            "_cffi_backend.cpython-313-x86_64-linux-gnu.so": "313",
            "cffi-2.1.1.dist-info/WHEEL": "Tag: cp313-cp313-manylinux2014_x86_64\n",
            "cffi-2.1.1.dist-info/RECORD": (
                "cffi/__init__.py,,\n_cffi_backend.cpython-313-x86_64-linux-gnu.so,,\n"
            ),
        }
    )
    other = make_tree(
        {
            **common,
            "_cffi_backend.cpython-311-x86_64-linux-gnu.so": "311",
            "cffi-2.1.1.dist-info/WHEEL": "Tag: cp311-cp311-manylinux2014_x86_64\n",
            "cffi-2.1.1.dist-info/RECORD": (
                "cffi/__init__.py,,\n_cffi_backend.cpython-311-x86_64-linux-gnu.so,,\n"
            ),
            "typing_extensions.py": "# only needed on 3.11\n",
        }
    )
    # WHEN they are merged
    added = merge_site(target, other, "python3.11")
    # THEN both native modules sit side by side, with what only 3.11 needs, and the target's WHEEL
    assert added == ["_cffi_backend.cpython-311-x86_64-linux-gnu.so", "typing_extensions.py"]
    assert (target / "_cffi_backend.cpython-313-x86_64-linux-gnu.so").read_text() == "313"
    assert (target / "_cffi_backend.cpython-311-x86_64-linux-gnu.so").read_text() == "311"
    assert "cp313" in (target / "cffi-2.1.1.dist-info/WHEEL").read_text()
    # AND RECORD lists the added module
    assert (target / "cffi-2.1.1.dist-info/RECORD").read_text().splitlines() == [
        "cffi/__init__.py,,",
        "_cffi_backend.cpython-313-x86_64-linux-gnu.so,,",
        "_cffi_backend.cpython-311-x86_64-linux-gnu.so,,",
    ]


def test_merge_site_refuses_a_python_file_that_differs(make_tree: MakeTree) -> None:
    # GIVEN installs that resolved another version of a pure-Python package per runtime
    target = make_tree({"pkg/__init__.py": "VERSION = 2\n"})
    other = make_tree({"pkg/__init__.py": "VERSION = 1\n"})
    # THEN one zip cannot serve both, and the build says which file
    with pytest.raises(PackageError, match=r"pkg/__init__\.py differs between the python3\.11 install"):
        merge_site(target, other, "python3.11")


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
    # no requirement lines: pip must not run; bytecode has its own test below
    packager = Packager(root=root, pip=("false",), compile=False)
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
        Packager(root=root, pip=("false",), compile=False).build(load_manifest(root)[0])


FAKE_REPO = {
    "deployables.toml": GOOD_ENTRY,
    "shared/__init__.py": "def known(x):\n    return x in {'b', 'a', 'c', 'dd', 'ee', 'ff'}\n",
    "ns_create/__init__.py": "",
    "ns_create/function.py": "def lambda_handler(event, context):\n    return 1 / 0\n",
}


def _target_python() -> Path:
    python = find_python(Target().python_version)
    if python is None:
        pytest.skip(f"no Python {Target().python_version} on this machine to compile the bytecode")
    return python


def test_build_compiles_unchecked_hash_bytecode_naming_var_task(make_tree: MakeTree) -> None:
    # GIVEN a fake repository and the target runtime's interpreter
    python = _target_python()
    root = make_tree(FAKE_REPO)
    built = Packager(root=root, pip=("false",), python=python).build(load_manifest(root)[0])
    # WHEN the zip is unzipped and its handler fails
    task = root / "task"
    with zipfile.ZipFile(built.path) as archive:
        names = archive.namelist()
        archive.extractall(task)
    for source in task.rglob("*.py"):
        source.write_text("raise RuntimeError('the source was read')\n")  # only the bytecode can run
    pyc = f"ns_create/__pycache__/function.{_cache_tag()}.pyc"
    probe = (
        "import marshal, sys; sys.path.insert(0, sys.argv[1]); import function\n"
        "try:\n    function.lambda_handler({}, None)\n"
        "except ZeroDivisionError:\n    print('ran the bytecode')\n"
        "with open(sys.argv[1] + '/' + sys.argv[2], 'rb') as f:\n"
        "    print(marshal.loads(f.read()[16:]).co_filename)\n"
    )
    result = subprocess.run(
        [str(python), "-I", "-S", "-B", "-c", probe, str(task), pyc],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # THEN one .pyc per module ran, and its code records the file where Lambda unzips it
    assert sorted(n for n in names if n.endswith(".pyc")) == [
        f"__pycache__/function.{_cache_tag()}.pyc",
        f"ns_create/__pycache__/__init__.{_cache_tag()}.pyc",
        pyc,
        f"shared/__pycache__/__init__.{_cache_tag()}.pyc",
    ]
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["ran the bytecode", f"{TASK_ROOT}/ns_create/function.py"]


def _cache_tag() -> str:
    return "cpython-" + Target().python_version.replace(".", "")


def test_build_bytecode_is_the_same_whatever_the_hash_seed_and_folder(make_tree: MakeTree) -> None:
    # GIVEN two builds of the same sources, in other folders, with other hash seeds (a set constant
    # in shared/ would expose an order that follows the seed)
    python = _target_python()
    digests = []
    for seed in ("1", "4242"):
        root = make_tree(FAKE_REPO)
        packager = Packager(root=root, pip=("false",), python=python, hash_seed=seed)
        digests.append(packager.build(load_manifest(root)[0]).sha256)
    # THEN the zips are the same bytes
    assert digests[0] == digests[1]


def test_build_without_the_target_python_says_where_it_looked(
    make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(FAKE_REPO)
    monkeypatch.setattr("scripts.package.find_python", lambda version: None)
    with pytest.raises(PackageError, match=r"no Python 3\.13 to compile the bytecode for python3\.13.*PATH"):
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


# --- command line ---------------------------------------------------------------------------


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.package", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_package_cli_list_and_matrix_follow_the_manifest() -> None:
    names = [d.name for d in load_manifest(ROOT)]
    listed = _run("--list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == names
    matrix = _run("--matrix", "apilab-pre", "ns_create")
    assert json.loads(matrix.stdout) == {"include": [{"name": "ns_create"}, {"name": "apilab-pre"}]}


def test_package_cli_unknown_name_fails_and_lists_the_known_ones() -> None:
    result = _run("no_such_worker")
    assert result.returncode == 1
    assert "unknown deployable(s) no_such_worker" in result.stderr
    assert "ns_create" in result.stderr


def test_package_cli_without_names_or_all_is_a_usage_error() -> None:
    result = _run()
    assert result.returncode == 2
    assert "--all" in result.stderr


def test_package_cli_unknown_runtime_is_a_usage_error() -> None:
    result = _run("--runtime", "python3.9", "ns_create")
    assert result.returncode == 2
    assert "python3.13" in result.stderr
