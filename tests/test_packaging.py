"""pyproject.toml installs every package folder: a non-editable install (`pip install .`, as CI and users do)
ships only the packages listed, so a new sub-package missing there breaks every import of it."""

import os
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_package_folder_is_installed():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        tool = tomllib.load(f)["tool"]["setuptools"]
    dirs = {v: k for k, v in tool["package-dir"].items()}  # folder -> import name
    found = set()
    for top, name in dirs.items():
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            if "__init__.py" in files:
                rel = os.path.relpath(d, os.path.join(ROOT, top))
                found.add(name if rel == "." else name + "." + rel.replace(os.sep, "."))
    assert found == set(tool["packages"]), (sorted(found - set(tool["packages"])),
                                            sorted(set(tool["packages"]) - found))
