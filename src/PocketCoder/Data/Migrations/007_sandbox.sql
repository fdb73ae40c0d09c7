-- Whether a project's agents run in the bubblewrap sandbox: 'sandboxed' or 'none'; NULL follows the server's default
-- (sandboxed where bubblewrap works on this machine).
ALTER TABLE projects ADD COLUMN sandbox TEXT CHECK (sandbox IN ('none', 'sandboxed'));
