# SPDX-License-Identifier: MIT
"""The batched kernels: per-bin sums of a stack of frames, fast path and exact paths.

See the package docstring (:mod:`halos_analysis.integrate`) for the formulas.
"""

from __future__ import annotations

import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.integrate.binmap import _CHUNK_PIXELS
from halos_analysis.io.frames.source import invalid_values

#: Frames per sparse × dense product (columns of the dense block).
_COLUMNS = 16


class _KernelMixin:
    """The kernel part of :class:`~halos_analysis.integrate.engine.Integrator`.

    Uses ``settings``, ``shape``, ``invalid_value`` and what :meth:`_MapMixin._setup` prepared.
    """

    # -- kernels -------------------------------------------------------------------------------

    def _sums_fast(self, flat: np.ndarray):
        """Σ c·x and Σ c²·(variance) for frames ``flat`` (m, npix): the fast path."""
        m = flat.shape[0]
        pyfai = self.settings.error_model == "poisson_pyfai"
        cols = 2 * m if pyfai else m
        rows = self._nbins * (2 if self._split else 1)
        out = np.zeros((rows, cols), np.float64)
        buf = np.empty((_CHUNK_PIXELS, cols), np.float32)
        lows = None
        if flat.dtype == np.uint32:
            # uint32 -> float32 has no fast conversion; int32 has. Counts >= 2**31 (the
            # 2**32-1 "bad pixel" value among them) turn negative and flag their frame.
            flat = flat.view(np.int32)
        signed = np.issubdtype(flat.dtype, np.signedinteger)
        if signed:
            lows = np.zeros(m, bool)
        for a, b, block, unused in self._chunks:
            blk = buf[: b - a]
            np.copyto(blk[:, :m], flat[:, a:b].T, casting="unsafe")
            if signed and len(unused):
                blk[unused, :m] = 0.0
            if pyfai:
                # pyFAI's Poisson variance is max(x, 1): add max(1 − x, 0) per pixel.
                np.subtract(1.0, blk[:, :m], out=blk[:, m:])
                np.maximum(blk[:, m:], 0.0, out=blk[:, m:])
            # Negative counts are rare: one contiguous min per chunk, per-frame only if needed.
            if signed and blk.min() < 0:
                lows |= blk[:, :m].min(axis=0) < 0
            out += block @ blk
        nb = self._nbins
        signal = out[:nb, :m].T
        var = (out[nb:, :m] if self._split else out[:nb, :m]).T
        if pyfai:
            var = var + (out[nb:, m:] if self._split else out[:nb, m:]).T
        return signal, var, lows

    def _frame_bad_pixels(self, frame: np.ndarray) -> np.ndarray:
        return invalid_values(frame, self.invalid_value)

    def _sums_exact(self, frame: np.ndarray, bad: np.ndarray | None):
        """Σ c·(x − dark), Σ c²·var and Σ c·norm of one frame (1D) without its ``bad`` pixels.

        The slow path, for frames with bad pixels outside the static mask.
        """
        x = frame.astype(np.float64)
        good = None if bad is None or not bad.any() else ~bad
        var = np.maximum(x, 1.0) if self.settings.error_model == "poisson_pyfai" else x
        signal = x if self._dark is None else x - self._dark.ravel()
        norm = self._norm_pixels
        if good is not None:
            signal, var, norm = signal * good, var * good, norm * good
            signal[bad] = var[bad] = 0.0  # inf·0 and NaN·0 are NaN: clear them explicitly
        return self._matrix @ signal, self._matrix2 @ var, self._matrix @ norm

    def _sums_clipped(self, frame: np.ndarray, bad: np.ndarray | None):
        """Like :meth:`_sums_exact`, rejecting pixels more than ``sigma_clip`` Poisson σ from
        their bin's mean, until nothing changes (at most 5 passes)."""
        k = float(self.settings.sigma_clip)
        mat = self._matrix
        rows = np.repeat(np.arange(mat.shape[0]), np.diff(mat.indptr))
        pix, coef = mat.indices, mat.data
        x = frame.ravel().astype(np.float64)[pix]
        dark = 0.0 if self._dark is None else self._dark.ravel()[pix]
        nrm = self._norm_pixels[pix]
        keep = np.isfinite(x) if bad is None else ~bad.ravel()[pix]
        x = np.where(keep, x, 0.0)
        nb = mat.shape[0]
        for _ in range(5):
            w = coef * keep
            total = np.maximum(np.bincount(rows, w * nrm, nb), 1e-300)
            mean = np.bincount(rows, w * (x - dark), nb) / total
            expected = mean[rows] * nrm + dark
            dev = np.abs(x - expected) / np.sqrt(np.maximum(expected, 1.0))
            new = keep & (dev <= k)
            if np.array_equal(new, keep):
                break
            keep = new
        w = coef * keep
        var = np.maximum(x, 1.0) if self.settings.error_model == "poisson_pyfai" else x
        return (
            np.bincount(rows, w * (x - dark), nb),
            np.bincount(rows, coef * w * var, nb),
            np.bincount(rows, w * nrm, nb),
        )

    def integrate_batch(self, data, monitor=None, transmission=None, *, first_frame: int = 0):
        """Integrate a stack of frames.

        Parameters
        ----------
        data : ndarray
            (n, ny, nx) or (ny, nx) frames, any numeric dtype.
        monitor, transmission : array_like, optional
            Per-frame normalisation (scalars or (n,)); the intensity is divided by their
            product.
        first_frame : int
            Index of the first frame in its measurement (for error messages).

        Returns
        -------
        I, sigma : ndarray
            (n, len(q)) intensities and standard uncertainties. A bin left without pixels
            in one frame (all of them bad) is NaN in that frame.
        """
        data = np.asarray(data)
        if data.ndim == 2:
            data = data[None]
        n = data.shape[0]
        if data.shape[1:] != self.shape:
            raise HalosInputError(
                f"frame shape {data.shape[1:]} does not match the geometry {self.shape}",
                field="frames",
            )
        k = np.ones(n)
        for v in (monitor, transmission):
            if v is not None:
                k = k * np.broadcast_to(np.asarray(v, np.float64), (n,))
        wrong = ~np.isfinite(k) | (k <= 0)
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise HalosInputError(
                f"monitor × transmission is {k[i]:g}: it must be a positive number",
                field=f"frame {first_frame + i}",
            )
        flat = data.reshape(n, -1)
        signal = np.empty((n, self._nbins))
        var = np.empty((n, self._nbins))
        norm = np.broadcast_to(self._sum_norm, (n, self._nbins)).copy()
        clip = self.settings.sigma_clip is not None
        for a in range(0, n, _COLUMNS):
            part = flat[a : a + _COLUMNS]
            if clip:
                todo = range(len(part))
            else:
                s, v, lows = self._sums_fast(part)
                if self._dark_sum is not None:
                    s = s - self._dark_sum
                signal[a : a + len(part)], var[a : a + len(part)] = s, v
                todo = self._suspects(part, s, lows)
            for j in todo:
                frame = part[j]
                bad = self._frame_bad_pixels(frame)
                sums = self._sums_clipped(frame, bad) if clip else self._sums_exact(frame, bad)
                signal[a + j], var[a + j], norm[a + j] = sums
        if self.settings.error_model == "poisson":
            # A bin with no counts: the variance of one count keeps σ finite and non-zero.
            var = np.where(var > 0, var, 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            denom = norm * (k[:, None] / self.settings.scale)
            intensity = signal / denom
            sigma = np.sqrt(var) / denom
        empty = norm <= 0
        intensity[empty] = np.nan
        sigma[empty] = np.nan
        return intensity, sigma

    def _suspects(self, part: np.ndarray, signal: np.ndarray, lows) -> list[int]:
        """Frames of a batch that may hold bad pixels outside the static mask."""
        flags = ~np.all(np.isfinite(signal), axis=1)
        if lows is not None:
            flags |= lows
        inv = self.invalid_value
        if inv is not None and inv > 0:
            # One bad pixel adds ≥ inv·c to its bins and exactly inv to the frame's total
            # (pyFAI's coefficients of a pixel sum to 1), far above any real count sum.
            total = signal.sum(axis=1)
            flags |= (signal.max(axis=1, initial=0) >= inv / 2) | (total >= inv / 2)
        # Negative invalid values (Pilatus -1, -2) are caught by ``lows`` for integer frames.
        return [int(j) for j in np.flatnonzero(flags)]
