"""What custom CSS an admin may add to the mail: no imports, no remote urls, no scripts, a size cap."""

from __future__ import annotations

import re

MAX_CSS_BYTES = 20_000
URL = re.compile(r"url\s*\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)
FORBIDDEN = [
    (re.compile(r"@import", re.IGNORECASE), "@import is not allowed"),
    (re.compile(r"expression\s*\(", re.IGNORECASE), "expression() is not allowed"),
    (re.compile(r"javascript\s*:", re.IGNORECASE), "javascript: is not allowed"),
    (re.compile(r"-moz-binding|behavior\s*:", re.IGNORECASE), "bindings and behaviors are not allowed"),
    (re.compile(r"</?\s*style|<\s*/?\s*script|<!--|-->", re.IGNORECASE), "HTML markup is not allowed in CSS"),
    (re.compile(r"\\[0-9a-f]{1,6}", re.IGNORECASE), "CSS escapes are not allowed"),
]


def css_problems(css: str, allowed_host: str | None = None) -> list[str]:
    """Every reason the CSS is refused (empty when it is fine)."""
    problems: list[str] = []
    if len(css.encode("utf-8")) > MAX_CSS_BYTES:
        problems.append(f"Custom CSS may be at most {MAX_CSS_BYTES // 1000} KB")
    for pattern, message in FORBIDDEN:
        if pattern.search(css):
            problems.append(message)
    for match in URL.finditer(css):
        target = match.group(2).strip()
        host = re.match(r"https://([^/:?#]+)", target)
        if not (host and allowed_host and host.group(1).lower() == allowed_host.lower()):
            problems.append("url() may only point to images on your Confluence site over https")
            break
    if css.count("{") != css.count("}"):
        problems.append("Custom CSS has unbalanced braces")
    return problems
