"""Tamper evidence, pure core: RFC 6962 Merkle trees over each organization's events (`merkle`)
and C2SP signed checkpoints of their roots (`checkpoint`, needs `cryptography`).

Errors are listed in `errors`; import from the submodules.
"""

from trailkeeper.integrity.errors import (
    CheckpointError,
    CheckpointFormatError,
    ConsistencyProofError,
    InclusionProofError,
    IntegrityError,
    KeyFormatError,
    MissingNodeError,
    OriginMismatchError,
    ProofError,
    SignatureError,
    TreeArgumentError,
    TreeStateError,
)

__all__ = [
    "CheckpointError",
    "CheckpointFormatError",
    "ConsistencyProofError",
    "InclusionProofError",
    "IntegrityError",
    "KeyFormatError",
    "MissingNodeError",
    "OriginMismatchError",
    "ProofError",
    "SignatureError",
    "TreeArgumentError",
    "TreeStateError",
]
