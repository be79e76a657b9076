"""A stratum's quick count against its official protocols, tested by re-drawing the sample.

Within one stratum a quick count has a few stations (a dozen or two), and the station shares of
a real region are far from normal (a cluster of stations near 95% for the leader beside the
towns near 35%). A t test on the sample's own variance then cries wolf: when the sample falls
mostly in one cluster, the estimate moves away and its standard error shrinks with it (on
Russia 2011, 1,500 stations, honest copies gave Holm-adjusted p < 0.001 in some region in most
samples). Where the official results give every station's protocol, the null hypothesis
"the official protocols are the true ones" fixes the whole population of the stratum, so the
sampling distribution of the estimator is known: it is that of the same estimator on samples of
the same size drawn from the official protocols. :func:`redraw_test` computes the statistic

    M = max_j |R̂_j − o_j| / σ_j,

with ``R̂_j = Σ y_ij / Σ x_i`` over the reports, ``o_j`` the stratum's official share and
``σ_j`` the exact standard deviation of ``R̂_j`` under simple random sampling from the official
stations (linearised: ``(1 − r/N) S²(y_j − o_j x) / (r x̄²)``, Cochran 1977 §6.3), and refers
it to its distribution over ``draws`` samples of ``r`` official stations (a Monte Carlo test,
Besag & Clifford 1989: p = (1 + #{M* ≥ M}) / (draws + 1)). The maximum over choices makes it
one test per stratum with no Bonferroni factor. Reports that are missing at random within the
stratum leave it valid (the reports are then a simple random sample of the stratum).

References
----------
Besag, J. & Clifford, P. (1989). Generalized Monte Carlo significance tests. *Biometrika*
76(4), 633–642.
Besag, J. & Clifford, P. (1991). Sequential Monte Carlo p-values. *Biometrika* 78(2),
301–304.
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley.

Examples
--------
>>> import numpy as np
>>> pop_y = np.array([[50.0, 50.0]] * 20 + [[90.0, 10.0]] * 20)
>>> pop_x = pop_y.sum(axis=1)
>>> p = redraw_test(pop_y[[0, 1, 20, 21]], pop_y, draws=999, rng=1)
>>> bool(p > 0.5)   # half from each cluster: the official share exactly
True
>>> bool(redraw_test(np.array([[10.0, 90.0]] * 4), pop_y, draws=999, rng=1) < 0.01)
True
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["approach_rule", "redraw_exitpoll_test", "redraw_test"]

FloatArray = npt.NDArray[np.float64]


def _statistic(y: FloatArray, x: FloatArray, official: FloatArray, sigma: FloatArray) -> FloatArray:
    """M for each row of a batch: y (B, r, k), x (B, r)."""
    r_hat = y.sum(axis=1) / np.maximum(x.sum(axis=1), 1e-300)[:, None]
    out: FloatArray = np.max(np.abs(r_hat - official[None, :]) / sigma[None, :], axis=1)
    return out


def redraw_test(
    sample: npt.ArrayLike,
    population: npt.ArrayLike,
    *,
    draws: int = 2999,
    stop_above: float = 0.1,
    rng: int | np.random.Generator | None = None,
) -> float:
    """Monte Carlo p-value of a stratum's reports against its official protocols.

    Parameters
    ----------
    sample : array_like, shape (r, k)
        Votes per choice of the reports (their sum over choices is the denominator).
    population : array_like, shape (N, k)
        Votes per choice of every official protocol of the stratum.
    draws : int
        Samples of ``r`` official stations drawn without replacement (the default lets a
        p-value reach 1/3000, below 0.05/84 for a Holm correction over 84 regions).
    stop_above : float
        Draws go in blocks of 200 and stop once the p-value is clearly above this (a
        sequential Monte Carlo test, Besag & Clifford 1991): the p-values that matter are
        small, and they get every draw.
    rng : int or Generator

    Returns
    -------
    float
        ``(1 + #{M* >= M}) / (draws + 1)``; 1.0 when the choices have no variance in the
        population (nothing a sample could show).
    """
    ys = np.asarray(sample, dtype=float)
    yp = np.asarray(population, dtype=float)
    r, n_pop = ys.shape[0], yp.shape[0]
    xp = yp.sum(axis=1)
    official = yp.sum(axis=0) / max(float(xp.sum()), 1e-300)
    resid = yp - xp[:, None] * official[None, :]
    s2 = resid.var(axis=0, ddof=1) if n_pop > 1 else np.zeros(yp.shape[1])
    var = (1 - r / n_pop) * s2 / (r * max(float(xp.mean()), 1e-300) ** 2)
    ok = var > 1e-18
    if r < 1 or r >= n_pop or not ok.any():
        return 1.0
    sigma = np.sqrt(var[ok])
    obs = _statistic(ys[None, :, ok], ys.sum(axis=1)[None, :], official[ok], sigma)[0]
    gen = np.random.default_rng(rng)
    exceed = done = 0
    while done < draws:
        b = min(200, draws - done)
        idx = np.argpartition(gen.random((b, n_pop)), r - 1, axis=1)[:, :r]
        sims = _statistic(yp[idx][:, :, ok], xp[idx], official[ok], sigma)
        exceed += int(np.sum(sims >= obs - 1e-12))
        done += b
        if (1 + exceed) / (done + 1) > stop_above:
            break  # sequential Monte Carlo (Besag & Clifford 1991): clearly not small
    return float((1 + exceed) / (done + 1))


def _interview(
    votes: FloatArray, answered: npt.NDArray[np.int64], gen: np.random.Generator
) -> FloatArray:
    """Answers drawn without replacement from each station's votes (multivariate
    hypergeometric, one choice at a time): ``votes`` (..., k), ``answered`` (...)."""
    left_votes = votes.sum(axis=-1)
    left = np.minimum(answered, left_votes.astype(np.int64))
    out = np.zeros(votes.shape, dtype=float)
    for j in range(votes.shape[-1] - 1):
        good = votes[..., j].astype(np.int64)
        bad = (left_votes - votes[..., j]).astype(np.int64)
        got = gen.hypergeometric(good, np.maximum(bad, 0), np.minimum(left, good + bad))
        out[..., j] = got
        left = left - got
        left_votes = left_votes - votes[..., j]
    out[..., -1] = left
    return out


def _approached(
    turnout: FloatArray, rule: tuple[str, float, float], gen: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Voters approached and the weight factor k (interval) of stations of ``turnout``."""
    kind, a, b = rule
    if kind == "interval":  # every k-th voter, k = a (fixed) or k = round(T / a) (target a)
        k = np.full(turnout.shape, a) if b == 0 else np.maximum(np.round(turnout / a), 1.0)
        start = np.floor(gen.random(turnout.shape) * k) + 1
        n = np.where(turnout >= start, np.floor((turnout - start) / k) + 1, 0.0)
        return n, k
    # no interval known: approached = a * T^b (fitted on the reports), the estimator's k is 1
    n = np.clip(np.round(a * np.maximum(turnout, 1.0) ** b), 1.0, np.maximum(turnout, 1.0))
    return n, np.ones(turnout.shape)


def approach_rule(
    turnout: npt.ArrayLike, approached: npt.ArrayLike, skip: npt.ArrayLike | None
) -> tuple[str, float, float]:
    """How many voters a poll approaches at a station of a given turnout, read from its reports.

    With the interviewers' intervals ``skip``: ``("interval", k, 0)`` when every station used
    the same k, else ``("interval", target, 1)`` with k = round(T / target), the target the
    median of T / k (intervals set from the expected turnout). Without them:
    ``("power", a, b)``, approached = a · T^b fitted by least squares on the log scale
    (b in [0, 1]: 1 a fixed interval, 0 a fixed number of interviews per station).

    >>> approach_rule([400, 800, 1600], [40, 80, 160], [10, 10, 10])
    ('interval', 10.0, 0.0)
    >>> kind, a, b = approach_rule([400, 800, 1600], [50, 50, 50], None)
    >>> kind, round(a), round(b, 6)
    ('power', 50, 0.0)
    """
    t = np.maximum(np.asarray(turnout, dtype=float), 1.0)
    n = np.maximum(np.asarray(approached, dtype=float), 1.0)
    if skip is not None:
        k = np.maximum(np.asarray(skip, dtype=float), 1.0)
        if np.ptp(k) == 0:
            return ("interval", float(k[0]), 0.0)
        return ("interval", float(np.median(t / k)), 1.0)
    lt, ln = np.log(t), np.log(n)
    b = float(np.clip(np.polyfit(lt, ln, 1)[0], 0.0, 1.0)) if np.ptp(lt) > 0 else 0.0
    a = float(np.exp(np.mean(ln - b * lt)))
    return ("power", a, b)


def redraw_exitpoll_test(
    answers: npt.ArrayLike,
    weights: npt.ArrayLike,
    population: npt.ArrayLike,
    *,
    rule: tuple[str, float, float],
    response: float,
    draws: int = 2999,
    stop_above: float = 0.1,
    rng: int | np.random.Generator | None = None,
) -> float:
    """Monte Carlo p-value of a stratum's exit poll against its official protocols.

    The null hypothesis: the official protocols are the votes, and the interviews are honest
    answers of voters approached by the poll's rule (:func:`approach_rule`) who answer at
    random with probability ``response`` whatever their choice. Each replication draws as
    many stations as reported from the stratum's official stations (simple random sampling
    within the stratum, as the design draws them), approaches voters by the rule, lets each
    answer with probability ``response`` and draws the answers without replacement from the
    station's official votes. The statistic is :func:`redraw_test`'s: the largest
    standardised gap between the stratum's estimate ``Σ w_s y_sc / Σ w_s y_s`` (station
    factor ``w_s = k_s A_s / m_s``: interval, approached, answered) and the official share.
    Differential refusal (voters of one choice refusing more) is not in the null.

    Parameters
    ----------
    answers : array_like, shape (r, k)
        Answers per choice at the stratum's reporting stations.
    weights : array_like, shape (r,)
        Their station factors ``k_s A_s / m_s`` (as the estimate uses them).
    population : array_like, shape (N, k)
        Official votes of every station of the stratum.
    rule : tuple
        From :func:`approach_rule`.
    response : float
        Share of approached voters giving a codable answer.
    draws, stop_above, rng
        As in :func:`redraw_test`.

    Returns
    -------
    float
        ``(1 + #{M* >= M}) / (draws + 1)``; 1.0 when nothing can be tested.

    Examples
    --------
    >>> pop = np.array([[300.0, 300.0]] * 20 + [[540.0, 60.0]] * 20)
    >>> rule = ("interval", 10.0, 0.0)
    >>> honest = np.array([[30.0, 30.0], [54.0, 6.0], [29.0, 31.0], [55.0, 5.0]])
    >>> w = np.full(4, 10.0)
    >>> bool(redraw_exitpoll_test(honest, w, pop, rule=rule, response=1.0, rng=1) > 0.2)
    True
    >>> padded = np.array([[10.0, 50.0]] * 4)
    >>> bool(redraw_exitpoll_test(padded, w, pop, rule=rule, response=1.0, rng=1) < 0.01)
    True
    """
    ys = np.asarray(answers, dtype=float)
    ws = np.asarray(weights, dtype=float)
    yp = np.asarray(population, dtype=float)
    r, n_pop, k = ys.shape[0], yp.shape[0], yp.shape[1]
    if r < 1 or r > n_pop or ys.sum() <= 0:
        return 1.0
    xp = yp.sum(axis=1)
    official = yp.sum(axis=0) / max(float(xp.sum()), 1e-300)
    station = yp / np.maximum(xp, 1.0)[:, None]
    gen = np.random.default_rng(rng)
    # σ_c standardises the gap (any fixed σ keeps the test exact): between stations, SRS
    # (Cochran 1977 §6.3), plus the answers' own sampling within stations
    n_exp, _ = _approached(xp, rule, np.random.default_rng(0))
    m_exp = np.maximum(n_exp * response, 1.0)
    resid = yp - xp[:, None] * official[None, :]
    s2 = resid.var(axis=0, ddof=1) if n_pop > 1 else np.zeros(k)
    within = np.mean(xp[:, None] ** 2 * station * (1 - station) / m_exp[:, None], axis=0)
    var = ((1 - r / n_pop) * s2 + within) / (r * max(float(xp.mean()), 1e-300) ** 2)
    ok = var > 1e-18
    if not ok.any():
        return 1.0
    sigma = np.sqrt(var[ok])
    wy = ys * ws[:, None]
    obs = _statistic(wy[None, :, ok], wy.sum(axis=1)[None, :], official[ok], sigma)[0]
    exceed = done = 0
    while done < draws:
        b = min(200, draws - done)
        idx = np.argpartition(gen.random((b, n_pop)), r - 1, axis=1)[:, :r]
        votes = yp[idx]  # (b, r, k)
        turnout = xp[idx]
        approached, interval = _approached(turnout, rule, gen)
        answered = gen.binomial(approached.astype(np.int64), min(max(response, 0.0), 1.0))
        got = _interview(votes, answered, gen)
        m = got.sum(axis=2)
        w = np.where(m > 0, interval * approached / np.maximum(m, 1.0), 0.0)
        sim_wy = got * w[:, :, None]
        sims = _statistic(sim_wy[:, :, ok], sim_wy.sum(axis=2), official[ok], sigma)
        exceed += int(np.sum(sims >= obs - 1e-12))
        done += b
        if (1 + exceed) / (done + 1) > stop_above:
            break
    return float((1 + exceed) / (done + 1))
