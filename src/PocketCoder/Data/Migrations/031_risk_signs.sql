-- What in a call deserves a second look, read by the server when it asks (Approvals/RiskSigns.cs: piped-to-shell, deletes,
-- force-push, privilege, credentials, outside-project, installs-packages, network), comma-separated; '' for none or for
-- calls asked before this reading existed.
ALTER TABLE approvals ADD COLUMN risk_signs TEXT NOT NULL DEFAULT '';
