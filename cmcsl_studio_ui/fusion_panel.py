"""The BAC curves page's "Fusion" expander: the late-fusion paper's protocol (random train/validation/test
splits) on the current data, its controls and results, beside the paper's published MVSA-Single table."""

from __future__ import annotations

import streamlit as st

from cmcsl_core.constants import RANDOM_STATE, REPEATS
from cmcsl_core.evaluation.fusion import ALPHAS, F1_AVERAGES, MLA_METRICS
from cmcsl_core.evaluation.fusion_study import FusionStudyConfig
from cmcsl_core.models.classifiers import CLASSIFIERS

from .curves import FUSION_CSV, compute_fusion, fusion_weights_frame
from .loading import Dataset
from .page import user_errors
from .settings import MAX_SEED, Settings
from .text import md

__all__ = ["fusion_config", "fusion_section"]

MAX_SPLITS = 10  # most random splits the study offers
FUSION_SPLITS = ("8:1:1", "7:1:2", "6:2:2")  # the train:validation:test splits offered


def fusion_config(settings: Settings) -> FusionStudyConfig:
    """The late-fusion study the controls ask for (split, repeats, classifier, seed, DRA alpha, MLA metric, F1)."""
    c1, c2, c3, c4 = st.columns(4)
    split = c1.selectbox("Split train:validation:test", FUSION_SPLITS, key="fusion_split")
    repeats = c2.number_input("Random splits", 1, MAX_SPLITS, REPEATS, key="fusion_repeats")
    classifier = c3.selectbox(
        "Classifier",
        list(CLASSIFIERS),
        index=list(CLASSIFIERS).index(settings.classifier),
        key="fusion_classifier",
        help="The late-fusion paper used logistic regression (lr, about 30 s on MVSA-Single); gnb takes a few seconds.",
    )
    seed = c4.number_input("Split seed", 0, MAX_SEED, RANDOM_STATE, key="fusion_seed")
    c5, c6, c7 = st.columns(3)
    alpha = c5.selectbox(
        "DRA alpha_j", ALPHAS, key="fusion_alpha", help="none: 0; prior: the class's validation share."
    )
    mla = c6.selectbox(
        "MLA weight", MLA_METRICS, key="fusion_mla", help="Each modality's validation accuracy or macro F1."
    )
    f1 = c7.selectbox("F1", F1_AVERAGES, key="fusion_f1", help="weighted: support-weighted F1 (usual on MVSA); macro.")
    with user_errors():
        return FusionStudyConfig(
            split=tuple(float(v) for v in split.split(":")),  # type: ignore[arg-type]
            repeats=int(repeats),
            classifier=classifier,
            preprocessing=settings.preprocessing,
            random_state=int(seed),
            alpha=alpha,
            mla_metric=mla,
            f1_average=f1,
        ).validated()


def fusion_section(data: Dataset, settings: Settings) -> None:
    """The late-fusion paper's protocol on the current data, beside its published MVSA-Single table."""
    fs = data.fs
    with st.expander("Fusion: the late-fusion paper's protocol on this data", expanded=True, icon=":material/merge:"):
        st.caption(
            "Random stratified train/validation/test splits; preprocessing fitted on the train part; one classifier "
            "per modality trained on it; DRA weights (per modality and class, from one-vs-rest detection rates) and "
            "MLA weights (per modality, from accuracy) estimated on the validation part; all models scored on the "
            "test part. The paper reports MVSA-Single (image / text / DRA / MLA)."
        )
        if fs.n_modalities < 2:
            st.info("Late fusion needs at least two modalities.")
            return
        config = fusion_config(settings)
        with user_errors():
            result = compute_fusion(data, config)
        table = result.with_published()
        st.markdown(f"**Accuracy and {config.f1_average} F1, mean ± std over {config.repeats} random splits**")
        shown = table.copy()
        for column in ("paper_accuracy", "paper_f1"):  # the paper has no number for LF-MEAN / LF-MAX: show a dash
            shown[column] = [f"{v:.3f}" if v == v else "–" for v in table[column]]
        st.dataframe(
            shown.style.format(
                "{:.3f}", subset=[c for c in table.columns if c not in ("model", "paper_accuracy", "paper_f1")]
            ),
            hide_index=True,
            key="fusion_table",
        )
        st.caption(
            f"Ours: {md(result.encoders)}. The paper's numbers are its MVSA-Single table, beside every data set."
        )
        if result.chosen_c:
            st.caption(f"Logistic regression's C, chosen per split on the validation part (lowest log-loss): "
                       f"{result.chosen_c_text()}.")
        st.markdown("**Fusion weights** (mean over the splits; DRA: column weights per class, MLA: modality weight)")
        st.dataframe(
            fusion_weights_frame(result, fs.modality_names, tuple(fs.class_names)).style.format("{:.3f}"),
            key="fusion_weights",
        )
        st.download_button(
            "Fusion CSV", result.csv_bytes(), FUSION_CSV, "text/csv", on_click="ignore", icon=":material/download:",
            key="fusion_csv",
        )
        # the export line (when the data comes from a source) is shown once, under "Download and reproduce"
        st.code(config.command(data.features, FUSION_CSV), language="bash", wrap_lines=True)
