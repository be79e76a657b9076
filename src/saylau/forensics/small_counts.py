"""Small-count and hand-distribution patterns: too many stations at exactly 1 and 2 votes.

When a commission writes the protocols instead of counting, small numbers betray it: a minor
party that honestly gets 0 votes in many stations and a handful elsewhere is given "1" or "2"
everywhere, because a column of zeros looks suspicious and a column of ones and twos does not.
A. Kireev's rule (in D. Kobak's ``duma2021`` notebook, repository ``dkobak/elections``) lists
every commission and party with more than 20 stations at exactly 1 vote, more than 20 at
exactly 2 and fewer than 10 at 0: 11 pairs in Russia 2021.

The test asks, for each territorial commission and each choice, whether its stations at 1 or 2
votes crowd out those at 0 and 3 more than honest counting allows. Null model (default,
``null="mixture"``): every station counts honestly with its *own* rate of support, however the
rates vary between stations. Among the stations at 0 to 3 votes, given how many they are and
how many votes they hold, the number at 1 or 2 is then never more likely to be large than under
one common rate, whose conditional distribution is free of the rate and computed exactly
(:mod:`saylau.forensics._small_window`): the test keeps its level under any honest
heterogeneity between stations. The older model-based nulls remain as options: ``"binomial"``
(every station at the commission's share) and ``"betabinomial"`` (the share varying between
stations as a beta law with the over-dispersion estimated by moments, the share taken of the
votes not cast for the leader); both compare stations at 1-2 votes (excess) and at 0 (deficit)
with exact Poisson-binomial tails, intersection-union. They find more of Kireev's pairs but can
flag honest commissions whose support is uneven in ways a beta law does not describe (a bulk
of stations with 1-3 votes and a few with dozens), so they are screens.

Many commissions and choices are tested at once. The alarm (one family-wise p-value) is
Bonferroni over the cells that can reach the level (Tarone 1990: a cell whose smallest
attainable p-value is above ``alpha / K`` cannot reject and is not counted); the flagged list is
Benjamini & Hochberg's false-discovery-rate procedure over the cells that can reach ``fdr``.

References
----------
.. [1] Y. Benjamini and Y. Hochberg, "Controlling the false discovery rate: a practical and
   powerful approach to multiple testing", JRSS B 57(1), 1995.
.. [2] D. Kobak, S. Shpilkin and M. S. Pshenichnikov, "Integer percentages as electoral
   falsification fingerprints", Annals of Applied Statistics 10(1), 2016 (the per-station
   binomial null, each station keeping its own rates).
.. [3] Y. Hong, "On computing the distribution function for the Poisson binomial
   distribution", Computational Statistics & Data Analysis 59, 2013 (the exact recursion).
.. [4] R. L. Berger, "Multiparameter hypothesis testing and acceptance sampling",
   Technometrics 24(4), 1982 (the intersection-union test).
.. [5] R. E. Tarone, "A modified Bonferroni method for discrete data", Biometrics 46(2), 1990.

Examples
--------
>>> import numpy as np, polars as pl
>>> from saylau.domain.table import ProtocolTable
>>> gen = np.random.default_rng(0)
>>> valid = gen.integers(500, 1500, size=80)
>>> small = gen.binomial(valid, 0.001)          # about 1 vote per station: many zeros
>>> small[:40] = gen.integers(1, 3, size=40)    # commission T1 writes 1 or 2 everywhere
>>> t = ProtocolTable.from_frame(pl.DataFrame({
...     "station": [str(i) for i in range(80)], "tik": ["T1"] * 40 + ["T2"] * 40,
...     "voters_on_list": valid * 2, "issued": valid, "invalid": [0] * 80, "valid": valid,
...     "Big": valid - small, "Small": small}), profile="plain", choices=["Big", "Small"],
...     levels=["tik"])
>>> res = small_counts(t, choices=["Small"])
>>> res.flagged
(('T1', 'Small'),)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import special

from .._exceptions import EmptyInputError, SaylauInputError, UnknownNameError
from ..domain.choices import Choice
from ..domain.table import ProtocolTable
from ..results import Finding, Result
from ._fdr import fdr_bh
from ._small_window import WINDOW, tarone_bonferroni, window_tails
from ._stations import resolve_leader

__all__ = [
    "MIXTURE_CAVEAT",
    "SMALL_COUNTS_CAVEAT",
    "SmallCountCell",
    "SmallCountsResult",
    "small_counts",
]

FloatArray = npt.NDArray[np.float64]

#: The caveat of the default (mixture) null: the same words as the README's table.
MIXTURE_CAVEAT = (
    "1s and 2s crowding out 0s and 3s beyond what any honest spread of support between "
    "stations gives (exact test on each commission's stations at 0-3 votes, Tarone-Bonferroni "
    "over the commission x choice cells); it sees drawn small counts only where a choice gets "
    "0-3 votes in many stations and assumes stations count independently; a party's own "
    "commission members voting in every station give such a floor of votes too: a flag is a "
    "reason to read that commission's protocols"
)

#: The caveat of the model-based (binomial, beta-binomial) nulls.
SMALL_COUNTS_CAVEAT = (
    "The binomial null assumes that, within a commission, a choice's support is the same in "
    "every station up to sampling; real support varies between neighbourhoods, which changes "
    "how often 0, 1 and 2 votes occur (the beta-binomial null allows for it and can disagree "
    "with the binomial one in either direction). A flag is a reason to read that commission's "
    "protocols and compare them with observers' copies, not a finding of fraud."
)


@dataclasses.dataclass(frozen=True)
class SmallCountCell:
    """The test of one choice in one commission.

    Attributes
    ----------
    unit, choice : str
        Commission (its path of levels) and choice id.
    stations : int
        Stations tested (valid ballots, a count for the choice, and, under the mixture null,
        at least ``min_valid`` valid ballots).
    votes, valid : int
        The choice's votes and the ballots they are a share of (valid ballots; under the
        beta-binomial null with ``base="others"``, those not cast for the leader).
    share : float
        ``votes / valid``.
    rho : float
        Intra-commission over-dispersion of the beta-binomial null (0 for the other nulls).
    observed, expected : tuple of float
        Stations at exactly 0, 1 and 2 votes: observed, and expected under the null (under the
        mixture null: given the stations at 0-3 votes and their votes, one common rate).
    statistic : int
        Stations at 1 or 2 votes.
    expected_statistic, null_sd : float
        Their expected number and standard deviation under the null.
    pvalue : float
        p-value of the tested pattern: the exact conditional ``P(N1 + N2 >= statistic)``
        (mixture null); ``max(pvalue_excess, pvalue_zero_deficit)`` for the hand-drawn
        pattern under the model-based nulls (intersection-union test), ``pvalue_excess`` for
        ``"excess"``.
    pvalue_excess, pvalue_zero_deficit : float
        Model-based nulls: exact ``P(X >= statistic)`` (stations at 1 or 2 votes) and
        ``P(Z <= observed zeros)``; NaN under the mixture null.
    qvalue : float
        Benjamini-Hochberg adjusted ``pvalue`` over the cells that can be flagged.
    flagged : bool
        ``qvalue < fdr``.
    at_three : int
        Stations at exactly 3 votes.
    smallest_pvalue : float
        The smallest p-value the cell's test can give (mixture null; Tarone's count), 0 for
        the model-based nulls.
    """

    unit: str
    choice: str
    stations: int
    votes: int
    valid: int
    share: float
    rho: float
    observed: tuple[int, int, int]
    expected: tuple[float, float, float]
    statistic: int
    expected_statistic: float
    null_sd: float
    pvalue: float
    pvalue_excess: float
    pvalue_zero_deficit: float
    qvalue: float
    flagged: bool
    at_three: int = 0
    smallest_pvalue: float = 0.0


#: How each null is described in the result.
_METHODS = {
    "mixture": "stations at 1-2 votes among those at 0-3, exact conditional test, Tarone",
    "binomial": "stations at 1-2 votes vs at 0, binomial null, exact Poisson-binomial tails",
    "betabinomial": "stations at 1-2 votes vs at 0, beta-binomial null (moments), exact tails",
}


@dataclasses.dataclass(frozen=True)
class SmallCountsResult(Result):
    """Per commission and choice: stations at 0, 1 and 2 votes against a per-station null.

    Attributes
    ----------
    by : str
        Level of the commissions.
    choices : tuple of str
        Choices tested.
    cells : tuple of SmallCountCell
        One per commission and choice with at least one vote in the commission.
    flagged : tuple of (str, str)
        ``(unit, choice)`` of the cells flagged at the false-discovery rate ``fdr``.
    fdr : float
        Benjamini-Hochberg false-discovery rate.
    null : str
        ``"binomial"`` or ``"betabinomial"``.
    pattern : str
        ``"hand_drawn"`` (1-2 excess and 0 deficit) or ``"excess"`` (1-2 excess alone).
    ntests, nobs : int
        Cells tested; stations in the table.
    excluded : mapping
        Stations left out, by declared rule: ``no_valid_ballots`` (valid missing or 0),
        ``missing_count`` (station-choice pairs with no count), ``count_above_valid``
        (station-choice pairs with more votes than valid ballots).
    method, caveat : str
    """

    by: str
    choices: tuple[str, ...]
    cells: tuple[SmallCountCell, ...]
    flagged: tuple[tuple[str, str], ...]
    fdr: float
    null: str
    ntests: int
    nobs: int
    excluded: dict[str, int]
    pattern: str = "hand_drawn"
    method: str = "stations at 1-2 votes among those at 0-3, exact conditional test, Tarone"
    caveat: str = MIXTURE_CAVEAT
    pvalue: float = 1.0
    finding: Finding = dataclasses.field(
        default_factory=lambda: Finding(alarm=False, kind="test", caveats=(MIXTURE_CAVEAT,))
    )

    def cell(self, unit: str, choice: str) -> SmallCountCell:
        """The cell of one commission and choice (``UnknownNameError`` when absent)."""
        for c in self.cells:
            if c.unit == unit and c.choice == choice:
                return c
        raise UnknownNameError(
            "no small-count cell for this commission and choice",
            field="unit",
            found=f"{unit} / {choice}",
        )

    def to_frame(self) -> pl.DataFrame:
        """One row per cell."""
        return pl.DataFrame(
            [
                {
                    "unit": c.unit,
                    "choice": c.choice,
                    "stations": c.stations,
                    "share": c.share,
                    "obs_0": c.observed[0],
                    "obs_1": c.observed[1],
                    "obs_2": c.observed[2],
                    "exp_0": c.expected[0],
                    "exp_1": c.expected[1],
                    "exp_2": c.expected[2],
                    "pvalue": c.pvalue,
                    "qvalue": c.qvalue,
                    "flagged": c.flagged,
                }
                for c in self.cells
            ]
        )


# --------------------------------------------------------------------------- Poisson-binomial
def _poisson_binomial_pmf(p: FloatArray) -> FloatArray:
    """PMFs of sums of Bernoulli rows (``(k, m)`` -> ``(k, m + 1)``) by the exact recursion.

    Only sums of non-negative terms: relative precision is kept in the far tails. O(m^2) work
    in m vectorised steps.
    """
    k, m = p.shape
    pmf = np.zeros((k, m + 1))
    pmf[:, 0] = 1.0
    for i in range(m):
        pi = p[:, i : i + 1]
        qi = 1 - pi
        # new[j] = old[j] (1 − p) + old[j − 1] p, in place: the products first, then the sum
        moved = pmf[:, : i + 1] * pi
        pmf[:, 1 : i + 2] *= qi
        pmf[:, 1 : i + 2] += moved
        pmf[:, :1] *= qi
    return pmf


#: Cells (rows x stations) of one batch of the recursion (memory bound, 32 MB).
_BATCH_CELLS = 4_000_000


def _tails(p: FloatArray, x: npt.NDArray[np.int64], upper: bool) -> FloatArray:
    """``P(X_r >= x_r)`` (upper) or ``P(X_r <= x_r)`` for Poisson-binomial rows of ``p``."""
    pmf = _poisson_binomial_pmf(p)
    ks = np.arange(pmf.shape[1])[None, :]
    mask = ks >= x[:, None] if upper else ks <= x[:, None]
    out: FloatArray = np.minimum((pmf * mask).sum(axis=1), 1.0)
    return out


def _cell_tails(
    probs: FloatArray,
    order: npt.NDArray[np.intp],
    bounds: npt.NDArray[np.int64],
    pj: npt.NDArray[np.intp],
    pu: npt.NDArray[np.intp],
    stat: npt.NDArray[np.int64],
    zeros: npt.NDArray[np.int64],
) -> tuple[FloatArray, FloatArray]:
    """Exact tails of every tested cell (choice ``pj``, commission ``pu``), batched.

    Commissions are padded to a common length (a station with probability 0 leaves the
    distribution unchanged) and processed in batches of similar length, so that the recursion
    runs over many commissions at once instead of one at a time.
    """
    sizes = np.diff(bounds)[pu]
    p_up = np.ones(pj.size)
    p_zero = np.ones(pj.size)
    padded = (16 * np.ceil(np.maximum(sizes, 1) / 16)).astype(np.int64)
    for length in np.unique(padded).tolist():
        rows = np.flatnonzero(padded == length)
        step = max(1, _BATCH_CELLS // (length + 1))
        for start in range(0, rows.size, step):
            r = rows[start : start + step]
            lens = sizes[r]
            rep = np.repeat(np.arange(r.size), lens)
            within = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
            stn = order[np.repeat(bounds[pu[r]], lens) + within]
            p12 = np.zeros((r.size, length))
            p0 = np.zeros((r.size, length))
            p12[rep, within] = probs[pj[r][rep], stn, 1] + probs[pj[r][rep], stn, 2]
            p0[rep, within] = probs[pj[r][rep], stn, 0]
            p_up[r] = _tails(p12, stat[r], upper=True)
            p_zero[r] = _tails(p0, zeros[r], upper=False)
    return p_up, p_zero


def _moment_rho(
    inverse: npt.NDArray[np.intp],
    nu: int,
    n: npt.NDArray[np.int64],
    y: npt.NDArray[np.int64],
    share: FloatArray,
    share_u: FloatArray,
) -> FloatArray:
    """Method-of-moments intra-commission correlation of the beta-binomial, per commission.

    ``E sum (y - n p)^2 = p (1 - p) sum n (1 + (n - 1) rho)``, solved for ``rho`` and clipped
    to ``[0, 0.999]``.
    """
    resid = np.bincount(inverse, weights=(y - n * share) ** 2, minlength=nu)
    binvar = np.bincount(inverse, weights=n * share * (1 - share), minlength=nu)
    pairs = np.bincount(inverse, weights=(n * (n - 1)).astype(np.float64), minlength=nu)
    denom = share_u * (1 - share_u) * pairs
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(denom > 0, (resid - binvar) / denom, 0.0)
    return np.clip(rho, 0.0, 0.999)


def _null_probabilities(n: npt.NDArray[np.int64], share: FloatArray, rho: FloatArray) -> FloatArray:
    """P(0), P(1), P(2) per station (shape ``(stations, 3)``), binomial or beta-binomial.

    Closed forms: P(0) from (log-)gamma functions, then the ratios
    ``P(k+1) / P(k) = (n - k) / (k + 1) * (k + a) / (n - k - 1 + b)`` (beta-binomial) or
    ``(n - k) / (k + 1) * p / (1 - p)`` (binomial); scipy's pmf gives the same numbers
    (the test suite checks it) at several times the cost.
    """
    nf = n.astype(np.float64)
    p = np.clip(share, 0.0, 1.0)
    out = np.zeros((n.shape[0], 3))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_q = np.log1p(-p)
        out[:, 0] = np.exp(nf * log_q)
        odds = np.where(p < 1, p / (1 - p), 0.0)
        out[:, 1] = out[:, 0] * nf * odds
        out[:, 2] = out[:, 1] * (nf - 1) / 2 * odds
        one = p >= 1  # every vote for the choice: P(n) = 1
        out[one] = 0.0
        out[one & (n == 0), 0] = 1.0
        out[one & (n == 1), 1] = 1.0
        out[one & (n == 2), 2] = 1.0
        bb = (rho > 0) & (p > 0) & (p < 1)
        if bb.any():
            r = rho[bb]
            a = p[bb] * (1 - r) / r
            b = (1 - p[bb]) * (1 - r) / r
            m = nf[bb]
            p0 = np.exp(
                special.gammaln(m + b)
                + special.gammaln(a + b)
                - special.gammaln(b)
                - special.gammaln(m + a + b)
            )
            p1 = p0 * m * a / (m - 1 + b)
            p2 = p1 * (m - 1) / 2 * (1 + a) / (m - 2 + b)
            out[bb] = np.column_stack([p0, np.where(m >= 1, p1, 0.0), np.where(m >= 2, p2, 0.0)])
    out[n <= 1, 2] = 0.0
    out[n <= 0, 1] = 0.0
    return np.nan_to_num(out)


def _unit_labels(table: ProtocolTable, by: str) -> npt.NDArray[np.str_]:
    if not table.levels and by not in table.frame.columns:
        raise SaylauInputError(
            "small-count test not applicable: it compares commissions and the table has no "
            "commission level",
            file=table.source,
            field="by",
            expected="a file with hierarchy columns (region, tik...)",
            found="stations only",
        )
    if by not in table.frame.columns:
        raise UnknownNameError(
            "unknown commission level",
            file=table.source,
            field="by",
            expected=" | ".join(table.levels),
            found=by,
        )
    path = table.levels[: table.levels.index(by) + 1] if by in table.levels else (by,)
    frame = pl.DataFrame({str(i): table.level_values(lv).astype(str) for i, lv in enumerate(path)})
    joined = frame.select(pl.concat_str(list(frame.columns), separator=" / ").alias("u"))
    return np.asarray(joined.get_column("u").to_numpy(), dtype=str)


def small_counts(
    table: ProtocolTable,
    *,
    by: str = "tik",
    choices: Sequence[str] | None = None,
    null: Literal["mixture", "binomial", "betabinomial"] = "mixture",
    pattern: Literal["hand_drawn", "excess"] = "hand_drawn",
    fdr: float = 0.05,
    alpha: float = 0.01,
    min_valid: int = 100,
    base: Literal["valid", "others"] = "others",
    leader: str | Choice | None = None,
    rng: int | np.random.Generator | None = None,
) -> SmallCountsResult:
    """Test every commission and choice for 1s and 2s written in place of 0s.

    Parameters
    ----------
    table : ProtocolTable
    by : str
        Level of the commissions (``"tik"``; any level of the table). Commissions are named by
        their path of levels (``"region / tik"``), since their names repeat across regions.
        When the default ``"tik"`` is not in the table, the lowest level of the table is used
        (``commune`` in the Polish files) and recorded in the result's ``by``.
    choices : sequence of str, optional
        Choices to test (names as :meth:`ProtocolTable.choice` resolves them); all contenders
        and Against all by default.
    null : {"mixture", "binomial", "betabinomial"}
        ``"mixture"`` (default): every station honest with its own rate, however rates vary;
        the exact conditional test of the stations at 0-3 votes (module docstring). On Russia
        2021 it flags 5 of the 11 commission-party pairs of Kireev's published pattern (Kobak's
        ``duma2021`` notebook) and raises the alarm; on the clean Polish control it flags none.
        ``"betabinomial"``: the share varies between a commission's stations as a beta law
        (over-dispersion by moments) and ``"binomial"``: one share per commission; model-based,
        they flag 10 and 4 of the 11 pairs but are not calibrated on honest heterogeneity.
    pattern : {"hand_drawn", "excess"}
        Model-based nulls only. ``"hand_drawn"``: too many stations at 1-2 votes *and* too few
        at 0 (intersection-union test). ``"excess"``: too many at 1-2 alone.
    fdr : float
        False-discovery rate of the Benjamini-Hochberg procedure (the flagged list).
    alpha : float
        Level of the alarm, a family-wise error rate over the cells: Tarone-Bonferroni (mixture
        null) or Bonferroni (model-based nulls) on the smallest cell p-value.
    min_valid : int
        Mixture null: stations with fewer valid ballots are left out (counted in
        ``excluded["below_min_valid"]``); the finite-size factor of the binomial uses the
        smallest valid ballots of a cell's stations, which this keeps near 1.
    base : {"others", "valid"}
        Beta-binomial and binomial nulls: a choice's share is taken of the votes not cast for
        the leader (``"others"``, the leader's own of the valid ballots) or of the valid ballots.
    leader : str or Choice, optional
        The leader for ``base="others"`` (the contender with the most votes by default).
    rng : int or numpy.random.Generator, optional
        Accepted for the common signature of the forensic methods and unused: the null
        distribution is computed exactly, with no simulation.

    Returns
    -------
    SmallCountsResult

    Raises
    ------
    EmptyInputError
        When the table has no station with valid ballots.
    UnknownNameError
        When ``by`` or a choice name is unknown.

    Notes
    -----
    Declared input rules (counted in ``excluded``): stations whose valid ballots are missing
    or 0 are left out (nothing can be counted there); a missing count leaves that station out
    of that choice's test; a count larger than the valid ballots is left out of the test too
    (it is a protocol error the control relations report).

    References
    ----------
    .. [1] Y. Benjamini and Y. Hochberg, JRSS B 57(1), 1995.
    .. [2] Y. Hong, Computational Statistics & Data Analysis 59, 2013 (Poisson binomial).
    .. [3] R. E. Tarone, Biometrics 46(2), 1990 (Bonferroni over the cells that can reject).
    """
    if null not in ("mixture", "binomial", "betabinomial"):
        raise SaylauInputError(
            "unknown null model",
            field="null",
            expected="mixture | binomial | betabinomial",
            found=null,
        )
    if pattern not in ("hand_drawn", "excess"):
        raise SaylauInputError(
            "unknown pattern", field="pattern", expected="hand_drawn | excess", found=pattern
        )
    if null == "mixture" and pattern != "hand_drawn":
        raise SaylauInputError(
            "the mixture null tests the hand-drawn pattern only",
            field="pattern",
            expected="hand_drawn (or null='binomial' | 'betabinomial' for 'excess')",
            found=pattern,
        )
    if not 0 < fdr < 1:
        raise SaylauInputError("fdr must be in (0, 1)", field="fdr", found=fdr)
    if not 0 < alpha < 1:
        raise SaylauInputError("alpha must be in (0, 1)", field="alpha", found=alpha)
    del rng  # exact computation: nothing random
    if by == "tik" and "tik" not in table.frame.columns and table.levels:
        by = table.levels[-1]
    labels = _unit_labels(table, by)
    if table.has_line("valid"):
        valid_col = table.frame.get_column("valid")
        valid = valid_col.fill_null(0).to_numpy().astype(np.int64)
    else:
        valid = table.vote_matrix().sum(axis=1)
    ok_station = valid > 0
    excluded = {
        "no_valid_ballots": int((~ok_station).sum()),
        "missing_count": 0,
        "count_above_valid": 0,
    }
    if not ok_station.any():
        raise EmptyInputError("no station with valid ballots", file=table.source, field="valid")
    mixture = null == "mixture"
    if mixture:
        excluded["below_min_valid"] = int((ok_station & (valid < min_valid)).sum())
        ok_station = ok_station & (valid >= min_valid)
    selected = table.choices if choices is None else tuple(table.choice(c) for c in choices)

    codes_u, inverse = np.unique(labels, return_inverse=True)
    nu = codes_u.size
    nq = len(selected)
    nst = table.stations
    use = np.zeros((nq, nst), dtype=bool)
    votes = np.zeros((nq, nst), dtype=np.int64)
    unit_votes = np.zeros((nq, nu), dtype=np.int64)
    unit_valid = np.zeros((nq, nu), dtype=np.int64)
    lead = resolve_leader(table, leader) if base == "others" and not mixture else None
    lead_votes = (
        table.frame.get_column(lead.id).fill_null(0).to_numpy().astype(np.int64)
        if lead is not None
        else np.zeros(nst, dtype=np.int64)
    )
    sizes = np.zeros((nq, nst), dtype=np.int64)
    for j, ch in enumerate(selected):
        col = table.frame.get_column(ch.id)
        present = ~col.is_null().to_numpy()
        v = col.fill_null(0).to_numpy().astype(np.int64)
        above = present & ok_station & (v > valid)
        excluded["missing_count"] += int((~present & ok_station).sum())
        excluded["count_above_valid"] += int(above.sum())
        use[j] = present & ok_station & ~above
        votes[j] = np.where(use[j], v, 0)
        size = valid if lead is None or ch.id == lead.id else valid - lead_votes
        sizes[j] = np.where(use[j], np.maximum(size, 0), 0)
        unit_votes[j] = (
            np.bincount(inverse, weights=votes[j], minlength=nu).round().astype(np.int64)
        )
        unit_valid[j] = (
            np.bincount(inverse, weights=sizes[j], minlength=nu).round().astype(np.int64)
        )
    nstat = np.stack(
        [
            np.bincount(inverse, weights=use[j], minlength=nu).round().astype(np.int64)
            for j in range(nq)
        ]
    ).reshape(nq, nu)
    pj, pu_ = np.nonzero(unit_votes > 0)  # cells to test; no votes: nothing to test
    if mixture:
        t = _mixture_cells(valid, inverse, nu, use, votes, pj, pu_)
    else:
        t = _model_cells(null, inverse, nu, use, votes, sizes, unit_votes, unit_valid, pj, pu_)
    hand_drawn = pattern == "hand_drawn" and not mixture
    p_test = np.maximum(t.p_up, t.p_zero) if hand_drawn else t.p_up
    if mixture:
        p_family, _family, k_family = tarone_bonferroni(p_test, t.p_min, alpha)
        can_flag = t.p_min <= fdr  # the others can never be flagged: left out of BH's count
        correction = (
            f"Tarone-Bonferroni over the {k_family:,} commission-choice cells that can reach "
            f"the level, of {pj.size:,} tested (alarm); Benjamini-Hochberg at {fdr:g} over the "
            f"{int(can_flag.sum()):,} cells that can reach it (the flagged list)"
        )
    else:
        p_family = float(min(1.0, float(p_test.min()) * p_test.size)) if p_test.size else 1.0
        can_flag = np.ones(pj.size, dtype=bool)
        correction = (
            f"Bonferroni over {pj.size:,} commission-choice cells (alarm); "
            f"Benjamini-Hochberg at {fdr:g} over the same cells (the flagged list)"
        )
    reject, qvals = np.zeros(pj.size, dtype=bool), np.ones(pj.size)
    if can_flag.any():
        reject[can_flag], qvals[can_flag] = fdr_bh(p_test[can_flag], alpha=fdr)
    # plain Python values first: 40,000 cells are built in a loop
    units = [str(x) for x in codes_u]
    ids = [c.id for c in selected]
    c_st = nstat[pj, pu_].tolist()
    c_votes = unit_votes[pj, pu_].tolist()
    c_valid = unit_valid[pj, pu_].tolist()
    c_rho = t.rho.tolist()
    c_obs = t.observed.tolist()
    c_exp = t.expected.tolist()
    c_sd = t.sd.tolist()
    c_min = t.p_min.tolist()
    c_pe = (t.p_up if not mixture else np.full(pj.size, math.nan)).tolist()
    c_pz = (t.p_zero if not mixture else np.full(pj.size, math.nan)).tolist()
    cells = tuple(
        SmallCountCell(
            unit=units[u],
            choice=ids[j],
            stations=c_st[i],
            votes=c_votes[i],
            valid=c_valid[i],
            share=c_votes[i] / c_valid[i] if c_valid[i] else math.nan,
            rho=c_rho[i],
            observed=(c_obs[i][0], c_obs[i][1], c_obs[i][2]),
            expected=(c_exp[i][0], c_exp[i][1], c_exp[i][2]),
            statistic=c_obs[i][1] + c_obs[i][2],
            expected_statistic=c_exp[i][1] + c_exp[i][2],
            null_sd=c_sd[i],
            pvalue=pt,
            pvalue_excess=c_pe[i],
            pvalue_zero_deficit=c_pz[i],
            qvalue=q,
            flagged=f,
            at_three=c_obs[i][3],
            smallest_pvalue=c_min[i],
        )
        for i, (j, u, pt, q, f) in enumerate(
            zip(
                pj.tolist(),
                pu_.tolist(),
                p_test.tolist(),
                qvals.tolist(),
                reject.tolist(),
                strict=True,
            )
        )
    )
    caveats = (MIXTURE_CAVEAT,) if mixture else (SMALL_COUNTS_CAVEAT,)
    return SmallCountsResult(
        by=by,
        choices=tuple(c.id for c in selected),
        cells=cells,
        flagged=tuple((c.unit, c.choice) for c in cells if c.flagged),
        fdr=fdr,
        null=null,
        pattern=pattern,
        ntests=len(cells),
        nobs=table.stations,
        excluded=excluded,
        pvalue=p_family,
        method=_METHODS[null],
        caveat=caveats[0],
        finding=Finding(
            alarm=bool(p_family < alpha),
            kind="test",
            level=alpha,
            pvalue=p_family,
            correction=correction,
            calibration="exact conditional null: any honest heterogeneity between stations is "
            "conservative; saylau's calibration study (tests/results/calibration_small_counts."
            "json) and the clean Polish control"
            if mixture
            else "exact Poisson-binomial tails under the fitted null; not calibrated on honest "
            "heterogeneity (see the caveat)",
            caveats=caveats,
        ),
    )


@dataclasses.dataclass(frozen=True)
class _Cells:
    """Per tested cell: observed stations at 0..3 votes, their null expectation, p-values."""

    observed: npt.NDArray[np.int64]  # (cells, 4)
    expected: FloatArray  # (cells, 3)
    sd: FloatArray
    rho: FloatArray
    p_up: FloatArray
    p_zero: FloatArray
    p_min: FloatArray


def _window_counts(
    inverse: npt.NDArray[np.intp],
    nu: int,
    use: npt.NDArray[np.bool_],
    votes: npt.NDArray[np.int64],
    pj: npt.NDArray[np.intp],
    pu: npt.NDArray[np.intp],
) -> npt.NDArray[np.int64]:
    """Stations at exactly 0, 1, 2, 3 votes of every tested cell, shape ``(cells, 4)``."""
    nq = use.shape[0]
    out = np.zeros((nq, nu, WINDOW + 1), dtype=np.int64)
    for j in range(nq):
        inside = use[j] & (votes[j] <= WINDOW)
        out[j] = np.bincount(
            inverse[inside] * (WINDOW + 1) + votes[j][inside], minlength=nu * (WINDOW + 1)
        ).reshape(nu, WINDOW + 1)
    return out[pj, pu]


def _mixture_cells(
    valid: npt.NDArray[np.int64],
    inverse: npt.NDArray[np.intp],
    nu: int,
    use: npt.NDArray[np.bool_],
    votes: npt.NDArray[np.int64],
    pj: npt.NDArray[np.intp],
    pu: npt.NDArray[np.intp],
) -> _Cells:
    """The exact conditional window test of every tested cell (see :func:`_window_tails`)."""
    counts = _window_counts(inverse, nu, use, votes, pj, pu)
    # the smallest valid ballots among each cell's stations in the window (binomial factor)
    big = np.iinfo(np.int64).max
    order = np.lexsort((valid, inverse))
    nstar = np.full((use.shape[0], nu), big, dtype=np.int64)
    for j in range(use.shape[0]):
        inside = (use[j] & (votes[j] <= WINDOW))[order]
        first_u, first_i = np.unique(inverse[order][inside], return_index=True)
        nstar[j, first_u] = valid[order][inside][first_i]
    ns = np.where(nstar[pj, pu] == big, 1e9, nstar[pj, pu]).astype(np.float64)
    p, pmin, expected, sd = window_tails(counts, np.maximum(ns, 3.0))
    zeros = np.zeros(pj.size)
    return _Cells(counts, expected, sd, zeros, p, np.full(pj.size, math.nan), pmin)


def _model_cells(
    null: str,
    inverse: npt.NDArray[np.intp],
    nu: int,
    use: npt.NDArray[np.bool_],
    votes: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
    unit_votes: npt.NDArray[np.int64],
    unit_valid: npt.NDArray[np.int64],
    pj: npt.NDArray[np.intp],
    pu: npt.NDArray[np.intp],
) -> _Cells:
    """Exact Poisson-binomial tails of every tested cell under the binomial or fitted
    beta-binomial null with the commission's share."""
    nq, nst = use.shape
    order = np.argsort(inverse, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=nu))])
    probs = np.zeros((nq, nst, 3))
    unit_rho = np.zeros((nq, nu))
    for j in range(nq):
        n = sizes[j]
        with np.errstate(divide="ignore", invalid="ignore"):
            share_u = np.where(unit_valid[j] > 0, unit_votes[j] / unit_valid[j], 0.0)
        share = share_u[inverse]
        if null == "betabinomial":
            unit_rho[j] = _moment_rho(inverse, nu, n, votes[j], share, share_u)
        probs[j] = _null_probabilities(n, share, unit_rho[j][inverse])
        probs[j][~use[j]] = 0.0
    expct = np.zeros((nq, nu, 3))
    var12 = np.zeros((nq, nu))
    for j in range(nq):
        for k in range(3):
            expct[j, :, k] = np.bincount(inverse, weights=probs[j, :, k], minlength=nu)
        p12j = probs[j, :, 1] + probs[j, :, 2]
        var12[j] = np.bincount(inverse, weights=p12j * (1 - p12j), minlength=nu)
    counts = _window_counts(inverse, nu, use, votes, pj, pu)
    stat = counts[:, 1] + counts[:, 2]
    p_up, p_zero = _cell_tails(probs, order, bounds, pj, pu, stat, counts[:, 0])
    return _Cells(
        counts,
        expct[pj, pu],
        np.sqrt(var12[pj, pu]),
        unit_rho[pj, pu],
        p_up,
        p_zero,
        np.zeros(pj.size),
    )
