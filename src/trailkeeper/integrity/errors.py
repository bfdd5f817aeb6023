"""The integrity package's own exception tree (self-contained; one base, `IntegrityError`).

    IntegrityError                   anything the tamper-evidence core refuses
    ├── TreeArgumentError            a caller asked for something the tree cannot have: an index
    │                                ≥ size, old size > new size, a misaligned subtree range, or
    │                                a "hash" that is not 32 bytes (a programming error, not tamper)
    ├── ProofError                   a Merkle proof does not prove what it claims (treat as tamper)
    │   ├── InclusionProofError      RFC 9162 §2.1.3.2 verification failed
    │   └── ConsistencyProofError    RFC 9162 §2.1.4.2 verification failed
    ├── TreeStateError               a stored frontier (`CompactRange` bytes) is malformed
    │   └── MissingNodeError         a stored subtree hash a proof needs is absent
    ├── KeyFormatError               a vkey / private-key string is malformed or inconsistent
    └── CheckpointError              a signed checkpoint cannot be accepted
        ├── CheckpointFormatError    not a well-formed C2SP signed note / tlog-checkpoint body
        ├── SignatureError           no trusted signature verified, or a trusted one failed
        └── OriginMismatchError      signed by a trusted key, but for another log (organization)

A later step re-parents `IntegrityError` under the project's error root; nothing else here
depends on where that root lives.
"""

from __future__ import annotations


class IntegrityError(Exception):
    """Root of every error the integrity core raises on purpose."""


class TreeArgumentError(IntegrityError):
    """Arguments that do not describe this tree (bad index/size/range or a non-32-byte hash)."""


class ProofError(IntegrityError):
    """A Merkle proof failed verification: the log, the proof or the data was altered."""


class InclusionProofError(ProofError):
    """An inclusion (audit) proof does not lead from the leaf to the claimed root."""


class ConsistencyProofError(ProofError):
    """A consistency proof does not show the old tree is a prefix of the new one."""


class TreeStateError(IntegrityError):
    """A serialized tree state is malformed, or a node store is incomplete."""


class MissingNodeError(TreeStateError):
    """A complete-subtree hash needed to build a proof is not in the node store."""


class KeyFormatError(IntegrityError):
    """A signing or verifier key string is malformed, or its key id does not match."""


class CheckpointError(IntegrityError):
    """A signed checkpoint cannot be accepted."""


class CheckpointFormatError(CheckpointError):
    """The text is not a well-formed signed note carrying a tlog-checkpoint body."""


class SignatureError(CheckpointError):
    """No trusted key's signature verified, or a trusted key's signature is invalid."""


class OriginMismatchError(CheckpointError):
    """The checkpoint is genuine but belongs to another log origin than the one expected."""
