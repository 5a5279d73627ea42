"""docs/claims.md and CONTRIBUTING.md describe the repository as it is (issue 12, item 6).

docs/claims.md has one ``### Cxx`` section per claim C01-C36 with the lines ``**Lectures:**``,
``**Code:**``, ``**Tests:**`` and ``**Output:**``.  Backquoted repository paths are checked:

* (a) the sections are exactly C01, ..., C36, once each, in order;
* (b) every path exists, and every ``path.py::name`` (``name`` may be ``Class.method``) is
  defined in that file -- resolved from the file's syntax tree, so nothing is imported and the
  check stays fast;
* (c) every claim ID in a test file's name or docstrings has a section; every section names at
  least one existing test file that mentions its ID (in the file name or text, ranges such as
  ``C18-C20`` included); a test file named after claims (``test_c06_...``) is listed under each
  of them;
* (d) every ``results/`` path is an output of a rule in ``experiments/rules/*.smk``, and every
  figure with a caption in ``experiments/report/`` is named.

The checkers return lists of problems; the last tests feed them broken documents to show that
each one can fail.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "claims.md"
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
CLAIM_IDS = [f"C{i:02d}" for i in range(1, 37)]

HEADING = re.compile(r"^### (C\d\d)\b", re.M)
SECTION_END = re.compile(r"^#{1,3} ", re.M)
TOKEN = re.compile(r"`([^`\n]+)`")
# a repository path: segments of [A-Za-z0-9_.-] joined by "/", ending in "/" or a known
# extension, optionally followed by "::name" (templates such as <profile> never match)
PATH = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*"
                  r"(?:/|\.(?:py|smk|yaml|yml|png|csv|md|rst|toml|json|txt|pt|sha256))")
REF = re.compile(rf"({PATH.pattern})(?:::([A-Za-z_][A-Za-z0-9_.]*))?")
ID_UPPER = re.compile(r"(?<![A-Za-z0-9])C(\d\d)(?!\d)")
ID_ANY = re.compile(r"(?<![A-Za-z0-9])[Cc](\d\d)(?!\d)")
ID_RANGE = re.compile(r"(?<![A-Za-z0-9])C(\d\d)\s*(?:-|–|\.\.)\s*C(\d\d)(?!\d)")
FIELDS = ("**Lectures:**", "**Code:**", "**Tests:**", "**Output:**")


# ------------------------------------------------------------------------------------ parsing
def heading_ids(text: str) -> list[str]:
    """Claim IDs of the ``### Cxx`` headings, in document order (duplicates kept)."""
    return HEADING.findall(text)


def sections(text: str) -> dict[str, str]:
    """``{claim ID: section text}``; a section runs to the next heading of level 1-3."""
    out = {}
    for m in HEADING.finditer(text):
        end = SECTION_END.search(text, m.end())
        out[m.group(1)] = text[m.start():end.start() if end else len(text)]
    return out


def refs(text: str) -> list[tuple[str, str | None]]:
    """``(path, name or None)`` for every backquoted token that is a repository path."""
    out = []
    for tok in TOKEN.findall(text):
        m = REF.fullmatch(tok.strip())
        if m and "/" in m.group(1):
            out.append((m.group(1), m.group(2)))
    return out


@functools.lru_cache(maxsize=None)
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _defines(body: list[ast.stmt], parts: list[str]) -> bool:
    name, rest = parts[0], parts[1:]
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            if not rest:
                return True
            return isinstance(node, ast.ClassDef) and _defines(node.body, rest)
        if rest:
            continue
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        for t in targets:
            elts = t.elts if isinstance(t, ast.Tuple) else [t]
            if any(isinstance(e, ast.Name) and e.id == name for e in elts):
                return True
    return False


def defines(path: Path, name: str) -> bool:
    """Whether the Python file ``path`` defines ``name`` (``Class.attr`` for members)."""
    return _defines(_tree(path).body, name.split("."))


def path_problems(text: str, root: Path = ROOT) -> list[str]:
    """(b): every named path exists and every ``file.py::name`` is defined there."""
    problems = []
    for path, name in refs(text):
        p = root / path
        if path.endswith("/"):
            if not p.is_dir():
                problems.append(f"{path}: no such folder")
        elif not p.is_file():
            problems.append(f"{path}: no such file")
        elif name is not None:
            if p.suffix != ".py":
                problems.append(f"{path}::{name}: names can only be resolved in .py files")
            elif not defines(p, name):
                problems.append(f"{path}::{name}: {name} is not defined in {path}")
    return problems


def ids_in(text: str, pattern: re.Pattern[str] = ID_UPPER) -> set[str]:
    """Claim IDs in ``text``, ranges ``Cxx-Cyy`` expanded."""
    found = {f"C{int(n):02d}" for n in pattern.findall(text)}
    for a, b in ID_RANGE.findall(text):
        found |= {f"C{i:02d}" for i in range(int(a), int(b) + 1)}
    return found


def name_ids(path: Path) -> set[str]:
    """Claim IDs in a test file's name: ``test_c04_c05_c08_discrete.py`` -> C04, C05, C08."""
    return {f"C{n}" for n in re.findall(r"(?<=_)c(\d\d)(?=_|$)", path.stem)}


def docstring_ids(path: Path) -> set[str]:
    """Claim IDs in the module, class and function docstrings of ``path``."""
    tree = _tree(path)
    nodes: list[ast.AST] = [tree]
    for node in tree.body:  # top-level definitions and the methods of top-level classes
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            nodes.append(node)
            if isinstance(node, ast.ClassDef):
                nodes += [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    found: set[str] = set()
    for node in nodes:
        found |= ids_in(ast.get_docstring(node) or "")
    return found


def mentions(path: Path, claim: str) -> bool:
    """Whether a test file names ``claim`` in its file name or anywhere in its text."""
    return claim in name_ids(path) or claim in ids_in(path.read_text(encoding="utf-8"), ID_ANY)


def unlisted(found: dict[str, set[str]], listed: set[str]) -> list[str]:
    """(c): claim IDs found in test files that have no section."""
    return [f"{where}: {c} has no section" for where, ids in sorted(found.items()) for c in sorted(ids - listed)]


def section_problems(secs: dict[str, str], root: Path = ROOT) -> list[str]:
    """Every section has the four fields, a seed, code, and a test file that mentions it."""
    problems = []
    for cid, body in secs.items():
        problems += [f"{cid}: missing {f}" for f in FIELDS if f not in body]
        lectures = next((ln for ln in body.splitlines() if ln.strip().startswith("- **Lectures:**")), "")
        if not re.search(r"\bseed 00[0-4]\b", lectures):
            problems.append(f"{cid}: the Lectures line names no seed 000-004")
        paths = [p for p, _ in refs(body)]
        if not any(p.split("/")[0] in ("divergences", "gans", "experiments") for p in paths):
            problems.append(f"{cid}: names no code under divergences/, gans/ or experiments/")
        tests = sorted({p for p in paths if p.startswith("tests/")})
        existing = [root / t for t in tests if (root / t).is_file()]
        if not tests:
            problems.append(f"{cid}: names no test file")
        elif not any(mentions(p, cid) for p in existing):
            problems.append(f"{cid}: none of {tests} mentions {cid}")
    return problems


def _literal_to_regex(lit: str) -> re.Pattern[str]:
    """A Snakemake output string as a regex: ``{wildcard}`` / f-string fields match anything."""
    return re.compile(".*".join(re.escape(part) for part in re.split(r"\{[^{}]*\}", lit)))


@functools.lru_cache(maxsize=None)
def rule_outputs(rules_dir: Path = ROOT / "experiments" / "rules") -> tuple[re.Pattern[str], ...]:
    """Every string literal inside the ``output:`` block of a rule in ``rules_dir/*.smk``."""
    pats = []
    for smk in sorted(rules_dir.glob("*.smk")):
        lines = smk.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            m = re.match(r"^(\s*)output:(.*)$", lines[i])
            i += 1
            if not m:
                continue
            block = [m.group(2)]
            while i < len(lines) and (not lines[i].strip() or
                                      len(lines[i]) - len(lines[i].lstrip()) > len(m.group(1))):
                block.append(lines[i])
                i += 1
            pats += [_literal_to_regex(lit) for ln in block for lit in re.findall(r'"([^"]*)"', ln)]
    return tuple(pats)


def output_problems(text: str, patterns: tuple[re.Pattern[str], ...]) -> list[str]:
    """(d): every ``results/`` path named is written by some rule."""
    return [f"{p}: no rule in experiments/rules/*.smk writes it" for p, _ in refs(text)
            if p.startswith("results/") and not p.endswith("/") and not any(pat.fullmatch(p) for pat in patterns)]


# ---------------------------------------------------------------------------------- the tests
@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_claim_has_exactly_one_section_in_order(doc: str) -> None:
    assert heading_ids(doc) == CLAIM_IDS


def test_every_section_states_lectures_code_tests_and_output(doc: str) -> None:
    assert section_problems(sections(doc)) == []


def test_seed_table_defines_seed_000_to_004(doc: str) -> None:
    rows = re.findall(r"^\| seed (00\d) \| ([^|]+)\|", doc, re.M)
    assert [r[0] for r in rows] == ["000", "001", "002", "003", "004"]
    for name, (_, lecturer) in zip(["Sutherland", "Lathuilière", "Arbel", "Yu", "Johnson"], rows):
        assert name in lecturer


def test_every_named_path_and_function_exists(doc: str) -> None:
    assert refs(doc), "no repository path found: the parser or the document is broken"
    assert path_problems(doc) == []


def test_claim_ids_in_test_names_and_docstrings_have_a_section(doc: str) -> None:
    found = {p.name: name_ids(p) | docstring_ids(p) for p in sorted((ROOT / "tests").glob("test_*.py"))}
    assert any(found.values())
    assert unlisted(found, set(heading_ids(doc))) == []


def test_test_files_named_after_claims_are_listed_under_them(doc: str) -> None:
    secs = sections(doc)
    missing = [f"{p.name} is not listed under {c}"
               for p in sorted((ROOT / "tests").glob("test_c*.py")) for c in sorted(name_ids(p))
               if f"tests/{p.name}" not in {r for r, _ in refs(secs.get(c, ""))}]
    assert missing == []


def test_results_named_are_written_by_a_rule(doc: str) -> None:
    assert any(p.startswith("results/figures/") for p, _ in refs(doc))
    assert output_problems(doc, rule_outputs()) == []


def test_every_captioned_figure_is_named(doc: str) -> None:
    named = {p for p, _ in refs(doc)}
    captions = sorted((ROOT / "experiments" / "report").glob("*.rst"))
    assert captions
    assert [c.stem for c in captions if f"results/figures/{c.stem}.png" not in named] == []


def test_contributing_paths_exist() -> None:
    text = CONTRIBUTING.read_text(encoding="utf-8")
    assert refs(text)
    assert path_problems(text) == []


# ------------------------------------------------------------- the checkers can fail
GOOD = """\
### C01 · one

- **Lectures:** seed 000 (Sutherland)
- **Code:** `divergences/gan_objective.py::optimal_discriminator`
- **Tests:** `tests/test_c01_c03_gan_objective.py::test_c02_optimal_discriminator_conventions`
- **Output:** `results/figures/optimal_discriminator.png`
"""


def test_the_checkers_accept_a_good_section() -> None:
    assert heading_ids(GOOD) == ["C01"]
    assert path_problems(GOOD) == []
    assert section_problems(sections(GOOD)) == []
    assert output_problems(GOOD, rule_outputs()) == []


@pytest.mark.parametrize("old, new, checker", [
    ("divergences/gan_objective.py::", "divergence/gan_objective.py::", "paths"),
    ("::optimal_discriminator", "::optimal_discriminatr", "paths"),
    ("test_c02_optimal_discriminator_conventions", "test_c02_no_such_test", "paths"),
    ("seed 000 (Sutherland)", "Sutherland", "sections"),
    ("tests/test_c01_c03_gan_objective.py::test_c02_optimal_discriminator_conventions",
     "tests/test_nets.py", "sections"),
    ("- **Output:**", "- Output:", "sections"),
    ("results/figures/optimal_discriminator.png", "results/figures/optimal_discriminator_v2.png", "outputs"),
])
def test_each_checker_catches_a_broken_section(old: str, new: str, checker: str) -> None:
    bad = GOOD.replace(old, new)
    assert bad != GOOD
    problems = {"paths": lambda: path_problems(bad), "sections": lambda: section_problems(sections(bad)),
                "outputs": lambda: output_problems(bad, rule_outputs())}[checker]()
    assert problems


def test_duplicate_or_missing_sections_are_caught() -> None:
    assert heading_ids(GOOD + GOOD.replace("C01", "C03")) != ["C01", "C02"]
    assert heading_ids(GOOD + GOOD) == ["C01", "C01"] != CLAIM_IDS[:2]


def test_an_unknown_claim_in_a_test_docstring_is_caught() -> None:
    assert ids_in("checks C18-C20 and C37") == {"C18", "C19", "C20", "C37"}
    assert unlisted({"test_x.py": {"C37"}}, set(CLAIM_IDS)) == ["test_x.py: C37 has no section"]


def test_mentions_reads_names_text_and_ranges(tmp_path: Path) -> None:
    f = tmp_path / "test_c28_c31_x.py"
    f.write_text('"""C18-C20 estimators."""\ndef test_c05_y():\n    pass\n', encoding="utf-8")
    assert all(mentions(f, c) for c in ("C28", "C31", "C19", "C05"))
    assert not mentions(f, "C17")
