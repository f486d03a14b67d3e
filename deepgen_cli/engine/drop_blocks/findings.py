"""drop-blocks' verdicts: how many blocks cost little when deleted, in the residual network (the claim) and in the
plain one (which collapses)."""

from __future__ import annotations

from deepgen_cli.engine import stats
from deepgen_cli.engine.outcome import Finding

CLAIM = ("Most residual blocks can be deleted at test time at little cost in accuracy "
         "(Veit et al. 2016, cited by Huang et al. 2017)")
PLAIN = "Deleting a layer from a plain network without skip connections collapses its accuracy (Veit et al. 2016)"
# "Little" is at most a tenth of a collapse: deleting a layer of a plain network sends it to chance (Veit et al.'s
# VGG), so a block costs little when its loss is an order of magnitude below (whole accuracy - chance); on digits at
# 97% that is 8.7 points. Judged per block by non-inferiority over paired seeds (one-sided 95%).
SHARE = 0.1


def trained_floor(classes: int) -> float:
    """Halfway from chance to 100% (55% on 10 classes): an untrained network has nothing to lose by a deletion."""
    return (1 + 1 / classes) / 2


def judge(rows, network: str, blocks: int, classes: int):
    """(measured text, per-block verdicts little/costly/None, gate reason or '')."""
    whole = {r.seed: r.test_accuracy for r in rows if r.network == network and r.deleted == 0}
    chance = 1 / classes
    margin = SHARE * (stats.mean(whole.values()) - chance)
    verdicts, texts = [], []
    for b in range(1, blocks + 1):
        drop = {r.seed: r.drop for r in rows if r.network == network and r.deleted == b}
        p = stats.paired_values([drop[s] for s in sorted(drop)])
        verdicts.append(stats.noninferior(p, margin) if p.n >= 2 else None)
        texts.append(f"{100 * p.mean:+.1f}")
    little, costly = verdicts.count(True), verdicts.count(False)
    measured = (f"{network}: whole network {', '.join(f'{a:.1%}' for a in whole.values())}; mean loss per deleted "
                f"block {', '.join(texts)} points; {little} of {blocks} blocks shown to cost under "
                f"{100 * margin:.1f} points (a tenth of the way to chance {chance:.0%}), {costly} shown to cost more")
    floor = trained_floor(classes)
    low = [a for a in whole.values() if a < floor]
    gate = ""
    if low:
        gate = (f"{len(low)} {network} networks under the test-accuracy floor {floor:.0%} (halfway from chance to "
                "100%): a network that learned nothing has nothing a deletion could cost")
    elif len(whole) < 2:
        gate = stats.NEEDS_SEEDS
    return measured, little, costly, gate


def findings(rows, networks: tuple[str, ...], blocks: int, classes: int) -> list[Finding]:
    out = []
    if not networks or not rows:
        return out
    first = networks[0]
    measured, little, costly, gate = judge(rows, first, blocks, classes)
    if first != "residual":
        measured += " (judged on the plain network: the claim's control)"
    if gate:
        out.append(Finding(CLAIM, measured, None, "measured", gate))
    elif little > blocks / 2:
        out.append(Finding(CLAIM, measured, True, "measured", fragile=little == blocks // 2 + 1))
    elif costly >= blocks / 2:
        out.append(Finding(CLAIM, measured, False, "measured", fragile=costly == (blocks + 1) // 2))
    else:
        out.append(Finding(CLAIM, measured, None, "measured",
                           f"{blocks - little - costly} blocks' intervals straddle the margin: neither most blocks "
                           "shown to cost little nor half shown to cost more"))
    if "plain" in networks:
        measured, little, costly, gate = judge(rows, "plain", blocks, classes)
        if gate:
            out.append(Finding(PLAIN, measured, None, "measured", gate))
        elif costly > blocks / 2:
            out.append(Finding(PLAIN, measured, True, "measured"))
        elif little >= blocks / 2:
            out.append(Finding(PLAIN, measured, False, "measured"))
        else:
            out.append(Finding(PLAIN, measured, None, "measured", "too many blocks' intervals straddle the margin"))
    return out
