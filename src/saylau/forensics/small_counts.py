"""Small-count and hand-distribution patterns: too many stations at exactly 1 and 2 votes.

When a commission writes the protocols instead of counting, small numbers betray it: a minor
party that honestly gets 0 votes in many stations and a handful elsewhere is given "1" or "2"
everywhere, because a column of zeros looks suspicious and a column of ones and twos does not.
The test here asks, for each territorial commission and each choice, whether the number of
stations where the choice has exactly 1 or 2 votes is larger than a null model allows while the
number at 0 is smaller: ones and twos written in place of zeros.

Null model. Within a commission, each station keeps its own size: its votes for the choice are
``Binomial(n_s, p)``, where ``n_s`` is the station's valid ballots and ``p`` the choice's share
of the valid ballots in the whole commission (so each station has its own expected count
``n_s * p``). The number of stations with 1 or 2 votes is then a sum of independent Bernoulli
variables with station-specific probabilities (a Poisson-binomial variable), and so is the
number of stations at 0; both tails are computed exactly. The pattern is both at once, so the
test is the intersection-union test of the two one-sided tests: its p-value is the larger of the
excess-at-1-2 p-value and the deficit-at-0 p-value (a valid level-alpha test of the
conjunction; Berger 1982). An excess of 1s and 2s *without* missing zeros (a party that gets
dozens of votes everywhere but 1 or 2 in a few special stations: hospitals, prisons, convents)
is a different thing and is not flagged by default; ``pattern="excess"`` tests the excess alone.
Optionally the null is beta-binomial, with the intra-commission over-dispersion estimated by the
method of moments, for real data where a party's support varies between stations more than
sampling alone allows.

Many commissions and choices are tested at once, so the p-values are adjusted by
Benjamini & Hochberg's false-discovery-rate procedure (statsmodels' ``fdr_bh``), and a
commission-choice pair is flagged when its adjusted p-value (q-value) is below ``fdr``.

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
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import special

from .._exceptions import EmptyInputError, SaylauInputError, UnknownNameError
from ..domain.table import ProtocolTable
from ..results import Finding, Result
from ._fdr import fdr_bh

__all__ = ["SMALL_COUNTS_CAVEAT", "SmallCountCell", "SmallCountsResult", "small_counts"]

FloatArray = npt.NDArray[np.float64]

#: The caveat every small-count result carries.
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
        Stations tested (those with valid ballots and a count for the choice).
    votes, valid : int
        The choice's votes and the valid ballots in the commission.
    share : float
        ``votes / valid``, the rate every station shares under the null.
    rho : float
        Intra-commission over-dispersion of the beta-binomial null (0 for the binomial null).
    observed, expected : tuple of float
        Stations at exactly 0, 1 and 2 votes: observed, and expected under the null.
    statistic : int
        Stations at 1 or 2 votes.
    expected_statistic, null_sd : float
        Their expected number and standard deviation under the null.
    pvalue : float
        p-value of the tested pattern: ``max(pvalue_excess, pvalue_zero_deficit)`` for the
        hand-drawn pattern (intersection-union test), ``pvalue_excess`` for ``"excess"``.
    pvalue_excess : float
        Exact ``P(X >= statistic)`` under the null (excess of stations at 1 or 2 votes).
    pvalue_zero_deficit : float
        Exact ``P(Z <= observed zeros)`` under the null (too few stations at 0 votes).
    qvalue : float
        Benjamini-Hochberg adjusted ``pvalue`` over every tested cell.
    flagged : bool
        ``qvalue < fdr``.
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
    method: str = "stations at 1-2 votes vs at 0, exact Poisson-binomial tails, IUT, BH-adjusted"
    caveat: str = SMALL_COUNTS_CAVEAT
    pvalue: float = 1.0
    finding: Finding = dataclasses.field(
        default_factory=lambda: Finding(alarm=False, kind="test", caveats=(SMALL_COUNTS_CAVEAT,))
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
    null: Literal["binomial", "betabinomial"] = "betabinomial",
    pattern: Literal["hand_drawn", "excess"] = "hand_drawn",
    fdr: float = 0.05,
    alpha: float = 0.01,
    rng: int | np.random.Generator | None = None,
) -> SmallCountsResult:
    """Test every commission and choice for an excess of stations at exactly 1 or 2 votes.

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
    null : {"betabinomial", "binomial"}
        Per-station null: beta-binomial with the over-dispersion estimated in the commission
        by the method of moments (default), or binomial with the commission's share. On
        Russia 2021 the binomial null finds 4 of the 11 commission-party pairs of Kireev's
        published pattern (Kobak's ``duma2021`` notebook), the beta-binomial 10; neither
        raises an alarm on the clean Polish control.
    pattern : {"hand_drawn", "excess"}
        ``"hand_drawn"``: too many stations at 1-2 votes *and* too few at 0 (both one-sided
        tests must reject: intersection-union test). ``"excess"``: too many at 1-2 alone.
    fdr : float
        False-discovery rate of the Benjamini-Hochberg procedure (the flagged list).
    alpha : float
        Level of the alarm: the smallest cell p-value, Bonferroni-adjusted over the cells
        tested, below ``alpha`` (a family-wise error rate, unlike the flagged list's FDR).
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
    """
    if null not in ("binomial", "betabinomial"):
        raise SaylauInputError(
            "unknown null model", field="null", expected="binomial | betabinomial", found=null
        )
    if pattern not in ("hand_drawn", "excess"):
        raise SaylauInputError(
            "unknown pattern", field="pattern", expected="hand_drawn | excess", found=pattern
        )
    if not 0 < fdr < 1:
        raise SaylauInputError("fdr must be in (0, 1)", field="fdr", found=fdr)
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
    selected = table.choices if choices is None else tuple(table.choice(c) for c in choices)

    codes_u, inverse = np.unique(labels, return_inverse=True)
    nu = codes_u.size
    order = np.argsort(inverse, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=nu))])
    nq = len(selected)
    nst = table.stations

    # per choice and station: null P(0), P(1), P(2) with the commission's share
    use = np.zeros((nq, nst), dtype=bool)
    votes = np.zeros((nq, nst), dtype=np.int64)
    probs = np.zeros((nq, nst, 3))
    unit_votes = np.zeros((nq, nu), dtype=np.int64)
    unit_valid = np.zeros((nq, nu), dtype=np.int64)
    unit_rho = np.zeros((nq, nu))
    for j, ch in enumerate(selected):
        col = table.frame.get_column(ch.id)
        present = ~col.is_null().to_numpy()
        v = col.fill_null(0).to_numpy().astype(np.int64)
        above = present & ok_station & (v > valid)
        excluded["missing_count"] += int((~present & ok_station).sum())
        excluded["count_above_valid"] += int(above.sum())
        use[j] = present & ok_station & ~above
        votes[j] = np.where(use[j], v, 0)
        n = np.where(use[j], valid, 0)
        unit_votes[j] = (
            np.bincount(inverse, weights=votes[j], minlength=nu).round().astype(np.int64)
        )
        unit_valid[j] = np.bincount(inverse, weights=n, minlength=nu).round().astype(np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            share_u = np.where(unit_valid[j] > 0, unit_votes[j] / unit_valid[j], 0.0)
        share = share_u[inverse]
        if null == "betabinomial":
            unit_rho[j] = _moment_rho(inverse, nu, n, votes[j], share, share_u)
        probs[j] = _null_probabilities(n, share, unit_rho[j][inverse])
        probs[j][~use[j]] = 0.0

    # per commission and choice: observed and expected stations at 0, 1, 2 votes
    obs = np.zeros((nq, nu, 3), dtype=np.int64)
    expct = np.zeros((nq, nu, 3))
    var12 = np.zeros((nq, nu))
    nstat = np.zeros((nq, nu), dtype=np.int64)
    for j in range(nq):
        for k in range(3):
            hit = (votes[j] == k) & use[j]
            obs[j, :, k] = np.bincount(inverse, weights=hit, minlength=nu).round().astype(np.int64)
            expct[j, :, k] = np.bincount(inverse, weights=probs[j, :, k], minlength=nu)
        p12j = probs[j, :, 1] + probs[j, :, 2]
        var12[j] = np.bincount(inverse, weights=p12j * (1 - p12j), minlength=nu)
        nstat[j] = np.bincount(inverse, weights=use[j], minlength=nu).round().astype(np.int64)
    stat = obs[:, :, 1] + obs[:, :, 2]
    pj, pu_ = np.nonzero(unit_votes > 0)  # cells to test; no votes: nothing to test
    p_up, p_zero = _cell_tails(probs, order, bounds, pj, pu_, stat[pj, pu_], obs[pj, pu_, 0])

    p_test = np.maximum(p_up, p_zero) if pattern == "hand_drawn" else p_up
    p_family = float(min(1.0, float(p_test.min()) * p_test.size)) if p_test.size else 1.0
    if pj.size:
        reject, qvals = fdr_bh(p_test, alpha=fdr)
    else:
        reject, qvals = np.zeros(0, dtype=bool), np.zeros(0)
    # plain Python values first: 40,000 cells are built in a loop
    units = [str(x) for x in codes_u]
    ids = [c.id for c in selected]
    c_st = nstat[pj, pu_].tolist()
    c_votes = unit_votes[pj, pu_].tolist()
    c_valid = unit_valid[pj, pu_].tolist()
    c_rho = unit_rho[pj, pu_].tolist()
    c_obs = obs[pj, pu_].tolist()
    c_exp = expct[pj, pu_].tolist()
    c_stat = stat[pj, pu_].tolist()
    c_sd = np.sqrt(var12[pj, pu_]).tolist()
    cells = tuple(
        SmallCountCell(
            unit=units[u],
            choice=ids[j],
            stations=c_st[i],
            votes=c_votes[i],
            valid=c_valid[i],
            share=c_votes[i] / c_valid[i],
            rho=c_rho[i],
            observed=(c_obs[i][0], c_obs[i][1], c_obs[i][2]),
            expected=(c_exp[i][0], c_exp[i][1], c_exp[i][2]),
            statistic=c_stat[i],
            expected_statistic=c_exp[i][1] + c_exp[i][2],
            null_sd=c_sd[i],
            pvalue=pt,
            pvalue_excess=pv,
            pvalue_zero_deficit=pz,
            qvalue=q,
            flagged=f,
        )
        for i, (j, u, pt, pv, pz, q, f) in enumerate(
            zip(
                pj.tolist(),
                pu_.tolist(),
                p_test.tolist(),
                p_up.tolist(),
                p_zero.tolist(),
                np.asarray(qvals).tolist(),
                np.asarray(reject, dtype=bool).tolist(),
                strict=True,
            )
        )
    )
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
        finding=Finding(
            alarm=bool(p_family < alpha),
            kind="test",
            level=alpha,
            pvalue=p_family,
            correction=f"Bonferroni over {len(cells)} commission-choice cells (alarm); "
            f"Benjamini-Hochberg at {fdr:g} over the same cells (the flagged list)",
            calibration="exact Poisson-binomial tails under the beta-binomial null; clean "
            "Polish control and simulated clean elections in tests/forensics/"
            "test_small_counts.py",
            caveats=(SMALL_COUNTS_CAVEAT,),
        ),
    )
