-- The web origin of the app a device was paired from when that app is not this machine's own (one inbox across machines,
-- docs/reach.md): the app on machine A paired with machine B records A's origin on B. Only origins on live devices may call
-- B's API from a browser (CORS, Auth/CrossOrigin.cs); NULL for every device paired on this machine's own app or by a script.
ALTER TABLE devices ADD COLUMN app_origin TEXT;
