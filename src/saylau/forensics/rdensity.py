"""R's ``density()`` (Gaussian kernel, linear binning, FFT) and ``cut()`` bins, in NumPy.

Split from :mod:`saylau.forensics.coarse` (module size), which uses them to reproduce the
densities and bins of the R package ``spikes``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = ["r_density"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_GRID = 1001
_BW = 1e-4


def _r_density_setup(bw: float, n_user: int, lo_x: float = 0.0, hi_x: float = 1.0) -> _RDensity:
    n = max(n_user, 512)
    if n > 512:
        n = 2 ** math.ceil(math.log2(n))
    lo = lo_x - 4.0 * bw
    up = hi_x + 4.0 * bw
    kords = np.linspace(0.0, 2.0 * (up - lo), 2 * n)
    kords[n + 1 :] = -kords[n - 1 : 0 : -1]
    kern = stats.norm.pdf(kords, scale=bw)
    # a kernel narrower than the node spacing touches no other node (spikes' bw = 1e-4 is a
    # tenth of it: the neighbour's weight is e^-48 of the centre's): the convolution is then a
    # multiplication, exact to double precision, and no FFT is needed
    narrow = float(kern[1] / kern[0]) < 1e-17
    xords = np.linspace(lo, up, n)
    x = np.linspace(lo_x, hi_x, n_user)
    # linear interpolation of the n node values at x (R's approx)
    j = np.clip(np.searchsorted(xords, x, side="right") - 1, 0, n - 2)
    lam = (x - xords[j]) / (xords[j + 1] - xords[j])
    return _RDensity(
        n=n,
        lo=lo,
        up=up,
        kern_fft=np.conj(np.fft.rfft(kern)),
        x=x,
        j=j,
        lam=lam,
        centre=float(kern[0]) if narrow else 0.0,
    )


@dataclasses.dataclass(frozen=True)
class _RDensity:
    n: int
    lo: float
    up: float
    kern_fft: npt.NDArray[np.complex128]
    x: FloatArray
    j: IntArray
    lam: FloatArray
    centre: float  # the kernel at 0 when it touches no other node, else 0 (use the FFT)

    def binned(
        self,
        values: FloatArray,
        rows: IntArray | None = None,
        nrows: int = 1,
        *,
        inside: bool = False,
        row_offsets: bool = False,
    ) -> FloatArray:
        """R's BinDist (linear binning, weight 1/len each), per row when ``rows`` is given.

        ``inside``: every value lies within the nodes (no edge handling). ``row_offsets``:
        ``rows`` holds ``row × 2n`` already (a cached array, for repeated calls).
        """
        n = self.n
        delta = (self.up - self.lo) / (n - 1)
        size = nrows * 2 * n
        if inside:
            # the same arithmetic as below, in place (one buffer instead of four: this runs on
            # resamples × stations values); ``rows`` may be given as offsets already
            pos = np.subtract(values, self.lo)
            pos /= delta
            ix = pos.astype(np.int64)  # truncation is the floor: every position is >= 0
            pos -= ix
            if rows is not None:
                ix += rows if row_offsets else rows * (2 * n)
            right = np.bincount(ix, weights=pos, minlength=size)
            y = np.bincount(ix, minlength=size) - right  # Σ (1 - fx) per node
            y[1:] += right[:-1]
            return np.asarray(y, dtype=np.float64).reshape(nrows, 2 * n)
        pos = (values - self.lo) / delta
        ix = np.floor(pos).astype(np.int64)
        fx = pos - ix
        ix_all = ix + rows * (2 * n) if rows is not None else ix
        # shares in [0, 1] always fall inside the nodes [-4 bw, 1 + 4 bw]: no mask needed
        if ix.size and ix.min() >= 0 and ix.max() <= n - 2:
            right = np.bincount(ix_all, weights=fx, minlength=size)
            y = np.bincount(ix_all, minlength=size) - right  # Σ (1 - fx) per node
            y[1:] += right[:-1]
            return np.asarray(y, dtype=np.float64).reshape(nrows, 2 * n)
        ok = (ix >= 0) & (ix <= n - 2)
        left_edge = ix == -1
        right_edge = ix == n - 1
        base = np.zeros(values.shape, dtype=np.int64) if rows is None else rows * (2 * n)
        y = np.bincount(base[ok] + ix[ok], weights=1.0 - fx[ok], minlength=size)
        y += np.bincount(base[ok] + ix[ok] + 1, weights=fx[ok], minlength=size)
        if left_edge.any():
            y += np.bincount(base[left_edge], weights=fx[left_edge], minlength=size)
        if right_edge.any():
            y += np.bincount(
                base[right_edge] + ix[right_edge], weights=1.0 - fx[right_edge], minlength=size
            )
        return np.asarray(y, dtype=np.float64).reshape(nrows, 2 * n)

    def smooth(self, y: FloatArray, count: FloatArray | float) -> FloatArray:
        """Gaussian convolution (FFT, as R) and interpolation at the grid, rows of ``y``."""
        y = y / np.reshape(count, (-1, 1))
        if self.centre > 0:
            k = y[:, : self.n] * self.centre
        else:
            conv = np.fft.irfft(np.fft.rfft(y, axis=1) * self.kern_fft, n=2 * self.n, axis=1)
            k = np.maximum(conv[:, : self.n], 0.0)
        return (1.0 - self.lam) * k[:, self.j] + self.lam * k[:, self.j + 1]


def r_density(values: npt.ArrayLike, *, bw: float = _BW, n: int = _GRID) -> FloatArray:
    """R's ``density(x, bw=bw, n=n, from=0, to=1, kernel="gaussian")$y``, in NumPy.

    Linear binning of the values on ``2**ceil(log2(max(n, 512)))`` nodes spanning
    [-4 bw, 1 + 4 bw], FFT convolution with the Gaussian kernel, negative round-off set to 0 and
    linear interpolation at ``linspace(0, 1, n)``, as in R's ``density.default``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).beta(5, 5, 20000)
    >>> d = r_density(x, bw=0.02)
    >>> from scipy.stats import beta
    >>> bool(abs(d[500] - beta(5, 5).pdf(0.5)) < 0.15)
    True
    """
    v = np.asarray(values, dtype=np.float64)
    rd = _r_density_setup(bw, n)
    return np.asarray(rd.smooth(rd.binned(v), float(v.size))[0], dtype=np.float64)


def _share_bins_fast(y: FloatArray, breaks: FloatArray) -> IntArray:
    """:func:`_share_bins` for values inside the breaks: floor, then the exact R comparison
    only for the few values within 1e-9 of a break."""
    step = breaks[1] - breaks[0]
    h = y - breaks[0]
    h *= 1.0 / step
    k = h.astype(np.int64)  # floor: h > 0
    h -= k
    near = np.flatnonzero((h < 1e-9) | (h > 1.0 - 1e-9))
    if near.size:
        k[near] = _share_bins(y[near], breaks)
    return np.asarray(k, dtype=np.int64)


def _share_bins(y: FloatArray, breaks: FloatArray) -> IntArray:
    """R's ``cut(y, breaks, include.lowest=TRUE)`` codes (right-closed), 0-based."""
    step = breaks[1] - breaks[0]
    k = np.ceil((y - breaks[0]) / step).astype(np.int64) - 1
    k = np.clip(k, 0, breaks.size - 2)
    # exact comparisons with the break values, as R's .bincode
    k = np.where(y > breaks[np.minimum(k + 1, breaks.size - 1)], k + 1, k)
    k = np.where((y <= breaks[k]) & (k > 0), k - 1, k)
    return np.asarray(np.clip(k, 0, breaks.size - 2), dtype=np.int64)
