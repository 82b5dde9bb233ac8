"""Reading what services under test wrote: personal data sealed under the test master key."""

from __future__ import annotations

from agentdeck.contracts import Codec
from agentdeck.privacy import KeyRing, MasterKey, Sealer
from agentdeck.store import Store
from testkit.authority import PII_MASTER_KEY


def opening(codec: Codec, store: Store) -> Codec:
    """``codec``, opening (and sealing) personal data with the keys services keep in ``store``."""
    if codec.cipher is not None:
        return codec
    return codec.with_cipher(Sealer(KeyRing(store, MasterKey.from_b64(PII_MASTER_KEY))))
