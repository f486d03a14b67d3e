"""Huang et al.'s four Figure 5 observations as verdicts on a network's normalized per-source weights.

Input per block: columns[t][s], target t's mean |w| on source s divided by the column's largest value (1 marks
the source the target weighs most); columns 0..L-1 are the conv layers, the last the transition or classifier.
"""

from __future__ import annotations

from deepgen_cli.engine.outcome import Finding

# A source counts as used by a target when its per-map weight is at least a quarter of the target's most
# weighted source: the paper's "non-negligible" is any colour above the dark end of its scale.
USED = 0.25
# "Very early" layers are the first quarter of a block's conv layers, "deep" layers the last quarter (at
# least one each): the paper's 12-layer blocks then give 3 and 3.
QUARTER = 0.25
# "Consistently" (observation 3): in at least three of every four layers that have a choice.
CONSISTENT = 0.75
PAPER = "Huang et al. 2017, Fig. 5"

Blocks = list[list[list[float]]]  # block -> column (target) -> source


def quarter(n: int) -> int:
    return max(1, int(n * QUARTER))


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def early_use(blocks: Blocks, label: str) -> Finding | None:
    """1. Deep layers put non-negligible weight on very early layers' features (within every block)."""
    per_block = []
    for cols in blocks:
        n = len(cols) - 1  # conv layers
        if n < 2:
            continue
        q = quarter(n)
        deep = range(n - q, n)  # column t is conv layer t + 1, reading sources 0..t
        per_block.append(min(max(cols[t][1:q + 1]) for t in deep))
    if not per_block:
        return None
    used = [v >= USED for cols in blocks for t in range(len(cols) - 1) for v in cols[t]]
    return Finding(f"{label}Deep layers put non-negligible weight on very early layers' features ({PAPER}, obs. 1)",
                   f"per block, the least over its last quarter of layers of the largest weight on its first quarter "
                   f"of layers: {_fmt(per_block)} (needs >= {USED} of the target's strongest source in every block); "
                   f"{sum(used)}/{len(used)} layer-source pairs in the blocks are used (>= {USED})",
                   min(per_block) >= USED, "measured")


def transition_spread(blocks: Blocks, label: str) -> Finding | None:
    """2. Transition layers spread their weight over all layers of the preceding block."""
    lows = [min(cols[-1]) for cols in blocks[:-1]]
    if not lows:
        return None
    return Finding(f"{label}Transition layers spread their weights over all layers of the preceding block "
                   f"({PAPER}, obs. 2)",
                   f"least weight on any source, per transition: {_fmt(lows)} (needs >= {USED} of the strongest "
                   f"source at every transition)", min(lows) >= USED, "measured")


def block_input_least(blocks: Blocks, label: str) -> Finding | None:
    """3. In the second and later blocks, layers weigh the block input (the transition's output) least."""
    least, chance = [], []
    for cols in blocks[1:]:
        for col in cols[1:-1]:  # conv layers 2..L: the first reads the block input only
            least.append(col[0] < min(col[1:]))  # strictly: a tie is no preference
            chance.append(1 / len(col))
    if not least:
        return None
    share = sum(least) / len(least)
    return Finding(f"{label}In the second and later blocks, layers give the least weight to the transition layer's "
                   f"outputs ({PAPER}, obs. 3)",
                   f"the block input is the least weighted source of {sum(least)}/{len(least)} layers ({share:.0%}; "
                   f"needs >= {CONSISTENT:.0%}, 'consistently'; {sum(chance) / len(chance):.0%} if weights were random)",
                   share >= CONSISTENT, "measured")


def classifier_focus(blocks: Blocks, label: str) -> Finding | None:
    """4. The classifier uses the whole last block but concentrates on its last feature maps."""
    if not blocks or len(blocks[-1]) < 2:
        return None
    col = blocks[-1][-1]  # sources 0..L of the last block
    n = len(col) - 1
    q = quarter(n)
    top = max(range(len(col)), key=col.__getitem__)
    late, rest = col[n - q + 1:], col[:n - q + 1]
    ok = min(col) >= USED and max(late) > max(rest)  # strictly: a tie is no concentration
    return Finding(f"{label}The classifier uses the whole last block but concentrates on its last feature maps "
                   f"({PAPER}, obs. 4)",
                   f"least weight on a source {min(col):.2f} (needs >= {USED}); strongest source: "
                   f"{'block input' if top == 0 else f'layer {top}'} (needs one of the last {q} of {n} layers); "
                   f"mean weight on the last {q}: {sum(late) / len(late):.2f} vs the rest {sum(rest) / len(rest):.2f}",
                   ok, "measured")


def observations(blocks: Blocks, label: str = "") -> list[Finding]:
    """The four verdicts on one network's normalized columns; `label` prefixes every claim."""
    found = [early_use(blocks, label), transition_spread(blocks, label), block_input_least(blocks, label),
             classifier_focus(blocks, label)]
    return [f for f in found if f is not None]


BASELINE = "Untrained baseline: "  # claim prefix for the network at its initial weights


def findings(trained: Blocks | None, untrained: Blocks | None, notes: list[str]) -> list[Finding]:
    """The trained network's verdicts, then the same on its initial weights, where the patterns the paper
    attributes to training should be absent."""
    out = observations(trained) if trained is not None else []
    base = observations(untrained, BASELINE) if untrained is not None else []
    if out and base:
        held = {f.claim.removeprefix(BASELINE) for f in base if f.reproduced}
        both = [int(f.claim.rsplit("obs. ", 1)[1].rstrip(")")) for f in out if f.reproduced and f.claim in held]
        if both:
            notes.append(f"observation{'s' if len(both) > 1 else ''} {', '.join(map(str, both))} also hold"
                         f"{'s' if len(both) == 1 else ''} at the initial weights, where every input map of a layer "
                         "has the same expected |w|: here they do not show learned reuse")
    return out + base
