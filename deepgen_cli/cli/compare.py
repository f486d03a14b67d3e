"""`deepgen compare A.json B.json`: two records of one command side by side (CPU vs GPU, two versions, two seeds)."""

from __future__ import annotations

from typing import Optional

import typer

from deepgen_cli.cli.options import PAGE_FORMAT, PageFormat, typer_option
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.cli.records import check_cells, checked, config_notes, emit_whole


def register(app: typer.Typer) -> None:
    @app.command("compare")
    def compare_command(
        a: str = typer.Argument(..., metavar="A.json", help="The record to compare against (the baseline)."),
        b: str = typer.Argument(..., metavar="B.json", help="The record compared with it."),
        format: PageFormat = typer_option(PAGE_FORMAT, PageFormat.table)[1],
        fail_if_slower: Optional[float] = typer.Option(
            None, "--fail-if-slower", metavar="PCT", min=0,
            help="Exit 1 when any latency in B is more than PCT percent above A's (B/A > 1 + PCT/100)."),
    ) -> None:
        """Two records of one command side by side: ratios, differences, changed verdicts; exit 0 unless --fail-if-slower."""
        # imported here: the app's --help builds this command too, and the comparison's code is not needed for it
        from deepgen_cli.report.compare import compare
        from deepgen_cli.report.compare_view import compare_page, describe
        from deepgen_cli.report.saved import to_report

        (kind, ra, config), (_, rb, _) = checked(a, "A.json"), checked(b, "B.json")
        if ra["command"] != rb["command"]:
            raise UsageError(f"B.json: '{b}' is a record of `deepgen {rb['command']}`, '{a}' of "
                             f"`deepgen {ra['command']}`; compare records of one command")
        columns, _ = kind.table(config)
        for path, rec, flag in ((a, ra, "A.json"), (b, rb, "B.json")):  # what `report` refuses, refused here
            check_cells(to_report(rec), columns, [path], flag)
        cmp = compare(ra, rb, columns, kind.key(config))
        cmp.notes += config_notes(ra, rb, kind.sweep)
        if fail_if_slower is not None and cmp.slowest() is None:
            # a gate that cannot fail would pass a pipeline silently: say it has nothing to gate on
            raise UsageError(f"--fail-if-slower: no latency of A and B to compare (deepgen {kind.name} records "
                             f"{'hold no latency' if not any('latency' in c.key for c in columns) else 'have no matching rows with one'})"
                             f"; drop it or compare efficiency records")
        a_text, b_text = describe(a, ra), describe(b, rb)
        emit_whole(compare_page(cmp, columns, a_text, b_text, kind.name), format.value, "A.json", a)
        worst = cmp.slowest()
        if fail_if_slower is not None and worst is not None and worst.ratio > 1 + fail_if_slower / 100:
            raise RunError(f"--fail-if-slower {fail_if_slower:g}: {worst.quantity} of {worst.row} is {worst.ratio:.2f}x "
                           f"A's ({worst.a:.4g} -> {worst.b:.4g}), more than {fail_if_slower:g}% slower")
