"""Strata: what kind of region each candidate block represents.

Block statistics (:mod:`.blockstats`) become memberships in named strata.
A block can belong to several strata; blocks in none of the content strata
are ``"typical"``. Blocks with no contrast and no foreground (or that are
almost entirely blank or saturated) are *uninformative* and are not
proposed unless asked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "STRATA",
    "STRATUM_DESCRIPTIONS",
    "StrataTable",
    "assign_strata",
    "describe_stats",
]

#: Strata in the order they are reported.
STRATA = ("best", "worst", "low_snr", "dense", "sparse", "edge", "artifact", "uncertain",
          "typical")

STRATUM_DESCRIPTIONS = {
    "best": "clean, high-contrast region (best case)",
    "worst": "crowded, low-contrast region (worst case)",
    "low_snr": "low signal-to-noise region",
    "dense": "many objects per volume",
    "sparse": "few objects per volume",
    "edge": "touches the volume border",
    "artifact": "blank (missing data) or saturated voxels",
    "uncertain": "the model is unsure (high entropy)",
    "typical": "an ordinary region (in no other stratum)",
}

#: Share of informative blocks taken by each quantile stratum.
QUANTILE = 0.2
#: Blank share above which a block is an artifact (and almost all blank: uninformative).
BLANK_ARTIFACT, BLANK_USELESS = 0.02, 0.9
#: Saturated share above which a block is an artifact (and almost all: uninformative).
SATURATED_ARTIFACT, SATURATED_USELESS = 0.005, 0.9
#: Contrast (p99 - p01 over the volume's reference contrast) below which a
#: block with (almost) no foreground holds nothing to annotate.
EMPTY_CONTRAST = 0.1
EMPTY_FOREGROUND = 0.01
#: Foreground share on a border face that makes a touching block an edge block.
EDGE_FOREGROUND = 0.02
#: SNR below which a block is low-SNR whatever the rest of the volume does.
LOW_SNR = 5.0


@dataclass(frozen=True, eq=False)
class StrataTable:
    """Stratum memberships of candidate blocks.

    Attributes
    ----------
    member : ndarray of bool, shape (N, len(STRATA))
        ``member[i, k]``: block ``i`` belongs to stratum ``STRATA[k]``.
    strength : ndarray of float, shape (N, len(STRATA))
        How strongly each block expresses each stratum, in [0, 1] (a
        percentile rank among informative blocks); used to choose the most
        typical member of a stratum.
    informative : ndarray of bool, shape (N,)
        Blocks worth annotating (not empty, not almost all blank/saturated).
    contrast : ndarray of float, shape (N,)
        ``(p99 - p01)`` over the reference contrast of the volume.
    """

    member: np.ndarray
    strength: np.ndarray
    informative: np.ndarray
    contrast: np.ndarray

    def __len__(self) -> int:
        return len(self.informative)

    def strata_of(self, i: int) -> tuple[str, ...]:
        """Names of the strata block ``i`` belongs to."""
        return tuple(s for s, m in zip(STRATA, self.member[i]) if m)

    def counts(self) -> dict[str, int]:
        """Informative members per stratum."""
        inf = self.informative[:, None]
        return {s: int(n) for s, n in zip(STRATA, (self.member & inf).sum(axis=0))}


def _rank(values: np.ndarray, among: np.ndarray) -> np.ndarray:
    """Mid percentile rank in [0, 1] of every value among ``values[among]`` (NaN -> 0).

    Ties share the middle of their ranks, so equal values never split
    between the top and the bottom of a stratum.
    """
    ref = np.sort(values[among & np.isfinite(values)])
    out = np.zeros(len(values))
    if ref.size == 0:
        return out
    ok = np.isfinite(values)
    left = np.searchsorted(ref, values[ok], side="left")
    right = np.searchsorted(ref, values[ok], side="right")
    out[ok] = (left + right) / (2 * ref.size)
    return out


def _standout(values: np.ndarray, among: np.ndarray, sign: float = 1.0) -> np.ndarray:
    """How far each value stands out from the median of ``values[among]``, in [0, 1].

    0 at or on the wrong side of the median, 1 for the most extreme value
    (``sign=-1`` looks below the median). NaN counts as the median.
    """
    v = np.nan_to_num(np.asarray(values, float) * sign, nan=np.nan, posinf=1e12, neginf=-1e12)
    ref = v[among & np.isfinite(v)]
    if ref.size == 0:
        return np.zeros(len(v))
    med = float(np.median(ref))
    span = float(ref.max() - med)
    out = np.where(np.isfinite(v), (v - med) / span if span > 0 else 0.0, 0.0)
    return np.clip(out, 0.0, 1.0)


def assign_strata(stats, edge=None) -> StrataTable:
    """Assign candidate blocks to strata from their statistics.

    Parameters
    ----------
    stats : dict of str to ndarray
        Output of :func:`.blockstats.block_statistics`.
    edge : ndarray of bool, shape (N,), optional
        Blocks that may count as edge blocks. By default those touching any
        volume face (``border_distance == 0``); see
        :func:`.blockstats.edge_blocks`.

    Returns
    -------
    StrataTable
        Strengths say how far a member stands out from the median of the
        informative blocks in the stratum's direction (1 = the most extreme).

    Notes
    -----
    Informative blocks are those with contrast at least 0.1 of the
    reference (the largest ``p99 - p01`` among artifact-free blocks) or at
    least 1 % foreground, and less than 90 % blank or saturated voxels.
    Among them, with ``q = 0.2``:

    - ``artifact``: at least 2 % blank or 0.5 % saturated voxels.
    - ``low_snr``: SNR (NaN counts as 0) below ``max(5, median / 4)``.
    - ``best``: the top ``q`` by SNR among artifact-free blocks with
      foreground, and not low-SNR.
    - ``worst``: the top ``q`` by difficulty, the mean rank of density,
      foreground and lack of SNR, among artifact-free blocks with foreground.
    - ``dense`` / ``sparse``: top / bottom ``q`` by object density among
      artifact-free blocks holding objects that are not low-SNR (objects
      fainter than the threshold would make a block look sparse).
    - ``edge``: touching a volume face (``edge``) with at least 2 % of
      foreground on it (``border_foreground``: objects cut by the edge);
      strongest where the face holds more foreground than the block.
    - ``uncertain``: top ``q`` by mean entropy, when a probability map was
      measured.
    - ``typical``: in none of the above.

    Examples
    --------
    >>> n = 10
    >>> stats = {k: np.zeros(n) for k in ("p01", "p99", "foreground", "density", "snr",
    ...          "blank", "saturated", "border_distance", "uncertainty")}
    >>> stats["p99"][:] = 1000.0
    >>> stats["foreground"][:] = 0.2
    >>> stats["density"][:] = np.arange(n) + 1.0
    >>> stats["snr"][:] = 20.0
    >>> stats["snr"][0] = 1.0
    >>> stats["border_distance"][:] = 10
    >>> stats["uncertainty"][:] = np.nan
    >>> t = assign_strata(stats)
    >>> t.strata_of(0), t.strata_of(9)
    (('low_snr',), ('worst', 'dense'))
    """
    n = len(stats["p01"])
    contrast_raw = np.asarray(stats["p99"], float) - np.asarray(stats["p01"], float)
    blank = np.nan_to_num(np.asarray(stats["blank"], float))
    sat = np.nan_to_num(np.asarray(stats["saturated"], float))
    fg = np.nan_to_num(np.asarray(stats["foreground"], float))
    density = np.nan_to_num(np.asarray(stats["density"], float))
    snr = np.nan_to_num(np.asarray(stats["snr"], float), nan=0.0, posinf=1e6, neginf=-1e6)
    artifact = (blank >= BLANK_ARTIFACT) | (sat >= SATURATED_ARTIFACT)
    clean = ~artifact
    ref = contrast_raw[clean & np.isfinite(contrast_raw)]
    ref_c = float(ref.max()) if ref.size else float(np.nanmax(contrast_raw, initial=0.0))
    contrast = contrast_raw / ref_c if ref_c > 0 else np.zeros(n)
    useless = (blank >= BLANK_USELESS) | (sat >= SATURATED_USELESS)
    empty = (contrast < EMPTY_CONTRAST) & (fg < EMPTY_FOREGROUND)
    informative = ~useless & ~empty

    member = np.zeros((n, len(STRATA)), bool)
    strength = np.zeros((n, len(STRATA)))
    col = {s: i for i, s in enumerate(STRATA)}

    def put(name, mask, score):
        member[:, col[name]] = mask & informative
        strength[:, col[name]] = np.where(member[:, col[name]], score, 0.0)

    inf = informative
    with_fg = inf & clean & (fg >= EMPTY_FOREGROUND)
    bad = blank + 10 * sat
    put("artifact", artifact, np.maximum(_standout(bad, inf), artifact * 0.01))
    med = float(np.median(snr[with_fg])) if with_fg.any() else 0.0
    low = clean & (snr < max(LOW_SNR, med / 4))
    put("low_snr", low, np.maximum(_standout(snr, inf & clean, -1.0), 0.01))
    snr_rank = _rank(snr, with_fg & ~low)
    put("best", with_fg & ~low & (snr_rank > 1 - QUANTILE), _standout(snr, with_fg & ~low))
    difficulty = (_rank(density, with_fg) + _rank(fg, with_fg) + 1 - _rank(snr, with_fg)) / 3
    diff_rank = _rank(difficulty, with_fg)
    put("worst", with_fg & (diff_rank > 1 - QUANTILE), _standout(difficulty, with_fg))
    has_obj = inf & clean & ~low & (density > 0)  # low SNR hides objects: density unsure
    d_rank = _rank(density, has_obj)
    put("dense", has_obj & (d_rank > 1 - QUANTILE), _standout(density, has_obj))
    put("sparse", has_obj & (d_rank <= QUANTILE + 1e-12), _standout(density, has_obj, -1.0))
    touch = np.asarray(stats["border_distance"]) == 0 if edge is None else np.asarray(edge, bool)
    if "border_foreground" in stats:
        bfg = np.nan_to_num(np.asarray(stats["border_foreground"], float))
        touch = touch & (bfg >= EDGE_FOREGROUND)
        # strongest where the border face holds more foreground than the block as a whole:
        # objects cut by the edge, not merely a dense region that reaches it
        put("edge", touch, np.maximum(_standout(bfg - fg, inf & touch), 0.01))
    else:
        put("edge", touch, _rank(fg, inf & touch))
    unc = np.asarray(stats["uncertainty"], float)
    if np.isfinite(unc).any():
        u_rank = _rank(unc, inf)
        put("uncertain", np.isfinite(unc) & (u_rank > 1 - QUANTILE), _standout(unc, inf))
    put("typical", ~member.any(axis=1), 1.0 - np.abs(_rank(fg, inf) - 0.5) * 2)
    return StrataTable(member, strength, informative, contrast)


def describe_stats(stats, i: int) -> dict:
    """JSON-friendly statistics of block ``i`` (rounded; NaN becomes None).

    Examples
    --------
    >>> describe_stats({"snr": np.array([3.14159]), "uncertainty": np.array([np.nan])}, 0)
    {'snr': 3.142, 'uncertainty': None}
    """
    out = {}
    for k, v in stats.items():
        x = np.asarray(v)[i]
        if np.ndim(x):
            continue
        x = float(x)
        out[k] = None if not math.isfinite(x) else round(x, 4 if abs(x) < 1 else 3)
    return out
