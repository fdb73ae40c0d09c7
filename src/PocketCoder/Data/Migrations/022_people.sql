-- People (Auth/People.cs): a person has a name, a role and devices; chat identities are devices, so they belong to
-- people too. Roles: owner > approver > operator > viewer (docs/security.md, "Roles").
CREATE TABLE people (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'approver', 'operator', 'viewer')),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

ALTER TABLE devices ADD COLUMN person_id TEXT REFERENCES people(id);
CREATE INDEX devices_person ON devices (person_id);

-- What a pairing code pairs: a device of this person (person_id), or, with neither, a device of the machine's first owner.
ALTER TABLE pairing_codes ADD COLUMN person_id TEXT;

-- A person's role narrowed in one project (never widened: the lower of the two applies).
CREATE TABLE project_members (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    person_id  TEXT NOT NULL REFERENCES people(id),
    role       TEXT NOT NULL CHECK (role IN ('approver', 'operator', 'viewer')),
    PRIMARY KEY (project_id, person_id)
);

-- Before people, every paired device could do everything. They become the devices of one owner: the conservative
-- reading, since a two-person rule then needs a second person the owner invites rather than a second phone of theirs.
INSERT INTO people (id, name, role, created_at)
SELECT lower(hex(randomblob(16))), 'Owner', 'owner', MIN(created_at) FROM devices HAVING COUNT(*) > 0;
UPDATE devices SET person_id = (SELECT id FROM people LIMIT 1);
