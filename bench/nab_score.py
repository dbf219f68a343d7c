"""A scorer for the Numenta Anomaly Benchmark (NAB), written from its published rules (Lavin & Ahmad 2015,
"Evaluating Real-time Anomaly Detection Algorithms"; NAB's README and wiki, MIT licence).

The rules, as this module applies them:
- Each labelled anomaly is a window of rows. A detection is a row whose anomaly score reaches the threshold.
- A window's reward is that of its earliest detection, by a scaled sigmoid of its place in the window
  (2/(1+e^(5x)) - 1, x = -1 at the left edge, 0 just past the right edge), so detecting early earns ~tpWeight;
  an undetected window costs fnWeight.
- Every detection outside a window costs fpWeight times the same sigmoid of its distance past the window before it
  (measured in that window's widths: a detection just after a window costs little, far after one costs
  fpWeight), or fpWeight outright before the first window.
- The first 15% of each file (at most 750 rows) is probation: not scored.
- One threshold for the whole corpus, chosen to maximise the profile's raw score.
- The raw score is normalised to 100 for the perfect detector (every window detected at its left edge) and 0 for
  the null detector (one constant score, its best threshold).
"""
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

PROBATION_SHARE = 0.15
PROBATION_MAX_ROWS = 750


@dataclass(frozen=True)
class Profile:
    """The weights of one application profile."""

    tp: float
    fp: float
    fn: float


PROFILES = {
    "standard": Profile(tp=1.0, fp=0.11, fn=1.0),
    "reward_low_FP_rate": Profile(tp=1.0, fp=0.22, fn=1.0),
    "reward_low_FN_rate": Profile(tp=1.0, fp=0.11, fn=2.0),
}


@dataclass(frozen=True)
class File:
    """One data file's row count and labelled windows, as inclusive (first, last) row indices in time order."""

    rows: int
    windows: tuple[tuple[int, int], ...]


def scaled_sigmoid(position: np.ndarray) -> np.ndarray:
    """NAB's reward curve: near 1 at position -1 (a window's left edge), 0 at 0 (its right edge), near -1 at 1;
    exactly -1 beyond 3 (far from any window)."""
    position = np.asarray(position, dtype=np.float64)
    return np.where(position > 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * position)) - 1.0)


def probation_rows(rows: int) -> int:
    """How many leading rows of a file are not scored."""
    return int(min(np.floor(PROBATION_SHARE * rows), PROBATION_SHARE * 5000))


def row_rewards(file: File, profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """Per row: what detecting it is worth (positive in a window, negative outside one) and the index of its
    window in the file (-1 outside every window)."""
    rewards = np.full(file.rows, -profile.fp)
    window_of = np.full(file.rows, -1, dtype=np.int64)
    best = float(scaled_sigmoid(-1.0))
    rows = np.arange(file.rows)
    for index, (first, last) in enumerate(file.windows):
        width = last - first + 1
        inside = rows[first:last + 1]
        rewards[first:last + 1] = scaled_sigmoid(-(last - inside + 1) / width) * profile.tp / best
        window_of[first:last + 1] = index
        following = file.windows[index + 1][0] if index + 1 < len(file.windows) else file.rows
        after = rows[last + 1:following]
        rewards[last + 1:following] = scaled_sigmoid((after - last) / (width - 1)) * profile.fp
    return rewards, window_of


def sweep(files: list[File], scores: list[np.ndarray], profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """The raw corpus score at every distinct threshold (a row is detected when its score >= the threshold),
    as (thresholds descending, scores); the first entry is 'nothing detected' (threshold +inf)."""
    all_scores, all_rewards, all_windows = [], [], []
    windows_before = 0
    for file, file_scores in zip(files, scores):
        file_scores = np.asarray(file_scores, dtype=np.float64)
        if len(file_scores) != file.rows:
            raise ValueError(f"a file of {file.rows} rows has {len(file_scores)} scores")
        rewards, window_of = row_rewards(file, profile)
        scored = slice(probation_rows(file.rows), None)
        all_scores.append(file_scores[scored])
        all_rewards.append(rewards[scored])
        all_windows.append(np.where(window_of[scored] >= 0, window_of[scored] + windows_before, -1))
        windows_before += len(file.windows)
    scores_, rewards, windows = (np.concatenate(a) for a in (all_scores, all_rewards, all_windows))
    # Windows wholly inside probation are not scored at all (they have no scorable row).
    scorable_windows = np.unique(windows[windows >= 0])
    order = np.argsort(-scores_, kind="stable")
    scores_, rewards, windows = scores_[order], rewards[order], windows[order]

    gains = np.where(windows < 0, rewards, 0.0)
    # A window is worth its best detection so far (-fn until the first): as the threshold falls, each newly
    # detected row of a window adds how much it raises that window's running best.
    in_window = np.flatnonzero(windows >= 0)
    by_window = in_window[np.argsort(windows[in_window], kind="stable")]  # rows of a window, by falling score
    window_rewards, window_ids = rewards[by_window], windows[by_window]
    span = 4.0 * max(profile.tp, profile.fn)  # separates windows so one running maximum serves them all
    offset = window_ids * span
    running_best = np.maximum.accumulate(window_rewards + offset) - offset
    first_of_window = np.append(True, window_ids[1:] != window_ids[:-1])
    before = np.where(first_of_window, -profile.fn, np.roll(running_best, 1))
    gains[by_window] = running_best - before

    totals = -profile.fn * len(scorable_windows) + np.cumsum(gains)
    last_of_tie = np.append(scores_[1:] != scores_[:-1], True)
    thresholds = np.append(np.inf, scores_[last_of_tie])
    return thresholds, np.append(-profile.fn * len(scorable_windows), totals[last_of_tie])


def best_raw_score(files: list[File], scores: list[np.ndarray], profile: Profile) -> tuple[float, float]:
    """(threshold, raw score) of the threshold that maximises the corpus score."""
    thresholds, totals = sweep(files, scores, profile)
    best = int(np.argmax(totals))
    return float(thresholds[best]), float(totals[best])


def normalised_score(files: list[File], scores: list[np.ndarray], profile: Profile) -> tuple[float, float]:
    """(threshold, score): the best raw score scaled to 0 for the null detector and 100 for the perfect one."""
    threshold, raw = best_raw_score(files, scores, profile)
    _, null = best_raw_score(files, [np.full(file.rows, 0.5) for file in files], profile)
    perfect = profile.tp * sum(len(file.windows) for file in files)
    return threshold, 100.0 * (raw - null) / (perfect - null)


def load_windows(nab: Path) -> dict[str, list[tuple[str, str]]]:
    """NAB's combined label windows, by data file path relative to data/ (e.g. 'realKnownCause/nyc_taxi.csv')."""
    return json.loads((nab / "labels" / "combined_windows.json").read_text())


def as_file(timestamps, windows: list[tuple[str, str]]) -> File:
    """A File whose windows' edges are found among the timestamps, which they must match exactly."""
    stamps = pd.to_datetime(pd.Series(timestamps)).to_numpy()
    edges = []
    for first, last in windows:
        found = np.searchsorted(stamps, pd.to_datetime([first, last]).to_numpy())
        if np.any(found >= len(stamps)) or np.any(stamps[np.minimum(found, len(stamps) - 1)]
                                                  != pd.to_datetime([first, last]).to_numpy()):
            raise ValueError(f"window {first} .. {last} does not start and end on rows of its file")
        edges.append((int(found[0]), int(found[1])))
    return File(rows=len(stamps), windows=tuple(edges))


def published_scores(nab: Path, detector: str) -> tuple[list[File], list[np.ndarray]]:
    """The corpus' files and a detector's published anomaly scores (results/<detector>/<dir>/<detector>_<file>)."""
    files, scores = [], []
    for relative, windows in sorted(load_windows(nab).items()):
        folder, name = relative.split("/")
        result = pd.read_csv(nab / "results" / detector / folder / f"{detector}_{name}")
        files.append(as_file(result["timestamp"], windows))
        scores.append(result["anomaly_score"].to_numpy(dtype=np.float64))
    return files, scores
