"""The README stays true: its page table lists exactly the app's pages, in the order of the one page list."""

import re
import tomllib
from pathlib import Path

from ui.catalog import PAGES

ROOT = Path(__file__).resolve().parents[2]


def test_the_page_table_lists_every_page_in_course_order():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Pages"):readme.index("## How the code is organised")]
    rows = re.findall(r"^\| ([^|]+?) \|", table, flags=re.M)[2:]  # skip the header and its rule
    with (ROOT / "lessons" / "en" / "ui" / "nav.toml").open("rb") as file:
        titles = tomllib.load(file)
    assert rows == [titles[page.name] for page in PAGES]


def test_every_page_file_is_in_the_page_list():
    listed = {page.path for page in PAGES}
    assert {f"pages/{path.name}" for path in (ROOT / "pages").glob("*.py")} == listed
