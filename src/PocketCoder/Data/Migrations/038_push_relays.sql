-- Push relays (one inbox across machines, docs/reach.md "Notifications."): a device of this machine (A) lets another
-- machine (B) reach its Web Push subscription through A. B encrypts to the subscription's keys (RFC 8291) and posts the
-- ciphertext here with the relay's secret; A signs it with its own VAPID key, to which the subscription is bound, and
-- passes it on. Bound to one subscription (endpoint): when the browser subscribes anew, or the device goes, the relay stops.
CREATE TABLE push_relays (
    id           TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    endpoint     TEXT NOT NULL,          -- the device's web_push endpoint when the relay was made
    secret_hash  TEXT NOT NULL,          -- SHA-256 of the secret, shown once
    label        TEXT NOT NULL,          -- the machine it is for, as the app named it
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    uses         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX push_relays_device ON push_relays(device_id);

-- On B: a web_push channel whose endpoint is a relay on the app's machine carries the relay's secret in token, and the
-- origin under which that app knows this machine, which each message names so that its actions are posted back here.
ALTER TABLE notification_channels ADD COLUMN machine_origin TEXT;
