-- An owner's lockdown (docs/security.md, "Reach you can see and cut"): while this row is here, no pairing code is made or
-- redeemed. Only the machine's own terminal lifts it (`pocketcoder lockdown --lift` writes here), never a request.
CREATE TABLE lockdown (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    locked_at        TEXT NOT NULL,
    locked_by        TEXT NOT NULL,
    locked_by_device TEXT
);
