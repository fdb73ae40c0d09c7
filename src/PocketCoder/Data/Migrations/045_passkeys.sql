-- Passkeys (docs/security.md, "Passkeys and step-up"): a person's WebAuthn credentials, several each. A revoked one is kept,
-- marked, so a decision it signed can still be checked against its key later; it never signs again.
CREATE TABLE passkeys (
    id           TEXT PRIMARY KEY,                      -- the credential id, base64url
    person_id    TEXT NOT NULL REFERENCES people(id),
    name         TEXT NOT NULL,
    public_key   TEXT NOT NULL,                         -- the P-256 key as SubjectPublicKeyInfo, base64url (ES256 only)
    rp_id        TEXT NOT NULL,                         -- the host it was registered on: it signs for that host only
    sign_count   INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX passkeys_person ON passkeys (person_id) WHERE revoked_at IS NULL;

-- The challenges handed out: each for one person and one purpose (registering, or stepping up on one approval's decision of
-- one input), used once, and expiring in minutes.
CREATE TABLE passkey_challenges (
    challenge   TEXT PRIMARY KEY,                       -- base64url, as clientDataJSON carries it
    person_id   TEXT NOT NULL,
    purpose     TEXT NOT NULL CHECK (purpose IN ('register', 'step_up')),
    approval_id TEXT,
    binding     TEXT,                                   -- step-up: digest of approval id, decision and input, base64url
    rp_id       TEXT NOT NULL,
    origin      TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
