"""A finding as every format shows it, read from the record's own dict (claim, measured, reproduced, basis, reason,
fragile): its mark, its verdict words, the legend lines for the marks shown and the count of a set of verdicts."""

from __future__ import annotations

# Only a measured finding can reproduce a claim; the others check it on paper and say so.
VERDICTS = {"measured": "claim reproduced", "architecture": "holds by the architecture",
            "published": "holds in the published numbers"}
MARKS = {"architecture": "=", "published": "§"}  # measured: ✓ or ✗
LEGEND = ("✓/✗ measured in this run; = exact arithmetic on the architecture; § published numbers "
          "(papers, torchvision's metadata): these two check a claim but do not reproduce it")
UNSURE = "?"
UNSURE_LEGEND = ("? cannot tell: this run's numbers decide the claim neither way (an interval wider than the claim's "
                 "margin, a premise that failed, timing too noisy, a network that did not train); the reason follows")
FRAGILE = "(fragile)"
FRAGILE_LEGEND = ("(fragile): the verdict's statistic lies near its threshold by the claim's stated rule; another "
                  "seed or machine may flip it")


def verdict_word(reproduced) -> str:
    """A finding's three outcomes: yes, no, and cannot tell (reproduced is None)."""
    return "cannot tell" if reproduced is None else ("yes" if reproduced else "no")


def basis(f: dict) -> str:
    # records from before findings had a basis rendered every verdict as "claim reproduced", as a measured finding
    # renders now: re-rendered, they read as they did
    return f.get("basis") or "measured"


def unsure(f: dict) -> bool:
    return f.get("reproduced") is None


def outcome(f: dict) -> str:
    """yes, no or unsure: the colour (table) and class (html) of a verdict."""
    return "unsure" if unsure(f) else ("yes" if f.get("reproduced") else "no")


def mark(f: dict) -> str:
    if unsure(f):
        return UNSURE
    return MARKS.get(basis(f)) or ("✓" if f.get("reproduced") else "✗")


def _qualified(word: str, f: dict) -> str:
    """`word` with the finding's reason (cannot tell) and fragility after it."""
    if unsure(f) and f.get("reason"):
        word += f" ({f['reason']})"
    return f"{word} {FRAGILE}" if f.get("fragile") else word


def verdict(f: dict) -> str:
    """'claim reproduced: yes', 'holds by the architecture: no', 'claim reproduced: cannot tell (why)'."""
    return _qualified(f"{VERDICTS.get(basis(f), VERDICTS['measured'])}: {verdict_word(f.get('reproduced'))}", f)


def word(f: dict | None) -> str:
    """yes, no or ? ('-' for no finding: a claim one of two compared records lacks)."""
    if f is None:
        return "-"
    return UNSURE if unsure(f) else verdict_word(f.get("reproduced"))


def short(f: dict) -> str:
    """The verdict in a table cell: yes, no, '? (why)', each '(fragile)' where it is."""
    return _qualified(word(f), f)


def legends(findings: list[dict], bases: bool = True) -> list[str]:
    """The legend lines for the marks these findings show: the bases' (when `bases` and one is not measured),
    '?' (when one cannot tell) and '(fragile)'."""
    out = [LEGEND] if bases and any(basis(f) != "measured" for f in findings) else []
    out += [UNSURE_LEGEND] if any(unsure(f) for f in findings) else []
    return out + ([FRAGILE_LEGEND] if any(f.get("fragile") for f in findings) else [])


def count_line(findings: list[dict]) -> str:
    """'14 claims: 10 yes, 2 no, 2 cannot tell'."""
    words = [verdict_word(f.get("reproduced")) for f in findings]
    return (f"{len(words)} claims: {words.count('yes')} yes, {words.count('no')} no, "
            f"{words.count('cannot tell')} cannot tell")
