-- The keys phones give the decisions they send (DecisionRequest.clientId): a phone that lost the answer to a decision, or
-- kept one in its outbox while offline and sent it when the connection came back, sends it again with the same key and
-- gets the same answer, not a 409 or a second ledger entry. A key is the device's own (actor_id) and names one decision.
CREATE TABLE decision_keys (
    actor_id    TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    approval_id TEXT NOT NULL REFERENCES approvals(id) ON DELETE CASCADE,
    decision    TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (actor_id, client_id)
) WITHOUT ROWID;
