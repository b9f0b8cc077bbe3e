"""Abstention refitted with the project's own dev set over four more documents (``devdocs``):
the pooled fit and leave-one-set-out, with and without its rows, and a few sturdier fits.

    python benchmarks/abstain_devdocs.py [--cache DIR]

Reads the signals ``calibrate.py`` saved (``DIR/calibrate-signals.json``: run ``calibrate.py
--cache DIR`` first). Each row of the table is one way of fitting the seven signals: its pooled
fit at the threshold chosen on every set it was fitted on (``calibrate.choose``: the lowest
chance at which no such set abstains on more than 5 % of its answerable questions), and
leave-one-set-out (the Markdown, HTML and PDF manuals left out together; each set scored by a
model fitted, and a threshold chosen, on the others). A fit "without devdocs" sees neither its
rows in the pooled fit nor in any fold: devdocs is then scored as a corpus never seen. Cells:
unanswerable that abstain / answerable that abstain, per set; the last two columns count
questions over every set (unanswerable declined, answerable declined).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from _common import REPO, table
from calibrate import FALSE_ABSTAIN_CAP, GROUPS, SETS, SIGNS, chance_of, choose, fit, weights_of

FLOOR = 0.35
"""``abstain_threshold``: below it the floor declines whatever the names."""


def plain_rules(rows: list[dict], names_below: float | None = None) -> np.ndarray:
    """Whether the plain rules decline each row; with ``names_below``, the unknown-name rule
    declines up to that evidence instead of ``unknown_name_threshold``."""
    rule = np.array([r["rule"] for r in rows])
    if names_below is None:
        return rule
    evidence = np.array([r["signals"][0] for r in rows])
    named = np.array([bool(r["unknown"]) for r in rows])
    return rule | (named & (evidence >= FLOOR) & (evidence < names_below))


def choose_pooled(chance: np.ndarray, rule: np.ndarray, labels: np.ndarray, sets: np.ndarray) -> float:
    """The lowest threshold (step 0.01) at which the answerable questions of all the sets together
    abstain on no more than :data:`calibrate.FALSE_ABSTAIN_CAP` (one set may take more)."""
    for threshold in np.round(np.arange(0.30, 0.995, 0.01), 2):
        abstains = rule | (chance >= threshold)
        if abstains[~labels].mean() <= FALSE_ABSTAIN_CAP:
            return float(threshold)
    return 1.0


def judge(
    rows: list[dict],
    *,
    use: set[str],
    pooled_cap: bool = False,
    l2: float = 0.02,
    signs: np.ndarray | None = None,
    keep=None,
    names_below: float | None = None,
):
    """(pooled abstains, leave-one-set-out abstains, weights, bias, threshold) of one way of fitting."""
    features = np.array([r["signals"] for r in rows])
    if keep is not None:
        features = features[:, keep]
    labels = np.array([r["unanswerable"] for r in rows])
    sets = np.array([r["set"] for r in rows])
    rule = plain_rules(rows, names_below)
    used = np.isin(sets, sorted(use))

    def trained(mask: np.ndarray) -> tuple[np.ndarray, float, float]:
        weights, bias = fit(features[mask & ~rule], labels[mask & ~rule].astype(float), l2=l2, signs=signs)
        chance = chance_of(features, weights, bias)
        chooser = choose_pooled if pooled_cap else choose
        threshold = chooser(chance[mask], rule[mask], labels[mask], sets[mask])
        return weights, bias, threshold

    weights, bias, threshold = trained(used)
    pooled = rule | (chance_of(features, weights, bias) >= threshold)
    groups = np.array([GROUPS.get(s, s) for s in sets])
    held = np.zeros(len(rows), bool)
    for group in dict.fromkeys(groups):
        mine = groups == group
        w, b, t = trained(used & ~mine)
        held[mine] = rule[mine] | (chance_of(features[mine], w, b) >= t)
    return pooled, held, weights, bias, threshold


def cells(abstains: np.ndarray, rows: list[dict]) -> list[str]:
    labels = np.array([r["unanswerable"] for r in rows])
    sets = np.array([r["set"] for r in rows])
    out = []
    for name in SETS:
        mine = sets == name
        out.append(f"{abstains[mine & labels].mean():.2f}/{abstains[mine & ~labels].mean():.2f}")
    out.append(f"{int(abstains[labels].sum())} of {int(labels.sum())}")
    out.append(f"{int(abstains[~labels].sum())} of {int((~labels).sum())}")
    return out


def main() -> None:
    from qa.config import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=REPO / ".bench")
    args = parser.parse_args()
    rows = json.loads((args.cache / "calibrate-signals.json").read_text())
    every = set(SETS)
    older = every - {"devdocs", "conversations-devdocs"}
    configured = Settings.load(root=REPO)
    features = np.array([r["signals"] for r in rows])
    rule = np.array([r["rule"] for r in rows])
    settings_abstain = rule | (
        chance_of(features, weights_of(configured, features.shape[1]), configured.abstain_bias)
        >= configured.abstain_chance
    )
    no_unknown = [0, 1, 2, 4, 5, 6]
    variants = [
        ("seven refitted without devdocs (the procedure before)", {"use": older}),
        ("seven refitted with devdocs", {"use": every}),
        ("with devdocs, signs held", {"use": every, "signs": SIGNS}),
        ("with devdocs, penalty 0.1", {"use": every, "l2": 0.1}),
        ("with devdocs, penalty 0.3", {"use": every, "l2": 0.3}),
        ("with devdocs, signs held, penalty 0.1", {"use": every, "signs": SIGNS, "l2": 0.1}),
        ("with devdocs, no unknown_share", {"use": every, "keep": no_unknown}),
        *[
            (f"with devdocs, unknown names declined below evidence {t:.2f}", {"use": every, "names_below": t})
            for t in (0.72, 0.76, 0.80, 0.85, 1.0)
        ],
        *[
            (f"without devdocs, unknown names declined below {t:.2f}", {"use": older, "names_below": t})
            for t in (0.76, 0.80)
        ],
        ("without devdocs, pooled cap", {"use": older, "pooled_cap": True}),
        ("with devdocs, pooled cap", {"use": every, "pooled_cap": True}),
        ("with devdocs, signs held, pooled cap", {"use": every, "signs": SIGNS, "pooled_cap": True}),
        ("with devdocs, penalty 0.1, pooled cap", {"use": every, "l2": 0.1, "pooled_cap": True}),
        ("with devdocs, penalty 0.3, pooled cap", {"use": every, "l2": 0.3, "pooled_cap": True}),
        (
            "with devdocs, unknown names below 0.76, pooled cap",
            {"use": every, "names_below": 0.76, "pooled_cap": True},
        ),
    ]
    pooled_lines = [["the settings in force (no fit)", *cells(settings_abstain, rows)]]
    for t in (0.76, 0.80):
        named = plain_rules(rows, t) | settings_abstain
        pooled_lines.append([f"the settings, unknown names declined below {t:.2f}", *cells(named, rows)])
    held_lines = []
    fitted = []
    for name, options in variants:
        pooled, held, weights, bias, threshold = judge(rows, **options)
        pooled_lines.append([f"{name}, chance {threshold:.2f}", *cells(pooled, rows)])
        held_lines.append([name, *cells(held, rows)])
        fitted.append((name, weights, bias, threshold))
    headers = ["fit", *SETS, "unanswerable declined", "answerable declined"]
    print("cells: unanswerable that abstain / answerable that abstain (targets >= 0.80 / <= 0.05)\n")
    print("pooled fit, its threshold:")
    print(table(headers, pooled_lines))
    print("\nleave-one-set-out, threshold chosen on the others:")
    print(table(headers, held_lines))
    print("\nthe fits:")
    for name, weights, bias, threshold in fitted:
        listed = ", ".join(f"{w:.2f}" for w in weights)
        print(f"{name}: weights {listed}, bias {bias:.2f}, chance {threshold:.2f}")


if __name__ == "__main__":
    main()
