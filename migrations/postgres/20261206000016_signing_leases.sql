-- A signer holds a lease on the pending document it is signing: other signers (another
-- node, or this node's periodic sweep) leave it alone until the lease runs out, so a
-- document whose signer died (a process killed mid-signing) is picked up again and signed
-- once. `attempts` now counts only real signer failures on the document, not restarts.
ALTER TABLE documents ADD COLUMN lease_node text;
ALTER TABLE documents ADD COLUMN lease_until timestamptz;
