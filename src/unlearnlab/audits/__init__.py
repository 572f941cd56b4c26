"""Audits against the retrained gold standard: reference ensembles, U-LiRA, LiRA, KLoM, the NeurIPS
2023 challenge score and a relearning attack, each read against its own null value."""

from .audit import DEFAULT_REFS, audit_run
from .ensemble import Ensemble, EnsembleBuilder, MemberJob, member_job, member_seeds
from .relearn import RelearnJob, relearn_curve, relearn_job, relearn_split

__all__ = ["DEFAULT_REFS", "Ensemble", "EnsembleBuilder", "MemberJob", "audit_run", "member_job", "member_seeds",
           "RelearnJob", "relearn_curve", "relearn_job", "relearn_split"]
