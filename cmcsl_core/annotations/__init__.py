"""Human labels: a durable store, labels with provenance, the review queue and suggestions.

* :mod:`~cmcsl_core.annotations.fingerprint`: which feature file a database belongs to.
* :mod:`~cmcsl_core.annotations.store`: the SQLite history of label/undo actions.
* :mod:`~cmcsl_core.annotations.actions`: an action, the labels in force, :func:`replay` of a history.
* :mod:`~cmcsl_core.annotations.errors`: what can go wrong with a database.
* :mod:`~cmcsl_core.annotations.paths`: the default database and annotator.
* :mod:`~cmcsl_core.annotations.schema`: the database's tables.
* :mod:`~cmcsl_core.annotations.provenance`: CMCSL from seeds + human labels, per-item provenance.
* :mod:`~cmcsl_core.annotations.queue`: disagreements, closest calls first.
* :mod:`~cmcsl_core.annotations.suggest`: "label these next".
* :mod:`~cmcsl_core.annotations.formats`: CSV / Parquet / Label Studio export, label-file import.
* :mod:`~cmcsl_core.annotations.agreement`: labels per annotator, Cohen's and Fleiss' kappa.
"""

from cmcsl_core.annotations.actions import Action, HumanLabels, replay
from cmcsl_core.annotations.errors import (
    AnnotationError,
    CorruptDatabaseError,
    DatabaseLockedError,
    ForeignDatabaseError,
)
from cmcsl_core.annotations.fingerprint import fingerprint
from cmcsl_core.annotations.paths import default_annotator, default_db_path
from cmcsl_core.annotations.provenance import (
    AGREE,
    HUMAN,
    SEED,
    AnnotatedLabels,
    labels_from_seeds,
    labels_with_annotations,
)
from cmcsl_core.annotations.queue import disagreement_gap, queue_table, review_queue, scaled_distances
from cmcsl_core.annotations.store import AnnotationStore
from cmcsl_core.annotations.suggest import Suggestions, suggest_next

__all__ = [
    "fingerprint",
    "AGREE",
    "HUMAN",
    "SEED",
    "AnnotatedLabels",
    "labels_with_annotations",
    "labels_from_seeds",
    "disagreement_gap",
    "queue_table",
    "review_queue",
    "scaled_distances",
    "Action",
    "AnnotationError",
    "AnnotationStore",
    "CorruptDatabaseError",
    "DatabaseLockedError",
    "ForeignDatabaseError",
    "HumanLabels",
    "default_annotator",
    "default_db_path",
    "replay",
    "Suggestions",
    "suggest_next",
]
