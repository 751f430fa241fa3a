"""CODEOWNERS patterns read as GitHub reads them (R13B-14): `*` and `?` never cross `/`, `**` does,
a folder's name owns what is in it, a last segment of only `*` its direct children only; and lines
with what GitHub does not support (`!`, `[ ]`, `\\` escapes) are refused. `fnmatch`'s `*` crosses
`/`, so `/src/textclf/*` passed as owning src/textclf/release/promote.py, which GitHub leaves unowned."""

from __future__ import annotations

import pytest

from textclf.release import github_settings
from textclf.release.github_settings import SettingsError, _matches

# The examples of GitHub Docs, "About code owners" (example CODEOWNERS file), and gitignore's rules.
CASES = [
    ("*", "a/b/c.txt", True),
    ("*.js", "app.js", True),
    ("*.js", "src/deep/app.js", True),
    ("*.js", "app.jsx", False),
    ("/build/logs/", "build/logs/a.log", True),
    ("/build/logs/", "build/logs/old/a.log", True),
    ("/build/logs/", "x/build/logs/a.log", False),
    ("docs/*", "docs/getting-started.md", True),
    ("docs/*", "docs/build-app/troubleshooting.md", False),
    ("apps/", "apps/a.py", True),
    ("apps/", "deep/apps/a.py", True),
    ("apps/", "apps", False),
    ("/docs/", "docs/x/y.md", True),
    ("**/logs", "build/logs/a", True),
    ("**/logs", "deeply/nested/logs/a", True),
    ("**/logs", "logs/a", True),
    ("/apps/github", "apps/github/x.py", True),
    ("/apps/github", "apps/githubx/x.py", False),
    ("/.github/*", ".github/CODEOWNERS", True),
    ("/.github/*", ".github/workflows/release.yml", False),
    ("/src/textclf/*", "src/textclf/release/promote.py", False),
    ("/src/*", "src/textclf/release/promote.py", False),
    ("/src/**", "src/textclf/release/promote.py", True),
    ("src/**/promote.py", "src/textclf/release/promote.py", True),
    ("/src/*/release/", "src/textclf/release/promote.py", True),
    ("/src/textclf/*.py", "src/textclf/cli.py", True),
    ("/src/textclf/*.py", "src/textclf/release/promote.py", False),
    ("Makefile", "Makefile", True),
    ("Makefile", "mk/Makefile", True),
    ("/Makefile", "mk/Makefile", False),
    ("Make?ile", "Makefile", True),
    ("Make?ile", "Make/ile", False),
    ("/", "Makefile", False),
]


@pytest.mark.parametrize(("pattern", "path", "owned"), CASES)
def test_a_pattern_owns_what_github_says_it_owns(pattern, path, owned):
    assert _matches(pattern, path) is owned


@pytest.mark.parametrize(
    ("rules", "unowned"),
    [
        (
            "/.github/* @o\n/Makefile @o\n/mk/* @o\n/terraform/* @o\n/deploy/* @o\n/src/textclf/* @o\n",
            ".github/workflows/release.yml, src/textclf/release/promote.py, "
            "src/textclf/training/sagemaker.py",
        ),
        (
            "/.github/ @o\n/Makefile @o\n/mk/ @o\n/terraform/ @o\n/deploy/ @o\n/src/* @o\n",
            "src/textclf/release/promote.py, src/textclf/training/sagemaker.py",
        ),
    ],
)
def test_single_star_rules_do_not_own_nested_release_files(tmp_path, rules, unowned):
    """R13B-14: these passed, while on GitHub the nested release files need no owner's approval."""
    path = tmp_path / "CODEOWNERS"
    path.write_text(rules)
    with pytest.raises(SettingsError, match=f"no owner for {unowned}:"):
        github_settings.check_codeowners(path)


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ("/[.]github/ @o", "character range"),
        ("!/docs/ @o", "negation"),
        ("\\#notes @o", "escape"),
        ("/src/***/x @o", "three asterisks"),
    ],
)
def test_a_pattern_github_does_not_support_is_refused_by_line(tmp_path, line, what):
    """R13B-14: GitHub does not read `[ ]`, `!` or `\\` escapes in CODEOWNERS; such a line matched
    something here and nothing there."""
    path = tmp_path / "CODEOWNERS"
    path.write_text("* @o\n" + line + "\n")
    with pytest.raises(SettingsError, match=f"line 2: the pattern .* uses .*{what}"):
        github_settings.check_codeowners(path)
