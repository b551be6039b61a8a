"""Published FER2013 results the app shows beside ours, as data.

SOURCE: Sarmah et al., "Emotion Recognition Through Facial Expressions Using CNN" (2023): its own
results (section 4) and its comparison table (Table 2). The paper's Table 2 has 16 rows; the
rows below are the ones whose figure and original publication we could attribute. The rest are
NOT reproduced here (we had no copy of the table to transcribe from); `MISSING_TABLE2_ROWS`
says how many, and the app says so under the table. Never add a row without its source.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

PAPER = "Sarmah et al. 2023, Emotion Recognition Through Facial Expressions Using CNN"
TABLE2_ROWS = 16


@dataclass(frozen=True)
class LiteratureResult:
    model: str
    accuracy: float          # FER2013 test accuracy, as a fraction
    kind: str                # single | ensemble
    params: int | None
    source: str              # the original publication
    cited_by: str = PAPER
    proposed: bool = False   # the paper's own model
    epochs: int | None = None  # of its final training, where the publication says

    def to_dict(self) -> dict:
        return asdict(self)


# The paper's own results (its section 4 and Table 2's "proposed" rows).
PAPER_RESULTS: tuple[LiteratureResult, ...] = (
    LiteratureResult("Sarmah et al.: 5-conv, Adam, 300 epochs", 0.7058, "single", None, PAPER, proposed=True,
                     epochs=300),
    LiteratureResult("Sarmah et al.: 8-conv, Adam, 150 epochs", 0.6955, "single", 5_228_487, PAPER, proposed=True,
                     epochs=150),
    LiteratureResult("Sarmah et al.: 8-conv, SGD-Nesterov, 150 epochs", 0.6821, "single", 5_228_487, PAPER,
                     proposed=True, epochs=150),
    LiteratureResult("Sarmah et al.: 4-conv baseline", 0.65, "single", None, PAPER, proposed=True),
)

# Rows of Table 2 attributed to their original publications.
CITED_RESULTS: tuple[LiteratureResult, ...] = (
    LiteratureResult("Residual Masking Network ensemble", 0.7682, "ensemble", None,
                     "Pham, Vu, Tran, Facial Expression Recognition Using Residual Masking Network, ICPR 2020"),
    LiteratureResult("VGG", 0.727, "single", None,
                     "Pramerdorfer, Kampel, Facial Expression Recognition using CNNs: State of the Art, 2016"),
    LiteratureResult("ResNet", 0.724, "single", None,
                     "Pramerdorfer, Kampel, Facial Expression Recognition using CNNs: State of the Art, 2016"),
    LiteratureResult("VGG-16", 0.682, "single", None, f"as listed in {PAPER}, Table 2"),
)

MISSING_TABLE2_ROWS = TABLE2_ROWS - len(CITED_RESULTS) - 1  # Table 2 also lists the proposed model


def all_results() -> list[LiteratureResult]:
    return sorted(PAPER_RESULTS + CITED_RESULTS, key=lambda r: -r.accuracy)


def reference_lines() -> list[LiteratureResult]:
    """The paper's reported accuracies, for horizontal reference lines on curves."""
    return list(PAPER_RESULTS)
